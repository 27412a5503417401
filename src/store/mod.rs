//! The one place that speaks SQL. Every statement lives in this module, split by
//! table family; the rest of Trellis calls typed methods on [`Store`].
//!
//! # Two backends
//!
//! A `sqlite:` URL opens SQLite (the default: one file, WAL, one writer at a
//! time); a `postgres://` or `postgresql://` URL opens PostgreSQL, which
//! several `trellis run` processes may share. Each method's body is written
//! once and compiled once per backend by [`on_db!`]: every statement uses
//! numbered placeholders (`$1`, `$2`, …, which SQLite binds by number too)
//! and SQL both dialects accept (`ON CONFLICT … DO NOTHING`, `TRUE`/`FALSE`).
//! Where the dialects really differ (aggregating into JSON or a list,
//! `CROSS JOIN` as SQLite's join-order hint, a row lock) the statement is
//! chosen with [`Backend::pick`]. The schemas (`migrations/sqlite`,
//! `migrations/postgres`, one file there per file here) hold the same
//! tables, keys and history triggers; every integer is `BIGINT` on
//! PostgreSQL (Rust `i64`) and every flag `BOOLEAN`.
//!
//! # Exactly once across processes
//!
//! Trellis keeps its existing claim scheme on both backends rather than
//! switching PostgreSQL to `SELECT … FOR UPDATE SKIP LOCKED` queues: every
//! claim, lease and "only one wins" decision is **one conditional statement**
//! whose outcome is its own row count, and PostgreSQL (at its default READ
//! COMMITTED) already makes such a statement safe across processes:
//!
//! - A conditional `UPDATE` (`claim_post`: `… WHERE status = 'recorded' OR
//!   (status = 'posting' AND claimed_at < $n)`; `claim_digest`: `… WHERE
//!   digest_claimed_at IS NULL`; `replace_instance`, `renew_instance`,
//!   `release_instance`, `edit_dm_reply`, `mark_notes_seen`) that meets a row
//!   another transaction is changing waits for that transaction, then checks
//!   its `WHERE` again on the row as committed. So of N racing claimers one
//!   updates the row and the others find the condition false: one winner.
//! - An `INSERT … ON CONFLICT DO NOTHING` / `DO UPDATE` on a unique key
//!   (`record_checkin`, `claim_reminder(s)`, `insert_instance`,
//!   `mark_guild_departed`, `record_delivery_failure`, `join`, every upsert of
//!   an answer, note, project or step) waits for a concurrent insert of the
//!   same key to commit or roll back and then takes the conflict branch: one
//!   row, one inserter.
//! - Taking a range of shards (`take_shards`) decides on every lease row
//!   at once, so it first upserts a lock row: a second taker's upsert of
//!   that key waits until the first commits (the first deletes the row
//!   before it commits), and its later reads, each with a fresh snapshot
//!   under READ COMMITTED, see the first's leases.
//! - A stale claim (its process died) is taken over by the same statement
//!   once `claimed_at` is older than the lease; a dead process's instance
//!   lease is replaced only if its row is still exactly what the taker read.
//!
//! SKIP LOCKED would add nothing here: work is found by a plain read
//! (`unposted_checkins`, `members_to_remind`, `due_digests`) and then claimed
//! item by item with the statements above, so a process that loses a claim
//! simply moves on. The claims already hold across a crash (a claim is a
//! committed row, not a lock that dies with the connection), which a
//! row-lock queue would give up.
//!
//! Three places wrote several statements in one transaction and relied on
//! SQLite's single writer; on PostgreSQL they are made safe as follows:
//!
//! - `record_checkin` inserts an occurrence and closes the cohort's earlier
//!   check-ins. Two processes recording *different* occurrences at once
//!   would not see each other's uncommitted row and could leave two open.
//!   On PostgreSQL it first locks the cohort's row (`SELECT … FOR UPDATE`),
//!   so recordings of one cohort take turns, as they do under SQLite's
//!   write lock.
//! - `claim_reminders` claims a batch in one transaction. Two batches
//!   inserting the same members in different orders could deadlock, so the
//!   inserts go in user-id order (locks are always taken in one order).
//! - The summaries read two statements in one transaction and need one
//!   snapshot; READ COMMITTED takes a snapshot per statement, so those
//!   transactions are `REPEATABLE READ, READ ONLY` on PostgreSQL (see
//!   [`Backend::read_tx`]).
//!
//! `StoreError::Locked` is SQLite's "another process holds the write lock";
//! PostgreSQL has row locks and no busy timeout, so it never reports it.

