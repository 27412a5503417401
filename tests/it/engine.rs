//! The check-in engine driven by a manual clock and a fake chat: exactly-once
//! posting (DST, downtime, crashes, concurrent instances), answers, reminders,
//! DMs, pauses, cohort management, forget-me and the track rotation.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use trellis::domain::{
    ChannelId, CheckIn, CheckInStatus, Cohort, CohortDraft, CohortSource, GuildId, InputError, MessageId, PostedPrompt,
    ReplySource, Schedule, Track, UserId, occurrence_nonce,
};
use trellis::engine::{DmAnswer, Engine, EngineError};
use trellis::store::{NewCheckIn, Store};
use trellis_testkit::typed::{ALICE, BOB, CAROL, CHANNEL, DAVE, GUILD, OTHER_CHANNEL};
use trellis_testkit::{Backend, Harness, draft, on_both_backends, rows_holding, spec, utc};

const WEEKLY_UTC: &str = "0 0 9 * * Mon";

/// Start on Friday 2027-01-01; the first Monday 09:00 UTC is 2027-01-04.
const START: &str = "2027-01-01T12:00:00Z";
const FIRST_MONDAY: &str = "2027-01-04T09:00:00Z";

async fn setup(h: &Harness, d: CohortDraft) -> Cohort {
    h.engine.setup_cohort(d).await.expect("setup cohort")
}

async fn weekly_cohort(h: &Harness) -> Cohort {
    setup(h, draft("staff-path", CHANNEL, WEEKLY_UTC, "UTC")).await
}

/// Set the clock to each instant from `from` to `to` (inclusive) in `step`s and tick.
async fn tick_every(h: &Harness, from: DateTime<Utc>, to: DateTime<Utc>, step: Duration) {
    let mut t = from;
    while t <= to {
        h.set(t);
        h.tick().await;
        t += step;
    }
}

/// Post the check-in due at `at` and return it.
async fn post_at(h: &Harness, at: DateTime<Utc>) -> CheckIn {
    h.set(at);
    let report = h.tick().await;
    assert_eq!(report.posted.len(), 1, "expected one post at {at}: {report:?}");
    let cohorts = h.engine.store().active_cohorts().await.unwrap();
    for c in cohorts {
        if let Some(k) = h.engine.store().open_checkin(c.id, at).await.unwrap()
            && k.nonce == report.posted[0]
        {
            return k;
        }
    }
    panic!("posted check-in not found");
}

/// Another process, on its own connection, records the check-in of `cohort`
/// due `at` (closing a week later) without posting it. Returns that
/// process's store, still open, and the row.
async fn record_checkin_at(h: &Harness, cohort: &Cohort, at: DateTime<Utc>) -> (Store, CheckIn) {
    let store = h.db.connect().await;
    let k = store
        .record_checkin(&NewCheckIn {
            cohort_id: cohort.id,
            occurrence_at: at,
            closes_at: at + Duration::weeks(1),
            prompt: Some(PostedPrompt { id: "scope-01".into(), track: Track::Scope, question: "Q?".into() }),
        })
        .await
        .unwrap()
        .unwrap();
    (store, k)
}

fn statuses(ks: &[CheckIn]) -> Vec<CheckInStatus> {
    ks.iter().map(|k| k.status).collect()
}

// ---- exactly once ----------------------------------------------------------------

async fn weekly_schedule_posts_once_per_week_for_ten_weeks(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let cohort = weekly_cohort(&h).await;
    let first = utc(FIRST_MONDAY);
    for week in 0..10 {
        let occ = first + Duration::weeks(week);
        // Before the time: nothing.
        h.set(occ - Duration::seconds(1));
        assert!(h.tick().await.posted.is_empty(), "week {week}: posted early");
        // At the time, twice at the same instant, and a few more times that week.
        h.set(occ);
        let r1 = h.tick().await;
        let r2 = h.tick().await;
        assert_eq!(r1.posted, vec![occurrence_nonce(cohort.id, occ)], "week {week}");
        assert!(r2.posted.is_empty(), "week {week}: second tick at the same instant posted again");
        for offset in [Duration::seconds(1), Duration::minutes(5), Duration::hours(30), Duration::days(4)] {
            h.set(occ + offset);
            let r = h.tick().await;
            assert!(r.posted.is_empty() && r.missed == 0, "week {week} +{offset}: {r:?}");
        }
        assert_eq!(h.chat.posts().len(), week as usize + 1);
    }
    let posts = h.chat.posts();
    assert_eq!(posts.len(), 10);
    assert!(h.chat.duplicate_nonces().is_empty());
    for (i, p) in posts.iter().enumerate() {
        let occ = first + Duration::weeks(i as i64);
        assert_eq!(p.at, occ, "posted on time");
        assert_eq!(p.post.channel_id, CHANNEL);
        assert_eq!(p.post.cohort_name, "staff-path");
        assert_eq!(p.post.closes_at, occ + Duration::weeks(1), "open until the next occurrence");
        assert_eq!(p.post.timezone, chrono_tz::UTC);
    }
    let ledger = h.engine.store().checkins_of_cohort(cohort.id).await.unwrap();
    assert_eq!(ledger.len(), 10);
    assert!(ledger.iter().all(|k| k.status == CheckInStatus::Posted && k.message_id.is_some()));
    // The message ids the platform returned are kept.
    let ids: Vec<_> = posts.iter().map(|p| Some(p.message_id)).collect();
    assert_eq!(ledger.iter().map(|k| k.message_id).collect::<Vec<_>>(), ids);
}
on_both_backends!(weekly_schedule_posts_once_per_week_for_ten_weeks);

async fn a_cohort_created_after_todays_time_waits_for_the_next_occurrence(backend: Backend) {
    // Created Monday 09:30, 30 minutes after the 09:00 check-in time.
    let h = Harness::on(backend, utc("2027-01-04T09:30:00Z")).await;
    let cohort = weekly_cohort(&h).await;
    tick_every(&h, h.now(), utc("2027-01-11T08:59:00Z"), Duration::hours(6)).await;
    assert!(h.chat.posts().is_empty(), "nothing before the first occurrence after creation");
    assert!(h.engine.store().checkins_of_cohort(cohort.id).await.unwrap().is_empty(), "no missed rows either");
    h.set(utc("2027-01-11T09:00:00Z"));
    assert_eq!(h.tick().await.posted.len(), 1);
}
on_both_backends!(a_cohort_created_after_todays_time_waits_for_the_next_occurrence);

/// A weekly 09:00 local check-in over six weeks around a DST change: one post
/// per week, always at 09:00 local, on the day it is due.
async fn weekly_nine_local_across(backend: Backend, tz: &str, weekday: &str, from: &str, weeks: i64) {
    let start = utc(from);
    let h = Harness::on(backend, start).await;
    let c = setup(&h, draft("dst", CHANNEL, &format!("0 0 9 * * {weekday}"), tz)).await;
    tick_every(&h, start, start + Duration::weeks(weeks), Duration::hours(1)).await;
    let zone: Tz = tz.parse().unwrap();
    let posts = h.chat.posts();
    assert_eq!(posts.len(), weeks as usize, "{tz}: one post per week");
    let ledger = h.engine.store().checkins_of_cohort(c.id).await.unwrap();
    assert_eq!(ledger.len(), weeks as usize, "{tz}: no missed or doubled rows");
    assert!(ledger.iter().all(|k| k.status == CheckInStatus::Posted));
    let mut previous: Option<chrono::NaiveDate> = None;
    for (k, p) in ledger.iter().zip(&posts) {
        let local = k.occurrence_at.with_timezone(&zone);
        assert_eq!(local.time(), NaiveTime::from_hms_opt(9, 0, 0).unwrap(), "{tz}: {local}");
        assert_eq!(local.weekday().to_string()[..3], weekday[..3], "{tz}: {local}");
        assert_eq!(p.at, k.occurrence_at, "{tz}: posted at the occurrence");
        assert_eq!(p.post.closes_at, k.closes_at);
        if let Some(prev) = previous {
            assert_eq!(local.date_naive() - prev, Duration::days(7), "{tz}: a week was skipped or doubled");
        }
        previous = Some(local.date_naive());
    }
    // Each check-in closes exactly when the next one opens.
    for w in ledger.windows(2) {
        assert_eq!(w[0].closes_at, w[1].occurrence_at);
    }
}

async fn dst_berlin_spring_forward_weekly_nine(backend: Backend) {
    // Berlin springs forward on Sunday 2027-03-28.
    weekly_nine_local_across(backend, "Europe/Berlin", "Sun", "2027-03-10T00:00:00Z", 6).await;
    weekly_nine_local_across(backend, "Europe/Berlin", "Mon", "2027-03-10T00:00:00Z", 6).await;
}
on_both_backends!(dst_berlin_spring_forward_weekly_nine);

