use chrono::{DateTime, Utc};

use super::{CheckInId, CohortId, MessageId, ReplyId, Track, UserId};

/// Where a check-in is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckInStatus {
    /// In the ledger, not yet claimed for posting.
    Recorded,
    /// One scheduler has claimed it and is posting.
    Posting,
    Posted,
    /// Its time passed while the bot was down; never posted.
    Missed,
}

impl CheckInStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckInStatus::Recorded => "recorded",
            CheckInStatus::Posting => "posting",
            CheckInStatus::Posted => "posted",
            CheckInStatus::Missed => "missed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "recorded" => CheckInStatus::Recorded,
            "posting" => CheckInStatus::Posting,
            "posted" => CheckInStatus::Posted,
            "missed" => CheckInStatus::Missed,
            _ => return None,
        })
    }
}

/// One occurrence of a cohort's schedule: a weekly question, open until the
/// cohort's next occurrence.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckIn {
    pub id: CheckInId,
    pub cohort_id: CohortId,
    pub occurrence_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    /// Deterministic, ≤ 25 chars: the Discord message nonce.
    pub nonce: String,
    pub status: CheckInStatus,
    pub prompt: Option<PostedPrompt>,
    pub message_id: Option<MessageId>,
}

/// The question as it was asked (the library may change later).
#[derive(Debug, Clone, PartialEq)]
pub struct PostedPrompt {
    pub id: String,
    pub track: Track,
    pub question: String,
}

impl CheckIn {
    pub fn is_open_at(&self, t: DateTime<Utc>) -> bool {
        // `Posting` counts: members can click the post before the ledger marks it.
        matches!(self.status, CheckInStatus::Posted | CheckInStatus::Posting)
            && self.occurrence_at <= t
            && t < self.closes_at
    }
}

/// The stable identity of an occurrence, used as the message nonce.
pub fn occurrence_nonce(cohort_id: CohortId, occurrence_at: DateTime<Utc>) -> String {
    // "t" + up to 19 digits + "-" + 10-11 digits stays within Discord's 25 chars
    // for any realistic cohort id.
    format!("t{cohort_id}-{}", occurrence_at.timestamp())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplySource {
    Modal,
    Dm,
}

impl ReplySource {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplySource::Modal => "modal",
            ReplySource::Dm => "dm",
        }
    }
}

/// A member's current answer to a check-in.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub id: ReplyId,
    pub checkin_id: CheckInId,
    pub user_id: UserId,
    pub answer: String,
    pub confidence: Option<u8>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An earlier version of an edited reply.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyEdit {
    pub answer: String,
    pub confidence: Option<u8>,
    pub written_at: DateTime<Utc>,
}
