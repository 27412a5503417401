//! The mentoring loop as Discord messages: pages of answers with their Note
//! buttons, the note form and its DM, the Staff path and its forms, and the
//! lines the summaries add. Everything that echoes member or mentor text
//! pings nobody; everything fits Discord's limits for any input the forms
//! accept (the unit tests check the worst cases).

use poise::serenity_prelude as serenity;
use serenity::{
    CreateActionRow, CreateAttachment, CreateButton, CreateEmbed, CreateEmbedFooter, CreateInputText, CreateMessage,
    CreateModal, InputTextStyle,
};

use super::{discord_time, no_mentions, truncate};
use crate::discord::custom_id::CustomId;
use crate::discord::forms::{
    FIELD_NOTE, FIELD_PROJECT_TEAMS, FIELD_PROJECT_WHAT, FIELD_PROJECT_WHY, FIELD_STEP_EVIDENCE, FIELD_STEP_LINK,
};
use crate::domain::note::MAX_NOTE_CHARS;
use crate::domain::path::{MAX_EVIDENCE_CHARS, MAX_PROJECT_FIELD_CHARS};
use crate::domain::reply::MAX_LINK_CHARS;
use crate::domain::{Cohort, Note, PathStep, Reply, StaffPath, UserId};
use crate::engine::{
    MemberAnswers, NoteDelivery, NoteDm, NoteForm, NotedAnswer, SavedAnswer, SavedNote, SavedProject, SavedStep,
    WeekAnswers,
};
use crate::summary::answers::{AnswerEntry, member_markdown, week_markdown};
use crate::summary::digest::Digest;
use crate::summary::mentoring::ProgressMentoring;
use crate::summary::{CohortStatus, plural};

const COLOUR: u32 = 0x2f7d5b;
/// Note buttons per page: one row of Discord's five buttons.
pub const MAX_PAGE_BUTTONS: usize = 5;
/// The attachment of `/cohort answers`.
pub const ANSWERS_MD: &str = "answers.md";

/// Discord: at most 6000 characters over all embeds of a message.
const MESSAGE_EMBED_CHARS: usize = 6000;
/// A page's embeds stay under this, leaving room for Discord's own counting.
const PAGE_BUDGET: usize = MESSAGE_EMBED_CHARS - 200;
/// An answer on a page is cut here; `answers.md` has it in full.
const ANSWER_EXCERPT: usize = 1500;
/// Who has not answered, on a page's header, before "and N more".
const NOT_ANSWERED_CHARS: usize = 700;