async fn dst_berlin_fall_back_weekly_nine(backend: Backend) {
    // Berlin falls back on Sunday 2027-10-31.
    weekly_nine_local_across(backend, "Europe/Berlin", "Sun", "2027-10-13T00:00:00Z", 6).await;
    weekly_nine_local_across(backend, "Europe/Berlin", "Mon", "2027-10-13T00:00:00Z", 6).await;
}
on_both_backends!(dst_berlin_fall_back_weekly_nine);

async fn dst_new_york_spring_forward_weekly_nine(backend: Backend) {
    // New York springs forward on Sunday 2027-03-14.
    weekly_nine_local_across(backend, "America/New_York", "Sun", "2027-02-24T00:00:00Z", 6).await;
    weekly_nine_local_across(backend, "America/New_York", "Mon", "2027-02-24T00:00:00Z", 6).await;
}
on_both_backends!(dst_new_york_spring_forward_weekly_nine);

async fn dst_new_york_fall_back_weekly_nine(backend: Backend) {
    // New York falls back on Sunday 2027-11-07.
    weekly_nine_local_across(backend, "America/New_York", "Sun", "2027-10-20T00:00:00Z", 6).await;
    weekly_nine_local_across(backend, "America/New_York", "Mon", "2027-10-20T00:00:00Z", 6).await;
}
on_both_backends!(dst_new_york_fall_back_weekly_nine);

async fn daily_0230_berlin_posts_right_after_the_spring_gap(backend: Backend) {
    let start = utc("2027-03-24T12:00:00Z");
    let h = Harness::on(backend, start).await;
    let c = setup(&h, draft("night-owls", CHANNEL, "0 30 2 * * *", "Europe/Berlin")).await;
    tick_every(&h, start, utc("2027-03-31T12:00:00Z"), Duration::minutes(30)).await;
    let ledger = h.engine.store().checkins_of_cohort(c.id).await.unwrap();
    let got: Vec<_> = ledger.iter().map(|k| k.occurrence_at).collect();
    assert_eq!(
        got,
        vec![
            utc("2027-03-25T01:30:00Z"),
            utc("2027-03-26T01:30:00Z"),
            utc("2027-03-27T01:30:00Z"),
            // 2027-03-28 02:30 does not exist in Berlin: posted when the clocks
            // reach 03:00 CEST, as cron daemons do, instead of vanishing.
            utc("2027-03-28T01:00:00Z"),
            utc("2027-03-29T00:30:00Z"),
            utc("2027-03-30T00:30:00Z"),
            utc("2027-03-31T00:30:00Z"),
        ]
    );
    assert!(ledger.iter().all(|k| k.status == CheckInStatus::Posted));
    assert_eq!(h.chat.posts().len(), 7);
    let zone: Tz = "Europe/Berlin".parse().unwrap();
    for (i, k) in ledger.iter().enumerate() {
        let local = k.occurrence_at.with_timezone(&zone);
        let expected = if i == 3 { (3, 0) } else { (2, 30) };
        assert_eq!((local.hour(), local.minute()), expected, "{local}");
    }
}
on_both_backends!(daily_0230_berlin_posts_right_after_the_spring_gap);

async fn daily_0230_berlin_fires_once_on_the_fall_back_night(backend: Backend) {
    let start = utc("2027-10-29T12:00:00Z");
    let h = Harness::on(backend, start).await;
    let c = setup(&h, draft("night-owls", CHANNEL, "0 30 2 * * *", "Europe/Berlin")).await;
    tick_every(&h, start, utc("2027-11-02T12:00:00Z"), Duration::minutes(15)).await;
    let ledger = h.engine.store().checkins_of_cohort(c.id).await.unwrap();
    let got: Vec<_> = ledger.iter().map(|k| k.occurrence_at).collect();
    assert_eq!(
        got,
        vec![
            utc("2027-10-30T00:30:00Z"),
            // 02:30 happens twice on 2027-10-31 (00:30Z CEST, 01:30Z CET): once here.
            utc("2027-10-31T00:30:00Z"),
            utc("2027-11-01T01:30:00Z"),
            utc("2027-11-02T01:30:00Z"),
        ]
    );
    assert_eq!(h.chat.posts().len(), 4);
    assert!(h.chat.duplicate_nonces().is_empty());
    assert_eq!(ledger[1].closes_at, utc("2027-11-01T01:30:00Z"));
}
on_both_backends!(daily_0230_berlin_fires_once_on_the_fall_back_night);

async fn downtime_posts_only_the_newest_missed_occurrence(backend: Backend) {
    let mut h = Harness::on(backend, utc(START)).await;
    let cohort = weekly_cohort(&h).await;
    let first = utc(FIRST_MONDAY);
    post_at(&h, first).await;

    // Down from Monday evening for three occurrences; back on the third's Tuesday.
    h.set(first + Duration::hours(8));
    h.tick().await;
    h.restart().await;
    let back = first + Duration::weeks(3) + Duration::days(1);
    h.set(back);
    let report = h.tick().await;
    let newest = first + Duration::weeks(3);
    assert_eq!(report.posted, vec![occurrence_nonce(cohort.id, newest)], "one catch-up post, the newest");
    assert_eq!(report.missed, 2);

    let ledger = h.engine.store().checkins_of_cohort(cohort.id).await.unwrap();
    assert_eq!(
        statuses(&ledger),
        vec![CheckInStatus::Posted, CheckInStatus::Missed, CheckInStatus::Missed, CheckInStatus::Posted]
    );
    assert!(ledger[1].prompt.is_none() && ledger[2].prompt.is_none(), "missed ones never had a question");
    // The catch-up check-in is open until its regular close.
    assert_eq!(ledger[3].closes_at, newest + Duration::weeks(1));
    assert!(h.engine.store().open_checkin(cohort.id, back).await.unwrap().is_some());

    // Further ticks and restarts post nothing more.
    h.tick().await;
    h.restart().await;
    assert!(h.tick().await.posted.is_empty());
    assert_eq!(h.chat.posts().len(), 2);
    // The week after, business as usual.
    post_at(&h, newest + Duration::weeks(1)).await;
}
on_both_backends!(downtime_posts_only_the_newest_missed_occurrence);

async fn a_recorded_checkin_whose_window_passed_is_missed_not_posted(backend: Backend) {
    let mut h = Harness::on(backend, utc(START)).await;
    let cohort = weekly_cohort(&h).await;
    let first = utc(FIRST_MONDAY);
    // The platform is down the whole first week.
    h.chat.fail_all_posts(true);
    tick_every(&h, first, first + Duration::days(6), Duration::hours(12)).await;
    assert!(h.chat.posts().is_empty());
    assert!(h.chat.post_attempts() >= 10, "retried while the window was open");
    h.chat.fail_all_posts(false);
    h.restart().await;
    // Back a week and an hour later: only the second occurrence is posted.
    h.set(first + Duration::weeks(1) + Duration::hours(1));
    let r = h.tick().await;
    assert_eq!(r.posted, vec![occurrence_nonce(cohort.id, first + Duration::weeks(1))]);
    let ledger = h.engine.store().checkins_of_cohort(cohort.id).await.unwrap();
    assert_eq!(statuses(&ledger), vec![CheckInStatus::Missed, CheckInStatus::Posted]);
}
on_both_backends!(a_recorded_checkin_whose_window_passed_is_missed_not_posted);

async fn two_engines_on_one_database_post_once(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let cohort = weekly_cohort(&h).await;
    setup(&h, draft("second", OTHER_CHANNEL, "0 0 9 * * Mon", "Europe/Berlin")).await;
    h.chat.set_post_delay(StdDuration::from_millis(20));
    let a = Arc::new(h.another_engine().await);
    let b = Arc::new(h.another_engine().await);
    let first = utc(FIRST_MONDAY);
    for week in 0..6 {
        let occ = first + Duration::weeks(week);
        for offset in [Duration::zero(), Duration::zero(), Duration::minutes(1), Duration::hours(3)] {
            h.set(occ + offset);
            let (ra, rb) = tokio::join!(
                tokio::spawn({
                    let a = a.clone();
                    async move { a.tick().await }
                }),
                tokio::spawn({
                    let b = b.clone();
                    async move { b.tick().await }
                })
            );
            ra.unwrap().expect("tick a");
            rb.unwrap().expect("tick b");
        }
    }
    let posts = h.chat.posts();
    assert!(h.chat.duplicate_nonces().is_empty(), "duplicates: {:?}", h.chat.duplicate_nonces());
    assert_eq!(h.chat.post_attempts(), posts.len(), "no second attempt at all");
    // Six weeks: the UTC cohort at 09:00Z; the Berlin one at 08:00Z, picked up by the 09:00Z tick.
    assert_eq!(posts.len(), 12);
    assert_eq!(h.engine.store().checkins_of_cohort(cohort.id).await.unwrap().len(), 6);
}
on_both_backends!(two_engines_on_one_database_post_once, (flavor = "multi_thread", worker_threads = 2));

