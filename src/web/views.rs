//! The desk's pages: a plain model per page, filled from the engine's
//! models, and its askama template (`templates/desk/`). Templates escape
//! every value for HTML; the only value inserted unescaped is the chart's
//! SVG, which holds numbers and fixed labels only.

use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::domain::{Cohort, Note, Reply, Track, UserId};
use crate::engine::NotedAnswer;
use crate::store::{MATCH_END, MATCH_START};

/// The header of a signed-in page: the search box and the sign-out form.
#[derive(Debug, Clone)]
pub struct Nav {
    pub user_name: String,
    /// The session's form token, for sign-out.
    pub csrf: String,
    /// What the search box holds.
    pub query: String,
}

/// A page that says one thing: an expired link, a refusal, a sign-out.
#[derive(Template)]
#[template(path = "desk/message.html")]
pub struct MessagePage {
    pub nav: Option<Nav>,
    pub title: String,
    pub text: String,
}

/// The page an unused sign-in link opens: a button that uses it up.
#[derive(Template)]
#[template(path = "desk/continue.html")]
pub struct ContinuePage {
    pub nav: Option<Nav>,
    pub token: String,
}

/// A link with its text.
#[derive(Debug, Clone)]
pub struct Link {
    pub href: String,
    pub text: String,
}

/// The first page after sign-in.
#[derive(Template)]
#[template(path = "desk/home.html")]
pub struct HomePage {
    pub nav: Option<Nav>,
    pub mentored: Vec<Link>,
    pub own: Vec<Link>,
}

/// One cell of the cohort grid.
#[derive(Debug, Clone)]
pub struct Cell {
    /// A one-character mark (readable without colour).
    pub mark: &'static str,
    /// The CSS class that colours it.
    pub class: &'static str,
    /// What it means, for the tooltip (the table's caption is the legend).
    pub label: String,
}

/// One member's row of the cohort grid.
#[derive(Debug, Clone)]
pub struct GridRow {
    pub member: Link,
    pub cells: Vec<Cell>,
    pub streak: u32,
    pub unnoted: u32,
    pub path_steps: usize,
}

/// The cohort page (mentors).
#[derive(Template)]
#[template(path = "desk/cohort.html")]
pub struct CohortPage {
    pub nav: Option<Nav>,
    pub name: String,
    /// Column heads: a link to each week's check-in.
    pub weeks: Vec<Link>,
    pub rows: Vec<GridRow>,
    pub quiet: Vec<Link>,
    /// Who or what Trellis cannot reach, each a sentence.
    pub unreachable: Vec<String>,
    pub unnoted_answers: u32,
    pub checkins: Vec<Link>,
}

/// A note as shown under an answer.
#[derive(Debug, Clone)]
pub struct NoteView {
    pub author: String,
    pub when: String,
    pub text: String,
}

/// The note form under an answer, for its cohort's mentors.
#[derive(Debug, Clone)]
pub struct NoteForm {
    pub action: String,
    pub csrf: String,
    /// Where the form returns after saving: the page it is on.
    pub back: String,
    /// The mentor's own earlier note, to edit.
    pub current: String,
}

/// An answer in full.
#[derive(Debug, Clone)]
pub struct AnswerView {
    /// The element id it is linked to by (`answer-{id}`).
    pub anchor: String,
    pub member: Link,
    pub checkin: Link,
    pub track: String,
    pub question: String,
    pub answered: String,
    pub confidence: Option<u8>,
    pub text: String,
    /// Then and now: the date and text of the member's earlier answer to the same prompt.
    pub then: Option<(String, String)>,
    pub notes: Vec<NoteView>,
    pub form: Option<NoteForm>,
}

/// One check-in with every answer (mentors).
#[derive(Template)]
#[template(path = "desk/checkin.html")]
pub struct CheckInPage {
    pub nav: Option<Nav>,
    pub cohort: Link,
    pub when: String,
    pub track: String,
    pub question: String,
    pub answers: Vec<AnswerView>,
    pub not_answered: Vec<Link>,
    pub paused: Vec<Link>,
    /// A note was just saved, and what became of its DM.
    pub saved: Option<String>,
}

/// An impact entry.
#[derive(Debug, Clone)]
pub struct ImpactView {
    pub anchor: String,
    pub when: String,
    pub what_changed: String,
    pub evidence: String,
    pub who_benefited: String,
    pub link: Option<String>,
    pub tracks: String,
}

/// A Staff path step, done or not.
#[derive(Debug, Clone)]
pub struct StepView {
    pub anchor: String,
    pub number: usize,
    pub title: String,
    pub meaning: String,
    /// When it was done, and the evidence; `None` while not done.
    pub done: Option<(String, String, Option<String>)>,
}

/// The member's project on the path.
#[derive(Debug, Clone)]
pub struct ProjectView {
    pub what: String,
    pub why: String,
    pub teams: String,
}

/// The filter form of the member page: by track and date.
#[derive(Debug, Clone)]
pub struct Filters {
    pub action: String,
    /// (value, label, selected)
    pub tracks: Vec<(String, String, bool)>,
    pub from: String,
    pub to: String,
    pub active: bool,
}

