//! Cron schedule + IANA time zone → check-in occurrences. Pure: no clock, no I/O.
//!
//! The cron expression is read on the cohort's wall clock: it picks local
//! dates and times, and each is then placed on the time line. The DST rules,
//! as cron daemons have them:
//! - spring forward: a local time inside the gap (e.g. 02:30 on the night clocks
//!   jump 02:00 → 03:00) does not exist; that occurrence happens at the first
//!   valid local time after the gap (03:00), so no check-in vanishes.
//! - fall back: a local time inside the overlap happens twice; only the first
//!   instant is an occurrence, so a check-in is never doubled.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, LocalResult, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "`{expr}` is not a valid cron expression ({reason}); expected 6 or 7 fields, seconds first, e.g. \"0 0 9 * * Mon\""
    )]
    Cron { expr: String, reason: String },
    #[error("`{0}` is not an IANA time zone name; expected e.g. \"Europe/Berlin\" or \"America/New_York\"")]
    TimeZone(String),
    #[error("`{0}` never fires; give a schedule with future occurrences")]
    NeverFires(String),
    #[error("`{0}` is not a duration; expected a whole number with a unit: \"48h\", \"30m\", \"90s\" or \"2d\"")]
    Duration(String),
    #[error("`{0}` is not a time of day; expected HH:MM on a 24-hour clock, e.g. \"09:00\"")]
    TimeOfDay(String),
}

/// When a cohort's check-ins happen: a cron expression read in an IANA zone.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: cron::Schedule,
    tz: Tz,
}

/// Two schedules are the same when they were written the same way.
impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.tz == other.tz && self.cron.source() == other.cron.source()
    }
}

/// Upper bound on occurrences walked in one call, so a per-second schedule after
/// a long outage cannot stall the scheduler.
const WALK_LIMIT: usize = 10_000;

impl Schedule {
    /// Parse and validate a new schedule: it must fire at least once more.
    pub fn parse(expr: &str, timezone: &str) -> Result<Self, ScheduleError> {
        let schedule = Self::parse_stored(expr, timezone)?;
        if schedule.next_after(Utc::now()).is_none() {
            return Err(ScheduleError::NeverFires(expr.to_string()));
        }
        Ok(schedule)
    }

    /// Parse a schedule that was validated when it was stored. A bounded
    /// schedule (with a year field) may have fired for the last time since;
    /// that is not an error here, it simply has no next occurrence.
    pub fn parse_stored(expr: &str, timezone: &str) -> Result<Self, ScheduleError> {
        let tz = parse_timezone(timezone)?;
        let cron = cron::Schedule::from_str(expr)
            .map_err(|e| ScheduleError::Cron { expr: expr.to_string(), reason: cron_reason(expr, &e) })?;
        Ok(Schedule { cron, tz })
    }

    /// The cron expression for "every `day` at `time`".
    pub fn weekly_expr(day: Weekday, time: NaiveTime) -> String {
        use chrono::Timelike;
        let day = match day {
            Weekday::Mon => "Mon",
            Weekday::Tue => "Tue",
            Weekday::Wed => "Wed",
            Weekday::Thu => "Thu",
            Weekday::Fri => "Fri",
            Weekday::Sat => "Sat",
            Weekday::Sun => "Sun",
        };
        format!("0 {} {} * * {day}", time.minute(), time.hour())
    }

    /// The zone the cron expression is read in.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The cron expression as written (what is stored and shown).
    pub fn expr(&self) -> &str {
        self.cron.source()
    }