/// Runs `$body` once per backend with `$pool` bound to the [`Db`]'s pool:
/// the body is written once and type-checked against each backend's types.
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}

/// [`on_db!`] for a [`Conn`]: `$conn` bound to the backend's connection.
macro_rules! on_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::store::Conn::Sqlite($c) => $body,
            $crate::store::Conn::Postgres($c) => $body,
        }
    };
}

mod answers;
#[cfg(any(test, feature = "test-util"))]
pub mod bulk;
mod checkins;
mod codec;
mod cohorts;
mod delivery;
mod desk;
mod digest;
mod dm_channels;
mod export;
mod failure;
mod guilds;
mod impact;
mod instances;
mod members;
mod mentoring;
mod notes;
mod path;
mod replies;
mod search;
pub mod summary;
pub mod transfer;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use answers::NewAnswer;
pub use checkins::NewCheckIn;
pub use delivery::NewDeliveryFailure;
pub use desk::LinkState;
pub use notes::NewNote;
pub use search::{HitKind, MATCH_END, MATCH_START, SearchHit, SearchScope};

use crate::domain::UserId;

/// What can go wrong in the store. Variants state facts; the engine and the
/// edges decide what a person reads.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Shared: one failed commit of several answers is each one's failure.
    #[error("database error")]
    Sqlx(#[source] Arc<sqlx::Error>),
    /// SQLite only: another process held the write lock past the busy timeout.
    #[error(
        "the database is locked by another process (another trellis, or an open sqlite3 transaction); \
         gave up after {}s. Stop that process or try again",
        BUSY_TIMEOUT.as_secs()
    )]
    Locked(#[source] Arc<sqlx::Error>),
    /// The storage refused the write for a reason outside Trellis: disk
    /// full, an I/O error, a read-only file or a file-size limit (SQLite),
    /// or the PostgreSQL server's disk full or in read-only mode. Nothing
    /// was saved; the same write works again once the storage does.
    #[error("the database could not be written (disk full, I/O error or read-only storage); nothing was saved")]
    Unwritable(#[source] Arc<sqlx::Error>),
    /// The database could not be reached: PostgreSQL restarting, shutting
    /// down or unreachable, or no connection free before the deadline.
    #[error("the database cannot be reached right now (restarting or unreachable)")]
    Unavailable(#[source] Arc<sqlx::Error>),
    /// No connection came free within the deadline, or (PostgreSQL) a
    /// statement waited on a row another transaction holds past
    /// `lock_timeout`, or was cancelled by `statement_timeout`.
    #[error(
        "the database did not answer in time (busy, restarting, or a row held by another transaction); nothing was saved"
    )]
    TimedOut(#[source] Arc<sqlx::Error>),
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// `url` is shown without its password.
    #[error("`{url}` is not a usable database URL: {reason}")]
    Url { url: String, reason: String },
    /// The PostgreSQL server named by `url` (shown without its password)
    /// could not be reached or refused the connection.
    #[error("cannot connect to the PostgreSQL database {url}")]
    Connect {
        url: String,
        #[source]
        source: Arc<sqlx::Error>,
    },
    #[error("cannot create the database file {path}: {source}")]
    Create { path: PathBuf, source: std::io::Error },
    #[error("the database holds a value Trellis cannot read: {0}")]
    Corrupt(String),
    /// The unique index on cohort names refused `name`.
    #[error("cohort name `{name}` is taken")]
    NameTaken { name: String },
    /// What only one backend can do was asked of the other.
    #[error("{0}")]
    Unsupported(&'static str),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        use failure::Failure;
        match failure::kind(&e) {
            Failure::Busy => StoreError::Locked(Arc::new(e)),
            Failure::Storage => StoreError::Unwritable(Arc::new(e)),
            Failure::Unreachable => StoreError::Unavailable(Arc::new(e)),
            Failure::TimedOut => StoreError::TimedOut(Arc::new(e)),
            Failure::Other => StoreError::Sqlx(Arc::new(e)),
        }
    }
}

/// SQLite's SQLITE_BUSY or SQLITE_LOCKED (extended codes share the low
/// byte). Never a PostgreSQL error, whose SQLSTATE could parse as a number.
fn is_busy(e: &sqlx::Error) -> bool {
    matches!(failure::kind(e), failure::Failure::Busy)
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
/// PostgreSQL takes writers side by side; eight connections per process keep
/// a burst of answers, reminders and summaries from queueing behind one
/// another while a few processes stay far below the server's default of 100.
const PG_MAX_CONNECTIONS: u32 = 8;
/// How long the first connection to a PostgreSQL server may take at start
/// (a TLS handshake across a network included).
const PG_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a statement waits for a free connection (on PostgreSQL: also
/// for a new one while the server restarts) before failing with
/// [`StoreError::TimedOut`]: below Discord's 3 s interaction deadline and
/// the edge's 2.5 s bound on a save, so a member is told why in time. (A
/// PostgreSQL server that refuses connections while it restarts is retried
/// until then, so a restart reads as "did not answer in time" too.)
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// SQLite's: a little past [`BUSY_TIMEOUT`], so a connection that cannot
/// even open behind another process's lock reports "locked by another
/// process" (its own busy timeout) rather than a pool timeout.
const SQLITE_ACQUIRE_TIMEOUT: Duration = Duration::from_millis(2200);
/// How long a PostgreSQL statement waits for a row lock another transaction
/// holds (`lock_timeout`) before failing with [`StoreError::TimedOut`]: the
/// same bound as SQLite's busy timeout, so a claimer never waits forever.
const PG_LOCK_TIMEOUT: &str = "2s";

/// Which database a [`Store`] speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL selects; `None` for any other scheme.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    /// The statement for this backend, where the dialects differ.
    pub(crate) fn pick(self, sqlite: &'static str, postgres: &'static str) -> &'static str {
        match self {
            Backend::Sqlite => sqlite,
            Backend::Postgres => postgres,
        }
    }

    /// How a read transaction of several statements begins so that they all
    /// see one snapshot: SQLite's deferred transaction takes it at the first
    /// read; PostgreSQL's READ COMMITTED would take one per statement.
    pub(crate) fn read_tx(self) -> &'static str {
        self.pick("BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    }

    /// How a write transaction begins: on SQLite IMMEDIATE takes the write
    /// lock at once (waiting up to the busy timeout) rather than failing
    /// half-way when a read turns into a write; PostgreSQL locks rows as it goes.
    pub(crate) fn write_tx(self) -> &'static str {
        self.pick("BEGIN IMMEDIATE", "BEGIN")
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

/// The connection pool of either backend. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Db {
    fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }
}

/// A connection of either backend (usually inside a transaction), for the
/// statements several methods share.
pub(crate) enum Conn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl Conn<'_> {
    /// The same connection for one more statement, keeping this handle.
    pub(crate) fn reborrow(&mut self) -> Conn<'_> {
        match self {
            Conn::Sqlite(c) => Conn::Sqlite(c),
            Conn::Postgres(c) => Conn::Postgres(c),
        }
    }
}

