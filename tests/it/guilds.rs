//! The engine's rule for servers the bot was removed from, on a manual clock:
//! a detached cohort gets no post, reminder or digest (not even an attempt),
//! stays detached across a restart, and once the bot is back catches up
//! with the newest occurrence only.

use chrono::Duration;
use trellis::domain::{CheckInStatus, Cohort, CohortDraft};
use trellis::engine::ShardOf;
use trellis_testkit::typed::{BOB, CHANNEL, CHANNEL2, GUILD, GUILD2, OTHER_CHANNEL};
use trellis_testkit::{Harness, draft, utc};

/// Daily at 09:00 UTC, a reminder after an hour, a digest in OTHER_CHANNEL;
/// Bob is a member and never answers.
async fn daily_cohort(h: &Harness) -> Cohort {
    let d = CohortDraft {
        reminder_after: Some("1h".into()),
        digest_channel_id: Some(OTHER_CHANNEL.get()),
        ..draft("daily", CHANNEL, "0 0 9 * * *", "UTC")
    };
    let cohort = h.engine.setup_cohort(d).await.unwrap();
    h.engine.join(&cohort, BOB).await.unwrap();
    cohort
}

/// Everything the chat was asked to do: (post attempts, DMs, digest attempts).
fn attempts(h: &Harness) -> (usize, usize, usize) {
    (h.chat.post_attempts(), h.chat.dms().len(), h.chat.digest_attempts())
}

#[tokio::test]
async fn a_detached_cohort_is_left_alone_and_catches_up_once_when_the_bot_is_back() {
    let mut h = Harness::new(utc("2027-01-04T08:00:00Z")).await;
    let cohort = daily_cohort(&h).await;
    h.set(utc("2027-01-04T09:00:01Z"));
    assert_eq!(h.tick().await.posted.len(), 1);
    h.set(utc("2027-01-04T10:00:01Z"));
    assert_eq!(h.tick().await.reminded.len(), 1);

    let detached = h.engine.guild_left(GUILD).await.unwrap();
    assert_eq!(detached.iter().map(|c| c.id).collect::<Vec<_>>(), vec![cohort.id]);
    assert!(h.engine.guild_left(GUILD).await.unwrap().is_empty(), "already detached: nothing new");
    assert!(h.engine.store().guild_departed(GUILD).await.unwrap());

    // Three days out of the server, and a restart: nothing at all is tried.
    let before = attempts(&h);
    for day in 5..=7 {
        for time in ["09:00:01", "10:00:01", "12:00:00"] {
            h.set(utc(&format!("2027-01-0{day}T{time}Z")));
            let report = h.tick().await;
            assert!(report.posted.is_empty() && report.reminded.is_empty() && report.digests.is_empty(), "{report:?}");
        }
        if day == 6 {
            h.restart().await;
        }
    }
    assert_eq!(attempts(&h), before, "no post, DM or digest attempted while detached");
    let wake = h.engine.next_wake().await.unwrap();
    assert!(wake >= h.now() + Duration::seconds(59), "a detached cohort wakes nobody: {wake}");

    // Back on day 7 at noon: the day-7 check-in (still open) is posted once,
    // days 5 and 6 are recorded as missed; the reminder and digest resume.
    let back = h.engine.guild_joined(GUILD).await.unwrap();
    assert_eq!(back.iter().map(|c| c.id).collect::<Vec<_>>(), vec![cohort.id]);
    assert!(h.engine.guild_joined(GUILD).await.unwrap().is_empty(), "already attached");
    let report = h.tick().await;
    assert_eq!(report.posted.len(), 1, "{report:?}");
    assert_eq!(report.missed, 2, "{report:?}");
    let ledger = h.engine.store().checkins_of_cohort(cohort.id).await.unwrap();
    let status: Vec<_> = ledger.iter().map(|c| (c.occurrence_at.format("%d").to_string(), c.status)).collect();
    assert_eq!(
        status,
        vec![
            ("04".into(), CheckInStatus::Posted),
            ("05".into(), CheckInStatus::Missed),
            ("06".into(), CheckInStatus::Missed),
            ("07".into(), CheckInStatus::Posted),
        ]
    );
    // The day-4 check-in closed while detached: its digest now, once.
    assert_eq!(report.digests.len(), 1, "{report:?}");
    h.set(utc("2027-01-07T13:00:01Z"));
    assert_eq!(h.tick().await.reminded.len(), 1, "Bob is nudged about the day-7 check-in");
}

