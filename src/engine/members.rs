//! Membership, pauses, and forgetting a member.

use chrono::{DateTime, Duration, Utc};

use super::{Engine, EngineError, MAX_PAUSE_WEEKS, Result};
use crate::domain::{Cohort, UserId};

impl Engine {
    /// Returns false when the user was already an active member.
    #[tracing::instrument(skip_all, fields(cohort = %cohort.id, user = %user_id))]
    pub async fn join(&self, cohort: &Cohort, user_id: UserId) -> Result<bool> {
        let joined = self.store.join(cohort.id, user_id, self.clock.now()).await?;
        self.open_dm_channel_ahead(user_id);
        Ok(joined)
    }

    #[tracing::instrument(skip_all, fields(cohort = %cohort.id, user = %user_id))]
    pub async fn leave(&self, cohort: &Cohort, user_id: UserId) -> Result<()> {
        if !self.store.leave(cohort.id, user_id, self.clock.now()).await? {
            return Err(EngineError::NotAMember);
        }
        Ok(())
    }

    /// Pause for `weeks` weeks from now; returns when the pause ends.
    #[tracing::instrument(skip_all, fields(cohort = %cohort.id, user = %user_id))]
    pub async fn pause(&self, cohort: &Cohort, user_id: UserId, weeks: u32) -> Result<DateTime<Utc>> {
        if !(1..=MAX_PAUSE_WEEKS).contains(&weeks) {
            return Err(EngineError::PauseWeeks);
        }
        self.require_member(cohort, user_id).await?;
        let now = self.clock.now();
        let until = now + Duration::weeks(i64::from(weeks));
        self.store.pause(cohort.id, user_id, now, until).await?;
        Ok(until)
    }

    #[tracing::instrument(skip_all, fields(cohort = %cohort.id, user = %user_id))]
    pub async fn resume(&self, cohort: &Cohort, user_id: UserId) -> Result<()> {
        self.require_member(cohort, user_id).await?;
        if !self.store.resume(cohort.id, user_id, self.clock.now()).await? {
            return Err(EngineError::NotPaused);
        }
        Ok(())
    }

    pub(super) async fn require_member(&self, cohort: &Cohort, user_id: UserId) -> Result<()> {
        match self.store.member(cohort.id, user_id).await? {
            Some(m) if m.left_at.is_none() => Ok(()),
            _ => Err(EngineError::NotAMember),
        }
    }

    /// `/forget-me`: delete every row about the user (as `trellis
    /// forget-user` does). Returns the number of rows deleted.
    #[tracing::instrument(skip_all, fields(user = %user_id))]
    pub async fn forget_me(&self, user_id: UserId) -> Result<u64> {
        Ok(self.store.forget_user(user_id).await?.iter().map(|(_, n)| n).sum())
    }
}
