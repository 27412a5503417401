//! The mentors' digest: which check-ins are due one, and the exactly-once
//! claim. Its figures come from `cohort_activity` (no answer text).

use chrono::{DateTime, Utc};

#[cfg(any(test, feature = "test-util"))]
use super::codec::from_unix;
use super::codec::unix;
use super::failure::Result;
use super::handle::Store;
use crate::domain::CheckInId;

impl Store {
    /// Check-ins whose digest is due at `now`, oldest close first: for each
    /// active cohort with a digest channel, its newest posted check-in that has
    /// closed, if it closed after `closed_after` and no digest was claimed.
    ///
    /// Only the newest: when several closed unseen (the bot was down, or the
    /// digest channel was added later), mentors get the latest, not a backlog.
    pub async fn due_digests(&self, now: DateTime<Utc>, closed_after: DateTime<Utc>) -> Result<Vec<CheckInId>> {
        let rows: Vec<(CheckInId,)> = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT k.id FROM cohorts c JOIN checkins k ON k.id = ( \
                 SELECT n.id FROM checkins n WHERE n.cohort_id = c.id AND n.status = 'posted' AND n.closes_at <= $1 \
                 ORDER BY n.closes_at DESC, n.occurrence_at DESC LIMIT 1) \
             WHERE c.active = TRUE AND c.digest_channel_id IS NOT NULL \
             AND k.closes_at > $2 AND k.digest_claimed_at IS NULL \
             ORDER BY k.closes_at, k.id",
        )
        .bind(unix(now))
        .bind(unix(closed_after))
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Claim the digest of a check-in. Only one caller ever wins, until released.
    pub async fn claim_digest(&self, checkin_id: CheckInId, now: DateTime<Utc>) -> Result<bool> {
        let done = on_db!(&self.db, |pool| sqlx::query(
            "UPDATE checkins SET digest_claimed_at = $1 WHERE id = $2 AND digest_claimed_at IS NULL"
        )
        .bind(unix(now))
        .bind(checkin_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Give a claim back after a failed send, so a later tick retries.
    pub async fn release_digest(&self, checkin_id: CheckInId) -> Result<()> {
        on_db!(&self.db, |pool| sqlx::query("UPDATE checkins SET digest_claimed_at = NULL WHERE id = $1")
            .bind(checkin_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// When the check-in's digest was claimed (sent, or being sent).
    #[cfg(any(test, feature = "test-util"))]
    pub async fn digest_claimed_at(&self, checkin_id: CheckInId) -> Result<Option<DateTime<Utc>>> {
        let row: Option<(Option<i64>,)> =
            on_db!(&self.db, |pool| sqlx::query_as("SELECT digest_claimed_at FROM checkins WHERE id = $1")
                .bind(checkin_id)
                .fetch_optional(pool)
                .await)?;
        row.and_then(|(t,)| t).map(from_unix).transpose()
    }
}
