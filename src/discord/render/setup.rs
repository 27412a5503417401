//! `/cohort setup`: what a cohort set up says, in the options' own names.

use crate::domain::Cohort;
use crate::domain::cohort::FieldError;
use crate::domain::schedule::format_duration;

/// The reply to a cohort set up (or updated): its schedule, reminders and
/// next three check-ins, each in the reader's own time zone too.
pub fn cohort_set_up(cohort: &Cohort, now: chrono::DateTime<chrono::Utc>) -> String {
    let schedule = cohort.schedule();
    let next = schedule
        .upcoming(now, 3)
        .iter()
        .map(|t| format!("• {} (<t:{}:F> your time)", t.format("%a %Y-%m-%d %H:%M %Z"), t.timestamp()))
        .collect::<Vec<_>>()
        .join("\n");
    let reminder = cohort
        .spec
        .reminder_after
        .map(|d| format!("Reminders after {}.", format_duration(d)))
        .unwrap_or_else(|| "No reminders.".into());
    format!(
        "**{}** is set up in this channel (schedule `{}`, {}). {reminder}\nNext check-ins:\n{next}",
        cohort.spec.name,
        schedule.expr(),
        schedule.timezone()
    )
}

/// A refused setup option, named as the member typed it in `/cohort setup`.
pub fn setup_field_refused(f: &FieldError) -> String {
    format!("`{}`: {}", option_name(f.field), f.reason)
}

/// The `/cohort setup` option that sets a cohort field.
fn option_name(field: &str) -> &str {
    match field {
        "schedule" => "cron",
        "mentor_role_id" => "mentor_role",
        "digest_channel_id" => "digest_channel",
        other => other,
    }
}
