//! The mentors' view of a cohort: this week, streaks, quiet members, tracks.

use std::collections::BTreeMap;

use std::fmt::Write;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

#[cfg(any(test, feature = "test-util"))]
use super::DEFAULT_WINDOW_WEEKS;
use super::activity::MemberActivity;
use super::mentoring::StatusMentoring;
use super::progress::Streak;
use super::{Outcome, Tally};
use crate::domain::{CheckIn, CheckInId, CheckInStatus, DeliveryProblems, Track, UserId};
#[cfg(any(test, feature = "test-util"))]
use crate::domain::{Member, Pause, Reply};

/// A member is flagged as quiet from this many missed check-ins in a row.
pub const QUIET_AFTER: u32 = 2;

/// Where a member stands on the cohort's current check-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeekState {
    Answered,
    /// No answer (yet, while the check-in is open).
    NotYet,
    Paused,
}

/// A column of the heatmap: one posted check-in of the window.
#[derive(Debug, Clone, PartialEq)]
pub struct WeekColumn {
    pub checkin_id: CheckInId,
    pub occurrence_at: DateTime<Utc>,
    pub track: Option<Track>,
}

/// How the cohort covered one track within the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrackCoverage {
    /// Check-ins of this track posted in the window.
    pub checkins: u32,
    /// Member × check-in pairs that counted (answered or missed).
    pub offered: u32,
    pub answered: u32,
}

