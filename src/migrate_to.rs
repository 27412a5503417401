//! `trellis migrate-to postgres://…`: move a Trellis from its SQLite
//! database (the configured `DATABASE_URL`) into an empty PostgreSQL
//! database.
//!
//! The SQLite database is opened read-only and left as it was; the copy
//! is refused while a `trellis run` holds it (a live instance lease: stop
//! the bot first, so that no answer arrives after the copy was taken). The
//! target is migrated, checked to be empty, and filled in one transaction
//! that verifies every table's row count before it commits (see
//! [`crate::store::transfer`]). Afterwards, point `DATABASE_URL` at the
//! PostgreSQL database.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::domain::Instance;
use crate::instance::{LEASE, ThisProcess};
use crate::store::transfer::TransferError;
use crate::store::{Backend, Store, StoreError, redacted_url};

/// Why `migrate-to` did not copy. Every URL shown is without its password.
#[derive(Debug, thiserror::Error)]
pub enum MigrateToError {
    #[error(
        "migrate-to copies the SQLite database named by DATABASE_URL (or [database] url), \
         but that is {0}; set it to the sqlite:// database to copy"
    )]
    SourceNotSqlite(String),
    #[error("`{0}` is not a PostgreSQL URL; expected postgres://USER@HOST/DATABASE (or postgresql://…)")]
    TargetNotPostgres(String),
    #[error(
        "a trellis run is using {database} ({slot} on host {}, pid {}, last heartbeat {}); \
         stop it before copying, so that nothing is written after the copy (a crashed run's lease \
         expires {}s after its last heartbeat)",
        .holder.host,
        .holder.pid,
        .holder.heartbeat_at.format("%Y-%m-%d %H:%M:%S UTC"),
        LEASE.as_secs()
    )]
    Running { database: String, slot: String, holder: Instance },
    #[error("opening the SQLite database {url}")]
    Source {
        url: String,
        #[source]
        source: StoreError,
    },
    #[error("preparing the PostgreSQL database {url}")]
    Target {
        url: String,
        #[source]
        source: StoreError,
    },
    #[error("copying into {url}")]
    Copy {
        url: String,
        #[source]
        source: TransferError,
    },
}

/// Copy the SQLite database at `sqlite_url` into the PostgreSQL database at
/// `postgres_url`; returns the rows copied per table, foreign-key order.
///
/// # Errors
/// [`MigrateToError`]: a source that is not SQLite, a target that is not
/// PostgreSQL, a running bot on the source, either database unusable, or
/// a refused or failed copy (then the target is left as it was, apart
/// from its migrations).
pub async fn run(
    sqlite_url: &str,
    postgres_url: &str,
    now: DateTime<Utc>,
) -> Result<Vec<(&'static str, u64)>, MigrateToError> {
    if Backend::of_url(sqlite_url) != Some(Backend::Sqlite) {
        return Err(MigrateToError::SourceNotSqlite(redacted_url(sqlite_url)));
    }
    if Backend::of_url(postgres_url) != Some(Backend::Postgres) {
        return Err(MigrateToError::TargetNotPostgres(redacted_url(postgres_url)));
    }
    let target_shown = redacted_url(postgres_url);
    let source_err = |source| MigrateToError::Source { url: sqlite_url.to_string(), source };
    let source = Store::open_read_only(sqlite_url).await.map_err(source_err)?;
    let result = copy(&source, sqlite_url, postgres_url, &target_shown, now).await;
    source.close().await;
    result
}

async fn copy(
    source: &Store,
    sqlite_url: &str,
    postgres_url: &str,
    target_shown: &str,
    now: DateTime<Utc>,
) -> Result<Vec<(&'static str, u64)>, MigrateToError> {
    refuse_if_running(source, sqlite_url, now).await?;
    let target_err = |source| MigrateToError::Target { url: target_shown.to_string(), source };
    let target = Store::connect(postgres_url).await.map_err(target_err)?;
    let copied = match target.migrate().await {
        Ok(()) => source
            .copy_to(&target)
            .await
            .map_err(|source| MigrateToError::Copy { url: target_shown.to_string(), source }),
        Err(e) => Err(target_err(e)),
    };
    target.close().await;
    copied
}

/// A live lease on the source: a `trellis run` that may still write.
async fn refuse_if_running(source: &Store, sqlite_url: &str, now: DateTime<Utc>) -> Result<(), MigrateToError> {
    let source_err = |source| MigrateToError::Source { url: sqlite_url.to_string(), source };
    let lease = chrono::Duration::from_std(LEASE).unwrap_or(chrono::Duration::MAX);
    let here = ThisProcess::detect();
    for (slot, holder) in source.all_instances().await.map_err(source_err)? {
        if !holder.is_stale(now, lease) && !here.outlived(&holder) {
            return Err(MigrateToError::Running { database: sqlite_url.to_string(), slot, holder });
        }
    }
    Ok(())
}

/// What `migrate-to` prints: the rows copied per table, the total, and what to do next.
pub fn report(target_url: &str, copied: &[(&str, u64)]) -> String {
    let total: u64 = copied.iter().map(|(_, n)| n).sum();
    let mut out = format!("copied into {} (row counts verified before commit):\n", redacted_url(target_url));
    for (table, n) in copied {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "  {table:<18} {n}");
    }
    let _ = writeln!(out, "  {:<18} {total}", "total");
    let _ = writeln!(out, "next: set DATABASE_URL to the PostgreSQL URL and start trellis run");
    out
}
