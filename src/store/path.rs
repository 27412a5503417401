//! The Staff path: each member's project and the steps they marked done, with
//! their history. [`PathProject`] and [`StepEvidence`] are built from their
//! row types in one place each.

use chrono::{DateTime, Utc};

use super::codec::{from_unix, unix};
use super::failure::{Result, StoreError};
use super::handle::Store;
#[cfg(any(test, feature = "test-util"))]
use crate::domain::StepEdit;
use crate::domain::{
    CohortId, EvidenceInput, PathProject, PathStep, PathStepId, ProjectInput, StaffPath, StepEvidence, UserId,
};

/// The columns of a [`ProjectRow`], in its order, written once for every
/// statement that reads one.
macro_rules! project_columns {
    ($($t:ident)?) => {
        $crate::store::codec::columns!($($t:)? cohort_id, user_id, what, why, teams, created_at, updated_at)
    };
}

#[derive(sqlx::FromRow)]
struct ProjectRow {
    cohort_id: CohortId,
    user_id: UserId,
    what: String,
    why: String,
    teams: String,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<ProjectRow> for PathProject {
    type Error = StoreError;

    fn try_from(r: ProjectRow) -> Result<Self> {
        Ok(PathProject {
            cohort_id: r.cohort_id,
            user_id: r.user_id,
            what: r.what,
            why: r.why,
            teams: r.teams,
            created_at: from_unix(r.created_at)?,
            updated_at: from_unix(r.updated_at)?,
        })
    }
}

/// The columns of a [`StepRow`], in its order, written once for every
/// statement that reads one.
macro_rules! step_columns {
    ($($t:ident)?) => {
        $crate::store::codec::columns!($($t:)? id, cohort_id, user_id, step, evidence, link, done_at, updated_at)
    };
}

#[derive(sqlx::FromRow)]
struct StepRow {
    id: PathStepId,
    cohort_id: CohortId,
    user_id: UserId,
    step: String,
    evidence: String,
    link: Option<String>,
    done_at: i64,
    updated_at: i64,
}

impl TryFrom<StepRow> for StepEvidence {
    type Error = StoreError;