async fn crash_between_recorded_and_posted_posts_once_with_the_same_nonce(backend: Backend) {
    let mut h = Harness::on(backend, utc(START)).await;
    let cohort = weekly_cohort(&h).await;
    let first = utc(FIRST_MONDAY);
    h.set(first);
    h.chat.fail_next_posts(1);
    let r = h.tick().await;
    assert!(r.posted.is_empty());
    assert_eq!(r.failures, 1);
    let ledger = h.engine.store().checkins_of_cohort(cohort.id).await.unwrap();
    assert_eq!(statuses(&ledger), vec![CheckInStatus::Recorded]);

    // The process dies here; a new one starts a little later.
    h.restart().await;
    h.set(first + Duration::seconds(10));
    let r = h.tick().await;
    let nonce = occurrence_nonce(cohort.id, first);
    assert_eq!(r.posted, vec![nonce.clone()]);
    assert_eq!(h.chat.attempted_nonces(), vec![nonce.clone(), nonce.clone()], "the retry reuses the nonce");
    assert_eq!(h.chat.nonces(), vec![nonce]);
    h.restart().await;
    assert!(h.tick().await.posted.is_empty());
}
on_both_backends!(crash_between_recorded_and_posted_posts_once_with_the_same_nonce);

async fn a_row_recorded_by_a_dead_process_is_posted_on_restart(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let cohort = weekly_cohort(&h).await;
    let first = utc(FIRST_MONDAY);
    // Another process recorded the occurrence and died before posting.
    let (store, k) = record_checkin_at(&h, &cohort, first).await;
    store.close().await;
    let engine = h.another_engine().await;
    h.set(first + Duration::minutes(5));
    let r = engine.tick().await.unwrap();
    assert_eq!(r.posted, vec![k.nonce.clone()]);
    assert_eq!(k.nonce, occurrence_nonce(cohort.id, first));
    assert_eq!(h.chat.posts()[0].post.question, "Q?", "the recorded question is the one posted");
    assert!(engine.tick().await.unwrap().posted.is_empty());
    assert_eq!(h.engine.store().checkins_of_cohort(cohort.id).await.unwrap().len(), 1);
}
on_both_backends!(a_row_recorded_by_a_dead_process_is_posted_on_restart);

async fn a_claim_left_by_a_crashed_instance_is_taken_over_after_the_lease(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let cohort = weekly_cohort(&h).await;
    let first = utc(FIRST_MONDAY);
    let (store, k) = record_checkin_at(&h, &cohort, first).await;
    // The crashed instance claimed it at 09:00:00 and never finished.
    assert!(store.claim_post(k.id, first, first - Duration::minutes(2)).await.unwrap());
    store.close().await;

    for after in [Duration::seconds(1), Duration::minutes(1), Duration::minutes(2)] {
        h.set(first + after);
        assert!(h.tick().await.posted.is_empty(), "taken over too early, at +{after}");
    }
    h.set(first + Duration::minutes(2) + Duration::seconds(1));
    let r = h.tick().await;
    assert_eq!(r.posted, vec![k.nonce.clone()]);
    assert_eq!(h.chat.nonces(), vec![occurrence_nonce(cohort.id, first)]);
    assert_eq!(h.engine.store().checkin(k.id).await.unwrap().unwrap().status, CheckInStatus::Posted);
}
on_both_backends!(a_claim_left_by_a_crashed_instance_is_taken_over_after_the_lease);

async fn a_failed_post_is_retried_with_the_same_nonce_after_growing_waits(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    weekly_cohort(&h).await;
    let first = utc(FIRST_MONDAY);
    h.chat.fail_next_posts(3);
    // A tick every second for two minutes: tries at 0 s, then after waits of
    // 10 s, 20 s and 40 s (the fourth goes through).
    let mut tried_at = Vec::new();
    for s in 0..=120 {
        h.set(first + Duration::seconds(s));
        let before = h.chat.post_attempts();
        h.tick().await;
        if h.chat.post_attempts() > before {
            tried_at.push(s);
        }
    }
    assert_eq!(tried_at, [0, 10, 30, 70]);
    assert_eq!(h.chat.posts().len(), 1);
    let attempts = h.chat.attempted_nonces();
    assert_eq!(attempts.len(), 4);
    assert!(attempts.iter().all(|n| *n == attempts[0]));
}
on_both_backends!(a_failed_post_is_retried_with_the_same_nonce_after_growing_waits);

async fn the_last_occurrence_of_a_bounded_schedule_is_posted(backend: Backend) {
    // Mondays of 2027 only: the last one is 2027-12-27.
    let h = Harness::on(backend, utc("2027-12-20T12:00:00Z")).await;
    let c = setup(&h, draft("bounded", CHANNEL, "0 0 9 * * Mon 2027", "UTC")).await;
    h.set(utc("2027-12-27T09:00:00Z"));
    let r = h.tick().await;
    assert_eq!(r.posted.len(), 1, "the final occurrence still gets its check-in: {r:?}");
    let k = h.engine.store().checkins_of_cohort(c.id).await.unwrap().remove(0);
    assert!(k.closes_at > k.occurrence_at);
}
on_both_backends!(the_last_occurrence_of_a_bounded_schedule_is_posted);

// ---- rotation -----------------------------------------------------------------

async fn consecutive_posts_cycle_through_the_cohorts_tracks(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let mut d = draft("rotation", CHANNEL, WEEKLY_UTC, "UTC");
    d.tracks = Some(vec!["judgment".into(), "scope".into(), "impact".into()]);
    setup(&h, d).await;
    let first = utc(FIRST_MONDAY);
    for week in 0..7 {
        post_at(&h, first + Duration::weeks(week)).await;
    }
    let tracks: Vec<Track> = h.chat.posts().iter().map(|p| p.post.track).collect();
    use Track::*;
    assert_eq!(tracks, vec![Judgment, Scope, Impact, Judgment, Scope, Impact, Judgment]);
    // Within a track, the question changes from one round to the next.
    let posts = h.chat.posts();
    assert_ne!(posts[0].post.question, posts[3].post.question);
    // The posted question is the library's text for that track.
    for p in &posts {
        let prompt = h.engine.prompts().prompts().iter().find(|q| q.question == p.post.question).expect("from library");
        assert_eq!(prompt.track, p.post.track);
    }
}
on_both_backends!(consecutive_posts_cycle_through_the_cohorts_tracks);

async fn default_rotation_is_all_six_tracks_in_order(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    weekly_cohort(&h).await;
    for week in 0..6 {
        post_at(&h, utc(FIRST_MONDAY) + Duration::weeks(week)).await;
    }
    let tracks: Vec<Track> = h.chat.posts().iter().map(|p| p.post.track).collect();
    assert_eq!(tracks, Track::ALL.to_vec());
}
on_both_backends!(default_rotation_is_all_six_tracks_in_order);

async fn a_checkin_never_shown_does_not_advance_the_rotation(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let mut d = draft("rotation", CHANNEL, WEEKLY_UTC, "UTC");
    d.tracks = Some(vec!["scope".into(), "communication".into(), "influence".into()]);
    setup(&h, d).await;
    let first = utc(FIRST_MONDAY);
    post_at(&h, first).await; // scope
    // Week 2 cannot be posted at all: the platform is down all week.
    h.chat.fail_all_posts(true);
    tick_every(&h, first + Duration::weeks(1), first + Duration::weeks(2) - Duration::hours(1), Duration::days(1))
        .await;
    h.chat.fail_all_posts(false);
    post_at(&h, first + Duration::weeks(2)).await;
    let tracks: Vec<Track> = h.chat.posts().iter().map(|p| p.post.track).collect();
    assert_eq!(tracks, vec![Track::Scope, Track::Communication], "the cohort never saw communication");
}
on_both_backends!(a_checkin_never_shown_does_not_advance_the_rotation);

// ---- answers --------------------------------------------------------------------

async fn open_week(h: &Harness) -> (Cohort, CheckIn) {
    let cohort = weekly_cohort(h).await;
    let k = post_at(h, utc(FIRST_MONDAY)).await;
    (cohort, k)
}

