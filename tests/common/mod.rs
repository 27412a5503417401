//! Helpers shared by the foundation and engine integration tests: a migrated
//! file database in a tempdir, an in-memory chat platform, engines on a manual
//! clock.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use tempfile::TempDir;
use trellis::domain::{ChannelId, CohortDraft, CohortSpec, GuildId, MessageId, PromptLibrary, UserId};
use trellis::engine::chat::DigestPost;
use trellis::engine::{ChatEdge, ChatError, CheckInPost, Clock, Engine, ManualClock, ReminderDm};
use trellis::store::Store;

/// Parse an RFC 3339 instant.
pub fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("bad instant {s}: {e}")).with_timezone(&Utc)
}

/// A file database in its own tempdir. Keep it alive as long as the stores.
pub struct TempDb {
    pub dir: TempDir,
    pub path: PathBuf,
    pub url: String,
}

impl TempDb {
    pub fn new() -> Self {
        trellis::telemetry::init_for_tests();
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("trellis.db");
        let url = format!("sqlite://{}", path.display());
        TempDb { dir, path, url }
    }

    /// A new, independent connection pool to the database (a second process).
    pub async fn connect(&self) -> Store {
        Store::connect(&self.url).await.expect("connect")
    }

    /// A raw connection for checks the store has no method for.
    pub async fn raw(&self) -> sqlx::SqlitePool {
        sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(&self.path))
            .await
            .expect("raw connect")
    }
}

impl Default for TempDb {
    fn default() -> Self {
        Self::new()
    }
}

/// A migrated store on a fresh file database.
pub async fn temp_store() -> (TempDb, Store) {
    let db = TempDb::new();
    let store = db.connect().await;
    store.migrate().await.expect("migrate");
    (db, store)
}

/// Every table and every column of the database, with how many rows hold
/// `value` in that column. Only non-zero counts are returned.
pub async fn rows_holding(db: &TempDb, value: i64) -> Vec<(String, String, i64)> {
    let pool = db.raw().await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let columns = table_columns(&pool, &table).await;
        for column in columns {
            let sql = format!("SELECT COUNT(*) FROM \"{table}\" WHERE \"{column}\" = ?");
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(value).fetch_one(&pool).await.unwrap();
            if n > 0 {
                out.push((table.clone(), column, n));
            }
        }
    }
    pool.close().await;
    out
}

pub async fn table_columns(pool: &sqlx::SqlitePool, table: &str) -> Vec<String> {
    let sql = format!("SELECT name FROM pragma_table_info('{table}')");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await.unwrap()
}

/// A validated cohort declaration.
pub fn spec(name: &str, channel_id: ChannelId, schedule: &str, timezone: &str) -> CohortSpec {
    draft(name, channel_id, schedule, timezone).validate().expect("valid cohort")
}

pub fn draft(name: &str, channel_id: ChannelId, schedule: &str, timezone: &str) -> CohortDraft {
    CohortDraft {
        name: name.to_string(),
        guild_id: GUILD.get(),
        channel_id: channel_id.get(),
        mentor_role_id: 333_333_333_333_333_333,
        schedule: schedule.to_string(),
        timezone: timezone.to_string(),
        reminder_after: None,
        digest_channel_id: None,
        tracks: None,
    }
}

pub const GUILD: GuildId = GuildId::new(111_111_111_111_111_111);
pub const CHANNEL: ChannelId = ChannelId::new(222_222_222_222_222_222);
pub const CHANNEL_2: ChannelId = ChannelId::new(222_222_222_222_222_223);
pub const ALICE: UserId = UserId::new(900_000_000_000_000_001);
pub const BOB: UserId = UserId::new(900_000_000_000_000_002);
pub const CAROL: UserId = UserId::new(900_000_000_000_000_003);
pub const DAVE: UserId = UserId::new(900_000_000_000_000_004);

/// One successful post as the platform saw it.
#[derive(Debug, Clone)]
pub struct SeenPost {
    pub post: CheckInPost,
    pub message_id: MessageId,
    /// The fake clock when the post arrived.
    pub at: DateTime<Utc>,
}

#[derive(Default)]
struct FakeState {
    posts: Vec<SeenPost>,
    dms: Vec<ReminderDm>,
    post_attempts: usize,
    attempted_nonces: Vec<String>,
    dm_attempts: usize,
    fail_posts: usize,
    fail_all_posts: bool,
    fail_dms_to: HashMap<UserId, usize>,
    next_message_id: u64,
    digests: Vec<DigestPost>,
    digest_attempts: usize,
    fail_digests: usize,
}

/// An in-memory chat platform: records posts and DMs, fails on request.
pub struct FakeChat {
    clock: Option<Arc<ManualClock>>,
    post_delay: Mutex<StdDuration>,
    state: Mutex<FakeState>,
}

impl FakeChat {
    pub fn new(clock: Option<Arc<ManualClock>>) -> Self {
        FakeChat { clock, post_delay: Mutex::new(StdDuration::ZERO), state: Mutex::new(FakeState::default()) }
    }

    /// Successful posts, in order.
    pub fn posts(&self) -> Vec<SeenPost> {
        self.state.lock().unwrap().posts.clone()
    }

    pub fn nonces(&self) -> Vec<String> {
        self.posts().into_iter().map(|p| p.post.nonce).collect()
    }

