//! `/progress`: a member's own summary.

use poise::serenity_prelude as serenity;
use serenity::{CreateEmbed, CreateEmbedFooter};

use super::{COLOUR, discord_time, lines_within, truncate};
use crate::domain::Cohort;
use crate::summary::{FOCUS_WINDOW_DAYS, MemberProgress, Tally, Trend, plural};

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
        .fields([super::mentoring::progress_path_field(&p.mentoring)])
        .footer(CreateEmbedFooter::new(truncate(
            &format!("{} · paused weeks and check-ins before you joined do not count", cohort.spec.name),
            2048,
        )))
        .colour(COLOUR)
}
