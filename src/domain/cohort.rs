use std::time::Duration;

use chrono::{DateTime, Utc};

use super::schedule::{Schedule, ScheduleError, format_duration, parse_duration};
use super::{ChannelId, CohortId, GuildId, RoleId, Track};

/// Where a cohort's definition lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CohortSource {
    /// Declared in the TOML file; the file wins over in-Discord edits.
    File,
    /// Created with `/cohort setup`; lives in the database only.
    Discord,
}

impl CohortSource {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            CohortSource::File => "file",
            CohortSource::Discord => "discord",
        }
    }

    /// The inverse of [`CohortSource::as_str`]; `None` for any other text.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "file" => Some(CohortSource::File),
            "discord" => Some(CohortSource::Discord),
            _ => None,
        }
    }
}

/// A cohort as declared (config file or `/cohort setup`), validated.
#[derive(Debug, Clone, PartialEq)]
pub struct CohortSpec {
    pub name: String,
    pub guild_id: GuildId,
    pub channel_id: ChannelId,
    pub mentor_role_id: RoleId,
    /// The cron expression and the IANA zone it runs in, parsed.
    pub schedule: Schedule,
    pub reminder_after: Option<Duration>,
    pub digest_channel_id: Option<ChannelId>,
    pub tracks: Vec<Track>,
}

/// A field of a cohort declaration that is wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    pub field: &'static str,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        FieldError { field, reason: reason.into() }
    }
}

/// Raw, unvalidated values of a cohort declaration.
#[derive(Debug, Clone, Default)]
pub struct CohortDraft {
    pub name: String,
    pub guild_id: u64,
    pub channel_id: u64,
    pub mentor_role_id: u64,
    pub schedule: String,
    pub timezone: String,
    pub reminder_after: Option<String>,
    pub digest_channel_id: Option<u64>,
    pub tracks: Option<Vec<String>>,
}

pub const MAX_COHORT_NAME: usize = 64;
pub const MAX_REMINDER_AFTER: Duration = Duration::from_secs(365 * 86_400);
/// Occurrences sampled for the shortest gap between check-ins: over a year
/// of a daily schedule, so both DST days are in it.
const GAP_SAMPLE: usize = 400;

impl CohortDraft {
    pub fn validate(self) -> Result<CohortSpec, FieldError> {
        let name = self.name.trim().to_string();
        let name_len = name.chars().count();
        if name_len == 0 || name_len > MAX_COHORT_NAME {
            return Err(FieldError::new(
                "name",
                format!("must be 1..={MAX_COHORT_NAME} characters, e.g. \"staff-path-2027\""),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(FieldError::new("name", "must not contain control characters (tabs, newlines, NUL)"));
        }
        for (field, id) in [
            ("guild_id", Some(self.guild_id)),
            ("channel_id", Some(self.channel_id)),
            ("mentor_role_id", Some(self.mentor_role_id)),
            ("digest_channel_id", self.digest_channel_id),
        ] {
            if let Some(id) = id {
                check_snowflake(field, id)?;
            }
        }
        if self.digest_channel_id == Some(self.channel_id) {
            return Err(FieldError::new(
                "digest_channel_id",
                "is the cohort's own channel; the digest names who has gone quiet, so give a mentors-only channel",
            ));
        }
        let schedule = Schedule::parse(&self.schedule, &self.timezone).map_err(|e| match e {
            ScheduleError::TimeZone(_) => FieldError::new("timezone", e.to_string()),
            _ => FieldError::new("schedule", e.to_string()),
        })?;
        let reminder_after = parse_reminder_after(self.reminder_after.as_deref(), &schedule)?;
        let tracks = parse_tracks(self.tracks)?;
        Ok(CohortSpec {
            name,
            guild_id: GuildId::new(self.guild_id),
            channel_id: ChannelId::new(self.channel_id),
            mentor_role_id: RoleId::new(self.mentor_role_id),
            schedule,
            reminder_after,
            digest_channel_id: self.digest_channel_id.map(ChannelId::new),
            tracks,
        })
    }
}

/// `reminder_after`, checked against the schedule: a nudge must come
/// before the next check-in opens (which closes this one).
fn parse_reminder_after(raw: Option<&str>, schedule: &Schedule) -> Result<Option<Duration>, FieldError> {
    let reminder_after =
        raw.map(parse_duration).transpose().map_err(|e| FieldError::new("reminder_after", e.to_string()))?;
    if reminder_after.is_some_and(|d| d > MAX_REMINDER_AFTER) {
        return Err(FieldError::new("reminder_after", "must be at most 365d (a nudge later than that never comes)"));
    }
    // A check-in closes when the next one opens: a nudge due at or after
    // that would never be sent.
    if let Some(after) = reminder_after
        && let Some(gap) = schedule.shortest_gap(chrono::Utc::now(), GAP_SAMPLE)
        && chrono::Duration::from_std(after).is_ok_and(|after| after >= gap)
    {
        let gap = format_duration(gap.to_std().unwrap_or_default());
        return Err(FieldError::new(
            "reminder_after",
            format!(
                "is {} but this schedule's check-ins can be as little as {gap} apart, and a check-in closes \
                 when the next opens: the nudge would never be sent; give less than {gap}",
                format_duration(after)
            ),
        ));
    }
    Ok(reminder_after)
}

/// The tracks a cohort asks about: all of them unless listed.
fn parse_tracks(tracks: Option<Vec<String>>) -> Result<Vec<Track>, FieldError> {
    let Some(list) = tracks else { return Ok(Track::ALL.to_vec()) };
    if list.is_empty() {
        return Err(FieldError::new("tracks", format!("is empty; list one or more of: {}", Track::names())));
    }
    list.iter()
        .map(|t| t.parse::<Track>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| FieldError::new("tracks", e.to_string()))
}

fn check_snowflake(field: &'static str, id: u64) -> Result<(), FieldError> {
    if id == 0 || id > i64::MAX as u64 {
        return Err(FieldError::new(
            field,
            format!("`{id}` is not a Discord id; expected a non-zero snowflake such as 222222222222222222"),
        ));
    }
    Ok(())
}

/// A stored cohort.
#[derive(Debug, Clone, PartialEq)]
pub struct Cohort {
    pub id: CohortId,
    pub spec: CohortSpec,
    pub source: CohortSource,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl Cohort {
    /// When this cohort's check-ins happen.
    pub fn schedule(&self) -> &Schedule {
        &self.spec.schedule
    }

    /// The IANA zone the cohort's schedule, dates and times are in.
    pub fn timezone(&self) -> chrono_tz::Tz {
        self.spec.schedule.timezone()
    }
}