    /// Delivered reminder DMs, in order.
    pub fn dms(&self) -> Vec<ReminderDm> {
        self.state.lock().unwrap().dms.clone()
    }

    pub fn post_attempts(&self) -> usize {
        self.state.lock().unwrap().post_attempts
    }

    /// Nonces of every post attempt, failed or not.
    pub fn attempted_nonces(&self) -> Vec<String> {
        self.state.lock().unwrap().attempted_nonces.clone()
    }

    pub fn dm_attempts(&self) -> usize {
        self.state.lock().unwrap().dm_attempts
    }

    /// The next `n` posts fail.
    pub fn fail_next_posts(&self, n: usize) {
        self.state.lock().unwrap().fail_posts = n;
    }

    /// Every post fails until turned off.
    pub fn fail_all_posts(&self, on: bool) {
        self.state.lock().unwrap().fail_all_posts = on;
    }

    /// The next `n` DMs to `user` fail.
    pub fn fail_next_dms_to(&self, user: UserId, n: usize) {
        self.state.lock().unwrap().fail_dms_to.insert(user, n);
    }

    /// Each post takes this long (real time), to widen race windows.
    pub fn set_post_delay(&self, d: StdDuration) {
        *self.post_delay.lock().unwrap() = d;
    }

    /// Delivered digests, in order.
    pub fn digests(&self) -> Vec<DigestPost> {
        self.state.lock().unwrap().digests.clone()
    }

    /// Digest sends tried, failed or not.
    pub fn digest_attempts(&self) -> usize {
        self.state.lock().unwrap().digest_attempts
    }

    /// The next `n` digest sends fail.
    pub fn fail_next_digests(&self, n: usize) {
        self.state.lock().unwrap().fail_digests = n;
    }

    /// Posts that share a nonce with an earlier successful post.
    pub fn duplicate_nonces(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.nonces().into_iter().filter(|n| !seen.insert(n.clone())).collect()
    }
}

#[async_trait::async_trait]
impl ChatEdge for FakeChat {
    async fn post_checkin(&self, post: &CheckInPost) -> Result<MessageId, ChatError> {
        let delay = *self.post_delay.lock().unwrap();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut s = self.state.lock().unwrap();
        s.post_attempts += 1;
        s.attempted_nonces.push(post.nonce.clone());
        if s.fail_all_posts {
            return Err(ChatError::temporary("injected: the platform is down"));
        }
        if s.fail_posts > 0 {
            s.fail_posts -= 1;
            return Err(ChatError::temporary("injected: post failed"));
        }
        s.next_message_id += 1;
        let message_id = MessageId::new(500_000_000_000_000_000 + s.next_message_id);
        let at = self.clock.as_ref().map(|c| c.now()).unwrap_or_else(Utc::now);
        s.posts.push(SeenPost { post: post.clone(), message_id, at });
        Ok(message_id)
    }

    async fn send_reminder(&self, dm: &ReminderDm) -> Result<(), ChatError> {
        let mut s = self.state.lock().unwrap();
        s.dm_attempts += 1;
        if let Some(n) = s.fail_dms_to.get_mut(&dm.user_id)
            && *n > 0
        {
            *n -= 1;
            return Err(ChatError::temporary("injected: the DM did not go through"));
        }
        s.dms.push(dm.clone());
        Ok(())
    }

    async fn post_digest(&self, digest: &DigestPost) -> Result<(), ChatError> {
        let mut s = self.state.lock().unwrap();
        s.digest_attempts += 1;
        if s.fail_digests > 0 {
            s.fail_digests -= 1;
            return Err(ChatError::temporary("injected: digest channel unavailable"));
        }
        s.digests.push(digest.clone());
        Ok(())
    }
}

/// An engine on a manual clock and a fake chat, over a fresh database.
pub struct Harness {
    pub db: TempDb,
    pub clock: Arc<ManualClock>,
    pub chat: Arc<FakeChat>,
    pub engine: Engine,
}

impl Harness {
    pub async fn new(start: DateTime<Utc>) -> Self {
        let (db, store) = temp_store().await;
        let clock = Arc::new(ManualClock::new(start));
        let chat = Arc::new(FakeChat::new(Some(clock.clone())));
        let engine = Engine::new(store, PromptLibrary::builtin(), clock.clone(), chat.clone());
        Harness { db, clock, chat, engine }
    }

    /// Another engine over the same database file (its own connection pool),
    /// sharing the clock and the chat: a second instance, or a restart.
    pub async fn another_engine(&self) -> Engine {
        self.engine_with_chat(self.chat.clone()).await
    }

    pub async fn engine_with_chat(&self, chat: Arc<FakeChat>) -> Engine {
        let store = self.db.connect().await;
        Engine::new(store, PromptLibrary::builtin(), self.clock.clone(), chat)
    }

    /// Simulate a crash and restart: the old engine is dropped without any
    /// clean-up, a new one opens the database again.
    pub async fn restart(&mut self) {
        let engine = self.another_engine().await;
        let old = std::mem::replace(&mut self.engine, engine);
        drop(old);
    }

    pub fn set(&self, t: DateTime<Utc>) {
        self.clock.set(t);
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub async fn tick(&self) -> trellis::engine::TickReport {
        self.engine.tick().await.expect("tick")
    }
}
