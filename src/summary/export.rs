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

/// The cohort's records, optionally of one member only: rows of other
/// members than `member` (when given) are left out, a note counting as its
/// member's. Dates are in the cohort's zone.
pub fn records(cohort: &Cohort, rows: CohortRows<'_>, member: Option<UserId>, now: DateTime<Utc>) -> Vec<Record> {
    let CohortRows { checkins, members, replies, impact, notes, projects, steps } = rows;
    let wanted = |user: UserId| member.is_none_or(|m| m == user);
    let tz = cohort.timezone();
    let date = |t: DateTime<Utc>| local_date(t, tz);

    let mut ledger: Vec<&CheckIn> = checkins
        .iter()
        .filter(|c| c.prompt.is_some() && matches!(c.status, CheckInStatus::Posted | CheckInStatus::Posting))
        .collect();
    ledger.sort_by_key(|c| (c.occurrence_at, c.id));
    // Replies to check-ins recorded after the ledger was read (the bot runs on) are left out.
    let position: HashMap<CheckInId, usize> = ledger.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
    let replies: HashMap<(CheckInId, UserId), Reply> = replies
        .into_iter()
        .filter(|r| position.contains_key(&r.checkin_id) && wanted(r.user_id))
        .map(|r| ((r.checkin_id, r.user_id), r))
        .collect();

    let mut rows: Vec<(usize, UserId, Outcome)> = Vec::new();
    for a in members.iter().filter(|a| wanted(a.member.user_id)) {
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

    let mut out = Vec::with_capacity(rows.len() + impact.len() + notes.len() + projects.len() + steps.len());
    for (i, user, outcome) in rows {
        let c = ledger[i];
        let Some(prompt) = &c.prompt else { continue };
        let reply = replies.get(&(c.id, user));
        out.push(Record {
            track: prompt.track.to_string(),
            prompt_id: Some(prompt.id.clone()),
            question: Some(prompt.question.clone()),
            outcome: Some(outcome.as_str()),
            answered: Some(reply.is_some()),
            confidence: reply.and_then(|r| r.confidence),
            answer: reply.map(|r| r.answer.clone()),
            written_at: reply.map(|r| rfc3339(r.updated_at)),
            ..Record::empty(RecordKind::CheckIn, cohort, user, date(c.occurrence_at))
        });
    }
    for e in impact.into_iter().filter(|e| wanted(e.user_id)) {
        out.push(Record {
            track: e.tracks.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(","),
            written_at: Some(rfc3339(e.recorded_at)),
            what_changed: Some(e.what_changed),
            evidence: Some(e.evidence),
            who_benefited: Some(e.who_benefited),
            link: e.link,
            ..Record::empty(RecordKind::Impact, cohort, e.user_id, date(e.recorded_at))
        });
    }
    // Notes on answers to check-ins of the ledger read, in ledger order.
    let mut notes: Vec<(usize, Note)> = notes
        .into_iter()
        .filter(|n| wanted(n.member_id))
        .filter_map(|n| Some((*position.get(&n.checkin_id)?, n)))
        .collect();
    notes.sort_by_key(|(i, n)| (*i, n.member_id, n.created_at, n.id));
    for (i, n) in notes {
        let prompt = ledger[i].prompt.as_ref();
        out.push(Record {
            track: prompt.map(|p| p.track.to_string()).unwrap_or_default(),
            prompt_id: prompt.map(|p| p.id.clone()),
            question: prompt.map(|p| p.question.clone()),
            written_at: Some(rfc3339(n.updated_at)),
            author_id: Some(n.author_id.to_string()),
            note: Some(n.text),
            ..Record::empty(RecordKind::Note, cohort, n.member_id, date(n.created_at))
        });
    }
    for p in projects.into_iter().filter(|p| wanted(p.user_id)) {
        out.push(Record {
            written_at: Some(rfc3339(p.updated_at)),
            project: Some(p.what),
            why_it_matters: Some(p.why),
            teams_affected: Some(p.teams),
            ..Record::empty(RecordKind::PathProject, cohort, p.user_id, date(p.created_at))
        });
    }
    let mut steps: Vec<StepEvidence> = steps.into_iter().filter(|s| wanted(s.user_id)).collect();
    steps.sort_by_key(|s| (s.user_id, s.step));
    for s in steps {
        out.push(Record {
            written_at: Some(rfc3339(s.updated_at)),
            step: Some(s.step.as_str()),
            evidence: Some(s.evidence),
            link: s.link,
            ..Record::empty(RecordKind::PathStep, cohort, s.user_id, date(s.done_at))
        });
    }
    out
}