async fn answer_validation_edge_cases(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let (cohort, k) = open_week(&h).await;
    h.set(utc(FIRST_MONDAY) + Duration::hours(1));
    let e = &h.engine;
    let store = e.store();

    // Rejected input stores nothing, not even a membership.
    let err = e.answer(&k, ALICE, "", "", ReplySource::Modal).await.unwrap_err();
    assert!(matches!(err, EngineError::Input(InputError::EmptyAnswer)), "{err}");
    assert!(err.is_user_error());
    let err = e.answer(&k, ALICE, " \n\t ", "", ReplySource::Modal).await.unwrap_err();
    assert!(matches!(err, EngineError::Input(InputError::EmptyAnswer)), "{err}");
    let err = e.answer(&k, ALICE, &"a".repeat(4001), "", ReplySource::Modal).await.unwrap_err();
    assert!(matches!(err, EngineError::Input(InputError::AnswerTooLong(4001))), "{err}");
    assert!(err.to_string().contains("4000"), "{err}");
    assert!(store.reply(k.id, ALICE).await.unwrap().is_none());
    assert!(store.member(cohort.id, ALICE).await.unwrap().is_none(), "bad input must not join the member");

    // 1 and 4000 characters are fine; characters, not bytes.
    assert_eq!(e.answer(&k, ALICE, "a", "", ReplySource::Modal).await.unwrap().answer, "a");
    let long = "a".repeat(4000);
    assert_eq!(e.answer(&k, ALICE, &long, "", ReplySource::Modal).await.unwrap().answer, long);
    let emoji = "🚀".repeat(4000);
    assert_eq!(e.answer(&k, ALICE, &emoji, "", ReplySource::Modal).await.unwrap().answer, emoji);
    let err = e.answer(&k, ALICE, &"🚀".repeat(4001), "", ReplySource::Modal).await.unwrap_err();
    assert!(matches!(err, EngineError::Input(InputError::AnswerTooLong(4001))), "{err}");
    let family = "👩‍👩‍👧‍👦 shipped the migration 🎉";
    assert_eq!(e.answer(&k, ALICE, family, "", ReplySource::Modal).await.unwrap().answer, family);
    let rtl = "שלום עולם، مرحبا بالعالم — I led the review";
    let r = e.answer(&k, ALICE, rtl, "", ReplySource::Modal).await.unwrap();
    assert_eq!(store.reply(k.id, ALICE).await.unwrap().unwrap().answer, rtl);
    assert_eq!(r.answer, rtl);
    // Surrounding whitespace is trimmed.
    assert_eq!(e.answer(&k, BOB, "  padded \n", "", ReplySource::Modal).await.unwrap().answer, "padded");
    let err = e.answer(&k, BOB, "nul\0byte", "", ReplySource::Modal).await.unwrap_err();
    assert!(matches!(err, EngineError::Input(InputError::Nul)), "{err}");

    // Confidence.
    assert_eq!(e.answer(&k, CAROL, "x", "", ReplySource::Modal).await.unwrap().confidence, None);
    assert_eq!(e.answer(&k, CAROL, "x", "3", ReplySource::Modal).await.unwrap().confidence, Some(3));
    let before = store.reply(k.id, CAROL).await.unwrap().unwrap();
    let history_before = store.reply_history(before.id).await.unwrap().len();
    for bad in ["0", "6", "eleven", "-1", "2.5"] {
        let err = e.answer(&k, CAROL, "changed", bad, ReplySource::Modal).await.unwrap_err();
        assert!(matches!(err, EngineError::Input(InputError::Confidence(_))), "{bad}: {err}");
        assert!(err.to_string().contains("1 to 5"), "{err}");
        // Nothing stored on error: the earlier answer stands, no history row.
        assert_eq!(store.reply(k.id, CAROL).await.unwrap().unwrap(), before, "{bad}");
        assert_eq!(store.reply_history(before.id).await.unwrap().len(), history_before, "{bad}");
    }
    // A new member with bad confidence is not stored either.
    assert!(e.answer(&k, DAVE, "fine", "eleven", ReplySource::Modal).await.is_err());
    assert!(store.reply(k.id, DAVE).await.unwrap().is_none());
    assert!(store.member(cohort.id, DAVE).await.unwrap().is_none());
}
on_both_backends!(answer_validation_edge_cases);

async fn answering_a_closed_checkin_is_refused(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let (_cohort, k) = open_week(&h).await;
    let first = utc(FIRST_MONDAY);
    h.set(first + Duration::weeks(1) - Duration::seconds(1));
    h.engine.answer(&k, ALICE, "just in time", "", ReplySource::Modal).await.unwrap();
    let k2 = post_at(&h, first + Duration::weeks(1)).await;
    let err = h.engine.answer(&k, ALICE, "too late", "", ReplySource::Modal).await.unwrap_err();
    assert!(matches!(err, EngineError::CheckInClosed), "{err}");
    assert!(err.is_user_error());
    assert_eq!(h.engine.store().reply(k.id, ALICE).await.unwrap().unwrap().answer, "just in time");
    // Even a stale copy of the check-in that still says "open" is re-checked.
    let err = h.engine.answer(&k, BOB, "late", "", ReplySource::Modal).await.unwrap_err();
    assert!(matches!(err, EngineError::CheckInClosed), "{err}");
    assert!(h.engine.store().reply(k.id, BOB).await.unwrap().is_none());
    // The new one takes answers.
    h.engine.answer(&k2, ALICE, "new week", "", ReplySource::Modal).await.unwrap();
}
on_both_backends!(answering_a_closed_checkin_is_refused);

async fn a_checkin_not_yet_posted_takes_no_answers(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let cohort = weekly_cohort(&h).await;
    h.chat.fail_next_posts(1);
    h.set(utc(FIRST_MONDAY));
    h.tick().await;
    let k = h.engine.store().checkins_of_cohort(cohort.id).await.unwrap().remove(0);
    assert_eq!(k.status, CheckInStatus::Recorded);
    let err = h.engine.answer(&k, ALICE, "early", "", ReplySource::Modal).await.unwrap_err();
    assert!(matches!(err, EngineError::CheckInClosed | EngineError::NoOpenCheckIn), "{err}");
    assert!(h.engine.store().reply(k.id, ALICE).await.unwrap().is_none());
}
on_both_backends!(a_checkin_not_yet_posted_takes_no_answers);

async fn edits_keep_history(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let (_, k) = open_week(&h).await;
    let t = utc(FIRST_MONDAY);
    h.set(t + Duration::hours(1));
    let r1 = h.engine.answer(&k, ALICE, "draft", "2", ReplySource::Modal).await.unwrap();
    h.set(t + Duration::hours(2));
    let r2 = h.engine.answer(&k, ALICE, "better", "4", ReplySource::Modal).await.unwrap();
    h.set(t + Duration::hours(3));
    let r3 = h.engine.answer(&k, ALICE, "best", "", ReplySource::Dm).await.unwrap();
    assert_eq!(r1.id, r2.id);
    assert_eq!(r2.id, r3.id);
    assert_eq!(r3.created_at, t + Duration::hours(1));
    assert_eq!(r3.updated_at, t + Duration::hours(3));
    let history = h.engine.store().reply_history(r3.id).await.unwrap();
    let versions: Vec<_> = history.iter().map(|e| (e.answer.as_str(), e.confidence, e.written_at)).collect();
    assert_eq!(versions, vec![("draft", Some(2), t + Duration::hours(1)), ("better", Some(4), t + Duration::hours(2))]);
    let current = h.engine.store().reply(k.id, ALICE).await.unwrap().unwrap();
    assert_eq!((current.answer.as_str(), current.confidence), ("best", None));
}
on_both_backends!(edits_keep_history);

async fn answering_joins_the_cohort(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let (cohort, k) = open_week(&h).await;
    h.set(utc(FIRST_MONDAY) + Duration::hours(1));
    assert!(h.engine.store().member(cohort.id, ALICE).await.unwrap().is_none());
    h.engine.answer(&k, ALICE, "hello", "", ReplySource::Modal).await.unwrap();
    let m = h.engine.store().member(cohort.id, ALICE).await.unwrap().unwrap();
    assert_eq!(m.left_at, None);
    assert_eq!(m.joined_at, h.now());

    // A member who left and answers again is back in.
    h.engine.leave(&cohort, ALICE).await.unwrap();
    h.engine.answer(&k, ALICE, "back", "", ReplySource::Modal).await.unwrap();
    assert_eq!(h.engine.store().member(cohort.id, ALICE).await.unwrap().unwrap().left_at, None);

    // Logging impact joins too.
    h.engine.record_impact(&cohort, BOB, "p99 halved", "820ms → 410ms", "checkout", "").await.unwrap();
    assert!(h.engine.store().member(cohort.id, BOB).await.unwrap().is_some());
    let err = h.engine.record_impact(&cohort, CAROL, "", "e", "w", "").await.unwrap_err();
    assert!(matches!(err, EngineError::Input(_)));
    assert!(h.engine.store().member(cohort.id, CAROL).await.unwrap().is_none());
}
on_both_backends!(answering_joins_the_cohort);

async fn join_and_leave(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let cohort = weekly_cohort(&h).await;
    assert!(h.engine.join(&cohort, ALICE).await.unwrap());
    assert!(!h.engine.join(&cohort, ALICE).await.unwrap(), "already a member");
    h.engine.leave(&cohort, ALICE).await.unwrap();
    assert!(matches!(h.engine.leave(&cohort, ALICE).await, Err(EngineError::NotAMember)));
    assert!(h.engine.join(&cohort, ALICE).await.unwrap());
}
on_both_backends!(join_and_leave);

// ---- reminders ------------------------------------------------------------------

async fn reminder_cohort(h: &Harness) -> Cohort {
    let mut d = draft("reminded", CHANNEL, WEEKLY_UTC, "UTC");
    d.reminder_after = Some("48h".into());
    setup(h, d).await
}

