//! One member's record (for their mentors, or themself), and the member's
//! packet as a printable page and as Markdown.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Deserialize;

use super::{cohort_id, nav, page, refused, saved_line, user};
use crate::domain::{PathStep, Track};
use crate::engine::desk::DeskMember;
use crate::engine::{EngineError, NotedAnswer};
use crate::web::DeskState;
use crate::web::chart::{self, Point};
use crate::web::session::Signed;
use crate::web::views::{
    self, AnswerView, Filters, ImpactView, Link, MemberPage, NoteForm, PacketPage, ProjectView, StepView, person,
};

#[derive(Deserialize, Default)]
pub struct MemberQuery {
    track: Option<String>,
    from: Option<String>,
    to: Option<String>,
    saved: Option<String>,
}

/// `GET /cohorts/{cohort}/members/{member}`: every answer newest first
/// (filtered by track and dates), confidence per track, impact ledger,
/// Staff path, notes.
pub async fn member(
    State(state): State<DeskState>,
    signed: Signed,
    Path((raw_cohort, raw_member)): Path<(String, String)>,
    Query(q): Query<MemberQuery>,
) -> Response {
    let (Some(cohort), Some(member)) = (cohort_id(&raw_cohort), user(&raw_member)) else {
        return refused(&EngineError::NotOnDesk, nav(&signed, ""));
    };
    match state.engine.desk_member(&signed.grant, cohort, member).await {
        Ok(model) => page(StatusCode::OK, &member_page(&signed, &model, &q)),
        Err(e) => refused(&e, nav(&signed, "")),
    }
}

/// Whether an answer passes the page's filters.
fn passes(a: &NotedAnswer, track: Option<Track>, from: Option<NaiveDate>, to: Option<NaiveDate>, tz: Tz) -> bool {
    let day = a.checkin.occurrence_at.with_timezone(&tz).date_naive();
    track.is_none_or(|t| a.checkin.prompt.as_ref().is_some_and(|p| p.track == t))
        && from.is_none_or(|f| day >= f)
        && to.is_none_or(|t| day <= t)
}

fn member_page(signed: &Signed, m: &DeskMember, q: &MemberQuery) -> MemberPage {
    let tz = m.cohort.spec.schedule.timezone();
    let base = format!("/cohorts/{}/members/{}", m.cohort.id, m.member.user_id);
    let track: Option<Track> = q.track.as_deref().and_then(|t| t.parse().ok());
    let date = |s: &Option<String>| s.as_deref().and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let (from, to) = (date(&q.from), date(&q.to));
    let answers: Vec<AnswerView> = m
        .answers
        .iter()
        .filter(|a| passes(a, track, from, to, tz))
        .map(|a| {
            let form = (!m.own).then(|| NoteForm {
                action: format!("/answers/{}/note", a.reply.id),
                csrf: signed.csrf.clone(),
                back: base.clone(),
                current: a
                    .notes
                    .iter()
                    .find(|n| n.author_id == signed.grant.user_id)
                    .map(|n| n.text.clone())
                    .unwrap_or_default(),
            });
            views::answer_view(&m.cohort, a, m.earlier.get(&a.reply.id), form)
        })
        .collect();
    let points: Vec<Point> = m
        .answers
        .iter()
        .filter_map(|a| {
            Some(Point {
                at: a.checkin.occurrence_at,
                track: a.checkin.prompt.as_ref()?.track,
                confidence: a.reply.confidence?,
            })
        })
        .collect();
    let p = &m.progress;
    MemberPage {
        nav: nav(signed, ""),
        cohort: Link {
            href: if m.own { "/".into() } else { format!("/cohorts/{}", m.cohort.id) },
            text: m.cohort.spec.name.clone(),
        },
        member: person(m.member.user_id),
        own: m.own,
        figures: format!(
            "{} of {} check-ins answered · streak {} (longest {}) · {} impact entries · {} of 7 path steps",
            p.all_time.answered,
            p.all_time.offered,
            p.current_streak,
            p.longest_streak,
            m.impact.len(),
            m.path.steps.len()
        ),
        filters: Filters {
            action: base.clone(),
            tracks: Track::ALL.iter().map(|t| (t.to_string(), t.to_string(), Some(*t) == track)).collect(),
            from: from.map(|d| d.to_string()).unwrap_or_default(),
            to: to.map(|d| d.to_string()).unwrap_or_default(),
            active: track.is_some() || from.is_some() || to.is_some(),
        },
        chart: chart::confidence_svg(&points, tz),
        shown: answers.len(),
        total: m.answers.len(),
        answers,
        impact: impact_views(m, tz),
        project: project_view(m),
        steps: step_views(m, tz),
        notes: m.notes.iter().map(|n| views::note_view(n, tz)).collect(),
        packet: m
            .own
            .then(|| Link { href: format!("/cohorts/{}/packet", m.cohort.id), text: "Your promotion packet".into() }),
        saved: saved_line(q.saved.as_deref()),
    }
}

