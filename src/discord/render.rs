//! Engine results → Discord messages. Anything that echoes user text is sent
//! with mentions that ping nobody.

use poise::serenity_prelude as serenity;
use serenity::{
    CreateActionRow, CreateAllowedMentions, CreateButton, CreateEmbed, CreateEmbedFooter, CreateInputText,
    CreateInteractionResponseMessage, CreateMessage, CreateModal, InputTextStyle,
};

use crate::domain::reply::{MAX_ANSWER_CHARS, MAX_IMPACT_FIELD_CHARS, MAX_LINK_CHARS};
use crate::domain::{CheckIn, Cohort, DeliveryProblems, ImpactEntry, MessageId, Reply, Track};
use crate::engine::{CheckInPost, DigestPost, DmChoice, ReminderDm, SavedAnswer};
use crate::summary::digest::Digest;
use crate::summary::{
    CohortStatus, FOCUS_WINDOW_DAYS, MemberProgress, MemberRow, QUIET_AFTER, Tally, Trend, WeekState, plural,
};

pub const ANSWER_PREFIX: &str = "answer:";
/// `dm-answer:{checkin_id}:{dm_message_id}`: a cohort button under an
/// ambiguous DM (see [`dm_choices`]).
pub const DM_ANSWER_PREFIX: &str = "dm-answer:";
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
pub(super) fn discord_time(t: chrono::DateTime<chrono::Utc>, style: char) -> String {
    format!("<t:{}:{style}>", t.timestamp())
}

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
            CreateButton::new(format!("{ANSWER_PREFIX}{}", post.checkin_id))
                .label("Answer")
                .style(serenity::ButtonStyle::Primary),
        ])])
        .nonce(serenity::Nonce::String(post.nonce.clone()))
        .enforce_nonce(true)
        .allowed_mentions(no_mentions())
}

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
            super::mentoring_render::block_quote(&then.answer, 1200, "(in full in /packet)")
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
            CreateButton::new(format!("{DM_ANSWER_PREFIX}{}:{dm_message_id}", c.checkin_id)).label(label).style(style)
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
    CreateModal::new(format!("{ANSWER_PREFIX}{}", checkin.id), truncate(&format!("Check-in · {track}"), 45))
        .components(vec![CreateActionRow::InputText(answer), CreateActionRow::InputText(confidence)])
}

