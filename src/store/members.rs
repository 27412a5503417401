use chrono::{DateTime, Utc};

use super::backend::Conn;
use super::codec::{from_unix, unix};
use super::failure::Result;
use super::handle::Store;
use crate::domain::{CheckInId, CohortId, Member, Pause, UserId};

/// The columns of a [`MembershipRow`], in its order, written once for every
/// statement that reads one (`membership_columns!(m)` where the table is aliased `m`).
macro_rules! membership_columns {
    ($($t:ident)?) => {
        $crate::store::codec::columns!($($t:)? cohort_id, user_id, joined_at, left_at)
    };
}

#[derive(sqlx::FromRow)]
struct MembershipRow {
    cohort_id: CohortId,
    user_id: UserId,
    joined_at: i64,
    left_at: Option<i64>,
}

impl TryFrom<MembershipRow> for Member {
    type Error = super::StoreError;

    fn try_from(r: MembershipRow) -> Result<Self> {
        Ok(Member {
            cohort_id: r.cohort_id,
            user_id: r.user_id,
            joined_at: from_unix(r.joined_at)?,
            left_at: r.left_at.map(from_unix).transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct PauseRow {
    starts_at: i64,
    ends_at: i64,
}

impl TryFrom<PauseRow> for Pause {
    type Error = super::StoreError;

    fn try_from(r: PauseRow) -> Result<Self> {
        Ok(Pause { starts_at: from_unix(r.starts_at)?, ends_at: from_unix(r.ends_at)? })
    }
}

impl Store {
    /// Join (or re-join) a cohort. Returns true when the member was not active before.
    pub async fn join(&self, cohort_id: CohortId, user_id: UserId, now: DateTime<Utc>) -> Result<bool> {
        on_db!(&self.db, |pool| join_on(Conn::from(&mut *pool.acquire().await?), cohort_id, user_id, now).await)
    }

    /// Returns true when the member was active.
    pub async fn leave(&self, cohort_id: CohortId, user_id: UserId, now: DateTime<Utc>) -> Result<bool> {
        let done = on_db!(&self.db, |pool| sqlx::query(
            "UPDATE members SET left_at = $1 WHERE cohort_id = $2 AND user_id = $3 AND left_at IS NULL"
        )
        .bind(unix(now))
        .bind(cohort_id)
        .bind(user_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    pub async fn member(&self, cohort_id: CohortId, user_id: UserId) -> Result<Option<Member>> {
        let row: Option<MembershipRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            membership_columns!(),
            " FROM members WHERE cohort_id = $1 AND user_id = $2"
        ))
        .bind(cohort_id)
        .bind(user_id)
        .fetch_optional(pool)
        .await)?;
        row.map(Member::try_from).transpose()
    }

    /// Every member of a cohort, current and former, by join time.
    pub async fn members(&self, cohort_id: CohortId) -> Result<Vec<Member>> {
        let rows: Vec<MembershipRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            membership_columns!(),
            " FROM members WHERE cohort_id = $1 \
             ORDER BY joined_at, user_id"
        ))
        .bind(cohort_id)
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(Member::try_from).collect()
    }

    /// Active cohorts the user currently belongs to.
    pub async fn memberships_of(&self, user_id: UserId) -> Result<Vec<Member>> {
        let rows: Vec<MembershipRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            membership_columns!(m),
            " FROM members m \
             JOIN cohorts c ON c.id = m.cohort_id \
             WHERE m.user_id = $1 AND m.left_at IS NULL AND c.active = TRUE ORDER BY m.cohort_id"
        ))
        .bind(user_id)
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(Member::try_from).collect()
    }

