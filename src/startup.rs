//! Building and running the whole application; used by `main` and by tests.

use crate::config::Settings;

pub async fn run_until_stopped(_settings: Settings, _token: String) -> anyhow::Result<()> {
    anyhow::bail!("the Discord connection is not built yet")
}
