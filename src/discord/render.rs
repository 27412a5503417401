//! Engine results → Discord messages. Anything that echoes user text is sent
//! with mentions that ping nobody.

use poise::serenity_prelude as serenity;
use serenity::{
    CreateActionRow, CreateAllowedMentions, CreateButton, CreateEmbed, CreateEmbedFooter, CreateInputText,
    CreateInteractionResponseMessage, CreateMessage, CreateModal, InputTextStyle,
};

use crate::domain::{CheckIn, Cohort, ImpactEntry, Reply, Track};
use crate::engine::{CheckInPost, ReminderDm};
use crate::summary::{CohortStatus, MemberProgress, WeekState};

pub const ANSWER_PREFIX: &str = "answer:";
pub const IMPACT_PREFIX: &str = "impact:";
pub const FORGET_CONFIRM: &str = "forget:confirm";
pub const FIELD_ANSWER: &str = "answer";
pub const FIELD_CONFIDENCE: &str = "confidence";
pub const FIELD_WHAT: &str = "what_changed";
pub const FIELD_EVIDENCE: &str = "evidence";
pub const FIELD_WHO: &str = "who_benefited";
pub const FIELD_LINK: &str = "link";

const COLOUR: u32 = 0x2f7d5b;

pub fn no_mentions() -> CreateAllowedMentions {
    CreateAllowedMentions::new().empty_users().empty_roles().everyone(false).replied_user(false)
}

/// `<t:…:F>` renders in each reader's own time zone.
fn discord_time(t: chrono::DateTime<chrono::Utc>, style: char) -> String {
    format!("<t:{}:{style}>", t.timestamp())
}

fn title_case(t: Track) -> String {
    let s = t.as_str();
    s[..1].to_uppercase() + &s[1..]
}

pub fn checkin_message(post: &CheckInPost) -> CreateMessage {
    let embed = CreateEmbed::new()
        .title(format!("Weekly check-in · {}", title_case(post.track)))
        .description(&post.question)
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
            CreateButton::new(format!("{ANSWER_PREFIX}{}", post.checkin_id))
                .label("Answer")
                .style(serenity::ButtonStyle::Primary),
        ])])
        .nonce(serenity::Nonce::String(post.nonce.clone()))
        .enforce_nonce(true)
        .allowed_mentions(no_mentions())
}

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

/// The answer form; pre-filled with the member's current answer when editing.
pub fn answer_modal(checkin: &CheckIn, current: Option<&Reply>) -> CreateModal {
    let track = checkin.prompt.as_ref().map(|p| title_case(p.track)).unwrap_or_default();
    let question = checkin.prompt.as_ref().map(|p| p.question.as_str()).unwrap_or("");
    let mut answer = CreateInputText::new(InputTextStyle::Paragraph, "Your answer", FIELD_ANSWER)
        .min_length(1)
        .max_length(4000)
        .required(true)
        .placeholder(truncate(question, 100));
    let mut confidence =
        CreateInputText::new(InputTextStyle::Short, "Confidence in this track, 1–5 (optional)", FIELD_CONFIDENCE)
            .max_length(2)
            .required(false)
            .placeholder("1 = just starting, 5 = a strength");
    if let Some(r) = current {
        answer = answer.value(&r.answer);
        if let Some(c) = r.confidence {
            confidence = confidence.value(c.to_string());
        }
    }
    CreateModal::new(format!("{ANSWER_PREFIX}{}", checkin.id), truncate(&format!("Check-in · {track}"), 45))
        .components(vec![CreateActionRow::InputText(answer), CreateActionRow::InputText(confidence)])
}

pub fn impact_modal(cohort: &Cohort) -> CreateModal {
    let input = |style, label: &str, id: &str, placeholder: &str, max: u16, required: bool| {
        CreateInputText::new(style, label, id).placeholder(placeholder).max_length(max).required(required)
    };
    CreateModal::new(format!("{IMPACT_PREFIX}{}", cohort.id), "Log a measurable win").components(vec![
        CreateActionRow::InputText(input(
            InputTextStyle::Paragraph,
            "What changed?",
            FIELD_WHAT,
            "What is different now because of the work",
            1000,
            true,
        )),
        CreateActionRow::InputText(input(
            InputTextStyle::Paragraph,
            "Evidence or metric",
            FIELD_EVIDENCE,
            "The number before and after, or how you know",
            1000,
            true,
        )),
        CreateActionRow::InputText(input(
            InputTextStyle::Short,
            "Who benefited?",
            FIELD_WHO,
            "Users, teams, a business line",
            1000,
            true,
        )),
        CreateActionRow::InputText(input(
            InputTextStyle::Short,
            "Link (optional)",
            FIELD_LINK,
            "https://… (doc, dashboard, PR)",
            512,
            false,
        )),
    ])
}