async fn reminders_go_once_to_active_unpaused_non_answerers(backend: Backend) {
    let mut h = Harness::on(backend, utc(START)).await;
    let cohort = reminder_cohort(&h).await;
    for u in [ALICE, BOB, CAROL, DAVE] {
        h.engine.join(&cohort, u).await.unwrap();
    }
    let first = utc(FIRST_MONDAY);
    let k = post_at(&h, first).await;
    h.set(first + Duration::hours(1));
    h.engine.answer(&k, ALICE, "done", "", ReplySource::Modal).await.unwrap(); // answered
    h.engine.pause(&cohort, CAROL, 1).await.unwrap(); // paused
    h.engine.leave(&cohort, DAVE).await.unwrap(); // left

    h.set(first + Duration::hours(48) - Duration::seconds(1));
    assert!(h.tick().await.reminded.is_empty(), "not before reminder_after");
    h.set(first + Duration::hours(48));
    let r = h.tick().await;
    assert_eq!(r.reminded, vec![(k.id, BOB)]);
    let dms = h.chat.dms();
    assert_eq!(dms.len(), 1);
    assert_eq!(dms[0].user_id, BOB);
    assert_eq!(dms[0].checkin_id, k.id);
    assert_eq!(dms[0].cohort_name, "reminded");
    assert_eq!(dms[0].question, k.prompt.as_ref().unwrap().question);
    assert_eq!(dms[0].closes_at, k.closes_at);

    // Ticking again, later, and after a restart sends nothing more.
    h.tick().await;
    h.set(first + Duration::hours(72));
    h.tick().await;
    h.restart().await;
    h.tick().await;
    h.set(first + Duration::hours(100));
    h.tick().await;
    assert_eq!(h.chat.dms().len(), 1, "{:?}", h.chat.dms());

    // A second engine on the same database does not repeat it either.
    let other = h.another_engine().await;
    other.tick().await.unwrap();
    assert_eq!(h.chat.dms().len(), 1);

    // Next week Bob and Alice get theirs (Carol's one-week pause is over).
    let k2 = post_at(&h, first + Duration::weeks(1)).await;
    h.set(first + Duration::weeks(1) + Duration::hours(48));
    let r = h.tick().await;
    let mut users: Vec<UserId> = r.reminded.iter().map(|(_, u)| *u).collect();
    users.sort();
    assert_eq!(users, vec![ALICE, BOB, CAROL]);
    assert!(r.reminded.iter().all(|(c, _)| *c == k2.id));
}
on_both_backends!(reminders_go_once_to_active_unpaused_non_answerers);

async fn no_reminders_without_reminder_after(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let cohort = weekly_cohort(&h).await;
    h.engine.join(&cohort, BOB).await.unwrap();
    let first = utc(FIRST_MONDAY);
    post_at(&h, first).await;
    tick_every(&h, first, first + Duration::days(6), Duration::hours(12)).await;
    assert!(h.chat.dms().is_empty());
}
on_both_backends!(no_reminders_without_reminder_after);

async fn a_failed_reminder_dm_is_retried_next_tick(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let cohort = reminder_cohort(&h).await;
    h.engine.join(&cohort, BOB).await.unwrap();
    h.engine.join(&cohort, CAROL).await.unwrap();
    let first = utc(FIRST_MONDAY);
    let k = post_at(&h, first).await;
    h.chat.fail_next_dms_to(BOB, 1);
    h.set(first + Duration::hours(48));
    let r = h.tick().await;
    assert_eq!(r.failures, 1);
    assert_eq!(r.reminded, vec![(k.id, CAROL)]);
    assert_eq!(h.engine.store().reminders_sent(k.id).await.unwrap(), vec![CAROL]);

    h.set(first + Duration::hours(48) + Duration::minutes(1));
    let r = h.tick().await;
    assert_eq!(r.reminded, vec![(k.id, BOB)], "retried");
    h.tick().await;
    let to: Vec<UserId> = h.chat.dms().iter().map(|d| d.user_id).collect();
    assert_eq!(to, vec![CAROL, BOB]);
}
on_both_backends!(a_failed_reminder_dm_is_retried_next_tick);

async fn a_member_who_answers_before_the_reminder_gets_none(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let cohort = reminder_cohort(&h).await;
    h.engine.join(&cohort, BOB).await.unwrap();
    let first = utc(FIRST_MONDAY);
    let k = post_at(&h, first).await;
    h.set(first + Duration::hours(47));
    h.engine.answer_by_dm(BOB, MessageId::new(1), "answered by DM").await.unwrap();
    h.set(first + Duration::hours(49));
    h.tick().await;
    assert!(h.chat.dms().is_empty());
    assert_eq!(h.engine.store().reply(k.id, BOB).await.unwrap().unwrap().answer, "answered by DM");
}
on_both_backends!(a_member_who_answers_before_the_reminder_gets_none);

async fn a_late_catch_up_post_gives_members_the_full_delay_before_the_nudge(backend: Backend) {
    let mut h = Harness::on(backend, utc(START)).await;
    let cohort = reminder_cohort(&h).await;
    h.engine.join(&cohort, BOB).await.unwrap();
    let first = utc(FIRST_MONDAY);
    // Down over Monday's check-in time; back on Wednesday 12:00 (51 h late).
    h.restart().await;
    let back = first + Duration::hours(51);
    h.set(back);
    let r = h.tick().await;
    assert_eq!(r.posted.len(), 1);
    assert!(r.reminded.is_empty(), "a nudge at the same moment as the post is noise");
    h.set(back + Duration::hours(47));
    assert!(h.tick().await.reminded.is_empty());
    h.set(back + Duration::hours(48));
    assert_eq!(h.tick().await.reminded.len(), 1);
}
on_both_backends!(a_late_catch_up_post_gives_members_the_full_delay_before_the_nudge);

async fn an_enormous_reminder_delay_is_refused_and_the_largest_does_not_crash_the_scheduler(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let mut d = draft("patient", CHANNEL, WEEKLY_UTC, "UTC");
    d.reminder_after = Some("100000000d".into());
    let err = h.engine.setup_cohort(d.clone()).await.unwrap_err();
    assert!(err.to_string().contains("reminder_after") && err.to_string().contains("365d"), "{err}");
    // The largest delay needs check-ins more than a year apart (a nudge due
    // after the next check-in opened would never be sent).
    d.reminder_after = Some("365d".into());
    let err = h.engine.setup_cohort(d.clone()).await.unwrap_err();
    assert!(err.to_string().contains("reminder_after") && err.to_string().contains("7d apart"), "{err}");
    d.schedule = "0 0 9 4 1 * 2027/2".into();
    let cohort = setup(&h, d).await;
    h.engine.join(&cohort, BOB).await.unwrap();
    post_at(&h, utc(FIRST_MONDAY)).await;
    h.set(utc(FIRST_MONDAY) + Duration::days(3));
    let r = h.engine.tick().await.expect("tick");
    assert!(r.reminded.is_empty());
    h.engine.next_wake().await.expect("plan");
}
on_both_backends!(an_enormous_reminder_delay_is_refused_and_the_largest_does_not_crash_the_scheduler);

// ---- DM answers --------------------------------------------------------------------

/// The answer a DM was saved as; panics if the bot asked instead.
fn saved_to(got: DmAnswer) -> trellis::domain::Reply {
    match got {
        DmAnswer::Saved { reply, .. } => reply,
        DmAnswer::Choose(choices) => panic!("asked instead of saving: {choices:?}"),
    }
}

