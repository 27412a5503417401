//! Buttons and forms (modals) outside the mentoring loop.

use poise::serenity_prelude as serenity;
use serenity::CreateInteractionResponse;

use super::dm;
use crate::discord::context::{DEFER_AFTER, Data, Error, in_time, reply_ephemeral, viewer_of};
use crate::discord::custom_id::CustomId;
use crate::discord::forms::{self, SAVE_DEADLINE, SAVE_TIMED_OUT, field, save_reply};
use crate::discord::render::kept::{self, Kept};
use crate::discord::render::{self, reply_for};
use crate::domain::{CheckInId, UserId};
use crate::engine::EngineError;

/// The forget-me confirmation: everything about the user deleted, then
/// said so. Deferred first if the deletion takes longer than
/// [`DEFER_AFTER`], so a slow database never leaves it unanswered.
async fn forget_confirmed(
    ctx: &serenity::Context,
    data: &Data,
    click: &serenity::ComponentInteraction,
) -> Result<(), Error> {
    let forget = data.engine.forget_me(UserId::from(click.user.id));
    tokio::pin!(forget);
    let (deferred, result) = tokio::select! {
        result = &mut forget => (false, result),
        () = tokio::time::sleep(DEFER_AFTER) => {
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
    Kept::new(&refused, &[(kept::YOUR_ANSWER, answer), ("Confidence", confidence)]).message()
}

/// The "Use for this week's check-in" button under a returned answer: the
/// open check-in's form, pre-filled with the answer the message holds.
async fn on_draft(
    ctx: &serenity::Context,
    data: &Data,
    click: &serenity::ComponentInteraction,
    checkin_id: CheckInId,
) -> Result<(), Error> {
    let Some((answer, confidence)) = kept::draft_of(&click.message) else {
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
            Kept::new(&reply_for(&e), &[(kept::YOUR_ANSWER, &answer), ("Confidence", &confidence)]).message(),
        ),
    };
    click.create_response(&ctx.http, response).await?;
    Ok(())
}

pub(super) async fn on_click(
    ctx: &serenity::Context,
    data: &Data,
    click: &serenity::ComponentInteraction,
) -> Result<(), Error> {
    let respond = async |http: &serenity::Http, r| click.create_response(http, r).await;
    let id = click.data.custom_id.as_str();
    let checkin_id = match CustomId::parse(id) {
        Some(mentoring) if mentoring.is_mentoring() => {
            return super::mentoring::on_click(ctx, data, click, mentoring).await;
        }
        Some(CustomId::ForgetConfirm) => return forget_confirmed(ctx, data, click).await,
        Some(CustomId::Answer(checkin_id)) => checkin_id,
        Some(CustomId::AnswerDraft(checkin_id)) => return on_draft(ctx, data, click, checkin_id).await,
        Some(CustomId::DmAnswer(checkin_id, message_id)) => {
            return dm::on_dm_choice(ctx, data, click, checkin_id, message_id).await;
        }
        _ => {
            tracing::warn!(custom_id = %render::truncate(id, 100), "unknown button");
            return reply_ephemeral(ctx, respond, "This button is no longer in use.".into()).await;
        }
    };
    let Some(who) = viewer_of(click.guild_id, click.channel_id, click.member.as_ref(), &click.user) else {
        return reply_ephemeral(ctx, respond, reply_for(&EngineError::UnknownCheckIn)).await;
    };
    match in_time(data.engine.answer_form_of(&who, checkin_id)).await {
        Ok(form) => {
            let modal = render::answer_modal(&form.checkin, form.current.as_ref());
            click.create_response(&ctx.http, CreateInteractionResponse::Modal(modal)).await?;
            Ok(())
        }
        Err(e) => reply_ephemeral(ctx, respond, reply_for(&e)).await,
    }
}

pub(super) async fn on_modal(
    ctx: &serenity::Context,
    data: &Data,
    submit: &serenity::ModalInteraction,
) -> Result<(), Error> {
    let respond = async |http: &serenity::Http, r| submit.create_response(http, r).await;
    let engine = &data.engine;
    let id = submit.data.custom_id.as_str();
    let parsed = CustomId::parse(id);
    if let Some(mentoring) = parsed.filter(|p| p.is_mentoring()) {
        return super::mentoring::on_modal(ctx, data, submit, mentoring).await;
    }
    let Some(who) = viewer_of(submit.guild_id, submit.channel_id, submit.member.as_ref(), &submit.user) else {
        let r = Kept::of_form("Use this form from your cohort's server.", submit).message();
        return Ok(respond(&ctx.http, CreateInteractionResponse::Message(r)).await?);
    };
    // The answer is committed before its confirmation goes out.
    let response = match parsed {
        Some(CustomId::Answer(checkin_id)) => {
            let answer = field(submit, forms::FIELD_ANSWER);
            let confidence = field(submit, forms::FIELD_CONFIDENCE);
            answer_reply(engine, &who, checkin_id, answer, confidence).await
        }
        Some(CustomId::Impact(cohort_id)) => {
            let typed = [
                ("What changed?", field(submit, forms::FIELD_WHAT)),
                ("Evidence or metric", field(submit, forms::FIELD_EVIDENCE)),
                ("Who benefited?", field(submit, forms::FIELD_WHO)),
                ("Link", field(submit, forms::FIELD_LINK)),
            ];
            let save = engine.submit_impact(&who, cohort_id, typed[0].1, typed[1].1, typed[2].1, typed[3].1);
            save_reply(save, |entry| render::impact_saved(&entry), &typed).await
        }
        _ => {
            tracing::warn!(custom_id = %render::truncate(id, 100), "unknown modal");
            kept::Kept::of_form("This form is no longer in use.", submit).message()
        }
    };
    submit.create_response(&ctx.http, CreateInteractionResponse::Message(response)).await?;
    Ok(())
}
