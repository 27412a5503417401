//! The one place that speaks SQL. Every statement lives in this module, split by
//! table family; the rest of Trellis calls typed methods on [`Store`].

mod answers;
#[cfg(any(test, feature = "test-util"))]
pub mod bulk;
mod checkins;
mod codec;
mod cohorts;
mod delivery;
mod digest;
mod dm_channels;
mod export;
mod guilds;
mod impact;
mod instances;
mod members;
mod mentoring;
mod notes;
mod path;
mod replies;
pub mod summary;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub use answers::NewAnswer;
pub use checkins::NewCheckIn;
pub use delivery::NewDeliveryFailure;
pub use notes::NewNote;

use crate::domain::UserId;

/// What can go wrong in the store. Variants state facts; the engine and the
/// edges decide what a person reads.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Shared: one failed commit of several answers is each one's failure.
    #[error("database error")]
    Sqlx(#[source] Arc<sqlx::Error>),
    #[error(
        "the database is locked by another process (another trellis, or an open sqlite3 transaction); \
         gave up after {}s. Stop that process or try again",
        BUSY_TIMEOUT.as_secs()
    )]
    Locked(#[source] Arc<sqlx::Error>),
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("`{url}` is not a usable SQLite database URL: {reason}")]
    Url { url: String, reason: String },
    #[error("cannot create the database file {path}: {source}")]
    Create { path: PathBuf, source: std::io::Error },
    #[error("the database holds a value Trellis cannot read: {0}")]
    Corrupt(String),
    /// The unique index on cohort names refused `name`.
    #[error("cohort name `{name}` is taken")]
    NameTaken { name: String },
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if is_busy(&e) { StoreError::Locked(Arc::new(e)) } else { StoreError::Sqlx(Arc::new(e)) }
    }
}

/// SQLITE_BUSY or SQLITE_LOCKED (extended codes share the low byte).
fn is_busy(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = e else { return false };
    let code = db.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0);
    matches!(code & 0xff, 5 | 6) || db.message().contains("database is locked")
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How long a statement waits for another writer before failing with "locked".
/// Below Discord's 3 s interaction deadline, so a member whose answer cannot be
/// written is told to try again instead of seeing "interaction failed".
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);
/// Two connections: one writer (SQLite has one at a time) and one reader. Each
/// connection is an OS thread plus its own page cache; the third and fourth
/// measured 0.4 MB of idle memory and no gain under load (docs/benchmarks.md).
const MAX_CONNECTIONS: u32 = 2;

/// Handle to the SQLite database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    /// The one writer of answers (group commit, see `answers.rs`).
    answers: answers::AnswerWriter,
}

impl Store {
    /// Open (creating if missing) the database at `url`, e.g. `sqlite://data/trellis.db`.
    /// Does not migrate; call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Self> {
        let options = sqlite_options(url)?;
        // `sqlite://` with no path would open a throw-away temporary database.
        if options.get_filename().as_os_str().is_empty() && !url.contains("mode=memory") {
            return Err(StoreError::Url {
                url: url.to_string(),
                reason: "the URL names no database file; expected e.g. sqlite://data/trellis.db".into(),
            });
        }
        if let Some(path) = file_path(&options) {
            create_private_file(&path)?;
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: in WAL mode NORMAL may lose the last commits on power loss; FULL
            // syncs the WAL on every commit, so a confirmed answer is on disk.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool =
            SqlitePoolOptions::new().max_connections(MAX_CONNECTIONS).min_connections(1).connect_with(options).await?;
        Ok(Store::with_pool(pool))
    }

    /// Must run inside a tokio runtime: it starts the answer writer.
    fn with_pool(pool: SqlitePool) -> Self {
        let answers = answers::AnswerWriter::start(pool.clone());
        Store { pool, answers }
    }

