//! The mentoring loop in the summaries: which answers still wait for a
//! mentor's note, how far each member is along the Staff path, and which
//! notes a member has not read yet. Pure: the store fetches the rows.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::MemberActivity;
use crate::domain::{CheckIn, CheckInId, Note, PathStep, StaffPath, UserId};

/// How many new notes one `/progress` shows; the rest wait for the next one
/// (and are in `/packet` meanwhile).
pub const NOTES_PER_PROGRESS: usize = 3;

/// What a cohort's summaries need of its notes and paths: no text, only who
/// got a note on which answer and which steps each member has done.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MentoringActivity {
    /// (check-in, member) pairs whose answer has at least one note.
    pub noted: HashSet<(CheckInId, UserId)>,
    /// Steps each member has done, in path order.
    pub steps: HashMap<UserId, Vec<PathStep>>,
}

impl MentoringActivity {
    pub fn is_noted(&self, checkin_id: CheckInId, user_id: UserId) -> bool {
        self.noted.contains(&(checkin_id, user_id))
    }

    /// How many of the member's answers have no note yet.
    pub fn unnoted(&self, activity: &MemberActivity) -> u32 {
        let user = activity.member.user_id;
        activity.answered.iter().filter(|k| !self.is_noted(**k, user)).count() as u32
    }

    /// Steps the member has done (0–7).
    pub fn steps_done(&self, user_id: UserId) -> usize {
        self.steps.get(&user_id).map_or(0, Vec::len)
    }
}

/// A member's line of the mentoring figures in `/cohort status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemberMentoring {
    /// Their answers (all time) that no mentor has noted yet.
    pub unnoted_answers: u32,
    /// Staff path steps done, 0–7.
    pub path_steps: usize,
}

/// The mentoring figures of `/cohort status`, over current members.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusMentoring {
    pub by_member: HashMap<UserId, MemberMentoring>,
    /// Answers of current members, all time, with no note.
    pub unnoted_answers: u32,
    /// Answers to the current check-in with no note.
    pub unnoted_current: u32,
    /// Answers to the current check-in.
    pub answered_current: u32,
}

impl StatusMentoring {
    /// `members`: the cohort's (former ones are skipped); `current`: the
    /// check-in the status is about.
    pub fn compute(members: &[MemberActivity], current: Option<CheckInId>, m: &MentoringActivity) -> Self {
        let mut out = StatusMentoring::default();
        for a in members.iter().filter(|a| a.member.left_at.is_none()) {
            let user = a.member.user_id;
            let line = MemberMentoring { unnoted_answers: m.unnoted(a), path_steps: m.steps_done(user) };
            out.unnoted_answers += line.unnoted_answers;
            if let Some(current) = current
                && a.answered.contains(&current)
            {
                out.answered_current += 1;
                out.unnoted_current += u32::from(!m.is_noted(current, user));
            }
            out.by_member.insert(user, line);
        }
        out
    }

    pub fn of(&self, user_id: UserId) -> MemberMentoring {
        self.by_member.get(&user_id).copied().unwrap_or_default()
    }

    /// Members per number of steps done: `[n0, n1, …, n7]`.
    pub fn path_distribution(&self) -> [usize; 8] {
        let mut out = [0; 8];
        for m in self.by_member.values() {
            out[m.path_steps.min(7)] += 1;
        }
        out
    }
}

/// The mentoring lines of the digest of one closed check-in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DigestMentoring {
    /// Answers to this check-in.
    pub answered: u32,
    /// Of those, answers no mentor has noted yet.
    pub unnoted: u32,
    /// Answers of current members, all time, with no note.
    pub unnoted_total: u32,
    /// Current members and their Staff path steps done, most first, then by id.
    pub path: Vec<(UserId, usize)>,
}

