//! The mentors' digest of a check-in that has closed: how many answered,
//! missed or were paused, who has gone quiet, and how the cohort covers each
//! track. It counts exactly as `/cohort status` does ([`Outcome::of`],
//! [`CohortStatus`]), and holds no text written by any member.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::mentoring::DigestMentoring;
use super::{CohortStatus, DEFAULT_WINDOW_WEEKS, MemberActivity, Outcome, TrackCoverage};
use crate::domain::{CheckIn, CheckInId, Track, UserId};

/// A member who missed this check-in and the ones before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuietMember {
    pub user_id: UserId,
    /// Consecutive check-ins missed, counting back from this one (paused ones skipped).
    pub missed_in_a_row: u32,
}

/// The digest of one closed check-in.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    pub checkin_id: CheckInId,
    pub occurrence_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub track: Option<Track>,
    /// The question as asked (the prompt library's text, not a member's).
    pub question: String,
    pub answered: u32,
    /// Members when it was posted who did not answer and were not paused.
    pub missing: u32,
    /// Members paused at some moment while it was open who did not answer.
    pub paused: u32,
    /// Current members who missed [`super::QUIET_AFTER`] or more check-ins in a
    /// row up to this one; most missed first.
    pub quiet: Vec<QuietMember>,
    /// Every track, over the `window_weeks` before the close (as `/cohort status`).
    pub tracks: BTreeMap<Track, TrackCoverage>,
    pub window_weeks: u32,
    /// Current members of the cohort.
    pub members: u32,
    /// Answers without a mentor's note, and Staff path steps per member.
    /// Empty from [`Digest::compute`]; the scheduler adds it
    /// ([`DigestMentoring::compute`]).
    pub mentoring: DigestMentoring,
}

