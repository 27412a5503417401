//! Gateway events poise does not route to commands: guild joins (command
//! registration), button clicks, modal submits and DMs.

use poise::serenity_prelude as serenity;
use serenity::{CreateInteractionResponse, CreateMessage, FullEvent, Interaction};

use super::{Data, Error, render, reply_for, viewer_of};
use crate::domain::{CheckInId, CohortId, UserId};
use crate::engine::EngineError;

pub async fn on_event(framework: poise::FrameworkContext<'_, Data, Error>, event: &FullEvent) -> Result<(), Error> {
    let ctx = framework.serenity_context;
    match event {
        FullEvent::GuildCreate { guild, .. } => {
            // At start and on join: guild commands appear at once.
            poise::builtins::register_in_guild(ctx, &framework.options().commands, guild.id).await?;
            tracing::info!(guild = %guild.id, "commands registered");
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

async fn reply_ephemeral(
    ctx: &serenity::Context,
    respond: impl AsyncFnOnce(&serenity::Http, CreateInteractionResponse) -> serenity::Result<()>,
    text: String,
) -> Result<(), Error> {
    respond(&ctx.http, CreateInteractionResponse::Message(render::ephemeral_text(text))).await?;
    Ok(())
}

/// Discord drops an interaction not answered within 3 s. A save still waiting
/// by this deadline (all connections stuck behind a lock) gets an answer
/// anyway; it may yet commit, so the reply does not claim it was discarded.
const SAVE_DEADLINE: std::time::Duration = std::time::Duration::from_millis(2500);
const SAVE_TIMED_OUT: &str = "Trellis is busy and could not confirm your submission in time. Please submit it again in a moment; \
     submitting twice is harmless.";

async fn on_click(ctx: &serenity::Context, data: &Data, click: &serenity::ComponentInteraction) -> Result<(), Error> {
    let respond = async |http: &serenity::Http, r| click.create_response(http, r).await;
    let id = click.data.custom_id.as_str();
    if let Some(mentoring) = super::mentoring::CustomId::parse(id) {
        return super::mentoring::on_click(ctx, data, click, mentoring).await;
    }
    let checkin_id = match parse_custom_id(id) {
        CustomId::ForgetConfirm => {
            let text = match data.engine.forget_me(UserId::new(click.user.id.get())).await {
                Ok(n) => format!("Done: everything Trellis stored about you is deleted ({n} records)."),
                Err(e) => reply_for(&e),
            };
            return reply_ephemeral(ctx, respond, text).await;
        }
        CustomId::Answer(checkin_id) => checkin_id,
        CustomId::Impact(_) | CustomId::Unknown => {
            tracing::warn!(custom_id = %render::truncate(id, 100), "unknown button");
            return reply_ephemeral(ctx, respond, "This button is no longer in use.".into()).await;
        }
    };
    let Some(who) = viewer_of(click.guild_id, click.channel_id, click.member.as_ref(), &click.user) else {
        return reply_ephemeral(ctx, respond, reply_for(&EngineError::UnknownCheckIn)).await;
    };
    match data.engine.answer_form_of(&who, checkin_id).await {
        Ok(form) => {
            let modal = render::answer_modal(&form.checkin, form.current.as_ref());
            click.create_response(&ctx.http, CreateInteractionResponse::Modal(modal)).await?;
            Ok(())
        }
        Err(e) => reply_ephemeral(ctx, respond, reply_for(&e)).await,
    }
}

/// What a button's or a modal's custom_id asks for. Only the exact shapes
/// `render` writes are accepted: a prefix and a positive decimal row id with
/// no sign, no leading zero and no trailing text. Anything else is `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CustomId {
    Answer(CheckInId),
    Impact(CohortId),
    ForgetConfirm,
    Unknown,
}

pub(crate) fn parse_custom_id(id: &str) -> CustomId {
    fn row_id(digits: &str) -> Option<i64> {
        let canonical = !digits.is_empty() && !digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit());
        if canonical { digits.parse().ok() } else { None }
    }
    if id == render::FORGET_CONFIRM {
        CustomId::ForgetConfirm
    } else if let Some(n) = id.strip_prefix(render::ANSWER_PREFIX).and_then(row_id) {
        CustomId::Answer(CheckInId::new(n))
    } else if let Some(n) = id.strip_prefix(render::IMPACT_PREFIX).and_then(row_id) {
        CustomId::Impact(CohortId::new(n))
    } else {
        CustomId::Unknown
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
    if let Some(mentoring) = super::mentoring::CustomId::parse(id) {
        return super::mentoring::on_modal(ctx, data, submit, mentoring).await;
    }
    let Some(who) = viewer_of(submit.guild_id, submit.channel_id, submit.member.as_ref(), &submit.user) else {
        return reply_ephemeral(ctx, respond, "Use this form from your cohort's server.".into()).await;
    };
    // The answer is committed before its confirmation goes out.
    let response = match parse_custom_id(id) {
        CustomId::Answer(checkin_id) => {
            let answer = field(submit, render::FIELD_ANSWER);
            let confidence = field(submit, render::FIELD_CONFIDENCE);
            let saved =
                tokio::time::timeout(SAVE_DEADLINE, engine.submit_answer(&who, checkin_id, answer, confidence)).await;
            match saved {
                Err(_) => render::ephemeral_text(SAVE_TIMED_OUT),
                Ok(Ok(saved)) => render::answer_saved(&saved),
                Ok(Err(e)) => render::ephemeral_text(reply_for(&e)),
            }
        }
        CustomId::Impact(cohort_id) => {
            let saved = tokio::time::timeout(
                SAVE_DEADLINE,
                engine.submit_impact(
                    &who,
                    cohort_id,
                    field(submit, render::FIELD_WHAT),
                    field(submit, render::FIELD_EVIDENCE),
                    field(submit, render::FIELD_WHO),
                    field(submit, render::FIELD_LINK),
                ),
            )
            .await;
            match saved {
                Err(_) => render::ephemeral_text(SAVE_TIMED_OUT),
                Ok(Ok(entry)) => render::impact_saved(&entry),
                Ok(Err(e)) => render::ephemeral_text(reply_for(&e)),
            }
        }
        CustomId::ForgetConfirm | CustomId::Unknown => {
            tracing::warn!(custom_id = %render::truncate(id, 100), "unknown modal");
            render::ephemeral_text("This form is no longer in use.")
        }
    };
    submit.create_response(&ctx.http, CreateInteractionResponse::Message(response)).await?;
    Ok(())
}

async fn on_dm(ctx: &serenity::Context, data: &Data, message: &serenity::Message) -> Result<(), Error> {
    let text = match data.engine.answer_by_dm(UserId::new(message.author.id.get()), &message.content).await {
        Ok((reply, _)) => format!(
            "Saved as your answer to this week's check-in ({} characters). Reply again to replace it.",
            reply.answer.chars().count()
        ),
        Err(e) => reply_for(&e),
    };
    message
        .channel_id
        .send_message(&ctx.http, CreateMessage::new().content(text).allowed_mentions(render::no_mentions()))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn only_what_render_writes_is_known() {
        assert_eq!(parse_custom_id("answer:42"), CustomId::Answer(CheckInId::new(42)));
        assert_eq!(parse_custom_id("impact:7"), CustomId::Impact(CohortId::new(7)));
        assert_eq!(parse_custom_id(render::FORGET_CONFIRM), CustomId::ForgetConfirm);
        let max = format!("answer:{}", i64::MAX);
        assert_eq!(parse_custom_id(&max), CustomId::Answer(CheckInId::new(i64::MAX)));
        for bad in [
            "",
            "answer:",
            "answer:0",
            "answer:-1",
            "answer:+1",
            "answer:01",
            "answer: 1",
            "answer:1 ",
            "answer:1\0",
            "answer:١",
            "answer:9223372036854775808",
            "answer:99999999999999999999",
            "Answer:1",
            "answer:answer:1",
            "impact:",
            "forget:confirm ",
            "forget:",
        ] {
            assert_eq!(parse_custom_id(bad), CustomId::Unknown, "{bad:?}");
        }
    }

    fn config() -> ProptestConfig {
        ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() }
    }

    /// Re-render what was parsed: a known id is exactly the string it came from.
    fn rendered(id: CustomId) -> Option<String> {
        match id {
            CustomId::Answer(n) => Some(format!("{}{n}", render::ANSWER_PREFIX)),
            CustomId::Impact(n) => Some(format!("{}{n}", render::IMPACT_PREFIX)),
            CustomId::ForgetConfirm => Some(render::FORGET_CONFIRM.to_string()),
            CustomId::Unknown => None,
        }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn any_string_is_unknown_or_canonical(s in any::<String>()) {
            if let Some(back) = rendered(parse_custom_id(&s)) {
                prop_assert_eq!(back, s);
            }
        }

        #[test]
        fn prefixed_noise_is_unknown_or_canonical(
            prefix in prop_oneof![Just("answer:"), Just("impact:"), Just("forget:"), Just("")],
            tail in "[-+0-9 a-z\\x00\\u{660}-\\u{669}]{0,24}",
        ) {
            let s = format!("{prefix}{tail}");
            match parse_custom_id(&s) {
                CustomId::Answer(n) => prop_assert!(n.get() > 0),
                CustomId::Impact(n) => prop_assert!(n.get() > 0),
                _ => {}
            }
            if let Some(back) = rendered(parse_custom_id(&s)) {
                prop_assert_eq!(back, s);
            }
        }

        #[test]
        fn every_row_id_round_trips(n in 1..=i64::MAX) {
            prop_assert_eq!(parse_custom_id(&format!("answer:{n}")), CustomId::Answer(CheckInId::new(n)));
            prop_assert_eq!(parse_custom_id(&format!("impact:{n}")), CustomId::Impact(CohortId::new(n)));
        }
    }
}
