use chrono::{DateTime, Utc};

use super::{Result, Store, id, time, ts, uid};
use crate::domain::{Member, Pause};

type MemberRow = (i64, i64, i64, Option<i64>);

fn member(r: MemberRow) -> Member {
    Member { cohort_id: r.0, user_id: uid(r.1), joined_at: time(r.2), left_at: r.3.map(time) }
}

impl Store {
    /// Join (or re-join) a cohort. Returns true when the member was not active before.
    pub async fn join(&self, cohort_id: i64, user_id: u64, now: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO members (cohort_id, user_id, joined_at) VALUES (?, ?, ?) \
             ON CONFLICT (cohort_id, user_id) DO UPDATE SET left_at = NULL, joined_at = excluded.joined_at \
             WHERE left_at IS NOT NULL",
        )
        .bind(cohort_id)
        .bind(id(user_id))
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Returns true when the member was active.
    pub async fn leave(&self, cohort_id: i64, user_id: u64, now: DateTime<Utc>) -> Result<bool> {
        let done =
            sqlx::query("UPDATE members SET left_at = ? WHERE cohort_id = ? AND user_id = ? AND left_at IS NULL")
                .bind(ts(now))
                .bind(cohort_id)
                .bind(id(user_id))
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn member(&self, cohort_id: i64, user_id: u64) -> Result<Option<Member>> {
        let row: Option<MemberRow> = sqlx::query_as(
            "SELECT cohort_id, user_id, joined_at, left_at FROM members WHERE cohort_id = ? AND user_id = ?",
        )
        .bind(cohort_id)
        .bind(id(user_id))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(member))
    }

    /// Every member of a cohort, current and former, by join time.
    pub async fn members(&self, cohort_id: i64) -> Result<Vec<Member>> {
        let rows: Vec<MemberRow> = sqlx::query_as(
            "SELECT cohort_id, user_id, joined_at, left_at FROM members WHERE cohort_id = ? \
             ORDER BY joined_at, user_id",
        )
        .bind(cohort_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(member).collect())
    }

    /// Active cohorts the user currently belongs to.
    pub async fn memberships_of(&self, user_id: u64) -> Result<Vec<Member>> {
        let rows: Vec<MemberRow> = sqlx::query_as(
            "SELECT m.cohort_id, m.user_id, m.joined_at, m.left_at FROM members m \
             JOIN cohorts c ON c.id = m.cohort_id \
             WHERE m.user_id = ? AND m.left_at IS NULL AND c.active = 1 ORDER BY m.cohort_id",
        )
        .bind(id(user_id))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(member).collect())
    }

    /// Active members who are not paused at `at` and have no reply to the check-in
    /// and no reminder for it yet.
    pub async fn members_to_remind(&self, cohort_id: i64, checkin_id: i64, at: DateTime<Utc>) -> Result<Vec<u64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT m.user_id FROM members m \
             WHERE m.cohort_id = ? AND m.left_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM pauses p WHERE p.cohort_id = m.cohort_id AND p.user_id = m.user_id \
                             AND p.starts_at <= ? AND ? < p.ends_at) \
             AND NOT EXISTS (SELECT 1 FROM replies r WHERE r.checkin_id = ? AND r.user_id = m.user_id) \
             AND NOT EXISTS (SELECT 1 FROM reminders s WHERE s.checkin_id = ? AND s.user_id = m.user_id) \
             ORDER BY m.user_id",
        )
        .bind(cohort_id)
        .bind(ts(at))
        .bind(ts(at))
        .bind(checkin_id)
        .bind(checkin_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(u,)| uid(u)).collect())
    }

    /// Claim the single reminder of a member for a check-in. False if already sent.
    pub async fn claim_reminder(&self, checkin_id: i64, user_id: u64, now: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query("INSERT OR IGNORE INTO reminders (checkin_id, user_id, sent_at) VALUES (?, ?, ?)")
            .bind(checkin_id)
            .bind(id(user_id))
            .bind(ts(now))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Undo a claim whose DM could not be delivered, so a later tick retries.
    pub async fn release_reminder(&self, checkin_id: i64, user_id: u64) -> Result<()> {
        sqlx::query("DELETE FROM reminders WHERE checkin_id = ? AND user_id = ?")
            .bind(checkin_id)
            .bind(id(user_id))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[cfg(any(test, feature = "test-util"))]
    pub async fn reminders_sent(&self, checkin_id: i64) -> Result<Vec<u64>> {
        let rows: Vec<(i64,)> = sqlx::query_as("SELECT user_id FROM reminders WHERE checkin_id = ? ORDER BY user_id")
            .bind(checkin_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|(u,)| uid(u)).collect())
    }

    /// Pause from `from` until `until`; replaces any pause still running.
    pub async fn pause(&self, cohort_id: i64, user_id: u64, from: DateTime<Utc>, until: DateTime<Utc>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE pauses SET ends_at = ? WHERE cohort_id = ? AND user_id = ? AND ends_at > ?")
            .bind(ts(from))
            .bind(cohort_id)
            .bind(id(user_id))
            .bind(ts(from))
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO pauses (cohort_id, user_id, starts_at, ends_at) VALUES (?, ?, ?, ?)")
            .bind(cohort_id)
            .bind(id(user_id))
            .bind(ts(from))
            .bind(ts(until))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// End a running pause now. False when none was running.
    pub async fn resume(&self, cohort_id: i64, user_id: u64, now: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE pauses SET ends_at = ? WHERE cohort_id = ? AND user_id = ? AND starts_at <= ? AND ends_at > ?",
        )
        .bind(ts(now))
        .bind(cohort_id)
        .bind(id(user_id))
        .bind(ts(now))
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn pauses(&self, cohort_id: i64, user_id: u64) -> Result<Vec<Pause>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT starts_at, ends_at FROM pauses WHERE cohort_id = ? AND user_id = ? AND ends_at > starts_at \
             ORDER BY starts_at",
        )
        .bind(cohort_id)
        .bind(id(user_id))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(s, e)| Pause { starts_at: time(s), ends_at: time(e) }).collect())
    }
}
