//! The check-in engine: every rule of Trellis that is not a pure calculation.
//! Cohorts, membership, answers, the impact ledger, who may see what, the
//! mentoring loop (mentors' notes, the Staff path: `engine/mentoring`), and the
//! scheduler. Plain Rust over the store; talks to chat only through
//! [`ChatEdge`], and knows people only as a [`Viewer`](crate::domain::Viewer).

mod access;
mod answers;
pub mod chat;
pub mod clock;
mod cohorts;
mod delivery;
pub mod desk;
mod dm_warmup;
mod dms;
mod guilds;
mod members;
mod mentoring;
mod retry;
mod scheduler;

use std::sync::Arc;

use tokio::sync::Notify;

pub use access::{AnswerForm, SavedAnswer};
pub use chat::{ChatEdge, ChatError, CheckInPost, DigestPost, DirectMessage, NoteDm, Permanence, ReminderDm};
#[cfg(any(test, feature = "test-util"))]
pub use clock::ManualClock;
pub use clock::{Clock, SystemClock};
pub use delivery::DmRetry;
pub use dms::{DmAnswer, DmChoice, DmEdit};
pub use guilds::ShardOf;
pub use mentoring::{
    AnswersView, MemberAnswers, NoteDelivery, NoteForm, NotedAnswer, PathForm, SavedNote, SavedProject, SavedStep,
    WeekAnswers,
};
pub use retry::RetryPolicy;
pub use scheduler::TickReport;

use crate::domain::{FieldError, InputError, PromptLibrary};
use crate::store::{Store, StoreError};

/// Longest pause `/pause` grants, in weeks.
pub const MAX_PAUSE_WEEKS: u32 = 12;

/// Errors the engine reports. [`EngineError::is_user_error`] says, in one
/// exhaustive match, which are the user's to fix (their message says how)
/// and which are internal failures (logged, never shown).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{0}")]
    Field(FieldError),
    #[error("This channel is not a cohort's channel. Run the command in your cohort's channel.")]
    NotACohortChannel,
    #[error("You belong to several cohorts on this server. Run the command in the channel of the cohort you mean.")]
    AmbiguousCohort,
    /// Not a member of a cohort here (the edge says how to join one).
    #[error("You are not a member of a cohort here.")]
    NotAMember,
    #[error("There is no open check-in for this cohort right now. The next one is posted at its scheduled time.")]
    NoOpenCheckIn,
    #[error("This check-in closed when the next one was posted; answers to it can no longer be changed.")]
    CheckInClosed,
    #[error("That check-in does not exist here.")]
    UnknownCheckIn,
    /// A check-in, cohort or form of a cohort that was removed, or of a
    /// server the bot was removed from: nothing is accepted for it any more.
    #[error("This cohort was removed and takes no more answers; nothing was saved.")]
    CohortGone,
    #[error("Cohort `{0}` is declared in the config file; change it there (the file wins over edits made in Discord).")]
    FileManaged(String),
    #[error("Pause for 1 to {MAX_PAUSE_WEEKS} weeks.")]
    PauseWeeks,
    #[error("You are not paused.")]
    NotPaused,
    #[error("A cohort named `{0}` already exists in another channel; pick another name.")]
    NameTaken(String),
    /// A cohort of the config file names a channel another cohort holds
    /// (the edge says how that one is removed).
    #[error(
        "cohort `{cohort}`: channel {channel_id} already belongs to cohort `{owner}`; give `{cohort}` its own channel, or remove `{owner}`"
    )]
    ChannelTaken { cohort: String, channel_id: crate::domain::ChannelId, owner: String },
    #[error("Only members with the Manage Server permission can {action}.")]
    NeedsManageServer { action: &'static str },
    #[error("Only this member's mentors can see their progress.")]
    NotTheirMentor,
    #[error("They are not a member of this cohort.")]
    MemberNotInCohort,
    #[error("Only this cohort's mentors can see its status.")]
    NotThisCohortsMentor,
    #[error("Only a cohort's mentors can see its status.")]
    NotAMentor,
    #[error("You mentor several cohorts here; run this in the cohort's channel.")]
    SeveralCohortsMentored,
    /// Setting a cohort up in a channel where the bot cannot post check-ins:
    /// `missing` names the permissions (the edge says how to grant them).
    #[error("Trellis can't post check-ins in this channel: it lacks {}.", .missing.join(", "))]
    BotCannotPost { missing: Vec<&'static str> },
    #[error("Only this cohort's mentors can read its answers and write notes on them.")]
    AnswersMentorsOnly,
    #[error("Only a cohort's mentors can read its answers, and you mentor no cohort on this server.")]
    NoCohortMentored,
    #[error("That answer does not exist here; it may have been deleted.")]
    UnknownAnswer,
    #[error("This cohort has had no check-in yet; its answers appear here once the first one is posted.")]
    NoCheckInPosted,
    #[error(
        "There is no check-in {week} back: this cohort has had {posted} so far (0 is the latest, 1 the one before)."
    )]
    NoSuchWeek { week: u32, posted: usize },
    #[error("Only this member's mentors can see their Staff path.")]
    NotTheirMentorPath,
    /// The desk has nothing for this person in this server: they neither
    /// belong to nor mentor an active cohort here.
    #[error(
        "The desk shows the records of a cohort's members and mentors, and you are neither in this server's cohorts."
    )]
    NothingOnDesk,
    /// A desk page of something the session may not see, or that does not
    /// exist (the two are not told apart, so nothing is revealed).
    #[error("There is nothing here for you: it does not exist, or it is not yours to see.")]
    NotOnDesk,
    /// The OS gave no randomness for a link token or a session id.
    #[error("no randomness from the operating system: {0}")]
    NoRandomness(String),
    /// The database failed or holds something unreadable.
    #[error("storage failed")]
    Store(#[source] StoreError),
    /// Discord (or another chat platform) failed.
    #[error("chat platform failed")]
    Chat(#[from] ChatError),
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NameTaken { name } => EngineError::NameTaken(name),
            e => EngineError::Store(e),
        }
    }
}

