//! `answers.md`: the whole set `/cohort answers` pages through, for the
//! cohort's mentors: the question, every answer in full and quoted as
//! written, confidence, when, the notes on it, and who has not answered.
//! Mention syntax is broken up ([`neutralize`]) so nothing pings when pasted
//! back into Discord.

use std::fmt::Write;

use chrono::{DateTime, SecondsFormat, Utc};

use super::markdown::{neutralize, one_line, quote};
use super::plural;
use crate::domain::{CheckIn, Cohort, Note, Reply, UserId};

/// One answer and the notes on it.
#[derive(Debug, Clone, Copy)]
pub struct AnswerEntry<'a> {
    pub checkin: &'a CheckIn,
    pub reply: &'a Reply,
    pub notes: &'a [Note],
}

/// A time as mentors of any zone read it: the cohort's local time with its
/// offset, e.g. `2027-01-04 10:00 CET`.
fn when(t: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
}

fn question_of(c: &CheckIn) -> String {
    c.prompt.as_ref().map(|p| one_line(&p.question)).unwrap_or_default()
}

fn track_of(c: &CheckIn) -> &'static str {
    c.prompt.as_ref().map_or("Check-in", |p| p.track.title())
}

fn write_answer(
    out: &mut String,
    n: usize,
    heading: &str,
    question: Option<&str>,
    e: &AnswerEntry<'_>,
    tz: chrono_tz::Tz,
) {
    let r = e.reply;
    let mut line = format!("### {n}. {heading} · {}", when(r.created_at, tz));
    match r.confidence {
        Some(c) => {
            let _ = write!(line, " · confidence {c}/5");
        }
        None => line.push_str(" · no confidence given"),
    }
    if r.updated_at != r.created_at {
        let _ = write!(line, " · edited {}", when(r.updated_at, tz));
    }
    let _ = writeln!(out, "{line}\n");
    if let Some(q) = question {
        let _ = writeln!(out, "**Question:** {q}\n");
    }
    let _ = writeln!(out, "{}\n", quote(&r.answer));
    for note in e.notes {
        let name = one_line(&note.author_name);
        let _ = writeln!(out, "_Note by {name}, {}:_\n\n{}\n", when(note.updated_at, tz), quote(&note.text));
    }
}

fn user(u: UserId) -> String {
    format!("user {u}")
}

/// The answers to one check-in, in the order given, then who has not answered.
pub fn week_markdown(
    cohort: &Cohort,
    checkin: &CheckIn,
    answers: &[AnswerEntry<'_>],
    not_answered: &[UserId],
    paused: &[UserId],
    now: DateTime<Utc>,
) -> String {
    let tz = cohort.timezone();
    let mut out = String::new();
    let _ = writeln!(out, "# Answers · {} · {}\n", neutralize(&cohort.spec.name), track_of(checkin));
    let _ = writeln!(out, "**Question:** {}\n", question_of(checkin));
    let state = if checkin.is_open_at(now) { "open until" } else { "closed" };
    let _ = writeln!(
        out,
        "- **Posted:** {} ({state} {})\n- **Answered:** {}\n- **Not answered:** {}\n- **Paused:** {}\n",
        when(checkin.occurrence_at, tz),
        when(checkin.closes_at, tz),
        answers.len(),
        not_answered.len(),
        paused.len()
    );
    let _ = writeln!(
        out,
        "Members are named by their Discord user id. Answers and notes are quoted as written. \
         For the cohort's mentors only; written {} UTC.\n",
        now.to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    let _ = writeln!(out, "## Answers\n");
    if answers.is_empty() {
        let _ = writeln!(out, "_No answers yet._\n");
    }
    for (i, e) in answers.iter().enumerate() {
        write_answer(&mut out, i + 1, &user(e.reply.user_id), None, e, tz);
    }
    for (title, who) in [("Not answered", not_answered), ("Paused", paused)] {
        if !who.is_empty() {
            let _ = writeln!(out, "## {title}\n");
            for u in who {
                let _ = writeln!(out, "- {}", user(*u));
            }
            out.push('\n');
        }
    }
    out
}

/// One member's answers, in the order given (newest first from the engine).
pub fn member_markdown(
    cohort: &Cohort,
    member: UserId,
    answers: &[AnswerEntry<'_>],
    checkins: usize,
    now: DateTime<Utc>,
) -> String {
    let tz = cohort.timezone();
    let mut out = String::new();
    let _ = writeln!(out, "# Answers of {} · {}\n", user(member), neutralize(&cohort.spec.name));
    let _ = writeln!(
        out,
        "{} to {}. Answers and notes are quoted as written. For the cohort's mentors only; written {} UTC.\n",
        plural(answers.len(), "answer", "answers"),
        plural(checkins, "check-in", "check-ins"),
        now.to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    if answers.is_empty() {
        let _ = writeln!(out, "_No answers in this range._\n");
    }
    for (i, e) in answers.iter().enumerate() {
        let heading = format!("{} · posted {}", track_of(e.checkin), when(e.checkin.occurrence_at, tz));
        write_answer(&mut out, i + 1, &heading, Some(&question_of(e.checkin)), e, tz);
    }
    out
}
