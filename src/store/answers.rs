//! Saving answers: one transaction per answer, many answers per commit.
//!
//! An answer is two statements (the member joins or re-joins the cohort,
//! the reply is upserted) that commit together or not at all. With
//! `synchronous=FULL` every commit is an fsync of the WAL, and under a burst
//! (a check-in posted, a hundred members answering within seconds) those
//! commits queue behind one another. So one writer task owns the write path
//! for answers: it takes every answer waiting in its queue, runs each inside
//! its own `SAVEPOINT` (a bad answer is rolled back alone and reported to its
//! caller alone), commits them all at once, and only after that commit
//! returned answers each caller. A confirmation therefore still means "on
//! disk"; only the number of fsyncs changes. PostgreSQL runs the same
//! writer: one commit (one WAL flush) for a burst, per process.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

use super::backend::{Conn, Db};
use super::failure::Result;
use super::handle::Store;
use super::members::join_on;
use super::queue::{AnswerWriter, Job, NewAnswer};
use super::replies::{release_dm_on, upsert_reply_on};
use crate::domain::Reply;

/// Most answers committed together. A burst larger than this is committed
/// in several transactions, one after the other; the bound keeps the time
/// the write lock is held (and the wait of the first answer of a batch)
/// short.
const MAX_BATCH: usize = 256;

impl Store {
    /// Join the member to the answer's cohort (re-join if they had left) and
    /// store or replace their reply, in one transaction. Returns after that
    /// transaction committed; answers arriving at the same moment share the
    /// commit (module docs).
    ///
    /// # Errors
    /// [`StoreError::Locked`] when another process holds the database past
    /// the busy timeout, [`StoreError::Unwritable`] when the storage refuses
    /// the write, [`StoreError::TimedOut`] or [`StoreError::Unavailable`]
    /// when no connection comes in time (nothing saved in each case), or
    /// the statement's own failure.
    pub async fn save_answer(&self, answer: NewAnswer) -> Result<Reply> {
        self.answers.save(answer).await
    }

    /// Transactions the answer writer has committed so far (each holding
    /// one or more answers), for tests of group commit.
    #[cfg(any(test, feature = "test-util"))]
    pub fn answer_commits(&self) -> u64 {
        self.answers.commits().load(Ordering::Relaxed)
    }
}

/// Starts the answer writer of a store on the current tokio runtime.
pub(super) fn start_writer(db: Db) -> AnswerWriter {
    AnswerWriter::start(db, spawn_writer)
}

fn spawn_writer(db: Db, commits: Arc<AtomicU64>) -> mpsc::UnboundedSender<Job> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(run(db, rx, commits));
    tx
}

/// Until every [`AnswerWriter`] is dropped: take what is queued, commit it
/// together, answer each caller.
async fn run(db: Db, mut queue: mpsc::UnboundedReceiver<Job>, commits: Arc<AtomicU64>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // A caller that stopped waiting (its interaction's deadline passed)
        // has already told its member to submit again: don't save behind
        // their back what nobody will confirm.
        batch.retain(|job| !job.done.is_closed());
        if batch.is_empty() {
            continue;
        }
        let answers: Vec<&NewAnswer> = batch.iter().map(|job| &job.answer).collect();
        match commit(&db, &answers).await {
            Ok(results) => {
                commits.fetch_add(1, Ordering::Relaxed);
                for (job, result) in batch.drain(..).zip(results) {
                    let _ = job.done.send(result);
                }
            }
            Err(e) => {
                let transient = e.is_transient();
                for job in batch.drain(..) {
                    let _ = job.done.send(Err(e.shared_copy()));
                }
                // Those queued meanwhile have waited out most of the busy
                // timeout (or the pool's) already; a second full wait would
                // pass Discord's 3 s deadline, and a full disk is still full:
                // they hear "try again" now.
                if transient {
                    while let Ok(job) = queue.try_recv() {
                        let _ = job.done.send(Err(e.shared_copy()));
                    }
                }
            }
        }
    }
}

/// One transaction for `answers`, each in its own savepoint. `Ok` holds each
/// answer's own outcome (in order), valid only because the commit returned;
/// `Err` means nothing was saved.
async fn commit(db: &Db, answers: &[&NewAnswer]) -> Result<Vec<Result<Reply>>> {
    on_db!(db, |pool| {
        // SQLite: IMMEDIATE takes the write lock now (waiting up to the busy
        // timeout) rather than fail half-way when a read turns into a write.
        let mut tx = pool.begin_with(db.backend().write_tx()).await?;
        let mut results = Vec::with_capacity(answers.len());
        for answer in answers {
            sqlx::query("SAVEPOINT answer").execute(&mut *tx).await?;
            let saved = save_on(Conn::from(&mut *tx), answer).await;
            if saved.is_err() {
                // PostgreSQL refuses every statement after a failed one until this.
                sqlx::query("ROLLBACK TO SAVEPOINT answer").execute(&mut *tx).await?;
            }
            sqlx::query("RELEASE SAVEPOINT answer").execute(&mut *tx).await?;
            results.push(saved);
        }
        tx.commit().await?;
        Ok(results)
    })
}

async fn save_on(mut conn: Conn<'_>, a: &NewAnswer) -> Result<Reply> {
    if let Some(dm) = a.dm_message_id {
        release_dm_on(conn.reborrow(), a.checkin_id, a.user_id, dm).await?;
    }
    join_on(conn.reborrow(), a.cohort_id, a.user_id, a.now).await?;
    upsert_reply_on(conn, a.checkin_id, a.user_id, &a.input, a.source, a.dm_message_id, a.now).await
}