#[tokio::test]
async fn a_server_joined_that_was_never_left_changes_nothing() {
    let h = Harness::new(utc("2027-01-04T08:00:00Z")).await;
    daily_cohort(&h).await;
    assert!(h.engine.guild_joined(GUILD).await.unwrap().is_empty());
    assert!(!h.engine.store().guild_departed(GUILD).await.unwrap());
    h.set(utc("2027-01-04T09:00:01Z"));
    assert_eq!(h.tick().await.posted.len(), 1);
}

#[tokio::test]
async fn ready_detaches_the_guilds_it_no_longer_lists_among_those_its_shard_serves() {
    let h = Harness::new(utc("2027-01-04T08:00:00Z")).await;
    daily_cohort(&h).await;
    let elsewhere = CohortDraft { guild_id: GUILD2.get(), ..draft("elsewhere", CHANNEL2, "0 0 9 * * *", "UTC") };
    h.engine.setup_cohort(elsewhere).await.unwrap();

    // Both listed: nothing changes.
    let all = ShardOf { id: 0, total: 1 };
    assert!(h.engine.guilds_at_ready(&[GUILD, GUILD2], all).await.unwrap().is_empty());

    // On a shard that does not serve GUILD, its absence says nothing.
    let guild_shard = ((GUILD.get() >> 22) % 2) as u32;
    let other_shard = ShardOf { id: 1 - guild_shard, total: 2 };
    let absent_elsewhere = h.engine.guilds_at_ready(&[], other_shard).await.unwrap();
    assert!(absent_elsewhere.iter().all(|c| c.spec.guild_id != GUILD), "{absent_elsewhere:?}");
    assert!(!h.engine.store().guild_departed(GUILD).await.unwrap());

    // The one shard that serves everything no longer lists GUILD: detached.
    let detached = h.engine.guilds_at_ready(&[GUILD2], all).await.unwrap();
    assert_eq!(detached.iter().map(|c| c.spec.name.as_str()).collect::<Vec<_>>(), vec!["daily"]);
    h.set(utc("2027-01-04T09:00:01Z"));
    let report = h.tick().await;
    assert_eq!(report.posted.len(), 1, "only the cohort of GUILD2 posts: {report:?}");
    assert_eq!(h.chat.posts()[0].post.channel_id, CHANNEL2);
}

#[tokio::test]
async fn what_discord_refused_while_the_bot_was_out_is_tried_again_when_it_is_back() {
    let h = Harness::new(utc("2027-01-04T08:00:00Z")).await;
    let cohort = daily_cohort(&h).await;
    // Removed from the server, but the next post went out before GUILD_DELETE
    // was handled: Discord refused it (missing access) and that was recorded.
    h.chat.refuse_channel(CHANNEL, 50001);
    h.set(utc("2027-01-04T09:00:01Z"));
    assert!(h.tick().await.posted.is_empty());
    h.engine.guild_left(GUILD).await.unwrap();
    assert!(!h.engine.delivery_problems(&cohort).await.unwrap().is_empty(), "the refusal is recorded");

    // Added back: the channel works again, and the refusal from while it was
    // out does not keep the cohort silent.
    h.chat.accept_channel(CHANNEL);
    h.engine.guild_joined(GUILD).await.unwrap();
    assert!(h.engine.delivery_problems(&cohort).await.unwrap().is_empty());
    h.set(utc("2027-01-04T09:30:00Z"));
    assert_eq!(h.tick().await.posted.len(), 1, "the open check-in is posted");
}
