//! Mentors' notes: what a mentor writes back on one member's answer.

use chrono::{DateTime, Utc};

use super::reply::parse_text;
use super::{CheckInId, CohortId, InputError, NoteId, ReplyId, UserId};

/// A note's ceiling, in characters: one Discord paragraph field, and what a
/// DM embed shows in full.
pub const MAX_NOTE_CHARS: usize = 2000;

/// A validated note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteInput {
    pub text: String,
}

impl NoteInput {
    /// Trimmed; not blank; at most [`MAX_NOTE_CHARS`] characters; no NUL.
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        Ok(NoteInput { text: parse_text("note", raw, MAX_NOTE_CHARS)? })
    }
}

/// A mentor's note on an answer, as it stands now.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub id: NoteId,
    /// The answer it is about.
    pub reply_id: ReplyId,
    /// The check-in that answer belongs to.
    pub checkin_id: CheckInId,
    pub cohort_id: CohortId,
    /// Who wrote the answer: the member the note is for.
    pub member_id: UserId,
    /// The mentor who wrote the note.
    pub author_id: UserId,
    /// The mentor's name on the server when they last saved the note.
    pub author_name: String,
    pub text: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When `/progress` first showed it to the member; `None` until then, and
    /// again after the mentor edits it.
    pub seen_at: Option<DateTime<Utc>>,
}

impl Note {
    pub fn is_edited(&self) -> bool {
        self.updated_at != self.created_at
    }
}

/// An earlier version of an edited note.
#[derive(Debug, Clone, PartialEq)]
pub struct NoteEdit {
    pub text: String,
    pub written_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_lengths() {
        assert_eq!(NoteInput::parse("  Good framing.  ").unwrap().text, "Good framing.");
        assert_eq!(NoteInput::parse(&"é".repeat(MAX_NOTE_CHARS)).unwrap().text.chars().count(), MAX_NOTE_CHARS);
        assert_eq!(
            NoteInput::parse(&"a".repeat(MAX_NOTE_CHARS + 1)).unwrap_err(),
            InputError::FieldTooLong { field: "note", len: MAX_NOTE_CHARS + 1, max: MAX_NOTE_CHARS }
        );
        for blank in ["", "   ", "\u{200B}\u{FEFF}"] {
            assert_eq!(
                NoteInput::parse(blank).unwrap_err(),
                InputError::Blank { field: "note", max: MAX_NOTE_CHARS },
                "{blank:?}"
            );
        }
        assert_eq!(NoteInput::parse("a\0b").unwrap_err(), InputError::Nul);
        let e = NoteInput::parse("").unwrap_err().to_string();
        assert!(e.contains("note") && e.contains("2000"), "{e}");
    }
}
