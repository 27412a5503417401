use chrono::{DateTime, Utc};

use super::{Result, Store, id, time, ts, uid};
#[cfg(any(test, feature = "test-util"))]
use crate::domain::ReplyEdit;
use crate::domain::{AnswerInput, Reply, ReplySource};

type ReplyRow = (i64, i64, i64, String, Option<i64>, i64, i64);

fn reply(r: ReplyRow) -> Reply {
    Reply {
        id: r.0,
        checkin_id: r.1,
        user_id: uid(r.2),
        answer: r.3,
        confidence: r.4.map(|c| c as u8),
        created_at: time(r.5),
        updated_at: time(r.6),
    }
}

const COLUMNS: &str = "id, checkin_id, user_id, answer, confidence, created_at, updated_at";

impl Store {
    /// Store a member's answer, or replace their earlier one (the trigger keeps
    /// the old version in `reply_edits`). One statement, so two concurrent
    /// submits can never leave two current answers. Returns after commit.
    pub async fn upsert_reply(
        &self,
        checkin_id: i64,
        user_id: u64,
        input: &AnswerInput,
        source: ReplySource,
        now: DateTime<Utc>,
    ) -> Result<Reply> {
        let sql = format!(
            "INSERT INTO replies (checkin_id, user_id, answer, confidence, source, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (checkin_id, user_id) DO UPDATE SET answer = excluded.answer, \
             confidence = excluded.confidence, source = excluded.source, updated_at = excluded.updated_at \
             RETURNING {COLUMNS}"
        );
        let row: ReplyRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(checkin_id)
            .bind(id(user_id))
            .bind(&input.text)
            .bind(input.confidence.map(i64::from))
            .bind(source.as_str())
            .bind(ts(now))
            .bind(ts(now))
            .fetch_one(&self.pool)
            .await?;
        Ok(reply(row))
    }

    pub async fn reply(&self, checkin_id: i64, user_id: u64) -> Result<Option<Reply>> {
        let sql = format!("SELECT {COLUMNS} FROM replies WHERE checkin_id = ? AND user_id = ?");
        let row: Option<ReplyRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(checkin_id)
            .bind(id(user_id))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(reply))
    }

    /// Earlier versions of a reply, oldest first.
    #[cfg(any(test, feature = "test-util"))]
    pub async fn reply_history(&self, reply_id: i64) -> Result<Vec<ReplyEdit>> {
        let rows: Vec<(String, Option<i64>, i64)> =
            sqlx::query_as("SELECT answer, confidence, written_at FROM reply_edits WHERE reply_id = ? ORDER BY id")
                .bind(reply_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(answer, c, w)| ReplyEdit { answer, confidence: c.map(|c| c as u8), written_at: time(w) })
            .collect())
    }

    /// All current replies to a cohort's check-ins, by check-in then member.
    pub async fn replies_of_cohort(&self, cohort_id: i64) -> Result<Vec<Reply>> {
        let rows: Vec<ReplyRow> = sqlx::query_as(
            "SELECT r.id, r.checkin_id, r.user_id, r.answer, r.confidence, r.created_at, r.updated_at \
             FROM replies r JOIN checkins k ON k.id = r.checkin_id \
             WHERE k.cohort_id = ? ORDER BY k.occurrence_at, r.user_id",
        )
        .bind(cohort_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(reply).collect())
    }

    /// A member's replies in one cohort, oldest first.
    #[cfg(any(test, feature = "test-util"))]
    pub async fn replies_of_member(&self, cohort_id: i64, user_id: u64) -> Result<Vec<Reply>> {
        let rows: Vec<ReplyRow> = sqlx::query_as(
            "SELECT r.id, r.checkin_id, r.user_id, r.answer, r.confidence, r.created_at, r.updated_at \
             FROM replies r JOIN checkins k ON k.id = r.checkin_id \
             WHERE k.cohort_id = ? AND r.user_id = ? ORDER BY k.occurrence_at",
        )
        .bind(cohort_id)
        .bind(id(user_id))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(reply).collect())
    }
}
