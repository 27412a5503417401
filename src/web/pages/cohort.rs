//! The mentors' pages: a cohort, and one of its check-ins.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{checkin_id, cohort_id, nav, page, refused, saved_line};
use crate::engine::EngineError;
use crate::engine::desk::{DeskCheckIn, DeskCohort};
use crate::summary::Outcome;
use crate::web::DeskState;
use crate::web::session::Signed;
use crate::web::views::{self, Cell, CheckInPage, CohortPage, GridRow, Link, NoteForm, person};

/// Missed check-ins in a row that make a member "quiet".
const QUIET_AFTER: u32 = 2;

/// `GET /cohorts/{cohort}`: the grid of recent weeks, who is quiet or out
/// of reach, and every check-in.
pub async fn cohort(State(state): State<DeskState>, signed: Signed, Path(raw): Path<String>) -> Response {
    let Some(id) = cohort_id(&raw) else { return refused(&EngineError::NotOnDesk, nav(&signed, "")) };
    match state.engine.desk_cohort(&signed.grant, id).await {
        Ok(model) => page(StatusCode::OK, &cohort_page(&signed, &model)),
        Err(e) => refused(&e, nav(&signed, "")),
    }
}

fn cell(outcome: Outcome) -> Cell {
    let (mark, class, label) = match outcome {
        Outcome::Answered => ("✓", "answered", "answered"),
        Outcome::Missed => ("✗", "missed", "missed"),
        Outcome::Paused => ("‖", "paused", "paused"),
        Outcome::Open => ("○", "open", "open, not answered yet"),
        Outcome::NotOffered => ("·", "none", "not theirs yet"),
    };
    Cell { mark, class, label: label.to_string() }
}

fn cohort_page(signed: &Signed, m: &DeskCohort) -> CohortPage {
    let tz = m.cohort.spec.schedule.timezone();
    let member_link = |user| Link { href: format!("/cohorts/{}/members/{user}", m.cohort.id), text: person(user) };
    let rows: Vec<GridRow> = m
        .status
        .members
        .iter()
        .map(|r| {
            let mentoring = m.status.mentoring.by_member.get(&r.user_id);
            GridRow {
                member: member_link(r.user_id),
                cells: r.recent.iter().map(|o| cell(*o)).collect(),
                streak: r.current_streak,
                unnoted: mentoring.map_or(0, |x| x.unnoted_answers),
                path_steps: mentoring.map_or(0, |x| x.path_steps),
            }
        })
        .collect();
    let delivery = &m.status.delivery;
    let mut unreachable: Vec<String> = Vec::new();
    if let Some(p) = &delivery.channel {
        unreachable.push(format!("Trellis can't post in the cohort's channel: {}", p.reason));
    }
    if let Some(p) = &delivery.digest_channel {
        unreachable.push(format!("The digest can't be posted in its channel: {}", p.reason));
    }
    for u in &delivery.no_dms {
        unreachable.push(format!(
            "{} can't receive DMs from Trellis (no reminders, notes only here and in /progress)",
            person(*u)
        ));
    }
    for u in &delivery.left {
        unreachable.push(format!("{} left the server", person(*u)));
    }
    CohortPage {
        nav: nav(signed, ""),
        name: m.cohort.spec.name.clone(),
        weeks: m
            .status
            .weeks
            .iter()
            .map(|w| Link {
                href: format!("/checkins/{}", w.checkin_id),
                text: w.occurrence_at.with_timezone(&tz).format("%-d %b").to_string(),
            })
            .collect(),
        quiet: m
            .status
            .members
            .iter()
            .filter(|r| r.missed_in_a_row >= QUIET_AFTER)
            .map(|r| member_link(r.user_id))
            .collect(),
        rows,
        unreachable,
        unnoted_answers: m.status.mentoring.unnoted_answers,
        checkins: m
            .checkins
            .iter()
            .map(|c| {
                let prompt = c.prompt.as_ref();
                Link {
                    href: format!("/checkins/{}", c.id),
                    text: format!(
                        "{} · {} · {}",
                        views::day(c.occurrence_at, tz),
                        views::track_name(prompt.map(|p| p.track)),
                        prompt.map(|p| p.question.as_str()).unwrap_or("")
                    ),
                }
            })
            .collect(),
    }
}

#[derive(Deserialize)]
pub struct Saved {
    saved: Option<String>,
}

/// `GET /checkins/{checkin}`: the prompt and every answer in full, each
/// with its notes and a note form; who has not answered.
pub async fn checkin(
    State(state): State<DeskState>,
    signed: Signed,
    Path(raw): Path<String>,
    Query(q): Query<Saved>,
) -> Response {
    let Some(id) = checkin_id(&raw) else { return refused(&EngineError::NotOnDesk, nav(&signed, "")) };
    match state.engine.desk_checkin(&signed.grant, id).await {
        Ok(model) => page(StatusCode::OK, &checkin_page(&signed, &model, q.saved.as_deref())),
        Err(e) => refused(&e, nav(&signed, "")),
    }
}

fn checkin_page(signed: &Signed, m: &DeskCheckIn, saved: Option<&str>) -> CheckInPage {
    let w = m;
    let tz = w.cohort.spec.schedule.timezone();
    let back = format!("/checkins/{}", w.checkin.id);
    let member_link = |user| Link { href: format!("/cohorts/{}/members/{user}", w.cohort.id), text: person(user) };
    let answers = w
        .answers
        .iter()
        .map(|a| {
            let mine = a.notes.iter().find(|n| n.author_id == signed.grant.user_id);
            let form = NoteForm {
                action: format!("/answers/{}/note", a.reply.id),
                csrf: signed.csrf.clone(),
                back: back.clone(),
                current: mine.map(|n| n.text.clone()).unwrap_or_default(),
            };
            // The page heads with the question: not again under each answer.
            let mut view = views::answer_view(&w.cohort, a, m.earlier.get(&a.reply.id), Some(form));
            view.question.clear();
            view
        })
        .collect();
    let prompt = w.checkin.prompt.as_ref();
    CheckInPage {
        nav: nav(signed, ""),
        cohort: Link { href: format!("/cohorts/{}", w.cohort.id), text: w.cohort.spec.name.clone() },
        when: views::when(w.checkin.occurrence_at, tz),
        track: views::track_name(prompt.map(|p| p.track)),
        question: prompt.map(|p| p.question.clone()).unwrap_or_default(),
        answers,
        not_answered: w.not_answered.iter().map(|u| member_link(*u)).collect(),
        paused: w.paused.iter().map(|u| member_link(*u)).collect(),
        saved: saved_line(saved),
    }
}
