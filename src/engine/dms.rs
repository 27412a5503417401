//! Answers by direct message: a plain DM, the cohort buttons that settle an
//! ambiguous one, and edits of the DM that holds an answer.
//!
//! The rules:
//! - a DM goes to the member's one open check-in; with several open, to the
//!   only one they have not answered yet; otherwise the member picks with one
//!   button per open check-in, and nothing is stored until they press one;
//! - the DM that was saved holds the answer (its message id is stored with
//!   it): editing that DM while the check-in is open edits the answer, history
//!   kept. A form or a newer DM takes the answer over; an edit of a DM that
//!   holds no answer changes nothing.

use super::{Engine, EngineError, Result};
use crate::domain::{AnswerInput, CheckIn, CheckInId, MessageId, Reply, ReplySource, UserId};

/// What became of a plain DM.
#[derive(Debug, Clone, PartialEq)]
pub enum DmAnswer {
    /// Stored as the answer to `reply.checkin_id`, a check-in of cohort
    /// `cohort_name`; the DM now holds it.
    Saved {
        reply: Reply,
        cohort_name: String,
        /// Then and now: their answer when the same prompt came before.
        earlier: Option<Reply>,
    },
    /// Several open check-ins could be meant: ask, one button per choice,
    /// in ledger order. Nothing was stored.
    Choose(Vec<DmChoice>),
}

/// One open check-in a DM may answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmChoice {
    pub checkin_id: CheckInId,
    pub cohort_name: String,
    /// The member has answered it already: choosing it replaces that answer.
    pub answered: bool,
}

/// What became of an edited DM.
#[derive(Debug, Clone, PartialEq)]
pub enum DmEdit {
    /// The DM holds no answer: it was refused, asked about with buttons and
    /// not settled, or replaced since by a newer DM or by the form. Nothing
    /// changed; the member was already answered when the DM arrived.
    NotAnAnswer,
    /// The DM holds the answer and its text is the same (Discord also sends
    /// an update when a link preview appears, and may send an event twice).
    Unchanged,
    /// The answer now reads as the edited DM.
    Updated { reply: Reply, cohort_name: String },
}

impl Engine {
    /// A plain DM `dm_message_id` from `user_id`: the answer to their one open
    /// check-in, or to the only open one they have not answered; otherwise
    /// the choices to ask about. Bad input is refused before anything is
    /// looked up. Errors: [`EngineError::Input`], [`EngineError::NoOpenCheckIn`].
    #[tracing::instrument(skip_all, fields(user = %user_id, message = %dm_message_id))]
    pub async fn answer_by_dm(&self, user_id: UserId, dm_message_id: MessageId, text: &str) -> Result<DmAnswer> {
        let input = AnswerInput::parse(text, "")?;
        let open = self.store.open_checkins_for_member(user_id, self.clock.now()).await?;
        let mut unanswered = Vec::new();
        let mut choices = Vec::new();
        for checkin in &open {
            let answered = self.store.reply(checkin.id, user_id).await?.is_some();
            if !answered {
                unanswered.push(checkin);
            }
            choices.push((checkin, answered));
        }
        let target: &CheckIn = match (open.as_slice(), unanswered.as_slice()) {
            ([], _) => return Err(EngineError::NoOpenCheckIn),
            ([only], _) => only,
            (_, [only]) => only,
            _ => {
                let mut asked = Vec::with_capacity(choices.len());
                for (checkin, answered) in choices {
                    let cohort_name = self.cohort_name_of(checkin).await?;
                    asked.push(DmChoice { checkin_id: checkin.id, cohort_name, answered });
                }
                return Ok(DmAnswer::Choose(asked));
            }
        };
        let reply = self.save_dm(target, user_id, dm_message_id, &input).await?;
        let cohort_name = self.cohort_name_of(target).await?;
        let earlier = self.earlier_answer(target, user_id).await;
        Ok(DmAnswer::Saved { reply, cohort_name, earlier })
    }

    /// A cohort button under an ambiguous DM, pressed by `user_id`: their DM
    /// `dm_message_id`, whose current `text` the caller read back from
    /// Discord, becomes the answer to `checkin_id`, and holds it. Only the
    /// cohort's current members may (a DM has no channel to be in), refused
    /// as [`EngineError::UnknownCheckIn`] to reveal nothing. Errors also:
    /// [`EngineError::CheckInClosed`], [`EngineError::Input`].
    #[tracing::instrument(skip_all, fields(checkin = %checkin_id, user = %user_id, message = %dm_message_id))]
    pub async fn answer_dm_choice(
        &self,
        user_id: UserId,
        checkin_id: CheckInId,
        dm_message_id: MessageId,
        text: &str,
    ) -> Result<(Reply, String, Option<Reply>)> {
        let checkin = self.store.checkin(checkin_id).await?.ok_or(EngineError::UnknownCheckIn)?;
        let cohort = self.store.cohort(checkin.cohort_id).await?.ok_or(EngineError::UnknownCheckIn)?;
        self.require_dm_member(&cohort, user_id).await?;
        let cohort = self.live_cohort(cohort).await?;
        let input = AnswerInput::parse(text, "")?;
        let reply = self.save_dm(&checkin, user_id, dm_message_id, &input).await?;
        let earlier = self.earlier_answer(&checkin, user_id).await;
        Ok((reply, cohort.spec.name, earlier))
    }

    /// `user_id` edited their DM `dm_message_id` to `text`. Only the DM that
    /// holds an answer counts, and only while its check-in is open; the
    /// answer is validated like a fresh DM. Errors:
    /// [`EngineError::CheckInClosed`] and [`EngineError::Input`], the stored
    /// answer unchanged.
    #[tracing::instrument(skip_all, fields(user = %user_id, message = %dm_message_id))]
    pub async fn edit_dm_answer(&self, user_id: UserId, dm_message_id: MessageId, text: &str) -> Result<DmEdit> {
        let Some(current) = self.store.dm_reply(user_id, dm_message_id).await? else {
            return Ok(DmEdit::NotAnAnswer);
        };
        // Stored answers are trimmed; a link preview resends the same text.
        if text.trim() == current.answer {
            return Ok(DmEdit::Unchanged);
        }
        let now = self.clock.now();
        let checkin = self.open_checkin_now(current.checkin_id, now).await?;
        let input = AnswerInput::parse(text, "")?;
        // A newer DM or a form may have taken the answer over since it was read.
        let Some(reply) = self.store.edit_dm_reply(current.id, dm_message_id, &input.text, now).await? else {
            return Ok(DmEdit::NotAnAnswer);
        };
        let cohort_name = self.cohort_name_of(&checkin).await?;
        Ok(DmEdit::Updated { reply, cohort_name })
    }

    /// Store a DM answer the way [`Engine::answer`] stores any answer (open
    /// check-in re-read, member joined), with the DM as its holder.
    async fn save_dm(
        &self,
        checkin: &CheckIn,
        user_id: UserId,
        dm_message_id: MessageId,
        input: &AnswerInput,
    ) -> Result<Reply> {
        let now = self.clock.now();
        // The DM's other answer, if any, lets go of it in the same transaction.
        self.save_answer_to(checkin, user_id, input.clone(), ReplySource::Dm, Some(dm_message_id), now).await
    }

    async fn cohort_name_of(&self, checkin: &CheckIn) -> Result<String> {
        let cohort = self.store.cohort(checkin.cohort_id).await?.ok_or(EngineError::UnknownCheckIn)?;
        Ok(cohort.spec.name)
    }
}
