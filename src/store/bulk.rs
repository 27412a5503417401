//! Bulk loading for benches and tests, moved out of `summary.rs` so that it
//! exists only with the `test-util` feature.

use chrono::{DateTime, Utc};

use super::{Result, Store, id, ts};
use crate::domain::track::join_track_list;
use crate::domain::{ImpactInput, Pause, PostedPrompt, UserId, occurrence_nonce};

/// A posted check-in to load in bulk.
#[derive(Debug, Clone)]
pub struct BulkCheckIn {
    pub occurrence_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub prompt: PostedPrompt,
}

/// A reply to load in bulk.
#[derive(Debug, Clone)]
pub struct BulkReply {
    pub checkin_id: i64,
    pub user_id: UserId,
    pub answer: String,
    pub confidence: Option<u8>,
    pub at: DateTime<Utc>,
}

/// Many rows in one transaction each, for benchmarks and tests that need a
/// large history (500 members × two years). The bot never calls these.
impl Store {
    #[doc(hidden)]
    pub async fn bulk_members(&self, cohort_id: i64, members: &[(UserId, DateTime<Utc>)]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for (user, joined_at) in members {
            sqlx::query("INSERT INTO members (cohort_id, user_id, joined_at) VALUES (?, ?, ?)")
                .bind(cohort_id)
                .bind(id(*user))
                .bind(ts(*joined_at))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Inserts posted check-ins; returns their ids in the same order.
    #[doc(hidden)]
    pub async fn bulk_checkins(&self, cohort_id: i64, checkins: &[BulkCheckIn]) -> Result<Vec<i64>> {
        let mut tx = self.pool.begin().await?;
        let mut ids = Vec::with_capacity(checkins.len());
        for c in checkins {
            let (new_id,): (i64,) = sqlx::query_as(
                "INSERT INTO checkins (cohort_id, occurrence_at, closes_at, nonce, status, prompt_id, track, question, \
                 posted_at) VALUES (?, ?, ?, ?, 'posted', ?, ?, ?, ?) RETURNING id",
            )
            .bind(cohort_id)
            .bind(ts(c.occurrence_at))
            .bind(ts(c.closes_at))
            .bind(occurrence_nonce(cohort_id, c.occurrence_at))
            .bind(&c.prompt.id)
            .bind(c.prompt.track.as_str())
            .bind(&c.prompt.question)
            .bind(ts(c.occurrence_at))
            .fetch_one(&mut *tx)
            .await?;
            ids.push(new_id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    #[doc(hidden)]
    pub async fn bulk_replies(&self, replies: &[BulkReply]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for r in replies {
            sqlx::query(
                "INSERT INTO replies (checkin_id, user_id, answer, confidence, source, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, 'modal', ?, ?)",
            )
            .bind(r.checkin_id)
            .bind(id(r.user_id))
            .bind(&r.answer)
            .bind(r.confidence.map(i64::from))
            .bind(ts(r.at))
            .bind(ts(r.at))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    #[doc(hidden)]
    pub async fn bulk_impact(&self, cohort_id: i64, entries: &[(UserId, ImpactInput, DateTime<Utc>)]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for (user, e, at) in entries {
            sqlx::query(
                "INSERT INTO impact_entries (cohort_id, user_id, what_changed, evidence, who_benefited, link, tracks, \
                 recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(cohort_id)
            .bind(id(*user))
            .bind(&e.what_changed)
            .bind(&e.evidence)
            .bind(&e.who_benefited)
            .bind(e.link.as_deref())
            .bind(join_track_list(&e.tracks))
            .bind(ts(*at))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    #[doc(hidden)]
    pub async fn bulk_pauses(&self, cohort_id: i64, pauses: &[(UserId, Pause)]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for (user, p) in pauses {
            sqlx::query("INSERT INTO pauses (cohort_id, user_id, starts_at, ends_at) VALUES (?, ?, ?, ?)")
                .bind(cohort_id)
                .bind(id(*user))
                .bind(ts(p.starts_at))
                .bind(ts(p.ends_at))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
