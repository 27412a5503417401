//! The Discord edge: poise commands, buttons, modals, DMs. It only translates:
//! an interaction becomes a [`Viewer`] and one engine call, the result becomes
//! a message. Rules live in the engine; this module never touches the store.

pub mod chat;
mod commands;
pub mod connect;
mod interactions;
mod kept;
mod mentoring;
pub mod mentoring_render;
pub(crate) mod panics;
pub mod ratelimit;
pub mod render;

use std::sync::Arc;

use poise::serenity_prelude as serenity;

use crate::domain::{ChannelId, GuildId, RoleId, UserId, Viewer};
use crate::engine::{Engine, EngineError};
use crate::telemetry::ErrorChain;

pub use chat::DiscordChat;
pub use ratelimit::{ChatHttp, RateLimiter};

/// What every command and event handler can reach: the engine, nothing else.
pub struct Data {
    pub engine: Arc<Engine>,
    /// The desk's public base URL (`TRELLIS_PUBLIC_URL`), under which
    /// `/desk` builds sign-in links; `None` when the desk is off.
    pub desk: Option<String>,
}

pub type Error = anyhow::Error;
pub type Context<'a> = poise::Context<'a, Data, Error>;

/// Gateway intents: none privileged. DM content arrives without MESSAGE_CONTENT.
pub fn intents() -> serenity::GatewayIntents {
    serenity::GatewayIntents::GUILDS | serenity::GatewayIntents::DIRECT_MESSAGES
}

/// The [`Viewer`] of an interaction, from the interaction itself (no cache, no
/// HTTP); `None` outside a server. Manage Server counts from the member's
/// permissions in the channel, as Discord computed them.
pub fn viewer_of(
    guild_id: Option<serenity::GuildId>,
    channel_id: serenity::ChannelId,
    member: Option<&serenity::Member>,
    user: &serenity::User,
) -> Option<Viewer> {
    let permissions = member.and_then(|m| m.permissions).unwrap_or_else(serenity::Permissions::empty);
    Some(Viewer {
        guild_id: GuildId::new(guild_id?.get()),
        channel_id: ChannelId::new(channel_id.get()),
        user_id: UserId::new(user.id.get()),
        roles: member.map(|m| m.roles.iter().map(|r| RoleId::new(r.get())).collect()).unwrap_or_default(),
        can_manage: permissions.contains(serenity::Permissions::MANAGE_GUILD)
            || permissions.contains(serenity::Permissions::ADMINISTRATOR),
    })
}

/// The viewer of a slash command (all are guild-only).
fn viewer(ctx: Context<'_>) -> Result<Viewer, Error> {
    let poise::Context::Application(app) = ctx else { anyhow::bail!("not an application command") };
    let i = app.interaction;
    viewer_of(i.guild_id, i.channel_id, i.member.as_deref(), &i.user)
        .ok_or_else(|| anyhow::anyhow!("interaction outside a server"))
}

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

/// Discord fails an interaction that has no response 3 s after it was
/// sent. A read that must come before the response (the form a button
/// opens, the page it turns to) gives up at this bound, and the member is
/// told to try again instead of seeing "This interaction failed".
pub(crate) const READ_DEADLINE: std::time::Duration = std::time::Duration::from_millis(2500);
/// A command whose work is not done by then is deferred (Discord shows
/// "thinking…") and its answer follows, however long the database takes.
/// After the store's own bounds (2 s: busy timeout, `lock_timeout`, pool
/// wait), so one statement that gives up is answered directly.
pub(crate) const DEFER_AFTER: std::time::Duration = std::time::Duration::from_millis(2300);

/// `read` bounded by [`READ_DEADLINE`]: a read only (cancelling it loses
/// nothing), whose late answer is a "did not answer in time" error.
pub(crate) async fn in_time<T>(read: impl Future<Output = Result<T, EngineError>>) -> Result<T, EngineError> {
    tokio::time::timeout(READ_DEADLINE, read).await.unwrap_or_else(|_| {
        let late = crate::store::StoreError::TimedOut(Arc::new(sqlx::Error::PoolTimedOut));
        Err(EngineError::Store(late))
    })
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
        event_handler: |framework, event| Box::pin(interactions::on_event(framework, event)),
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