impl DigestMentoring {
    pub fn compute(checkin_id: CheckInId, members: &[MemberActivity], m: &MentoringActivity) -> Self {
        let status = StatusMentoring::compute(members, Some(checkin_id), m);
        let mut path: Vec<(UserId, usize)> = status.by_member.iter().map(|(u, l)| (*u, l.path_steps)).collect();
        path.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        DigestMentoring {
            answered: status.answered_current,
            unnoted: status.unnoted_current,
            unnoted_total: status.unnoted_answers,
            path,
        }
    }
}

/// A note as `/progress` shows it: with the question it answers and when.
#[derive(Debug, Clone, PartialEq)]
pub struct ShownNote {
    pub note: Note,
    /// The question of the check-in the answer was to.
    pub question: Option<String>,
    /// When that check-in was posted.
    pub asked_at: Option<DateTime<Utc>>,
}

impl ShownNote {
    /// Each note with its check-in looked up in `checkins` (the cohort's ledger).
    pub fn with_questions(notes: Vec<Note>, checkins: &[CheckIn]) -> Vec<ShownNote> {
        let by_id: HashMap<CheckInId, &CheckIn> = checkins.iter().map(|c| (c.id, c)).collect();
        notes
            .into_iter()
            .map(|note| {
                let checkin = by_id.get(&note.checkin_id);
                ShownNote {
                    question: checkin.and_then(|c| c.prompt.as_ref()).map(|p| p.question.clone()),
                    asked_at: checkin.map(|c| c.occurrence_at),
                    note,
                }
            })
            .collect()
    }
}

/// What `/progress` adds of the mentoring loop.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProgressMentoring {
    /// Notes not shown in `/progress` before, oldest change first, at most
    /// [`NOTES_PER_PROGRESS`].
    pub new_notes: Vec<ShownNote>,
    /// Unread notes beyond those.
    pub more_notes: usize,
    /// The member's Staff path.
    pub path: StaffPath,
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::domain::{CohortId, Member};

    fn t(days: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2027-01-04T09:00:00Z").unwrap().with_timezone(&Utc) + Duration::days(days)
    }

    fn activity(user: u64, answered: &[i64], left: bool) -> MemberActivity {
        MemberActivity {
            member: Member {
                cohort_id: CohortId::new(1),
                user_id: UserId::new(user),
                joined_at: t(0),
                left_at: left.then(|| t(30)),
            },
            pauses: vec![],
            answered: answered.iter().map(|k| CheckInId::new(*k)).collect(),
            last_answer: None,
        }
    }

    #[test]
    fn counts_answers_without_a_note_and_steps_per_current_member() {
        let members = vec![activity(1, &[1, 2, 3], false), activity(2, &[2, 3], false), activity(3, &[3], true)];
        let k = CheckInId::new;
        let m = MentoringActivity {
            noted: [(k(1), UserId::new(1)), (k(3), UserId::new(1)), (k(3), UserId::new(3))].into_iter().collect(),
            steps: [
                (UserId::new(2), vec![PathStep::Expectations, PathStep::Problem]),
                (UserId::new(3), vec![PathStep::Plan]),
            ]
            .into_iter()
            .collect(),
        };
        let s = StatusMentoring::compute(&members, Some(k(3)), &m);
        assert_eq!(s.of(UserId::new(1)), MemberMentoring { unnoted_answers: 1, path_steps: 0 });
        assert_eq!(s.of(UserId::new(2)), MemberMentoring { unnoted_answers: 2, path_steps: 2 });
        assert!(!s.by_member.contains_key(&UserId::new(3)), "former members are left out");
        assert_eq!((s.unnoted_answers, s.answered_current, s.unnoted_current), (3, 2, 1));
        assert_eq!(s.path_distribution(), [1, 0, 1, 0, 0, 0, 0, 0]);

        let d = DigestMentoring::compute(k(2), &members, &m);
        assert_eq!((d.answered, d.unnoted, d.unnoted_total), (2, 2, 3));
        assert_eq!(d.path, vec![(UserId::new(2), 2), (UserId::new(1), 0)]);
    }
}