/// User text as a Discord block quote, line for line, cut to `max` characters.
pub(super) fn block_quote(text: &str, max: usize, cut_note: &str) -> String {
    let text = text.trim_end();
    let shown = if text.chars().count() > max {
        let mut s = super::prefix(text, max).to_string();
        s.push_str("… ");
        s.push_str(cut_note);
        s
    } else {
        text.to_string()
    };
    shown
        .lines()
        .map(|l| if l.trim().is_empty() { ">".to_string() } else { format!("> {l}") })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Characters Discord counts in an embed: title, description, field names and
/// values, footer, author.
pub fn embed_chars(embed: &CreateEmbed) -> usize {
    let json = serde_json::to_value(embed).unwrap_or_default();
    let len = |v: &serde_json::Value| v.as_str().map_or(0, |s| s.chars().count());
    let fields: usize =
        json["fields"].as_array().map(|f| f.iter().map(|f| len(&f["name"]) + len(&f["value"])).sum()).unwrap_or(0);
    len(&json["title"])
        + len(&json["description"])
        + fields
        + len(&json["footer"]["text"])
        + len(&json["author"]["name"])
}

/// One page of answers: its embeds and buttons.
pub struct Page {
    pub embeds: Vec<CreateEmbed>,
    pub components: Vec<CreateActionRow>,
    /// Which page this is (0-based, after clamping) and how many there are.
    pub page: usize,
    pub pages: usize,
}

/// Splits entries (their embeds' sizes, in order) into pages: each holds at
/// most `MAX_PAGE_BUTTONS` entries and, with the header, at most
/// `PAGE_BUDGET` characters; every page holds at least one entry. A pure
/// function of the sizes, so a page number in a button means the same page
/// as long as the answers are unchanged.
pub fn paginate(header: usize, entries: &[usize]) -> Vec<std::ops::Range<usize>> {
    let mut pages = Vec::new();
    let mut start = 0;
    while start < entries.len() {
        let mut end = start;
        let mut used = header;
        while end < entries.len()
            && end - start < MAX_PAGE_BUTTONS
            && (end == start || used + entries[end] <= PAGE_BUDGET)
        {
            used += entries[end];
            end += 1;
        }
        pages.push(start..end);
        start = end;
    }
    if pages.is_empty() {
        pages.push(0..0);
    }
    pages
}

/// The confidence and time line of an answer.
fn answer_meta(r: &Reply) -> String {
    let confidence = r.confidence.map_or_else(|| "no confidence given".to_string(), |c| format!("confidence {c}/5"));
    let mut meta = format!("{confidence} · {}", discord_time(r.created_at, 'f'));
    if r.updated_at != r.created_at {
        meta.push_str(&format!(" · edited {}", discord_time(r.updated_at, 'f')));
    }
    meta
}

/// "Notes: <@a> (you), <@b>" under an answer.
fn notes_line(notes: &[Note], viewer: UserId) -> String {
    if notes.is_empty() {
        return "_No note yet._".to_string();
    }
    let names: Vec<String> = notes
        .iter()
        .map(
            |n| if n.author_id == viewer { format!("<@{}> (you)", n.author_id) } else { format!("<@{}>", n.author_id) },
        )
        .collect();
    format!("📝 Noted by {}", names.join(", "))
}

fn entry_embed(n: usize, head: String, a: &NotedAnswer, viewer: UserId) -> CreateEmbed {
    let description = format!(
        "{head}\n{}\n{}",
        block_quote(&a.reply.answer, ANSWER_EXCERPT, &format!("(the rest is in `{ANSWERS_MD}`)")),
        notes_line(&a.notes, viewer)
    );
    CreateEmbed::new().description(truncate(&format!("**{n}.** {description}"), 4096)).colour(COLOUR)
}

fn note_button(n: usize, a: &NotedAnswer, viewer: UserId) -> CreateButton {
    let mine = a.notes.iter().any(|n| n.author_id == viewer);
    CreateButton::new(CustomId::Note(a.reply.id).render())
        .label(if mine { format!("Edit note on {n}") } else { format!("Note on {n}") })
        .style(if mine { serenity::ButtonStyle::Secondary } else { serenity::ButtonStyle::Primary })
}

fn page_of(
    header: CreateEmbed,
    entries: Vec<(CreateEmbed, CreateButton)>,
    page: usize,
    turn: impl Fn(usize) -> String,
) -> Page {
    let sizes: Vec<usize> = entries.iter().map(|(e, _)| embed_chars(e)).collect();
    // The footer ("Page i of n …") is added below, once the count is known.
    let ranges = paginate(embed_chars(&header) + 80, &sizes);
    let pages = ranges.len();
    let page = page.min(pages - 1);
    let range = ranges[page].clone();
    let header = header.footer(CreateEmbedFooter::new(format!(
        "Page {} of {pages} · every answer in full is in {ANSWERS_MD}",
        page + 1
    )));
    let mut embeds = vec![header];
    let mut buttons = Vec::new();
    for (embed, button) in entries.into_iter().skip(range.start).take(range.len()) {
        embeds.push(embed);
        buttons.push(button);
    }
    let mut components = Vec::new();
    if !buttons.is_empty() {
        components.push(CreateActionRow::Buttons(buttons));
    }
    let mut nav = Vec::new();
    if page > 0 {
        nav.push(CreateButton::new(turn(page - 1)).label("◀ Previous").style(serenity::ButtonStyle::Secondary));
    }
    if page + 1 < pages {
        nav.push(CreateButton::new(turn(page + 1)).label("Next ▶").style(serenity::ButtonStyle::Secondary));
    }
    if !nav.is_empty() {
        components.push(CreateActionRow::Buttons(nav));
    }
    Page { embeds, components, page, pages }
}

/// Names as mentions (embeds never ping), as many as fit in `max` characters.
fn mention_list(users: &[UserId], max: usize) -> String {
    let mut out = String::new();
    for (i, u) in users.iter().enumerate() {
        let next = format!("<@{u}>");
        if out.chars().count() + next.chars().count() + 30 > max {
            out.push_str(&format!("… and {} more", users.len() - i));
            return out;
        }
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(&next);
    }
    out
}

/// Page `page` of a check-in's answers, for mentor `viewer`.
pub fn week_page(view: &WeekAnswers, viewer: UserId, page: usize, now: chrono::DateTime<chrono::Utc>) -> Page {
    let c = &view.checkin;
    let track = c.prompt.as_ref().map_or("Check-in", |p| p.track.title());
    let question = c.prompt.as_ref().map_or("", |p| p.question.as_str());
    let state = if c.is_open_at(now) {
        format!("open until {}", discord_time(c.closes_at, 'f'))
    } else {
        format!("closed {}", discord_time(c.closes_at, 'f'))
    };
    let mut description = format!(
        "{}\n\nPosted {} ({state}). **{}** answered · **{}** not answered · **{}** paused.",
        block_quote(question, 500, ""),
        discord_time(c.occurrence_at, 'D'),
        view.answers.len(),
        view.not_answered.len(),
        view.paused.len()
    );
    if !view.not_answered.is_empty() {
        description.push_str(&format!("\n**Not answered:** {}", mention_list(&view.not_answered, NOT_ANSWERED_CHARS)));
    }
    if !view.paused.is_empty() {
        description.push_str(&format!("\n**Paused:** {}", mention_list(&view.paused, 300)));
    }
    if view.answers.is_empty() {
        description.push_str("\n\nNo answers yet.");
    }
    let when = if view.week == 0 {
        "latest check-in".to_string()
    } else {
        format!("{} back", plural(view.week as usize, "check-in", "check-ins"))
    };
    let header = CreateEmbed::new()
        .title(truncate(&format!("Answers · {track} · {when} · {}", view.cohort.spec.name), 256))
        .description(description)
        .colour(COLOUR);
    let entries = view
        .answers
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let head = format!("<@{}> · {}", a.reply.user_id, answer_meta(&a.reply));
            (entry_embed(i + 1, head, a, viewer), note_button(i + 1, a, viewer))
        })
        .collect();
    page_of(header, entries, page, |p| CustomId::WeekPage(c.id, p as u32).render())
}

