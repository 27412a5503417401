//! Mentors' notes on answers, and their history. Every statement that reads
//! notes returns [`NoteRow`]s; [`Note`] is built from one in one place.

use chrono::{DateTime, Utc};

use super::codec::{from_unix, ids_in_json, unix};
use super::failure::{Result, StoreError};
use super::handle::Store;
#[cfg(any(test, feature = "test-util"))]
use crate::domain::NoteEdit;
use crate::domain::{CheckInId, CohortId, Note, NoteId, NoteInput, ReplyId, UserId};

/// The columns every note query selects, in [`NoteRow`]'s order.
macro_rules! note_columns {
    () => {
        "id, reply_id, checkin_id, cohort_id, member_user_id, author_user_id, author_name, body, created_at, \
         updated_at, seen_at"
    };
}

#[derive(sqlx::FromRow)]
struct NoteRow {
    id: NoteId,
    reply_id: ReplyId,
    checkin_id: CheckInId,
    cohort_id: CohortId,
    member_user_id: UserId,
    author_user_id: UserId,
    author_name: String,
    body: String,
    created_at: i64,
    updated_at: i64,
    seen_at: Option<i64>,
}

impl TryFrom<NoteRow> for Note {
    type Error = StoreError;

    fn try_from(r: NoteRow) -> Result<Self> {
        Ok(Note {
            id: r.id,
            reply_id: r.reply_id,
            checkin_id: r.checkin_id,
            cohort_id: r.cohort_id,
            member_id: r.member_user_id,
            author_id: r.author_user_id,
            author_name: r.author_name,
            text: r.body,
            created_at: from_unix(r.created_at)?,
            updated_at: from_unix(r.updated_at)?,
            seen_at: r.seen_at.map(from_unix).transpose()?,
        })
    }
}

fn notes(rows: Vec<NoteRow>) -> Result<Vec<Note>> {
    rows.into_iter().map(Note::try_from).collect()
}

/// A note to store: who writes it, on which answer.
#[derive(Debug, Clone)]
pub struct NewNote<'a> {
    pub reply_id: ReplyId,
    pub checkin_id: CheckInId,
    pub cohort_id: CohortId,
    /// The answer's author.
    pub member_id: UserId,
    /// The mentor.
    pub author_id: UserId,
    pub author_name: &'a str,
    pub input: &'a NoteInput,
}

impl Store {
    /// Store a mentor's note on an answer, or replace their earlier one on it
    /// (the trigger keeps the old text in `note_edits`). A changed text is
    /// unseen again; the same text saved again changes nothing but the
    /// author's name. One statement; returns after commit.
    pub async fn upsert_note(&self, new: &NewNote<'_>, now: DateTime<Utc>) -> Result<Note> {
        let row: NoteRow = on_db!(&self.db, |pool| {
            sqlx::query_as(concat!(
            "INSERT INTO notes (reply_id, checkin_id, cohort_id, member_user_id, author_user_id, author_name, body, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (reply_id, author_user_id) DO UPDATE SET author_name = excluded.author_name, \
             body = excluded.body, \
             updated_at = CASE WHEN notes.body = excluded.body THEN notes.updated_at ELSE excluded.updated_at END, \
             seen_at = CASE WHEN notes.body = excluded.body THEN notes.seen_at ELSE NULL END \
             RETURNING ",
            note_columns!()
        ))
        .bind(new.reply_id)
        .bind(new.checkin_id)
        .bind(new.cohort_id)
        .bind(new.member_id)
        .bind(new.author_id)
        .bind(new.author_name)
        .bind(&new.input.text)
        .bind(unix(now))
        .bind(unix(now))
        .fetch_one(pool)
        .await
        })?;
        Note::try_from(row)
    }

    /// The note `author_id` wrote on an answer, if any.
    pub async fn note_by(&self, reply_id: ReplyId, author_id: UserId) -> Result<Option<Note>> {
        let row: Option<NoteRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            note_columns!(),
            " FROM notes WHERE reply_id = $1 AND author_user_id = $2"
        ))
        .bind(reply_id)
        .bind(author_id)
        .fetch_optional(pool)
        .await)?;
        row.map(Note::try_from).transpose()
    }

    /// Every note on the answers to one check-in, oldest first.
    pub async fn notes_of_checkin(&self, checkin_id: CheckInId) -> Result<Vec<Note>> {
        let rows: Vec<NoteRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            note_columns!(),
            " FROM notes WHERE checkin_id = $1 ORDER BY created_at, id"
        ))
        .bind(checkin_id)
        .fetch_all(pool)
        .await)?;
        notes(rows)
    }

    /// Every note on a member's answers in one cohort, oldest first.
    pub async fn notes_of_member(&self, cohort_id: CohortId, member_id: UserId) -> Result<Vec<Note>> {
        let rows: Vec<NoteRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            note_columns!(),
            " FROM notes WHERE cohort_id = $1 AND member_user_id = $2 ORDER BY created_at, id"
        ))
        .bind(cohort_id)
        .bind(member_id)
        .fetch_all(pool)
        .await)?;
        notes(rows)
    }

    /// The notes on a member's answers that `/progress` has not shown them
    /// yet, oldest change first.
    pub async fn unseen_notes(&self, cohort_id: CohortId, member_id: UserId) -> Result<Vec<Note>> {
        let rows: Vec<NoteRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            note_columns!(),
            " FROM notes WHERE cohort_id = $1 AND member_user_id = $2 AND seen_at IS NULL ORDER BY updated_at, id"
        ))
        .bind(cohort_id)
        .bind(member_id)
        .fetch_all(pool)
        .await)?;
        notes(rows)
    }

    /// Mark notes as shown to their member at `now`; a note edited since it
    /// was read (`updated_at` later than `as_of`) stays unseen.
    pub async fn mark_notes_seen(&self, ids: &[NoteId], as_of: DateTime<Utc>, now: DateTime<Utc>) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let list = serde_json::to_string(&ids.iter().map(|id| id.get()).collect::<Vec<_>>())
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // The ids travel as one JSON array, whatever their number.
        macro_rules! mark_seen_sql {
            ($db:ident) => {
                concat!(
                    "UPDATE notes SET seen_at = $1 WHERE id IN ",
                    ids_in_json!($db, "$2"),
                    " AND seen_at IS NULL AND updated_at <= $3"
                )
            };
        }
        let sql = self.backend().pick(mark_seen_sql!(sqlite), mark_seen_sql!(postgres));
        let done = on_db!(&self.db, |pool| sqlx::query(sql)
            .bind(unix(now))
            .bind(list)
            .bind(unix(as_of))
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done)
    }

    /// Every note of a cohort, by check-in, then member, then time.
    pub async fn notes_of_cohort(&self, cohort_id: CohortId) -> Result<Vec<Note>> {
        let rows: Vec<NoteRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            note_columns!(),
            " FROM notes WHERE cohort_id = $1 ORDER BY checkin_id, member_user_id, created_at, id"
        ))
        .bind(cohort_id)
        .fetch_all(pool)
        .await)?;
        notes(rows)
    }

    /// Earlier versions of a note, oldest first.
    #[cfg(any(test, feature = "test-util"))]
    pub async fn note_history(&self, note_id: NoteId) -> Result<Vec<NoteEdit>> {
        let rows: Vec<(String, i64)> = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT body, written_at FROM note_edits WHERE note_id = $1 ORDER BY id"
        )
        .bind(note_id)
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(|(text, t)| Ok(NoteEdit { text, written_at: from_unix(t)? })).collect()
    }
}
