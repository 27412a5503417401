//! `/cohort status`: the cohort's summary and what Discord refused.

use poise::serenity_prelude as serenity;
use serenity::{CreateEmbed, CreateEmbedFooter};

use super::{COLOUR, FIELD_MAX, discord_time, lines_within, truncate};
use crate::domain::{Cohort, DeliveryProblems};
use crate::summary::{CohortStatus, MemberRow, QUIET_AFTER, WeekState, plural};

/// Members listed one per line in the embed when the cohort is this small;
/// larger cohorts get counts and the quiet list, and the table as a file.
const STATUS_ROWS: usize = 15;

/// Fits Discord's limits for any cohort size: every list is cut to its
/// field's 1024 characters and points to `table`, the attached full table.
pub fn cohort_status_embed(cohort: &Cohort, s: &CohortStatus, table: &str) -> CreateEmbed {
    let quiet: Vec<&MemberRow> = {
        let mut q: Vec<&MemberRow> = s.quiet().collect();
        q.sort_by(|a, b| b.missed_in_a_row.cmp(&a.missed_in_a_row).then(a.user_id.cmp(&b.user_id)));
        q
    };
    let description = format!(
        "{}\n{} · quiet for {QUIET_AFTER}+ check-ins: **{}**",
        week_line(s),
        plural(s.members.len(), "member", "members"),
        quiet.len()
    );
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
    embed = embed.field("Members", members_field(s, table), false);
    let (name, value, inline) = super::mentoring::status_mentoring_field(s, table);
    embed
        .field(name, value, inline)
        .field(format!("Answers per track, last {} weeks", s.window_weeks), coverage(s), false)
        .footer(CreateEmbedFooter::new(format!(
            "Heatmap rows: members in join order, numbered as in {table}. Paused weeks do not count as missed."
        )))
        .colour(COLOUR)
}

/// The current (or last) check-in in one line: who answered, who did not yet.
fn week_line(s: &CohortStatus) -> String {
    let Some(c) = &s.current else { return "No check-in has been posted yet.".to_string() };
    let track = c.prompt.as_ref().map(|p| p.track.title()).unwrap_or_default();
    let (when, missing) = if s.current_is_open() {
        (format!("this week, {track}, open until {}", discord_time(c.closes_at, 'f')), "not yet")
    } else {
        (format!("last check-in, {track}, closed {}", discord_time(c.closes_at, 'f')), "missing")
    };
    format!("**{}** answered · **{}** {missing} · **{}** paused ({when})", s.answered(), s.not_yet(), s.paused())
}

/// A member's last answer, as a date in the reader's time zone.
fn last(m: &MemberRow) -> String {
    m.last_answer.map(|t| discord_time(t, 'd')).unwrap_or_else(|| "never".into())
}

/// The members field: one line each up to [`STATUS_ROWS`], else a pointer to the table.
fn members_field(s: &CohortStatus, table: &str) -> String {
    if s.members.is_empty() {
        return "No members yet: members join with `/cohort join` or by answering.".to_string();
    }
    if s.members.len() > STATUS_ROWS {
        return format!(
            "Every member's streak, last answer and week-by-week record is in `{table}` (rows numbered as in the heatmap)."
        );
    }
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
    lines_within(&lines, 1024, |n| format!("…and {n} more in `{table}`"))
}

/// Answers per track over the window.
fn coverage(s: &CohortStatus) -> String {
    let lines: Vec<String> = s
        .tracks
        .iter()
        .map(|(t, c)| match c.rate_percent() {
            Some(rate) => format!("**{}** {rate}% · {}/{} answered", t.title(), c.answered, c.offered),
            None if c.checkins == 0 => format!("**{}** not asked", t.title()),
            None => format!("**{}** nobody expected to answer", t.title()),
        })
        .collect();
    lines.join("\n")
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
