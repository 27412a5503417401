//! The promotion-evidence packet: a Markdown document of one member's own
//! material — a header with the period, the Staff path with its evidence, the
//! impact ledger, then the answers grouped by track, each dated and quoted as
//! written, with mentors' notes marked as theirs.

use std::collections::HashMap;
use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::markdown::{one_line, quote};
use super::{local_date, plural};
use crate::domain::{
    CheckIn, CheckInId, Cohort, ImpactEntry, Member, Note, PathStep, Reply, ReplyId, StaffPath, Track,
};

/// Kept here too: the packet's callers and tests have always found it here.
pub use super::markdown::neutralize;

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

/// The packet of one member, gathered from [`PacketMaterial`] and not yet
/// written: only the member's own rows, sorted and grouped the way
/// [`render`] shows them.
#[derive(Debug, Clone)]
pub struct Packet<'a> {
    /// Start of the period: the earliest answer, impact entry, path step or
    /// project, or the member's joining if earlier.
    pub from: DateTime<Utc>,
    /// The member's Staff path (steps of anyone else dropped).
    pub path: StaffPath,
    /// The member's impact entries, oldest first.
    pub ledger: Vec<&'a ImpactEntry>,
    /// How many check-in answers the member gave, in all tracks.
    pub answer_count: usize,
    /// The tracks the member answered in, in [`Track::ALL`] order.
    pub tracks: Vec<TrackAnswers<'a>>,
    /// The tracks without an answer, in [`Track::ALL`] order.
    pub untouched: Vec<Track>,
    /// Mentors' notes on the member's answers, by answer, oldest first.
    notes: HashMap<ReplyId, Vec<&'a Note>>,
    /// How many notes are on answers the packet shows.
    pub notes_shown: usize,
}

/// One track's answers, a section per prompt in the order first answered,
/// so a prompt that came back shows its answers together, then and now.
#[derive(Debug, Clone)]
pub struct TrackAnswers<'a> {
    pub track: Track,
    pub answer_count: usize,
    pub prompts: Vec<PromptAnswers<'a>>,
}

/// The member's answers to one prompt, oldest first.
#[derive(Debug, Clone)]
pub struct PromptAnswers<'a> {
    /// The question as it was posted (empty for a check-in without a prompt).
    pub question: &'a str,
    pub answers: Vec<&'a Reply>,
}

impl<'a> Packet<'a> {
    /// Gathers `member`'s packet from `m`: every row of anyone else is left out.
    pub fn gather(member: &Member, m: &PacketMaterial<'a>) -> Self {
        let answers = member_answers(member, m);
        let mut ledger: Vec<&ImpactEntry> = m.impact.iter().filter(|e| e.user_id == member.user_id).collect();
        ledger.sort_by_key(|e| (e.recorded_at, e.id));
        let mut notes: HashMap<ReplyId, Vec<&Note>> = HashMap::new();
        for n in m.notes.iter().filter(|n| n.member_id == member.user_id) {
            notes.entry(n.reply_id).or_default().push(n);
        }
        for group in notes.values_mut() {
            group.sort_by_key(|n| (n.created_at, n.id));
        }
        let notes_shown = answers.iter().map(|(_, r)| notes.get(&r.id).map_or(0, Vec::len)).sum();
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
        let tracks: Vec<TrackAnswers<'a>> = Track::ALL.iter().filter_map(|t| track_answers(*t, &answers)).collect();
        let untouched = Track::ALL.iter().copied().filter(|t| !tracks.iter().any(|a| a.track == *t)).collect();
        Packet { from, path, ledger, answer_count: answers.len(), tracks, untouched, notes, notes_shown }
    }

    /// The mentors' notes on answer `reply`, oldest first.
    pub fn notes_on(&self, reply: ReplyId) -> &[&'a Note] {
        self.notes.get(&reply).map_or(&[], Vec::as_slice)
    }
}

/// The member's answers with their check-ins, by check-in, then answer time.
fn member_answers<'a>(member: &Member, m: &PacketMaterial<'a>) -> Vec<(&'a CheckIn, &'a Reply)> {
    let by_id: HashMap<CheckInId, &CheckIn> = m.checkins.iter().map(|c| (c.id, c)).collect();
    let mut answers: Vec<(&CheckIn, &Reply)> = m
        .replies
        .iter()
        .filter(|r| r.user_id == member.user_id)
        .filter_map(|r| by_id.get(&r.checkin_id).map(|c| (*c, r)))
        .collect();
    answers.sort_by_key(|(c, r)| (c.occurrence_at, r.created_at, r.id));
    answers
}