fn impact_views(m: &DeskMember, tz: Tz) -> Vec<ImpactView> {
    m.impact
        .iter()
        .map(|i| ImpactView {
            anchor: format!("impact-{}", i.id),
            when: views::day(i.recorded_at, tz),
            what_changed: i.what_changed.clone(),
            evidence: i.evidence.clone(),
            who_benefited: i.who_benefited.clone(),
            link: i.link.clone(),
            tracks: i.tracks.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", "),
        })
        .collect()
}

fn project_view(m: &DeskMember) -> Option<ProjectView> {
    m.path.project.as_ref().map(|p| ProjectView { what: p.what.clone(), why: p.why.clone(), teams: p.teams.clone() })
}

fn step_views(m: &DeskMember, tz: Tz) -> Vec<StepView> {
    PathStep::ALL
        .iter()
        .map(|s| StepView {
            anchor: format!("step-{}", s.as_str()),
            number: s.number(),
            title: s.title().to_string(),
            meaning: s.meaning().to_string(),
            done: m.path.step(*s).map(|e| (views::day(e.done_at, tz), e.evidence.clone(), e.link.clone())),
        })
        .collect()
}

/// `GET /cohorts/{cohort}/packet`: the member's own packet, as a page that
/// prints cleanly.
pub async fn packet(State(state): State<DeskState>, signed: Signed, Path(raw): Path<String>) -> Response {
    let Some(cohort) = cohort_id(&raw) else { return refused(&EngineError::NotOnDesk, nav(&signed, "")) };
    let m = match state.engine.desk_member(&signed.grant, cohort, signed.grant.user_id).await {
        Ok(m) => m,
        Err(e) => return refused(&e, nav(&signed, "")),
    };
    let tz = m.cohort.spec.schedule.timezone();
    let mut tracks = Vec::new();
    for t in Track::ALL {
        let answers: Vec<AnswerView> = m
            .answers
            .iter()
            .filter(|a| a.checkin.prompt.as_ref().is_some_and(|p| p.track == t))
            .map(|a| views::answer_view(&m.cohort, a, m.earlier.get(&a.reply.id), None))
            .collect();
        if !answers.is_empty() {
            tracks.push((t.to_string(), answers));
        }
    }
    page(
        StatusCode::OK,
        &PacketPage {
            nav: nav(&signed, ""),
            title: format!("Promotion packet · {} · {}", signed.grant.user_name, m.cohort.spec.name),
            markdown: Link { href: format!("/cohorts/{}/packet.md", m.cohort.id), text: "Download as Markdown".into() },
            project: project_view(&m),
            steps: step_views(&m, tz),
            impact: impact_views(&m, tz),
            tracks,
        },
    )
}

/// `GET /cohorts/{cohort}/packet.md`: the same Markdown `/packet` attaches.
pub async fn packet_markdown(State(state): State<DeskState>, signed: Signed, Path(raw): Path<String>) -> Response {
    let Some(cohort) = cohort_id(&raw) else { return refused(&EngineError::NotOnDesk, nav(&signed, "")) };
    match state.engine.desk_packet(&signed.grant, cohort).await {
        Ok((_, text)) => (
            [
                (header::CONTENT_TYPE, "text/markdown; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"packet.md\""),
            ],
            text,
        )
            .into_response(),
        Err(e) => refused(&e, nav(&signed, "")),
    }
}