/// Page `page` of one member's answers, for mentor `viewer`.
pub fn member_page(view: &MemberAnswers, viewer: UserId, page: usize) -> Page {
    let description = format!(
        "<@{}> · {} to the {} from {} back, newest first.",
        view.member,
        plural(view.answers.len(), "answer", "answers"),
        plural(view.checkins, "posted check-in", "posted check-ins"),
        if view.week == 0 { "the latest".to_string() } else { plural(view.week as usize, "check-in", "check-ins") }
    );
    let header = CreateEmbed::new()
        .title(truncate(&format!("Answers of one member · {}", view.cohort.spec.name), 256))
        .description(description)
        .colour(COLOUR);
    let entries = view
        .answers
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let track = a.checkin.prompt.as_ref().map_or("Check-in", |p| p.track.title());
            let question = a.checkin.prompt.as_ref().map_or("", |p| p.question.as_str());
            let head = format!(
                "{track} · posted {} · {}\n_{}_",
                discord_time(a.checkin.occurrence_at, 'D'),
                answer_meta(&a.reply),
                truncate(&question.replace('\n', " ").replace('_', "\\_"), 200)
            );
            (entry_embed(i + 1, head, a, viewer), note_button(i + 1, a, viewer))
        })
        .collect();
    let (cohort, member, week) = (view.cohort.id, view.member, view.week);
    page_of(header, entries, page, move |p| CustomId::MemberPage(cohort, member, week, p as u32).render())
}

fn entries(answers: &[NotedAnswer]) -> Vec<AnswerEntry<'_>> {
    answers.iter().map(|a| AnswerEntry { checkin: &a.checkin, reply: &a.reply, notes: &a.notes }).collect()
}