    /// The first occurrence strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.forward_from(t).next()
    }

    /// The next `n` occurrences strictly after `t`, in the schedule's time zone.
    pub fn upcoming(&self, t: DateTime<Utc>, n: usize) -> Vec<DateTime<Tz>> {
        self.forward_from(t).take(n).map(|o| o.with_timezone(&self.tz)).collect()
    }

    /// Occurrences in `(after, until]`, oldest first; at most the newest
    /// `WALK_LIMIT` are returned.
    pub fn between(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let mut found: Vec<DateTime<Utc>> =
            self.backward_from(until).take_while(|o| *o > after).take(WALK_LIMIT).collect();
        found.reverse();
        found
    }

    /// The latest occurrence at or before `t`.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.backward_from(t).next()
    }

    /// Wall-clock times of the next occurrences after `t` (over at most
    /// `within`) that fall in a spring-forward gap, each with the instant it
    /// is moved to. For `check-config` to say so for the dates affected.
    pub fn moved_by_dst(&self, t: DateTime<Utc>, within: chrono::Duration) -> Vec<(NaiveDateTime, DateTime<Tz>)> {
        let end = t + within;
        self.local_after(t)
            .filter_map(|local| self.place(local).map(|at| (local, at)))
            .take_while(|(_, at)| *at <= end)
            .filter(|(local, at)| at.with_timezone(&self.tz).naive_local() != *local)
            .map(|(local, at)| (local, at.with_timezone(&self.tz)))
            .collect()
    }

    /// The shortest time between two consecutive occurrences over the next
    /// `count` of them after `t` (DST days included); `None` with fewer than two.
    pub fn shortest_gap(&self, t: DateTime<Utc>, count: usize) -> Option<chrono::Duration> {
        let next: Vec<DateTime<Utc>> = self.forward_from(t).take(count).collect();
        next.windows(2).map(|w| w[1] - w[0]).min()
    }

    /// Local times the cron fires at, after the wall-clock time of `t`. The
    /// cron is evaluated in UTC as a stand-in for the wall clock, which has
    /// no gaps or repeats: [`Schedule::place`] puts each on the time line.
    /// Earlier local times never fall after `t`: in an overlap every local
    /// time is placed at its first instant.
    fn local_after(&self, t: DateTime<Utc>) -> impl Iterator<Item = NaiveDateTime> + '_ {
        let from = t.with_timezone(&self.tz).naive_local();
        self.cron.after(&Utc.from_utc_datetime(&from)).take(WALK_LIMIT).map(|o| o.naive_utc())
    }

    /// Occurrences strictly after `t`, oldest first.
    fn forward_from(&self, t: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let mut last = None;
        self.local_after(t).filter_map(|local| self.place(local)).filter(move |at| {
            // A gap can move two local times to one instant.
            let fresh = *at > t && last.is_none_or(|l| *at > l);
            if fresh {
                last = Some(*at);
            }
            fresh
        })
    }

    /// Occurrences at or before `t`, newest first.
    fn backward_from(&self, t: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        // In the second pass of an overlap, later local times were placed at
        // their first pass, before `t`: start past the overlap's length.
        let offset = |at: DateTime<Utc>| self.tz.offset_from_utc_datetime(&at.naive_utc()).fix().local_minus_utc();
        let overlap = (offset(t - chrono::Duration::hours(25)) - offset(t)).max(0);
        let from = t.with_timezone(&self.tz).naive_local() + chrono::Duration::seconds(i64::from(overlap) + 1);
        let mut last = None;
        self.cron
            .after(&Utc.from_utc_datetime(&from))
            .rev()
            .take(WALK_LIMIT)
            .filter_map(|o| self.place(o.naive_utc()))
            .filter(move |at| {
                let fresh = *at <= t && last.is_none_or(|l| *at < l);
                if fresh {
                    last = Some(*at);
                }
                fresh
            })
    }

    /// The instant of a local time: itself; the first of two in an overlap;
    /// inside a gap, the first valid local time after it (the transition).
    fn place(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self.tz.from_local_datetime(&local) {
            LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => Some(at.with_timezone(&Utc)),
            LocalResult::None => {
                // The transition lies within a day of the missing time read as
                // UTC: find the first second whose wall clock is past it.
                let wall =
                    |secs: i64| DateTime::from_timestamp(secs, 0).map(|at| at.with_timezone(&self.tz).naive_local());
                let guess = local.and_utc().timestamp();
                let (mut lo, mut hi) = (guess - 86_400, guess + 86_400);
                if wall(lo)? >= local || wall(hi)? < local {
                    return None;
                }
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if wall(mid)? >= local {
                        hi = mid;
                    } else {
                        lo = mid;
                    }
                }
                DateTime::from_timestamp(hi, 0)
            }
        }
    }
}

