//! The handlers, grouped by what they answer: slash commands
//! ([`commands`]), buttons and forms ([`components`]), direct messages
//! ([`dm`]), the mentoring loop ([`mentoring`]) and the other gateway
//! events ([`events`]). Each turns a Discord interaction into a viewer and
//! engine calls, and the result into a message through [`super::render`].

mod commands;
mod components;
mod dm;
mod events;
mod mentoring;

use std::sync::Arc;

use poise::serenity_prelude as serenity;

use super::context::{Data, Error};
use super::{panics, render};
use crate::engine::Engine;
use crate::telemetry::ErrorChain;

/// Gateway intents: none privileged. DM content arrives without MESSAGE_CONTENT.
pub fn intents() -> serenity::GatewayIntents {
    serenity::GatewayIntents::GUILDS | serenity::GatewayIntents::DIRECT_MESSAGES
}

/// A span for one gateway event, with ids only (never message or answer
/// text), so every log line of a submit says which interaction it belongs to.
pub fn event_span(event: &serenity::FullEvent) -> tracing::Span {
    use serenity::{FullEvent, Interaction};
    match event {
        FullEvent::InteractionCreate { interaction } => {
            let (kind, name) = match interaction {
                Interaction::Command(c) | Interaction::Autocomplete(c) => ("command", c.data.name.as_str()),
                Interaction::Component(c) => ("component", c.data.custom_id.as_str()),
                Interaction::Modal(m) => ("modal", m.data.custom_id.as_str()),
                _ => ("other", ""),
            };
            tracing::info_span!(
                "interaction",
                id = %interaction.id(),
                kind,
                name = %render::truncate(name, 32),
                guild = ?interaction.guild_id().map(|g| g.get()),
                user = ?interaction_user(interaction).map(|u| u.get()),
            )
        }
        FullEvent::Message { new_message } => {
            tracing::info_span!("message", id = %new_message.id, user = %new_message.author.id)
        }
        FullEvent::MessageUpdate { event, .. } => {
            tracing::info_span!("message_update", id = %event.id, user = ?event.author.as_ref().map(|a| a.id.get()))
        }
        other => tracing::debug_span!("event", name = other.snake_case_name()),
    }
}

fn interaction_user(i: &serenity::Interaction) -> Option<serenity::UserId> {
    match i {
        serenity::Interaction::Command(c) | serenity::Interaction::Autocomplete(c) => Some(c.user.id),
        serenity::Interaction::Component(c) => Some(c.user.id),
        serenity::Interaction::Modal(m) => Some(m.user.id),
        _ => None,
    }
}

/// The poise framework with every command, the event handler and error handling.
pub fn framework(engine: Arc<Engine>, desk: Option<String>) -> poise::Framework<Data, Error> {
    let options = poise::FrameworkOptions {
        commands: commands::all(),
        event_handler: |framework, event| Box::pin(events::on_event(framework, event)),
        on_error: |error| Box::pin(on_error(error)),
        // Replies echo member text: none of them may ping anyone.
        allowed_mentions: Some(render::no_mentions()),
        ..Default::default()
    };
    poise::Framework::builder()
        .options(options)
        // No owner-only commands: skip the application lookup at start.
        .initialize_owners(false)
        .setup(move |_ctx, ready, _framework| {
            Box::pin(async move {
                // The desk's address with it: said once Discord took the
                // token, so that a refused start stays one line.
                let shown = desk.as_deref().unwrap_or("off");
                tracing::info!(user = %ready.user.name, guilds = ready.guilds.len(), desk = %shown, "connected to Discord");
                Ok(Data { engine, desk })
            })
        })
        .build()
}

async fn on_error(error: poise::FrameworkError<'_, Data, Error>) {
    match error {
        poise::FrameworkError::Command { error, ctx, .. } => {
            let chain: &(dyn std::error::Error + 'static) = error.as_ref();
            tracing::error!(command = %ctx.command().qualified_name, error = %ErrorChain(chain), "command failed");
            let text = "Something went wrong on our side; nothing was saved. Please try again in a minute.";
            let _ = ctx.send(poise::CreateReply::default().content(text).ephemeral(true)).await;
        }
        poise::FrameworkError::ArgumentParse { error, ctx, .. } => {
            let text = format!("That option value is not valid: {error}");
            let _ = ctx.send(poise::CreateReply::default().content(text).ephemeral(true)).await;
        }
        // An option of another type than registered (a stale registration):
        // poise's default only logs it, leaving the user with no answer.
        poise::FrameworkError::CommandStructureMismatch { ctx, description, .. } => {
            tracing::warn!(command = %ctx.command().qualified_name, description, "option type mismatch");
            let text = "That option value is not valid for this command. Discord may still show an old version of it; try again in a minute.";
            let _ = poise::Context::Application(ctx)
                .send(poise::CreateReply::default().content(text).ephemeral(true))
                .await;
        }
        // Logged once already, by the panic hook (`telemetry`), in the
        // interaction's span and without the message, which may quote text.
        poise::FrameworkError::CommandPanic { ctx, .. } => {
            let autocomplete = matches!(
                ctx,
                poise::Context::Application(a) if a.interaction_type == poise::CommandInteractionType::Autocomplete
            );
            if !autocomplete {
                let _ = ctx.send(poise::CreateReply::default().content(panics::APOLOGY).ephemeral(true)).await;
            }
        }
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                tracing::error!(error = %ErrorChain(&e), "error while handling an error");
            }
        }
    }
}
