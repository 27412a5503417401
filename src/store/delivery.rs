//! Refusals Discord gave for good, per cohort and target
//! (`delivery_failures`): recorded once, read for the scheduler's checks and
//! the mentors' views, cleared when something changed.

use chrono::{DateTime, Utc};

use super::codec::{from_unix, snowflake, unix};
use super::failure::{Result, StoreError};
use super::handle::Store;
use crate::domain::{CohortId, DeliveryFailure, DeliveryTarget, GuildId, UserId};

/// The columns of a [`DeliveryFailureRow`], in its order, written once for every
/// statement that reads one.
macro_rules! failure_columns {
    ($($t:ident)?) => {
        $crate::store::codec::columns!(
            $($t:)? cohort_id, target_kind, target_id, code, reason, first_seen_at, last_seen_at
        )
    };
}

#[derive(sqlx::FromRow)]
struct DeliveryFailureRow {
    cohort_id: CohortId,
    target_kind: String,
    target_id: i64,
    code: Option<i64>,
    reason: String,
    first_seen_at: i64,
    last_seen_at: i64,
}

impl TryFrom<DeliveryFailureRow> for DeliveryFailure {
    type Error = StoreError;

    fn try_from(r: DeliveryFailureRow) -> Result<Self> {
        let target = DeliveryTarget::from_parts(&r.target_kind, snowflake(r.target_id))
            .ok_or_else(|| StoreError::Corrupt(format!("delivery target kind `{}`", r.target_kind)))?;
        Ok(DeliveryFailure {
            cohort_id: r.cohort_id,
            target,
            code: r.code.map(u32::try_from).transpose().map_err(|e| StoreError::Corrupt(e.to_string()))?,
            reason: r.reason,
            first_seen: from_unix(r.first_seen_at)?,
            last_seen: from_unix(r.last_seen_at)?,
        })
    }
}

/// A refusal to record.
#[derive(Debug, Clone)]
pub struct NewDeliveryFailure<'a> {
    pub cohort_id: CohortId,
    pub target: DeliveryTarget,
    /// Discord's JSON error code, when it sent one.
    pub code: Option<u32>,
    /// Discord's message, or the error.
    pub reason: &'a str,
    /// When Discord refused.
    pub at: DateTime<Utc>,
}

impl Store {
    /// Record a refusal. True when it is new for this cohort and target;
    /// false when it was already recorded (then only its code, reason and
    /// last-seen time are updated).
    pub async fn record_delivery_failure(&self, f: &NewDeliveryFailure<'_>) -> Result<bool> {
        let inserted = on_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO delivery_failures \
                 (cohort_id, target_kind, target_id, code, reason, first_seen_at, last_seen_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            )
            .bind(f.cohort_id)
            .bind(f.target.kind())
            .bind(f.target.id() as i64)
            .bind(f.code.map(i64::from))
            .bind(f.reason)
            .bind(unix(f.at))
            .bind(unix(f.at))
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !inserted {
                sqlx::query(
                    "UPDATE delivery_failures SET code = $1, reason = $2, last_seen_at = $3 \
                     WHERE cohort_id = $4 AND target_kind = $5 AND target_id = $6",
                )
                .bind(f.code.map(i64::from))
                .bind(f.reason)
                .bind(unix(f.at))
                .bind(f.cohort_id)
                .bind(f.target.kind())
                .bind(f.target.id() as i64)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await.map(|()| inserted)
        })?;
        Ok(inserted)
    }

    /// The recorded refusal for this cohort and target, if any.
    pub async fn delivery_failure(
        &self,
        cohort_id: CohortId,
        target: DeliveryTarget,
    ) -> Result<Option<DeliveryFailure>> {
        let row: Option<DeliveryFailureRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            failure_columns!(),
            " FROM delivery_failures WHERE cohort_id = $1 AND target_kind = $2 AND target_id = $3"
        ))
        .bind(cohort_id)
        .bind(target.kind())
        .bind(target.id() as i64)
        .fetch_optional(pool)
        .await)?;
        row.map(DeliveryFailure::try_from).transpose()
    }

    /// Every recorded refusal of a cohort, oldest first.
    pub async fn delivery_failures(&self, cohort_id: CohortId) -> Result<Vec<DeliveryFailure>> {
        let rows: Vec<DeliveryFailureRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            failure_columns!(),
            " FROM delivery_failures WHERE cohort_id = $1 ORDER BY first_seen_at, target_kind, target_id"
        ))
        .bind(cohort_id)
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(DeliveryFailure::try_from).collect()
    }

    /// Forget the cohort's channel refusals (its channel and digest channel),
    /// so the next post is tried. Returns how many there were.
    pub async fn clear_channel_failures(&self, cohort_id: CohortId) -> Result<u64> {
        let done = on_db!(&self.db, |pool| sqlx::query(
            "DELETE FROM delivery_failures WHERE cohort_id = $1 AND target_kind IN ('channel', 'digest_channel')",
        )
        .bind(cohort_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done)
    }

    /// Forget the channel refusals of every cohort in `guild_id`, e.g. after
    /// a channel's or a role's permissions changed there; with `code`, only
    /// those Discord gave with that code. Returns how many.
    pub async fn clear_guild_channel_failures(&self, guild_id: GuildId, code: Option<u32>) -> Result<u64> {
        let code = code.map(i64::from);
        // A read first: most events change nothing, and a DELETE would take
        // the write lock every time.
        let (any,): (bool,) = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM delivery_failures f JOIN cohorts c ON c.id = f.cohort_id \
             WHERE c.guild_id = $1 AND f.target_kind IN ('channel', 'digest_channel') \
             AND ($2 IS NULL OR f.code = $3))",
        )
        .bind(guild_id)
        .bind(code)
        .bind(code)
        .fetch_one(pool)
        .await)?;
        if !any {
            return Ok(0);
        }
        let done = on_db!(&self.db, |pool| sqlx::query(
            "DELETE FROM delivery_failures WHERE target_kind IN ('channel', 'digest_channel') \
             AND cohort_id IN (SELECT id FROM cohorts WHERE guild_id = $1) AND ($2 IS NULL OR code = $3)",
        )
        .bind(guild_id)
        .bind(code)
        .bind(code)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done)
    }

    /// Forget what was recorded about a member (closed DMs, left the
    /// server) in every cohort: they interacted, so both may have changed.
    /// Returns how many rows there were.
    pub async fn clear_member_failures(&self, user_id: UserId) -> Result<u64> {
        // Called on every interaction: a read first, so the common case
        // (nothing recorded) never takes the write lock.
        let (any,): (bool,) = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM delivery_failures \
             WHERE target_id = $1 AND target_kind IN ('member_dm', 'guild_member'))",
        )
        .bind(user_id)
        .fetch_one(pool)
        .await)?;
        if !any {
            return Ok(0);
        }
        let done = on_db!(&self.db, |pool| sqlx::query(
            "DELETE FROM delivery_failures WHERE target_id = $1 AND target_kind IN ('member_dm', 'guild_member')",
        )
        .bind(user_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done)
    }
}
