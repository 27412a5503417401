//! What a failed database call was, in honest words: SQLite's "busy"
//! (another process holds the write lock) apart from the storage refusing a
//! write (full, I/O error, read-only) and from a PostgreSQL server that is
//! gone or gave up waiting; and the pool check that never lends out a
//! connection left inside a failed transaction (issue 16).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How long a statement waits for another writer before failing with "locked".
/// Below Discord's 3 s interaction deadline, so a member whose answer cannot be
/// written is told to try again instead of seeing "interaction failed".
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

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
        match kind(&e) {
            Failure::Busy => StoreError::Locked(Arc::new(e)),
            Failure::Storage => StoreError::Unwritable(Arc::new(e)),
            Failure::Unreachable => StoreError::Unavailable(Arc::new(e)),
            Failure::TimedOut => StoreError::TimedOut(Arc::new(e)),
            Failure::Other => StoreError::Sqlx(Arc::new(e)),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// A failure outside Trellis that goes away by itself (a lock released,
    /// disk space freed, the server back): the same call may work later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Locked(_) | StoreError::Unwritable(_) | StoreError::Unavailable(_) | StoreError::TimedOut(_)
        )
    }

    /// The same error again, for each caller that shares one failure.
    pub(crate) fn shared_copy(&self) -> StoreError {
        match self {
            StoreError::Locked(s) => StoreError::Locked(s.clone()),
            StoreError::Unwritable(s) => StoreError::Unwritable(s.clone()),
            StoreError::Unavailable(s) => StoreError::Unavailable(s.clone()),
            StoreError::TimedOut(s) => StoreError::TimedOut(s.clone()),
            StoreError::Sqlx(s) => StoreError::Sqlx(s.clone()),
            other => StoreError::Sqlx(Arc::new(sqlx::Error::Protocol(other.to_string()))),
        }
    }
}

/// What kind of failure a database error is, for its honest name.
pub(super) enum Failure {
    /// SQLite: another connection holds the write lock.
    Busy,
    /// The storage refused a write (full, I/O, read-only).
    Storage,
    /// The server is gone or restarting.
    Unreachable,
    /// No connection in time, or PostgreSQL gave up waiting on a lock.
    TimedOut,
    Other,
}

/// The kind of `e`: SQLite by its primary result code, PostgreSQL by its
/// SQLSTATE, the pool and the connection by sqlx's own variants.
pub(super) fn kind(e: &sqlx::Error) -> Failure {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => Failure::Unreachable,
        sqlx::Error::PoolTimedOut => Failure::TimedOut,
        sqlx::Error::Database(db) if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() => {
            let code = db.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0);
            // Primary result codes (extended codes share the low byte):
            // 5 BUSY, 6 LOCKED; 8 READONLY, 10 IOERR, 13 FULL, 14 CANTOPEN.
            match code & 0xff {
                5 | 6 => Failure::Busy,
                8 | 10 | 13 | 14 => Failure::Storage,
                _ if db.message().contains("database is locked") => Failure::Busy,
                _ => Failure::Other,
            }
        }
        sqlx::Error::Database(db) => postgres_failure(db.code().as_deref().unwrap_or("")),
        _ => Failure::Other,
    }
}

/// SQLite's SQLITE_BUSY or SQLITE_LOCKED (extended codes share the low
/// byte). Never a PostgreSQL error, whose SQLSTATE could parse as a number.
pub(super) fn is_busy(e: &sqlx::Error) -> bool {
    matches!(kind(e), Failure::Busy)
}

/// A PostgreSQL SQLSTATE's kind: class 08 (connection), 57P01–57P03
/// (shutting down, starting up); 53 (disk full, out of memory) and 25006
/// (read-only, a standby); 55P03 (`lock_timeout`) and 57014
/// (`statement_timeout`, a cancel).
fn postgres_failure(sqlstate: &str) -> Failure {
    match sqlstate {
        "57P01" | "57P02" | "57P03" => Failure::Unreachable,
        s if s.starts_with("08") => Failure::Unreachable,
        "25006" => Failure::Storage,
        s if s.starts_with("53") => Failure::Storage,
        "55P03" | "57014" => Failure::TimedOut,
        _ => Failure::Other,
    }
}

/// Whether a connection handed back to the pool may serve again: never one
/// still inside a transaction. A write that failed half-way (disk full, I/O
/// error, the server gone) drops its transaction, whose rollback SQLite runs
/// on the connection's next command; if that rollback fails too (SQLite had
/// already rolled back on its own, or cannot write), the connection would
/// stay "inside a transaction" for good and refuse every later `BEGIN`, or
/// hold the write lock and make the other connection report "locked".
/// Such a connection is closed instead (the pool opens a fresh one).
pub(super) async fn fit_for_reuse<C: sqlx::Connection>(conn: &mut C) -> std::result::Result<bool, sqlx::Error> {
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    // Lets a queued rollback run, then looks again.
    conn.ping().await?;
    if conn.is_in_transaction() {
        tracing::warn!("a database connection was left inside a failed transaction; closing it");
        return Ok(false);
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_states_are_named_for_what_they_are() {
        for (state, unreachable, storage, timed_out) in [
            ("57P01", true, false, false),  // admin shutdown (a restart)
            ("57P03", true, false, false),  // cannot connect now (starting up)
            ("08006", true, false, false),  // connection failure
            ("53100", false, true, false),  // disk full
            ("25006", false, true, false),  // read-only transaction (a standby)
            ("55P03", false, false, true),  // lock_timeout
            ("57014", false, false, true),  // statement_timeout
            ("23505", false, false, false), // unique violation: Trellis's own
        ] {
            let kind = postgres_failure(state);
            assert_eq!(matches!(kind, Failure::Unreachable), unreachable, "{state}");
            assert_eq!(matches!(kind, Failure::Storage), storage, "{state}");
            assert_eq!(matches!(kind, Failure::TimedOut), timed_out, "{state}");
        }
    }

    #[test]
    fn a_pool_timeout_is_timed_out_and_a_lost_connection_unreachable() {
        assert!(matches!(kind(&sqlx::Error::PoolTimedOut), Failure::TimedOut));
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(matches!(kind(&sqlx::Error::Io(io)), Failure::Unreachable));
        assert!(matches!(StoreError::from(sqlx::Error::PoolTimedOut), StoreError::TimedOut(_)));
    }
}