    /// Active members who are not paused at `at`, have no reply to the
    /// check-in and no reminder for it yet, and are not known to have left
    /// the cohort's server.
    pub async fn members_to_remind(
        &self,
        cohort_id: CohortId,
        checkin_id: CheckInId,
        at: DateTime<Utc>,
    ) -> Result<Vec<UserId>> {
        let rows: Vec<(UserId,)> = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT m.user_id FROM members m \
             WHERE m.cohort_id = $1 AND m.left_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM pauses p WHERE p.cohort_id = m.cohort_id AND p.user_id = m.user_id \
                             AND p.starts_at <= $2 AND $3 < p.ends_at) \
             AND NOT EXISTS (SELECT 1 FROM replies r WHERE r.checkin_id = $4 AND r.user_id = m.user_id) \
             AND NOT EXISTS (SELECT 1 FROM reminders s WHERE s.checkin_id = $5 AND s.user_id = m.user_id) \
             AND NOT EXISTS (SELECT 1 FROM delivery_failures f WHERE f.cohort_id = m.cohort_id \
                             AND f.target_kind = 'guild_member' AND f.target_id = m.user_id) \
             ORDER BY m.user_id",
        )
        .bind(cohort_id)
        .bind(unix(at))
        .bind(unix(at))
        .bind(checkin_id)
        .bind(checkin_id)
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().map(|(u,)| u).collect())
    }

    /// Claim the single reminder of a member for a check-in. False if already sent.
    pub async fn claim_reminder(&self, checkin_id: CheckInId, user_id: UserId, now: DateTime<Utc>) -> Result<bool> {
        let done = on_db!(&self.db, |pool| sqlx::query(
            "INSERT INTO reminders (checkin_id, user_id, sent_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
        )
        .bind(checkin_id)
        .bind(user_id)
        .bind(unix(now))
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Claim the reminders of several members for a check-in in one
    /// transaction (one commit for a whole batch of DMs). Returns the members
    /// claimed by this call, in the order given; those already claimed are left out.
    pub async fn claim_reminders(
        &self,
        checkin_id: CheckInId,
        user_ids: &[UserId],
        now: DateTime<Utc>,
    ) -> Result<Vec<UserId>> {
        // One lock order for every batch: two processes claiming overlapping
        // batches on PostgreSQL wait for each other instead of deadlocking.
        let mut order: Vec<UserId> = user_ids.to_vec();
        order.sort_unstable();
        order.dedup();
        let backend = self.backend();
        let mut won: std::collections::HashSet<UserId> = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_with(backend.write_tx()).await?;
            let mut won = std::collections::HashSet::with_capacity(order.len());
            for &user_id in &order {
                let done = sqlx::query(
                    "INSERT INTO reminders (checkin_id, user_id, sent_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(checkin_id)
                .bind(user_id)
                .bind(unix(now))
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 1 {
                    won.insert(user_id);
                }
            }
            tx.commit().await.map(|()| won)
        })?;
        // In the order given, each once.
        Ok(user_ids.iter().copied().filter(|u| won.remove(u)).collect())
    }

    /// Undo a claim whose DM could not be delivered, so a later tick retries.
    pub async fn release_reminder(&self, checkin_id: CheckInId, user_id: UserId) -> Result<()> {
        on_db!(&self.db, |pool| sqlx::query("DELETE FROM reminders WHERE checkin_id = $1 AND user_id = $2")
            .bind(checkin_id)
            .bind(user_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(())
    }

    #[cfg(any(test, feature = "test-util"))]
    pub async fn reminders_sent(&self, checkin_id: CheckInId) -> Result<Vec<UserId>> {
        let rows: Vec<(UserId,)> = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT user_id FROM reminders WHERE checkin_id = $1 ORDER BY user_id"
        )
        .bind(checkin_id)
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().map(|(u,)| u).collect())
    }

    /// Pause from `from` until `until`; replaces any pause still running.
    pub async fn pause(
        &self,
        cohort_id: CohortId,
        user_id: UserId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<()> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE pauses SET ends_at = $1 WHERE cohort_id = $2 AND user_id = $3 AND ends_at > $4")
                .bind(unix(from))
                .bind(cohort_id)
                .bind(user_id)
                .bind(unix(from))
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO pauses (cohort_id, user_id, starts_at, ends_at) VALUES ($1, $2, $3, $4)")
                .bind(cohort_id)
                .bind(user_id)
                .bind(unix(from))
                .bind(unix(until))
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })?;
        Ok(())
    }

    /// End a running pause now. False when none was running.
    pub async fn resume(&self, cohort_id: CohortId, user_id: UserId, now: DateTime<Utc>) -> Result<bool> {
        let done = on_db!(&self.db, |pool| {
            sqlx::query(
            "UPDATE pauses SET ends_at = $1 WHERE cohort_id = $2 AND user_id = $3 AND starts_at <= $4 AND ends_at > $5",
        )
        .bind(unix(now))
        .bind(cohort_id)
        .bind(user_id)
        .bind(unix(now))
        .bind(unix(now))
        .execute(pool)
        .await.map(|done| done.rows_affected())
        })?;
        Ok(done > 0)
    }

    pub async fn pauses(&self, cohort_id: CohortId, user_id: UserId) -> Result<Vec<Pause>> {
        let rows: Vec<PauseRow> = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT starts_at, ends_at FROM pauses WHERE cohort_id = $1 AND user_id = $2 AND ends_at > starts_at \
             ORDER BY starts_at",
        )
        .bind(cohort_id)
        .bind(user_id)
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(Pause::try_from).collect()
    }
}

/// The statement of [`Store::join`], on a connection that may be inside a
/// transaction (an answer joins and saves in one).
pub(super) async fn join_on(conn: Conn<'_>, cohort_id: CohortId, user_id: UserId, now: DateTime<Utc>) -> Result<bool> {
    let done = on_conn!(conn, |conn| sqlx::query(
        "INSERT INTO members (cohort_id, user_id, joined_at) VALUES ($1, $2, $3) \
         ON CONFLICT (cohort_id, user_id) DO UPDATE SET left_at = NULL, joined_at = excluded.joined_at \
         WHERE members.left_at IS NOT NULL",
    )
    .bind(cohort_id)
    .bind(user_id)
    .bind(unix(now))
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done == 1)
}