pub fn ephemeral_text(text: impl Into<String>) -> CreateInteractionResponseMessage {
    CreateInteractionResponseMessage::new()
        .content(truncate(&text.into(), 2000))
        .ephemeral(true)
        .allowed_mentions(no_mentions())
}

pub fn answer_saved(reply: &Reply, edited: bool) -> CreateInteractionResponseMessage {
    let confidence = reply.confidence.map(|c| format!("{c}/5")).unwrap_or_else(|| "not given".into());
    let embed = CreateEmbed::new()
        .title(if edited { "Answer updated" } else { "Answer saved" })
        .description(&reply.answer)
        .field("Confidence", confidence, true)
        .footer(CreateEmbedFooter::new("You can edit it until the check-in closes."))
        .colour(COLOUR);
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

pub fn progress_embed(cohort: &Cohort, who: &str, p: &MemberProgress) -> CreateEmbed {
    let rate = (p.answered * 100).checked_div(p.offered).unwrap_or(0);
    let mut tracks = String::new();
    for (t, f) in &p.tracks {
        let conf = match (f.average_confidence(), f.confidence_trend()) {
            (Some(a), Some(d)) if d > 0 => format!(" · confidence {a:.1} ↑"),
            (Some(a), Some(d)) if d < 0 => format!(" · confidence {a:.1} ↓"),
            (Some(a), _) => format!(" · confidence {a:.1}"),
            _ => String::new(),
        };
        tracks.push_str(&format!("**{}**: {} answers, {} wins{conf}\n", title_case(*t), f.answers, f.impact_entries));
    }
    let impact = if p.latest_impact.is_empty() {
        "None yet: log one with `/impact`.".to_string()
    } else {
        p.latest_impact
            .iter()
            .map(|e| format!("{} · {}", e.recorded_at.format("%Y-%m-%d"), truncate(&e.what_changed, 150)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let focus = if p.next_focus.is_empty() {
        "Every track had activity in the last 4 weeks.".to_string()
    } else {
        p.next_focus.iter().map(|t| title_case(*t)).collect::<Vec<_>>().join(", ")
    };
    CreateEmbed::new()
        .title(format!("Progress · {who}"))
        .description(format!(
            "**{}/{}** check-ins answered ({rate}%) · streak **{}** (longest {})",
            p.answered, p.offered, p.current_streak, p.longest_streak
        ))
        .field("Tracks", tracks, false)
        .field("Latest wins", truncate(&impact, 1024), false)
        .field("Next focus", focus, false)
        .footer(CreateEmbedFooter::new(&cohort.spec.name))
        .colour(COLOUR)
}

/// Members listed in the embed; the rest are counted.
const STATUS_ROWS: usize = 20;

pub fn cohort_status_embed(cohort: &Cohort, s: &CohortStatus) -> CreateEmbed {
    let week = match &s.current {
        Some(c) => format!(
            "This week ({}): **{}** answered · **{}** not yet · **{}** paused",
            c.prompt.as_ref().map(|p| title_case(p.track)).unwrap_or_default(),
            s.answered(),
            s.not_yet(),
            s.paused()
        ),
        None => "No check-in is open right now.".to_string(),
    };
    let mut rows = String::new();
    for m in s.members.iter().take(STATUS_ROWS) {
        let mark = match m.this_week {
            WeekState::Answered => "✅",
            WeekState::NotYet => "⏳",
            WeekState::Paused => "⏸️",
        };
        let last = m.last_answer.map(|t| discord_time(t, 'd')).unwrap_or_else(|| "never".into());
        let flag =
            if m.missed_in_a_row >= 2 { format!(" · ⚠️ missed {}", m.missed_in_a_row) } else { String::new() };
        rows.push_str(&format!("{mark} <@{}> · streak {} · last {last}{flag}\n", m.user_id, m.current_streak));
    }
    if s.members.len() > STATUS_ROWS {
        rows.push_str(&format!("…and {} more", s.members.len() - STATUS_ROWS));
    }
    if rows.is_empty() {
        rows = "No members yet: members join with `/cohort join` or by answering.".into();
    }
    let coverage =
        s.track_answers.iter().map(|(t, n)| format!("{}: {n}", title_case(*t))).collect::<Vec<_>>().join(" · ");
    let quiet = s.quiet().count();
    CreateEmbed::new()
        .title(format!("Cohort status · {}", cohort.spec.name))
        .description(format!("{week}\nQuiet for 2+ check-ins: **{quiet}**"))
        .field("Members", truncate(&rows, 1024), false)
        .field("Answers per track", coverage, false)
        .colour(COLOUR)
}

/// Cut to at most `max` characters, marking the cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}
