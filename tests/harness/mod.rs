//! The real `trellis` binary as a child process against the fake Discord,
//! on a database seeded through `trellis::store::Store`: what the
//! durability, load and operations tests (and the benches) start from.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::io::{AsyncBufReadExt, BufReader};
use trellis::domain::{CheckInId, CohortDraft, CohortId, CohortSource, MessageId, PostedPrompt, Track};
use trellis::store::{NewCheckIn, Store};

use crate::support::fake_discord::{FakeConfig, FakeDiscord, GuildSpec};

pub const TOKEN: &str = "Bot proc-secret-token.cHJvYy1zZWNyZXQ.dGFpbA";
pub const BOT: u64 = 900_000_000_000_000_001;
pub const APP: u64 = 900_000_000_000_000_002;
pub const GUILD: u64 = 100_000_000_000_000_001;
pub const CHANNEL: u64 = 100_000_000_000_000_011;
pub const MENTOR_ROLE: u64 = 100_000_000_000_000_021;
/// First user id; tests number their members from here.
pub const USER0: u64 = 400_000_000_000_000_000;

/// Once a year: the scheduler never records anything of its own while a test
/// runs, so the seeded check-in stays the open one.
pub const YEARLY: &str = "0 0 0 1 1 *";

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

/// A database file in its own folder.
pub struct Db {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl Db {
    pub fn new() -> Db {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("trellis.db");
        Db { dir, path }
    }

    pub fn url(&self) -> String {
        url_of(&self.path)
    }

    /// A migrated store on this file (a second process, as far as SQLite cares).
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url()).await.expect("connect");
        store.migrate().await.expect("migrate");
        store
    }
}

impl Default for Db {
    fn default() -> Self {
        Db::new()
    }
}

pub fn url_of(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// A cohort in `guild`/`channel` (created from Discord, so the binary's
/// config sync leaves it alone) with `schedule` in UTC.
pub async fn seed_cohort(store: &Store, name: &str, guild: u64, channel: u64, schedule: &str) -> CohortId {
    let spec = CohortDraft {
        name: name.into(),
        guild_id: guild,
        channel_id: channel,
        mentor_role_id: guild + 20,
        schedule: schedule.into(),
        timezone: "UTC".into(),
        ..CohortDraft::default()
    }
    .validate()
    .expect("valid cohort");
    store.insert_cohort(&spec, CohortSource::Discord, Utc::now()).await.expect("insert cohort").id
}

/// A check-in of `cohort_id` that occurred at `at` and closes at `closes`,
/// recorded and marked posted as the scheduler would have.
pub async fn seed_posted_checkin(
    store: &Store,
    cohort_id: CohortId,
    at: DateTime<Utc>,
    closes: DateTime<Utc>,
) -> CheckInId {
    let id = seed_recorded_checkin(store, cohort_id, at, closes).await;
    assert!(store.claim_post(id, at, at).await.expect("claim"));
    store.mark_posted(id, MessageId::new(1_000_000 + id.get() as u64), at).await.expect("mark posted");
    id
}

/// A check-in in the ledger but not posted yet.
pub async fn seed_recorded_checkin(
    store: &Store,
    cohort_id: CohortId,
    at: DateTime<Utc>,
    closes: DateTime<Utc>,
) -> CheckInId {
    let prompt = PostedPrompt {
        id: "seeded".into(),
        track: Track::ALL[0],
        question: "What did you drive this week that nobody asked you to?".into(),
    };
    let new = NewCheckIn { cohort_id, occurrence_at: at, closes_at: closes, prompt: Some(prompt) };
    store.record_checkin(&new).await.expect("record").expect("new occurrence").id
}

/// One cohort with one open check-in (opened an hour ago, closing in a day).
/// Returns (cohort id, check-in id).
pub async fn seed_open_checkin(db: &Db) -> (CohortId, CheckInId) {
    let store = db.store().await;
    let cohort = seed_cohort(&store, "staff-path", GUILD, CHANNEL, YEARLY).await;
    let now = Utc::now();
    let checkin =
        seed_posted_checkin(&store, cohort, now - chrono::Duration::hours(1), now + chrono::Duration::days(1)).await;
    store.close().await;
    (cohort, checkin)
}

/// The modal submit that answers `checkin_id`.
pub fn answer_id(checkin_id: CheckInId) -> String {
    format!("answer:{checkin_id}")
}

/// A running `trellis run` child process. Killed when dropped.
pub struct Trellis {
    child: tokio::process::Child,
    pub pid: u32,
    pub spawned_at: Instant,
    logs: Arc<Mutex<String>>,
}

impl Trellis {
    /// `trellis run` with the environment a deployment would set, and nothing else.
    pub fn spawn(bin: &str, workdir: &Path, db_url: &str, api_base: &str, extra_env: &[(&str, &str)]) -> Trellis {
        let mut cmd = tokio::process::Command::new(bin);
        cmd.arg("run")
            .current_dir(workdir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DISCORD_TOKEN", TOKEN)
            .env("DISCORD_API_BASE", api_base)
            .env("DATABASE_URL", db_url)
            .env("RUST_LOG", "warn,trellis=info")
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
        Trellis { child, pid, spawned_at, logs }
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

    pub fn try_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }
}

pub fn signal(pid: u32, sig: &str) {
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

/// A small deterministic PRNG (SplitMix64): reproducible kill points from a
/// printed seed, without a dependency.
pub struct Rng(u64);

impl Rng {
    /// From `TRELLIS_SEED` if set (to replay a failure), else from the clock.
    pub fn from_env_or_time() -> (Rng, u64) {
        let seed = std::env::var("TRELLIS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
        });
        (Rng(seed), seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
}

/// Percentile (0..=100) of sorted durations, nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
