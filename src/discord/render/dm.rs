//! Direct messages: the reminder, what a DM answer says back, the cohort choice.

use poise::serenity_prelude as serenity;
use serenity::{CreateActionRow, CreateButton, CreateInteractionResponseMessage, CreateMessage};

use super::{discord_time, no_mentions, truncate};
use crate::discord::custom_id::CustomId;
use crate::domain::{MessageId, Reply};
use crate::engine::{DmChoice, ReminderDm};

/// "Reply here" is a promise the DM rules keep: a reminder goes only to
/// members who have not answered its check-in, and a DM goes to the only
/// open check-in not answered yet, or asks with one button per cohort
/// (never refused as ambiguous).
pub fn reminder_message(dm: &ReminderDm) -> CreateMessage {
    CreateMessage::new()
        .content(format!(
            "A nudge from **{}**: this week's check-in is still open until {}.\n> {}\n\nReply here with your answer, or press **Answer** on the post in the cohort channel.",
            dm.cohort_name,
            discord_time(dm.closes_at, 'F'),
            dm.question.replace('\n', "\n> ")
        ))
        .allowed_mentions(no_mentions())
}

/// The reply to a DM saved as an answer: where it went, and that editing the
/// DM edits the answer.
/// When the member answered the same prompt before, their earlier answer
/// and its date follow (then and now).
pub fn dm_saved(cohort_name: &str, reply: &Reply, earlier: Option<&Reply>) -> String {
    let mut text = format!(
        "Saved as your answer to the **{cohort_name}** check-in ({} characters). Edit your message to change it while the check-in is open.",
        reply.answer.chars().count()
    );
    if let Some(then) = earlier {
        text.push_str(&format!(
            "\n\nThen: your answer when this prompt came before ({}):\n{}",
            discord_time(then.created_at, 'D'),
            super::mentoring::block_quote(&then.answer, 1200, "(in full in /packet)")
        ));
    }
    truncate(&text, 2000)
}

/// The one short DM confirming that an edited DM edited the answer.
pub fn dm_updated(cohort_name: &str, reply: &Reply) -> String {
    format!("Updated your answer to the **{cohort_name}** check-in ({} characters).", reply.answer.chars().count())
}

/// The one short DM refusing an edit; `reason` comes from `reply_for`.
pub fn dm_edit_refused(reason: &str) -> String {
    truncate(&format!("Edit not saved; your answer stays as it was. {reason}"), 2000)
}

/// A cohort button's answer when the member's DM cannot be read back (deleted).
pub const DM_GONE: &str = "That message is no longer there, so nothing was saved. Send your answer again.";

/// Discord's most buttons in one message: 5 rows of 5.
const MAX_BUTTONS: usize = 25;

/// The question for an ambiguous DM: one button per open check-in, each
/// naming the check-in and the DM (`dm-answer:{checkin_id}:{dm_message_id}`),
/// so a press needs nothing remembered in between, across restarts too.
pub fn dm_choices(choices: &[DmChoice], dm_message_id: MessageId) -> CreateMessage {
    let mut content =
        "You have several open check-ins. Which one is this answer for? Nothing is saved until you press a button."
            .to_string();
    if choices.len() > MAX_BUTTONS {
        content.push_str(&format!(" (The first {MAX_BUTTONS} of {} are shown.)", choices.len()));
    }
    let buttons: Vec<CreateButton> = choices
        .iter()
        .take(MAX_BUTTONS)
        .map(|c| {
            let (suffix, style) = if c.answered {
                (" (replaces your answer)", serenity::ButtonStyle::Secondary)
            } else {
                ("", serenity::ButtonStyle::Primary)
            };
            // Discord caps a button label at 80 characters.
            let label = format!("{}{suffix}", truncate(&c.cohort_name, 80 - suffix.chars().count()));
            CreateButton::new(CustomId::DmAnswer(c.checkin_id, dm_message_id).render()).label(label).style(style)
        })
        .collect();
    let rows = buttons.chunks(5).map(|row| CreateActionRow::Buttons(row.to_vec())).collect();
    CreateMessage::new().content(content).components(rows).allowed_mentions(no_mentions())
}

/// The question message once a button settled it: the buttons go, so the
/// same DM is not saved twice by accident.
pub fn dm_choice_saved(cohort_name: &str, reply: &Reply, earlier: Option<&Reply>) -> CreateInteractionResponseMessage {
    CreateInteractionResponseMessage::new()
        .content(dm_saved(cohort_name, reply, earlier))
        .components(Vec::new())
        .allowed_mentions(no_mentions())
}

/// A plain DM (a reply to a member's DM), pinging nobody.
pub fn dm_text(text: &str) -> CreateMessage {
    CreateMessage::new().content(truncate(text, 2000)).allowed_mentions(no_mentions())
}
