//! What `trellis export` reads: a read-only connection (safe beside the
//! running bot: WAL lets readers and the writer work at once) and the cohort
//! names.

use sqlx::sqlite::SqlitePoolOptions;

use super::{BUSY_TIMEOUT, Result, Store, StoreError};

impl Store {
    /// Open an existing database for reading only: never creates, migrates or
    /// writes it.
    pub async fn open_read_only(url: &str) -> Result<Self> {
        let options = super::sqlite_options(url)?;
        let path = options.get_filename().to_path_buf();
        if !url.contains("mode=memory") && !path.is_file() {
            let reason = format!("there is no database at {}; check DATABASE_URL", path.display());
            return Err(StoreError::Url { url: url.to_string(), reason });
        }
        let options = options.read_only(true).create_if_missing(false).busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new().max_connections(2).connect_with(options).await?;
        Ok(Store::with_pool(pool))
    }

    /// Names of every cohort, removed ones included, sorted.
    pub async fn cohort_names(&self) -> Result<Vec<String>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT name FROM cohorts ORDER BY name").fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|(n,)| n).collect())
    }
}
