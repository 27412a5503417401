//! The Staff path: `/path show`, `/path project`, `/path done`.

use super::{PathForm, SavedProject, SavedStep};
use crate::domain::{Cohort, CohortId, EvidenceInput, PathStep, ProjectInput, StaffPath, UserId, Viewer};
use crate::engine::{Engine, EngineError, Result};

impl Engine {
    /// `/path show [member]`: the viewer's own path, or, for a mentor, the
    /// path of a member of a cohort they mentor.
    #[tracing::instrument(skip_all, fields(guild = %viewer.guild_id, user = %viewer.user_id, member = %member))]
    pub async fn path_for(&self, viewer: &Viewer, member: UserId) -> Result<(Cohort, StaffPath)> {
        let own = member == viewer.user_id;
        let cohort = if own {
            self.cohort_for(viewer).await?
        } else {
            match self.cohort_for_member(viewer.guild_id, viewer.channel_id, member).await {
                Ok(c) if viewer.is_mentor_of(&c) => c,
                _ => return Err(EngineError::NotTheirMentorPath),
            }
        };
        if self.store.member(cohort.id, member).await?.is_none() {
            return Err(if own { EngineError::NotAMember } else { EngineError::MemberNotInCohort });
        }
        let path = self.store.staff_path(cohort.id, member).await?;
        Ok((cohort, path))
    }

    /// `/path project` and `/path done`: the cohort whose path the form
    /// writes to, and the viewer's path there so far (to pre-fill it).
    #[tracing::instrument(skip_all, fields(guild = %viewer.guild_id, user = %viewer.user_id))]
    pub async fn path_form(&self, viewer: &Viewer) -> Result<PathForm> {
        let cohort = self.cohort_for(viewer).await?;
        let path = self.store.staff_path(cohort.id, viewer.user_id).await?;
        Ok(PathForm { cohort, path })
    }

    /// A submitted project form for cohort `cohort_id`.
    #[tracing::instrument(skip_all, fields(cohort = %cohort_id, user = %viewer.user_id))]
    pub async fn submit_project(
        &self,
        viewer: &Viewer,
        cohort_id: CohortId,
        what: &str,
        why: &str,
        teams: &str,
    ) -> Result<SavedProject> {
        let cohort = self.form_cohort(viewer, cohort_id).await?;
        let input = ProjectInput::parse(what, why, teams)?;
        let now = self.now();
        let edited = self.store.staff_path(cohort.id, viewer.user_id).await?.project.is_some();
        self.store.join(cohort.id, viewer.user_id, now).await?;
        let project = self.store.upsert_project(cohort.id, viewer.user_id, &input, now).await?;
        Ok(SavedProject { project, edited })
    }

    /// A submitted step form: the step marked done with its evidence, or its
    /// evidence replaced (the earlier version kept).
    #[tracing::instrument(skip_all, fields(cohort = %cohort_id, user = %viewer.user_id, step = %step))]
    pub async fn submit_step(
        &self,
        viewer: &Viewer,
        cohort_id: CohortId,
        step: PathStep,
        evidence: &str,
        link: &str,
    ) -> Result<SavedStep> {
        let cohort = self.form_cohort(viewer, cohort_id).await?;
        let input = EvidenceInput::parse(evidence, link)?;
        let now = self.now();
        let edited = self.store.staff_path(cohort.id, viewer.user_id).await?.step(step).is_some();
        self.store.join(cohort.id, viewer.user_id, now).await?;
        let saved = self.store.upsert_step(cohort.id, viewer.user_id, step, &input, now).await?;
        let path = self.store.staff_path(cohort.id, viewer.user_id).await?;
        Ok(SavedStep { step: saved, edited, path })
    }
}