impl Digest {
    /// The cohort as it stood when `checkin` closed.
    ///
    /// `members`: the cohort's members with their pauses and the check-ins
    /// they answered; `checkins`: its ledger. Later check-ins are left out, so
    /// a digest computed late says what one computed at the close would have.
    pub fn compute(checkin: &CheckIn, members: &[MemberActivity], checkins: &[CheckIn]) -> Self {
        let history: Vec<CheckIn> =
            checkins.iter().filter(|c| c.occurrence_at <= checkin.occurrence_at).cloned().collect();
        let close = checkin.closes_at;

        let (mut answered, mut missing, mut paused) = (0, 0, 0);
        for m in members {
            let replied = m.answered.contains(&checkin.id);
            match Outcome::of(checkin, &m.member, &m.pauses, replied, close) {
                Outcome::Answered => answered += 1,
                Outcome::Missed => missing += 1,
                Outcome::Paused => paused += 1,
                // Nothing is open at the close; NotOffered: joined later or left before.
                Outcome::Open | Outcome::NotOffered => {}
            }
        }

        // With the ledger cut at this check-in and its close as "now", the
        // status describes the cohort as this check-in closed.
        let status = CohortStatus::from_activity(members, &history, DEFAULT_WINDOW_WEEKS, close);
        let mut quiet: Vec<QuietMember> =
            status.quiet().map(|m| QuietMember { user_id: m.user_id, missed_in_a_row: m.missed_in_a_row }).collect();
        quiet.sort_by(|a, b| b.missed_in_a_row.cmp(&a.missed_in_a_row).then(a.user_id.cmp(&b.user_id)));

        Digest {
            checkin_id: checkin.id,
            occurrence_at: checkin.occurrence_at,
            closes_at: close,
            track: checkin.prompt.as_ref().map(|p| p.track),
            question: checkin.prompt.as_ref().map(|p| p.question.clone()).unwrap_or_default(),
            answered,
            missing,
            paused,
            quiet,
            tracks: status.tracks,
            window_weeks: status.window_weeks,
            members: status.members.len() as u32,
            mentoring: DigestMentoring::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::domain::{CheckInStatus, CohortId, Member, MessageId, Pause, PostedPrompt, Reply, ReplyId};

    fn t(weeks: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2027-01-04T09:00:00Z").unwrap().with_timezone(&Utc) + Duration::weeks(weeks)
    }

    fn checkin(id: i64, track: Track) -> CheckIn {
        CheckIn {
            id: CheckInId::new(id),
            cohort_id: CohortId::new(1),
            occurrence_at: t(id),
            closes_at: t(id + 1),
            nonce: format!("t1-{id}"),
            status: CheckInStatus::Posted,
            prompt: Some(PostedPrompt { id: format!("p{id}"), track, question: format!("question {id}") }),
            message_id: Some(MessageId::new(1)),
        }
    }

    fn member(user_id: u64, joined_at: DateTime<Utc>) -> Member {
        Member { cohort_id: CohortId::new(1), user_id: UserId::new(user_id), joined_at, left_at: None }
    }

    fn reply(checkin_id: i64, user_id: u64) -> Reply {
        let at = t(checkin_id) + Duration::hours(2);
        Reply {
            id: ReplyId::new(0),
            checkin_id: CheckInId::new(checkin_id),
            user_id: UserId::new(user_id),
            answer: "private text".into(),
            confidence: Some(3),
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn counts_quiet_members_and_coverage_as_of_the_close() {
        // Check-in n occurs in week n and closes a week later; the digest is of check-in 2.
        let checkins: Vec<CheckIn> = [Track::Scope, Track::Influence, Track::Scope, Track::Mentoring]
            .iter()
            .zip(0..)
            .map(|(&tr, i)| checkin(i, tr))
            .collect();
        let start = t(0) - Duration::hours(1);
        let members = vec![
            (member(10, start), vec![]), // answers everything
            (member(11, start), vec![]), // answered check-in 0 only: quiet for 2
            (member(12, start), vec![Pause { starts_at: t(2) + Duration::days(1), ends_at: t(4) }]),
            (member(13, t(2) + Duration::hours(1)), vec![]), // joined after check-in 2 was posted
            (member(14, t(3) + Duration::hours(1)), vec![]), // joined after the close
        ];
        let replies = vec![
            reply(0, 10),
            reply(1, 10),
            reply(2, 10),
            reply(0, 11),
            reply(1, 12),
            reply(3, 11), // after the close: left out
            reply(3, 13),
        ];
        let d = Digest::compute(&checkins[2], &MemberActivity::from_replies(&members, &replies), &checkins);
        assert_eq!((d.answered, d.missing, d.paused), (1, 1, 1), "{d:?}");
        assert_eq!(d.quiet, vec![QuietMember { user_id: UserId::new(11), missed_in_a_row: 2 }]);
        assert_eq!((d.track, d.question.as_str()), (Some(Track::Scope), "question 2"));
        let scope = d.tracks[&Track::Scope];
        assert_eq!((scope.checkins, scope.answered), (2, 3), "{scope:?}");
        assert_eq!(d.tracks[&Track::Influence].answered, 2);
        assert_eq!(d.tracks[&Track::Mentoring].checkins, 0, "check-in 3 came after the close");
        assert_eq!(d.tracks.len(), Track::ALL.len());
    }

    #[test]
    fn a_member_who_left_before_the_check_in_is_not_missing() {
        let checkins = vec![checkin(0, Track::Scope), checkin(1, Track::Judgment)];
        let mut gone = member(20, t(0) - Duration::hours(1));
        gone.left_at = Some(t(1) - Duration::hours(1));
        let members = vec![(gone, vec![]), (member(21, t(0) - Duration::hours(1)), vec![])];
        let d = Digest::compute(&checkins[1], &MemberActivity::from_replies(&members, &[reply(1, 21)]), &checkins);
        assert_eq!((d.answered, d.missing, d.paused, d.members), (1, 0, 0, 1));
        assert!(d.quiet.is_empty());
    }
}