    fn try_from(r: StepRow) -> Result<Self> {
        Ok(StepEvidence {
            id: r.id,
            cohort_id: r.cohort_id,
            user_id: r.user_id,
            step: r.step.parse().map_err(|e: crate::domain::path::UnknownStep| StoreError::Corrupt(e.to_string()))?,
            evidence: r.evidence,
            link: r.link,
            done_at: from_unix(r.done_at)?,
            updated_at: from_unix(r.updated_at)?,
        })
    }
}

fn projects(rows: Vec<ProjectRow>) -> Result<Vec<PathProject>> {
    rows.into_iter().map(PathProject::try_from).collect()
}

fn steps(rows: Vec<StepRow>) -> Result<Vec<StepEvidence>> {
    rows.into_iter().map(StepEvidence::try_from).collect()
}

impl Store {
    /// Store a member's project, or replace it (the trigger keeps the old
    /// version in `path_project_edits`). Returns after commit.
    pub async fn upsert_project(
        &self,
        cohort_id: CohortId,
        user_id: UserId,
        input: &ProjectInput,
        now: DateTime<Utc>,
    ) -> Result<PathProject> {
        let row: ProjectRow = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "INSERT INTO path_projects (cohort_id, user_id, what, why, teams, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (cohort_id, user_id) DO UPDATE SET what = excluded.what, why = excluded.why, \
             teams = excluded.teams, updated_at = excluded.updated_at \
             RETURNING ",
            project_columns!()
        ))
        .bind(cohort_id)
        .bind(user_id)
        .bind(&input.what)
        .bind(&input.why)
        .bind(&input.teams)
        .bind(unix(now))
        .bind(unix(now))
        .fetch_one(pool)
        .await)?;
        PathProject::try_from(row)
    }

    /// Mark a step done with its evidence, or replace the evidence of a step
    /// done before (the trigger keeps the old version in `path_step_edits`;
    /// `done_at` stays the first time). Returns after commit.
    pub async fn upsert_step(
        &self,
        cohort_id: CohortId,
        user_id: UserId,
        step: PathStep,
        input: &EvidenceInput,
        now: DateTime<Utc>,
    ) -> Result<StepEvidence> {
        let row: StepRow = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "INSERT INTO path_steps (cohort_id, user_id, step, evidence, link, done_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (cohort_id, user_id, step) DO UPDATE SET evidence = excluded.evidence, \
             link = excluded.link, updated_at = excluded.updated_at \
             RETURNING ",
            step_columns!()
        ))
        .bind(cohort_id)
        .bind(user_id)
        .bind(step.as_str())
        .bind(&input.text)
        .bind(input.link.as_deref())
        .bind(unix(now))
        .bind(unix(now))
        .fetch_one(pool)
        .await)?;
        StepEvidence::try_from(row)
    }

    /// A member's path in one cohort: project and steps done, in one read
    /// transaction.
    pub async fn staff_path(&self, cohort_id: CohortId, user_id: UserId) -> Result<StaffPath> {
        let read_tx = self.backend().read_tx();
        let (project, rows) = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_with(read_tx).await?;
            let project: Option<ProjectRow> = sqlx::query_as(concat!(
                "SELECT ",
                project_columns!(),
                " FROM path_projects \
                 WHERE cohort_id = $1 AND user_id = $2"
            ))
            .bind(cohort_id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
            let rows: Vec<StepRow> = sqlx::query_as(concat!(
                "SELECT ",
                step_columns!(),
                " FROM path_steps \
                 WHERE cohort_id = $1 AND user_id = $2"
            ))
            .bind(cohort_id)
            .bind(user_id)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await.map(|()| (project, rows))
        })?;
        Ok(StaffPath::of(user_id, project.map(PathProject::try_from).transpose()?, steps(rows)?))
    }

    /// Every project and every step done in a cohort (for the export), by
    /// member.
    pub async fn paths_of_cohort(&self, cohort_id: CohortId) -> Result<(Vec<PathProject>, Vec<StepEvidence>)> {
        let read_tx = self.backend().read_tx();
        let (project_rows, step_rows) = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_with(read_tx).await?;
            let project_rows: Vec<ProjectRow> = sqlx::query_as(concat!(
                "SELECT ",
                project_columns!(),
                " FROM path_projects \
                 WHERE cohort_id = $1 ORDER BY user_id"
            ))
            .bind(cohort_id)
            .fetch_all(&mut *tx)
            .await?;
            let step_rows: Vec<StepRow> = sqlx::query_as(concat!(
                "SELECT ",
                step_columns!(),
                " FROM path_steps \
                 WHERE cohort_id = $1 ORDER BY user_id, done_at, id"
            ))
            .bind(cohort_id)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await.map(|()| (project_rows, step_rows))
        })?;
        let mut steps = steps(step_rows)?;
        steps.sort_by_key(|s| (s.user_id, s.step));
        Ok((projects(project_rows)?, steps))
    }

    /// Earlier versions of a step's evidence, oldest first.
    #[cfg(any(test, feature = "test-util"))]
    pub async fn step_history(&self, step_id: PathStepId) -> Result<Vec<StepEdit>> {
        let rows: Vec<(String, Option<String>, i64)> = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT evidence, link, written_at FROM path_step_edits WHERE step_id = $1 ORDER BY id"
        )
        .bind(step_id)
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(|(evidence, link, t)| Ok(StepEdit { evidence, link, written_at: from_unix(t)? })).collect()
    }

    /// Earlier versions of a member's project, oldest first, as (what, why, teams).
    #[cfg(any(test, feature = "test-util"))]
    pub async fn project_history(&self, cohort_id: CohortId, user_id: UserId) -> Result<Vec<(String, String, String)>> {
        Ok(on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT what, why, teams FROM path_project_edits WHERE cohort_id = $1 AND user_id = $2 ORDER BY id",
        )
        .bind(cohort_id)
        .bind(user_id)
        .fetch_all(pool)
        .await)?)
    }
}
