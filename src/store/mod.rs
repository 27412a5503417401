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
//! - `mod.rs` (here): opening a [`Store`] (and starting its answer writer)
//!   and the re-exports; it defines nothing the files below use, so no
//!   file imports it back (`scripts/import-cycles.py`).
//! - `handle.rs`: [`Store`] and what concerns the whole database (migrate,
//!   backup, close, table names); `queue.rs`: the queue to the answer
//!   writer, whose task is in `answers.rs`.
//! - `failure.rs`: [`StoreError`] and what a failed call was (busy,
//!   storage, unreachable, timed out); `codec.rs`: every value's column form and the SQL
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
mod handle;
mod impact;
mod instances;
mod members;
mod mentoring;
mod notes;
mod path;
mod queue;
mod replies;
mod search;
pub mod summary;
pub mod transfer;

pub(crate) use backend::Db;
pub use backend::{Backend, redacted_url};
pub use checkins::NewCheckIn;
pub use delivery::NewDeliveryFailure;
pub use desk::LinkState;
pub use failure::{Result, StoreError};
pub use handle::Store;
pub use notes::NewNote;
pub use queue::NewAnswer;
pub use search::{HitKind, MATCH_END, MATCH_START, SearchHit, SearchScope};

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
        let answers = answers::start_writer(db.clone());
        Store { db, answers }
    }
}
