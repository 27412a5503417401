//! What a member typed is never thrown away. A form whose save is refused
//! (its check-in closed while they typed, the cohort was removed, the answer
//! a note was for was deleted, the database was busy) is answered with the
//! text itself, in the ephemeral reply, to copy or to use again.
//!
//! The text rides in embeds (a description holds 4,096 characters, every
//! form's fields fit in the 6,000 of a message) rather than in the content
//! (2,000), and embeds ping nobody. Anything longer (only a hand-made
//! submit) is attached as `what-you-typed.txt`.
//!
//! An answer to a check-in that closed comes back with a button,
//! `answer-draft:{open check-in}`, that opens the open check-in's form
//! pre-filled with it. The text is read back from the message the button is
//! on (Discord sends it with the press), so nothing is stored in between and
//! the button works after a restart; a custom_id (100 characters) could not
//! carry it.

use poise::serenity_prelude as serenity;
use serenity::{
    CreateActionRow, CreateAttachment, CreateButton, CreateEmbed, CreateEmbedFooter, CreateInteractionResponseFollowup,
    CreateInteractionResponseMessage,
};

use super::{no_mentions, prefix, truncate};
use crate::discord::custom_id::CustomId;
use crate::domain::CheckInId;
use crate::domain::reply::MAX_ANSWER_CHARS;

/// The title of the embed that holds a returned answer.
pub const YOUR_ANSWER: &str = "Your answer";
/// The footer of that embed, before the confidence typed.
const CONFIDENCE_FOOTER: &str = "Confidence: ";
/// What an embed description holds, and what a message's embeds hold together
/// (Discord's limits, with room for the titles).
const DESCRIPTION_MAX: usize = 4096;
const EMBEDS_MAX: usize = 5800;
const FILE_NAME: &str = "what-you-typed.txt";

/// A reply that gives the member their text back.
pub struct Kept {
    content: String,
    embeds: Vec<CreateEmbed>,
    file: Option<CreateAttachment>,
    button: Option<CreateButton>,
}

impl Kept {
    /// `reason` (why nothing was saved) and each non-empty `(label, text)`
    /// the member typed, in full.
    pub fn new(reason: &str, typed: &[(&str, &str)]) -> Kept {
        let typed: Vec<_> = typed.iter().filter(|(_, t)| !t.trim().is_empty()).collect();
        let content = if typed.is_empty() {
            reason.to_string()
        } else {
            format!("{reason}\nWhat you typed is below, so nothing is lost.")
        };
        let total: usize = typed.iter().map(|(l, t)| l.chars().count() + t.chars().count()).sum();
        let fits = total <= EMBEDS_MAX && typed.iter().all(|(_, t)| t.chars().count() <= DESCRIPTION_MAX);
        let mut kept = Kept { content: truncate(&content, 2000), embeds: vec![], file: None, button: None };
        if fits {
            kept.embeds =
                typed.iter().map(|(label, text)| CreateEmbed::new().title(*label).description(*text)).collect();
        } else {
            let body: String = typed.iter().map(|(label, text)| format!("{label}:\n{text}\n\n")).collect();
            kept.file = Some(CreateAttachment::bytes(body.into_bytes(), FILE_NAME));
        }
        kept
    }

    /// `reason`, and every field of the submitted form `submit` (a form
    /// refused before its kind is known), labelled by its field id.
    pub fn of_form(reason: &str, submit: &serenity::ModalInteraction) -> Kept {
        let fields: Vec<(&str, &str)> = submit
            .data
            .components
            .iter()
            .flat_map(|row| row.components.iter())
            .filter_map(|c| match c {
                serenity::ActionRowComponent::InputText(t) => Some((t.custom_id.as_str(), t.value.as_deref()?)),
                _ => None,
            })
            .collect();
        Kept::new(reason, &fields)
    }