    pub async fn migrate(&self) -> Result<()> {
        use sqlx::migrate::MigrateError;
        match sqlx::migrate!("./migrations").run(&self.pool).await {
            Err(MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _)) if is_busy(&e) => {
                Err(StoreError::Locked(Arc::new(e)))
            }
            other => Ok(other?),
        }
    }

    /// `VACUUM INTO`: a consistent copy of the live database.
    pub async fn backup_to(&self, path: &Path) -> Result<()> {
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::Url { url: path.display().to_string(), reason: "path is not UTF-8".into() })?;
        sqlx::query("VACUUM INTO ?").bind(target).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Deletes every row about `user_id`, in one transaction: what
    /// `/forget-me` and `trellis forget-user` do: their answers, ledger,
    /// memberships, Staff path, recorded refusals of their DMs, and every note
    /// written by or about them (with the history of each). Returns the rows
    /// deleted per table, in the order deleted (every table is listed, 0 included).
    pub async fn forget_user(&self, user_id: UserId) -> Result<Vec<(&'static str, u64)>> {
        let mut tx = self.pool.begin().await?;
        let mut deleted = Vec::new();
        // Notes before the replies they hang on; every `?` is the user's id.
        for (table, sql) in [
            ("note_edits", "DELETE FROM note_edits WHERE member_user_id = ? OR author_user_id = ?"),
            ("notes", "DELETE FROM notes WHERE member_user_id = ? OR author_user_id = ?"),
            ("path_step_edits", "DELETE FROM path_step_edits WHERE user_id = ?"),
            ("path_steps", "DELETE FROM path_steps WHERE user_id = ?"),
            ("path_project_edits", "DELETE FROM path_project_edits WHERE user_id = ?"),
            ("path_projects", "DELETE FROM path_projects WHERE user_id = ?"),
            ("reply_edits", "DELETE FROM reply_edits WHERE user_id = ?"),
            ("replies", "DELETE FROM replies WHERE user_id = ?"),
            ("impact_entries", "DELETE FROM impact_entries WHERE user_id = ?"),
            ("reminders", "DELETE FROM reminders WHERE user_id = ?"),
            ("pauses", "DELETE FROM pauses WHERE user_id = ?"),
            ("members", "DELETE FROM members WHERE user_id = ?"),
            ("dm_channels", "DELETE FROM dm_channels WHERE user_id = ?"),
            (
                "delivery_failures",
                "DELETE FROM delivery_failures WHERE target_kind IN ('member_dm', 'guild_member') AND target_id = ?",
            ),
        ] {
            let mut query = sqlx::query(sql);
            for _ in 0..sql.matches('?').count() {
                query = query.bind(user_id);
            }
            deleted.push((table, query.execute(&mut *tx).await?.rows_affected()));
        }
        tx.commit().await?;
        Ok(deleted)
    }

    /// Rows in each table that mention `user_id` (for forget-me checks).
    #[cfg(any(test, feature = "test-util"))]
    pub async fn rows_mentioning_user(&self, user_id: UserId) -> Result<Vec<(&'static str, i64)>> {
        let mut out = Vec::new();
        for (table, sql) in [
            ("members", "SELECT COUNT(*) FROM members WHERE user_id = ?"),
            ("pauses", "SELECT COUNT(*) FROM pauses WHERE user_id = ?"),
            ("replies", "SELECT COUNT(*) FROM replies WHERE user_id = ?"),
            ("reply_edits", "SELECT COUNT(*) FROM reply_edits WHERE user_id = ?"),
            ("impact_entries", "SELECT COUNT(*) FROM impact_entries WHERE user_id = ?"),
            ("reminders", "SELECT COUNT(*) FROM reminders WHERE user_id = ?"),
            (
                "delivery_failures",
                "SELECT COUNT(*) FROM delivery_failures WHERE target_kind IN ('member_dm', 'guild_member') \
                 AND target_id = ?",
            ),
            ("path_projects", "SELECT COUNT(*) FROM path_projects WHERE user_id = ?"),
            ("path_project_edits", "SELECT COUNT(*) FROM path_project_edits WHERE user_id = ?"),
            ("path_steps", "SELECT COUNT(*) FROM path_steps WHERE user_id = ?"),
            ("path_step_edits", "SELECT COUNT(*) FROM path_step_edits WHERE user_id = ?"),
            ("dm_channels", "SELECT COUNT(*) FROM dm_channels WHERE user_id = ?"),
        ] {
            let (count,): (i64,) = sqlx::query_as(sql).bind(user_id).fetch_one(&self.pool).await?;
            out.push((table, count));
        }
        // Notes name two users: the member they are about and the mentor who wrote them.
        for (table, sql) in [
            ("notes", "SELECT COUNT(*) FROM notes WHERE member_user_id = ? OR author_user_id = ?"),
            ("note_edits", "SELECT COUNT(*) FROM note_edits WHERE member_user_id = ? OR author_user_id = ?"),
        ] {
            let (count,): (i64,) = sqlx::query_as(sql).bind(user_id).bind(user_id).fetch_one(&self.pool).await?;
            out.push((table, count));
        }
        Ok(out)
    }

    /// Names of all user tables, to check that `rows_mentioning_user` misses none.
    #[cfg(any(test, feature = "test-util"))]
    pub async fn table_names(&self) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx_%' ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(n,)| n).collect())
    }
}

/// The options of a `sqlite:` URL.
fn sqlite_options(url: &str) -> Result<SqliteConnectOptions> {
    let bad = |reason: String| StoreError::Url { url: url.to_string(), reason };
    // sqlx reads anything without a `sqlite:` prefix as a file name, so
    // `postgres://host/db` would quietly create a folder named `postgres:`.
    if !url.starts_with("sqlite:") {
        return Err(bad("Trellis stores its data in SQLite; expected a URL like sqlite://data/trellis.db".into()));
    }
    SqliteConnectOptions::from_str(url).map_err(|e| bad(e.to_string()))
}

fn file_path(options: &SqliteConnectOptions) -> Option<PathBuf> {
    let path = options.get_filename();
    let s = path.to_string_lossy();
    if s.is_empty() || s == ":memory:" || s.starts_with("file:") { None } else { Some(path.to_path_buf()) }
}

/// Create the folder and an empty database file readable by its owner only;
/// SQLite gives the -wal and -shm files the same mode.
fn create_private_file(path: &Path) -> Result<()> {
    let err = |source| StoreError::Create { path: path.to_path_buf(), source };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    match crate::private_file::create_new(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(err(e)),
    }
}
