//! Cron schedule + IANA time zone → check-in occurrences. Pure: no clock, no I/O.
//!
//! DST rules, as the `cron` crate behaves and as Trellis documents them:
//! - spring forward: a local time inside the gap (e.g. 02:30 on the night clocks
//!   jump 02:00 → 03:00) does not exist, so that week has no occurrence; the
//!   previous check-in simply stays open until the next one.
//! - fall back: a local time inside the overlap happens twice; cron fires on
//!   both instants. Only the first is an occurrence here, so a check-in is
//!   never doubled.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, LocalResult, NaiveTime, TimeZone, Utc, Weekday};
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
        self.cron
            .after(&t.with_timezone(&self.tz))
            .take(WALK_LIMIT)
            .find(|o| self.is_canonical(o))
            .map(|o| o.with_timezone(&Utc))
    }

    /// The next `n` occurrences strictly after `t`, in the schedule's time zone.
    pub fn upcoming(&self, t: DateTime<Utc>, n: usize) -> Vec<DateTime<Tz>> {
        self.cron.after(&t.with_timezone(&self.tz)).take(WALK_LIMIT).filter(|o| self.is_canonical(o)).take(n).collect()
    }

    /// Occurrences in `(after, until]`, oldest first; at most the newest
    /// `WALK_LIMIT` are returned.
    pub fn between(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        // Walk backwards from just past `until` so the newest are kept.
        let start = (until + chrono::Duration::seconds(1)).with_timezone(&self.tz);
        let mut found: Vec<DateTime<Utc>> = self
            .cron
            .after(&start)
            .rev()
            .take(WALK_LIMIT)
            .map(|o| o.with_timezone(&Utc))
            .take_while(|o| *o > after)
            .filter(|o| *o <= until && self.is_canonical(&o.with_timezone(&self.tz)))
            .collect();
        found.reverse();
        found
    }

    /// The latest occurrence at or before `t`.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = (t + chrono::Duration::seconds(1)).with_timezone(&self.tz);
        self.cron
            .after(&start)
            .rev()
            .take(WALK_LIMIT)
            .find(|o| o.with_timezone(&Utc) <= t && self.is_canonical(o))
            .map(|o| o.with_timezone(&Utc))
    }

    /// False for the second firing of a wall-clock time repeated by a fall-back
    /// transition.
    fn is_canonical(&self, o: &DateTime<Tz>) -> bool {
        match self.tz.from_local_datetime(&o.naive_local()) {
            LocalResult::Ambiguous(first, _) => first == *o,
            _ => true,
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
