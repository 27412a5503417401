//! The impact ledger: measurable wins a member records with `/impact`.

use chrono::{DateTime, Utc};

use super::{CohortId, ImpactId, Track, UserId};

/// A measurable win in a member's impact ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct ImpactEntry {
    pub id: ImpactId,
    pub cohort_id: CohortId,
    pub user_id: UserId,
    pub what_changed: String,
    pub evidence: String,
    pub who_benefited: String,
    pub link: Option<String>,
    pub tracks: Vec<Track>,
    pub recorded_at: DateTime<Utc>,
}