/// The cron crate's message on one line: it repeats the expression with a
/// caret under the bad field, which means nothing in a log line or a Discord
/// message, so keep only the explanation.
fn cron_reason(expr: &str, e: &cron::error::Error) -> String {
    let text = e.to_string();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != expr.trim() && !l.chars().all(|c| c == '^' || c.is_whitespace()))
        .collect();
    if lines.is_empty() { text.split_whitespace().collect::<Vec<_>>().join(" ") } else { lines.join(" ") }
}

pub fn parse_timezone(name: &str) -> Result<Tz, ScheduleError> {
    name.parse::<Tz>().map_err(|_| ScheduleError::TimeZone(name.to_string()))
}

/// Parse `48h`, `30m`, `90s`, `2d`.
pub fn parse_duration(s: &str) -> Result<Duration, ScheduleError> {
    let err = || ScheduleError::Duration(s.to_string());
    let s_trim = s.trim();
    let split = s_trim.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
    let (num, unit) = s_trim.split_at(split);
    let n: u64 = num.parse().map_err(|_| err())?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60).ok_or_else(err)?,
        "h" => n.checked_mul(3600).ok_or_else(err)?,
        "d" => n.checked_mul(86_400).ok_or_else(err)?,
        _ => return Err(err()),
    };
    if secs == 0 {
        return Err(err());
    }
    Ok(Duration::from_secs(secs))
}

/// Render a duration the way `parse_duration` reads it.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s.is_multiple_of(86_400) {
        format!("{}d", s / 86_400)
    } else if s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// Parse `HH:MM` (24 h).
