//! The Staff path: the practical route from Senior to Staff that the seed
//! article ends with, as seven steps a member walks with one problem of their
//! own, each step done with dated evidence.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::reply::{parse_link, parse_text};
use super::{CohortId, InputError, PathStepId, UserId};

/// Ceiling of each field of the project (what, why it matters, teams affected).
pub const MAX_PROJECT_FIELD_CHARS: usize = 1000;
/// Ceiling of a step's evidence text.
pub const MAX_EVIDENCE_CHARS: usize = 2000;

/// One step of the path, in the order the seed gives them. The lower-case
/// names (`as_str`) are the `/path done step:` choice values, the stored
/// values and the export's: an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathStep {
    Expectations,
    Problem,
    Plan,
    Stakeholders,
    Mentoring,
    Outcomes,
    Story,
}

impl PathStep {
    /// Every step, in path order.
    pub const ALL: [PathStep; 7] = [
        PathStep::Expectations,
        PathStep::Problem,
        PathStep::Plan,
        PathStep::Stakeholders,
        PathStep::Mentoring,
        PathStep::Outcomes,
        PathStep::Story,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PathStep::Expectations => "expectations",
            PathStep::Problem => "problem",
            PathStep::Plan => "plan",
            PathStep::Stakeholders => "stakeholders",
            PathStep::Mentoring => "mentoring",
            PathStep::Outcomes => "outcomes",
            PathStep::Story => "story",
        }
    }

    /// A short title (≤ 32 characters: it heads modals and choice lists).
    pub fn title(self) -> &'static str {
        match self {
            PathStep::Expectations => "Staff expectations made clear",
            PathStep::Problem => "A cross-team problem picked",
            PathStep::Plan => "Technical plan written first",
            PathStep::Stakeholders => "Stakeholders on board early",
            PathStep::Mentoring => "Engineers grown through it",
            PathStep::Outcomes => "Outcomes measured",
            PathStep::Story => "Promotion story told",
        }
    }

    /// What doing the step means, in a sentence (≤ 100 characters: it is a
    /// modal placeholder too).
    pub fn meaning(self) -> &'static str {
        match self {
            PathStep::Expectations => "You and your manager agreed, in writing, what Staff means on your team.",
            PathStep::Problem => "You chose one problem that matters beyond your team or to the business.",
            PathStep::Plan => "The approach was written down and reviewed before anyone built it.",
            PathStep::Stakeholders => {
                "The people the work touches agreed on the direction while it was cheap to change."
            }
            PathStep::Mentoring => "Other engineers did real parts of the work with your guidance.",
            PathStep::Outcomes => "You track numbers that show what changed because of the work.",
            PathStep::Story => "The work is written up as scope, judgment and impact for your promotion case.",
        }
    }

    /// 1-based position on the path.
    pub fn number(self) -> usize {
        PathStep::ALL.iter().position(|s| *s == self).unwrap_or(0) + 1
    }
}

impl fmt::Display for PathStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is none of the seven steps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown Staff path step `{0}`; expected one of expectations, problem, plan, stakeholders, mentoring, outcomes, story"
)]
pub struct UnknownStep(pub String);

impl FromStr for PathStep {
    type Err = UnknownStep;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PathStep::ALL
            .into_iter()
            .find(|step| step.as_str() == s)
            .ok_or_else(|| UnknownStep(s.chars().take(40).collect()))
    }
}

/// A validated project: the one problem a member carries along the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectInput {
    pub what: String,
    pub why: String,
    pub teams: String,
}

impl ProjectInput {
    /// Each field required, trimmed, at most [`MAX_PROJECT_FIELD_CHARS`].
    pub fn parse(what: &str, why: &str, teams: &str) -> Result<Self, InputError> {
        Ok(ProjectInput {
            what: parse_text("the problem", what, MAX_PROJECT_FIELD_CHARS)?,
            why: parse_text("why it matters", why, MAX_PROJECT_FIELD_CHARS)?,
            teams: parse_text("teams affected", teams, MAX_PROJECT_FIELD_CHARS)?,
        })
    }
}