/// One member's whole record.
#[derive(Template)]
#[template(path = "desk/member.html")]
pub struct MemberPage {
    pub nav: Option<Nav>,
    pub cohort: Link,
    pub member: String,
    pub own: bool,
    pub figures: String,
    pub filters: Filters,
    /// Inline SVG: numbers and fixed labels only.
    pub chart: String,
    pub answers: Vec<AnswerView>,
    pub shown: usize,
    pub total: usize,
    pub impact: Vec<ImpactView>,
    pub project: Option<ProjectView>,
    pub steps: Vec<StepView>,
    pub notes: Vec<NoteView>,
    pub packet: Option<Link>,
    pub saved: Option<String>,
}

/// The packet, as a page that prints.
#[derive(Template)]
#[template(path = "desk/packet.html")]
pub struct PacketPage {
    pub nav: Option<Nav>,
    pub title: String,
    pub markdown: Link,
    pub project: Option<ProjectView>,
    pub steps: Vec<StepView>,
    pub impact: Vec<ImpactView>,
    /// Answers grouped by track: (track, answers).
    pub tracks: Vec<(String, Vec<AnswerView>)>,
}

/// A part of a search snippet: text, and whether it is a matching word.
#[derive(Debug, Clone)]
pub struct SnippetPart {
    pub text: String,
    pub matched: bool,
}

/// One search result.
#[derive(Debug, Clone)]
pub struct HitView {
    pub href: String,
    pub member: String,
    pub when: String,
    pub what: String,
    pub parts: Vec<SnippetPart>,
}

/// The search page.
#[derive(Template)]
#[template(path = "desk/search.html")]
pub struct SearchPage {
    pub nav: Option<Nav>,
    pub query: String,
    pub searched: bool,
    pub hits: Vec<HitView>,
}

/// How a person is named on the desk. Trellis knows people by their
/// Discord id only (it reads no member list), so the id it is.
pub fn person(user: UserId) -> String {
    format!("member {user}")
}

/// A time in the cohort's zone, e.g. `Mon 2 Nov 2026, 09:00`.
pub fn when(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%a %-d %b %Y, %H:%M").to_string()
}

/// A date in the cohort's zone, e.g. `2 Nov 2026`.
pub fn day(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%-d %b %Y").to_string()
}

/// A track's name, or a dash for a check-in without one.
pub fn track_name(track: Option<Track>) -> String {
    track.map_or_else(|| "–".to_string(), |t| t.to_string())
}

/// A search snippet cut at its match marks.
pub fn snippet_parts(snippet: &str) -> Vec<SnippetPart> {
    let mut parts = Vec::new();
    let mut matched = false;
    let mut text = String::new();
    for c in snippet.chars() {
        if c == MATCH_START || c == MATCH_END {
            if !text.is_empty() {
                parts.push(SnippetPart { text: std::mem::take(&mut text), matched });
            }
            matched = c == MATCH_START;
        } else {
            text.push(c);
        }
    }
    if !text.is_empty() {
        parts.push(SnippetPart { text, matched });
    }
    parts
}

/// An answer for a page. `then`: the member's earlier answer to the same
/// prompt; `form`: the note form, for mentors.
pub fn answer_view(cohort: &Cohort, a: &NotedAnswer, then: Option<&Reply>, form: Option<NoteForm>) -> AnswerView {
    let tz = cohort.spec.schedule.timezone();
    let prompt = a.checkin.prompt.as_ref();
    AnswerView {
        anchor: format!("answer-{}", a.reply.id),
        member: Link {
            href: format!("/cohorts/{}/members/{}", cohort.id, a.reply.user_id),
            text: person(a.reply.user_id),
        },
        checkin: Link {
            href: format!("/checkins/{}", a.checkin.id),
            text: format!("Week of {}", day(a.checkin.occurrence_at, tz)),
        },
        track: track_name(prompt.map(|p| p.track)),
        question: prompt.map(|p| p.question.clone()).unwrap_or_default(),
        answered: when(a.reply.created_at, tz),
        confidence: a.reply.confidence,
        text: a.reply.answer.clone(),
        then: then.map(|r| (day(r.created_at, tz), r.answer.clone())),
        notes: a.notes.iter().map(|n| note_view(n, tz)).collect(),
        form,
    }
}

/// A note for a page.
pub fn note_view(n: &Note, tz: Tz) -> NoteView {
    NoteView { author: n.author_name.clone(), when: when(n.updated_at, tz), text: n.text.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snippet_is_cut_at_its_marks() {
        let parts = snippet_parts("the \u{2}migration\u{3} went <b>fine</b>");
        let shown: Vec<(&str, bool)> = parts.iter().map(|p| (p.text.as_str(), p.matched)).collect();
        assert_eq!(shown, vec![("the ", false), ("migration", true), (" went <b>fine</b>", false)]);
    }

    #[test]
    fn markup_in_what_people_wrote_is_escaped() {
        let page = MessagePage {
            nav: Some(Nav {
                user_name: "<img src=x onerror=alert(1)>".into(),
                csrf: "t".into(),
                query: "\"><script>".into(),
            }),
            title: "T".into(),
            text: "<script>alert(1)</script></textarea>".into(),
        };
        let html = page.render().unwrap();
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains("<img src=x"), "{html}");
        assert!(!html.contains("</textarea>"), "{html}");
        assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "{html}");
    }
}
