//! What a person reads of a failed engine call.

use crate::engine::EngineError;
use crate::telemetry::ErrorChain;

/// The text a person reads for a failed engine call: the error's own message
/// when it is theirs to fix; otherwise a fixed apology, and the whole error
/// chain goes to the log. The one place that decides what users see of errors.
pub fn reply_for(e: &EngineError) -> String {
    if e.is_user_error() {
        return user_error_text(e);
    }
    tracing::error!(error = %ErrorChain(e), "request failed");
    if e.is_busy() {
        "Trellis's database is busy right now; nothing was saved. Please try again in a moment.".into()
    } else if e.is_timed_out() {
        "Trellis's database did not answer in time (busy or restarting); nothing was saved. \
         Please try again in a moment."
            .into()
    } else if e.is_unwritable() {
        "Trellis cannot write to its database right now (its storage is full or failing); nothing was saved. \
         Please try again in a few minutes."
            .into()
    } else if e.is_unreachable() {
        "Trellis cannot reach its database right now (it may be restarting); nothing was saved. \
         Please try again in a minute."
            .into()
    } else {
        "Something went wrong on our side; nothing was saved. Please try again in a minute.".into()
    }
}

/// A user error's message, with what to do about it in Discord's terms: the
/// engine says what went wrong, never which slash command fixes it (another
/// edge has no slash commands). Also for the operator's error at start,
/// where a cohort made in Discord holds a channel the config file names.
pub fn user_error_text(e: &EngineError) -> String {
    match e {
        EngineError::NotAMember => format!("{e} Use `/cohort join` in a cohort's channel first."),
        EngineError::ChannelTaken { .. } => format!("{e} (`/cohort remove` in that channel)"),
        EngineError::BotCannotPost { .. } => format!(
            "{e} Give Trellis's role View Channel, Send Messages, Embed Links and Attach Files in this channel \
             (channel settings → Permissions), then run `/cohort setup` again."
        ),
        e => e.to_string(),
    }
}
