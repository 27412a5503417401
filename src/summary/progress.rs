//! One member's progress in one cohort.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};

use super::mentoring::ProgressMentoring;
use super::{FOCUS_WINDOW_DAYS, Outcome, Tally, window_start};
use crate::domain::{CheckIn, CheckInId, CheckInStatus, ImpactEntry, Member, Pause, Reply, Track, UserId};

/// How many impact entries the progress view lists.
pub const LATEST_IMPACT: usize = 5;

/// A change of at least this much (on the 1–5 scale) between the earlier and
/// the later half of a track's ratings reads as rising or falling.
pub const TREND_THRESHOLD: f64 = 0.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    Rising,
    Steady,
    Falling,
}

/// Per-track figures for one member.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackFigures {
    /// Answers to this track's check-ins, all time.
    pub answers: u32,
    /// Answers within the progress window.
    pub recent_answers: u32,
    pub impact_entries: u32,
    /// Confidence ratings in answer order, all time.
    pub confidence: Vec<u8>,
    /// Newest answer or impact entry in this track.
    pub last_activity: Option<DateTime<Utc>>,
}

impl TrackFigures {
    pub fn average_confidence(&self) -> Option<f64> {
        mean(&self.confidence)
    }

    /// Mean of the later half of the ratings minus the mean of the earlier
    /// half (the middle one of an odd count belongs to neither). Comparing
    /// halves rather than first and last rating keeps one off week from
    /// flipping the trend. `None` with fewer than two ratings.
    pub fn confidence_change(&self) -> Option<f64> {
        let n = self.confidence.len();
        if n < 2 {
            return None;
        }
        let half = n / 2;
        Some(mean(&self.confidence[n - half..])? - mean(&self.confidence[..half])?)
    }

    pub fn confidence_trend(&self) -> Option<Trend> {
        self.confidence_change().map(|d| {
            if d >= TREND_THRESHOLD {
                Trend::Rising
            } else if d <= -TREND_THRESHOLD {
                Trend::Falling
            } else {
                Trend::Steady
            }
        })
    }

    fn activity(&self) -> u32 {
        self.answers + self.impact_entries
    }
}

fn mean(values: &[u8]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().map(|&c| f64::from(c)).sum::<f64>() / values.len() as f64)
}

/// One check-in of the progress window, as the member's chart shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct WeekPoint {
    pub checkin_id: CheckInId,
    pub occurrence_at: DateTime<Utc>,
    pub track: Option<Track>,
    pub outcome: Outcome,
    pub confidence: Option<u8>,
}

/// A member's progress in one cohort.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberProgress {
    pub user_id: UserId,
    /// Length of the recent window, in weeks.
    pub window_weeks: u32,
    /// Check-ins posted after this instant are in the window.
    pub window_start: DateTime<Utc>,
    /// Answered of offered, within the window.
    pub recent: Tally,
    /// Answered of offered, all time.
    pub all_time: Tally,
    /// Consecutive answered check-ins up to now; pauses and not-yet-closed
    /// check-ins neither extend nor break it.
    pub current_streak: u32,
    pub longest_streak: u32,
    /// Every track, answered or not.
    pub tracks: BTreeMap<Track, TrackFigures>,
    /// Newest first, at most [`LATEST_IMPACT`].
    pub latest_impact: Vec<ImpactEntry>,
    pub impact_total: u32,
    /// Tracks with no answer or impact entry in the last 4 weeks, weakest first.
    pub next_focus: Vec<Track>,
    /// The window's posted check-ins, oldest first (for the chart).
    pub weeks: Vec<WeekPoint>,
    /// Mentors' notes not read yet and the Staff path. Empty from
    /// [`MemberProgress::compute`]; the engine adds it.
    pub mentoring: ProgressMentoring,
}