/// `track`'s answers grouped by prompt; `None` when there are none.
fn track_answers<'a>(track: Track, answers: &[(&'a CheckIn, &'a Reply)]) -> Option<TrackAnswers<'a>> {
    let mut prompts: Vec<(&str, PromptAnswers<'a>)> = Vec::new();
    let mut answer_count = 0;
    for (c, r) in answers.iter().filter(|(c, _)| track_of(c) == Some(track)) {
        answer_count += 1;
        let id = c.prompt.as_ref().map(|p| p.id.as_str()).unwrap_or_default();
        match prompts.iter_mut().find(|(p, _)| *p == id) {
            Some((_, group)) => group.answers.push(r),
            None => {
                let question = c.prompt.as_ref().map(|p| p.question.as_str()).unwrap_or_default();
                prompts.push((id, PromptAnswers { question, answers: vec![r] }));
            }
        }
    }
    (answer_count > 0).then(|| TrackAnswers {
        track,
        answer_count,
        prompts: prompts.into_iter().map(|(_, p)| p).collect(),
    })
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
    let packet = Packet::gather(member, m);
    let tz = cohort.timezone();
    let date = |t: DateTime<Utc>| local_date(t, tz);
    let mut out = String::new();
    let period = format!("{} to {} ({tz})", date(packet.from), date(now));
    write_header(&mut out, cohort, member_name, &packet, &period);
    write_path(&mut out, &packet.path, &date);
    write_ledger(&mut out, &packet.ledger, &date);
    write_answers(&mut out, &packet, &date);
    out
}

/// The title and the figures at the top.
fn write_header(out: &mut String, cohort: &Cohort, member_name: &str, packet: &Packet<'_>, period: &str) {
    let _ = writeln!(out, "# Promotion evidence: {}\n", one_line(member_name));
    let _ = writeln!(out, "- **Cohort:** {}", neutralize(&cohort.spec.name));
    let _ = writeln!(out, "- **Period:** {period}");
    let _ = writeln!(out, "- **Staff path:** {} of {} steps done", packet.path.done(), PathStep::ALL.len());
    let tracks = plural(packet.tracks.len(), "track", "tracks");
    let _ = writeln!(out, "- **Check-in answers:** {} in {tracks}", packet.answer_count);
    let _ = writeln!(out, "- **Impact entries:** {}", packet.ledger.len());
    let _ = writeln!(out, "- **Mentors' notes:** {}", packet.notes_shown);
    let _ = writeln!(
        out,
        "\nEverything below was written by the member in Trellis and is quoted as written, except the \
         notes marked as a mentor's words. It holds nothing of other members."
    );
}

/// The impact ledger, numbered, oldest first.
fn write_ledger(out: &mut String, ledger: &[&ImpactEntry], date: &impl Fn(DateTime<Utc>) -> String) {
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
}

/// The answers by track, then the tracks not answered yet.
fn write_answers(out: &mut String, packet: &Packet<'_>, date: &impl Fn(DateTime<Utc>) -> String) {
    let _ = writeln!(out, "## Answers by track");
    if packet.answer_count == 0 {
        let _ = writeln!(out, "\n_No check-in answers yet._");
    }
    for track in &packet.tracks {
        let answers = plural(track.answer_count, "answer", "answers");
        let _ = writeln!(out, "\n### {} · {answers}\n", track.track.title());
        for prompt in &track.prompts {
            write_prompt(out, packet, prompt, date);
        }
    }
    if !packet.untouched.is_empty() && packet.answer_count > 0 {
        let untouched: Vec<&str> = packet.untouched.iter().map(|t| t.title()).collect();
        let _ = writeln!(out, "\n_No answers yet in: {}._", untouched.join(", "));
    }
}

/// One prompt's section: its one answer, or its answers as then and now.
fn write_prompt(
    out: &mut String,
    packet: &Packet<'_>,
    prompt: &PromptAnswers<'_>,
    date: &impl Fn(DateTime<Utc>) -> String,
) {
    let question = one_line(prompt.question);
    if let [r] = prompt.answers.as_slice() {
        let _ = writeln!(out, "#### {}\n", answer_heading(r, date));
        let _ = writeln!(out, "**Question:** {question}\n");
        let _ = writeln!(out, "{}\n", quote(&r.answer));
        write_notes(out, packet.notes_on(r.id), date);
        return;
    }
    let (first, last) = (prompt.answers[0], prompt.answers[prompt.answers.len() - 1]);
    let _ = writeln!(out, "#### Then and now: {} → {}\n", date(first.created_at), date(last.created_at));
    let _ = writeln!(out, "**Question:** {question}\n");
    for (i, r) in prompt.answers.iter().enumerate() {
        let when = match i {
            0 => "Then",
            i if i == prompt.answers.len() - 1 => "Now",
            _ => "Between",
        };
        let _ = writeln!(out, "**{when}** · {}\n", answer_heading(r, date));
        let _ = writeln!(out, "{}\n", quote(&r.answer));
        write_notes(out, packet.notes_on(r.id), date);
    }
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
fn write_notes(out: &mut String, notes: &[&Note], date: &impl Fn(DateTime<Utc>) -> String) {
    for n in notes {
        let mut when = date(n.created_at);
        if n.is_edited() && date(n.updated_at) != when {
            let _ = write!(when, ", edited {}", date(n.updated_at));
        }
        let name = one_line(&n.author_name);
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

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::summary::fixtures::{ALICE, BOB, checkin, impact, member, note, reply, week};

    #[test]
    fn gather_keeps_the_members_own_rows_grouped_by_track_then_prompt() {
        use Track::*;
        // Prompt "s1" comes back in week 2; "i1" is answered once; week 3 has no prompt.
        let mut checkins = vec![checkin(1, 0, Scope, "s1"), checkin(2, 1, Influence, "i1"), checkin(3, 2, Scope, "s1")];
        let mut unprompted = checkin(4, 3, Judgment, "j1");
        unprompted.prompt = None;
        checkins.push(unprompted);
        let replies = vec![
            reply(13, &checkins[2], ALICE, Some(4)),
            reply(11, &checkins[0], ALICE, Some(2)),
            reply(12, &checkins[1], ALICE, None),
            reply(14, &checkins[3], ALICE, None),
            reply(21, &checkins[0], BOB, None),
        ];
        let notes = vec![note(2, &replies[1], week(1)), note(1, &replies[1], week(0)), note(3, &replies[4], week(1))];
        let impact = vec![impact(2, ALICE, week(2)), impact(1, ALICE, week(1)), impact(3, BOB, week(0))];
        let path = StaffPath::default();
        let material =
            PacketMaterial { checkins: &checkins, replies: &replies, impact: &impact, path: &path, notes: &notes };
        let alice = member(ALICE, week(0) + Duration::hours(1));

        let p = Packet::gather(&alice, &material);

        assert_eq!(p.answer_count, 4, "the unprompted answer counts, Bob's does not");
        assert_eq!(p.from, week(0) + Duration::hours(1), "joined before the first answer");
        assert_eq!(p.ledger.iter().map(|e| e.id.get()).collect::<Vec<_>>(), [1, 2], "Alice's, oldest first");
        let tracks: Vec<(Track, usize)> = p.tracks.iter().map(|t| (t.track, t.answer_count)).collect();
        assert_eq!(tracks, [(Scope, 2), (Influence, 1)]);
        let scope = &p.tracks[0].prompts;
        assert_eq!(scope.len(), 1, "one section for a prompt answered twice");
        assert_eq!(scope[0].question, "Q s1?");
        assert_eq!(scope[0].answers.iter().map(|r| r.id.get()).collect::<Vec<_>>(), [11, 13], "then, now");
        assert_eq!(p.untouched, [Communication, Mentoring, Impact, Judgment]);
        assert_eq!(p.notes_on(replies[1].id).iter().map(|n| n.id.get()).collect::<Vec<_>>(), [1, 2]);
        assert!(p.notes_on(replies[4].id).is_empty(), "a note on Bob's answer is not Alice's");
        assert_eq!(p.notes_shown, 2);
    }

    #[test]
    fn the_period_starts_at_the_earliest_thing_written() {
        let checkins = vec![checkin(1, 2, Track::Scope, "s1")];
        let replies = vec![reply(1, &checkins[0], ALICE, None)];
        let impact = vec![impact(1, ALICE, week(1))];
        let path = StaffPath::default();
        let material =
            PacketMaterial { checkins: &checkins, replies: &replies, impact: &impact, path: &path, notes: &[] };
        let p = Packet::gather(&member(ALICE, week(5)), &material);
        assert_eq!(p.from, week(1), "the impact entry, before the answer and the (re)joining");
    }
}