pub fn impact_modal(cohort: &Cohort) -> CreateModal {
    let input = |style, label: &str, id: &str, placeholder: &str, max: usize, required: bool| {
        CreateInputText::new(style, label, id).placeholder(placeholder).max_length(max as u16).required(required)
    };
    CreateModal::new(format!("{IMPACT_PREFIX}{}", cohort.id), "Log a measurable win").components(vec![
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

pub fn ephemeral_text(text: impl Into<String>) -> CreateInteractionResponseMessage {
    CreateInteractionResponseMessage::new()
        .content(truncate(&text.into(), 2000))
        .ephemeral(true)
        .allowed_mentions(no_mentions())
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
    if let Some(then) = super::mentoring_render::then_field(saved) {
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

/// Lines joined with newlines, as many as fit in `max` characters; the rest
/// are counted in a last line made by `more`.
fn lines_within(lines: &[String], max: usize, more: impl Fn(usize) -> String) -> String {
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let rest = lines.len() - i;
        let tail = if rest > 1 { more(rest - 1).chars().count() + 1 } else { 0 };
        if out.chars().count() + line.chars().count() + 1 + tail > max {
            out.push_str(&more(rest));
            return out;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end().to_string()
}

fn tally(t: &Tally) -> String {
    match t.rate_percent() {
        Some(rate) => format!("{}/{} answered ({rate}%)", t.answered, t.offered),
        None => "nothing offered yet".to_string(),
    }
}

/// Short lines and no inline fields: it reads on a phone.
pub fn progress_embed(cohort: &Cohort, who: &str, p: &MemberProgress) -> CreateEmbed {
    let description = format!(
        "**Last {} weeks:** {}\n**All time:** {}\n**Streak:** {} now · longest {}",
        p.window_weeks,
        tally(&p.recent),
        tally(&p.all_time),
        p.current_streak,
        p.longest_streak
    );
    let tracks: Vec<String> = p
        .tracks
        .iter()
        .map(|(t, f)| {
            let mut line = format!(
                "**{}** · {} · {} in {} wk",
                t.title(),
                plural(f.answers as usize, "answer", "answers"),
                f.recent_answers,
                p.window_weeks
            );
            if let Some(avg) = f.average_confidence() {
                let arrow = match f.confidence_trend() {
                    Some(Trend::Rising) => " ↑",
                    Some(Trend::Falling) => " ↓",
                    Some(Trend::Steady) => " →",
                    None => "",
                };
                line.push_str(&format!(" · confidence {avg:.1}{arrow}"));
            }
            if f.impact_entries > 0 {
                line.push_str(&format!(" · {}", plural(f.impact_entries as usize, "win", "wins")));
            }
            line
        })
        .collect();
    let wins = if p.latest_impact.is_empty() {
        "None yet: log one with `/impact`.".to_string()
    } else {
        let lines: Vec<String> = p
            .latest_impact
            .iter()
            .map(|e| {
                format!("{} · {}", discord_time(e.recorded_at, 'd'), truncate(&e.what_changed.replace('\n', " "), 150))
            })
            .collect();
        let mut text = lines_within(&lines, 950, |n| format!("…and {n} more"));
        if p.impact_total as usize > p.latest_impact.len() {
            text.push_str(&format!("\n({} in all; `/packet` has every one)", p.impact_total));
        }
        text
    };
    let focus = if p.next_focus.is_empty() {
        format!("Every track had an answer or a win in the last {} weeks.", FOCUS_WINDOW_DAYS / 7)
    } else {
        format!(
            "{}\n_No answer or win in {} weeks; weakest first._",
            p.next_focus.iter().map(|t| t.title()).collect::<Vec<_>>().join(", "),
            FOCUS_WINDOW_DAYS / 7
        )
    };
    CreateEmbed::new()
        .title(truncate(&format!("Progress · {who}"), 256))
        .description(description)
        .field("Tracks", lines_within(&tracks, 1024, |n| format!("…and {n} more")), false)
        .field("Latest wins", wins, false)
        .field("Next focus", focus, false)
        .fields([super::mentoring_render::progress_path_field(&p.mentoring)])
        .footer(CreateEmbedFooter::new(truncate(
            &format!("{} · paused weeks and check-ins before you joined do not count", cohort.spec.name),
            2048,
        )))
        .colour(COLOUR)
}

/// Members listed one per line in the embed when the cohort is this small;
/// larger cohorts get counts and the quiet list, and the table as a file.
const STATUS_ROWS: usize = 15;

/// Fits Discord's limits for any cohort size: every list is cut to its
/// field's 1024 characters and points to `table`, the attached full table.
pub fn cohort_status_embed(cohort: &Cohort, s: &CohortStatus, table: &str) -> CreateEmbed {
    let open = s.current_is_open();
    let week = match &s.current {
        Some(c) => {
            let track = c.prompt.as_ref().map(|p| p.track.title()).unwrap_or_default();
            let (when, missing) = if open {
                (format!("this week, {track}, open until {}", discord_time(c.closes_at, 'f')), "not yet")
            } else {
                (format!("last check-in, {track}, closed {}", discord_time(c.closes_at, 'f')), "missing")
            };
            format!(
                "**{}** answered · **{}** {missing} · **{}** paused ({when})",
                s.answered(),
                s.not_yet(),
                s.paused()
            )
        }
        None => "No check-in has been posted yet.".to_string(),
    };
    let quiet: Vec<&MemberRow> = {
        let mut q: Vec<&MemberRow> = s.quiet().collect();
        q.sort_by(|a, b| b.missed_in_a_row.cmp(&a.missed_in_a_row).then(a.user_id.cmp(&b.user_id)));
        q
    };
    let description = format!(
        "{week}\n{} · quiet for {QUIET_AFTER}+ check-ins: **{}**",
        plural(s.members.len(), "member", "members"),
        quiet.len()
    );
    let last = |m: &MemberRow| m.last_answer.map(|t| discord_time(t, 'd')).unwrap_or_else(|| "never".into());
    let more = |n: usize| format!("…and {n} more in `{table}`");
    let mut embed = CreateEmbed::new()
        .title(truncate(&format!("Cohort status · {}", cohort.spec.name), 256))
        .description(description);
    if !s.delivery.is_empty() {
        embed = embed.field("Discord refuses", delivery_lines(&s.delivery, true), false);
    }
    if !quiet.is_empty() {
        let lines: Vec<String> = quiet
            .iter()
            .map(|m| format!("⚠️ <@{}> · missed {} in a row · last answer {}", m.user_id, m.missed_in_a_row, last(m)))
            .collect();
        embed = embed.field("Quiet members", lines_within(&lines, 1024, more), false);
    }
    let members = if s.members.is_empty() {
        "No members yet: members join with `/cohort join` or by answering.".to_string()
    } else if s.members.len() <= STATUS_ROWS {
        let lines: Vec<String> = s
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let mark = match m.this_week {
                    WeekState::Answered => "✅",
                    WeekState::NotYet => "⏳",
                    WeekState::Paused => "⏸️",
                };
                let no_dm = if s.delivery.no_dms.contains(&m.user_id) { " · 📭 no DMs" } else { "" };
                format!("{}. {mark} <@{}> · streak {} · last {}{no_dm}", i + 1, m.user_id, m.current_streak, last(m))
            })
            .collect();
        lines_within(&lines, 1024, more)
    } else {
        format!(
            "Every member's streak, last answer and week-by-week record is in `{table}` (rows numbered as in the heatmap)."
        )
    };
    embed = embed.field("Members", members, false);
    let (name, value, inline) = super::mentoring_render::status_mentoring_field(s, table);
    embed = embed.field(name, value, inline);
    let coverage: Vec<String> = s
        .tracks
        .iter()
        .map(|(t, c)| match c.rate_percent() {
            Some(rate) => format!("**{}** {rate}% · {}/{} answered", t.title(), c.answered, c.offered),
            None if c.checkins == 0 => format!("**{}** not asked", t.title()),
            None => format!("**{}** nobody expected to answer", t.title()),
        })
        .collect();
    embed
        .field(format!("Answers per track, last {} weeks", s.window_weeks), coverage.join("\n"), false)
        .footer(CreateEmbedFooter::new(format!(
            "Heatmap rows: members in join order, numbered as in {table}. Paused weeks do not count as missed."
        )))
        .colour(COLOUR)
}

/// What Discord refuses for a cohort, one line per problem, with what fixes
/// it, within an embed field's 1024 characters. `digest_channel`: whether to
/// name a refused digest channel (pointless inside the digest itself).
pub fn delivery_lines(d: &DeliveryProblems, digest_channel: bool) -> String {
    let mut lines = Vec::new();
    if let Some(p) = &d.channel {
        let fix = if p.is_gone() {
            "Run `/cohort setup` in another channel to start the cohort over there."
        } else {
            "Fix it, then run `/cohort setup` there again."
        };
        lines.push(format!(
            "⛔ Trellis can't post in <#{}>: {} (since {}). {fix}",
            p.channel_id,
            p.describe(),
            discord_time(p.since, 'd')
        ));
    }
    if let Some(p) = d.digest_channel.as_ref().filter(|_| digest_channel) {
        let fix = if p.is_gone() {
            "Run `/cohort setup` again with another `digest_channel`."
        } else {
            "Fix it, then run `/cohort setup` again."
        };
        lines.push(format!(
            "⛔ The digest can't be posted in <#{}>: {} (since {}). {fix}",
            p.channel_id,
            p.describe(),
            discord_time(p.since, 'd')
        ));
    }
    if let Some(role) = d.mentor_role_gone {
        lines.push(format!(
            "⛔ The mentor role (`{role}`) was deleted: nobody can use the mentor commands. \
             Run `/cohort setup` here with another `mentor_role` (or name one in the config file)."
        ));
    }
    let people = |ids: &[crate::domain::UserId]| {
        let shown: Vec<String> = ids.iter().take(10).map(|u| format!("<@{u}>")).collect();
        let more =
            if ids.len() > shown.len() { format!(" and {} more", ids.len() - shown.len()) } else { String::new() };
        format!("{}{more}", shown.join(", "))
    };
    if !d.no_dms.is_empty() {
        lines.push(format!(
            "📭 {} can't receive DMs from Trellis (no reminders reach them; the Answer button still works): {}",
            plural(d.no_dms.len(), "member", "members"),
            people(&d.no_dms)
        ));
    }
    if !d.left.is_empty() {
        lines.push(format!("🚪 Left the server (not reminded or counted until they come back): {}", people(&d.left)));
    }
    lines_within(&lines, FIELD_MAX, |n| format!("…and {n} more"))
}

/// `s` cut to at most `max` characters, ending in `…` when cut.
/// The cut is [`prefix`]'s: never inside a character or between a letter
/// and its accent, nor inside an emoji sequence.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out = prefix(s, max.saturating_sub(1)).to_string();
    out.push('…');
    out
}

/// The longest start of `s` of at most `max` characters that does not
/// split what a reader sees as one character: the cut is moved back before
/// a combining mark, a variation selector, an emoji skin tone or tag that
/// would be left behind, and before a zero-width joiner (ZWJ) that would end
/// the text. Always a char boundary, so slicing never panics.
pub fn prefix(s: &str, max: usize) -> &str {
    let mut ends = s.char_indices().map(|(i, _)| i).chain(std::iter::once(s.len())).skip(max);
    let Some(mut end) = ends.next() else { return s };
    loop {
        let before = s[..end].chars().next_back();
        let after = s[end..].chars().next();
        let splits = after.is_some_and(continues_cluster) || before == Some('\u{200D}');
        if !splits || end == 0 {
            return &s[..end];
        }
        end -= before.map_or(0, char::len_utf8);
    }
}

/// A character that belongs to the one before it.
fn continues_cluster(c: char) -> bool {
    unicode_normalization::char::is_combining_mark(c)
        || c == '\u{200D}'
        || ('\u{FE00}'..='\u{FE0F}').contains(&c)
        || ('\u{1F3FB}'..='\u{1F3FF}').contains(&c)
        || ('\u{E0020}'..='\u{E007F}').contains(&c)
}

/// Discord caps an embed field's value at 1024 characters.
const FIELD_MAX: usize = 1024;
const DIGEST_COLOUR: u32 = 0x3b5b7d;

/// The digest as one embed. Members appear as `<@id>` (embeds never ping),
/// and the message pings nobody anyway.
pub fn digest_message(post: &DigestPost) -> serenity::CreateMessage {
    let d = &post.digest;
    let track = d.track.map_or("Check-in", Track::title);
    let question = prefix(&d.question, 300);
    let ellipsis = if d.question.chars().count() > 300 { "…" } else { "" };
    let embed = serenity::CreateEmbed::new()
        .title(format!("Check-in digest · {track}"))
        .description(format!(
            "The check-in of <t:{}:D> closed <t:{}:f>. {} members.\n> {}{ellipsis}",
            d.occurrence_at.timestamp(),
            d.closes_at.timestamp(),
            d.members,
            question.replace('\n', "\n> ")
        ))
        .field("Answered", d.answered.to_string(), true)
        .field("Missing", d.missing.to_string(), true)
        .field("Paused", d.paused.to_string(), true)
        .field(format!("Quiet for {QUIET_AFTER}+ check-ins ({})", d.quiet.len()), quiet_list(d), false)
        .field("Track coverage", coverage_lines(d), false)
        .fields([super::mentoring_render::digest_notes_field(d), super::mentoring_render::digest_path_field(d)]);
    let embed = if post.delivery.is_empty() {
        embed
    } else {
        embed.field("Discord refuses", delivery_lines(&post.delivery, false), false)
    };
    let embed = embed
        .footer(serenity::CreateEmbedFooter::new(format!("{} · answers are not shown here", post.cohort_name)))
        .colour(DIGEST_COLOUR);
    serenity::CreateMessage::new()
        .embed(embed)
        .nonce(serenity::Nonce::String(post.nonce.clone()))
        .enforce_nonce(true)
        .allowed_mentions(no_mentions())
}

/// As many quiet members as fit in a field, most missed first.
fn quiet_list(d: &Digest) -> String {
    if d.quiet.is_empty() {
        return format!("Nobody has missed {QUIET_AFTER} check-ins in a row.");
    }
    let mut out = String::new();
    for (shown, q) in d.quiet.iter().enumerate() {
        let line = format!("<@{}> · {} missed\n", q.user_id, q.missed_in_a_row);
        // Keep room for the "and N more" line.
        if out.len() + line.len() > FIELD_MAX - 40 {
            out.push_str(&format!("… and {} more", d.quiet.len() - shown));
            return out;
        }
        out.push_str(&line);
    }
    out.trim_end().to_string()
}

/// One line per track over the digest's window, answered of expected.
fn coverage_lines(d: &Digest) -> String {
    let mut lines = vec![format!("Last {} weeks, answered of expected:", d.window_weeks)];
    for (&track, c) in &d.tracks {
        let name = track.title();
        lines.push(match (c.checkins, c.rate_percent()) {
            (0, _) => format!("**{name}**: not asked"),
            (n, Some(rate)) => {
                format!(
                    "**{name}**: {}/{} ({rate}%) over {}",
                    c.answered,
                    c.offered,
                    plural(n as usize, "check-in", "check-ins")
                )
            }
            (n, None) => {
                format!("**{name}**: {}, nobody expected to answer", plural(n as usize, "check-in", "check-ins"))
            }
        });
    }
    lines.join("\n")
}

/// `/desk`'s answer: a link button (style 5) to a one-use sign-in link.
pub fn desk_link(url: &str) -> poise::CreateReply {
    let button = CreateButton::new_link(url).label("Open the desk");
    poise::CreateReply::default()
        .content(
            "Your desk: your record (and, for mentors, your cohort's) in a browser. The link signs you in once, \
             within 10 minutes, and is yours alone: don't share it. Run `/desk` again for a new one.",
        )
        .components(vec![CreateActionRow::Buttons(vec![button])])
        .ephemeral(true)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::domain::{ChannelId, ChannelProblem, CheckInId, UserId};
    use crate::summary::digest::Digest;

    #[test]
    fn a_cut_never_splits_what_reads_as_one_character() {
        let family = "👩\u{200D}👩\u{200D}👧";
        assert_eq!(prefix(family, 2), "");
        assert_eq!(prefix(&format!("ab{family}"), 3), "ab");
        assert_eq!(prefix("cafe\u{301}!", 4), "caf");
        assert_eq!(prefix("👍🏽x", 1), "");
        assert_eq!(prefix("漢字かな", 2), "漢字");
        assert_eq!(prefix("abc", 10), "abc");
        assert_eq!(truncate("漢字かなカナ", 4), "漢字か…");
    }

    fn hard_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let c = prop_oneof![any::<char>(), Just('\u{200D}'), Just('\u{301}'), Just('\u{FE0F}'), Just('\u{1F3FD}')];
        proptest::collection::vec(c, 0..40).prop_map(|v| v.into_iter().collect())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        #[test]
        fn a_prefix_is_a_start_of_at_most_max_chars(s in hard_text(), max in 0usize..50) {
            let p = prefix(&s, max);
            proptest::prop_assert!(s.starts_with(p));
            proptest::prop_assert!(p.chars().count() <= max);
            // What is cut off (if anything) starts a new character.
            if !p.is_empty() && p.len() < s.len() {
                let ends_in_joiner = p.ends_with('\u{200D}');
                proptest::prop_assert!(!ends_in_joiner);
                proptest::prop_assert!(!continues_cluster(s[p.len()..].chars().next().unwrap()));
            }
        }
    }

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn problems() -> DeliveryProblems {
        DeliveryProblems {
            mentor_role_gone: None,
            channel: Some(ChannelProblem {
                channel_id: ChannelId::new(11),
                code: Some(50001),
                reason: "Missing Access".into(),
                since: at(),
            }),
            digest_channel: Some(ChannelProblem {
                channel_id: ChannelId::new(12),
                code: Some(10003),
                reason: "Unknown Channel".into(),
                since: at(),
            }),
            no_dms: (1..=12).map(UserId::new).collect(),
            left: vec![UserId::new(99)],
        }
    }

    #[test]
    fn delivery_problems_say_what_is_refused_and_what_fixes_it() {
        let text = delivery_lines(&problems(), true);
        assert!(text.contains("Trellis can't post in <#11>: missing access"), "{text}");
        assert!(text.contains("run `/cohort setup` there again"), "{text}");
        assert!(text.contains("The digest can't be posted in <#12>: the channel was deleted"), "{text}");
        assert!(text.contains("12 members can't receive DMs") && text.contains("<@10> and 2 more"), "{text}");
        assert!(text.contains("another `digest_channel`"), "a deleted channel cannot be fixed: {text}");
        assert!(!text.contains("<@11>"), "ten named at most: {text}");
        assert!(text.contains("Left the server") && text.contains("<@99>"), "{text}");
        assert!(text.chars().count() <= FIELD_MAX);
        assert!(!delivery_lines(&problems(), false).contains("digest"), "not inside the digest itself");
    }

    #[test]
    fn the_digest_names_what_discord_refuses_only_when_something_is() {
        let digest = Digest {
            checkin_id: CheckInId::new(1),
            occurrence_at: at(),
            closes_at: at(),
            track: None,
            question: "Q?".into(),
            answered: 1,
            missing: 1,
            paused: 0,
            quiet: vec![],
            tracks: Default::default(),
            window_weeks: 12,
            members: 2,
            mentoring: Default::default(),
        };
        let post = |delivery| DigestPost {
            cohort_name: "c".into(),
            channel_id: ChannelId::new(12),
            nonce: "d1-1".into(),
            digest: digest.clone(),
            delivery,
        };
        let json = serde_json::to_string(&digest_message(&post(problems()))).unwrap();
        assert!(json.contains("Discord refuses") && json.contains("can't receive DMs"), "{json}");
        let json = serde_json::to_string(&digest_message(&post(DeliveryProblems::default()))).unwrap();
        assert!(!json.contains("Discord refuses"), "{json}");
    }
}
