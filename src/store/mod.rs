//! The one place that speaks SQL. Every statement lives in this module, split by
//! table family; the rest of Trellis calls typed methods on [`Store`].
//!
//! # Two backends
//!
//! A `sqlite:` URL opens SQLite (the default: one file, WAL, one writer at a
//! time); a `postgres://` or `postgresql://` URL opens PostgreSQL, which
//! several `trellis run` processes may share. Each method's body is written
//! once and compiled once per backend by [`on_db!`] (whose docs say what
//! `?` inside a body does, and the one way call sites take its result):
//! every statement uses
//! numbered placeholders (`$1`, `$2`, …, which SQLite binds by number too)
//! and SQL both dialects accept (`ON CONFLICT … DO NOTHING`, `TRUE`/`FALSE`).
//! Where the dialects really differ (aggregating into JSON or a list,
//! `CROSS JOIN` as SQLite's join-order hint, how a transaction begins) the
//! statement is chosen with [`Backend::pick`] before the body; the one
//! statement only PostgreSQL runs (a row lock in `record_checkin`) is a
//! function that matches on the `Conn`. No body tests the backend. The schemas (`migrations/sqlite`,
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
//!
//! # Layout
//!
//! - `backend.rs`: the machinery under every file: [`Backend`], the pool
//!   and connection of either (`Db`, `Conn`), opening them (pool
//!   options, timeouts, the reuse check on release), [`redacted_url`], and
//!   the macros [`on_db!`] and [`on_conn!`].
//! - `mod.rs` (here): [`StoreError`], [`Store`] and what concerns the whole
//!   database (connect, migrate, backup, close, table names).
//! - `failure.rs`: what a failed call was (busy, storage, unreachable,
//!   timed out); `codec.rs`: every value's column form and the SQL
//!   spellings statements share (each row type's column list is written
//!   once beside it, over codec's `columns!`).
//! - One file per table family (`checkins.rs`, `replies.rs`, `answers.rs`,
//!   …), `summary.rs` for the reads behind the summaries, `forget.rs` for
//!   what forgetting a person deletes, `export.rs` / `transfer.rs` for the
//!   read-only connection and `migrate-to`.

// First: the macros `on_db!` and `on_conn!` defined there are visible in
// the modules declared after it (textual scope of `macro_rules!`).
#[macro_use]
mod backend;

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
mod forget;
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
use std::sync::Arc;

pub use answers::NewAnswer;
pub use backend::{Backend, redacted_url};
pub(crate) use backend::{Conn, Db};
pub use checkins::NewCheckIn;
pub use delivery::NewDeliveryFailure;
pub use desk::LinkState;
pub use notes::NewNote;
pub use search::{HitKind, MATCH_END, MATCH_START, SearchHit, SearchScope};

use backend::BUSY_TIMEOUT;

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

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

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
        Ok(Store::with_db(Db::connect(url).await?))
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
            Err(MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _)) if failure::is_busy(&e) => {
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

    /// Close every connection of the pool (waits for those in use).
    pub async fn close(&self) {
        on_db!(&self.db, |pool| pool.close().await)
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
        let mut names: Vec<String> = on_db!(&self.db, |pool| sqlx::query_scalar(sql).fetch_all(pool).await)?;
        names.sort_unstable();
        Ok(names)
    }
}
