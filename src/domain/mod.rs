//! The domain: plain types and validation, no I/O, no Discord.

pub mod cohort;
pub mod prompt;
pub mod reply;
pub mod track;

pub use cohort::{
    ChannelId, Cohort, CohortDraft, CohortSource, CohortSpec, FieldError, GuildId, MessageId, RoleId, UserId,
};
pub use prompt::{Prompt, PromptLibrary};
pub use reply::{AnswerInput, ImpactInput, InputError};
pub use track::Track;
pub mod checkin;
pub use checkin::{
    CheckIn, CheckInStatus, ImpactEntry, Member, Pause, PostedPrompt, Reply, ReplyEdit, ReplySource, occurrence_nonce,
};
