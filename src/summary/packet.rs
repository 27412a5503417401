//! The promotion-evidence packet: a Markdown document of one member's own
//! material — a header with the period, the impact ledger, then the answers
//! grouped by track, each dated and quoted as written.

use std::collections::HashMap;
use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::{local_date, plural};
use crate::domain::{CheckIn, CheckInId, Cohort, ImpactEntry, Member, Reply, Track};

/// Keep user text from pinging anyone when it is pasted back into Discord:
/// a zero-width space breaks `@everyone`, `@here`, `<@user>`, `<@&role>` and
/// `<#channel>` while the text still reads exactly as written. Other `@`s
/// (e-mail addresses) are left alone.
pub fn neutralize(text: &str) -> String {
    text.replace("@everyone", "@\u{200B}everyone")
        .replace("@here", "@\u{200B}here")
        .replace("<@", "<\u{200B}@")
        .replace("<#", "<\u{200B}#")
}

/// A Markdown block quote of user text, line for line (blank lines stay inside
/// the quote, so a paragraph break cannot end it and start a heading).
fn quote(text: &str) -> String {
    let lines: Vec<String> = neutralize(text.trim_end())
        .lines()
        .map(|l| if l.trim().is_empty() { ">".to_string() } else { format!("> {l}") })
        .collect();
    if lines.is_empty() { ">".to_string() } else { lines.join("\n") }
}

/// The packet of `member`. Replies and impact entries of anyone else are
/// ignored, so passing a cohort's rows cannot leak another member's words.
/// Dates are in the cohort's time zone.
pub fn render(
    cohort: &Cohort,
    member: &Member,
    member_name: &str,
    checkins: &[CheckIn],
    replies: &[Reply],
    impact: &[ImpactEntry],
    now: DateTime<Utc>,
) -> String {
    let tz = cohort.timezone();
    let date = |t: DateTime<Utc>| local_date(t, tz);
    let by_id: HashMap<CheckInId, &CheckIn> = checkins.iter().map(|c| (c.id, c)).collect();
    let mut answers: Vec<(&CheckIn, &Reply)> = replies
        .iter()
        .filter(|r| r.user_id == member.user_id)
        .filter_map(|r| by_id.get(&r.checkin_id).map(|c| (*c, r)))
        .collect();
    answers.sort_by_key(|(c, r)| (c.occurrence_at, r.created_at, r.id));
    let mut ledger: Vec<&ImpactEntry> = impact.iter().filter(|e| e.user_id == member.user_id).collect();
    ledger.sort_by_key(|e| (e.recorded_at, e.id));

    let from = answers
        .iter()
        .map(|(_, r)| r.created_at)
        .chain(ledger.iter().map(|e| e.recorded_at))
        .chain([member.joined_at])
        .min()
        .unwrap_or(member.joined_at);
    let tracks_answered = Track::ALL.iter().filter(|t| answers.iter().any(|(c, _)| track_of(c) == Some(**t))).count();

    let mut out = String::new();
    let _ = writeln!(out, "# Promotion evidence: {}\n", neutralize(member_name).replace('\n', " "));
    let _ = writeln!(out, "- **Cohort:** {}", neutralize(&cohort.spec.name));
    let _ = writeln!(out, "- **Period:** {} to {} ({tz})", date(from), date(now));
    let _ =
        writeln!(out, "- **Check-in answers:** {} in {}", answers.len(), plural(tracks_answered, "track", "tracks"));
    let _ = writeln!(out, "- **Impact entries:** {}", ledger.len());
    let _ = writeln!(
        out,
        "\nEverything below was written by the member in Trellis and is quoted as written. \
         It holds nothing of other members."
    );

    let _ = writeln!(out, "\n## Impact ledger\n");
    if ledger.is_empty() {
        let _ = writeln!(out, "_No entries yet. Log measurable wins with `/impact`._\n");
    }
    for (n, e) in ledger.iter().enumerate() {
        let tracks = e.tracks.iter().map(|t| t.title()).collect::<Vec<_>>().join(", ");
        let _ = writeln!(out, "### {}. {} · {tracks}\n", n + 1, date(e.recorded_at));
        for (label, text) in [
            ("What changed", &e.what_changed),
            ("Evidence or metric", &e.evidence),
            ("Who benefited", &e.who_benefited),
        ] {
            let _ = writeln!(out, "**{label}**\n\n{}\n", quote(text));
        }
        if let Some(link) = &e.link {
            let _ = writeln!(out, "**Link:** <{}>\n", neutralize(link));
        }
    }

    let _ = writeln!(out, "## Answers by track");
    if answers.is_empty() {
        let _ = writeln!(out, "\n_No check-in answers yet._");
    }
    for track in Track::ALL {
        let mine: Vec<&(&CheckIn, &Reply)> = answers.iter().filter(|(c, _)| track_of(c) == Some(track)).collect();
        if mine.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n### {} · {}\n", track.title(), plural(mine.len(), "answer", "answers"));
        for (c, r) in mine {
            let mut heading = date(r.created_at);
            if let Some(n) = r.confidence {
                let _ = write!(heading, " · confidence {n}/5");
            }
            if date(r.updated_at) != date(r.created_at) {
                let _ = write!(heading, " · edited {}", date(r.updated_at));
            }
            let question = c.prompt.as_ref().map(|p| p.question.as_str()).unwrap_or_default();
            let _ = writeln!(out, "#### {heading}\n");
            let _ = writeln!(out, "**Question:** {}\n", neutralize(question).replace('\n', " "));
            let _ = writeln!(out, "{}\n", quote(&r.answer));
        }
    }
    let untouched: Vec<String> = Track::ALL
        .iter()
        .filter(|t| !answers.iter().any(|(c, _)| track_of(c) == Some(**t)))
        .map(|t| t.title().to_string())
        .collect();
    if !untouched.is_empty() && !answers.is_empty() {
        let _ = writeln!(out, "\n_No answers yet in: {}._", untouched.join(", "));
    }
    out
}

fn track_of(c: &CheckIn) -> Option<Track> {
    c.prompt.as_ref().map(|p| p.track)
}