async fn dm_answers_go_to_the_one_open_checkin_not_yet_answered(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let c1 = weekly_cohort(&h).await;
    let c2 = setup(&h, draft("tuesdays", OTHER_CHANNEL, "0 0 9 * * Tue", "UTC")).await;
    h.engine.join(&c1, ALICE).await.unwrap();
    h.engine.join(&c2, ALICE).await.unwrap();
    h.engine.join(&c1, BOB).await.unwrap();
    let dm = |n: u64| MessageId::new(800 + n);

    // Nothing posted yet.
    let err = h.engine.answer_by_dm(BOB, dm(1), "hello?").await.unwrap_err();
    assert!(matches!(err, EngineError::NoOpenCheckIn), "{err}");
    // Not a member anywhere.
    let first = utc(FIRST_MONDAY);
    let k1 = post_at(&h, first).await;
    let err = h.engine.answer_by_dm(CAROL, dm(2), "hi").await.unwrap_err();
    assert!(matches!(err, EngineError::NoOpenCheckIn), "{err}");

    // Exactly one open check-in: stored.
    h.set(first + Duration::hours(1));
    let reply = saved_to(h.engine.answer_by_dm(ALICE, dm(3), "  my DM answer ").await.unwrap());
    assert_eq!(reply.checkin_id, k1.id);
    assert_eq!(reply.answer, "my DM answer");
    assert_eq!(h.engine.store().reply(k1.id, ALICE).await.unwrap().unwrap().answer, "my DM answer");
    // Bad input via DM is reported as such.
    assert!(matches!(h.engine.answer_by_dm(ALICE, dm(4), "   ").await, Err(EngineError::Input(_))));

    // Two open check-ins (two cohorts), the first answered: the DM goes to
    // the second, and the first answer stays.
    let k2 = post_at(&h, first + Duration::days(1)).await;
    h.set(first + Duration::days(1) + Duration::hours(1));
    let reply = saved_to(h.engine.answer_by_dm(ALICE, dm(5), "tuesday answer").await.unwrap());
    assert_eq!(reply.checkin_id, k2.id);
    assert_eq!(h.engine.store().reply(k2.id, ALICE).await.unwrap().unwrap().answer, "tuesday answer");
    assert_eq!(h.engine.store().reply(k1.id, ALICE).await.unwrap().unwrap().answer, "my DM answer");
    // Bob is only in the first cohort: not ambiguous for him.
    saved_to(h.engine.answer_by_dm(BOB, dm(6), "bob here").await.unwrap());
    assert!(h.engine.store().reply(k1.id, BOB).await.unwrap().is_some());

    // Both answered: the next DM asks, and stores nothing.
    let DmAnswer::Choose(choices) = h.engine.answer_by_dm(ALICE, dm(7), "which one?").await.unwrap() else {
        panic!("expected a question");
    };
    let asked: Vec<_> = choices.iter().map(|c| (c.checkin_id, c.cohort_name.as_str(), c.answered)).collect();
    assert_eq!(asked, [(k1.id, "staff-path", true), (k2.id, "tuesdays", true)]);
    assert_eq!(h.engine.store().reply(k1.id, ALICE).await.unwrap().unwrap().answer, "my DM answer");
    assert_eq!(h.engine.store().reply(k2.id, ALICE).await.unwrap().unwrap().answer, "tuesday answer");

    // After leaving one cohort, Alice's DM is unambiguous again.
    h.engine.leave(&c1, ALICE).await.unwrap();
    let reply = saved_to(h.engine.answer_by_dm(ALICE, dm(8), "tuesday again").await.unwrap());
    assert_eq!(reply.checkin_id, k2.id);
}
on_both_backends!(dm_answers_go_to_the_one_open_checkin_not_yet_answered);

// ---- pause / resume -----------------------------------------------------------------

async fn pause_and_resume(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let cohort = reminder_cohort(&h).await;
    let err = h.engine.pause(&cohort, ALICE, 2).await.unwrap_err();
    assert!(matches!(err, EngineError::NotAMember), "{err}");
    h.engine.join(&cohort, ALICE).await.unwrap();
    for bad in [0, 13] {
        let err = h.engine.pause(&cohort, ALICE, bad).await.unwrap_err();
        assert!(matches!(err, EngineError::PauseWeeks), "{bad}: {err}");
    }
    assert!(h.engine.store().pauses(cohort.id, ALICE).await.unwrap().is_empty());
    assert!(matches!(h.engine.resume(&cohort, ALICE).await, Err(EngineError::NotPaused)));

    let until = h.engine.pause(&cohort, ALICE, 2).await.unwrap();
    assert_eq!(until, h.now() + Duration::weeks(2));
    // Paused: no reminder for the first week.
    let first = utc(FIRST_MONDAY);
    post_at(&h, first).await;
    h.set(first + Duration::hours(50));
    h.tick().await;
    assert!(h.chat.dms().is_empty());

    // Resumed: the reminder comes on the next tick.
    h.engine.resume(&cohort, ALICE).await.unwrap();
    assert!(matches!(h.engine.resume(&cohort, ALICE).await, Err(EngineError::NotPaused)));
    h.set(first + Duration::hours(51));
    h.tick().await;
    assert_eq!(h.chat.dms().len(), 1);
    let pauses = h.engine.store().pauses(cohort.id, ALICE).await.unwrap();
    assert_eq!(pauses.len(), 1);
    assert_eq!(pauses[0].ends_at, first + Duration::hours(50));
}
on_both_backends!(pause_and_resume);

// ---- cohort management ------------------------------------------------------------

async fn setup_cohort_creates_then_updates_in_place(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let c = weekly_cohort(&h).await;
    assert_eq!(c.source, CohortSource::Discord);
    let mut d = draft("staff-path", CHANNEL, "0 30 17 * * Fri", "Europe/Berlin");
    d.reminder_after = Some("1d".into());
    let u = setup(&h, d).await;
    assert_eq!(u.id, c.id);
    assert_eq!(u.spec.schedule.expr(), "0 30 17 * * Fri");
    assert_eq!(u.spec.reminder_after, Some(StdDuration::from_secs(86_400)));
    assert_eq!(h.engine.store().active_cohorts().await.unwrap().len(), 1);

    // A bad draft is a field error and changes nothing.
    let err = h.engine.setup_cohort(draft("x", OTHER_CHANNEL, "0 0 9 * * Mon", "Mars/Olympus")).await.unwrap_err();
    assert!(matches!(err, EngineError::Field(ref f) if f.field == "timezone"), "{err}");
    assert!(h.engine.store().cohort_by_channel(OTHER_CHANNEL).await.unwrap().is_none());

    // The same name in another channel is refused.
    let err = h.engine.setup_cohort(draft("staff-path", OTHER_CHANNEL, WEEKLY_UTC, "UTC")).await.unwrap_err();
    assert!(matches!(err, EngineError::NameTaken(_)), "{err}");

    // Another guild cannot take over this channel's cohort.
    let mut foreign = draft("foreign", CHANNEL, WEEKLY_UTC, "UTC");
    foreign.guild_id = 999;
    assert!(h.engine.setup_cohort(foreign).await.is_err());
    assert_eq!(h.engine.store().cohort(c.id).await.unwrap().unwrap().spec.guild_id, GUILD);

    // Remove, then set up again: the same row comes back.
    let removed = h.engine.remove_cohort(GUILD, CHANNEL).await.unwrap();
    assert_eq!(removed.id, c.id);
    assert!(h.engine.cohort_of_channel(GUILD, CHANNEL).await.unwrap().is_none());
    assert!(matches!(h.engine.remove_cohort(GUILD, CHANNEL).await, Err(EngineError::NotACohortChannel)));
    let back = setup(&h, draft("staff-path", CHANNEL, WEEKLY_UTC, "UTC")).await;
    assert_eq!(back.id, c.id);
    assert!(back.active);
}
on_both_backends!(setup_cohort_creates_then_updates_in_place);

async fn the_digest_never_goes_to_a_members_channel(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let mut own = draft("a", CHANNEL, WEEKLY_UTC, "UTC");
    own.digest_channel_id = Some(CHANNEL.get());
    let err = h.engine.setup_cohort(own).await.unwrap_err();
    assert!(matches!(err, EngineError::Field(ref f) if f.field == "digest_channel_id"), "{err}");

    let mut a = draft("a", CHANNEL, WEEKLY_UTC, "UTC");
    a.digest_channel_id = Some(444);
    setup(&h, a).await;
    let mut b = draft("b", OTHER_CHANNEL, WEEKLY_UTC, "UTC");
    b.digest_channel_id = Some(CHANNEL.get());
    let err = h.engine.setup_cohort(b).await.unwrap_err();
    assert!(matches!(err, EngineError::Field(_)), "{err}");
    assert!(err.to_string().contains("`a`"), "{err}");
    // A cohort in the mentors' digest channel of another is refused too.
    let err = h.engine.setup_cohort(draft("c", ChannelId::new(444), WEEKLY_UTC, "UTC")).await.unwrap_err();
    assert!(err.to_string().contains("digest"), "{err}");
    // Sharing one mentors' channel is fine, and updating a cohort keeps its own digest.
    let mut d = draft("d", OTHER_CHANNEL, WEEKLY_UTC, "UTC");
    d.digest_channel_id = Some(444);
    setup(&h, d).await;
    let mut a2 = draft("a", CHANNEL, "0 0 10 * * Mon", "UTC");
    a2.digest_channel_id = Some(444);
    setup(&h, a2).await;
}
on_both_backends!(the_digest_never_goes_to_a_members_channel);

async fn file_cohorts_cannot_be_changed_from_discord(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let file = h.engine.sync_file_cohorts(&[spec("from-file", CHANNEL, WEEKLY_UTC, "UTC")]).await.unwrap();
    assert_eq!(file[0].source, CohortSource::File);
    let err = h.engine.setup_cohort(draft("renamed", CHANNEL, "0 0 10 * * Tue", "UTC")).await.unwrap_err();
    assert!(matches!(err, EngineError::FileManaged(ref n) if n == "from-file"), "{err}");
    assert!(err.to_string().contains("config file"), "{err}");
    let err = h.engine.remove_cohort(GUILD, CHANNEL).await.unwrap_err();
    assert!(matches!(err, EngineError::FileManaged(_)), "{err}");
    let stored = h.engine.store().cohort(file[0].id).await.unwrap().unwrap();
    assert_eq!(stored.spec.name, "from-file");
    assert_eq!(stored.spec.schedule.expr(), WEEKLY_UTC);
    assert!(stored.active);
}
on_both_backends!(file_cohorts_cannot_be_changed_from_discord);

