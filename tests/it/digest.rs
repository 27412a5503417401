//! The mentors' digest, driven by a manual clock and a fake chat: one digest
//! per closed check-in (two engines, repeated ticks, a failed send), none
//! without a digest channel or for old history, and what it says.

use chrono::{DateTime, Duration, Utc};
use trellis::domain::{ChannelId, CheckIn, CheckInId, Cohort, ReplySource, UserId};
use trellis::engine::Engine;
use trellis_testkit::typed::{ALICE, BOB, CAROL, CHANNEL, DAVE};
use trellis_testkit::{Backend, Harness, draft, on_both_backends, utc};

const WEEKLY_UTC: &str = "0 0 9 * * Mon";
const DIGEST_CHANNEL: ChannelId = ChannelId::new(444_444_444_444_444_444);
/// Friday; the first Monday 09:00 UTC is 2027-01-04.
const START: &str = "2027-01-01T12:00:00Z";

fn monday(week: i64) -> DateTime<Utc> {
    utc("2027-01-04T09:00:00Z") + Duration::weeks(week)
}

async fn digest_cohort(h: &Harness) -> Cohort {
    let mut d = draft("staff-path", CHANNEL, WEEKLY_UTC, "UTC");
    d.digest_channel_id = Some(DIGEST_CHANNEL.get());
    h.engine.setup_cohort(d).await.expect("setup")
}

/// Tick at `at` and return the check-in open then.
async fn open_at(h: &Harness, cohort: &Cohort, at: DateTime<Utc>) -> CheckIn {
    h.set(at);
    h.tick().await;
    h.engine.store().open_checkin(cohort.id, at).await.unwrap().expect("an open check-in")
}

async fn answer(engine: &Engine, checkin: &CheckIn, user: UserId, text: &str) {
    engine.answer(checkin, user, text, "4", ReplySource::Modal).await.expect("answer");
}

async fn a_closed_checkin_gets_a_digest_with_counts_and_quiet_members_but_no_answer_text(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let cohort = digest_cohort(&h).await;
    for user in [ALICE, BOB, CAROL] {
        h.engine.join(&cohort, user).await.unwrap();
    }
    let secret = "SECRET-ANSWER: I told the VP the migration slips, with numbers";

    let week0 = open_at(&h, &cohort, monday(0)).await;
    answer(&h.engine, &week0, ALICE, secret).await;
    answer(&h.engine, &week0, CAROL, "carol week 0").await;
    assert!(h.chat.digests().is_empty(), "nothing has closed yet");

    // Week 1: Alice answers, Carol pauses, Bob is silent for the second time.
    let week1 = open_at(&h, &cohort, monday(1)).await;
    let r = h.tick().await;
    assert!(r.digests.is_empty(), "the week-0 digest went out with the tick that closed it: {r:?}");
    answer(&h.engine, &week1, ALICE, secret).await;
    h.engine.pause(&cohort, CAROL, 1).await.unwrap();

    h.set(monday(2));
    let r = h.tick().await;
    assert_eq!(r.digests, vec![week1.id], "{r:?}");
    let digests = h.chat.digests();
    assert_eq!(digests.len(), 2, "one per closed check-in");
    assert_eq!(digests[0].digest.checkin_id, week0.id);

    let d0 = &digests[0].digest;
    assert_eq!((d0.answered, d0.missing, d0.paused), (2, 1, 0), "{d0:?}");
    assert!(d0.quiet.is_empty(), "one miss is not quiet: {d0:?}");

    let post = &digests[1];
    assert_eq!(post.channel_id, DIGEST_CHANNEL);
    assert_eq!(post.cohort_name, "staff-path");
    let d = &post.digest;
    assert_eq!((d.answered, d.missing, d.paused, d.members), (1, 1, 1, 3), "{d:?}");
    assert_eq!(d.quiet.iter().map(|q| (q.user_id, q.missed_in_a_row)).collect::<Vec<_>>(), vec![(BOB, 2)]);
    assert_eq!(d.occurrence_at, monday(1));
    assert_eq!(d.closes_at, monday(2));
    let asked: u32 = d.tracks.values().map(|c| c.checkins).sum();
    assert_eq!(asked, 2, "both check-ins count toward coverage: {:?}", d.tracks);
    let answered: u32 = d.tracks.values().map(|c| c.answered).sum();
    assert_eq!(answered, 3);

    // What goes over the wire: the counts and the quiet member, no answer text, no pings.
    for p in &digests {
        assert!(!format!("{p:?}").contains("SECRET-ANSWER"), "{p:?}");
        let wire = serde_json::to_value(trellis::discord::render::digest_message(p)).unwrap();
        let text = wire.to_string();
        assert!(!text.contains("SECRET-ANSWER") && !text.contains("carol week 0"), "{text}");
        assert_eq!(wire["allowed_mentions"]["parse"], serde_json::json!([]), "{text}");
        assert_eq!(wire["enforce_nonce"], true);
        assert_eq!(wire["nonce"], p.nonce.as_str());
        assert_ne!(p.nonce, week0.nonce, "the digest has its own nonce");
    }
    let wire = serde_json::to_value(trellis::discord::render::digest_message(post)).unwrap();
    let fields = wire["embeds"][0]["fields"].as_array().unwrap();
    let field = |name: &str| -> String {
        let f = fields.iter().find(|f| f["name"].as_str().unwrap().starts_with(name)).expect(name);
        f["value"].as_str().unwrap().to_string()
    };
    assert_eq!((field("Answered"), field("Missing"), field("Paused")), ("1".into(), "1".into(), "1".into()));
    assert!(field("Quiet").contains(&format!("<@{BOB}> · 2 missed")), "{}", field("Quiet"));
    assert!(!field("Quiet").contains(&ALICE.to_string()));
    assert!(field("Track coverage").contains("not asked"), "{}", field("Track coverage"));
}
on_both_backends!(a_closed_checkin_gets_a_digest_with_counts_and_quiet_members_but_no_answer_text);

