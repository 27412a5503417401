//! Gateway events poise does not route to commands: READY, guild joins and
//! removals (command registration, detached cohorts), button clicks, modal
//! submits, DMs and edited DMs.

use poise::serenity_prelude as serenity;
use serenity::{CreateInteractionResponse, FullEvent, Interaction};

use super::kept::Kept;
use super::{Data, Error, render, reply_for, viewer_of};
use crate::domain::{ChannelId, CheckInId, CohortId, GuildId, MessageId, UserId};
use crate::engine::{DirectMessage, DmAnswer, DmEdit, EngineError, ShardOf};

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
            let joined = framework.user_data().await.engine.guild_joined(GuildId::new(guild.id.get())).await;
            // At start and on join: guild commands appear at once.
            poise::builtins::register_in_guild(ctx, &framework.options().commands, guild.id).await?;
            tracing::info!(guild = %guild.id, "commands registered");
            joined?;
        }
        // Without `unavailable: true` the bot was removed (kicked, or the
        // server deleted); with it, the server only has an outage.
        FullEvent::GuildDelete { incomplete, .. } if !incomplete.unavailable => {
            framework.user_data().await.engine.guild_left(GuildId::new(incomplete.id.get())).await?;
        }
        FullEvent::GuildDelete { incomplete, .. } => {
            tracing::info!(guild = %incomplete.id, "server unavailable (a Discord outage); its cohorts stay as they are");
        }
        FullEvent::Ready { data_about_bot } => {
            let present: Vec<GuildId> = data_about_bot.guilds.iter().map(|g| GuildId::new(g.id.get())).collect();
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
            on_click(ctx, framework.user_data().await, click).await?;
        }
        FullEvent::InteractionCreate { interaction: Interaction::Modal(submit) } => {
            on_modal(ctx, framework.user_data().await, submit).await?;
        }
        FullEvent::Message { new_message } if new_message.guild_id.is_none() && !new_message.author.bot => {
            on_dm(ctx, framework.user_data().await, new_message).await?;
        }
        // DIRECT_MESSAGES delivers edits of DMs too. An update without
        // `content` (a link preview appearing) or without an author is not
        // an edit of the text.
        FullEvent::MessageUpdate { event, .. } if event.guild_id.is_none() => {
            if let (Some(author), Some(content)) = (&event.author, &event.content)
                && !author.bot
            {
                on_dm_edit(framework.user_data().await, event, author, content).await?;
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
            Interaction::Command(c) => engine.member_seen(UserId::new(c.user.id.get())).await,
            Interaction::Component(c) => engine.member_seen(UserId::new(c.user.id.get())).await,
            Interaction::Modal(m) => engine.member_seen(UserId::new(m.user.id.get())).await,
            _ => return,
        },
        FullEvent::Message { new_message } if new_message.guild_id.is_none() && !new_message.author.bot => {
            engine.member_seen(UserId::new(new_message.author.id.get())).await
        }
        FullEvent::GuildCreate { guild, .. } => engine.guild_available(GuildId::new(guild.id.get())).await,
        FullEvent::ChannelUpdate { new, .. } => engine.permissions_changed(GuildId::new(new.guild_id.get())).await,
        FullEvent::GuildRoleUpdate { new, .. } => engine.permissions_changed(GuildId::new(new.guild_id.get())).await,
        // A thread reopened (unarchived and unlocked): what it refused may go now.
        FullEvent::ThreadUpdate { new, .. } if new.thread_metadata.is_some_and(|t| !t.archived && !t.locked) => {
            engine.permissions_changed(GuildId::new(new.guild_id.get())).await
        }
        FullEvent::GuildRoleDelete { guild_id, removed_role_id, .. } => {
            let guild = GuildId::new(guild_id.get());
            engine.role_deleted(guild, crate::domain::RoleId::new(removed_role_id.get())).await
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

async fn reply_ephemeral(
    ctx: &serenity::Context,
    respond: impl AsyncFnOnce(&serenity::Http, CreateInteractionResponse) -> serenity::Result<()>,
    text: String,
) -> Result<(), Error> {
    respond(&ctx.http, CreateInteractionResponse::Message(render::ephemeral_text(text))).await?;
    Ok(())
}

/// The forget-me confirmation: everything about the user deleted, then
/// said so. Deferred first if the deletion takes longer than
/// [`super::DEFER_AFTER`], so a slow database never leaves it unanswered.
async fn forget_confirmed(
    ctx: &serenity::Context,
    data: &Data,
    click: &serenity::ComponentInteraction,
) -> Result<(), Error> {
    let forget = data.engine.forget_me(UserId::new(click.user.id.get()));
    tokio::pin!(forget);
    let (deferred, result) = tokio::select! {
        result = &mut forget => (false, result),
        () = tokio::time::sleep(super::DEFER_AFTER) => {
            click.defer_ephemeral(&ctx.http).await?;
            (true, forget.await)
        }
    };
    let text = match result {
        Ok(n) => format!("Done: everything Trellis stored about you is deleted ({n} records)."),
        Err(e) => reply_for(&e),
    };
    if deferred {
        let followup = serenity::CreateInteractionResponseFollowup::new()
            .content(text)
            .ephemeral(true)
            .allowed_mentions(render::no_mentions());
        click.create_followup(&ctx.http, followup).await?;
        return Ok(());
    }
    let respond = async |http: &serenity::Http, r| click.create_response(http, r).await;
    reply_ephemeral(ctx, respond, text).await
}

/// Discord drops an interaction not answered within 3 s. A save still waiting
/// by this deadline (all connections stuck behind a lock) gets an answer
/// anyway; it may yet commit, so the reply does not claim it was discarded.
const SAVE_DEADLINE: std::time::Duration = std::time::Duration::from_millis(2500);
const SAVE_TIMED_OUT: &str = "Trellis is busy and could not confirm your submission in time. Please submit it again in a moment; \
     submitting twice is harmless.";

/// A submitted form's save, bounded by [`SAVE_DEADLINE`], as the reply the
/// member reads: `saved` of what was committed; else the engine error's
/// text or [`SAVE_TIMED_OUT`], with what they `typed` (label, text) given
/// back ([`Kept`]).
pub(super) async fn save_reply<T>(
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

/// A submitted answer form, as the reply. An answer to a check-in that
/// closed while it was typed is saved nowhere (not to the next check-in
/// unasked) and comes back with a button for the check-in open now.
async fn answer_reply(
    engine: &crate::engine::Engine,
    who: &crate::domain::Viewer,
    checkin_id: CheckInId,
    answer: &str,
    confidence: &str,
) -> serenity::CreateInteractionResponseMessage {
    let save = engine.submit_answer(who, checkin_id, answer, confidence);
    let refused = match tokio::time::timeout(SAVE_DEADLINE, save).await {
        Ok(Ok(saved)) => return render::answer_saved(&saved),
        Ok(Err(EngineError::CheckInClosed)) => {
            let open = engine.answer_form(who).await.ok().map(|f| f.checkin.id).filter(|id| *id != checkin_id);
            return Kept::closed_answer(answer, confidence, open).message();
        }
        Ok(Err(e)) => reply_for(&e),
        Err(_) => SAVE_TIMED_OUT.to_string(),
    };
    Kept::new(&refused, &[(super::kept::YOUR_ANSWER, answer), ("Confidence", confidence)]).message()
}

/// The "Use for this week's check-in" button under a returned answer: the
/// open check-in's form, pre-filled with the answer the message holds.
async fn on_draft(
    ctx: &serenity::Context,
    data: &Data,
    click: &serenity::ComponentInteraction,
    checkin_id: CheckInId,
) -> Result<(), Error> {
    let Some((answer, confidence)) = super::kept::draft_of(&click.message) else {
        let r = render::ephemeral_text("This button is no longer in use.");
        return Ok(click.create_response(&ctx.http, CreateInteractionResponse::Message(r)).await?);
    };
    let form = match viewer_of(click.guild_id, click.channel_id, click.member.as_ref(), &click.user) {
        Some(who) => data.engine.answer_form_of(&who, checkin_id).await,
        None => Err(EngineError::UnknownCheckIn),
    };
    let response = match form {
        Ok(form) => CreateInteractionResponse::Modal(render::answer_modal_with(&form.checkin, &answer, &confidence)),
        Err(e) => CreateInteractionResponse::Message(
            Kept::new(&reply_for(&e), &[(super::kept::YOUR_ANSWER, &answer), ("Confidence", &confidence)]).message(),
        ),
    };
    click.create_response(&ctx.http, response).await?;
    Ok(())
}

async fn on_click(ctx: &serenity::Context, data: &Data, click: &serenity::ComponentInteraction) -> Result<(), Error> {
    let respond = async |http: &serenity::Http, r| click.create_response(http, r).await;
    let id = click.data.custom_id.as_str();
    if let Some(mentoring) = super::mentoring::CustomId::parse(id) {
        return super::mentoring::on_click(ctx, data, click, mentoring).await;
    }
    let checkin_id = match parse_custom_id(id) {
        CustomId::ForgetConfirm => return forget_confirmed(ctx, data, click).await,
        CustomId::Answer(checkin_id) => checkin_id,
        CustomId::AnswerDraft(checkin_id) => return on_draft(ctx, data, click, checkin_id).await,
        CustomId::DmAnswer(checkin_id, message_id) => {
            return on_dm_choice(ctx, data, click, checkin_id, message_id).await;
        }
        CustomId::Impact(_) | CustomId::Unknown => {
            tracing::warn!(custom_id = %render::truncate(id, 100), "unknown button");
            return reply_ephemeral(ctx, respond, "This button is no longer in use.".into()).await;
        }
    };
    let Some(who) = viewer_of(click.guild_id, click.channel_id, click.member.as_ref(), &click.user) else {
        return reply_ephemeral(ctx, respond, reply_for(&EngineError::UnknownCheckIn)).await;
    };
    match super::in_time(data.engine.answer_form_of(&who, checkin_id)).await {
        Ok(form) => {
            let modal = render::answer_modal(&form.checkin, form.current.as_ref());
            click.create_response(&ctx.http, CreateInteractionResponse::Modal(modal)).await?;
            Ok(())
        }
        Err(e) => reply_ephemeral(ctx, respond, reply_for(&e)).await,
    }
}

/// What a button's or a modal's custom_id asks for. Only the exact shapes
/// `render` writes are accepted: a prefix and positive decimal ids with no
/// sign, no leading zero and no trailing text. Anything else is `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CustomId {
    Answer(CheckInId),
    /// "Use for this week's check-in" under an answer given back ([`Kept`]).
    AnswerDraft(CheckInId),
    /// A cohort button under the member's DM `MessageId`.
    DmAnswer(CheckInId, MessageId),
    Impact(CohortId),
    ForgetConfirm,
    Unknown,
}

pub(crate) fn parse_custom_id(id: &str) -> CustomId {
    fn canonical(digits: &str) -> bool {
        !digits.is_empty() && !digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit())
    }
    fn row_id(digits: &str) -> Option<i64> {
        if canonical(digits) { digits.parse().ok() } else { None }
    }
    fn snowflake(digits: &str) -> Option<u64> {
        if canonical(digits) { digits.parse().ok() } else { None }
    }
    let dm_answer = |rest: &str| {
        let (checkin, message) = rest.split_once(':')?;
        Some(CustomId::DmAnswer(CheckInId::new(row_id(checkin)?), MessageId::new(snowflake(message)?)))
    };
    if id == render::FORGET_CONFIRM {
        CustomId::ForgetConfirm
    } else if let Some(parsed) = id.strip_prefix(render::DM_ANSWER_PREFIX).and_then(dm_answer) {
        parsed
    } else if let Some(n) = id.strip_prefix(render::ANSWER_PREFIX).and_then(row_id) {
        CustomId::Answer(CheckInId::new(n))
    } else if let Some(n) = id.strip_prefix(super::kept::DRAFT_PREFIX).and_then(row_id) {
        CustomId::AnswerDraft(CheckInId::new(n))
    } else if let Some(n) = id.strip_prefix(render::IMPACT_PREFIX).and_then(row_id) {
        CustomId::Impact(CohortId::new(n))
    } else {
        CustomId::Unknown
    }
}

/// The value the member typed into the text input `id` of a form (empty when absent).
pub(super) fn field<'a>(submit: &'a serenity::ModalInteraction, id: &str) -> &'a str {
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
        let r = Kept::of_form("Use this form from your cohort's server.", submit).message();
        return Ok(respond(&ctx.http, CreateInteractionResponse::Message(r)).await?);
    };
    // The answer is committed before its confirmation goes out.
    let response = match parse_custom_id(id) {
        CustomId::Answer(checkin_id) => {
            let answer = field(submit, render::FIELD_ANSWER);
            let confidence = field(submit, render::FIELD_CONFIDENCE);
            answer_reply(engine, &who, checkin_id, answer, confidence).await
        }
        CustomId::Impact(cohort_id) => {
            let typed = [
                ("What changed?", field(submit, render::FIELD_WHAT)),
                ("Evidence or metric", field(submit, render::FIELD_EVIDENCE)),
                ("Who benefited?", field(submit, render::FIELD_WHO)),
                ("Link", field(submit, render::FIELD_LINK)),
            ];
            let save = engine.submit_impact(&who, cohort_id, typed[0].1, typed[1].1, typed[2].1, typed[3].1);
            save_reply(save, |entry| render::impact_saved(&entry), &typed).await
        }
        CustomId::ForgetConfirm | CustomId::DmAnswer(..) | CustomId::AnswerDraft(_) | CustomId::Unknown => {
            tracing::warn!(custom_id = %render::truncate(id, 100), "unknown modal");
            super::kept::Kept::of_form("This form is no longer in use.", submit).message()
        }
    };
    submit.create_response(&ctx.http, CreateInteractionResponse::Message(response)).await?;
    Ok(())
}

