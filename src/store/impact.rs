//! The impact ledger. Every statement that reads entries returns
//! [`ImpactRow`]s, and [`ImpactEntry`] is built from one in one place.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::codec::{from_unix, snowflake, unix};
use super::failure::{Result, StoreError};
use super::handle::Store;
use crate::domain::track::{join_track_list, parse_track_list};
use crate::domain::{CohortId, ImpactEntry, ImpactId, ImpactInput, UserId};

/// The columns of an [`ImpactRow`], in its order, written once for every
/// statement that reads one.
macro_rules! impact_columns {
    ($($t:ident)?) => {
        $crate::store::codec::columns!(
            $($t:)? id, cohort_id, user_id, what_changed, evidence, who_benefited, link, tracks, recorded_at
        )
    };
}

/// A row of `impact_entries`. Also read from JSON, where a member's history
/// aggregates their entries into one column (`store/summary.rs`).
#[derive(sqlx::FromRow, Deserialize)]
pub(super) struct ImpactRow {
    id: i64,
    cohort_id: i64,
    user_id: i64,
    what_changed: String,
    evidence: String,
    who_benefited: String,
    link: Option<String>,
    /// Comma-separated track names.
    tracks: String,
    recorded_at: i64,
}

impl TryFrom<ImpactRow> for ImpactEntry {
    type Error = StoreError;

    fn try_from(r: ImpactRow) -> Result<Self> {
        Ok(ImpactEntry {
            id: ImpactId::new(r.id),
            cohort_id: CohortId::new(r.cohort_id),
            user_id: UserId::new(snowflake(r.user_id)),
            what_changed: r.what_changed,
            evidence: r.evidence,
            who_benefited: r.who_benefited,
            link: r.link,
            tracks: parse_track_list(&r.tracks).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            recorded_at: from_unix(r.recorded_at)?,
        })
    }
}

impl Store {
    /// Add a measurable win to a member's ledger. Returns after commit.
    pub async fn insert_impact(
        &self,
        cohort_id: CohortId,
        user_id: UserId,
        input: &ImpactInput,
        now: DateTime<Utc>,
    ) -> Result<ImpactEntry> {
        let row: ImpactRow = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "INSERT INTO impact_entries (cohort_id, user_id, what_changed, evidence, who_benefited, link, tracks, \
             recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             RETURNING ",
            impact_columns!()
        ))
        .bind(cohort_id)
        .bind(user_id)
        .bind(&input.what_changed)
        .bind(&input.evidence)
        .bind(&input.who_benefited)
        .bind(input.link.as_deref())
        .bind(join_track_list(&input.tracks))
        .bind(unix(now))
        .fetch_one(pool)
        .await)?;
        ImpactEntry::try_from(row)
    }

    /// A member's impact ledger in one cohort, newest first, at most `limit` entries.
    #[cfg(any(test, feature = "test-util"))]
    pub async fn impact_of_member(&self, cohort_id: CohortId, user_id: UserId, limit: u32) -> Result<Vec<ImpactEntry>> {
        let rows: Vec<ImpactRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            impact_columns!(),
            " FROM impact_entries WHERE cohort_id = $1 AND user_id = $2 \
             ORDER BY recorded_at DESC, id DESC LIMIT $3"
        ))
        .bind(cohort_id)
        .bind(user_id)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(ImpactEntry::try_from).collect()
    }

    /// Every impact entry of a cohort, oldest first.
    pub async fn impact_of_cohort(&self, cohort_id: CohortId) -> Result<Vec<ImpactEntry>> {
        let rows: Vec<ImpactRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            impact_columns!(),
            " FROM impact_entries WHERE cohort_id = $1 ORDER BY recorded_at, id"
        ))
        .bind(cohort_id)
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(ImpactEntry::try_from).collect()
    }
}