async fn two_engines_and_repeated_ticks_send_one_digest_per_checkin(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let cohort = digest_cohort(&h).await;
    h.engine.join(&cohort, ALICE).await.unwrap();
    let other = h.another_engine().await;
    for week in 0..4 {
        h.set(monday(week));
        // Both instances wake at the same moment, again and again.
        for _ in 0..3 {
            let (a, b) = tokio::join!(h.engine.tick(), other.tick());
            a.unwrap();
            b.unwrap();
        }
        h.set(monday(week) + Duration::hours(1));
        h.tick().await;
        other.tick().await.unwrap();
    }
    let digests = h.chat.digests();
    let ledger = h.engine.store().checkins_of_cohort(cohort.id).await.unwrap();
    let closed: Vec<CheckInId> = ledger.iter().filter(|k| k.closes_at <= h.now()).map(|k| k.id).collect();
    assert_eq!(closed.len(), 3);
    assert_eq!(digests.iter().map(|p| p.digest.checkin_id).collect::<Vec<_>>(), closed);
    assert_eq!(h.chat.digest_attempts(), 3, "no second attempt at any digest");
    for id in closed {
        assert!(h.engine.store().digest_claimed_at(id).await.unwrap().is_some());
    }
}
on_both_backends!(two_engines_and_repeated_ticks_send_one_digest_per_checkin);

async fn a_failed_digest_is_retried_by_a_later_tick_and_sent_once(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let cohort = digest_cohort(&h).await;
    let week0 = open_at(&h, &cohort, monday(0)).await;

    h.chat.fail_next_digests(1);
    h.set(monday(1));
    let r = h.tick().await;
    assert_eq!(r.failures, 1, "{r:?}");
    assert!(h.chat.digests().is_empty());
    assert_eq!(h.engine.store().digest_claimed_at(week0.id).await.unwrap(), None, "the claim was given back");

    // The scheduler comes back within its longest sleep.
    let wake = h.engine.next_wake().await.unwrap();
    assert!(wake <= monday(1) + Duration::seconds(60), "{wake}");
    h.set(monday(1) + Duration::seconds(60));
    let r = h.tick().await;
    assert_eq!(r.digests, vec![week0.id], "{r:?}");
    h.set(monday(1) + Duration::seconds(120));
    assert!(h.tick().await.digests.is_empty());
    assert_eq!(h.chat.digests().len(), 1);
    assert_eq!(h.chat.digest_attempts(), 2);
}
on_both_backends!(a_failed_digest_is_retried_by_a_later_tick_and_sent_once);

