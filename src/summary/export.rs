//! The records of `trellis export`: one row per member per check-in that was
//! theirs to answer, then one per impact entry, one per mentor's note, one
//! per Staff path project and one per path step done, from rows the store
//! returned.
//! Pure: the `export` module reads the store and encodes these. Field names
//! and their order are an interface (see `crate::export`).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::{MemberActivity, Outcome, local_date};
use crate::domain::{
    CheckIn, CheckInId, CheckInStatus, Cohort, ImpactEntry, Note, PathProject, Reply, StepEvidence, UserId,
};

/// What a record describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RecordKind {
    /// One member's outcome for one check-in.
    #[serde(rename = "checkin")]
    CheckIn,
    /// One impact entry.
    #[serde(rename = "impact")]
    Impact,
    /// One mentor's note on one answer.
    #[serde(rename = "note")]
    Note,
    /// A member's Staff path project.
    #[serde(rename = "path_project")]
    PathProject,
    /// One Staff path step a member has done.
    #[serde(rename = "path_step")]
    PathStep,
}

/// One CSV row / JSON record. The field order is the CSV column order; the
/// names are part of the interface (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    pub kind: RecordKind,
    pub cohort: String,
    pub member_id: String,
    pub date: String,
    pub track: String,
    pub prompt_id: Option<String>,
    pub question: Option<String>,
    pub outcome: Option<&'static str>,
    pub answered: Option<bool>,
    pub confidence: Option<u8>,
    pub answer: Option<String>,
    pub written_at: Option<String>,
    pub what_changed: Option<String>,
    pub evidence: Option<String>,
    pub who_benefited: Option<String>,
    pub link: Option<String>,
    /// Of a note: the mentor who wrote it (a Discord user id, a string in JSON).
    pub author_id: Option<String>,
    pub note: Option<String>,
    /// Of a path step: its name (`expectations` … `story`).
    pub step: Option<&'static str>,
    pub project: Option<String>,
    pub why_it_matters: Option<String>,
    pub teams_affected: Option<String>,
}

/// The CSV header, in [`Record`]'s field order.
pub const HEADER: [&str; 22] = [
    "kind",
    "cohort",
    "member_id",
    "date",
    "track",
    "prompt_id",
    "question",
    "outcome",
    "answered",
    "confidence",
    "answer",
    "written_at",
    "what_changed",
    "evidence",
    "who_benefited",
    "link",
    "author_id",
    "note",
    "step",
    "project",
    "why_it_matters",
    "teams_affected",
];

/// A cohort's rows as the store returned them, for [`records`].
#[derive(Debug, Clone, Default)]
pub struct CohortRows<'a> {
    /// The cohort's ledger.
    pub checkins: &'a [CheckIn],
    /// Every member's activity.
    pub members: &'a [MemberActivity],
    pub replies: Vec<Reply>,
    pub impact: Vec<ImpactEntry>,
    pub notes: Vec<Note>,
    pub projects: Vec<PathProject>,
    pub steps: Vec<StepEvidence>,
}

