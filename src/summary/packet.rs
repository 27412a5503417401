//! The promotion-evidence packet: a Markdown document of one member's own
//! material — a header with the period, the Staff path with its evidence, the
//! impact ledger, then the answers grouped by track, each dated and quoted as
//! written, with mentors' notes marked as theirs.

use std::collections::HashMap;
use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::{local_date, plural};
use crate::domain::{
    CheckIn, CheckInId, Cohort, ImpactEntry, Member, Note, PathStep, Reply, ReplyId, StaffPath, Track,
};

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
pub(crate) fn quote(text: &str) -> String {
    let lines: Vec<String> = neutralize(text.trim_end())
        .lines()
        .map(|l| if l.trim().is_empty() { ">".to_string() } else { format!("> {l}") })
        .collect();
    if lines.is_empty() { ">".to_string() } else { lines.join("\n") }
}

/// Everything the packet is made of, as the store returned it. Rows of
/// anyone but the packet's member are ignored.
#[derive(Debug, Clone, Copy)]
pub struct PacketMaterial<'a> {
    /// The cohort's ledger.
    pub checkins: &'a [CheckIn],
    pub replies: &'a [Reply],
    pub impact: &'a [ImpactEntry],
    pub path: &'a StaffPath,
    /// Mentors' notes on the member's answers.
    pub notes: &'a [Note],
}