async fn sync_file_cohorts_twice_updates_in_place(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let a = spec("a", CHANNEL, WEEKLY_UTC, "UTC");
    let b = spec("b", OTHER_CHANNEL, "0 0 9 * * Tue", "Europe/Berlin");
    let first = h.engine.sync_file_cohorts(&[a.clone(), b.clone()]).await.unwrap();
    let again = h.engine.sync_file_cohorts(&[a.clone(), b.clone()]).await.unwrap();
    assert_eq!(first.iter().map(|c| c.id).collect::<Vec<_>>(), again.iter().map(|c| c.id).collect::<Vec<_>>());
    assert_eq!(h.engine.store().active_cohorts().await.unwrap().len(), 2);

    // The file changed: new schedule and tracks for `a`.
    let mut a2 = a.clone();
    a2.schedule = Schedule::parse("0 0 10 * * Wed", "UTC").unwrap();
    a2.tracks = vec![Track::Impact];
    let third = h.engine.sync_file_cohorts(&[a2.clone(), b.clone()]).await.unwrap();
    assert_eq!(third[0].id, first[0].id);
    let stored = h.engine.store().cohort(first[0].id).await.unwrap().unwrap();
    assert_eq!(stored.spec, a2);
    assert_eq!(stored.created_at, first[0].created_at);

    // Renamed in the file, same channel: still the same cohort.
    let mut a3 = a2.clone();
    a3.name = "a-renamed".into();
    let fourth = h.engine.sync_file_cohorts(&[a3, b]).await.unwrap();
    assert_eq!(fourth[0].id, first[0].id);
    assert_eq!(h.engine.store().active_cohorts().await.unwrap().len(), 2);
}
on_both_backends!(sync_file_cohorts_twice_updates_in_place);

async fn the_file_wins_over_a_discord_cohort_of_the_same_name(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let discord = setup(&h, draft("shared", CHANNEL, "0 0 18 * * Fri", "UTC")).await;
    let synced = h.engine.sync_file_cohorts(&[spec("shared", CHANNEL, WEEKLY_UTC, "UTC")]).await.unwrap();
    assert_eq!(synced[0].id, discord.id);
    assert_eq!(synced[0].source, CohortSource::File);
    assert_eq!(synced[0].spec.schedule.expr(), WEEKLY_UTC);
}
on_both_backends!(the_file_wins_over_a_discord_cohort_of_the_same_name);

async fn a_file_cohort_moving_onto_another_cohorts_channel_is_a_clear_error(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    h.engine.sync_file_cohorts(&[spec("a", CHANNEL, WEEKLY_UTC, "UTC")]).await.unwrap();
    let discord = setup(&h, draft("made-in-discord", OTHER_CHANNEL, WEEKLY_UTC, "UTC")).await;
    let err = h.engine.sync_file_cohorts(&[spec("a", OTHER_CHANNEL, WEEKLY_UTC, "UTC")]).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, EngineError::ChannelTaken { .. }), "{text}");
    assert!(
        text.contains("`a`") && text.contains("`made-in-discord`") && text.contains(&OTHER_CHANNEL.to_string()),
        "{text}"
    );
    // Nothing changed.
    let stored = h.engine.store().cohort(discord.id).await.unwrap().unwrap();
    assert_eq!(stored.spec.name, "made-in-discord");
    assert_eq!(h.engine.store().cohort_by_name("a").await.unwrap().unwrap().spec.channel_id, CHANNEL);
}
on_both_backends!(a_file_cohort_moving_onto_another_cohorts_channel_is_a_clear_error);

async fn a_cohort_removed_from_the_file_stops(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let a = spec("a", CHANNEL, WEEKLY_UTC, "UTC");
    let b = spec("b", OTHER_CHANNEL, WEEKLY_UTC, "UTC");
    let synced = h.engine.sync_file_cohorts(&[a.clone(), b.clone()]).await.unwrap();
    let discord = setup(&h, draft("made-in-discord", ChannelId::new(222_222_222_222_222_999), WEEKLY_UTC, "UTC")).await;

    // `b` is deleted from the file; the next start syncs only `a`.
    h.engine.sync_file_cohorts(std::slice::from_ref(&a)).await.unwrap();
    let active: Vec<String> =
        h.engine.store().active_cohorts().await.unwrap().into_iter().map(|c| c.spec.name).collect();
    assert_eq!(active, vec!["a".to_string(), "made-in-discord".to_string()]);
    post_at_all(&h, utc(FIRST_MONDAY), 2).await;
    assert!(h.chat.posts().iter().all(|p| p.post.channel_id != OTHER_CHANNEL), "nothing posted for b");

    // Put back in the file: active again, same row.
    let back = h.engine.sync_file_cohorts(&[a, b]).await.unwrap();
    assert_eq!(back[1].id, synced[1].id);
    assert!(back[1].active);
    assert!(h.engine.store().cohort(discord.id).await.unwrap().unwrap().active, "Discord cohorts are not the file's");
}
on_both_backends!(a_cohort_removed_from_the_file_stops);

async fn post_at_all(h: &Harness, at: DateTime<Utc>, n: usize) {
    h.set(at);
    let r = h.tick().await;
    assert_eq!(r.posted.len(), n, "{r:?}");
}

async fn cohort_for_member_resolution(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let c1 = weekly_cohort(&h).await;
    let c2 = setup(&h, draft("second", OTHER_CHANNEL, WEEKLY_UTC, "UTC")).await;
    let elsewhere = ChannelId::new(333);
    // In a cohort channel: that cohort.
    assert_eq!(h.engine.cohort_for_member(GUILD, OTHER_CHANNEL, ALICE).await.unwrap().id, c2.id);
    // Elsewhere: their only cohort, or an error that says what to do.
    assert!(matches!(h.engine.cohort_for_member(GUILD, elsewhere, ALICE).await, Err(EngineError::NotAMember)));
    h.engine.join(&c1, ALICE).await.unwrap();
    assert_eq!(h.engine.cohort_for_member(GUILD, elsewhere, ALICE).await.unwrap().id, c1.id);
    h.engine.join(&c2, ALICE).await.unwrap();
    assert!(matches!(h.engine.cohort_for_member(GUILD, elsewhere, ALICE).await, Err(EngineError::AmbiguousCohort)));
    // Nothing crosses guilds.
    assert!(h.engine.cohort_of_channel(GuildId::new(999), CHANNEL).await.unwrap().is_none());
    post_at_all(&h, utc(FIRST_MONDAY), 2).await;
    let open = h.engine.store().open_checkin(c1.id, h.now()).await.unwrap().unwrap();
    assert!(matches!(h.engine.checkin_in_guild(open.id, GuildId::new(999)).await, Err(EngineError::UnknownCheckIn)));
    assert_eq!(h.engine.checkin_in_guild(open.id, GUILD).await.unwrap().1.id, c1.id);
}
on_both_backends!(cohort_for_member_resolution);

async fn changing_the_schedule_leaves_one_open_checkin(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let cohort = weekly_cohort(&h).await;
    h.engine.join(&cohort, ALICE).await.unwrap();
    let first = utc(FIRST_MONDAY);
    let monday = post_at(&h, first).await;
    // The admin switches to daily check-ins on Monday afternoon.
    h.set(first + Duration::hours(5));
    setup(&h, draft("staff-path", CHANNEL, "0 0 9 * * *", "UTC")).await;
    let tuesday = post_at(&h, first + Duration::days(1)).await;
    h.set(first + Duration::days(1) + Duration::hours(1));
    // Only Tuesday's check-in is open now: a DM goes to it, Monday's is closed.
    let reply = saved_to(h.engine.answer_by_dm(ALICE, MessageId::new(1), "daily now").await.unwrap());
    assert_eq!(reply.checkin_id, tuesday.id);
    let err = h.engine.answer(&monday, ALICE, "late", "", ReplySource::Modal).await.unwrap_err();
    assert!(matches!(err, EngineError::CheckInClosed), "{err}");
    let ledger = h.engine.store().checkins_of_cohort(cohort.id).await.unwrap();
    assert_eq!(ledger[0].closes_at, ledger[1].occurrence_at, "a check-in closes when the next one opens");
}
on_both_backends!(changing_the_schedule_leaves_one_open_checkin);

