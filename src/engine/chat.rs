//! The seam between the engine and a chat platform. The Discord edge implements
//! it for real; tests use an in-memory fake.

use chrono::{DateTime, Utc};

use crate::domain::{ChannelId, MessageId, Track, UserId};
use crate::summary::digest::Digest;

/// A check-in to post in a cohort's channel.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckInPost {
    pub checkin_id: i64,
    pub cohort_name: String,
    pub channel_id: ChannelId,
    /// Deterministic per occurrence; a platform that dedupes on it makes a
    /// retried post harmless.
    pub nonce: String,
    pub track: Track,
    pub question: String,
    pub closes_at: DateTime<Utc>,
    /// IANA zone of the cohort, to show times locally.
    pub timezone: String,
}

/// A one-time nudge to a member who has not answered yet.
#[derive(Debug, Clone, PartialEq)]
pub struct ReminderDm {
    pub user_id: UserId,
    pub checkin_id: i64,
    pub cohort_name: String,
    pub question: String,
    pub closes_at: DateTime<Utc>,
}

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
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("chat platform error: {0}")]
pub struct ChatError(pub String);

#[async_trait::async_trait]
pub trait ChatEdge: Send + Sync + 'static {
    /// Post the check-in; returns the message id.
    async fn post_checkin(&self, post: &CheckInPost) -> Result<MessageId, ChatError>;
    async fn send_reminder(&self, dm: &ReminderDm) -> Result<(), ChatError>;
    /// Post a digest in the cohort's digest channel, pinging nobody.
    async fn post_digest(&self, digest: &DigestPost) -> Result<(), ChatError>;
}