async fn no_digest_without_a_digest_channel(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let cohort = h.engine.setup_cohort(draft("no-digest", CHANNEL, WEEKLY_UTC, "UTC")).await.unwrap();
    h.engine.join(&cohort, DAVE).await.unwrap();
    for week in 0..4 {
        h.set(monday(week));
        let r = h.tick().await;
        assert_eq!(r.posted.len(), 1);
        assert!(r.digests.is_empty());
    }
    assert_eq!(h.chat.digest_attempts(), 0);
}
on_both_backends!(no_digest_without_a_digest_channel);

async fn only_the_newest_recent_close_gets_a_digest(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    // Three weeks without a digest channel...
    let cohort = h.engine.setup_cohort(draft("staff-path", CHANNEL, WEEKLY_UTC, "UTC")).await.unwrap();
    for week in 0..3 {
        open_at(&h, &cohort, monday(week)).await;
    }
    // ...then mentors add one: last week's digest comes, not the whole history.
    h.set(monday(2) + Duration::days(1));
    let cohort = digest_cohort(&h).await;
    let r = h.tick().await;
    let ledger = h.engine.store().checkins_of_cohort(cohort.id).await.unwrap();
    assert_eq!(r.digests, vec![ledger[1].id], "{r:?}");

    // The bot is down for ten days: the check-in that closed while it was down
    // closed more than 7 days ago when it is back, so it gets no digest.
    h.set(monday(3) + Duration::days(10));
    let r = h.tick().await;
    assert_eq!(r.posted.len(), 1, "the newest missed occurrence is posted: {r:?}");
    assert!(r.digests.is_empty(), "{r:?}");
    assert_eq!(h.chat.digests().len(), 1);
}
on_both_backends!(only_the_newest_recent_close_gets_a_digest);

async fn the_scheduler_wakes_when_a_checkin_closes(backend: Backend) {
    // A bounded schedule's last check-in closes a week after it opens, with no
    // occurrence to wake for: the close itself must wake the scheduler.
    let h = Harness::on(backend, utc("2027-12-20T12:00:00Z")).await;
    let mut d = draft("bounded", CHANNEL, "0 0 9 * * Mon 2027", "UTC");
    d.digest_channel_id = Some(DIGEST_CHANNEL.get());
    let cohort = h.engine.setup_cohort(d).await.unwrap();
    let last = open_at(&h, &cohort, utc("2027-12-27T09:00:00Z")).await;
    assert_eq!(last.closes_at, utc("2028-01-03T09:00:00Z"));

    h.set(last.closes_at - Duration::seconds(20));
    assert_eq!(h.engine.next_wake().await.unwrap(), last.closes_at);
    h.set(last.closes_at);
    assert_eq!(h.tick().await.digests, vec![last.id]);
}
on_both_backends!(the_scheduler_wakes_when_a_checkin_closes);

async fn the_digest_claim_is_exclusive_until_released(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let cohort = digest_cohort(&h).await;
    let week0 = open_at(&h, &cohort, monday(0)).await;
    let store = h.engine.store();
    let other = h.db.connect().await;
    let at = monday(1);
    assert!(store.claim_digest(week0.id, at).await.unwrap());
    assert!(!other.claim_digest(week0.id, at).await.unwrap(), "a second instance cannot claim it too");
    assert_eq!(store.digest_claimed_at(week0.id).await.unwrap(), Some(at));
    store.release_digest(week0.id).await.unwrap();
    assert!(other.claim_digest(week0.id, at).await.unwrap(), "released, it can be claimed again");
}
on_both_backends!(the_digest_claim_is_exclusive_until_released);