async fn a_longer_schedule_keeps_the_open_checkin_open_until_its_next_occurrence(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    weekly_cohort(&h).await;
    let first = utc(FIRST_MONDAY);
    let monday = post_at(&h, first).await;
    // Switched to monthly (the 1st at 09:00) on Tuesday.
    h.set(first + Duration::days(1));
    setup(&h, draft("staff-path", CHANNEL, "0 0 9 1 * *", "UTC")).await;
    let k = h.engine.store().checkin(monday.id).await.unwrap().unwrap();
    assert_eq!(k.closes_at, utc("2027-02-01T09:00:00Z"), "open until the next occurrence of the new schedule");
    // Still answerable after the old weekly close.
    h.set(first + Duration::days(10));
    h.tick().await;
    h.engine.answer(&monday, ALICE, "still open", "", ReplySource::Modal).await.unwrap();
    assert!(h.chat.posts().len() == 1);
    post_at(&h, utc("2027-02-01T09:00:00Z")).await;
    assert!(matches!(
        h.engine.answer(&monday, ALICE, "now closed", "", ReplySource::Modal).await,
        Err(EngineError::CheckInClosed)
    ));
}
on_both_backends!(a_longer_schedule_keeps_the_open_checkin_open_until_its_next_occurrence);

async fn a_schedule_that_has_ended_does_not_stop_the_scheduler(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    // Stored while it still had occurrences; by now it has none left.
    let mut ended = spec("old", OTHER_CHANNEL, WEEKLY_UTC, "UTC");
    ended.schedule = Schedule::parse_stored("0 0 9 * * Mon 2020", "UTC").unwrap();
    h.engine.store().insert_cohort(&ended, CohortSource::Discord, utc("2020-01-01T00:00:00Z")).await.unwrap();
    let cohort = weekly_cohort(&h).await;
    h.set(utc(FIRST_MONDAY));
    let r = h.engine.tick().await.expect("tick");
    assert_eq!(r.posted, vec![occurrence_nonce(cohort.id, utc(FIRST_MONDAY))]);
    let wake = h.engine.next_wake().await.expect("plan");
    assert!(wake > h.now());
}
on_both_backends!(a_schedule_that_has_ended_does_not_stop_the_scheduler);

async fn a_channel_whose_file_cohort_was_dropped_can_be_set_up_in_discord(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let file = h.engine.sync_file_cohorts(&[spec("from-file", CHANNEL, WEEKLY_UTC, "UTC")]).await.unwrap();
    h.engine.sync_file_cohorts(&[]).await.unwrap();
    let c = setup(&h, draft("from-discord", CHANNEL, "0 0 10 * * Tue", "UTC")).await;
    assert_eq!(c.id, file[0].id, "the channel's history stays with it");
    assert_eq!(c.source, CohortSource::Discord);
    assert!(c.active);
    h.engine.remove_cohort(GUILD, CHANNEL).await.unwrap();
}
on_both_backends!(a_channel_whose_file_cohort_was_dropped_can_be_set_up_in_discord);

// ---- forget-me --------------------------------------------------------------------

async fn forget_me_leaves_no_row_mentioning_the_user(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let c1 = reminder_cohort(&h).await;
    let c2 = setup(&h, draft("second", OTHER_CHANNEL, "0 0 9 * * Tue", "UTC")).await;
    let first = utc(FIRST_MONDAY);
    for u in [ALICE, BOB] {
        h.engine.join(&c1, u).await.unwrap();
        h.engine.join(&c2, u).await.unwrap();
    }
    let k1 = post_at(&h, first).await;
    for u in [ALICE, BOB] {
        h.engine.answer(&k1, u, "v1", "2", ReplySource::Modal).await.unwrap();
        h.engine.answer(&k1, u, "v2", "3", ReplySource::Modal).await.unwrap();
        h.engine.record_impact(&c1, u, "shipped", "-30% p99", "checkout", "https://x.test").await.unwrap();
        h.engine.pause(&c2, u, 2).await.unwrap();
    }
    post_at(&h, first + Duration::days(1)).await;
    // Both get a reminder for the second week's check-in.
    let k3 = post_at(&h, first + Duration::weeks(1)).await;
    h.set(first + Duration::weeks(1) + Duration::hours(48));
    h.tick().await;
    assert_eq!(h.engine.store().reminders_sent(k3.id).await.unwrap(), vec![ALICE, BOB]);

    let bob_before = rows_holding(&h.db, BOB.get() as i64).await;
    assert!(!rows_holding(&h.db, ALICE.get() as i64).await.is_empty());
    let deleted = h.engine.forget_me(ALICE).await.unwrap();
    assert!(deleted > 0);

    // Every table, every column: nothing holds Alice's id.
    assert_eq!(rows_holding(&h.db, ALICE.get() as i64).await, vec![]);
    for (table, n) in h.engine.store().rows_mentioning_user(ALICE).await.unwrap() {
        assert_eq!(n, 0, "{table}");
    }
    // Her answer text is gone too (it lived in replies and reply_edits).
    let texts = h.db.count("SELECT COUNT(*) FROM replies WHERE answer IN ('v1', 'v2')").await;
    assert_eq!(texts, 1, "only Bob's current reply remains");
    // Bob is untouched.
    assert_eq!(rows_holding(&h.db, BOB.get() as i64).await, bob_before);
    // Forgotten means forgotten: no reminder for Alice later, and the cohort goes on.
    h.set(first + Duration::weeks(1) + Duration::hours(49));
    h.tick().await;
    assert!(h.chat.dms().iter().filter(|d| d.user_id == ALICE).count() == 1, "only the one sent before");
    assert_eq!(h.engine.forget_me(ALICE).await.unwrap(), 0);
}
on_both_backends!(forget_me_leaves_no_row_mentioning_the_user);

// ---- misc --------------------------------------------------------------------------

async fn next_wake_is_the_next_occurrence_or_sooner(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    weekly_cohort(&h).await;
    h.set(utc(FIRST_MONDAY) - Duration::seconds(30));
    let wake = h.engine.next_wake().await.unwrap();
    assert_eq!(wake, utc(FIRST_MONDAY));
    h.set(utc(START));
    let wake = h.engine.next_wake().await.unwrap();
    assert!(wake > h.now() && wake <= h.now() + Duration::seconds(60), "{wake}");
}
on_both_backends!(next_wake_is_the_next_occurrence_or_sooner);

async fn a_week_has_its_weekday_in_the_cohorts_zone(backend: Backend) {
    // Monday 09:00 in Auckland is Sunday 20:00 UTC: the local day counts.
    let h = Harness::on(backend, utc("2027-01-01T00:00:00Z")).await;
    let c = setup(&h, draft("kiwis", CHANNEL, WEEKLY_UTC, "Pacific/Auckland")).await;
    tick_every(&h, h.now(), utc("2027-01-15T00:00:00Z"), Duration::hours(1)).await;
    let ledger = h.engine.store().checkins_of_cohort(c.id).await.unwrap();
    assert_eq!(ledger.len(), 2);
    let zone: Tz = "Pacific/Auckland".parse().unwrap();
    for k in &ledger {
        let local = k.occurrence_at.with_timezone(&zone);
        assert_eq!((local.weekday(), local.hour()), (Weekday::Mon, 9));
        assert_eq!(k.occurrence_at.weekday(), Weekday::Sun);
    }
    let expected = zone.with_ymd_and_hms(2027, 1, 4, 9, 0, 0).unwrap().with_timezone(&Utc);
    assert_eq!(ledger[0].occurrence_at, expected);
}
on_both_backends!(a_week_has_its_weekday_in_the_cohorts_zone);

#[allow(dead_code)]
fn assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Engine>();
}

/// The engine says what went wrong; which slash command fixes it is the
/// Discord edge's to say (a web edge has no slash commands), and what a
/// Discord user reads is unchanged.
#[test]
fn engine_errors_name_no_slash_command_and_the_discord_edge_adds_it() {
    let cases = [
        (
            EngineError::NotAMember,
            "You are not a member of a cohort here. Use `/cohort join` in a cohort's channel first.".to_string(),
        ),
        (
            EngineError::ChannelTaken { cohort: "a".into(), channel_id: OTHER_CHANNEL, owner: "b".into() },
            format!(
                "cohort `a`: channel {OTHER_CHANNEL} already belongs to cohort `b`; give `a` its own channel, or \
                 remove `b` (`/cohort remove` in that channel)"
            ),
        ),
        (
            EngineError::BotCannotPost { missing: vec!["Embed Links", "Attach Files"] },
            "Trellis can't post check-ins in this channel: it lacks Embed Links, Attach Files. Give Trellis's role \
             View Channel, Send Messages, Embed Links and Attach Files in this channel (channel settings → \
             Permissions), then run `/cohort setup` again."
                .to_string(),
        ),
    ];
    for (e, in_discord) in cases {
        let engine_text = e.to_string();
        assert!(!engine_text.contains('/'), "{engine_text}");
        assert!(in_discord.starts_with(&engine_text), "{engine_text}");
        assert_eq!(trellis::discord::reply_for(&e), in_discord);
    }
    let other = EngineError::NoOpenCheckIn;
    assert_eq!(trellis::discord::reply_for(&other), other.to_string(), "other messages pass through");
}
