//! `trellis export`: a cohort's check-in answers and impact entries as CSV or
//! JSON, or one member's promotion packet as Markdown.
//!
//! CSV and JSON hold the same records with the same field names, in this
//! order (the CSV header row):
//!
//! | field | check-in row | impact row |
//! | --- | --- | --- |
//! | `kind` | `checkin` | `impact` |
//! | `cohort` | cohort name | cohort name |
//! | `member_id` | Discord user id (a string in JSON: snowflakes exceed 2^53) | same |
//! | `date` | occurrence date, `YYYY-MM-DD` in the cohort's time zone | date recorded, same |
//! | `track` | the prompt's track | the entry's tracks, comma-separated |
//! | `prompt_id`, `question` | the question as asked | empty / null |
//! | `outcome` | `answered`, `missed`, `paused` or `open` | empty / null |
//! | `answered` | `true` / `false` | empty / null |
//! | `confidence` | 1–5, or empty / null | empty / null |
//! | `answer` | the answer as written, or empty / null | empty / null |
//! | `written_at` | when the answer was last saved (RFC 3339, UTC) | when the entry was recorded |
//! | `what_changed`, `evidence`, `who_benefited`, `link` | empty / null | the entry |
//!
//! One check-in row per member per check-in that was theirs to answer (posted
//! while they were a member, as `/progress` counts it), then one impact row per
//! entry. Impact entries are a second kind of row rather than a second table,
//! so the CSV stays one table any reader parses.
//!
//! The export only reads (one connection, read-only), so it is safe while the
//! bot runs. Text is exported exactly as written: a spreadsheet may read an
//! answer that starts with `=` as a formula.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};

use serde::Serialize;

use crate::domain::{CheckIn, CheckInId, CheckInStatus, Cohort, Reply, UserId};
use crate::store::{Store, StoreError};
use crate::summary::{Outcome, packet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Json,
    /// One member's promotion packet (needs `--member`).
    Markdown,
}

/// What to export.
#[derive(Debug, Clone)]
pub struct Request {
    pub cohort: String,
    pub format: Format,
    pub member: Option<UserId>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("no cohort is named `{name}`; {}", known_list(.known))]
    UnknownCohort { name: String, known: Vec<String> },
    #[error("--format markdown is one member's promotion packet: name the member with --member ID")]
    MemberRequired,
    #[error("user {member} has never been a member of cohort `{cohort}`")]
    UnknownMember { member: UserId, cohort: String },
    #[error("{} already exists; give a new file name (an export never overwrites a file)", .0.display())]
    OutExists(PathBuf),
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot encode the CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("cannot encode the JSON: {0}")]
    Json(#[from] serde_json::Error),
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        "the database has no cohorts yet".into()
    } else {
        format!("known cohorts: {}", known.join(", "))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Checkin,
    Impact,
}

/// One CSV row / JSON record. The field order is the CSV column order; the
/// names are part of the interface (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    pub kind: Kind,
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

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Markdown => "markdown",
        })
    }
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Answered => "answered",
        Outcome::Missed => "missed",
        Outcome::Paused => "paused",
        Outcome::Open => "open",
        Outcome::NotOffered => "not offered",
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Render the export as text, reading the store only.
pub async fn render(store: &Store, request: &Request, now: DateTime<Utc>) -> Result<String, ExportError> {
    let Some(cohort) = store.cohort_by_name(&request.cohort).await? else {
        return Err(ExportError::UnknownCohort { name: request.cohort.clone(), known: store.cohort_names().await? });
    };
    let unknown_member = |member| ExportError::UnknownMember { member, cohort: cohort.spec.name.clone() };
    if request.format == Format::Markdown {
        let member = request.member.ok_or(ExportError::MemberRequired)?;
        let h = store.member_history(cohort.id, member).await?.ok_or_else(|| unknown_member(member))?;
        let name = format!("user {member}");
        return Ok(packet::render(&cohort, &h.member, &name, &h.checkins, &h.replies, &h.impact, now));
    }
    let records = records(store, &cohort, request.member, now).await?;
    if let Some(member) = request.member
        && records.is_empty()
        && store.member(cohort.id, member).await?.is_none()
    {
        return Err(unknown_member(member));
    }
    match request.format {
        Format::Csv => to_csv(&records),
        Format::Json => Ok(serde_json::to_string_pretty(&records)? + "\n"),
        Format::Markdown => unreachable!("handled above"),
    }
}

