//! No panic reaches a member. poise catches panics in commands and
//! autocompletes (`handle_panics`, answered in `on_error`); everything else
//! an event runs (buttons, forms, DMs, edited DMs) is caught here, around the
//! whole dispatch, and the member who was waiting gets the usual apology.
//!
//! The panic itself is logged once, by the hook [`crate::telemetry`]
//! installs, inside the event's span (the interaction's ids), without its
//! message: a panic message can quote the text it choked on.

use std::panic::AssertUnwindSafe;

use futures::FutureExt as _;
use poise::serenity_prelude as serenity;
use serenity::{CreateInteractionResponse, CreateInteractionResponseFollowup, FullEvent, Interaction};

use super::render;

/// What a member reads when their request panicked.
pub const APOLOGY: &str = "Something went wrong on our side; nothing was saved. Please try again in a minute.";

/// Who is waiting for an answer to an event, kept before it is handled (the
/// event itself moves into the handler).
pub(crate) enum Waiting {
    Interaction(Box<Interaction>),
    Dm { channel: serenity::ChannelId },
    Nobody,
}

impl Waiting {
    /// Who waits for `event`.
    pub(crate) fn of(event: &FullEvent) -> Waiting {
        match event {
            // Autocompletes cannot show a message. Commands' panics are
            // poise's (`on_error`); this catches those of its dispatch.
            FullEvent::InteractionCreate {
                interaction: i @ (Interaction::Component(_) | Interaction::Modal(_) | Interaction::Command(_)),
            } => Waiting::Interaction(Box::new(i.clone())),
            FullEvent::Message { new_message } if new_message.guild_id.is_none() && !new_message.author.bot => {
                Waiting::Dm { channel: new_message.channel_id }
            }
            FullEvent::MessageUpdate { event, .. }
                if event.guild_id.is_none() && event.author.as_ref().is_some_and(|a| !a.bot) =>
            {
                Waiting::Dm { channel: event.channel_id }
            }
            _ => Waiting::Nobody,
        }
    }

    /// The apology: the interaction's response, or a follow-up when the
    /// handler had already answered (deferred) before it panicked.
    async fn apologise(self, http: &serenity::Http) {
        let message = || render::ephemeral_text(APOLOGY);
        let followup = || {
            CreateInteractionResponseFollowup::new()
                .content(APOLOGY)
                .ephemeral(true)
                .allowed_mentions(render::no_mentions())
        };
        let sent = match self {
            Waiting::Interaction(i) => match *i {
                Interaction::Component(c) => {
                    match c.create_response(http, CreateInteractionResponse::Message(message())).await {
                        Ok(()) => Ok(()),
                        Err(_) => c.create_followup(http, followup()).await.map(drop),
                    }
                }
                Interaction::Modal(m) => {
                    match m.create_response(http, CreateInteractionResponse::Message(message())).await {
                        Ok(()) => Ok(()),
                        Err(_) => m.create_followup(http, followup()).await.map(drop),
                    }
                }
                Interaction::Command(c) => {
                    match c.create_response(http, CreateInteractionResponse::Message(message())).await {
                        Ok(()) => Ok(()),
                        Err(_) => c.create_followup(http, followup()).await.map(drop),
                    }
                }
                _ => Ok(()),
            },
            Waiting::Dm { channel } => {
                let dm = serenity::CreateMessage::new().content(APOLOGY).allowed_mentions(render::no_mentions());
                channel.send_message(http, dm).await.map(drop)
            }
            Waiting::Nobody => Ok(()),
        };
        if let Err(e) = sent {
            tracing::warn!(error = %crate::telemetry::ErrorChain(&e), "the apology for a panic was not delivered");
        }
    }
}

/// Runs `dispatch` (the handling of an event); if it panics, whoever is
/// `waiting` for it is sent [`APOLOGY`] and the bot goes on.
pub(crate) async fn caught(http: &serenity::Http, waiting: Waiting, dispatch: impl Future<Output = ()>) {
    if AssertUnwindSafe(dispatch).catch_unwind().await.is_err() {
        waiting.apologise(http).await;
    }
}