impl<'c> From<&'c mut SqliteConnection> for Conn<'c> {
    fn from(c: &'c mut SqliteConnection) -> Self {
        Conn::Sqlite(c)
    }
}

impl<'c> From<&'c mut PgConnection> for Conn<'c> {
    fn from(c: &'c mut PgConnection) -> Self {
        Conn::Postgres(c)
    }
}

/// Handle to the database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
    /// The one writer of answers (group commit, see `answers.rs`).
    answers: answers::AnswerWriter,
}

impl Store {
    /// Open the database at `url`: `sqlite://data/trellis.db` (created,
    /// with its folder, if missing) or `postgres://user@host/db` (the
    /// database must exist). Does not migrate; call [`Store::migrate`].
    ///
    /// # Errors
    /// [`StoreError::Url`] for any other URL, [`StoreError::Connect`] when
    /// the PostgreSQL server cannot be reached or refuses (both name the
    /// URL without its password), [`StoreError::Create`] when the SQLite
    /// file cannot be created.
    pub async fn connect(url: &str) -> Result<Self> {
        match Backend::of_url(url) {
            Some(Backend::Postgres) => Self::connect_postgres(url, false).await,
            _ => Self::connect_sqlite(url).await,
        }
    }

    async fn connect_sqlite(url: &str) -> Result<Self> {
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
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .min_connections(1)
            .acquire_timeout(SQLITE_ACQUIRE_TIMEOUT)
            .after_release(|conn, _| Box::pin(failure::fit_for_reuse(conn)))
            .connect_with(options)
            .await?;
        Ok(Store::with_db(Db::Sqlite(pool)))
    }