impl MemberProgress {
    /// `checkins`: the cohort's ledger; `replies` and `impact`: the member's
    /// (rows of anyone else are ignored); `window_weeks`: the recent window.
    pub fn compute(
        member: &Member,
        pauses: &[Pause],
        checkins: &[CheckIn],
        replies: &[Reply],
        impact: &[ImpactEntry],
        window_weeks: u32,
        now: DateTime<Utc>,
    ) -> Self {
        let window_start = window_start(now, window_weeks);
        let mine: HashMap<CheckInId, &Reply> =
            replies.iter().filter(|r| r.user_id == member.user_id).map(|r| (r.checkin_id, r)).collect();
        let mut ledger: Vec<&CheckIn> = checkins.iter().filter(|c| c.occurrence_at <= now).collect();
        ledger.sort_by_key(|c| (c.occurrence_at, c.id));

        let mut recent = Tally::default();
        let mut all_time = Tally::default();
        let mut streak = Streak::default();
        let mut tracks: BTreeMap<Track, TrackFigures> = Track::ALL.iter().map(|&t| (t, Default::default())).collect();
        let mut weeks = Vec::new();
        for checkin in ledger {
            let reply = mine.get(&checkin.id).copied();
            let outcome = Outcome::of(checkin, member, pauses, reply.is_some(), now);
            let in_window = checkin.occurrence_at > window_start;
            all_time.add(outcome);
            streak.add(outcome);
            if in_window {
                recent.add(outcome);
            }
            let track = checkin.prompt.as_ref().map(|p| p.track);
            if let (Some(reply), Some(track)) = (reply, track) {
                let f = tracks.entry(track).or_default();
                f.answers += 1;
                f.recent_answers += u32::from(in_window);
                f.confidence.extend(reply.confidence);
                f.last_activity = f.last_activity.max(Some(reply.created_at));
            }
            let shown = matches!(checkin.status, CheckInStatus::Posted | CheckInStatus::Posting);
            if in_window && shown {
                weeks.push(WeekPoint {
                    checkin_id: checkin.id,
                    occurrence_at: checkin.occurrence_at,
                    track,
                    outcome,
                    confidence: reply.and_then(|r| r.confidence),
                });
            }
        }

        let mut ledger: Vec<&ImpactEntry> = impact.iter().filter(|e| e.user_id == member.user_id).collect();
        for entry in &ledger {
            for &t in &entry.tracks {
                let f = tracks.entry(t).or_default();
                f.impact_entries += 1;
                f.last_activity = f.last_activity.max(Some(entry.recorded_at));
            }
        }
        ledger.sort_by(|a, b| b.recorded_at.cmp(&a.recorded_at).then(b.id.cmp(&a.id)));
        let latest_impact = ledger.iter().take(LATEST_IMPACT).map(|e| (*e).clone()).collect();

        MemberProgress {
            user_id: member.user_id,
            window_weeks,
            window_start,
            recent,
            all_time,
            current_streak: streak.current,
            longest_streak: streak.longest,
            next_focus: next_focus(&tracks, now),
            tracks,
            latest_impact,
            impact_total: ledger.len() as u32,
            weeks,
            mentoring: ProgressMentoring::default(),
        }
    }
}

/// Tracks untouched for [`FOCUS_WINDOW_DAYS`], weakest first: lowest average
/// confidence (none given counts as weakest), then least activity, then the
/// longest untouched; ties in track order, so the list is deterministic.
fn next_focus(tracks: &BTreeMap<Track, TrackFigures>, now: DateTime<Utc>) -> Vec<Track> {
    let window_start = now - Duration::days(FOCUS_WINDOW_DAYS);
    let mut focus: Vec<(&Track, &TrackFigures)> =
        tracks.iter().filter(|(_, f)| f.last_activity.is_none_or(|t| t < window_start)).collect();
    focus.sort_by(|(ta, a), (tb, b)| {
        let conf = |f: &TrackFigures| f.average_confidence().unwrap_or(0.0);
        conf(a)
            .total_cmp(&conf(b))
            .then(a.activity().cmp(&b.activity()))
            .then(a.last_activity.cmp(&b.last_activity))
            .then(ta.cmp(tb))
    });
    focus.into_iter().map(|(&t, _)| t).collect()
}

/// Runs of answered check-ins.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Streak {
    pub current: u32,
    pub longest: u32,
}

impl Streak {
    pub(crate) fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Answered => {
                self.current += 1;
                self.longest = self.longest.max(self.current);
            }
            Outcome::Missed => self.current = 0,
            Outcome::Paused | Outcome::Open | Outcome::NotOffered => {}
        }
    }
}
