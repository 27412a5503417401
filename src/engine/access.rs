//! Who may see and do what, for everything a person asks through Discord:
//! each method takes the [`Viewer`] and returns the model to render or the
//! refusal. The rules, in one place:
//!
//! - a member sees their own answers, progress and packet, nobody else's;
//! - a mentor (the cohort's mentor role, in its guild) sees the progress and
//!   status of that cohort's members, and nothing of any other cohort;
//! - a cohort's forms work in its channel, or for its members anywhere in the
//!   guild; a hand-made custom_id elsewhere reveals nothing;
//! - a cohort's button under a DM (a DM has no channel to be in) stores only
//!   for the cohort's current members, and reveals nothing to anyone else;
//! - setting up and removing cohorts needs the Manage Server permission;
//! - the mentoring loop (answers for mentors, notes, the Staff path) follows
//!   the same rules, spelled out in `engine/mentoring`.

use super::{Engine, EngineError, Result};
use crate::domain::{CheckIn, CheckInId, Cohort, CohortId, ImpactEntry, Reply, ReplySource, UserId, Viewer};
use crate::summary::mentoring::{NOTES_PER_PROGRESS, ProgressMentoring, ShownNote, StatusMentoring};
use crate::summary::packet::PacketMaterial;
use crate::summary::{self, CohortStatus, MemberProgress};

/// The answer form of an open check-in, with the member's current answer to
/// prefill it.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerForm {
    pub checkin: CheckIn,
    pub current: Option<Reply>,
}

/// A committed answer, and whether it replaced an earlier one.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedAnswer {
    pub reply: Reply,
    pub edited: bool,
    /// Then and now: the member's latest answer to an earlier check-in that
    /// asked the same prompt, if they gave one.
    pub earlier: Option<Reply>,
}

impl Engine {
    /// `/checkin`: the form for the open check-in of the viewer's cohort (or,
    /// for someone not in a cohort yet, of this channel's cohort).
    #[tracing::instrument(skip_all, fields(guild = %viewer.guild_id, user = %viewer.user_id))]
    pub async fn answer_form(&self, viewer: &Viewer) -> Result<AnswerForm> {
        let cohort = match self.cohort_for(viewer).await {
            Err(EngineError::NotAMember) => self.cohort_here(viewer).await?,
            other => other?,
        };
        let checkin = self.open_checkin(&cohort).await?;
        let current = self.store.reply(checkin.id, viewer.user_id).await?;
        Ok(AnswerForm { checkin, current })
    }

    /// The Answer button of a posted check-in.
    #[tracing::instrument(skip_all, fields(checkin = %checkin_id, user = %viewer.user_id))]
    pub async fn answer_form_of(&self, viewer: &Viewer, checkin_id: CheckInId) -> Result<AnswerForm> {
        let (checkin, cohort) = self.checkin_in_guild(checkin_id, viewer.guild_id).await?;
        self.require_reachable(&cohort, viewer).await?;
        if !checkin.is_open_at(self.now()) {
            return Err(EngineError::CheckInClosed);
        }
        let current = self.store.reply(checkin.id, viewer.user_id).await?;
        Ok(AnswerForm { checkin, current })
    }

    /// A submitted answer form: validated, committed, then returned.
    #[tracing::instrument(skip_all, fields(checkin = %checkin_id, user = %viewer.user_id))]
    pub async fn submit_answer(
        &self,
        viewer: &Viewer,
        checkin_id: CheckInId,
        answer: &str,
        confidence: &str,
    ) -> Result<SavedAnswer> {
        let (checkin, cohort) = self.checkin_in_guild(checkin_id, viewer.guild_id).await?;
        self.require_reachable(&cohort, viewer).await?;
        let edited = self.store.reply(checkin.id, viewer.user_id).await?.is_some();
        let reply = self.answer(&checkin, viewer.user_id, answer, confidence, ReplySource::Modal).await?;
        let earlier = self.earlier_answer(&checkin, viewer.user_id).await;
        Ok(SavedAnswer { reply, edited, earlier })
    }