    /// `read_only`: every transaction of the pool is read-only (the export).
    async fn connect_postgres(url: &str, read_only: bool) -> Result<Self> {
        let shown = redacted_url(url);
        let mut options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Url { url: shown.clone(), reason: e.to_string() })?
            .application_name("trellis");
        // Without a name the server picks the database named after the
        // user (often the `postgres` maintenance database): never that.
        if options.get_database().is_none_or(str::is_empty) {
            return Err(StoreError::Url {
                url: shown,
                reason: "the URL names no database; expected e.g. postgres://trellis@db.example/trellis".into(),
            });
        }
        options = options.options([("lock_timeout", PG_LOCK_TIMEOUT)]);
        if read_only {
            options = options.options([("default_transaction_read_only", "on")]);
        }
        let unreachable = |e| StoreError::Connect { url: shown.clone(), source: Arc::new(e) };
        // One connection first: the pool retries until its timeout and then
        // reports only that, where this says why (refused, authentication,
        // no such database).
        use sqlx::Connection as _;
        let first = tokio::time::timeout(PG_CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .unwrap_or(Err(sqlx::Error::PoolTimedOut))
            .map_err(unreachable)?;
        let _ = first.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(PG_MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_release(|conn, _| Box::pin(failure::fit_for_reuse(conn)))
            .connect_with(options)
            .await
            .map_err(unreachable)?;
        Ok(Store::with_db(Db::Postgres(pool)))
    }

    /// Must run inside a tokio runtime: it starts the answer writer.
    fn with_db(db: Db) -> Self {
        let answers = answers::AnswerWriter::start(db.clone());
        Store { db, answers }
    }

    /// The backend this store speaks to.
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// Apply the backend's migrations (`migrations/sqlite` or
    /// `migrations/postgres`, both embedded in the binary) that the
    /// database does not have yet. Several processes may call it at once.
    pub async fn migrate(&self) -> Result<()> {
        use sqlx::migrate::MigrateError;
        let result = match &self.db {
            Db::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await,
            // PostgreSQL's migrator takes an advisory lock: processes starting
            // together take turns, for as long as a migration takes (no
            // `lock_timeout` for this wait; it is reset before the
            // connection goes back to the pool).
            Db::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                sqlx::query("SET lock_timeout = 0").execute(&mut *conn).await?;
                let result = sqlx::migrate!("./migrations/postgres").run(&mut *conn).await;
                sqlx::query("RESET lock_timeout").execute(&mut *conn).await?;
                result
            }
        };
        match result {
            Err(MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _)) if is_busy(&e) => {
                Err(StoreError::Locked(Arc::new(e)))
            }
            other => Ok(other?),
        }
    }

    /// `VACUUM INTO`: a consistent copy of the live SQLite database, in a
    /// new file `path` created with mode 0600.
    ///
    /// # Errors
    /// [`StoreError::Create`] when `path` exists or cannot be created.
    /// [`StoreError::Unsupported`] on PostgreSQL, whose own tool (`pg_dump`)
    /// makes consistent copies of a live database.
    pub async fn backup_to(&self, path: &Path) -> Result<()> {
        let Db::Sqlite(pool) = &self.db else {
            return Err(StoreError::Unsupported(
                "trellis backup copies a SQLite database; back up PostgreSQL with pg_dump \
                 (e.g. pg_dump --format=custom --file=trellis.dump DBNAME)",
            ));
        };
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::Url { url: path.display().to_string(), reason: "path is not UTF-8".into() })?;
        // Private from its first byte: SQLite would create the copy with mode
        // 0644 (less the umask). It accepts an existing empty file instead,
        // so the file is made here, 0600 and new (never an existing one);
        // the copy's journal takes the same mode from it.
        crate::private_file::create_new(path)
            .map_err(|source| StoreError::Create { path: path.to_path_buf(), source })?;
        if let Err(e) = sqlx::query("VACUUM INTO $1").bind(target).execute(pool).await {
            // No empty or half-written copy is left to be taken for a backup.
            let _ = std::fs::remove_file(path);
            return Err(e.into());
        }
        Ok(())
    }

    pub async fn close(&self) {
        on_db!(&self.db, |pool| pool.close().await)
    }

    /// Deletes every row about `user_id`, in one transaction: what
    /// `/forget-me` and `trellis forget-user` do: their answers, ledger,
    /// memberships, Staff path, recorded refusals of their DMs, and every note
    /// written by or about them (with the history of each). Returns the rows
    /// deleted per table, in the order deleted (every table is listed, 0 included).
    pub async fn forget_user(&self, user_id: UserId) -> Result<Vec<(&'static str, u64)>> {
        // Notes before the replies they hang on; `$1` is the user's id.
        const DELETES: [(&str, &str); 16] = [
            ("note_edits", "DELETE FROM note_edits WHERE member_user_id = $1 OR author_user_id = $1"),
            ("notes", "DELETE FROM notes WHERE member_user_id = $1 OR author_user_id = $1"),
            ("path_step_edits", "DELETE FROM path_step_edits WHERE user_id = $1"),
            ("path_steps", "DELETE FROM path_steps WHERE user_id = $1"),
            ("path_project_edits", "DELETE FROM path_project_edits WHERE user_id = $1"),
            ("path_projects", "DELETE FROM path_projects WHERE user_id = $1"),
            ("reply_edits", "DELETE FROM reply_edits WHERE user_id = $1"),
            ("replies", "DELETE FROM replies WHERE user_id = $1"),
            ("impact_entries", "DELETE FROM impact_entries WHERE user_id = $1"),
            ("reminders", "DELETE FROM reminders WHERE user_id = $1"),
            ("pauses", "DELETE FROM pauses WHERE user_id = $1"),
            ("members", "DELETE FROM members WHERE user_id = $1"),
            ("dm_channels", "DELETE FROM dm_channels WHERE user_id = $1"),
            (
                "delivery_failures",
                "DELETE FROM delivery_failures WHERE target_kind IN ('member_dm', 'guild_member') AND target_id = $1",
            ),
            // Their desk: signed out everywhere, links dead. (The search
            // index follows the rows above through its triggers.)
            ("desk_sessions", "DELETE FROM desk_sessions WHERE user_id = $1"),
            ("desk_links", "DELETE FROM desk_links WHERE user_id = $1"),
        ];
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            let mut deleted = Vec::with_capacity(DELETES.len());
            for (table, sql) in DELETES {
                deleted.push((table, sqlx::query(sql).bind(user_id).execute(&mut *tx).await?.rows_affected()));
            }
            tx.commit().await?;
            Ok(deleted)
        })
    }

    /// Rows in each table that mention `user_id` (for forget-me checks).
    #[cfg(any(test, feature = "test-util"))]
    pub async fn rows_mentioning_user(&self, user_id: UserId) -> Result<Vec<(&'static str, i64)>> {
        const COUNTS: [(&str, &str); 16] = [
            ("members", "SELECT COUNT(*) FROM members WHERE user_id = $1"),
            ("pauses", "SELECT COUNT(*) FROM pauses WHERE user_id = $1"),
            ("replies", "SELECT COUNT(*) FROM replies WHERE user_id = $1"),
            ("reply_edits", "SELECT COUNT(*) FROM reply_edits WHERE user_id = $1"),
            ("impact_entries", "SELECT COUNT(*) FROM impact_entries WHERE user_id = $1"),
            ("reminders", "SELECT COUNT(*) FROM reminders WHERE user_id = $1"),
            (
                "delivery_failures",
                "SELECT COUNT(*) FROM delivery_failures WHERE target_kind IN ('member_dm', 'guild_member') \
                 AND target_id = $1",
            ),
            ("path_projects", "SELECT COUNT(*) FROM path_projects WHERE user_id = $1"),
            ("path_project_edits", "SELECT COUNT(*) FROM path_project_edits WHERE user_id = $1"),
            ("path_steps", "SELECT COUNT(*) FROM path_steps WHERE user_id = $1"),
            ("path_step_edits", "SELECT COUNT(*) FROM path_step_edits WHERE user_id = $1"),
            ("dm_channels", "SELECT COUNT(*) FROM dm_channels WHERE user_id = $1"),
            // Notes name two users: the member they are about and the mentor who wrote them.
            ("notes", "SELECT COUNT(*) FROM notes WHERE member_user_id = $1 OR author_user_id = $1"),
            ("note_edits", "SELECT COUNT(*) FROM note_edits WHERE member_user_id = $1 OR author_user_id = $1"),
            ("desk_sessions", "SELECT COUNT(*) FROM desk_sessions WHERE user_id = $1"),
            ("desk_links", "SELECT COUNT(*) FROM desk_links WHERE user_id = $1"),
        ];
        on_db!(&self.db, |pool| {
            let mut out = Vec::with_capacity(COUNTS.len());
            for (table, sql) in COUNTS {
                let (count,): (i64,) = sqlx::query_as(sql).bind(user_id).fetch_one(pool).await?;
                out.push((table, count));
            }
            // The search index, whichever form it has here.
            let sql = self.backend().pick(
                "SELECT COUNT(*) FROM search_fts WHERE user_id = $1",
                "SELECT COUNT(*) FROM search_docs WHERE user_id = $1",
            );
            let (count,): (i64,) = sqlx::query_as(sql).bind(user_id).fetch_one(pool).await?;
            out.push(("search index", count));
            Ok(out)
        })
    }

    /// Names of all Trellis tables (not the migrator's, nor the search
    /// index, which each database keeps in its own form and rebuilds from
    /// the rows through its triggers), sorted by byte
    /// order: SQLite's catalog, or PostgreSQL's `information_schema` for the
    /// connection's schema.
    pub async fn table_names(&self) -> Result<Vec<String>> {
        let sql = self.backend().pick(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx_%' AND name NOT LIKE 'search%'",
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             AND table_name <> '_sqlx_migrations' AND table_name NOT LIKE 'search%'",
        );
        let mut names: Vec<String> = on_db!(&self.db, |pool| sqlx::query_scalar(sql).fetch_all(pool).await?);
        names.sort_unstable();
        Ok(names)
    }
}

