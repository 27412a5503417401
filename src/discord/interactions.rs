//! Gateway events poise does not route to commands: guild joins (command
//! registration), button clicks, modal submits and DMs.

use poise::serenity_prelude as serenity;
use serenity::{CreateInteractionResponse, CreateMessage, FullEvent, Interaction};

use super::{Data, Error, Invoker, render};
use crate::domain::ReplySource;
use crate::engine::EngineError;

pub async fn on_event(framework: poise::FrameworkContext<'_, Data, Error>, event: &FullEvent) -> Result<(), Error> {
    let ctx = framework.serenity_context;
    match event {
        FullEvent::GuildCreate { guild, .. } => {
            // At start and on join: guild commands appear at once.
            poise::builtins::register_in_guild(ctx, &framework.options().commands, guild.id).await?;
            tracing::info!(guild = %guild.id, "commands registered");
        }
        FullEvent::InteractionCreate { interaction: Interaction::Component(click) } => {
            on_click(ctx, framework.user_data().await, click).await?;
        }
        FullEvent::InteractionCreate { interaction: Interaction::Modal(submit) } => {
            on_modal(ctx, framework.user_data().await, submit).await?;
        }
        FullEvent::Message { new_message } if new_message.guild_id.is_none() && !new_message.author.bot => {
            on_dm(ctx, framework.user_data().await, new_message).await?;
        }
        _ => {}
    }
    Ok(())
}

async fn reply_ephemeral(
    ctx: &serenity::Context,
    respond: impl AsyncFnOnce(&serenity::Http, CreateInteractionResponse) -> serenity::Result<()>,
    text: String,
) -> Result<(), Error> {
    respond(&ctx.http, CreateInteractionResponse::Message(render::ephemeral_text(text))).await?;
    Ok(())
}

fn user_message(e: EngineError) -> Result<String, Error> {
    if e.is_user_error() { Ok(e.to_string()) } else { Err(e.into()) }
}

async fn on_click(ctx: &serenity::Context, data: &Data, click: &serenity::ComponentInteraction) -> Result<(), Error> {
    let respond = async |http: &serenity::Http, r| click.create_response(http, r).await;
    let id = click.data.custom_id.as_str();
    if id == render::FORGET_CONFIRM {
        let rows = data.engine.forget_me(click.user.id.get()).await;
        let text = match rows {
            Ok(n) => format!("Done: everything Trellis stored about you is deleted ({n} records)."),
            Err(e) => user_message(e)?,
        };
        return reply_ephemeral(ctx, respond, text).await;
    }
    let Some(checkin_id) = id.strip_prefix(render::ANSWER_PREFIX).and_then(|s| s.parse::<i64>().ok()) else {
        tracing::warn!(custom_id = %render::truncate(id, 100), "unknown button");
        return reply_ephemeral(ctx, respond, "This button is no longer in use.".into()).await;
    };
    let Some(guild_id) = click.guild_id else {
        return reply_ephemeral(ctx, respond, EngineError::UnknownCheckIn.to_string()).await;
    };
    let found = async {
        let (checkin, _) = data.engine.checkin_in_guild(checkin_id, guild_id.get()).await?;
        if !checkin.is_open_at(data.engine.now()) {
            return Err(EngineError::CheckInClosed);
        }
        let current = data.engine.store().reply(checkin.id, click.user.id.get()).await?;
        Ok((checkin, current))
    }
    .await;
    match found {
        Ok((checkin, current)) => {
            let modal = render::answer_modal(&checkin, current.as_ref());
            click.create_response(&ctx.http, CreateInteractionResponse::Modal(modal)).await?;
            Ok(())
        }
        Err(e) => reply_ephemeral(ctx, respond, user_message(e)?).await,
    }
}

fn field<'a>(submit: &'a serenity::ModalInteraction, id: &str) -> &'a str {
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

async fn on_modal(ctx: &serenity::Context, data: &Data, submit: &serenity::ModalInteraction) -> Result<(), Error> {
    let respond = async |http: &serenity::Http, r| submit.create_response(http, r).await;
    let engine = &data.engine;
    let id = submit.data.custom_id.as_str();
    let Ok(who) = Invoker::from_interaction(submit.guild_id, submit.channel_id, submit.member.as_ref(), &submit.user)
    else {
        return reply_ephemeral(ctx, respond, "Use this form from your cohort's server.".into()).await;
    };
    if let Some(checkin_id) = id.strip_prefix(render::ANSWER_PREFIX).and_then(|s| s.parse::<i64>().ok()) {
        let saved = async {
            let (checkin, _) = engine.checkin_in_guild(checkin_id, who.guild_id).await?;
            let had = engine.store().reply(checkin.id, who.user_id).await?.is_some();
            let reply = engine
                .answer(
                    &checkin,
                    who.user_id,
                    field(submit, render::FIELD_ANSWER),
                    field(submit, render::FIELD_CONFIDENCE),
                    ReplySource::Modal,
                )
                .await?;
            Ok::<_, EngineError>((reply, had))
        }
        .await;
        // The answer is committed before this confirmation goes out.
        return match saved {
            Ok((reply, edited)) => {
                submit
                    .create_response(
                        &ctx.http,
                        CreateInteractionResponse::Message(render::answer_saved(&reply, edited)),
                    )
                    .await?;
                Ok(())
            }
            Err(e) => reply_ephemeral(ctx, respond, user_message(e)?).await,
        };
    }
    if let Some(cohort_id) = id.strip_prefix(render::IMPACT_PREFIX).and_then(|s| s.parse::<i64>().ok()) {
        let saved = async {
            let cohort = engine
                .store()
                .cohort(cohort_id)
                .await?
                .filter(|c| c.active && c.spec.guild_id == who.guild_id)
                .ok_or(EngineError::NotACohortChannel)?;
            engine
                .record_impact(
                    &cohort,
                    who.user_id,
                    field(submit, render::FIELD_WHAT),
                    field(submit, render::FIELD_EVIDENCE),
                    field(submit, render::FIELD_WHO),
                    field(submit, render::FIELD_LINK),
                )
                .await
        }
        .await;
        return match saved {
            Ok(entry) => {
                submit
                    .create_response(&ctx.http, CreateInteractionResponse::Message(render::impact_saved(&entry)))
                    .await?;
                Ok(())
            }
            Err(e) => reply_ephemeral(ctx, respond, user_message(e)?).await,
        };
    }
    tracing::warn!(custom_id = %render::truncate(id, 100), "unknown modal");
    reply_ephemeral(ctx, respond, "This form is no longer in use.".into()).await
}

async fn on_dm(ctx: &serenity::Context, data: &Data, message: &serenity::Message) -> Result<(), Error> {
    let text = match data.engine.answer_by_dm(message.author.id.get(), &message.content).await {
        Ok((reply, _)) => format!(
            "Saved as your answer to this week's check-in ({} characters). Reply again to replace it.",
            reply.answer.chars().count()
        ),
        Err(e) => user_message(e)?,
    };
    message
        .channel_id
        .send_message(&ctx.http, CreateMessage::new().content(text).allowed_mentions(render::no_mentions()))
        .await?;
    Ok(())
}
