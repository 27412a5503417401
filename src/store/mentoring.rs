//! What the summaries read of the mentoring loop (who got a note, steps done
//! per member, no text), and a member's earlier answer to a repeated prompt.

use chrono::{DateTime, Utc};

use super::codec::{ids_joined, text_joined, unix, user_in_text};
use super::failure::{Result, StoreError};
use super::handle::Store;
use super::replies::{ReplyRow, reply_columns};
use crate::domain::{CheckInId, CohortId, PathStep, Reply, ReplyId, UserId};
use crate::summary::mentoring::MentoringActivity;

impl Store {
    /// For a cohort: the (check-in, member) pairs that have a note, and the
    /// steps each member has done. Two statements in one read transaction,
    /// each read from an index and aggregated per check-in or per member (as
    /// `cohort_activity` does), so a 500-member, two-year cohort costs a few
    /// hundred rows, not one per note.
    pub async fn cohort_mentoring(&self, cohort_id: CohortId) -> Result<MentoringActivity> {
        let backend = self.backend();
        // Each written once, with the backend's spelling of the aggregate.
        macro_rules! noted_sql {
            ($db:ident) => {
                concat!(
                    "SELECT checkin_id, ",
                    ids_joined!($db, DISTINCT "member_user_id"),
                    " FROM notes WHERE cohort_id = $1 GROUP BY checkin_id"
                )
            };
        }
        macro_rules! steps_sql {
            ($db:ident) => {
                concat!(
                    "SELECT user_id, ",
                    text_joined!($db, "step"),
                    " FROM path_steps WHERE cohort_id = $1 GROUP BY user_id"
                )
            };
        }
        let noted_sql = backend.pick(noted_sql!(sqlite), noted_sql!(postgres));
        let steps_sql = backend.pick(steps_sql!(sqlite), steps_sql!(postgres));
        let (noted, steps) = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_with(backend.read_tx()).await?;
            let noted: Vec<(CheckInId, String)> = sqlx::query_as(noted_sql).bind(cohort_id).fetch_all(&mut *tx).await?;
            let steps: Vec<(UserId, String)> = sqlx::query_as(steps_sql).bind(cohort_id).fetch_all(&mut *tx).await?;
            tx.commit().await.map(|()| (noted, steps))
        })?;
        let mut out = MentoringActivity::default();
        for (checkin, members) in noted {
            for member in members.split(',') {
                out.noted.insert((checkin, user_in_text("noted member", member)?));
            }
        }
        for (user, names) in steps {
            let mut done = names
                .split(',')
                .map(|s| s.parse().map_err(|e: crate::domain::path::UnknownStep| StoreError::Corrupt(e.to_string())))
                .collect::<Result<Vec<PathStep>>>()?;
            done.sort_unstable();
            out.steps.insert(user, done);
        }
        Ok(out)
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
        let row: Option<ReplyRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            reply_columns!(r),
            " FROM checkins k JOIN replies r ON r.checkin_id = k.id AND r.user_id = $1 \
             WHERE k.cohort_id = $2 AND k.prompt_id = $3 AND k.occurrence_at < $4 \
             ORDER BY k.occurrence_at DESC LIMIT 1"
        ))
        .bind(user_id)
        .bind(cohort_id)
        .bind(prompt_id)
        .bind(unix(before))
        .fetch_optional(pool)
        .await)?;
        row.map(Reply::try_from).transpose()
    }

    /// One answer by its row id.
    pub async fn reply_by_id(&self, reply_id: ReplyId) -> Result<Option<Reply>> {
        let row: Option<ReplyRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            reply_columns!(),
            " FROM replies WHERE id = $1"
        ))
        .bind(reply_id)
        .fetch_optional(pool)
        .await)?;
        row.map(Reply::try_from).transpose()
    }

    /// Every current answer to one check-in, in the order they were first saved.
    pub async fn replies_to_checkin(&self, checkin_id: CheckInId) -> Result<Vec<Reply>> {
        let rows: Vec<ReplyRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            reply_columns!(),
            " FROM replies \
             WHERE checkin_id = $1 ORDER BY created_at, id"
        ))
        .bind(checkin_id)
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(Reply::try_from).collect()
    }
}
