//! Bulk loading for benches and tests that need a large history (500
//! members × two years), one transaction per call. It exists only with the
//! `test-util` feature: the bot never calls it.

use chrono::{DateTime, Utc};

use super::codec::unix;
use super::failure::Result;
use super::handle::Store;
use crate::domain::track::join_track_list;
use crate::domain::{
    CheckInId, CohortId, EvidenceInput, ImpactInput, PathStep, Pause, PostedPrompt, ProjectInput, ReplyId, UserId,
    occurrence_nonce,
};

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
    pub checkin_id: CheckInId,
    pub user_id: UserId,
    pub answer: String,
    pub confidence: Option<u8>,
    pub at: DateTime<Utc>,
}

/// A mentor's note to load in bulk.
#[derive(Debug, Clone)]
pub struct BulkNote {
    pub reply_id: ReplyId,
    pub checkin_id: CheckInId,
    pub member_id: UserId,
    pub author_id: UserId,
    pub text: String,
    pub at: DateTime<Utc>,
}

/// A member's Staff path to load in bulk: the project, and steps done with their evidence.
#[derive(Debug, Clone)]
pub struct BulkPath {
    pub user_id: UserId,
    pub project: Option<ProjectInput>,
    pub steps: Vec<(PathStep, EvidenceInput)>,
    pub at: DateTime<Utc>,
}

impl Store {
    #[doc(hidden)]
    pub async fn bulk_members(&self, cohort_id: CohortId, members: &[(UserId, DateTime<Utc>)]) -> Result<()> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            for (user, joined_at) in members {
                sqlx::query("INSERT INTO members (cohort_id, user_id, joined_at) VALUES ($1, $2, $3)")
                    .bind(cohort_id)
                    .bind(*user)
                    .bind(unix(*joined_at))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Inserts posted check-ins; returns their ids in the same order.
    #[doc(hidden)]
    pub async fn bulk_checkins(&self, cohort_id: CohortId, checkins: &[BulkCheckIn]) -> Result<Vec<CheckInId>> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            let mut ids = Vec::with_capacity(checkins.len());
            for c in checkins {
                let (new_id,): (CheckInId,) = sqlx::query_as(
                    "INSERT INTO checkins (cohort_id, occurrence_at, closes_at, nonce, status, prompt_id, track, question, \
                     posted_at) VALUES ($1, $2, $3, $4, 'posted', $5, $6, $7, $8) RETURNING id",
                )
                .bind(cohort_id)
                .bind(unix(c.occurrence_at))
                .bind(unix(c.closes_at))
                .bind(occurrence_nonce(cohort_id, c.occurrence_at))
                .bind(&c.prompt.id)
                .bind(c.prompt.track.as_str())
                .bind(&c.prompt.question)
                .bind(unix(c.occurrence_at))
                .fetch_one(&mut *tx)
                .await?;
                ids.push(new_id);
            }
            tx.commit().await?;
            Ok(ids)
        })
    }

    #[doc(hidden)]
    pub async fn bulk_replies(&self, replies: &[BulkReply]) -> Result<()> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            for r in replies {
                sqlx::query(
                    "INSERT INTO replies (checkin_id, user_id, answer, confidence, source, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, 'modal', $5, $6)",
                )
                .bind(r.checkin_id)
                .bind(r.user_id)
                .bind(&r.answer)
                .bind(r.confidence.map(i64::from))
                .bind(unix(r.at))
                .bind(unix(r.at))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    #[doc(hidden)]
    pub async fn bulk_impact(
        &self,
        cohort_id: CohortId,
        entries: &[(UserId, ImpactInput, DateTime<Utc>)],
    ) -> Result<()> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            for (user, e, at) in entries {
                sqlx::query(
                    "INSERT INTO impact_entries (cohort_id, user_id, what_changed, evidence, who_benefited, link, tracks, \
                     recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(cohort_id)
                .bind(*user)
                .bind(&e.what_changed)
                .bind(&e.evidence)
                .bind(&e.who_benefited)
                .bind(e.link.as_deref())
                .bind(join_track_list(&e.tracks))
                .bind(unix(*at))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    #[doc(hidden)]
    pub async fn bulk_pauses(&self, cohort_id: CohortId, pauses: &[(UserId, Pause)]) -> Result<()> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            for (user, p) in pauses {
                sqlx::query("INSERT INTO pauses (cohort_id, user_id, starts_at, ends_at) VALUES ($1, $2, $3, $4)")
                    .bind(cohort_id)
                    .bind(*user)
                    .bind(unix(p.starts_at))
                    .bind(unix(p.ends_at))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    #[doc(hidden)]
    pub async fn bulk_notes(&self, cohort_id: CohortId, notes: &[BulkNote]) -> Result<()> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            for n in notes {
                sqlx::query(
                    "INSERT INTO notes (reply_id, checkin_id, cohort_id, member_user_id, author_user_id, author_name, body, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'bench mentor', $6, $7, $8)",
                )
                .bind(n.reply_id)
                .bind(n.checkin_id)
                .bind(cohort_id)
                .bind(n.member_id)
                .bind(n.author_id)
                .bind(&n.text)
                .bind(unix(n.at))
                .bind(unix(n.at))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    #[doc(hidden)]
    pub async fn bulk_paths(&self, cohort_id: CohortId, paths: &[BulkPath]) -> Result<()> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            for p in paths {
                if let Some(project) = &p.project {
                    sqlx::query(
                        "INSERT INTO path_projects (cohort_id, user_id, what, why, teams, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(cohort_id)
                    .bind(p.user_id)
                    .bind(&project.what)
                    .bind(&project.why)
                    .bind(&project.teams)
                    .bind(unix(p.at))
                    .bind(unix(p.at))
                    .execute(&mut *tx)
                    .await?;
                }
                for (step, evidence) in &p.steps {
                    sqlx::query(
                        "INSERT INTO path_steps (cohort_id, user_id, step, evidence, link, done_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(cohort_id)
                    .bind(p.user_id)
                    .bind(step.as_str())
                    .bind(&evidence.text)
                    .bind(evidence.link.as_deref())
                    .bind(unix(p.at))
                    .bind(unix(p.at))
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }
}