impl TrackCoverage {
    pub fn rate_percent(&self) -> Option<u32> {
        (self.answered * 100).checked_div(self.offered)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MemberRow {
    pub user_id: UserId,
    pub joined_at: DateTime<Utc>,
    pub this_week: WeekState,
    pub current_streak: u32,
    pub longest_streak: u32,
    pub all_time: Tally,
    pub last_answer: Option<DateTime<Utc>>,
    /// Consecutive offered check-ins missed, newest backwards (pauses skipped).
    pub missed_in_a_row: u32,
    /// One outcome per column of [`CohortStatus::weeks`].
    pub recent: Vec<Outcome>,
}

impl MemberRow {
    pub fn is_quiet(&self) -> bool {
        self.missed_in_a_row >= QUIET_AFTER
    }
}

/// The mentor's view of a cohort.
#[derive(Debug, Clone, PartialEq)]
pub struct CohortStatus {
    pub as_of: DateTime<Utc>,
    /// The open check-in; with none open, the latest posted one.
    pub current: Option<CheckIn>,
    pub window_weeks: u32,
    /// The window's posted check-ins, oldest first.
    pub weeks: Vec<WeekColumn>,
    /// Current members, in the order they joined.
    pub members: Vec<MemberRow>,
    /// Every track, covered or not, within the window.
    pub tracks: BTreeMap<Track, TrackCoverage>,
    /// What Discord refuses for the cohort (its channels, members' DMs,
    /// members who left): none from the rows above, the engine adds it.
    pub delivery: DeliveryProblems,
    /// Answers still without a mentor's note, and Staff path steps, per
    /// member. Empty from [`CohortStatus::from_activity`]; the engine adds it
    /// ([`StatusMentoring::compute`]).
    pub mentoring: StatusMentoring,
}

impl CohortStatus {
    pub fn answered(&self) -> usize {
        self.members.iter().filter(|m| m.this_week == WeekState::Answered).count()
    }
    pub fn not_yet(&self) -> usize {
        self.members.iter().filter(|m| m.this_week == WeekState::NotYet).count()
    }
    pub fn paused(&self) -> usize {
        self.members.iter().filter(|m| m.this_week == WeekState::Paused).count()
    }
    /// Members who missed [`QUIET_AFTER`] or more offered check-ins in a row.
    pub fn quiet(&self) -> impl Iterator<Item = &MemberRow> {
        self.members.iter().filter(|m| m.is_quiet())
    }
    pub fn current_is_open(&self) -> bool {
        self.current.as_ref().is_some_and(|c| c.is_open_at(self.as_of))
    }

    /// The full table, one row per member numbered as in the heatmap, with
    /// their answers still without a mentor's note and Staff path steps done,
    /// then one column per check-in of the window (dates in `tz`). Only ids,
    /// numbers, dates and fixed words: nothing anyone wrote.
    pub fn to_csv(&self, tz: Tz) -> String {
        let date = |t: DateTime<Utc>| crate::summary::local_date(t, tz);
        let mut out = String::from(
            "row,user_id,joined,this_week,current_streak,longest_streak,answered,offered,missed_in_a_row,quiet,last_answer,\
             answers_without_note,path_steps_done",
        );
        for w in &self.weeks {
            let track = w.track.map(|t| t.as_str()).unwrap_or("none");
            let _ = write!(out, ",{} {track}", date(w.occurrence_at));
        }
        out.push('\n');
        for (i, m) in self.members.iter().enumerate() {
            let this_week = match m.this_week {
                WeekState::Answered => "answered",
                WeekState::NotYet if self.current_is_open() => "not yet",
                WeekState::NotYet => "missing",
                WeekState::Paused => "paused",
            };
            let _ = write!(
                out,
                "{},{},{},{this_week},{},{},{},{},{},{},{}",
                i + 1,
                m.user_id,
                date(m.joined_at),
                m.current_streak,
                m.longest_streak,
                m.all_time.answered,
                m.all_time.offered,
                m.missed_in_a_row,
                if m.is_quiet() { "yes" } else { "no" },
                m.last_answer.map(date).unwrap_or_default(),
            );
            let mentoring = self.mentoring.of(m.user_id);
            let _ = write!(out, ",{},{}", mentoring.unnoted_answers, mentoring.path_steps);
            for o in &m.recent {
                out.push(',');
                out.push_str(o.as_str());
            }
            out.push('\n');
        }
        out
    }

    /// `members`: the cohort's members (former ones are left out) with their
    /// pauses; `replies`: the cohort's replies (text unused). Passing the
    /// ledger only up to a closed check-in and its close as `now` describes
    /// the cohort as that check-in closed.
    #[cfg(any(test, feature = "test-util"))]
    pub fn compute(
        members: &[(Member, Vec<Pause>)],
        checkins: &[CheckIn],
        replies: &[Reply],
        now: DateTime<Utc>,
    ) -> Self {
        Self::from_activity(&MemberActivity::from_replies(members, replies), checkins, DEFAULT_WINDOW_WEEKS, now)
    }

    /// The same from compact rows, with a heatmap and coverage window of `window_weeks`.
    pub fn from_activity(
        members: &[MemberActivity],
        checkins: &[CheckIn],
        window_weeks: u32,
        now: DateTime<Utc>,
    ) -> Self {
        let ledger = StatusLedger::gather(checkins, window_weeks, now);
        let mut tracks: BTreeMap<Track, TrackCoverage> = Track::ALL.iter().map(|&t| (t, Default::default())).collect();
        for w in &ledger.weeks {
            if let Some(t) = w.track {
                tracks.entry(t).or_default().checkins += 1;
            }
        }
        let mut active: Vec<&MemberActivity> = members.iter().filter(|a| a.member.left_at.is_none()).collect();
        active.sort_by_key(|a| (a.member.joined_at, a.member.user_id));
        let mut scratch = RowScratch::default();
        let rows = active.into_iter().map(|a| ledger.member_row(a, &mut tracks, &mut scratch, now)).collect();
        CohortStatus {
            as_of: now,
            current: ledger.current,
            window_weeks,
            weeks: ledger.weeks,
            members: rows,
            tracks,
            delivery: Default::default(),
            mentoring: Default::default(),
        }
    }
}

/// The cohort's check-ins as the status reads them: the ledger up to `now`
/// in order, the current one, and the window's columns.
#[derive(Debug, Clone, PartialEq)]
struct StatusLedger<'a> {
    /// Check-ins up to `now`, oldest first.
    ledger: Vec<&'a CheckIn>,
    /// The open check-in; with none open, the latest posted one.
    current: Option<CheckIn>,
    /// Columns start after this.
    window_start: DateTime<Utc>,
    /// The window's posted check-ins, oldest first.
    weeks: Vec<WeekColumn>,
}

/// Buffers reused from one member's row to the next (a cohort may have
/// hundreds of members and years of check-ins).
#[derive(Debug, Default)]
struct RowScratch {
    sorted_ids: Vec<CheckInId>,
    outcomes: Vec<Outcome>,
}

fn shown(c: &CheckIn) -> bool {
    matches!(c.status, CheckInStatus::Posted | CheckInStatus::Posting)
}

impl<'a> StatusLedger<'a> {
    fn gather(checkins: &'a [CheckIn], window_weeks: u32, now: DateTime<Utc>) -> Self {
        let mut ledger: Vec<&CheckIn> = checkins.iter().filter(|c| c.occurrence_at <= now).collect();
        ledger.sort_by_key(|c| (c.occurrence_at, c.id));
        let current = ledger
            .iter()
            .rev()
            .find(|c| c.is_open_at(now))
            .or_else(|| ledger.iter().rev().find(|c| shown(c)))
            .map(|c| (*c).clone());
        let window_start = super::window_start(now, window_weeks);
        let mut status = StatusLedger { ledger, current, window_start, weeks: Vec::new() };
        status.weeks = status
            .ledger
            .iter()
            .filter(|c| status.in_window(c))
            .map(|c| WeekColumn {
                checkin_id: c.id,
                occurrence_at: c.occurrence_at,
                track: c.prompt.as_ref().map(|p| p.track),
            })
            .collect();
        status
    }