pub fn parse_time_of_day(s: &str) -> Result<NaiveTime, ScheduleError> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| ScheduleError::TimeOfDay(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn weekly_nine_am_berlin_is_local_time() {
        let s = Schedule::parse("0 0 9 * * Mon", "Europe/Berlin").unwrap();
        // Monday 2027-01-04 09:00 CET = 08:00 UTC.
        let next = s.next_after(utc("2027-01-01T00:00:00Z")).unwrap();
        assert_eq!(next, utc("2027-01-04T08:00:00Z"));
        assert_eq!(s.latest_at_or_before(next), Some(next));
        assert_eq!(s.latest_at_or_before(next - chrono::Duration::seconds(1)), Some(utc("2026-12-28T08:00:00Z")));
    }

    #[test]
    fn between_is_half_open_and_ordered() {
        let s = Schedule::parse("0 0 9 * * Mon", "UTC").unwrap();
        let got = s.between(utc("2027-01-04T09:00:00Z"), utc("2027-01-25T09:00:00Z"));
        assert_eq!(got, vec![utc("2027-01-11T09:00:00Z"), utc("2027-01-18T09:00:00Z"), utc("2027-01-25T09:00:00Z")]);
    }

    #[test]
    fn fall_back_overlap_fires_once() {
        // Berlin leaves DST on 2027-10-31 at 03:00 → 02:00; 02:30 happens twice.
        let s = Schedule::parse("0 30 2 * * *", "Europe/Berlin").unwrap();
        let got = s.between(utc("2027-10-30T12:00:00Z"), utc("2027-11-01T12:00:00Z"));
        assert_eq!(got, vec![utc("2027-10-31T00:30:00Z"), utc("2027-11-01T01:30:00Z")]);
    }

    #[test]
    fn a_local_time_in_the_spring_gap_happens_when_the_clocks_reach_it() {
        // Berlin jumps 02:00 → 03:00 CEST on 2027-03-28; 02:30 that night does not exist.
        let s = Schedule::parse("0 30 2 * * *", "Europe/Berlin").unwrap();
        let got = s.between(utc("2027-03-26T12:00:00Z"), utc("2027-03-29T12:00:00Z"));
        assert_eq!(got, vec![utc("2027-03-27T01:30:00Z"), utc("2027-03-28T01:00:00Z"), utc("2027-03-29T00:30:00Z")]);
        assert_eq!(s.next_after(utc("2027-03-27T12:00:00Z")), Some(utc("2027-03-28T01:00:00Z")));
        assert_eq!(s.latest_at_or_before(utc("2027-03-28T01:30:00Z")), Some(utc("2027-03-28T01:00:00Z")));
        let moved = s.moved_by_dst(utc("2027-03-01T00:00:00Z"), chrono::Duration::days(60));
        assert_eq!(moved.len(), 1, "{moved:?}");
        assert_eq!(moved[0].0.to_string(), "2027-03-28 02:30:00");
        assert_eq!(moved[0].1.format("%H:%M %Z").to_string(), "03:00 CEST");
    }

    #[test]
    fn two_gap_times_that_land_on_one_instant_are_one_occurrence() {
        // Every 30 minutes: 02:00 and 02:30 both move to 03:00, which also fires itself.
        let s = Schedule::parse("0 0/30 * * * *", "Europe/Berlin").unwrap();
        let got = s.between(utc("2027-03-28T00:00:00Z"), utc("2027-03-28T01:30:00Z"));
        assert_eq!(got, vec![utc("2027-03-28T00:30:00Z"), utc("2027-03-28T01:00:00Z"), utc("2027-03-28T01:30:00Z")]);
    }

    #[test]
    fn a_per_second_schedule_fires_the_next_second() {
        let s = Schedule::parse("* * * * * *", "Europe/Berlin").unwrap();
        let t = utc("2027-05-01T10:00:00Z");
        assert_eq!(s.next_after(t), Some(utc("2027-05-01T10:00:01Z")));
        assert_eq!(s.latest_at_or_before(t), Some(t));
        assert_eq!(s.between(t, t + chrono::Duration::seconds(3)).len(), 3);
    }

    #[test]
    fn in_the_second_pass_of_an_overlap_the_latest_is_the_first_pass() {
        // Berlin 2027-10-31: 02:30 CEST (00:30 UTC) and again 02:30 CET (01:30 UTC).
        let s = Schedule::parse("0 30 2 * * *", "Europe/Berlin").unwrap();
        let second_pass = utc("2027-10-31T01:45:00Z");
        assert_eq!(s.latest_at_or_before(second_pass), Some(utc("2027-10-31T00:30:00Z")));
        assert_eq!(s.next_after(second_pass), Some(utc("2027-11-01T01:30:00Z")));
    }

    #[test]
    fn the_shortest_gap_counts_dst_days() {
        let daily = Schedule::parse("0 0 9 * * *", "Europe/Berlin").unwrap();
        let gap = daily.shortest_gap(utc("2027-01-01T00:00:00Z"), 400).unwrap();
        assert_eq!(gap, chrono::Duration::hours(23), "the spring-forward day is 23 hours long");
        let weekly = Schedule::parse("0 0 9 * * Mon", "UTC").unwrap();
        assert_eq!(weekly.shortest_gap(utc("2027-01-01T00:00:00Z"), 400), Some(chrono::Duration::days(7)));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("48h").unwrap(), Duration::from_secs(48 * 3600));
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
        for bad in ["", "h", "48", "48 h", "-1h", "1.5h", "0h", "3w"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(Duration::from_secs(48 * 3600)), "2d");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
    }
}
