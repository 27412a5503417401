//! The records of `trellis export`: one row per member per check-in that was
//! theirs to answer, then one per impact entry, from rows the store returned.
//! Pure: the `export` module reads the store and encodes these. Field names
//! and their order are an interface (see `crate::export`).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::{MemberActivity, Outcome, local_date};
use crate::domain::{CheckIn, CheckInId, CheckInStatus, Cohort, ImpactEntry, Reply, UserId};

/// What a record describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RecordKind {
    /// One member's outcome for one check-in.
    #[serde(rename = "checkin")]
    CheckIn,
    /// One impact entry.
    #[serde(rename = "impact")]
    Impact,
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
}

/// The CSV header, in [`Record`]'s field order.
pub const HEADER: [&str; 16] = [
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
];

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The cohort's records, optionally of one member only.
///
/// `checkins` is the cohort's ledger, `members` every member's activity,
/// `replies` and `impact` the cohort's rows; rows of other members than
/// `member` (when given) are left out. Dates are in the cohort's zone.
pub fn records(
    cohort: &Cohort,
    checkins: &[CheckIn],
    members: &[MemberActivity],
    replies: Vec<Reply>,
    impact: Vec<ImpactEntry>,
    member: Option<UserId>,
    now: DateTime<Utc>,
) -> Vec<Record> {
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

    let mut out = Vec::with_capacity(rows.len() + impact.len());
    for (i, user, outcome) in rows {
        let c = ledger[i];
        let Some(prompt) = &c.prompt else { continue };
        let reply = replies.get(&(c.id, user));
        out.push(Record {
            kind: RecordKind::CheckIn,
            cohort: cohort.spec.name.clone(),
            member_id: user.to_string(),
            date: date(c.occurrence_at),
            track: prompt.track.to_string(),
            prompt_id: Some(prompt.id.clone()),
            question: Some(prompt.question.clone()),
            outcome: Some(outcome.as_str()),
            answered: Some(reply.is_some()),
            confidence: reply.and_then(|r| r.confidence),
            answer: reply.map(|r| r.answer.clone()),
            written_at: reply.map(|r| rfc3339(r.updated_at)),
            what_changed: None,
            evidence: None,
            who_benefited: None,
            link: None,
        });
    }
    for e in impact.into_iter().filter(|e| wanted(e.user_id)) {
        out.push(Record {
            kind: RecordKind::Impact,
            cohort: cohort.spec.name.clone(),
            member_id: e.user_id.to_string(),
            date: date(e.recorded_at),
            track: e.tracks.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(","),
            prompt_id: None,
            question: None,
            outcome: None,
            answered: None,
            confidence: None,
            answer: None,
            written_at: Some(rfc3339(e.recorded_at)),
            what_changed: Some(e.what_changed),
            evidence: Some(e.evidence),
            who_benefited: Some(e.who_benefited),
            link: e.link,
        });
    }
    out
}