/// `answers.md` of a check-in's answers.
pub fn week_file(view: &WeekAnswers, now: chrono::DateTime<chrono::Utc>) -> CreateAttachment {
    let md = week_markdown(&view.cohort, &view.checkin, &entries(&view.answers), &view.not_answered, &view.paused, now);
    CreateAttachment::bytes(md.into_bytes(), ANSWERS_MD)
}

/// `answers.md` of one member's answers.
pub fn member_file(view: &MemberAnswers, now: chrono::DateTime<chrono::Utc>) -> CreateAttachment {
    let md = member_markdown(&view.cohort, view.member, &entries(&view.answers), view.checkins, now);
    CreateAttachment::bytes(md.into_bytes(), ANSWERS_MD)
}

/// The note form of an answer, pre-filled with the mentor's own note.
pub fn note_modal(form: &NoteForm) -> CreateModal {
    let mut input = CreateInputText::new(InputTextStyle::Paragraph, "Your note (they get it by DM)", FIELD_NOTE)
        .min_length(1)
        .max_length(MAX_NOTE_CHARS as u16)
        .required(true)
        .placeholder(truncate(&form.reply.answer.replace('\n', " "), 100));
    if let Some(current) = &form.current {
        input = input.value(&current.text);
    }
    let title = if form.current.is_some() { "Edit your note" } else { "A note on this answer" };
    CreateModal::new(CustomId::Note(form.reply.id).render(), title).components(vec![CreateActionRow::InputText(input)])
}

/// What the mentor reads once a note is saved.
pub fn note_saved(saved: &SavedNote) -> (String, CreateEmbed) {
    let who = format!("<@{}>", saved.note.member_id);
    let verb = if saved.edited { "updated" } else { "saved" };
    let text = match saved.delivery {
        NoteDelivery::Sent => format!("Note {verb} on {who}'s answer and sent to them by DM."),
        NoteDelivery::Unchanged => "Your note was already exactly this; nothing new was sent.".to_string(),
        NoteDelivery::Refused => format!(
            "Note {verb} on {who}'s answer. Discord would not deliver it by DM (their DMs are closed to the bot), \
             so they will find it in `/progress` and `/packet`."
        ),
        NoteDelivery::Failed => format!(
            "Note {verb} on {who}'s answer. Discord did not take the DM just now; they will find it in \
             `/progress` and `/packet`."
        ),
    };
    let embed = CreateEmbed::new().title("Your note").description(truncate(&saved.note.text, 4096)).colour(COLOUR);
    (text, embed)
}

/// The DM that carries a note to its member.
pub fn note_dm(dm: &NoteDm) -> CreateMessage {
    let title = if dm.edited {
        format!("{} updated their note on your answer", dm.mentor_name)
    } else {
        format!("A note from {}, your mentor, on your answer", dm.mentor_name)
    };
    let embed = CreateEmbed::new()
        .title(truncate(&title, 256))
        .description(truncate(&dm.text, 4096))
        .field(
            "Your answer to",
            format!(
                "{} (answered {})",
                truncate(&dm.question.replace('\n', " "), 900),
                discord_time(dm.answered_at, 'D')
            ),
            false,
        )
        .footer(CreateEmbedFooter::new(truncate(
            &format!("{} · you find your mentors' notes again in /progress and /packet", dm.cohort_name),
            2048,
        )))
        .colour(COLOUR);
    CreateMessage::new().embed(embed).allowed_mentions(no_mentions())
}

/// The answer confirmation's "then" field, when the member answered the same
/// prompt before: their earlier answer and its date, beside the new one.
pub fn then_field(saved: &SavedAnswer) -> Option<(String, String, bool)> {
    let then = saved.earlier.as_ref()?;
    let confidence = then.confidence.map(|c| format!(" · confidence {c}/5")).unwrap_or_default();
    let value = format!(
        "{}{confidence}\n{}",
        discord_time(then.created_at, 'D'),
        block_quote(&then.answer, 900, "(in full in /packet)")
    );
    Some(("Then: your answer when this prompt came before".to_string(), truncate(&value, 1024), false))
}

// ---- the Staff path -----------------------------------------------------

/// A project field or a step's evidence on `/path show` is cut here; `/packet` has it in full.
const PATH_PROJECT_EXCERPT: usize = 380;
const PATH_EVIDENCE_EXCERPT: usize = 360;

