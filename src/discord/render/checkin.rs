//! The check-in post, the answer and impact forms, and what a saved one says.

use poise::serenity_prelude as serenity;
use serenity::{
    CreateActionRow, CreateButton, CreateEmbed, CreateEmbedFooter, CreateInputText, CreateInteractionResponseMessage,
    CreateMessage, CreateModal, InputTextStyle,
};

use super::{COLOUR, discord_time, no_mentions, prefix, truncate};
use crate::discord::custom_id::CustomId;
use crate::discord::forms::{FIELD_ANSWER, FIELD_CONFIDENCE, FIELD_EVIDENCE, FIELD_LINK, FIELD_WHAT, FIELD_WHO};
use crate::domain::reply::{MAX_ANSWER_CHARS, MAX_IMPACT_FIELD_CHARS, MAX_LINK_CHARS};
use crate::domain::{CheckIn, Cohort, ImpactEntry, Reply};
use crate::engine::{CheckInPost, SavedAnswer};

pub fn checkin_message(post: &CheckInPost) -> CreateMessage {
    let mut embed =
        CreateEmbed::new().title(format!("Weekly check-in · {}", post.track.title())).description(&post.question);
    if let Some(h) = &post.hints {
        embed = embed.field(
            "A measurable answer names",
            format!("• {}\n• {}\n• {}", h.what_changed, h.evidence, h.who_benefited),
            false,
        );
    }
    let embed = embed
        .field(
            "How to answer",
            "Press **Answer** below or use `/checkin`. Only you and your cohort's mentors can read your answer.",
            false,
        )
        .field("Open until", discord_time(post.closes_at, 'F'), false)
        .footer(CreateEmbedFooter::new(&post.cohort_name))
        .colour(COLOUR);
    CreateMessage::new()
        .embed(embed)
        .components(vec![CreateActionRow::Buttons(vec![
            CreateButton::new(CustomId::Answer(post.checkin_id).render())
                .label("Answer")
                .style(serenity::ButtonStyle::Primary),
        ])])
        .nonce(serenity::Nonce::String(post.nonce.clone()))
        .enforce_nonce(true)
        .allowed_mentions(no_mentions())
}

/// The answer form; pre-filled with the member's current answer when editing.
pub fn answer_modal(checkin: &CheckIn, current: Option<&Reply>) -> CreateModal {
    let confidence = current.and_then(|r| r.confidence).map(|c| c.to_string()).unwrap_or_default();
    answer_modal_with(checkin, current.map_or("", |r| r.answer.as_str()), &confidence)
}

/// The answer form of `checkin` pre-filled with `answer` and `confidence`
/// (left empty when empty): the member's current answer, or a text they
/// typed for a check-in that closed.
pub fn answer_modal_with(checkin: &CheckIn, prefilled: &str, prefilled_confidence: &str) -> CreateModal {
    let track = checkin.prompt.as_ref().map(|p| p.track.title()).unwrap_or_default();
    let question = checkin.prompt.as_ref().map(|p| p.question.as_str()).unwrap_or("");
    let mut answer = CreateInputText::new(InputTextStyle::Paragraph, "Your answer", FIELD_ANSWER)
        .min_length(1)
        .max_length(MAX_ANSWER_CHARS as u16)
        .required(true)
        .placeholder(truncate(question, 100));
    let mut confidence =
        CreateInputText::new(InputTextStyle::Short, "Confidence in this track, 1–5 (optional)", FIELD_CONFIDENCE)
            .max_length(2)
            .required(false)
            .placeholder("1 = just starting, 5 = a strength");
    if !prefilled.is_empty() {
        answer = answer.value(prefix(prefilled, MAX_ANSWER_CHARS));
    }
    if !prefilled_confidence.is_empty() {
        confidence = confidence.value(prefix(prefilled_confidence, 2));
    }
    CreateModal::new(CustomId::Answer(checkin.id).render(), truncate(&format!("Check-in · {track}"), 45))
        .components(vec![CreateActionRow::InputText(answer), CreateActionRow::InputText(confidence)])
}

pub fn impact_modal(cohort: &Cohort) -> CreateModal {
    let input = |style, label: &str, id: &str, placeholder: &str, max: usize, required: bool| {
        CreateInputText::new(style, label, id).placeholder(placeholder).max_length(max as u16).required(required)
    };
    CreateModal::new(CustomId::Impact(cohort.id).render(), "Log a measurable win").components(vec![
        CreateActionRow::InputText(input(
            InputTextStyle::Paragraph,
            "What changed?",
            FIELD_WHAT,
            "What is different now because of the work",
            MAX_IMPACT_FIELD_CHARS,
            true,
        )),
        CreateActionRow::InputText(input(
            InputTextStyle::Paragraph,
            "Evidence or metric",
            FIELD_EVIDENCE,
            "The number before and after, or how you know",
            MAX_IMPACT_FIELD_CHARS,
            true,
        )),
        CreateActionRow::InputText(input(
            InputTextStyle::Short,
            "Who benefited?",
            FIELD_WHO,
            "Users, teams, a business line",
            MAX_IMPACT_FIELD_CHARS,
            true,
        )),
        CreateActionRow::InputText(input(
            InputTextStyle::Short,
            "Link (optional)",
            FIELD_LINK,
            "https://… (doc, dashboard, PR)",
            MAX_LINK_CHARS,
            false,
        )),
    ])
}

/// The answer confirmation; when the member answered the same prompt before,
/// their earlier answer and its date beside it (then and now).
pub fn answer_saved(saved: &SavedAnswer) -> CreateInteractionResponseMessage {
    let (reply, edited) = (&saved.reply, saved.edited);
    let confidence = reply.confidence.map(|c| format!("{c}/5")).unwrap_or_else(|| "not given".into());
    let mut embed = CreateEmbed::new()
        .title(if edited { "Answer updated" } else { "Answer saved" })
        .description(&reply.answer)
        .field("Confidence", confidence, true)
        .footer(CreateEmbedFooter::new("You can edit it until the check-in closes."))
        .colour(COLOUR);
    if let Some(then) = super::mentoring::then_field(saved) {
        embed = embed.field(then.0, then.1, then.2);
    }
    CreateInteractionResponseMessage::new().embed(embed).ephemeral(true).allowed_mentions(no_mentions())
}

pub fn impact_saved(entry: &ImpactEntry) -> CreateInteractionResponseMessage {
    let mut embed = CreateEmbed::new()
        .title("Win logged in your impact ledger")
        .field("What changed", truncate(&entry.what_changed, 1024), false)
        .field("Evidence or metric", truncate(&entry.evidence, 1024), false)
        .field("Who benefited", truncate(&entry.who_benefited, 1024), false)
        .colour(COLOUR);
    if let Some(link) = &entry.link {
        embed = embed.field("Link", truncate(link, 1024), false);
    }
    CreateInteractionResponseMessage::new().embed(embed).ephemeral(true).allowed_mentions(no_mentions())
}
