//! Direct messages: an answer by DM, its edit, the cohort button under an ambiguous one.

use poise::serenity_prelude as serenity;
use serenity::CreateInteractionResponse;

use crate::discord::context::{Data, Error, reply_ephemeral};
use crate::discord::forms::{SAVE_DEADLINE, SAVE_TIMED_OUT};
use crate::discord::render::{self, reply_for};
use crate::domain::{ChannelId, CheckInId, MessageId, UserId};
use crate::engine::{DirectMessage, DmAnswer, DmEdit, EngineError};

pub(super) async fn on_dm(ctx: &serenity::Context, data: &Data, message: &serenity::Message) -> Result<(), Error> {
    let user_id = UserId::from(message.author.id);
    let dm = MessageId::from(message.id);
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
    let dm = DirectMessage { user_id, channel_id: Some(ChannelId::from(channel)), text };
    if let Some(retry) = data.engine.reply_by_dm(dm).await {
        let engine = data.engine.clone();
        tokio::spawn(async move { engine.retry_dm_reply(retry).await });
    }
}

/// An edited DM. Only the DM that holds an answer matters; the member gets
/// one short DM when the answer changed or the edit was refused, and none
/// otherwise (an edit of any other DM changes nothing, and that DM was
/// already answered when it arrived).
pub(super) async fn on_dm_edit(
    data: &Data,
    event: &serenity::MessageUpdateEvent,
    author: &serenity::User,
    content: &str,
) -> Result<(), Error> {
    let user = UserId::from(author.id);
    let text = match data.engine.edit_dm_answer(user, MessageId::from(event.id), content).await {
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
pub(super) async fn on_dm_choice(
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
    let user = UserId::from(click.user.id);
    let saved = tokio::time::timeout(SAVE_DEADLINE, async {
        let dm = match ctx.http.get_message(click.channel_id, serenity::MessageId::from(message_id)).await {
            Ok(dm) if dm.author.id == click.user.id => dm,
            // Someone else's message is as good as gone to this member.
            Ok(_) => return Ok(None),
            Err(e) => {
                let e = crate::discord::chat::chat_err(e);
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
