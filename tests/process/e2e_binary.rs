//! The real `trellis` binary against the fake Discord: startup from the
//! environment, logging without the token, graceful shutdown on SIGTERM.

use std::process::Stdio;
use std::time::Duration;

use fake_discord::{Actor, FakeConfig, FakeDiscord, GuildSpec};
use tokio::io::AsyncReadExt;
use trellis_testkit::{APP, BOT, CHANNEL, GUILD};

/// Its own token, whose parts the test looks for in the logs.
const TOKEN: &str = "Bot bin-secret-token.c2VjcmV0LXBhcnQ.dG9rZW4tdGFpbA";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_runs_logs_no_token_and_stops_on_sigterm() {
    let _suite = crate::suite(module_path!());
    let fake = FakeDiscord::start(
        FakeConfig::new(BOT, APP).guild(GuildSpec::new(GUILD, "Staff Path").channel(CHANNEL, "staff-path")),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data").join("trellis.db");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_trellis"))
        .arg("run")
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DISCORD_TOKEN", TOKEN)
        .env("DISCORD_API_BASE", fake.api_base())
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let logs = tokio::spawn(async move {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf).await;
        String::from_utf8_lossy(&buf).into_owned()
    });

    fake.wait_ready(Duration::from_secs(20)).await;
    fake.wait_until(Duration::from_secs(10), "commands registered", |f| {
        (!f.registered_command_names(GUILD).is_empty()).then_some(())
    })
    .await;
    let h = fake.slash_command(Actor::in_guild(GUILD, CHANNEL, 42).command("cohort").subcommand("join"));
    let r = fake.wait_interaction_response(&h, Duration::from_secs(5)).await;
    assert!(r.is_ephemeral(), "{r:?}");
    // The bot sent the token to Discord, as it must.
    assert!(fake.requests().iter().any(|q| q.header("authorization") == Some(TOKEN)));

    let pid = child.id().unwrap();
    let status = std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status().unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.expect("stops on SIGTERM").unwrap();
    assert!(exit.success(), "{exit:?}");
    let logs = logs.await.unwrap();
    assert!(logs.len() > 1000, "trace logs were written");
    for secret in [TOKEN, "c2VjcmV0LXBhcnQ", "dG9rZW4tdGFpbA"] {
        assert!(!logs.contains(secret), "token leaked into logs");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "database file is private");
    }
}
