//! The seam between the engine and a chat platform. The Discord edge implements
//! it for real; tests use an in-memory fake.

use chrono::{DateTime, Utc};

use crate::domain::prompt::ImpactHints;
use crate::domain::{ChannelId, CheckInId, DeliveryProblems, GuildId, MessageId, Track, UserId};
use crate::summary::digest::Digest;

/// A check-in to post in a cohort's channel.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckInPost {
    pub checkin_id: CheckInId,
    pub cohort_name: String,
    pub channel_id: ChannelId,
    /// Deterministic per occurrence; a platform that dedupes on it makes a
    /// retried post harmless.
    pub nonce: String,
    pub track: Track,
    pub question: String,
    /// An impact prompt's guiding questions, shown under it.
    pub hints: Option<ImpactHints>,
    pub closes_at: DateTime<Utc>,
    /// The cohort's zone, to show times locally.
    pub timezone: chrono_tz::Tz,
}

/// A one-time nudge to a member who has not answered yet.
#[derive(Debug, Clone, PartialEq)]
pub struct ReminderDm {
    pub user_id: UserId,
    pub checkin_id: CheckInId,
    pub cohort_name: String,
    pub question: String,
    pub closes_at: DateTime<Utc>,
    /// The member's DM channel with the bot when one is remembered: the
    /// reminder goes straight there (one request). `None`: the edge opens
    /// one first.
    pub dm_channel: Option<ChannelId>,
}

/// Discord's JSON error code for a channel it does not know (any more): a
/// remembered DM channel that answers it is forgotten and opened again.
pub const UNKNOWN_CHANNEL: u32 = 10003;

/// The mentors' digest of a closed check-in, for the cohort's digest channel.
/// It carries counts and member ids, never answer text.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestPost {
    pub cohort_name: String,
    /// The cohort's digest channel (mentors only).
    pub channel_id: ChannelId,
    /// Deterministic per check-in and distinct from the check-in's own nonce,
    /// so a send retried after a lost response is dropped by the platform.
    pub nonce: String,
    pub digest: Digest,
    /// What Discord refuses for this cohort (its channel, members' DMs,
    /// members who left), for the mentors who can fix it.
    pub delivery: DeliveryProblems,
}

/// A DM that answers a member's own DM (the "saved" confirmation, or why
/// nothing was saved). It echoes nothing anyone else wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectMessage {
    pub user_id: UserId,
    /// The DM channel the member wrote in, when known: no channel needs to be opened.
    pub channel_id: Option<ChannelId>,
    pub text: String,
}

/// A mentor's note, sent to the member whose answer it is about.
#[derive(Debug, Clone, PartialEq)]
pub struct NoteDm {
    pub user_id: UserId,
    pub cohort_name: String,
    /// The mentor's name on the server.
    pub mentor_name: String,
    /// The question the member answered.
    pub question: String,
    /// When the member answered.
    pub answered_at: DateTime<Utc>,
    /// The note, as the mentor wrote it (≤ 2000 characters).
    pub text: String,
    /// The mentor changed a note the member already had.
    pub edited: bool,
}

/// Whether retrying the same request to the same target can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permanence {
    /// The platform refused for good for this target (a member who cannot
    /// receive DMs, a deleted channel, missing access): retrying the same
    /// request fails the same way until someone changes something.
    Permanent,
    /// Outages, timeouts, connection errors, rate limits: worth retrying later.
    Temporary,
}

/// A chat call that failed, with its cause kept for the log.
#[derive(Debug, thiserror::Error)]
#[error("chat platform call failed ({permanence:?}{})", .code.map(|c| format!(", code {c}")).unwrap_or_default())]
pub struct ChatError {
    pub permanence: Permanence,
    /// The platform's own error code, when it sent one (Discord's JSON `code`,
    /// e.g. 50007 "Cannot send messages to this user").
    pub code: Option<u32>,
    /// The platform's own words for the refusal, when it sent some
    /// (Discord's JSON `message`, e.g. "Missing Access").
    pub message: Option<String>,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl ChatError {
    /// A failure classified by the edge that saw it.
    pub fn new(
        permanence: Permanence,
        code: Option<u32>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        ChatError { permanence, code, message: None, source: source.into() }
    }

    /// The same, with the platform's own words for it.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into()).filter(|m: &String| !m.is_empty());
        self
    }

    /// Why, for the log and for the people who can fix it: the platform's
    /// words when it sent some, else the error chain.
    pub fn reason(&self) -> String {
        match &self.message {
            Some(m) => m.clone(),
            None => crate::telemetry::ErrorChain(self).to_string(),
        }
    }

    /// A failure worth retrying later.
    pub fn temporary(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::new(Permanence::Temporary, None, source)
    }

    /// A refusal that retrying cannot change.
    pub fn permanent(code: Option<u32>, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::new(Permanence::Permanent, code, source)
    }

    pub fn is_permanent(&self) -> bool {
        self.permanence == Permanence::Permanent
    }
}

#[async_trait::async_trait]
pub trait ChatEdge: Send + Sync + 'static {
    /// Post the check-in; returns the message id.
    async fn post_checkin(&self, post: &CheckInPost) -> Result<MessageId, ChatError>;
    /// Send a reminder DM, into `dm.dm_channel` when it is set, else into a
    /// DM channel opened for it. Returns the channel it went to, for the
    /// engine to remember.
    async fn send_reminder(&self, dm: &ReminderDm) -> Result<ChannelId, ChatError>;
    /// Post a digest in the cohort's digest channel, pinging nobody.
    async fn post_digest(&self, digest: &DigestPost) -> Result<(), ChatError>;
    /// Send a DM that answers a member's DM, pinging nobody.
    async fn send_dm(&self, dm: &DirectMessage) -> Result<(), ChatError>;
    /// Whether `user_id` is (still) a member of `guild_id`: `Ok(false)` only
    /// when the platform says they are not (Discord: 404, code 10007
    /// Unknown Member); any other failure is an error.
    async fn member_in_guild(&self, guild_id: GuildId, user_id: UserId) -> Result<bool, ChatError>;
    /// DM a mentor's note to the member it is about, pinging nobody.
    async fn send_note(&self, dm: &NoteDm) -> Result<(), ChatError>;
    /// Open (or find) `user_id`'s DM channel without sending anything, at
    /// low priority: ahead of their first reminder. An edge that cannot
    /// says so, and the reminder opens the channel itself.
    async fn open_dm_channel(&self, user_id: UserId) -> Result<ChannelId, ChatError> {
        let _ = user_id;
        Err(ChatError::temporary("this chat edge does not open DM channels ahead"))
    }
    /// Whether `role_id` still exists in `guild_id` (a deleted mentor role
    /// is shown to mentors and admins). An edge that cannot tell says yes.
    async fn role_exists(&self, guild_id: GuildId, role_id: crate::domain::RoleId) -> Result<bool, ChatError> {
        let _ = (guild_id, role_id);
        Ok(true)
    }
}
