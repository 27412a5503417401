//! Gateway events poise does not route to commands: READY, guild joins and
//! removals (command registration, detached cohorts); buttons, forms and DMs
//! go on to their handlers.

use poise::serenity_prelude as serenity;
use serenity::{CreateInteractionResponse, FullEvent, Interaction};

use super::{components, dm};
use crate::discord::context::{Data, Error};
use crate::discord::render::{self};
use crate::domain::{GuildId, UserId};
use crate::engine::ShardOf;

pub async fn on_event(framework: poise::FrameworkContext<'_, Data, Error>, event: &FullEvent) -> Result<(), Error> {
    let data = framework.user_data().await;
    // A DM has no 3 s deadline: noted first, so a refusal of the reply to it
    // is recorded after, not forgotten. An interaction is answered first:
    // bookkeeping never delays a member's answer (poise calls this handler
    // after it has run a command, too).
    if matches!(event, FullEvent::Message { .. }) {
        noticed(data, event).await;
        return handle(framework, event).await;
    }
    let handled = handle(framework, event).await;
    noticed(data, event).await;
    handled
}

async fn handle(framework: poise::FrameworkContext<'_, Data, Error>, event: &FullEvent) -> Result<(), Error> {
    let ctx = framework.serenity_context;
    match event {
        FullEvent::GuildCreate { guild, .. } => {
            // At start, after an outage, or added back: a server the bot had
            // been removed from gets its cohorts back. Registered either way.
            let joined = framework.user_data().await.engine.guild_joined(GuildId::from(guild.id)).await;
            // At start and on join: guild commands appear at once.
            poise::builtins::register_in_guild(ctx, &framework.options().commands, guild.id).await?;
            tracing::info!(guild = %guild.id, "commands registered");
            joined?;
        }
        // Without `unavailable: true` the bot was removed (kicked, or the
        // server deleted); with it, the server only has an outage.
        FullEvent::GuildDelete { incomplete, .. } if !incomplete.unavailable => {
            framework.user_data().await.engine.guild_left(GuildId::from(incomplete.id)).await?;
        }
        FullEvent::GuildDelete { incomplete, .. } => {
            tracing::info!(guild = %incomplete.id, "server unavailable (a Discord outage); its cohorts stay as they are");
        }
        FullEvent::Ready { data_about_bot } => {
            let present: Vec<GuildId> = data_about_bot.guilds.iter().map(|g| GuildId::from(g.id)).collect();
            let shard =
                data_about_bot.shard.map_or(ShardOf { id: 0, total: 1 }, |s| ShardOf { id: s.id.0, total: s.total });
            framework.user_data().await.engine.guilds_at_ready(&present, shard).await?;
        }
        // poise ignores a command it does not know (a stale registration, a
        // removed subcommand) and leaves the user waiting; say so instead.
        FullEvent::InteractionCreate { interaction: Interaction::Command(command) }
            if !is_known_command(&framework.options().commands, &command.data.name, &command.data.options) =>
        {
            tracing::warn!(command = %render::truncate(&command.data.name, 32), "unknown command");
            let text = "This command is no longer available. Discord refreshes the command list shortly; try again in a minute.";
            command
                .create_response(&ctx.http, CreateInteractionResponse::Message(render::ephemeral_text(text)))
                .await?;
        }
        FullEvent::InteractionCreate { interaction: Interaction::Component(click) } => {
            components::on_click(ctx, framework.user_data().await, click).await?;
        }
        FullEvent::InteractionCreate { interaction: Interaction::Modal(submit) } => {
            components::on_modal(ctx, framework.user_data().await, submit).await?;
        }
        FullEvent::Message { new_message } if new_message.guild_id.is_none() && !new_message.author.bot => {
            dm::on_dm(ctx, framework.user_data().await, new_message).await?;
        }
        // DIRECT_MESSAGES delivers edits of DMs too. An update without
        // `content` (a link preview appearing) or without an author is not
        // an edit of the text.
        FullEvent::MessageUpdate { event, .. } if event.guild_id.is_none() => {
            if let (Some(author), Some(content)) = (&event.author, &event.content)
                && !author.bot
            {
                dm::on_dm_edit(framework.user_data().await, event, author, content).await?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// What an event says about Discord's earlier refusals: a member who
/// interacts is reachable again (and back in the server), and a permission
/// change in a server may have fixed a channel that refused the bot. Errors
/// are logged: this never stops the event's own handling.
async fn noticed(data: &Data, event: &FullEvent) {
    let engine = &data.engine;
    let done = match event {
        FullEvent::InteractionCreate { interaction } => match interaction {
            Interaction::Command(c) => engine.member_seen(UserId::from(c.user.id)).await,
            Interaction::Component(c) => engine.member_seen(UserId::from(c.user.id)).await,
            Interaction::Modal(m) => engine.member_seen(UserId::from(m.user.id)).await,
            _ => return,
        },
        FullEvent::Message { new_message } if new_message.guild_id.is_none() && !new_message.author.bot => {
            engine.member_seen(UserId::from(new_message.author.id)).await
        }
        FullEvent::GuildCreate { guild, .. } => engine.guild_available(GuildId::from(guild.id)).await,
        FullEvent::ChannelUpdate { new, .. } => engine.permissions_changed(GuildId::from(new.guild_id)).await,
        FullEvent::GuildRoleUpdate { new, .. } => engine.permissions_changed(GuildId::from(new.guild_id)).await,
        // A thread reopened (unarchived and unlocked): what it refused may go now.
        FullEvent::ThreadUpdate { new, .. } if new.thread_metadata.is_some_and(|t| !t.archived && !t.locked) => {
            engine.permissions_changed(GuildId::from(new.guild_id)).await
        }
        FullEvent::GuildRoleDelete { guild_id, removed_role_id, .. } => {
            let guild = GuildId::from(guild_id);
            engine.role_deleted(guild, crate::domain::RoleId::from(removed_role_id)).await
        }
        _ => return,
    };
    if let Err(e) = done {
        tracing::error!(error = %crate::telemetry::ErrorChain(&e), "could not note the event");
    }
}

/// Whether poise finds a command for this name and subcommand path (the
/// same walk as poise's own lookup).
fn is_known_command(
    commands: &[poise::Command<Data, Error>],
    name: &str,
    options: &[serenity::CommandDataOption],
) -> bool {
    let Some(command) = commands.iter().find(|c| c.name == name) else { return false };
    let sub = options.iter().find_map(|o| match &o.value {
        serenity::CommandDataOptionValue::SubCommand(inner)
        | serenity::CommandDataOptionValue::SubCommandGroup(inner) => Some((o.name.as_str(), inner.as_slice())),
        _ => None,
    });
    match sub {
        Some((sub_name, inner)) => is_known_command(&command.subcommands, sub_name, inner),
        None => true,
    }
}