impl Record {
    /// A record of `kind` with every field that does not apply left empty.
    fn empty(kind: RecordKind, cohort: &Cohort, member_id: UserId, date: String) -> Self {
        Record {
            kind,
            cohort: cohort.spec.name.clone(),
            member_id: member_id.to_string(),
            date,
            track: String::new(),
            prompt_id: None,
            question: None,
            outcome: None,
            answered: None,
            confidence: None,
            answer: None,
            written_at: None,
            what_changed: None,
            evidence: None,
            who_benefited: None,
            link: None,
            author_id: None,
            note: None,
            step: None,
            project: None,
            why_it_matters: None,
            teams_affected: None,
        }
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The check-in part of an export, gathered and not yet written: the
/// ledger's posted check-ins in order, the answers to them, and one
/// outcome per member per check-in that was theirs to answer.
#[derive(Debug, Clone)]
pub struct CheckInOutcomes<'a> {
    /// Posted check-ins with a prompt, oldest first.
    pub ledger: Vec<&'a CheckIn>,
    /// Each check-in's place in `ledger`.
    position: HashMap<CheckInId, usize>,
    /// The answers to check-ins of `ledger`, by check-in and member.
    pub replies: HashMap<(CheckInId, UserId), Reply>,
    /// (place in `ledger`, member, outcome), by check-in then member; an
    /// answer without a membership row (none should exist) still has one.
    pub rows: Vec<(usize, UserId, Outcome)>,
}

impl<'a> CheckInOutcomes<'a> {
    /// Gathers the outcomes of the members `wanted` (all of them when `None`).
    pub fn gather(
        checkins: &'a [CheckIn],
        members: &[MemberActivity],
        replies: Vec<Reply>,
        wanted: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Self {
        let mut ledger: Vec<&CheckIn> = checkins
            .iter()
            .filter(|c| c.prompt.is_some() && matches!(c.status, CheckInStatus::Posted | CheckInStatus::Posting))
            .collect();
        ledger.sort_by_key(|c| (c.occurrence_at, c.id));
        // Replies to check-ins recorded after the ledger was read (the bot runs on) are left out.
        let position: HashMap<CheckInId, usize> = ledger.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
        let replies: HashMap<(CheckInId, UserId), Reply> = replies
            .into_iter()
            .filter(|r| position.contains_key(&r.checkin_id) && is_wanted(wanted, r.user_id))
            .map(|r| ((r.checkin_id, r.user_id), r))
            .collect();
        let mut rows: Vec<(usize, UserId, Outcome)> = Vec::new();
        for a in members.iter().filter(|a| is_wanted(wanted, a.member.user_id)) {
            let user = a.member.user_id;
            for (i, c) in ledger.iter().enumerate() {
                let outcome = Outcome::of(c, &a.member, &a.pauses, replies.contains_key(&(c.id, user)), now);
                if outcome != Outcome::NotOffered {
                    rows.push((i, user, outcome));
                }
            }
        }
        // An answer whose author has no membership row (none should exist) is still exported.
        let emitted: HashSet<(usize, UserId)> = rows.iter().map(|&(i, u, _)| (i, u)).collect();
        for &(checkin_id, user) in replies.keys() {
            let i = position[&checkin_id];
            if !emitted.contains(&(i, user)) {
                rows.push((i, user, Outcome::Answered));
            }
        }
        rows.sort_by_key(|&(i, u, _)| (i, u));
        CheckInOutcomes { ledger, position, replies, rows }
    }

    /// The place of check-in `id` in the ledger, if it is in it.
    pub fn position(&self, id: CheckInId) -> Option<usize> {
        self.position.get(&id).copied()
    }
}

/// Whether rows of `user` belong in an export of `wanted` (everyone when `None`).
fn is_wanted(wanted: Option<UserId>, user: UserId) -> bool {
    wanted.is_none_or(|m| m == user)
}

/// The cohort's records, optionally of one member only: rows of other
/// members than `member` (when given) are left out, a note counting as its
/// member's. Dates are in the cohort's zone.
pub fn records(cohort: &Cohort, rows: CohortRows<'_>, member: Option<UserId>, now: DateTime<Utc>) -> Vec<Record> {
    let CohortRows { checkins, members, replies, impact, notes, projects, steps } = rows;
    let outcomes = CheckInOutcomes::gather(checkins, members, replies, member, now);
    let w = Writer { cohort, tz: cohort.timezone() };
    let mut out = Vec::with_capacity(outcomes.rows.len() + impact.len() + notes.len() + projects.len() + steps.len());
    w.checkins(&mut out, &outcomes);
    w.impact(&mut out, impact.into_iter().filter(|e| is_wanted(member, e.user_id)));
    w.notes(&mut out, &outcomes, notes.into_iter().filter(|n| is_wanted(member, n.member_id)));
    w.projects(&mut out, projects.into_iter().filter(|p| is_wanted(member, p.user_id)));
    w.steps(&mut out, steps.into_iter().filter(|s| is_wanted(member, s.user_id)));
    out
}

/// Writes records of each kind for one cohort.
struct Writer<'c> {
    cohort: &'c Cohort,
    tz: chrono_tz::Tz,
}

impl Writer<'_> {
    fn date(&self, t: DateTime<Utc>) -> String {
        local_date(t, self.tz)
    }

    /// One record per member per check-in that was theirs to answer.
    fn checkins(&self, out: &mut Vec<Record>, o: &CheckInOutcomes<'_>) {
        for &(i, user, outcome) in &o.rows {
            let c = o.ledger[i];
            let Some(prompt) = &c.prompt else { continue };
            let reply = o.replies.get(&(c.id, user));
            out.push(Record {
                track: prompt.track.to_string(),
                prompt_id: Some(prompt.id.clone()),
                question: Some(prompt.question.clone()),
                outcome: Some(outcome.as_str()),
                answered: Some(reply.is_some()),
                confidence: reply.and_then(|r| r.confidence),
                answer: reply.map(|r| r.answer.clone()),
                written_at: reply.map(|r| rfc3339(r.updated_at)),
                ..Record::empty(RecordKind::CheckIn, self.cohort, user, self.date(c.occurrence_at))
            });
        }
    }

