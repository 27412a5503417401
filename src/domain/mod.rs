//! The domain: plain types, parsing and validation. No I/O, no configuration,
//! no store, no Discord: everything here is tested directly.

pub mod checkin;
pub mod cohort;
pub mod delivery;
pub mod desk;
pub mod id;
pub mod impact;
pub mod instance;
pub mod member;
pub mod note;
pub mod path;
pub mod prompt;
pub mod reply;
pub mod schedule;
pub mod timezone;
pub mod track;
pub mod viewer;

pub use checkin::{CheckIn, CheckInStatus, PostedPrompt, Reply, ReplyEdit, ReplySource, occurrence_nonce};
pub use cohort::{Cohort, CohortDraft, CohortSource, CohortSpec, FieldError};
pub use delivery::{ChannelPermissions, ChannelProblem, DeliveryFailure, DeliveryProblems, DeliveryTarget};
pub use desk::DeskGrant;
pub use id::{
    ChannelId, CheckInId, CohortId, GuildId, ImpactId, MessageId, NoteId, PathStepId, ReplyId, RoleId, UserId,
};
pub use impact::ImpactEntry;
pub use instance::{Instance, LeaseVerdict, MAX_TOTAL_SHARDS, ShardClaim, Slot, SlotError};
pub use member::{Member, Pause};
pub use note::{Note, NoteEdit, NoteInput};
pub use path::{EvidenceInput, PathProject, PathStep, ProjectInput, StaffPath, StepEdit, StepEvidence};
pub use prompt::{Prompt, PromptError, PromptLibrary};
pub use reply::{AnswerInput, ImpactInput, InputError};
pub use schedule::{Schedule, ScheduleError};
pub use track::Track;
pub use viewer::Viewer;