    /// Then and now: the member's latest answer to an earlier check-in of the
    /// same cohort that asked the same prompt. Called once the answer is
    /// committed: a failed look-up only leaves "then" out of the
    /// confirmation (logged), it must not turn it into an error.
    pub(super) async fn earlier_answer(&self, checkin: &CheckIn, user_id: UserId) -> Option<Reply> {
        let prompt = checkin.prompt.as_ref()?;
        let found = self.store.earlier_reply(checkin.cohort_id, user_id, &prompt.id, checkin.occurrence_at).await;
        found.unwrap_or_else(|e| {
            tracing::warn!(error = %crate::telemetry::ErrorChain(&e), "earlier answer not read");
            None
        })
    }

    /// `/impact`: the cohort whose ledger the form adds to.
    pub async fn impact_form(&self, viewer: &Viewer) -> Result<Cohort> {
        self.cohort_for(viewer).await
    }

    /// A submitted impact form for cohort `cohort_id`.
    #[tracing::instrument(skip_all, fields(cohort = %cohort_id, user = %viewer.user_id))]
    pub async fn submit_impact(
        &self,
        viewer: &Viewer,
        cohort_id: CohortId,
        what_changed: &str,
        evidence: &str,
        who_benefited: &str,
        link: &str,
    ) -> Result<ImpactEntry> {
        let cohort = self.form_cohort(viewer, cohort_id).await?;
        self.record_impact(&cohort, viewer.user_id, what_changed, evidence, who_benefited, link).await
    }

    /// The cohort a submitted form names (`impact:{id}`, the path forms), if
    /// the viewer may write there: an active cohort of their guild, reached
    /// from its channel or by one of its members. Anything else is "not a
    /// cohort's channel", which reveals nothing.
    pub(super) async fn form_cohort(&self, viewer: &Viewer, cohort_id: CohortId) -> Result<Cohort> {
        let cohort = self
            .store
            .cohort(cohort_id)
            .await?
            .filter(|c| c.spec.guild_id == viewer.guild_id)
            .ok_or(EngineError::NotACohortChannel)?;
        let cohort = self.live_cohort(cohort).await?;
        match self.require_reachable(&cohort, viewer).await {
            Err(EngineError::UnknownCheckIn) => Err(EngineError::NotACohortChannel),
            other => other.map(|()| cohort),
        }
    }

    /// `/progress`: the viewer's own, or, for a mentor, a member of a cohort
    /// they mentor. `window_weeks` is the recent window.
    #[tracing::instrument(skip_all, fields(guild = %viewer.guild_id, user = %viewer.user_id, member = %member))]
    pub async fn progress_for(
        &self,
        viewer: &Viewer,
        member: UserId,
        window_weeks: u32,
    ) -> Result<(Cohort, MemberProgress)> {
        let own = member == viewer.user_id;
        let cohort = if own {
            self.cohort_for(viewer).await?
        } else {
            // The member's cohort here, and only if the viewer mentors it.
            match self.cohort_for_member(viewer.guild_id, viewer.channel_id, member).await {
                Ok(c) if viewer.is_mentor_of(&c) => c,
                _ => return Err(EngineError::NotTheirMentor),
            }
        };
        let Some(h) = self.store.member_history(cohort.id, member).await? else {
            return Err(if own { EngineError::NotAMember } else { EngineError::MemberNotInCohort });
        };
        let mut progress =
            MemberProgress::compute(&h.member, &h.pauses, &h.checkins, &h.replies, &h.impact, window_weeks, self.now());
        progress.mentoring = self.progress_mentoring(cohort.id, member, own, &h.checkins).await?;
        Ok((cohort, progress))
    }