/// Validated evidence for a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceInput {
    pub text: String,
    pub link: Option<String>,
}

impl EvidenceInput {
    /// Text required (≤ [`MAX_EVIDENCE_CHARS`]); the link optional, one
    /// `http(s)://` address.
    pub fn parse(text: &str, link: &str) -> Result<Self, InputError> {
        let link = parse_link(link)?;
        Ok(EvidenceInput { text: parse_text("evidence", text, MAX_EVIDENCE_CHARS)?, link })
    }
}

/// A member's project as it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct PathProject {
    pub cohort_id: CohortId,
    pub user_id: UserId,
    pub what: String,
    pub why: String,
    pub teams: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A step done, with its current evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct StepEvidence {
    pub id: PathStepId,
    pub cohort_id: CohortId,
    pub user_id: UserId,
    pub step: PathStep,
    pub evidence: String,
    pub link: Option<String>,
    /// The first time the step was marked done.
    pub done_at: DateTime<Utc>,
    /// The last time its evidence was saved.
    pub updated_at: DateTime<Utc>,
}

/// An earlier version of a step's evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct StepEdit {
    pub evidence: String,
    pub link: Option<String>,
    pub written_at: DateTime<Utc>,
}

/// One member's Staff path in one cohort.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StaffPath {
    pub project: Option<PathProject>,
    /// Steps done, in path order.
    pub steps: Vec<StepEvidence>,
}

impl StaffPath {
    /// From rows in any order; keeps those of `user_id` only.
    pub fn of(user_id: UserId, project: Option<PathProject>, steps: Vec<StepEvidence>) -> Self {
        let mut steps: Vec<StepEvidence> = steps.into_iter().filter(|s| s.user_id == user_id).collect();
        steps.sort_by_key(|s| s.step);
        StaffPath { project: project.filter(|p| p.user_id == user_id), steps }
    }

    pub fn step(&self, step: PathStep) -> Option<&StepEvidence> {
        self.steps.iter().find(|s| s.step == step)
    }

    /// How many of the seven steps are done.
    pub fn done(&self) -> usize {
        self.steps.len()
    }

    /// The first step in path order not done yet.
    pub fn next(&self) -> Option<PathStep> {
        PathStep::ALL.into_iter().find(|s| self.step(*s).is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_names_round_trip_and_fit_discord() {
        for step in PathStep::ALL {
            assert_eq!(step.as_str().parse::<PathStep>().unwrap(), step);
            assert!(step.title().chars().count() <= 32, "{}", step.title());
            assert!(step.meaning().chars().count() <= 100, "{}", step.meaning());
        }
        assert_eq!(PathStep::ALL.map(|s| s.number()), [1, 2, 3, 4, 5, 6, 7]);
        assert!("Plan".parse::<PathStep>().is_err());
        assert!(" plan".parse::<PathStep>().is_err());
    }

    #[test]
    fn project_and_evidence_fields() {
        let p = ProjectInput::parse(" Cut CI time ", "Every team waits on it", "web, mobile").unwrap();
        assert_eq!(p.what, "Cut CI time");
        assert_eq!(
            ProjectInput::parse("w", "", "t").unwrap_err(),
            InputError::Blank { field: "why it matters", max: MAX_PROJECT_FIELD_CHARS }
        );
        assert!(matches!(ProjectInput::parse(&"x".repeat(1001), "y", "t"), Err(InputError::FieldTooLong { .. })));
        let e = EvidenceInput::parse("Manager signed off the doc", "https://docs.example/staff").unwrap();
        assert_eq!(e.link.as_deref(), Some("https://docs.example/staff"));
        assert_eq!(EvidenceInput::parse("ok", "").unwrap().link, None);
        assert_eq!(EvidenceInput::parse("ok", "ftp://x").unwrap_err(), InputError::Link);
        assert!(matches!(EvidenceInput::parse("\u{200B}", ""), Err(InputError::Blank { .. })));
        assert!(matches!(EvidenceInput::parse(&"x".repeat(2001), ""), Err(InputError::FieldTooLong { .. })));
    }
}