/// `url` as it may be shown and logged: without its password
/// (`postgres://trellis:***@db/trellis`, `…?password=***`), whatever the
/// scheme; a SQLite URL (a file path) unchanged.
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    if Backend::of_url(url) == Some(Backend::Sqlite) {
        return url.to_string();
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{user_info}@{host}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => pair.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// What a refused URL is told: the two forms Trellis accepts.
const ACCEPTED_URLS: &str =
    "expected sqlite://PATH (e.g. sqlite://data/trellis.db) or postgres://USER@HOST/DATABASE (PostgreSQL)";

/// The options of a `sqlite:` URL.
fn sqlite_options(url: &str) -> Result<SqliteConnectOptions> {
    let bad = |reason: String| StoreError::Url { url: redacted_url(url), reason };
    // sqlx reads anything without a `sqlite:` prefix as a file name, so
    // `mysql://host/db` would quietly create a folder named `mysql:`.
    if !url.starts_with("sqlite:") {
        return Err(bad(format!("not a SQLite or PostgreSQL URL; {ACCEPTED_URLS}")));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_url_has_no_password() {
        for (url, shown) in [
            ("postgres://trellis:s3cret@db.example:5432/trellis", "postgres://trellis:***@db.example:5432/trellis"),
            ("postgresql://u:p%40ss@h/d?sslmode=require", "postgresql://u:***@h/d?sslmode=require"),
            ("postgres://u@h/d?password=s3cret&sslmode=disable", "postgres://u@h/d?password=***&sslmode=disable"),
            ("postgres://h/d", "postgres://h/d"),
            ("postgres://u:p@h", "postgres://u:***@h"),
            ("mysql://root:hunter2@db/trellis", "mysql://root:***@db/trellis"),
            ("sqlite://data/trellis.db", "sqlite://data/trellis.db"),
            ("sqlite://data/a:b@c.db", "sqlite://data/a:b@c.db"),
        ] {
            assert_eq!(redacted_url(url), shown);
        }
    }
}
