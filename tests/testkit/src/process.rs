//! The real `trellis` binary as a child process against the fake Discord,
//! on a database seeded through `trellis::store::Store` (see [`crate::seed`]):
//! what the durability, load and operations suites and the benches start from.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fake_discord::{FakeConfig, FakeDiscord, GuildSpec};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::ids::{APP, BOT, CHANNEL, GUILD, MENTOR_ROLE, TOKEN};

/// A fake Discord with one guild and the cohort's channel.
pub async fn fake() -> FakeDiscord {
    fake_with_guilds(1).await
}

/// A fake with `n` guilds, guild `i` (0-based) having id `GUILD + i * 1000`
/// and one channel `CHANNEL + i * 1000`.
pub async fn fake_with_guilds(n: u64) -> FakeDiscord {
    fake_with_busy_guilds(n, 0, 0).await
}

/// Like [`fake_with_guilds`], each guild also having `channels` more text
/// channels and `roles` more roles: what a community server sends in its
/// GUILD_CREATE, and what serenity's cache would keep.
pub async fn fake_with_busy_guilds(n: u64, channels: u64, roles: u64) -> FakeDiscord {
    let mut config = FakeConfig::new(BOT, APP);
    for i in 0..n {
        let base = GUILD + i * 1000;
        let mut guild = GuildSpec::new(base, &format!("Guild {i}"))
            .channel(CHANNEL + i * 1000, &format!("cohort-{i}"))
            .role(MENTOR_ROLE + i * 1000, "mentors", 0);
        for c in 0..channels {
            guild = guild.channel(base + 100 + c, &format!("channel-{c}"));
        }
        for r in 0..roles {
            guild = guild.role(base + 600 + r, &format!("role-{r}"), 0);
        }
        config = config.guild(guild);
    }
    FakeDiscord::start(config).await
}

/// A running `trellis run` child process. Killed when dropped.
pub struct TrellisProcess {
    child: tokio::process::Child,
    /// The process id, for signals.
    pub pid: u32,
    /// Just before the spawn: where start-up timings count from.
    pub spawned_at: Instant,
    logs: Arc<Mutex<String>>,
}

impl TrellisProcess {
    /// `trellis run` with the environment a deployment would set, and nothing else.
    pub fn spawn(
        bin: &str,
        workdir: &Path,
        db_url: &str,
        api_base: &str,
        extra_env: &[(&str, &str)],
    ) -> TrellisProcess {
        Self::spawn_run(bin, workdir, db_url, api_base, &[], extra_env)
    }

    /// [`TrellisProcess::spawn`] with flags after `run` (`--shards 0-1
    /// --total-shards 4`).
    pub fn spawn_run(
        bin: &str,
        workdir: &Path,
        db_url: &str,
        api_base: &str,
        run_args: &[&str],
        extra_env: &[(&str, &str)],
    ) -> TrellisProcess {
        let mut cmd = tokio::process::Command::new(bin);
        cmd.arg("run")
            .args(run_args)
            .current_dir(workdir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DISCORD_TOKEN", TOKEN)
            .env("DISCORD_API_BASE", api_base)
            .env("DATABASE_URL", db_url)
            .env("RUST_LOG", "warn,trellis=info")
            // Any free port: test processes run side by side.
            .env("TRELLIS_WEB_ADDR", "127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let spawned_at = Instant::now();
        let mut child = cmd.spawn().expect("spawn trellis");
        let pid = child.id().expect("pid");
        // Drain stderr continuously: a full pipe would block the bot's logging.
        let logs = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = logs.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        TrellisProcess { child, pid, spawned_at, logs }
    }

    /// Everything the process wrote to stderr so far.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// SIGKILL, then reap. No cleanup code of the bot runs.
    pub async fn kill9(&mut self) -> ExitStatus {
        self.child.start_kill().expect("SIGKILL");
        self.wait(Duration::from_secs(10)).await.expect("a killed process exits")
    }

    /// SIGTERM (what systemd and `docker stop` send).
    pub fn sigterm(&self) {
        signal(self.pid, "-TERM");
    }

    /// Waits for the process to exit; `None` if it is still running after `timeout`.
    pub async fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        tokio::time::timeout(timeout, self.child.wait()).await.ok().map(|r| r.expect("wait"))
    }
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill").arg(sig).arg(pid.to_string()).status().expect("kill(1)").success();
    assert!(ok, "kill {sig} {pid} failed");
}

/// Waits until the fake has seen `identifies` IDENTIFYs and a ready
/// connection, i.e. a (re)started process is connected and past READY.
pub async fn wait_identified(fake: &FakeDiscord, identifies: usize, timeout: Duration) {
    let what = format!("IDENTIFY #{identifies} and a ready connection");
    fake.wait_until(timeout, &what, |f| (f.identify_count() >= identifies && f.connected()).then_some(())).await
}

/// Number of guild command registrations (`PUT …/guilds/{g}/commands`) so far:
/// one per guild per READY handled.
pub fn registrations(fake: &FakeDiscord) -> usize {
    fake.requests_to("PUT", &format!("/applications/{APP}/guilds/")).len()
}
