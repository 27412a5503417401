//! Forms: the ids of their fields, a field's value, and the bounded save
//! whose reply gives back what the member typed when it fails.

use poise::serenity_prelude as serenity;

use crate::discord::render::kept::Kept;
use crate::discord::render::reply_for;
use crate::engine::EngineError;

/// The answer form's fields.
pub const FIELD_ANSWER: &str = "answer";
pub const FIELD_CONFIDENCE: &str = "confidence";
/// The impact form's fields.
pub const FIELD_WHAT: &str = "what_changed";
pub const FIELD_EVIDENCE: &str = "evidence";
pub const FIELD_WHO: &str = "who_benefited";
pub const FIELD_LINK: &str = "link";
/// The note form's field, and the Staff path forms' fields.
pub const FIELD_NOTE: &str = "note";
pub const FIELD_PROJECT_WHAT: &str = "what";
pub const FIELD_PROJECT_WHY: &str = "why";
pub const FIELD_PROJECT_TEAMS: &str = "teams";
pub const FIELD_STEP_EVIDENCE: &str = "evidence";
pub const FIELD_STEP_LINK: &str = "link";

/// Discord drops an interaction not answered within 3 s. A save still waiting
/// by this deadline (all connections stuck behind a lock) gets an answer
/// anyway; it may yet commit, so the reply does not claim it was discarded.
pub(crate) const SAVE_DEADLINE: std::time::Duration = std::time::Duration::from_millis(2500);

pub(crate) const SAVE_TIMED_OUT: &str = "Trellis is busy and could not confirm your submission in time. Please submit it again in a moment; \
     submitting twice is harmless.";

/// A submitted form's save, bounded by [`SAVE_DEADLINE`], as the reply the
/// member reads: `saved` of what was committed; else the engine error's
/// text or [`SAVE_TIMED_OUT`], with what they `typed` (label, text) given
/// back ([`Kept`]).
pub(crate) async fn save_reply<T>(
    save: impl Future<Output = Result<T, EngineError>>,
    saved: impl FnOnce(T) -> serenity::CreateInteractionResponseMessage,
    typed: &[(&str, &str)],
) -> serenity::CreateInteractionResponseMessage {
    let refused = match tokio::time::timeout(SAVE_DEADLINE, save).await {
        Err(_) => SAVE_TIMED_OUT.to_string(),
        Ok(Ok(value)) => return saved(value),
        Ok(Err(e)) => reply_for(&e),
    };
    Kept::new(&refused, typed).message()
}

/// The value the member typed into the text input `id` of a form (empty when absent).
pub(crate) fn field<'a>(submit: &'a serenity::ModalInteraction, id: &str) -> &'a str {
    submit
        .data
        .components
        .iter()
        .flat_map(|row| row.components.iter())
        .find_map(|c| match c {
            serenity::ActionRowComponent::InputText(t) if t.custom_id == id => t.value.as_deref(),
            _ => None,
        })
        .unwrap_or("")
}