/// The packet of `member`: a header, the Staff path (the project and each
/// step's evidence, the promotion story the path ends with), the impact
/// ledger, then the answers grouped by track. Within a track, a prompt the
/// member answered more than once is one section, its answers side by side as
/// then and now. Each answer is followed by the mentors' notes on it, marked
/// as theirs. Material of anyone else is ignored, so passing a cohort's rows
/// cannot leak another member's words. Dates are in the cohort's time zone.
pub fn render(
    cohort: &Cohort,
    member: &Member,
    member_name: &str,
    m: &PacketMaterial<'_>,
    now: DateTime<Utc>,
) -> String {
    let tz = cohort.timezone();
    let date = |t: DateTime<Utc>| local_date(t, tz);
    let by_id: HashMap<CheckInId, &CheckIn> = m.checkins.iter().map(|c| (c.id, c)).collect();
    let mut answers: Vec<(&CheckIn, &Reply)> = m
        .replies
        .iter()
        .filter(|r| r.user_id == member.user_id)
        .filter_map(|r| by_id.get(&r.checkin_id).map(|c| (*c, r)))
        .collect();
    answers.sort_by_key(|(c, r)| (c.occurrence_at, r.created_at, r.id));
    let mut ledger: Vec<&ImpactEntry> = m.impact.iter().filter(|e| e.user_id == member.user_id).collect();
    ledger.sort_by_key(|e| (e.recorded_at, e.id));
    let mut notes: HashMap<ReplyId, Vec<&Note>> = HashMap::new();
    for n in m.notes.iter().filter(|n| n.member_id == member.user_id) {
        notes.entry(n.reply_id).or_default().push(n);
    }
    for group in notes.values_mut() {
        group.sort_by_key(|n| (n.created_at, n.id));
    }
    let notes_shown: usize = answers.iter().map(|(_, r)| notes.get(&r.id).map_or(0, Vec::len)).sum();
    let path = StaffPath::of(member.user_id, m.path.project.clone(), m.path.steps.clone());

    let from = answers
        .iter()
        .map(|(_, r)| r.created_at)
        .chain(ledger.iter().map(|e| e.recorded_at))
        .chain(path.steps.iter().map(|s| s.done_at))
        .chain(path.project.iter().map(|p| p.created_at))
        .chain([member.joined_at])
        .min()
        .unwrap_or(member.joined_at);
    let tracks_answered = Track::ALL.iter().filter(|t| answers.iter().any(|(c, _)| track_of(c) == Some(**t))).count();

    let mut out = String::new();
    let _ = writeln!(out, "# Promotion evidence: {}\n", neutralize(member_name).replace('\n', " "));
    let _ = writeln!(out, "- **Cohort:** {}", neutralize(&cohort.spec.name));
    let _ = writeln!(out, "- **Period:** {} to {} ({tz})", date(from), date(now));
    let _ = writeln!(out, "- **Staff path:** {} of {} steps done", path.done(), PathStep::ALL.len());
    let _ =
        writeln!(out, "- **Check-in answers:** {} in {}", answers.len(), plural(tracks_answered, "track", "tracks"));
    let _ = writeln!(out, "- **Impact entries:** {}", ledger.len());
    let _ = writeln!(out, "- **Mentors' notes:** {notes_shown}");
    let _ = writeln!(
        out,
        "\nEverything below was written by the member in Trellis and is quoted as written, except the \
         notes marked as a mentor's words. It holds nothing of other members."
    );

    write_path(&mut out, &path, &date);

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
        let mine: Vec<(&CheckIn, &Reply)> =
            answers.iter().copied().filter(|(c, _)| track_of(c) == Some(track)).collect();
        if mine.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n### {} · {}\n", track.title(), plural(mine.len(), "answer", "answers"));
        // One section per prompt, in the order first answered: a prompt that
        // came back shows its answers together, then and now.
        let mut prompts: Vec<(&str, Vec<(&CheckIn, &Reply)>)> = Vec::new();
        for (c, r) in mine {
            let id = c.prompt.as_ref().map(|p| p.id.as_str()).unwrap_or_default();
            match prompts.iter_mut().find(|(p, _)| *p == id) {
                Some((_, group)) => group.push((c, r)),
                None => prompts.push((id, vec![(c, r)])),
            }
        }
        for (_, group) in prompts {
            let question = group[0].0.prompt.as_ref().map(|p| p.question.as_str()).unwrap_or_default();
            let question = neutralize(question).replace('\n', " ");
            if let [(_, r)] = group.as_slice() {
                let _ = writeln!(out, "#### {}\n", answer_heading(r, &date));
                let _ = writeln!(out, "**Question:** {question}\n");
                let _ = writeln!(out, "{}\n", quote(&r.answer));
                write_notes(&mut out, notes.get(&r.id), &date);
                continue;
            }
            let (first, last) = (group[0].1, group[group.len() - 1].1);
            let _ = writeln!(out, "#### Then and now: {} → {}\n", date(first.created_at), date(last.created_at));
            let _ = writeln!(out, "**Question:** {question}\n");
            for (i, (_, r)) in group.iter().enumerate() {
                let when = match i {
                    0 => "Then",
                    i if i == group.len() - 1 => "Now",
                    _ => "Between",
                };
                let _ = writeln!(out, "**{when}** · {}\n", answer_heading(r, &date));
                let _ = writeln!(out, "{}\n", quote(&r.answer));
                write_notes(&mut out, notes.get(&r.id), &date);
            }
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

/// `2027-01-04 · confidence 3/5 · edited 2027-01-05`.
fn answer_heading(r: &Reply, date: &impl Fn(DateTime<Utc>) -> String) -> String {
    let mut heading = date(r.created_at);
    if let Some(n) = r.confidence {
        let _ = write!(heading, " · confidence {n}/5");
    }
    if date(r.updated_at) != date(r.created_at) {
        let _ = write!(heading, " · edited {}", date(r.updated_at));
    }
    heading
}

/// The mentors' notes on one answer, each marked as the mentor's own words.
fn write_notes(out: &mut String, notes: Option<&Vec<&Note>>, date: &impl Fn(DateTime<Utc>) -> String) {
    for n in notes.into_iter().flatten() {
        let mut when = date(n.created_at);
        if n.is_edited() && date(n.updated_at) != when {
            let _ = write!(when, ", edited {}", date(n.updated_at));
        }
        let name = neutralize(&n.author_name).replace('\n', " ");
        let _ = writeln!(out, "_Mentor's note, in the words of {name} ({when}):_\n\n{}\n", quote(&n.text));
    }
}

/// The Staff path section: the project, then the seven steps in order.
fn write_path(out: &mut String, path: &StaffPath, date: &impl Fn(DateTime<Utc>) -> String) {
    let _ = writeln!(out, "\n## Staff path\n");
    match &path.project {
        Some(p) => {
            let _ = writeln!(out, "### The problem\n");
            for (label, text) in [("What", &p.what), ("Why it matters", &p.why), ("Teams affected", &p.teams)] {
                let _ = writeln!(out, "**{label}**\n\n{}\n", quote(text));
            }
        }
        None => {
            let _ = writeln!(out, "_No problem chosen yet: describe it with `/path project`._\n");
        }
    }
    let _ = writeln!(out, "### Steps\n");
    for step in PathStep::ALL {
        match path.step(step) {
            Some(s) => {
                let mut when = date(s.done_at);
                if date(s.updated_at) != when {
                    let _ = write!(when, ", updated {}", date(s.updated_at));
                }
                let _ = writeln!(out, "{}. ✅ **{}** · done {when}\n", step.number(), step.title());
                let _ = writeln!(out, "{}\n", quote(&s.evidence));
                if let Some(link) = &s.link {
                    let _ = writeln!(out, "**Link:** <{}>\n", neutralize(link));
                }
            }
            None => {
                let _ = writeln!(out, "{}. ⬜ **{}** · not yet\n", step.number(), step.title());
            }
        }
    }
}

fn track_of(c: &CheckIn) -> Option<Track> {
    c.prompt.as_ref().map(|p| p.track)
}
