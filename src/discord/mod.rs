//! The Discord edge: poise commands, buttons, modals, DMs. It only translates
//! between Discord and the engine.

pub mod chat;
mod commands;
mod interactions;
pub mod render;

use std::sync::Arc;

use poise::serenity_prelude as serenity;

use crate::domain::{ChannelId, Cohort, GuildId, UserId};
use crate::engine::Engine;

pub use chat::{DiscordChat, Pacer};

pub struct Data {
    pub engine: Arc<Engine>,
}

pub type Error = anyhow::Error;
pub type Context<'a> = poise::Context<'a, Data, Error>;

/// Gateway intents: none privileged. DM content arrives without MESSAGE_CONTENT.
pub fn intents() -> serenity::GatewayIntents {
    serenity::GatewayIntents::GUILDS | serenity::GatewayIntents::DIRECT_MESSAGES
}

/// Who ran an interaction, from the interaction itself (no cache, no HTTP).
#[derive(Debug, Clone)]
pub struct Invoker {
    pub guild_id: GuildId,
    pub channel_id: ChannelId,
    pub user_id: UserId,
    pub roles: Vec<u64>,
    pub permissions: serenity::Permissions,
}

impl Invoker {
    pub fn of(ctx: Context<'_>) -> Result<Self, Error> {
        let poise::Context::Application(app) = ctx else { anyhow::bail!("not an application command") };
        Self::from_interaction(
            app.interaction.guild_id,
            app.interaction.channel_id,
            app.interaction.member.as_deref(),
            &app.interaction.user,
        )
    }

    pub fn from_interaction(
        guild_id: Option<serenity::GuildId>,
        channel_id: serenity::ChannelId,
        member: Option<&serenity::Member>,
        user: &serenity::User,
    ) -> Result<Self, Error> {
        let guild_id = guild_id.ok_or_else(|| anyhow::anyhow!("interaction outside a server"))?;
        Ok(Invoker {
            guild_id: guild_id.get(),
            channel_id: channel_id.get(),
            user_id: user.id.get(),
            roles: member.map(|m| m.roles.iter().map(|r| r.get()).collect()).unwrap_or_default(),
            permissions: member.and_then(|m| m.permissions).unwrap_or_else(serenity::Permissions::empty),
        })
    }

    pub fn is_mentor_of(&self, cohort: &Cohort) -> bool {
        cohort.spec.guild_id == self.guild_id && self.roles.contains(&cohort.spec.mentor_role_id)
    }

    pub fn can_manage_guild(&self) -> bool {
        self.permissions.contains(serenity::Permissions::MANAGE_GUILD)
            || self.permissions.contains(serenity::Permissions::ADMINISTRATOR)
    }
}

/// The poise framework with every command, the event handler and error handling.
pub fn framework(engine: Arc<Engine>) -> poise::Framework<Data, Error> {
    let options = poise::FrameworkOptions {
        commands: commands::all(),
        event_handler: |framework, event| Box::pin(interactions::on_event(framework, event)),
        on_error: |error| Box::pin(on_error(error)),
        ..Default::default()
    };
    poise::Framework::builder()
        .options(options)
        // No owner-only commands: skip the application lookup at start.
        .initialize_owners(false)
        .setup(move |_ctx, ready, _framework| {
            Box::pin(async move {
                tracing::info!(user = %ready.user.name, guilds = ready.guilds.len(), "connected to Discord");
                Ok(Data { engine })
            })
        })
        .build()
}

async fn on_error(error: poise::FrameworkError<'_, Data, Error>) {
    match error {
        poise::FrameworkError::Command { error, ctx, .. } => {
            tracing::error!(command = %ctx.command().qualified_name, error = %format!("{error:#}"), "command failed");
            let _ = ctx
                .send(
                    poise::CreateReply::default()
                        .content("Something went wrong on our side; nothing was saved. Please try again in a minute.")
                        .ephemeral(true),
                )
                .await;
        }
        poise::FrameworkError::ArgumentParse { error, ctx, .. } => {
            let _ = ctx
                .send(
                    poise::CreateReply::default()
                        .content(format!("That option value is not valid: {error}"))
                        .ephemeral(true)
                        .allowed_mentions(render::no_mentions()),
                )
                .await;
        }
        // An option of another type than registered (a stale registration):
        // poise's default only logs it, leaving the user with no answer.
        poise::FrameworkError::CommandStructureMismatch { ctx, description, .. } => {
            tracing::warn!(command = %ctx.command().qualified_name, description, "option type mismatch");
            let text = "That option value is not valid for this command. Discord may still show an old version of it; try again in a minute.";
            let _ = poise::Context::Application(ctx)
                .send(
                    poise::CreateReply::default().content(text).ephemeral(true).allowed_mentions(render::no_mentions()),
                )
                .await;
        }
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                tracing::error!(error = %e, "error while handling an error");
            }
        }
    }
}