/// The cohort's records, optionally of one member only.
pub async fn records(
    store: &Store,
    cohort: &Cohort,
    member: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<Vec<Record>, ExportError> {
    let activity = store.cohort_activity(cohort.id).await?;
    let replies = store.replies_of_cohort(cohort.id).await?;
    let impact = store.impact_of_cohort(cohort.id).await?;
    let wanted = |user: UserId| member.is_none_or(|m| m == user);
    let tz = cohort.timezone();
    let date = |t: DateTime<Utc>| crate::summary::local_date(t, tz);

    let mut ledger: Vec<&CheckIn> = activity
        .checkins
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
    for a in activity.members.iter().filter(|a| wanted(a.member.user_id)) {
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
            kind: Kind::Checkin,
            cohort: cohort.spec.name.clone(),
            member_id: user.to_string(),
            date: date(c.occurrence_at),
            track: prompt.track.to_string(),
            prompt_id: Some(prompt.id.clone()),
            question: Some(prompt.question.clone()),
            outcome: Some(outcome_name(outcome)),
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
            kind: Kind::Impact,
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
    Ok(out)
}

/// RFC 4180: a header row, fields with commas, quotes or line breaks quoted.
fn to_csv(records: &[Record]) -> Result<String, ExportError> {
    let mut w = csv::WriterBuilder::new().has_headers(true).from_writer(Vec::new());
    if records.is_empty() {
        // serde writes the header with the first record; an empty export still has one.
        w.write_record(HEADER)?;
    }
    for r in records {
        w.serialize(r)?;
    }
    let bytes = w.into_inner().map_err(|e| ExportError::Csv(e.into_error().into()))?;
    Ok(String::from_utf8(bytes).expect("CSV of UTF-8 strings is UTF-8"))
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

/// Write the export to a new file readable by its owner only; an existing
/// file is never overwritten (it may be an earlier export or something else).
pub fn write_new_file(path: &Path, content: &str) -> Result<(), ExportError> {
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    let mut file = match open.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(ExportError::OutExists(path.into())),
        Err(source) => return Err(ExportError::Write { path: path.into(), source }),
    };
    let written = file.write_all(content.as_bytes()).and_then(|()| file.sync_all());
    if let Err(source) = written {
        // Leave no half-written export behind.
        let _ = std::fs::remove_file(path);
        return Err(ExportError::Write { path: path.into(), source });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_matches_the_record_fields() {
        let r = Record {
            kind: Kind::Impact,
            cohort: "c".into(),
            member_id: "1".into(),
            date: "2027-01-04".into(),
            track: "impact".into(),
            prompt_id: None,
            question: None,
            outcome: None,
            answered: None,
            confidence: None,
            answer: None,
            written_at: None,
            what_changed: Some("w".into()),
            evidence: Some("e".into()),
            who_benefited: Some("b".into()),
            link: None,
        };
        let json = serde_json::to_value(&r).unwrap();
        let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        let mut sorted_header = HEADER.to_vec();
        sorted_header.sort_unstable();
        let mut sorted_keys = keys.clone();
        sorted_keys.sort_unstable();
        assert_eq!(sorted_keys, sorted_header);
        let csv = to_csv(&[r]).unwrap();
        assert_eq!(csv.lines().next().unwrap(), HEADER.join(","));
        assert_eq!(to_csv(&[]).unwrap().trim_end(), HEADER.join(","));
    }
}