/// `/path show`: the project and the seven steps, done or not.
pub fn path_embed(cohort: &Cohort, member: UserId, path: &StaffPath) -> CreateEmbed {
    let project = match &path.project {
        Some(p) => format!(
            "**The problem**\n{}\n**Why it matters**\n{}\n**Teams affected**\n{}",
            block_quote(&p.what, PATH_PROJECT_EXCERPT, "(in full in /packet)"),
            block_quote(&p.why, PATH_PROJECT_EXCERPT, "(in full in /packet)"),
            block_quote(&p.teams, PATH_PROJECT_EXCERPT, "(in full in /packet)"),
        ),
        None => "_No problem chosen yet: `/path project` describes the one you carry along the path._".to_string(),
    };
    let next = path.next().map_or_else(
        || "Every step is done.".to_string(),
        |s| format!("Next: **{}** (`/path done step:{}`).", s.title(), s.as_str()),
    );
    let mut embed = CreateEmbed::new()
        .title(truncate(&format!("Staff path · {} of {} steps", path.done(), PathStep::ALL.len()), 256))
        .description(format!("<@{member}>\n\n{project}\n\n{next}"));
    for step in PathStep::ALL {
        let (name, value) = match path.step(step) {
            Some(s) => {
                let mut when = format!("Done {}", discord_time(s.done_at, 'D'));
                if s.updated_at != s.done_at {
                    when.push_str(&format!(" · updated {}", discord_time(s.updated_at, 'D')));
                }
                let mut value =
                    format!("{when}\n{}", block_quote(&s.evidence, PATH_EVIDENCE_EXCERPT, "(in full in /packet)"));
                if let Some(link) = &s.link {
                    value.push_str(&format!("\n{}", truncate(link, 120)));
                }
                (format!("✅ {}. {}", step.number(), step.title()), value)
            }
            None => (format!("⬜ {}. {}", step.number(), step.title()), format!("_{}_", step.meaning())),
        };
        embed = embed.field(name, truncate(&value, 1024), false);
    }
    embed
        .footer(CreateEmbedFooter::new(truncate(
            &format!("{} · the full evidence is in /packet", cohort.spec.name),
            2048,
        )))
        .colour(COLOUR)
}

/// `/path project`: the problem, why it matters, the teams it touches.
pub fn project_modal(form: &crate::engine::PathForm) -> CreateModal {
    let input = |label: &str, id: &str, placeholder: &str, value: Option<&String>| {
        let mut i = CreateInputText::new(InputTextStyle::Paragraph, label, id)
            .min_length(1)
            .max_length(MAX_PROJECT_FIELD_CHARS as u16)
            .required(true)
            .placeholder(placeholder);
        if let Some(v) = value {
            i = i.value(v);
        }
        i
    };
    let p = form.project();
    CreateModal::new(CustomId::PathProject(form.cohort.id).render(), "Your Staff path problem").components(vec![
        CreateActionRow::InputText(input(
            "The problem you chose",
            FIELD_PROJECT_WHAT,
            "One problem bigger than your own team's backlog",
            p.map(|p| &p.what),
        )),
        CreateActionRow::InputText(input(
            "Why it matters",
            FIELD_PROJECT_WHY,
            "What the business or other teams gain when it is solved",
            p.map(|p| &p.why),
        )),
        CreateActionRow::InputText(input(
            "Teams it affects",
            FIELD_PROJECT_TEAMS,
            "Who has to change something, or benefits",
            p.map(|p| &p.teams),
        )),
    ])
}

