//! The queue to the answer writer: what a store holds to save answers (its
//! task, which commits them together, is in `answers.rs`).

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};

use super::backend::Db;
use super::failure::{Result, StoreError};
use crate::domain::{AnswerInput, CheckInId, CohortId, MessageId, Reply, ReplySource, UserId};

/// Starts a writer task over a database and its commit counter; returns
/// its queue.
pub(super) type Spawn = fn(Db, Arc<AtomicU64>) -> mpsc::UnboundedSender<Job>;

/// A validated answer to save.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAnswer {
    /// The check-in's cohort: the member joins it (again) with this answer.
    pub cohort_id: CohortId,
    pub checkin_id: CheckInId,
    pub user_id: UserId,
    pub input: AnswerInput,
    pub source: ReplySource,
    /// The DM this answer was sent as, which then holds it (an edit of that
    /// DM edits the answer); `None` for the form, which no DM holds.
    pub dm_message_id: Option<MessageId>,
    pub now: DateTime<Utc>,
}

/// One caller waiting for its answer's commit.
pub(super) struct Job {
    pub(super) answer: NewAnswer,
    pub(super) done: oneshot::Sender<Result<Reply>>,
}

/// The queue to the writer task. Cheap to clone.
#[derive(Clone)]
pub(super) struct AnswerWriter {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    /// Starts a writer task (`answers.rs`); again when the first one's
    /// runtime has gone.
    spawn: Spawn,
    queue: Mutex<mpsc::UnboundedSender<Job>>,
    /// Committed transactions, shared with every writer task of this store.
    commits: Arc<AtomicU64>,
}

impl std::fmt::Debug for AnswerWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswerWriter").finish_non_exhaustive()
    }
}

impl AnswerWriter {
    /// Starts the writer task on the current tokio runtime with `spawn`.
    pub(super) fn start(db: Db, spawn: Spawn) -> Self {
        let commits = Arc::new(AtomicU64::new(0));
        let queue = Mutex::new(spawn(db.clone(), commits.clone()));
        AnswerWriter { inner: Arc::new(Inner { db, spawn, queue, commits }) }
    }

    /// Transactions committed so far by this store's writer tasks.
    #[cfg(any(test, feature = "test-util"))]
    pub(super) fn commits(&self) -> &AtomicU64 {
        &self.inner.commits
    }

    /// Queue `answer` and wait for its commit.
    pub(super) async fn save(&self, answer: NewAnswer) -> Result<Reply> {
        let (done, committed) = oneshot::channel();
        {
            let mut queue = self.inner.queue.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(mpsc::error::SendError(job)) = queue.send(Job { answer, done }) {
                // The writer's runtime has shut down (a store opened in one
                // runtime and used in another, as tests do): start a new one here.
                *queue = (self.inner.spawn)(self.inner.db.clone(), self.inner.commits.clone());
                if queue.send(job).is_err() {
                    return Err(gone());
                }
            }
        }
        committed.await.unwrap_or_else(|_| Err(gone()))
    }
}

/// The writer task died (panicked, or its runtime stopped) before answering.
pub(super) fn gone() -> StoreError {
    StoreError::Sqlx(Arc::new(sqlx::Error::WorkerCrashed))
}
