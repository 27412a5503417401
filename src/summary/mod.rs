//! Summaries: pure functions over rows the store returns. No I/O.

pub mod packet;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::domain::{CheckIn, CheckInStatus, ImpactEntry, Member, Pause, Reply, Track, UserId};

/// Was the member expected to answer this check-in?
fn offered_to(checkin: &CheckIn, member: &Member, pauses: &[Pause]) -> bool {
    checkin.status == CheckInStatus::Posted
        && checkin.closes_at > member.joined_at
        && member.left_at.is_none_or(|l| checkin.occurrence_at < l)
        && !pauses.iter().any(|p| p.starts_at <= checkin.occurrence_at && checkin.occurrence_at < p.ends_at)
}

/// Per-track figures for one member.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackFigures {
    pub answers: u32,
    pub impact_entries: u32,
    /// Confidence values in answer order.
    pub confidence: Vec<u8>,
    pub last_activity: Option<DateTime<Utc>>,
}

impl TrackFigures {
    pub fn average_confidence(&self) -> Option<f64> {
        (!self.confidence.is_empty())
            .then(|| self.confidence.iter().map(|&c| f64::from(c)).sum::<f64>() / self.confidence.len() as f64)
    }

    /// Last confidence minus first (positive = growing).
    pub fn confidence_trend(&self) -> Option<i16> {
        match (self.confidence.first(), self.confidence.last()) {
            (Some(&a), Some(&b)) if self.confidence.len() > 1 => Some(i16::from(b) - i16::from(a)),
            _ => None,
        }
    }
}

/// A member's progress in one cohort.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberProgress {
    pub user_id: UserId,
    /// Check-ins closed or open while the member was in and not paused.
    pub offered: u32,
    pub answered: u32,
    pub current_streak: u32,
    pub longest_streak: u32,
    pub tracks: BTreeMap<Track, TrackFigures>,
    /// Newest first.
    pub latest_impact: Vec<ImpactEntry>,
    /// Tracks with no answer or impact entry in the last 4 weeks, weakest first.
    pub next_focus: Vec<Track>,
}

pub const FOCUS_WINDOW_DAYS: i64 = 28;

impl MemberProgress {
    /// `checkins`: the cohort's ledger, oldest first; `replies`: this member's.
    pub fn compute(
        member: &Member,
        pauses: &[Pause],
        checkins: &[CheckIn],
        replies: &[Reply],
        impact: &[ImpactEntry],
        now: DateTime<Utc>,
    ) -> Self {
        let mut offered = 0;
        let mut answered = 0;
        let mut run = 0;
        let mut longest = 0;
        let mut tracks: BTreeMap<Track, TrackFigures> = Track::ALL.iter().map(|&t| (t, Default::default())).collect();
        for checkin in checkins.iter().filter(|c| c.occurrence_at <= now) {
            let reply = replies.iter().find(|r| r.checkin_id == checkin.id);
            if let (Some(reply), Some(prompt)) = (reply, &checkin.prompt) {
                let f = tracks.entry(prompt.track).or_default();
                f.answers += 1;
                f.confidence.extend(reply.confidence);
                f.last_activity = f.last_activity.max(Some(reply.updated_at));
            }
            if !offered_to(checkin, member, pauses) {
                continue;
            }
            let still_open = checkin.closes_at > now;
            if reply.is_some() {
                offered += 1;
                answered += 1;
                run += 1;
                longest = longest.max(run);
            } else if !still_open {
                // An open check-in not yet answered neither counts nor breaks the streak.
                offered += 1;
                run = 0;
            }
        }
        for entry in impact {
            for &t in &entry.tracks {
                let f = tracks.entry(t).or_default();
                f.impact_entries += 1;
                f.last_activity = f.last_activity.max(Some(entry.recorded_at));
            }
        }
        let window_start = now - chrono::Duration::days(FOCUS_WINDOW_DAYS);
        let mut next_focus: Vec<Track> =
            tracks.iter().filter(|(_, f)| f.last_activity.is_none_or(|t| t < window_start)).map(|(&t, _)| t).collect();
        next_focus.sort_by_key(|t| {
            let f = &tracks[t];
            (f.answers + f.impact_entries, f.last_activity)
        });
        let mut latest_impact = impact.to_vec();
        latest_impact.sort_by(|a, b| b.recorded_at.cmp(&a.recorded_at).then(b.id.cmp(&a.id)));
        latest_impact.truncate(5);
        MemberProgress {
            user_id: member.user_id,
            offered,
            answered,
            current_streak: run,
            longest_streak: longest,
            tracks,
            latest_impact,
            next_focus,
        }
    }
}

/// Where each member stands on a cohort's current check-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeekState {
    Answered,
    NotYet,
    Paused,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MemberRow {
    pub user_id: UserId,
    pub this_week: WeekState,
    pub current_streak: u32,
    pub last_answer: Option<DateTime<Utc>>,
    /// Consecutive offered check-ins missed, newest backwards.
    pub missed_in_a_row: u32,
}

/// The mentor's view of a cohort.
#[derive(Debug, Clone, PartialEq)]
pub struct CohortStatus {
    pub current: Option<CheckIn>,
    pub members: Vec<MemberRow>,
    /// Answers per track across the cohort.
    pub track_answers: BTreeMap<Track, u32>,
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
    /// Members who missed 2 or more offered check-ins in a row.
    pub fn quiet(&self) -> impl Iterator<Item = &MemberRow> {
        self.members.iter().filter(|m| m.missed_in_a_row >= 2)
    }

    /// `members`: active members with their pauses; `replies`: all of the cohort's.
    pub fn compute(
        members: &[(Member, Vec<Pause>)],
        checkins: &[CheckIn],
        replies: &[Reply],
        now: DateTime<Utc>,
    ) -> Self {
        let current = checkins.iter().rev().find(|c| c.is_open_at(now)).cloned();
        let mut track_answers: BTreeMap<Track, u32> = Track::ALL.iter().map(|&t| (t, 0)).collect();
        let track_of: BTreeMap<i64, Track> =
            checkins.iter().filter_map(|c| c.prompt.as_ref().map(|p| (c.id, p.track))).collect();
        for r in replies {
            if let Some(t) = track_of.get(&r.checkin_id) {
                *track_answers.entry(*t).or_default() += 1;
            }
        }
        let rows = members
            .iter()
            .filter(|(m, _)| m.left_at.is_none())
            .map(|(member, pauses)| {
                let mine: Vec<Reply> = replies.iter().filter(|r| r.user_id == member.user_id).cloned().collect();
                let progress = MemberProgress::compute(member, pauses, checkins, &mine, &[], now);
                let this_week = match &current {
                    Some(c) if mine.iter().any(|r| r.checkin_id == c.id) => WeekState::Answered,
                    _ if pauses.iter().any(|p| p.starts_at <= now && now < p.ends_at) => WeekState::Paused,
                    _ => WeekState::NotYet,
                };
                let missed_in_a_row = checkins
                    .iter()
                    .rev()
                    .filter(|c| c.closes_at <= now && offered_to(c, member, pauses))
                    .take_while(|c| !mine.iter().any(|r| r.checkin_id == c.id))
                    .count() as u32;
                MemberRow {
                    user_id: member.user_id,
                    this_week,
                    current_streak: progress.current_streak,
                    last_answer: mine.iter().map(|r| r.updated_at).max(),
                    missed_in_a_row,
                }
            })
            .collect();
        CohortStatus { current, members: rows, track_answers }
    }
}
