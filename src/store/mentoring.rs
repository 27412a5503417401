//! What the summaries read of the mentoring loop (who got a note, steps done
//! per member, no text), and a member's earlier answer to a repeated prompt.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::codec::unix;
use super::replies::ReplyRow;
use super::{Result, Store, StoreError};
use crate::domain::{CheckInId, CohortId, PathStep, Reply, ReplyId, UserId};
use crate::summary::mentoring::MentoringActivity;

impl Store {
    /// For a cohort: the (check-in, member) pairs that have a note, and the
    /// steps each member has done. Two statements in one read transaction,
    /// each proportional to the notes and steps, not to the answers.
    pub async fn cohort_mentoring(&self, cohort_id: CohortId) -> Result<MentoringActivity> {
        let mut tx = self.pool.begin().await?;
        let noted: Vec<(CheckInId, UserId)> =
            sqlx::query_as("SELECT DISTINCT checkin_id, member_user_id FROM notes WHERE cohort_id = ?")
                .bind(cohort_id)
                .fetch_all(&mut *tx)
                .await?;
        let steps: Vec<(UserId, String)> = sqlx::query_as("SELECT user_id, step FROM path_steps WHERE cohort_id = ?")
            .bind(cohort_id)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut by_member: HashMap<UserId, Vec<PathStep>> = HashMap::new();
        for (user, step) in steps {
            let step =
                step.parse().map_err(|e: crate::domain::path::UnknownStep| StoreError::Corrupt(e.to_string()))?;
            by_member.entry(user).or_default().push(step);
        }
        for steps in by_member.values_mut() {
            steps.sort_unstable();
        }
        Ok(MentoringActivity { noted: noted.into_iter().collect(), steps: by_member })
    }

    /// The member's latest answer, in this cohort, to an earlier check-in
    /// (occurred before `before`) that asked prompt `prompt_id`.
    pub async fn earlier_reply(
        &self,
        cohort_id: CohortId,
        user_id: UserId,
        prompt_id: &str,
        before: DateTime<Utc>,
    ) -> Result<Option<Reply>> {
        let row: Option<ReplyRow> = sqlx::query_as(
            "SELECT r.id, r.checkin_id, r.user_id, r.answer, r.confidence, r.created_at, r.updated_at \
             FROM checkins k JOIN replies r ON r.checkin_id = k.id AND r.user_id = ? \
             WHERE k.cohort_id = ? AND k.prompt_id = ? AND k.occurrence_at < ? \
             ORDER BY k.occurrence_at DESC LIMIT 1",
        )
        .bind(user_id)
        .bind(cohort_id)
        .bind(prompt_id)
        .bind(unix(before))
        .fetch_optional(&self.pool)
        .await?;
        row.map(Reply::try_from).transpose()
    }

    /// One answer by its row id.
    pub async fn reply_by_id(&self, reply_id: ReplyId) -> Result<Option<Reply>> {
        let row: Option<ReplyRow> = sqlx::query_as(
            "SELECT id, checkin_id, user_id, answer, confidence, created_at, updated_at FROM replies WHERE id = ?",
        )
        .bind(reply_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(Reply::try_from).transpose()
    }

    /// Every current answer to one check-in, in the order they were first saved.
    pub async fn replies_to_checkin(&self, checkin_id: CheckInId) -> Result<Vec<Reply>> {
        let rows: Vec<ReplyRow> = sqlx::query_as(
            "SELECT id, checkin_id, user_id, answer, confidence, created_at, updated_at FROM replies \
             WHERE checkin_id = ? ORDER BY created_at, id",
        )
        .bind(checkin_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Reply::try_from).collect()
    }
}