    /// Posted within the window: a column of the heatmap.
    fn in_window(&self, c: &CheckIn) -> bool {
        shown(c) && c.occurrence_at > self.window_start
    }

    /// One member's row; adds their window outcomes to `tracks`' coverage.
    fn member_row(
        &self,
        activity: &MemberActivity,
        tracks: &mut BTreeMap<Track, TrackCoverage>,
        scratch: &mut RowScratch,
        now: DateTime<Utc>,
    ) -> MemberRow {
        let member = &activity.member;
        let answered: &[CheckInId] = if activity.answered.is_sorted() {
            &activity.answered
        } else {
            scratch.sorted_ids.clone_from(&activity.answered);
            scratch.sorted_ids.sort_unstable();
            &scratch.sorted_ids
        };
        let mut all_time = Tally::default();
        let mut streak = Streak::default();
        let mut recent = Vec::with_capacity(self.weeks.len());
        let mut this_week = WeekState::NotYet;
        let outcomes = &mut scratch.outcomes;
        outcomes.clear();
        for checkin in &self.ledger {
            let outcome =
                Outcome::of(checkin, member, &activity.pauses, answered.binary_search(&checkin.id).is_ok(), now);
            all_time.add(outcome);
            streak.add(outcome);
            outcomes.push(outcome);
            if self.in_window(checkin) {
                recent.push(outcome);
                if let Some(track) = checkin.prompt.as_ref().map(|p| p.track) {
                    let cov = tracks.entry(track).or_default();
                    cov.offered += u32::from(outcome.counts_as_offered());
                    cov.answered += u32::from(outcome == Outcome::Answered);
                }
            }
            if self.current.as_ref().is_some_and(|c| c.id == checkin.id) {
                this_week = match outcome {
                    Outcome::Answered => WeekState::Answered,
                    Outcome::Paused => WeekState::Paused,
                    Outcome::Missed | Outcome::Open | Outcome::NotOffered => WeekState::NotYet,
                };
            }
        }
        let missed_in_a_row =
            outcomes.iter().rev().filter(|o| o.counts_as_offered()).take_while(|o| **o == Outcome::Missed).count()
                as u32;
        MemberRow {
            user_id: member.user_id,
            joined_at: member.joined_at,
            this_week,
            current_streak: streak.current,
            longest_streak: streak.longest,
            all_time,
            last_answer: activity.last_answer,
            missed_in_a_row,
            recent,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::summary::fixtures::{ALICE, checkin, member, week};

    #[test]
    fn the_ledger_reads_up_to_now_with_the_open_check_in_current_and_the_window_posted_ones() {
        let mut checkins: Vec<CheckIn> = (0..5).rev().map(|k| checkin(k + 1, k, Track::Scope, "p")).collect();
        checkins[2].status = CheckInStatus::Recorded; // week 2: recorded, never posted
        let now = week(3) + Duration::days(1);

        let l = StatusLedger::gather(&checkins, 2, now);
        assert_eq!(
            l.ledger.iter().map(|c| c.id.get()).collect::<Vec<_>>(),
            [1, 2, 3, 4],
            "oldest first, none after now"
        );
        assert_eq!(l.current.as_ref().map(|c| c.id.get()), Some(4), "the one open at now");
        assert_eq!(l.weeks.iter().map(|w| w.checkin_id.get()).collect::<Vec<_>>(), [4], "posted in the 2 weeks");

        let between = StatusLedger::gather(&checkins, 2, week(3) - Duration::hours(1));
        assert_eq!(between.current.as_ref().map(|c| c.id.get()), Some(2), "none open: the latest posted");
    }

    #[test]
    fn a_member_row_counts_streaks_quiet_weeks_and_adds_to_the_tracks_coverage() {
        let checkins: Vec<CheckIn> = (0..4).map(|k| checkin(k + 1, k, Track::ALL[k as usize % 2], "p")).collect();
        let now = week(3) + Duration::days(1);
        let l = StatusLedger::gather(&checkins, 12, now);
        // Unsorted on purpose: the row sorts a copy.
        let answered = vec![CheckInId::new(2), CheckInId::new(1)];
        let activity = MemberActivity { member: member(ALICE, week(0)), pauses: vec![], answered, last_answer: None };
        let mut tracks = BTreeMap::new();

        let row = l.member_row(&activity, &mut tracks, &mut RowScratch::default(), now);
        assert_eq!(row.recent, [Outcome::Answered, Outcome::Answered, Outcome::Missed, Outcome::Open]);
        assert_eq!((row.current_streak, row.longest_streak, row.missed_in_a_row), (0, 2, 1));
        assert_eq!(row.this_week, WeekState::NotYet);
        assert_eq!(row.all_time, Tally { offered: 3, answered: 2 });
        let scope = tracks[&Track::ALL[0]];
        assert_eq!((scope.offered, scope.answered), (2, 1), "weeks 0 (answered) and 2 (missed)");
    }
}