async fn on_dm(ctx: &serenity::Context, data: &Data, message: &serenity::Message) -> Result<(), Error> {
    let user_id = UserId::new(message.author.id.get());
    let dm = MessageId::new(message.id.get());
    let text = match data.engine.answer_by_dm(user_id, dm, &message.content).await {
        Ok(DmAnswer::Saved { reply, cohort_name, earlier }) => render::dm_saved(&cohort_name, &reply, earlier.as_ref()),
        Ok(DmAnswer::Choose(choices)) => {
            // The question carries buttons; the member is writing in this
            // channel right now, so one try is enough.
            message.channel_id.send_message(&ctx.http, render::dm_choices(&choices, dm)).await?;
            return Ok(());
        }
        Err(e) => reply_for(&e),
    };
    reply_in_dm(data, user_id, message.channel_id, text).await;
    Ok(())
}

/// A short text reply in the member's DM channel. The first try is part of
/// handling the event (a clean stop waits for it); retries after a
/// temporary failure back off, off the event's path.
async fn reply_in_dm(data: &Data, user_id: UserId, channel: serenity::ChannelId, text: String) {
    let dm = DirectMessage { user_id, channel_id: Some(ChannelId::new(channel.get())), text };
    if let Some(retry) = data.engine.reply_by_dm(dm).await {
        let engine = data.engine.clone();
        tokio::spawn(async move { engine.retry_dm_reply(retry).await });
    }
}