    /// `/cohort status`: this channel's cohort, else the only cohort here the
    /// viewer mentors; mentors only.
    #[tracing::instrument(skip_all, fields(guild = %viewer.guild_id, user = %viewer.user_id))]
    pub async fn cohort_status_for(&self, viewer: &Viewer, window_weeks: u32) -> Result<(Cohort, CohortStatus)> {
        let cohorts = self.cohorts_in_guild(viewer.guild_id).await?;
        let here = cohorts.iter().find(|c| c.spec.channel_id == viewer.channel_id);
        let mut mine = cohorts.iter().filter(|c| viewer.is_mentor_of(c));
        let cohort = match (here, mine.next(), mine.next()) {
            // An admin sees it too: whoever can fix what Discord refuses
            // (a mentor who lost their role cannot).
            (Some(c), _, _) if viewer.is_mentor_of(c) || viewer.can_manage => c.clone(),
            (Some(_), _, _) => return Err(EngineError::NotThisCohortsMentor),
            (None, Some(only), None) => only.clone(),
            (None, None, _) => return Err(EngineError::NotAMentor),
            (None, Some(_), Some(_)) => return Err(EngineError::SeveralCohortsMentored),
        };
        let delivery = self.delivery_problems(&cohort).await?;
        let mut activity = self.store.cohort_activity(cohort.id).await?;
        // Members who left the server are shown apart, not counted.
        activity.members.retain(|m| !delivery.left.contains(&m.member.user_id));
        let mut status = CohortStatus::from_activity(&activity.members, &activity.checkins, window_weeks, self.now());
        status.delivery = delivery;
        let mentoring = self.store.cohort_mentoring(cohort.id).await?;
        status.mentoring =
            StatusMentoring::compute(&activity.members, status.current.as_ref().map(|c| c.id), &mentoring);
        Ok((cohort, status))
    }

    /// `/packet`: the viewer's own promotion-evidence packet as Markdown,
    /// headed with `member_name`: their Staff path, impact ledger, answers
    /// (then and now where a prompt came back) and mentors' notes.
    #[tracing::instrument(skip_all, fields(guild = %viewer.guild_id, user = %viewer.user_id))]
    pub async fn packet_for(&self, viewer: &Viewer, member_name: &str) -> Result<String> {
        let cohort = self.cohort_for(viewer).await?;
        self.packet(&cohort, viewer.user_id, member_name).await?.ok_or(EngineError::NotAMember)
    }

    /// The packet of `user_id` in `cohort`, headed with `member_name`;
    /// `None` when they are not a member of it.
    pub(super) async fn packet(&self, cohort: &Cohort, user_id: UserId, member_name: &str) -> Result<Option<String>> {
        let Some(h) = self.store.member_history(cohort.id, user_id).await? else { return Ok(None) };
        let path = self.store.staff_path(cohort.id, user_id).await?;
        let notes = self.store.notes_of_member(cohort.id, user_id).await?;
        let material = PacketMaterial {
            checkins: &h.checkins,
            replies: &h.replies,
            impact: &h.impact,
            path: &path,
            notes: &notes,
        };
        Ok(Some(summary::packet::render(cohort, &h.member, member_name, &material, self.now())))
    }

    /// The notes `/progress` shows (the member's unread ones; marked read
    /// when the member reads their own) and the Staff path.
    async fn progress_mentoring(
        &self,
        cohort_id: CohortId,
        member: UserId,
        own: bool,
        checkins: &[CheckIn],
    ) -> Result<ProgressMentoring> {
        let read_at = self.now();
        let mut unseen = self.store.unseen_notes(cohort_id, member).await?;
        let more = unseen.len().saturating_sub(NOTES_PER_PROGRESS);
        unseen.truncate(NOTES_PER_PROGRESS);
        if own {
            let ids: Vec<_> = unseen.iter().map(|n| n.id).collect();
            self.store.mark_notes_seen(&ids, read_at, read_at).await?;
        }
        Ok(ProgressMentoring {
            new_notes: ShownNote::with_questions(unseen, checkins),
            more_notes: more,
            path: self.store.staff_path(cohort_id, member).await?,
        })
    }

    /// A cohort's forms are for its own channel, or for its members anywhere in
    /// the guild (`/checkin`, `/impact` elsewhere). Answering joins the cohort,
    /// so without this a hand-made custom_id would enrol someone in a cohort
    /// whose channel they cannot see. Refused as "unknown" to reveal nothing.
    pub(super) async fn require_reachable(&self, cohort: &Cohort, viewer: &Viewer) -> Result<()> {
        if cohort.spec.channel_id == viewer.channel_id {
            return Ok(());
        }
        self.require_dm_member(cohort, viewer.user_id).await
    }

    /// The rule for someone outside the cohort's channel, and so for every
    /// button under a DM: current members only, anyone else is told the
    /// check-in is unknown.
    pub(super) async fn require_dm_member(&self, cohort: &Cohort, user_id: UserId) -> Result<()> {
        match self.require_member(cohort, user_id).await {
            Err(EngineError::NotAMember) => Err(EngineError::UnknownCheckIn),
            other => other,
        }
    }
}