/// `/path done step:…`: the evidence and an optional link, pre-filled when
/// the step was done before.
pub fn step_modal(form: &crate::engine::PathForm, step: PathStep) -> CreateModal {
    let current = form.step(step);
    let mut evidence =
        CreateInputText::new(InputTextStyle::Paragraph, "Evidence: what you did, and when", FIELD_STEP_EVIDENCE)
            .min_length(1)
            .max_length(MAX_EVIDENCE_CHARS as u16)
            .required(true)
            .placeholder(step.meaning());
    let mut link = CreateInputText::new(InputTextStyle::Short, "Link (optional)", FIELD_STEP_LINK)
        .max_length(MAX_LINK_CHARS as u16)
        .required(false)
        .placeholder("https://… (doc, decision record, dashboard)");
    if let Some(s) = current {
        evidence = evidence.value(&s.evidence);
        if let Some(l) = &s.link {
            link = link.value(l);
        }
    }
    CreateModal::new(
        CustomId::PathStep(form.cohort.id, step).render(),
        truncate(&format!("Step {} · {}", step.number(), step.title()), 45),
    )
    .components(vec![CreateActionRow::InputText(evidence), CreateActionRow::InputText(link)])
}

pub fn project_saved(saved: &SavedProject) -> CreateEmbed {
    let p = &saved.project;
    CreateEmbed::new()
        .title(if saved.edited { "Staff path problem updated" } else { "Staff path problem saved" })
        .field("The problem", truncate(&p.what, 1024), false)
        .field("Why it matters", truncate(&p.why, 1024), false)
        .field("Teams affected", truncate(&p.teams, 1024), false)
        .footer(CreateEmbedFooter::new("Your mentors see it with /path show; /packet opens with it."))
        .colour(COLOUR)
}

pub fn step_saved(saved: &SavedStep) -> CreateEmbed {
    let step = saved.step.step;
    let verb = if saved.edited { "updated" } else { "done" };
    let next = saved.path.next().map_or_else(|| "Every step is done.".to_string(), |s| format!("Next: {}.", s.title()));
    let mut embed = CreateEmbed::new()
        .title(format!("Step {} {verb}: {}", step.number(), step.title()))
        .description(truncate(&saved.step.evidence, 4096))
        .field("Staff path", format!("{} of {} steps done. {next}", saved.path.done(), PathStep::ALL.len()), false);
    if let Some(link) = &saved.step.link {
        embed = embed.field("Link", truncate(link, 1024), false);
    }
    embed.colour(COLOUR)
}

// ---- lines the summaries add ----------------------------------------------

/// `/progress`: the "Staff path" field.
pub fn progress_path_field(m: &ProgressMentoring) -> (String, String, bool) {
    let done: Vec<&str> = m.path.steps.iter().map(|s| s.step.title()).collect();
    let mut value = format!("{} of {} steps done", m.path.done(), PathStep::ALL.len());
    if !done.is_empty() {
        value.push_str(&format!(": {}", done.join(", ")));
    }
    match m.path.next() {
        Some(next) => value.push_str(&format!(".\nNext: {} (`/path done`).", next.title())),
        None => value.push('.'),
    }
    if m.path.project.is_none() {
        value.push_str("\nNo problem chosen yet: `/path project`.");
    }
    ("Staff path".to_string(), truncate(&value, 1024), false)
}

/// `/progress`: the notes the member has not read there yet, as a second
/// embed; `own` says whether the member reads it (or a mentor does).
pub fn progress_notes_embed(m: &ProgressMentoring, own: bool) -> Option<CreateEmbed> {
    if m.new_notes.is_empty() {
        return None;
    }
    let mut description = String::new();
    for n in &m.new_notes {
        let on = match (&n.question, n.asked_at) {
            (Some(q), Some(at)) => format!(
                " · on {} answer to _{}_ of {}",
                if own { "your" } else { "their" },
                truncate(&q.replace('\n', " ").replace('_', "\\_"), 120),
                discord_time(at, 'D')
            ),
            _ => String::new(),
        };
        description.push_str(&format!(
            "**{}** · {}{on}:\n{}\n\n",
            truncate(&n.note.author_name, 60),
            discord_time(n.note.updated_at, 'D'),
            block_quote(&n.note.text, 650, "(in full in /packet)")
        ));
    }
    if m.more_notes > 0 {
        let again =
            if own { "run `/progress` again to read them" } else { "they show in the member's next `/progress`" };
        let notes = if m.more_notes == 1 { "note" } else { "notes" };
        description.push_str(&format!("…and {} more {notes}; {again}.", m.more_notes));
    }
    let title = if own { "New notes from your mentors" } else { "Notes the member has not read yet" };
    Some(CreateEmbed::new().title(title).description(truncate(description.trim_end(), 4096)).colour(COLOUR))
}