impl EngineError {
    /// True when the message is for the user; false for internal failures,
    /// whose text is for the log only. Exhaustive on purpose: a new variant
    /// must be placed on one side or the other.
    pub fn is_user_error(&self) -> bool {
        match self {
            EngineError::Input(_)
            | EngineError::Field(_)
            | EngineError::NotACohortChannel
            | EngineError::AmbiguousCohort
            | EngineError::NotAMember
            | EngineError::NoOpenCheckIn
            | EngineError::CheckInClosed
            | EngineError::UnknownCheckIn
            | EngineError::CohortGone
            | EngineError::FileManaged(_)
            | EngineError::PauseWeeks
            | EngineError::NotPaused
            | EngineError::NameTaken(_)
            | EngineError::ChannelTaken { .. }
            | EngineError::NeedsManageServer { .. }
            | EngineError::NotTheirMentor
            | EngineError::MemberNotInCohort
            | EngineError::NotThisCohortsMentor
            | EngineError::NotAMentor
            | EngineError::SeveralCohortsMentored
            | EngineError::BotCannotPost { .. }
            | EngineError::AnswersMentorsOnly
            | EngineError::NoCohortMentored
            | EngineError::UnknownAnswer
            | EngineError::NoCheckInPosted
            | EngineError::NoSuchWeek { .. }
            | EngineError::NotTheirMentorPath
            | EngineError::NothingOnDesk
            | EngineError::NotOnDesk => true,
            EngineError::Store(_) | EngineError::Chat(_) | EngineError::NoRandomness(_) => false,
        }
    }

    /// Another process holds the database past the busy timeout: worth
    /// trying again in a moment.
    pub fn is_busy(&self) -> bool {
        matches!(self, EngineError::Store(StoreError::Locked(_)))
    }

    /// No connection, or (PostgreSQL) no row lock, came within the
    /// deadline: the database is busy or restarting.
    pub fn is_timed_out(&self) -> bool {
        matches!(self, EngineError::Store(StoreError::TimedOut(_)))
    }

    /// The storage cannot be written now (disk full, I/O error, read-only):
    /// nothing was saved; trying again works once an operator made room.
    pub fn is_unwritable(&self) -> bool {
        matches!(self, EngineError::Store(StoreError::Unwritable(_)))
    }

    /// The database server is restarting or unreachable.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, EngineError::Store(StoreError::Unavailable(_)))
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// Everything the bot does, over one store, one prompt library, one clock and
/// one chat edge. Shared behind an `Arc` by the Discord edge and the scheduler.
pub struct Engine {
    store: Store,
    prompts: Arc<PromptLibrary>,
    clock: Arc<dyn Clock>,
    chat: Arc<dyn ChatEdge>,
    /// Wakes the scheduler when cohorts change, so it re-plans at once.
    replan: Notify,
    /// Sends that failed for now, and when each may be tried again.
    retries: std::sync::Mutex<retry::Retries>,
    /// One DM channel opened ahead at a time (`dm_warmup.rs`).
    warmup: Arc<tokio::sync::Semaphore>,
}

impl Engine {
    pub fn new(store: Store, prompts: PromptLibrary, clock: Arc<dyn Clock>, chat: Arc<dyn ChatEdge>) -> Self {
        let warmup = Arc::new(tokio::sync::Semaphore::new(1));
        Engine {
            store,
            prompts: Arc::new(prompts),
            clock,
            chat,
            replan: Notify::new(),
            retries: Default::default(),
            warmup,
        }
    }

    /// Retry faster (or slower) than [`RetryPolicy::default`]: for tests
    /// that watch back-off over the wire in seconds rather than minutes.
    #[cfg(any(test, feature = "test-util"))]
    pub fn set_retry_policy(&self, policy: RetryPolicy) {
        self.retries().set_policy(policy);
    }

    /// The retry book; never held across an await.
    fn retries(&self) -> std::sync::MutexGuard<'_, retry::Retries> {
        // A panic while it was held cannot leave it half-written: each
        // method changes one map entry.
        self.retries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The store, for tests and benches that seed or inspect rows. Not in a
    /// release build: the Discord edge reaches data only through the engine's
    /// methods, which hold the rules.
    #[cfg(any(test, feature = "test-util"))]
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn prompts(&self) -> &PromptLibrary {
        &self.prompts
    }

    /// The engine's clock (UTC): what "now" means for every rule.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}
