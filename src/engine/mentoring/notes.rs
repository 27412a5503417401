//! Mentors' notes: the Note button of an answer, the form, and the DM that
//! carries a saved note to its member.

use super::{NoteForm, SavedNote};
use crate::domain::{NoteInput, ReplyId, Viewer};
use crate::engine::chat::NoteDm;
use crate::engine::{Engine, EngineError, Result};
use crate::store::NewNote;
use crate::telemetry::ErrorChain;

/// The longest mentor name stored with a note; a server nickname is at most 32.
const MAX_AUTHOR_NAME_CHARS: usize = 100;

/// What became of the DM that carries a saved note to its member. The note is
/// stored whatever happens here, and `/progress` shows it until they read it
/// there, so a failed DM is reported, not retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteDelivery {
    /// The member got it by DM.
    Sent,
    /// The mentor saved the same text again: nothing new to send.
    Unchanged,
    /// Discord refused for good (DMs closed, the bot blocked, the member gone).
    Refused,
    /// Discord failed for now (an outage, a timeout).
    Failed,
}

impl Engine {
    /// The Note button of an answer: the form, pre-filled with the viewer's
    /// own note on it. Only the mentors of the answer's cohort get it.
    #[tracing::instrument(skip_all, fields(reply = %reply_id, user = %viewer.user_id))]
    pub async fn note_form(&self, viewer: &Viewer, reply_id: ReplyId) -> Result<NoteForm> {
        let reply = self.store.reply_by_id(reply_id).await?.ok_or(EngineError::UnknownAnswer)?;
        let checkin = self.store.checkin(reply.checkin_id).await?.ok_or(EngineError::UnknownAnswer)?;
        let cohort = self.store.cohort(checkin.cohort_id).await?;
        let cohort = self.cohort_mentored_by(viewer, cohort).await?;
        let current = self.store.note_by(reply.id, viewer.user_id).await?;
        Ok(NoteForm { cohort, checkin, reply, current })
    }

    /// A submitted note form: checked, validated, committed, then sent to the
    /// member by DM. `author_name` is the mentor's name on the server.
    #[tracing::instrument(skip_all, fields(reply = %reply_id, user = %viewer.user_id))]
    pub async fn submit_note(
        &self,
        viewer: &Viewer,
        reply_id: ReplyId,
        author_name: &str,
        text: &str,
    ) -> Result<SavedNote> {
        let form = self.note_form(viewer, reply_id).await?;
        let input = NoteInput::parse(text)?;
        let author_name: String = author_name.chars().filter(|c| !c.is_control()).take(MAX_AUTHOR_NAME_CHARS).collect();
        let new = NewNote {
            reply_id: form.reply.id,
            checkin_id: form.checkin.id,
            cohort_id: form.cohort.id,
            member_id: form.reply.user_id,
            author_id: viewer.user_id,
            author_name: &author_name,
            input: &input,
        };
        let note = self.store.upsert_note(&new, self.now()).await?;
        let edited = form.current.is_some();
        if form.current.as_ref().is_some_and(|before| before.text == note.text) {
            return Ok(SavedNote { note, edited, delivery: NoteDelivery::Unchanged });
        }
        let dm = NoteDm {
            user_id: note.member_id,
            cohort_name: form.cohort.spec.name.clone(),
            mentor_name: note.author_name.clone(),
            question: form.checkin.prompt.as_ref().map(|p| p.question.clone()).unwrap_or_default(),
            answered_at: form.reply.created_at,
            text: note.text.clone(),
            edited,
        };
        let delivery = match self.chat.send_note(&dm).await {
            Ok(()) => NoteDelivery::Sent,
            Err(e) => {
                tracing::warn!(note = %note.id, member = %note.member_id, error = %ErrorChain(&e), "note DM not delivered; the member finds it with their progress");
                if e.is_permanent() { NoteDelivery::Refused } else { NoteDelivery::Failed }
            }
        };
        Ok(SavedNote { note, edited, delivery })
    }
}