/// Members listed one per line in the status field when the cohort is this small.
const STATUS_ROWS: usize = 15;

/// `/cohort status`: the field of mentors' notes and Staff path steps.
pub fn status_mentoring_field(s: &CohortStatus, table: &str) -> (String, String, bool) {
    let m = &s.mentoring;
    let mut value = format!(
        "**{}** without a mentor's note (all time) · this check-in: **{}** of {}.",
        plural(m.unnoted_answers as usize, "answer", "answers"),
        m.unnoted_current,
        m.answered_current
    );
    if s.members.len() <= STATUS_ROWS {
        for (i, row) in s.members.iter().enumerate() {
            let line = m.of(row.user_id);
            value.push_str(&format!(
                "\n{}. <@{}> · path {}/{} · {} without a note",
                i + 1,
                row.user_id,
                line.path_steps,
                PathStep::ALL.len(),
                line.unnoted_answers
            ));
        }
    } else {
        let d = m.path_distribution();
        value.push_str(&format!(
            "\nStaff path steps done: all 7 **{}** · 4–6 **{}** · 1–3 **{}** · none **{}**. Per member in `{table}`.",
            d[7],
            d[4] + d[5] + d[6],
            d[1] + d[2] + d[3],
            d[0]
        ));
    }
    ("Mentors' notes and Staff path".to_string(), truncate(&value, 1024), false)
}

/// The digest: how many answers still have no note.
pub fn digest_notes_field(d: &Digest) -> (String, String, bool) {
    let m = &d.mentoring;
    (
        "Mentors' notes".to_string(),
        format!(
            "{} of {} answers to this check-in have no note yet · {} without a note in all.",
            m.unnoted, m.answered, m.unnoted_total
        ),
        false,
    )
}

