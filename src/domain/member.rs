//! Membership of a cohort, and pauses (vacation, leave).

use chrono::{DateTime, Utc};

use super::{CohortId, UserId};

/// A member of a cohort: joined at `joined_at`, gone since `left_at` if set.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub cohort_id: CohortId,
    pub user_id: UserId,
    pub joined_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
}

/// A pause covers `[starts_at, ends_at)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pause {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}