/// An edited DM. Only the DM that holds an answer matters; the member gets
/// one short DM when the answer changed or the edit was refused, and none
/// otherwise (an edit of any other DM changes nothing, and that DM was
/// already answered when it arrived).
async fn on_dm_edit(
    data: &Data,
    event: &serenity::MessageUpdateEvent,
    author: &serenity::User,
    content: &str,
) -> Result<(), Error> {
    let user = UserId::new(author.id.get());
    let text = match data.engine.edit_dm_answer(user, MessageId::new(event.id.get()), content).await {
        Ok(DmEdit::Updated { reply, cohort_name }) => render::dm_updated(&cohort_name, &reply),
        Ok(DmEdit::NotAnAnswer | DmEdit::Unchanged) => return Ok(()),
        Err(e) => render::dm_edit_refused(&reply_for(&e)),
    };
    reply_in_dm(data, user, event.channel_id, text).await;
    Ok(())
}

/// A cohort button under an ambiguous DM (`dm-answer:{checkin}:{message}`).
///
/// Why the DM is read back from Discord on the press rather than carried in
/// an answer form prefilled with it: the text fits in no custom_id, and
/// nothing may be stored before the press, so a form would need the text
/// kept in memory between the DM and the press, which a restart loses. The
/// DM itself is durable in Discord: one GET on the press finds it, after a
/// restart too, and with any edit made before the press. Only the member's
/// own DM in the channel the button was pressed in is read.
async fn on_dm_choice(
    ctx: &serenity::Context,
    data: &Data,
    click: &serenity::ComponentInteraction,
    checkin_id: CheckInId,
    message_id: MessageId,
) -> Result<(), Error> {
    let respond = async |http: &serenity::Http, r| click.create_response(http, r).await;
    if click.guild_id.is_some() {
        // render puts these buttons under DMs only.
        tracing::warn!("DM answer button pressed in a server");
        return reply_ephemeral(ctx, respond, "This button is no longer in use.".into()).await;
    }
    let user = UserId::new(click.user.id.get());
    let saved = tokio::time::timeout(SAVE_DEADLINE, async {
        let dm = match ctx.http.get_message(click.channel_id, serenity::MessageId::new(message_id.get())).await {
            Ok(dm) if dm.author.id == click.user.id => dm,
            // Someone else's message is as good as gone to this member.
            Ok(_) => return Ok(None),
            Err(e) => {
                let e = super::chat::chat_err(e);
                return if e.is_permanent() { Ok(None) } else { Err(EngineError::Chat(e)) };
            }
        };
        data.engine.answer_dm_choice(user, checkin_id, message_id, &dm.content).await.map(Some)
    })
    .await;
    let response = match saved {
        Err(_) => render::ephemeral_text(SAVE_TIMED_OUT),
        Ok(Ok(Some((reply, cohort_name, earlier)))) => {
            let settled = render::dm_choice_saved(&cohort_name, &reply, earlier.as_ref());
            return Ok(click.create_response(&ctx.http, CreateInteractionResponse::UpdateMessage(settled)).await?);
        }
        Ok(Ok(None)) => render::ephemeral_text(render::DM_GONE),
        Ok(Err(e)) => render::ephemeral_text(reply_for(&e)),
    };
    click.create_response(&ctx.http, CreateInteractionResponse::Message(response)).await?;
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
        assert_eq!(parse_custom_id("answer-draft:9"), CustomId::AnswerDraft(CheckInId::new(9)));
        assert_eq!(parse_custom_id("answer-draft:09"), CustomId::Unknown);
        assert_eq!(parse_custom_id("answer-draft:"), CustomId::Unknown);
        assert_eq!(parse_custom_id(render::FORGET_CONFIRM), CustomId::ForgetConfirm);
        let max = format!("answer:{}", i64::MAX);
        assert_eq!(parse_custom_id(&max), CustomId::Answer(CheckInId::new(i64::MAX)));
        assert_eq!(
            parse_custom_id("dm-answer:42:1234567890123456789"),
            CustomId::DmAnswer(CheckInId::new(42), MessageId::new(1_234_567_890_123_456_789))
        );
        let max = format!("dm-answer:{}:{}", i64::MAX, u64::MAX);
        assert_eq!(parse_custom_id(&max), CustomId::DmAnswer(CheckInId::new(i64::MAX), MessageId::new(u64::MAX)));
        assert!(max.len() <= 100, "Discord's custom_id limit");
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
            "dm-answer:",
            "dm-answer:1",
            "dm-answer:1:",
            "dm-answer::1",
            "dm-answer:0:1",
            "dm-answer:1:0",
            "dm-answer:1:01",
            "dm-answer:1:2:3",
            "dm-answer:1:-2",
            "dm-answer:1:2 ",
            "dm-answer:9223372036854775808:1",
            "dm-answer:1:18446744073709551616",
            "answer:1:2",
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
            CustomId::AnswerDraft(n) => Some(format!("{}{n}", super::super::kept::DRAFT_PREFIX)),
            CustomId::DmAnswer(k, m) => Some(format!("{}{k}:{m}", render::DM_ANSWER_PREFIX)),
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
            prefix in prop_oneof![
                Just("answer:"), Just("impact:"), Just("forget:"), Just("dm-answer:"), Just("answer-draft:"), Just("")
            ],
            tail in "[-+0-9: a-z\\x00\\u{660}-\\u{669}]{0,48}",
        ) {
            let s = format!("{prefix}{tail}");
            match parse_custom_id(&s) {
                CustomId::Answer(n) => prop_assert!(n.get() > 0),
                CustomId::Impact(n) => prop_assert!(n.get() > 0),
                CustomId::AnswerDraft(n) => prop_assert!(n.get() > 0),
                CustomId::DmAnswer(k, m) => prop_assert!(k.get() > 0 && m.get() > 0),
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

        #[test]
        fn every_dm_answer_id_round_trips(k in 1..=i64::MAX, m in 1..=u64::MAX) {
            let id = format!("dm-answer:{k}:{m}");
            prop_assert_eq!(parse_custom_id(&id), CustomId::DmAnswer(CheckInId::new(k), MessageId::new(m)));
        }
    }
}
