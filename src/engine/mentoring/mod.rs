//! The mentoring loop: mentors read their cohort's answers and write notes
//! back on them, members walk the Staff path. Every method takes the
//! [`Viewer`] and returns the model to render or the refusal; the rules:
//!
//! - answers and notes reach only the member who wrote the answer and the
//!   mentors of that member's cohort (its mentor role, in its guild);
//! - a mentor reads the answers of the cohort of the channel they are in, or,
//!   outside any cohort's channel, of the one cohort they mentor in the guild;
//!   a mentor of another cohort, a member and an admin are refused and shown
//!   nothing;
//! - a button or form made by hand for another guild, a removed cohort or an
//!   answer that does not exist is refused as unknown, revealing nothing;
//! - the Staff path is the member's own: they write it; they and their
//!   cohort's mentors read it. Its forms work where the impact form does (the
//!   cohort's channel, or anywhere in the guild for its members), and saving
//!   one joins the cohort, as answering does.

mod answers;
mod notes;
mod path;

use super::{Engine, EngineError, Result};
use crate::domain::{CheckIn, Cohort, Note, PathProject, PathStep, Reply, StaffPath, StepEvidence, UserId, Viewer};

pub use notes::NoteDelivery;

/// One answer with the notes mentors wrote on it, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct NotedAnswer {
    /// The check-in it answers.
    pub checkin: CheckIn,
    pub reply: Reply,
    pub notes: Vec<Note>,
}

/// `/cohort answers`: one check-in and every answer to it.
#[derive(Debug, Clone, PartialEq)]
pub struct WeekAnswers {
    pub cohort: Cohort,
    pub checkin: CheckIn,
    /// How many check-ins back it is (0 = the open or latest one).
    pub week: u32,
    /// In the order they were first saved.
    pub answers: Vec<NotedAnswer>,
    /// Current members it counts for who have not answered (yet, if it is open).
    pub not_answered: Vec<UserId>,
    /// Current members who were paused while it was open and did not answer.
    pub paused: Vec<UserId>,
}

/// `/cohort answers member:@x`: one member's answers, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberAnswers {
    pub cohort: Cohort,
    pub member: UserId,
    /// How many of the newest check-ins were skipped.
    pub week: u32,
    pub answers: Vec<NotedAnswer>,
    /// Posted check-ins considered (from `week` back), answered or not.
    pub checkins: usize,
}

/// What `/cohort answers` shows.
#[derive(Debug, Clone, PartialEq)]
pub enum AnswersView {
    Week(WeekAnswers),
    Member(MemberAnswers),
}

/// The note form of one answer, pre-filled with the mentor's own note on it.
#[derive(Debug, Clone, PartialEq)]
pub struct NoteForm {
    pub cohort: Cohort,
    pub checkin: CheckIn,
    pub reply: Reply,
    pub current: Option<Note>,
}

/// A committed note, and what became of the DM to the member.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedNote {
    pub note: Note,
    /// It replaced the mentor's earlier note on this answer.
    pub edited: bool,
    pub delivery: NoteDelivery,
}

/// A form of the Staff path (`/path project`, `/path done`), pre-filled
/// with what the member wrote before.
#[derive(Debug, Clone, PartialEq)]
pub struct PathForm {
    pub cohort: Cohort,
    pub path: StaffPath,
}

impl PathForm {
    pub fn project(&self) -> Option<&PathProject> {
        self.path.project.as_ref()
    }

    pub fn step(&self, step: PathStep) -> Option<&StepEvidence> {
        self.path.step(step)
    }
}

/// A committed project.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedProject {
    pub project: PathProject,
    pub edited: bool,
}

/// A committed step, with the path it is now part of.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedStep {
    pub step: StepEvidence,
    pub edited: bool,
    pub path: StaffPath,
}

impl Engine {
    /// The cohort whose answers `viewer` may read: this channel's cohort if
    /// they mentor it; outside any cohort's channel, the only one they mentor here.
    async fn mentored_cohort(&self, viewer: &Viewer) -> Result<Cohort> {
        let cohorts = self.cohorts_in_guild(viewer.guild_id).await?;
        let here = cohorts.iter().find(|c| c.spec.channel_id == viewer.channel_id);
        let mut mine = cohorts.iter().filter(|c| viewer.is_mentor_of(c));
        match (here, mine.next(), mine.next()) {
            (Some(c), _, _) if viewer.is_mentor_of(c) => Ok(c.clone()),
            (Some(_), _, _) => Err(EngineError::AnswersMentorsOnly),
            (None, Some(only), None) => Ok(only.clone()),
            (None, None, _) => Err(EngineError::NoCohortMentored),
            (None, Some(_), Some(_)) => Err(EngineError::SeveralCohortsMentored),
        }
    }

    /// An active cohort of `viewer`'s guild that `viewer` mentors, for a
    /// button that names it: another guild's or a removed one is unknown.
    async fn cohort_mentored_by(&self, viewer: &Viewer, cohort: Option<Cohort>) -> Result<Cohort> {
        let cohort =
            cohort.filter(|c| c.active && c.spec.guild_id == viewer.guild_id).ok_or(EngineError::UnknownAnswer)?;
        let cohort = self.live_cohort(cohort).await?;
        if !viewer.is_mentor_of(&cohort) {
            return Err(EngineError::AnswersMentorsOnly);
        }
        Ok(cohort)
    }
}