    /// An answer to check-in that closed while it was typed; with a button
    /// for `open`, the check-in open now, if there is one.
    pub fn closed_answer(answer: &str, confidence: &str, open: Option<CheckInId>) -> Kept {
        let next = if open.is_some() {
            "Press **Use for this week's check-in** to open its form with your answer filled in; \
             you can change it before you submit."
        } else {
            "No check-in is open right now; keep it for the next one."
        };
        let reason = format!("This check-in closed before your answer arrived, so it was not saved to it. {next}");
        let mut kept = Kept::new(&reason, &[(YOUR_ANSWER, answer)]);
        if let Some(embed) = kept.embeds.pop() {
            let confidence = confidence.trim();
            let embed = if confidence.is_empty() {
                embed
            } else {
                embed.footer(CreateEmbedFooter::new(format!("{CONFIDENCE_FOOTER}{}", prefix(confidence, 8))))
            };
            kept.embeds.push(embed);
            kept.button = open.map(|id| {
                CreateButton::new(CustomId::AnswerDraft(id).render())
                    .label("Use for this week's check-in")
                    .style(serenity::ButtonStyle::Primary)
            });
        }
        kept
    }

    /// As an interaction's ephemeral reply.
    pub fn message(self) -> CreateInteractionResponseMessage {
        let mut m = CreateInteractionResponseMessage::new()
            .content(self.content)
            .embeds(self.embeds)
            .ephemeral(true)
            .allowed_mentions(no_mentions());
        if let Some(file) = self.file {
            m = m.add_file(file);
        }
        if let Some(button) = self.button {
            m = m.components(vec![CreateActionRow::Buttons(vec![button])]);
        }
        m
    }

    /// As an ephemeral follow-up (a form that deferred first).
    pub fn followup(self) -> CreateInteractionResponseFollowup {
        let mut m = CreateInteractionResponseFollowup::new()
            .content(self.content)
            .embeds(self.embeds)
            .ephemeral(true)
            .allowed_mentions(no_mentions());
        if let Some(file) = self.file {
            m = m.add_file(file);
        }
        m
    }
}

/// The answer and confidence a draft button's message holds, as written
/// by [`Kept::closed_answer`]; `None` when the message holds no answer.
pub fn draft_of(message: &serenity::Message) -> Option<(String, String)> {
    let embed = message.embeds.iter().find(|e| e.title.as_deref() == Some(YOUR_ANSWER))?;
    let answer = prefix(embed.description.as_deref()?, MAX_ANSWER_CHARS).to_string();
    let confidence = embed
        .footer
        .as_ref()
        .and_then(|f| f.text.strip_prefix(CONFIDENCE_FOOTER))
        .map(|c| prefix(c, 2).to_string())
        .unwrap_or_default();
    Some((answer, confidence))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(kept: Kept) -> serde_json::Value {
        serde_json::to_value(kept.message()).unwrap()
    }

    #[test]
    fn the_text_comes_back_whole_in_embeds_or_else_in_a_file() {
        let answer = "é".repeat(4000);
        let v = json(Kept::closed_answer(&answer, "4", Some(CheckInId::new(7))));
        assert_eq!(v["embeds"][0]["description"], answer.as_str());
        assert_eq!(v["embeds"][0]["footer"]["text"], "Confidence: 4");
        assert_eq!(v["components"][0]["components"][0]["custom_id"], "answer-draft:7");
        assert!(v["content"].as_str().unwrap().chars().count() <= 2000);

        // Only a hand-made submit is longer than an embed holds: a file then.
        let long = "x".repeat(5000);
        let v = json(Kept::new("Not saved.", &[("Evidence", &long), ("Link", "")]));
        assert!(v["embeds"].as_array().unwrap().is_empty(), "{v}");
        let v = json(Kept::closed_answer(&long, "", Some(CheckInId::new(7))));
        assert!(v.get("components").is_none_or(|c| c.as_array().unwrap().is_empty()), "no button without the text");

        // Nothing typed: the reason alone.
        let v = json(Kept::new("Not saved.", &[("Evidence", "  ")]));
        assert_eq!(v["content"], "Not saved.");
    }
}
