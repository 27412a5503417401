//! The promotion-evidence packet: Markdown, one member's own material only.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use crate::domain::{CheckIn, Cohort, ImpactEntry, Reply, Track};

/// Keep user text from pinging anyone or breaking the layout when the file
/// is pasted back into Discord: break `@` mentions and `<@…>` tags.
pub fn neutralize(text: &str) -> String {
    text.replace('@', "@\u{200B}").replace("<#", "<\u{200B}#")
}

fn quote(text: &str) -> String {
    neutralize(text).lines().map(|l| format!("> {l}")).collect::<Vec<_>>().join("\n")
}

/// `replies` and `impact` must be this member's only.
pub fn render(
    cohort: &Cohort,
    member_name: &str,
    checkins: &[CheckIn],
    replies: &[Reply],
    impact: &[ImpactEntry],
    now: DateTime<Utc>,
) -> String {
    let mut out = String::new();
    let first = replies.iter().map(|r| r.created_at).chain(impact.iter().map(|e| e.recorded_at)).min();
    let period = match first {
        Some(f) => format!("{} – {}", f.format("%Y-%m-%d"), now.format("%Y-%m-%d")),
        None => format!("until {}", now.format("%Y-%m-%d")),
    };
    let _ = writeln!(out, "# Promotion evidence · {}", neutralize(member_name));
    let _ = writeln!(out, "\nCohort: {} · Period: {period}", neutralize(&cohort.spec.name));
    let _ = writeln!(out, "\n{} check-in answers · {} impact entries", replies.len(), impact.len());

    let _ = writeln!(out, "\n## Impact ledger\n");
    if impact.is_empty() {
        let _ = writeln!(out, "_No entries yet._");
    }
    let mut ledger: Vec<&ImpactEntry> = impact.iter().collect();
    ledger.sort_by_key(|e| (e.recorded_at, e.id));
    for e in ledger {
        let _ = writeln!(out, "### {}\n", e.recorded_at.format("%Y-%m-%d"));
        let _ = writeln!(out, "- **What changed:** {}", neutralize(&e.what_changed));
        let _ = writeln!(out, "- **Evidence:** {}", neutralize(&e.evidence));
        let _ = writeln!(out, "- **Who benefited:** {}", neutralize(&e.who_benefited));
        if let Some(link) = &e.link {
            let _ = writeln!(out, "- **Link:** {}", neutralize(link));
        }
        let _ = writeln!(out);
    }

    let _ = writeln!(out, "## Answers by track");
    for track in Track::ALL {
        let mut answers: Vec<(&CheckIn, &Reply)> = replies
            .iter()
            .filter_map(|r| checkins.iter().find(|c| c.id == r.checkin_id).map(|c| (c, r)))
            .filter(|(c, _)| c.prompt.as_ref().is_some_and(|p| p.track == track))
            .collect();
        if answers.is_empty() {
            continue;
        }
        answers.sort_by_key(|(c, _)| c.occurrence_at);
        let name = track.as_str();
        let _ = writeln!(out, "\n### {}{}\n", name[..1].to_uppercase(), &name[1..]);
        for (c, r) in answers {
            let question = c.prompt.as_ref().map(|p| p.question.as_str()).unwrap_or("");
            let confidence = r.confidence.map(|n| format!(" · confidence {n}/5")).unwrap_or_default();
            let _ = writeln!(out, "**{}**{confidence} — _{}_\n", c.occurrence_at.format("%Y-%m-%d"), question);
            let _ = writeln!(out, "{}\n", quote(&r.answer));
        }
    }
    out
}