    fn impact(&self, out: &mut Vec<Record>, impact: impl Iterator<Item = ImpactEntry>) {
        for e in impact {
            out.push(Record {
                track: e.tracks.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(","),
                written_at: Some(rfc3339(e.recorded_at)),
                what_changed: Some(e.what_changed),
                evidence: Some(e.evidence),
                who_benefited: Some(e.who_benefited),
                link: e.link,
                ..Record::empty(RecordKind::Impact, self.cohort, e.user_id, self.date(e.recorded_at))
            });
        }
    }

    /// Notes on answers to check-ins of the ledger read, in ledger order.
    fn notes(&self, out: &mut Vec<Record>, o: &CheckInOutcomes<'_>, notes: impl Iterator<Item = Note>) {
        let mut notes: Vec<(usize, Note)> = notes.filter_map(|n| Some((o.position(n.checkin_id)?, n))).collect();
        notes.sort_by_key(|(i, n)| (*i, n.member_id, n.created_at, n.id));
        for (i, n) in notes {
            let prompt = o.ledger[i].prompt.as_ref();
            out.push(Record {
                track: prompt.map(|p| p.track.to_string()).unwrap_or_default(),
                prompt_id: prompt.map(|p| p.id.clone()),
                question: prompt.map(|p| p.question.clone()),
                written_at: Some(rfc3339(n.updated_at)),
                author_id: Some(n.author_id.to_string()),
                note: Some(n.text),
                ..Record::empty(RecordKind::Note, self.cohort, n.member_id, self.date(n.created_at))
            });
        }
    }

    fn projects(&self, out: &mut Vec<Record>, projects: impl Iterator<Item = PathProject>) {
        for p in projects {
            out.push(Record {
                written_at: Some(rfc3339(p.updated_at)),
                project: Some(p.what),
                why_it_matters: Some(p.why),
                teams_affected: Some(p.teams),
                ..Record::empty(RecordKind::PathProject, self.cohort, p.user_id, self.date(p.created_at))
            });
        }
    }

    /// Path steps by member, then in the path's order.
    fn steps(&self, out: &mut Vec<Record>, steps: impl Iterator<Item = StepEvidence>) {
        let mut steps: Vec<StepEvidence> = steps.collect();
        steps.sort_by_key(|s| (s.user_id, s.step));
        for s in steps {
            out.push(Record {
                written_at: Some(rfc3339(s.updated_at)),
                step: Some(s.step.as_str()),
                evidence: Some(s.evidence),
                link: s.link,
                ..Record::empty(RecordKind::PathStep, self.cohort, s.user_id, self.date(s.done_at))
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::domain::Pause;
    use crate::summary::fixtures::{ALICE, BOB, checkin, member, reply, week};

    fn activity(user: UserId, pauses: Vec<Pause>) -> MemberActivity {
        MemberActivity {
            member: member(user, week(0) - Duration::days(1)),
            pauses,
            answered: vec![],
            last_answer: None,
        }
    }

    #[test]
    fn outcomes_are_one_per_member_per_offered_check_in_in_ledger_order() {
        use crate::domain::Track::Scope;
        let mut checkins = vec![checkin(2, 1, Scope, "b"), checkin(1, 0, Scope, "a"), checkin(3, 2, Scope, "c")];
        checkins[2].status = CheckInStatus::Recorded;
        let carol = UserId::new(33);
        let replies = vec![
            reply(1, &checkins[1], ALICE, None),
            reply(2, &checkins[2], ALICE, None),
            reply(3, &checkins[0], carol, None),
        ];
        let pause = Pause { starts_at: week(1), ends_at: week(2) };
        let members = [activity(BOB, vec![pause]), activity(ALICE, vec![])];
        let now = week(3);

        let o = CheckInOutcomes::gather(&checkins, &members, replies.clone(), None, now);
        assert_eq!(o.ledger.iter().map(|c| c.id.get()).collect::<Vec<_>>(), [1, 2], "posted ones, oldest first");
        assert_eq!(o.position(CheckInId::new(2)), Some(1));
        assert_eq!(o.position(CheckInId::new(3)), None, "not posted: not in the export");
        assert_eq!(o.replies.len(), 2, "the answer to the unposted check-in is left out");
        assert_eq!(
            o.rows,
            [
                (0, ALICE, Outcome::Answered),
                (0, BOB, Outcome::Missed),
                (1, ALICE, Outcome::Missed),
                (1, BOB, Outcome::Paused),
                (1, carol, Outcome::Answered),
            ],
            "by check-in then member; Carol has no membership row and is still exported"
        );

        let only_bob = CheckInOutcomes::gather(&checkins, &members, replies, Some(BOB), now);
        assert!(only_bob.rows.iter().all(|(_, u, _)| *u == BOB) && only_bob.replies.is_empty());
    }
}
