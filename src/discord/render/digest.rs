//! The weekly digest post.

use poise::serenity_prelude as serenity;

use super::status::delivery_lines;
use super::{FIELD_MAX, no_mentions, prefix};
use crate::domain::Track;
use crate::engine::DigestPost;
use crate::summary::digest::Digest;
use crate::summary::{QUIET_AFTER, plural};

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
        .fields([super::mentoring::digest_notes_field(d), super::mentoring::digest_path_field(d)]);
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
