//! Summaries: pure functions over rows the store returns. No I/O.
//!
//! Every summary counts a check-in for a member the same way ([`Outcome::of`]):
//! - it is *offered* when it was posted while they were a member (joined
//!   before it was posted, not gone before it closed), or when they answered it;
//! - a check-in during which the member was paused at any moment is neither
//!   missed nor answered ("paused weeks do not count against you");
//! - one still open and not answered yet does not count either, so a streak
//!   only breaks when a check-in closes unanswered.

mod activity;
pub mod answers;
pub mod chart;
pub mod digest;
pub mod export;
#[cfg(test)]
mod fixtures;
pub mod markdown;
pub mod mentoring;
pub mod packet;
mod progress;
mod status;

use chrono::{DateTime, Utc};

use crate::domain::{CheckIn, CheckInStatus, Member, Pause};

pub use activity::MemberActivity;
pub use progress::{LATEST_IMPACT, MemberProgress, TREND_THRESHOLD, TrackFigures, Trend, WeekPoint};
pub use status::{CohortStatus, MemberRow, QUIET_AFTER, TrackCoverage, WeekColumn, WeekState};

/// The recent window of `/progress` and `/cohort status` unless asked otherwise.
pub const DEFAULT_WINDOW_WEEKS: u32 = 12;
/// "Next focus": tracks with no answer or impact entry for this long.
pub const FOCUS_WINDOW_DAYS: i64 = 28;

/// `"1 answer"`, `"3 answers"`: a count with the word that fits it.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A date as people of the cohort read it: `YYYY-MM-DD` in the cohort's zone.
pub fn local_date(t: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d").to_string()
}

/// Start of a window of `weeks` ending at `now`; saturates rather than
/// overflowing when a caller asks for an absurd window.
pub fn window_start(now: DateTime<Utc>, weeks: u32) -> DateTime<Utc> {
    now.checked_sub_signed(chrono::Duration::weeks(i64::from(weeks))).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// What one check-in was for one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Answered,
    /// Closed without an answer while it counted for the member.
    Missed,
    /// The member was paused at some moment while it was open.
    Paused,
    /// Open and not answered yet.
    Open,
    /// Not the member's: posted before they joined or after they left, or never posted.
    NotOffered,
}

impl Outcome {
    pub fn of(checkin: &CheckIn, member: &Member, pauses: &[Pause], answered: bool, now: DateTime<Utc>) -> Outcome {
        if answered {
            return Outcome::Answered;
        }
        let shown = matches!(checkin.status, CheckInStatus::Posted | CheckInStatus::Posting);
        let occ = checkin.occurrence_at;
        let was_member = member.joined_at <= occ && member.left_at.is_none_or(|left| checkin.closes_at <= left);
        if !shown || occ > now || !was_member {
            return Outcome::NotOffered;
        }
        // The part of its window that has passed: [occ, end).
        let end = checkin.closes_at.min(now);
        if pauses.iter().any(|p| p.ends_at > occ && (p.starts_at <= occ || p.starts_at < end)) {
            return Outcome::Paused;
        }
        if checkin.closes_at > now { Outcome::Open } else { Outcome::Missed }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Missed => "missed",
            Outcome::Paused => "paused",
            Outcome::Open => "open",
            Outcome::NotOffered => "-",
        }
    }

    /// Answered or missed: the check-ins "offered" counts.
    pub fn counts_as_offered(self) -> bool {
        matches!(self, Outcome::Answered | Outcome::Missed)
    }
}

/// Check-ins answered of those offered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub offered: u32,
    pub answered: u32,
}

impl Tally {
    pub fn add(&mut self, outcome: Outcome) {
        self.offered += u32::from(outcome.counts_as_offered());
        self.answered += u32::from(outcome == Outcome::Answered);
    }

    /// Whole percent answered; `None` when nothing was offered.
    pub fn rate_percent(&self) -> Option<u32> {
        (self.answered * 100).checked_div(self.offered)
    }
}
