//! `/cohort answers` and its page buttons: a check-in's answers, or one
//! member's, for the cohort's mentors.

use std::collections::HashMap;

use super::{AnswersView, MemberAnswers, NotedAnswer, WeekAnswers};
use crate::domain::{CheckIn, CheckInId, CheckInStatus, Cohort, CohortId, Note, ReplyId, UserId, Viewer};
use crate::engine::{Engine, EngineError, Result};
use crate::summary::Outcome;

/// Which check-in of a cohort's ledger.
#[derive(Debug, Clone, Copy)]
enum Pick {
    /// So many posted check-ins back from the newest (0 = the newest).
    WeeksBack(u32),
    /// This one, if it was posted.
    CheckIn(CheckInId),
}

/// Posted check-ins of a ledger that have occurred by `now`, newest first.
fn posted_newest_first(ledger: &[CheckIn], now: chrono::DateTime<chrono::Utc>) -> Vec<&CheckIn> {
    let mut posted: Vec<&CheckIn> = ledger
        .iter()
        .filter(|c| {
            matches!(c.status, CheckInStatus::Posted | CheckInStatus::Posting)
                && c.prompt.is_some()
                && c.occurrence_at <= now
        })
        .collect();
    posted.sort_by(|a, b| b.occurrence_at.cmp(&a.occurrence_at).then(b.id.cmp(&a.id)));
    posted
}

/// Notes grouped by the answer they are on, each group oldest first.
fn by_reply(notes: Vec<Note>) -> HashMap<ReplyId, Vec<Note>> {
    let mut out: HashMap<ReplyId, Vec<Note>> = HashMap::new();
    for n in notes {
        out.entry(n.reply_id).or_default().push(n);
    }
    for group in out.values_mut() {
        group.sort_by_key(|n| (n.created_at, n.id));
    }
    out
}

impl Engine {
    /// `/cohort answers [week] [member]`: the answers to the check-in `week`
    /// back (0 = the open or latest one), or, with `member`, that member's
    /// answers from that check-in back. Mentors of the cohort only.
    #[tracing::instrument(skip_all, fields(guild = %viewer.guild_id, user = %viewer.user_id, week))]
    pub async fn cohort_answers(&self, viewer: &Viewer, week: u32, member: Option<UserId>) -> Result<AnswersView> {
        let cohort = self.mentored_cohort(viewer).await?;
        Ok(match member {
            Some(member) => AnswersView::Member(self.member_answers(cohort, member, week).await?),
            None => AnswersView::Week(self.week_answers(cohort, Pick::WeeksBack(week)).await?),
        })
    }

    /// A page button of a check-in's answers.
    #[tracing::instrument(skip_all, fields(checkin = %checkin_id, user = %viewer.user_id))]
    pub async fn week_answers_of(&self, viewer: &Viewer, checkin_id: CheckInId) -> Result<WeekAnswers> {
        let checkin = self.store.checkin(checkin_id).await?.ok_or(EngineError::UnknownAnswer)?;
        let cohort = self.store.cohort(checkin.cohort_id).await?;
        let cohort = self.cohort_mentored_by(viewer, cohort).await?;
        self.week_answers(cohort, Pick::CheckIn(checkin_id)).await
    }

    /// A page button of one member's answers.
    #[tracing::instrument(skip_all, fields(cohort = %cohort_id, user = %viewer.user_id))]
    pub async fn member_answers_of(
        &self,
        viewer: &Viewer,
        cohort_id: CohortId,
        member: UserId,
        week: u32,
    ) -> Result<MemberAnswers> {
        let cohort = self.store.cohort(cohort_id).await?;
        let cohort = self.cohort_mentored_by(viewer, cohort).await?;
        self.member_answers(cohort, member, week).await
    }

    async fn week_answers(&self, cohort: Cohort, pick: Pick) -> Result<WeekAnswers> {
        let now = self.now();
        let activity = self.store.cohort_activity(cohort.id).await?;
        let posted = posted_newest_first(&activity.checkins, now);
        if posted.is_empty() {
            return Err(EngineError::NoCheckInPosted);
        }
        let week = match pick {
            Pick::WeeksBack(week) if (week as usize) < posted.len() => week,
            Pick::WeeksBack(week) => return Err(EngineError::NoSuchWeek { week, posted: posted.len() }),
            Pick::CheckIn(id) => posted.iter().position(|c| c.id == id).ok_or(EngineError::UnknownAnswer)? as u32,
        };
        let checkin = posted[week as usize].clone();
        let replies = self.store.replies_to_checkin(checkin.id).await?;
        let mut notes = by_reply(self.store.notes_of_checkin(checkin.id).await?);
        let (mut not_answered, mut paused) = (Vec::new(), Vec::new());
        for m in activity.members.iter().filter(|m| m.member.left_at.is_none()) {
            if replies.iter().any(|r| r.user_id == m.member.user_id) {
                continue;
            }
            match Outcome::of(&checkin, &m.member, &m.pauses, false, now) {
                Outcome::Missed | Outcome::Open => not_answered.push(m.member.user_id),
                Outcome::Paused => paused.push(m.member.user_id),
                Outcome::Answered | Outcome::NotOffered => {}
            }
        }
        let answers = replies
            .into_iter()
            .map(|reply| NotedAnswer {
                notes: notes.remove(&reply.id).unwrap_or_default(),
                checkin: checkin.clone(),
                reply,
            })
            .collect();
        Ok(WeekAnswers { cohort, checkin, week, answers, not_answered, paused })
    }

    async fn member_answers(&self, cohort: Cohort, member: UserId, week: u32) -> Result<MemberAnswers> {
        let now = self.now();
        let history = self.store.member_history(cohort.id, member).await?.ok_or(EngineError::MemberNotInCohort)?;
        let mut notes = by_reply(self.store.notes_of_member(cohort.id, member).await?);
        let considered: Vec<&CheckIn> =
            posted_newest_first(&history.checkins, now).into_iter().skip(week as usize).collect();
        let replies: HashMap<CheckInId, &crate::domain::Reply> =
            history.replies.iter().filter(|r| r.user_id == member).map(|r| (r.checkin_id, r)).collect();
        let answers = considered
            .iter()
            .filter_map(|c| {
                let reply = (*replies.get(&c.id)?).clone();
                Some(NotedAnswer { notes: notes.remove(&reply.id).unwrap_or_default(), checkin: (*c).clone(), reply })
            })
            .collect();
        Ok(MemberAnswers { cohort, member, week, answers, checkins: considered.len() })
    }
}
