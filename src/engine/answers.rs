//! Answers to check-ins (the rules every answer follows; DMs in `dms`) and
//! the impact ledger.

use chrono::{DateTime, Utc};

use super::{Engine, EngineError, Result};
use crate::domain::{
    AnswerInput, CheckIn, CheckInId, Cohort, GuildId, ImpactEntry, ImpactInput, MessageId, Reply, ReplySource, UserId,
};
use crate::store::NewAnswer;

impl Engine {
    /// The cohort's open check-in, for `/checkin`.
    pub async fn open_checkin(&self, cohort: &Cohort) -> Result<CheckIn> {
        self.store.open_checkin(cohort.id, self.clock.now()).await?.ok_or(EngineError::NoOpenCheckIn)
    }

    /// A check-in by id, only if its cohort belongs to `guild_id`, and is
    /// live ([`Engine::live_cohort`]).
    pub async fn checkin_in_guild(&self, checkin_id: CheckInId, guild_id: GuildId) -> Result<(CheckIn, Cohort)> {
        let checkin = self.store.checkin(checkin_id).await?.ok_or(EngineError::UnknownCheckIn)?;
        let cohort = self.store.cohort(checkin.cohort_id).await?.ok_or(EngineError::UnknownCheckIn)?;
        if cohort.spec.guild_id != guild_id {
            return Err(EngineError::UnknownCheckIn);
        }
        Ok((checkin, self.live_cohort(cohort).await?))
    }

    /// `cohort` if it still takes answers: active (not removed) and in a
    /// server the bot has not been removed from. A button, form or DM that
    /// names anything else is refused with [`EngineError::CohortGone`]: a
    /// removed cohort, or the cohorts of a server that removed the bot, take
    /// no answers and show none.
    pub(super) async fn live_cohort(&self, cohort: Cohort) -> Result<Cohort> {
        if !cohort.active || self.store.guild_departed(cohort.spec.guild_id).await? {
            return Err(EngineError::CohortGone);
        }
        Ok(cohort)
    }

    /// Submit or edit an answer. Validates first (nothing stored on bad input),
    /// then joins the member to the cohort and saves the answer in one
    /// transaction, and returns only after its commit.
    #[tracing::instrument(skip_all, fields(checkin = %checkin.id, user = %user_id, source = source.as_str()))]
    pub async fn answer(
        &self,
        checkin: &CheckIn,
        user_id: UserId,
        answer: &str,
        confidence: &str,
        source: ReplySource,
    ) -> Result<Reply> {
        let input = AnswerInput::parse(answer, confidence)?;
        let now = self.clock.now();
        self.save_answer_to(checkin, user_id, input, source, None, now).await
    }

    /// Check-in `checkin_id` re-read from the ledger, if it is open at `now`:
    /// a caller's copy may predate the close.
    /// Save `input` as `user_id`'s answer to `checkin`, which must still be
    /// open at `now`: joining the cohort and saving are one transaction,
    /// committed with whatever answers arrive at the same moment. An answer
    /// sent as the DM `dm_message_id` is then held by that DM.
    pub(super) async fn save_answer_to(
        &self,
        checkin: &CheckIn,
        user_id: UserId,
        input: AnswerInput,
        source: ReplySource,
        dm_message_id: Option<MessageId>,
        now: DateTime<Utc>,
    ) -> Result<Reply> {
        let checkin = self.open_checkin_now(checkin.id, now).await?;
        let answer = NewAnswer {
            cohort_id: checkin.cohort_id,
            checkin_id: checkin.id,
            user_id,
            input,
            source,
            dm_message_id,
            now,
        };
        let reply = self.store.save_answer(answer).await?;
        self.open_dm_channel_ahead(user_id);
        Ok(reply)
    }

    pub(super) async fn open_checkin_now(&self, checkin_id: CheckInId, now: DateTime<Utc>) -> Result<CheckIn> {
        let checkin = self.store.checkin(checkin_id).await?.ok_or(EngineError::UnknownCheckIn)?;
        // Re-read with the check-in: the cohort may have been removed (or its
        // server may have removed the bot) since the caller looked.
        let cohort = self.store.cohort(checkin.cohort_id).await?.ok_or(EngineError::UnknownCheckIn)?;
        self.live_cohort(cohort).await?;
        if !checkin.is_open_at(now) {
            return Err(EngineError::CheckInClosed);
        }
        Ok(checkin)
    }

    #[tracing::instrument(skip_all, fields(cohort = %cohort.id, user = %user_id))]
    pub async fn record_impact(
        &self,
        cohort: &Cohort,
        user_id: UserId,
        what_changed: &str,
        evidence: &str,
        who_benefited: &str,
        link: &str,
    ) -> Result<ImpactEntry> {
        let input = ImpactInput::parse(what_changed, evidence, who_benefited, link)?;
        let now = self.clock.now();
        self.store.join(cohort.id, user_id, now).await?;
        Ok(self.store.insert_impact(cohort.id, user_id, &input, now).await?)
    }
}
