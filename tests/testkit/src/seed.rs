//! Instants, cohort declarations and rows put straight into a store, for
//! tests that start from a given state rather than drive the engine there.

use chrono::{DateTime, Utc};
use trellis::domain::{
    ChannelId, CheckInId, CohortDraft, CohortId, CohortSource, CohortSpec, MessageId, PostedPrompt, Track,
};
use trellis::store::{NewCheckIn, Store};

use crate::db::TempDb;
use crate::ids::{CHANNEL, GUILD, MENTOR_ROLE};

/// Once a year: the scheduler never records anything of its own while a test
/// runs, so the seeded check-in stays the open one.
pub const YEARLY: &str = "0 0 0 1 1 *";

/// Parses an RFC 3339 instant.
pub fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("bad instant {s}: {e}")).with_timezone(&Utc)
}

/// A validated cohort declaration in GUILD, mentored by MENTOR_ROLE.
pub fn spec(name: &str, channel_id: ChannelId, schedule: &str, timezone: &str) -> CohortSpec {
    draft(name, channel_id, schedule, timezone).validate().expect("valid cohort")
}

/// The same before validation, for tests that break one field.
pub fn draft(name: &str, channel_id: ChannelId, schedule: &str, timezone: &str) -> CohortDraft {
    CohortDraft {
        name: name.to_string(),
        guild_id: GUILD,
        channel_id: channel_id.get(),
        mentor_role_id: MENTOR_ROLE,
        schedule: schedule.to_string(),
        timezone: timezone.to_string(),
        reminder_after: None,
        digest_channel_id: None,
        tracks: None,
    }
}

/// A cohort in `guild`/`channel` (created from Discord, so the binary's
/// config sync leaves it alone) with `schedule` in UTC.
pub async fn seed_cohort(store: &Store, name: &str, guild: u64, channel: u64, schedule: &str) -> CohortId {
    let spec = CohortDraft {
        name: name.into(),
        guild_id: guild,
        channel_id: channel,
        mentor_role_id: guild + 20,
        schedule: schedule.into(),
        timezone: "UTC".into(),
        ..CohortDraft::default()
    }
    .validate()
    .expect("valid cohort");
    store.insert_cohort(&spec, CohortSource::Discord, Utc::now()).await.expect("insert cohort").id
}

/// A check-in of `cohort_id` that occurred at `at` and closes at `closes`,
/// recorded and marked posted as the scheduler would have.
async fn seed_posted_checkin(
    store: &Store,
    cohort_id: CohortId,
    at: DateTime<Utc>,
    closes: DateTime<Utc>,
) -> CheckInId {
    let id = seed_recorded_checkin(store, cohort_id, at, closes).await;
    assert!(store.claim_post(id, at, at).await.expect("claim"));
    store.mark_posted(id, MessageId::new(1_000_000 + id.get() as u64), at).await.expect("mark posted");
    id
}

/// A check-in in the ledger but not posted yet.
pub async fn seed_recorded_checkin(
    store: &Store,
    cohort_id: CohortId,
    at: DateTime<Utc>,
    closes: DateTime<Utc>,
) -> CheckInId {
    let prompt = PostedPrompt {
        id: "seeded".into(),
        track: Track::ALL[0],
        question: "What did you drive this week that nobody asked you to?".into(),
    };
    let new = NewCheckIn { cohort_id, occurrence_at: at, closes_at: closes, prompt: Some(prompt) };
    store.record_checkin(&new).await.expect("record").expect("new occurrence").id
}

/// One cohort in GUILD/CHANNEL with one open check-in (opened an hour ago,
/// closing in a day). Returns (cohort id, check-in id).
pub async fn seed_open_checkin(db: &TempDb) -> (CohortId, CheckInId) {
    let store = db.store().await;
    let cohort = seed_cohort(&store, "staff-path", GUILD, CHANNEL, YEARLY).await;
    let now = Utc::now();
    let checkin =
        seed_posted_checkin(&store, cohort, now - chrono::Duration::hours(1), now + chrono::Duration::days(1)).await;
    store.close().await;
    (cohort, checkin)
}

/// The custom_id of the Answer button (and of the modal it opens) of `checkin_id`.
pub fn answer_id(checkin_id: CheckInId) -> String {
    format!("answer:{checkin_id}")
}
