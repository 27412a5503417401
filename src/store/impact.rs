use chrono::{DateTime, Utc};

use super::{Result, Store, StoreError, id, time, ts, uid};
use crate::domain::track::{join_track_list, parse_track_list};
use crate::domain::{ImpactEntry, ImpactInput};

type ImpactRow = (i64, i64, i64, String, String, String, Option<String>, String, i64);

fn entry(r: ImpactRow) -> Result<ImpactEntry> {
    Ok(ImpactEntry {
        id: r.0,
        cohort_id: r.1,
        user_id: uid(r.2),
        what_changed: r.3,
        evidence: r.4,
        who_benefited: r.5,
        link: r.6,
        tracks: parse_track_list(&r.7).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        recorded_at: time(r.8),
    })
}

const COLUMNS: &str = "id, cohort_id, user_id, what_changed, evidence, who_benefited, link, tracks, recorded_at";

impl Store {
    pub async fn insert_impact(
        &self,
        cohort_id: i64,
        user_id: u64,
        input: &ImpactInput,
        now: DateTime<Utc>,
    ) -> Result<ImpactEntry> {
        let sql = format!(
            "INSERT INTO impact_entries (cohort_id, user_id, what_changed, evidence, who_benefited, link, tracks, \
             recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING {COLUMNS}"
        );
        let row: ImpactRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(cohort_id)
            .bind(id(user_id))
            .bind(&input.what_changed)
            .bind(&input.evidence)
            .bind(&input.who_benefited)
            .bind(input.link.as_deref())
            .bind(join_track_list(&input.tracks))
            .bind(ts(now))
            .fetch_one(&self.pool)
            .await?;
        entry(row)
    }

    /// A member's impact ledger in one cohort, newest first, at most `limit` entries.
    #[cfg(any(test, feature = "test-util"))]
    pub async fn impact_of_member(&self, cohort_id: i64, user_id: u64, limit: u32) -> Result<Vec<ImpactEntry>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM impact_entries WHERE cohort_id = ? AND user_id = ? \
             ORDER BY recorded_at DESC, id DESC LIMIT ?"
        );
        let rows: Vec<ImpactRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(cohort_id)
            .bind(id(user_id))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(entry).collect()
    }
}