/// The digest: Staff path steps done per member, most first.
pub fn digest_path_field(d: &Digest) -> (String, String, bool) {
    let started: Vec<&(UserId, usize)> = d.mentoring.path.iter().filter(|(_, n)| *n > 0).collect();
    let not_started = d.mentoring.path.len() - started.len();
    let mut value = String::new();
    for (i, (u, n)) in started.iter().enumerate() {
        let line = format!("<@{u}> · {n}/{}\n", PathStep::ALL.len());
        if value.len() + line.len() > 1024 - 80 {
            value.push_str(&format!("… and {} more\n", started.len() - i));
            break;
        }
        value.push_str(&line);
    }
    value.push_str(&format!("Not started: {}", plural(not_started, "member", "members")));
    ("Staff path (steps done of 7)".to_string(), value, false)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, Utc};

    use super::*;
    use crate::domain::{
        CheckIn, CheckInId, CheckInStatus, CohortDraft, CohortId, CohortSource, NoteId, PathProject, PostedPrompt,
        ReplyId, StepEvidence, Track,
    };

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2027-01-04T09:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn cohort() -> Cohort {
        let spec = CohortDraft {
            name: "c".repeat(60),
            guild_id: 1,
            channel_id: 2,
            mentor_role_id: 3,
            schedule: "0 0 9 * * Mon".into(),
            timezone: "UTC".into(),
            ..CohortDraft::default()
        }
        .validate()
        .unwrap();
        Cohort { id: CohortId::new(1), spec, source: CohortSource::Discord, active: true, created_at: t0() }
    }

    fn checkin() -> CheckIn {
        CheckIn {
            id: CheckInId::new(7),
            cohort_id: CohortId::new(1),
            occurrence_at: t0(),
            closes_at: t0() + Duration::weeks(1),
            nonce: "t1-1".into(),
            status: CheckInStatus::Posted,
            prompt: Some(PostedPrompt { id: "p".into(), track: Track::Scope, question: "Q ".repeat(500) }),
            message_id: None,
        }
    }

    fn answer(i: i64, len: usize, notes: usize) -> NotedAnswer {
        let reply = Reply {
            id: ReplyId::new(i),
            checkin_id: CheckInId::new(7),
            user_id: UserId::new(400_000_000_000_000_000 + i as u64),
            answer: "ü".repeat(len),
            confidence: Some(3),
            created_at: t0(),
            updated_at: t0() + Duration::hours(1),
        };
        let notes = (0..notes)
            .map(|k| Note {
                id: NoteId::new(k as i64),
                reply_id: reply.id,
                checkin_id: reply.checkin_id,
                cohort_id: CohortId::new(1),
                member_id: reply.user_id,
                author_id: UserId::new(300_000_000_000_000_000 + k as u64),
                author_name: "m".into(),
                text: "n".into(),
                created_at: t0(),
                updated_at: t0(),
                seen_at: None,
            })
            .collect();
        NotedAnswer { checkin: checkin(), reply, notes }
    }

    fn total(page: &Page) -> usize {
        page.embeds.iter().map(embed_chars).sum()
    }

    #[test]
    fn pages_fit_discord_whatever_the_answers() {
        let not_answered: Vec<UserId> = (0..500).map(|i| UserId::new(500_000_000_000_000_000 + i)).collect();
        for (n, len) in [(0, 0), (1, 4000), (7, 4000), (30, 10), (12, 900), (500, 300)] {
            let view = WeekAnswers {
                cohort: cohort(),
                checkin: checkin(),
                week: 3,
                answers: (0..n).map(|i| answer(i + 1, len, 5)).collect(),
                not_answered: not_answered.clone(),
                paused: not_answered.clone(),
            };
            let first = week_page(&view, UserId::new(300_000_000_000_000_000), 0, t0());
            let mut shown = 0;
            for p in 0..first.pages {
                let page = week_page(&view, UserId::new(300_000_000_000_000_000), p, t0());
                assert_eq!(page.page, p);
                assert!(total(&page) <= MESSAGE_EMBED_CHARS, "{n} × {len}: page {p} has {}", total(&page));
                assert!(page.embeds.len() <= 10 && page.components.len() <= 5);
                shown += page.embeds.len() - 1;
                let json = serde_json::to_value(&page.components).unwrap();
                for row in json.as_array().unwrap() {
                    let buttons = row["components"].as_array().unwrap();
                    assert!(!buttons.is_empty() && buttons.len() <= 5);
                    for b in buttons {
                        assert!(b["custom_id"].as_str().unwrap().len() <= 100);
                        assert!(b["label"].as_str().unwrap().chars().count() <= 80);
                    }
                }
            }
            assert_eq!(shown, n as usize, "every answer is on exactly one page");
            // A page number past the end shows the last page.
            assert_eq!(week_page(&view, UserId::new(1), 10_000, t0()).page, first.pages - 1);
        }
    }

    #[test]
    fn paginate_keeps_order_and_limits() {
        assert_eq!(paginate(100, &[]), vec![0..0]);
        assert_eq!(paginate(100, &[10; 12]), vec![0..5, 5..10, 10..12]);
        assert_eq!(paginate(1000, &[3000, 3000, 10]), vec![0..1, 1..3]);
        assert_eq!(paginate(5000, &[5000]), vec![0..1], "a lone entry always gets a page");
    }

    #[test]
    fn the_path_embed_fits_with_every_field_at_its_limit() {
        let long = |n: usize| "w".repeat(n);
        let project = PathProject {
            cohort_id: CohortId::new(1),
            user_id: UserId::new(1),
            what: long(1000),
            why: long(1000),
            teams: long(1000),
            created_at: t0(),
            updated_at: t0(),
        };
        let steps = PathStep::ALL
            .iter()
            .map(|s| StepEvidence {
                id: crate::domain::PathStepId::new(s.number() as i64),
                cohort_id: CohortId::new(1),
                user_id: UserId::new(1),
                step: *s,
                evidence: long(2000),
                link: Some(format!("https://{}", long(500))),
                done_at: t0(),
                updated_at: t0() + Duration::days(2),
            })
            .collect();
        let path = StaffPath::of(UserId::new(1), Some(project), steps);
        let embed = path_embed(&cohort(), UserId::new(1), &path);
        assert!(embed_chars(&embed) <= MESSAGE_EMBED_CHARS, "{}", embed_chars(&embed));
        let empty = path_embed(&cohort(), UserId::new(1), &StaffPath::default());
        assert!(serde_json::to_string(&empty).unwrap().contains("/path project"));
    }
}
