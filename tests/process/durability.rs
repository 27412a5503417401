//! Crash safety of the real binary: SIGKILL at random points never loses a
//! confirmed answer, and never duplicates or skips a check-in post.
//!
//! Kill points come from a seeded PRNG; the seed is printed, and
//! `TRELLIS_SEED=<seed> cargo test --test process durability::` replays a run.

use std::collections::BTreeMap;
use std::time::Duration;

use fake_discord::{Actor, FakeDiscord, InteractionHandle};
use trellis::domain::{CheckInId, CohortId, MessageId, UserId};
use trellis_testkit::process::{self, TrellisProcess, wait_identified};
use trellis_testkit::{
    CHANNEL, GUILD, Rng, TempDb, USER0, YEARLY, answer_id, seed_cohort, seed_open_checkin, seed_recorded_checkin,
};

const BIN: &str = env!("CARGO_BIN_EXE_trellis");
/// The tests here time kills to the millisecond: run them one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
const WAIT: Duration = Duration::from_secs(20);

/// One modal submit of the burst.
struct Submit {
    user: u64,
    text: String,
    confidence: Option<u8>,
    handle: InteractionHandle,
}

impl Submit {
    /// The user saw "Answer saved" echoing exactly their text.
    fn confirmed(&self, fake: &FakeDiscord) -> bool {
        fake.interaction_response(&self.handle).is_some_and(|r| {
            r.kind == 4
                && r.data["embeds"][0]["title"] == "Answer saved"
                && r.data["embeds"][0]["description"] == self.text.as_str()
        })
    }
}

/// A burst of modal submits: `size` members answering for the first time,
/// and (after the first round) half as many members of the previous round
/// editing their answer.
fn burst(fake: &FakeDiscord, checkin: CheckInId, round: usize, size: usize) -> Vec<Submit> {
    let first = (0..size).map(|i| USER0 + (round * size + i) as u64);
    let edits = (round > 0).then(|| (0..size / 2).map(|i| USER0 + ((round - 1) * size + 2 * i) as u64));
    first
        .chain(edits.into_iter().flatten())
        .enumerate()
        .map(|(i, user)| {
            let text = format!("round {round}, member {user}: led the incident review and wrote the follow-up RFC");
            let confidence = (i % 6 != 0).then_some((i % 5) as u8 + 1);
            let conf = confidence.map(|c| c.to_string()).unwrap_or_default();
            let handle = fake.modal_submit(
                &Actor::in_guild(GUILD, CHANNEL, user),
                &answer_id(checkin),
                &[("answer", &text), ("confidence", &conf)],
            );
            Submit { user, text, confidence, handle }
        })
        .collect()
}

/// Each member's stored answer is their last confirmed one or a later
/// submit (which may have committed before the kill without being confirmed).
/// Returns (confirmed submits, stored-but-unconfirmed submits).
async fn check_nothing_confirmed_is_lost(
    store: &trellis::store::Store,
    fake: &FakeDiscord,
    checkin: CheckInId,
    submits: &[Submit],
    seed: u64,
) -> (usize, usize) {
    let mut by_user: BTreeMap<u64, Vec<&Submit>> = BTreeMap::new();
    for s in submits {
        by_user.entry(s.user).or_default().push(s);
    }
    let (mut confirmed, mut unconfirmed_stored) = (0, 0);
    for (user, subs) in by_user {
        let stored = store.reply(checkin, UserId::new(user)).await.unwrap();
        let last_confirmed = subs.iter().rposition(|s| s.confirmed(fake));
        confirmed += subs.iter().filter(|s| s.confirmed(fake)).count();
        let Some(stored) = stored else {
            assert!(last_confirmed.is_none(), "seed {seed}: the confirmed answer of member {user} is lost");
            continue;
        };
        let from = last_confirmed.unwrap_or(0);
        let Some(j) = subs[from..].iter().position(|s| s.text == stored.answer).map(|j| j + from) else {
            panic!(
                "seed {seed}: member {user} has {:?}, not their last confirmed answer or a later one",
                stored.answer
            );
        };
        assert_eq!(stored.confidence, subs[j].confidence, "seed {seed}: member {user}");
        if !subs[j].confirmed(fake) {
            unconfirmed_stored += 1;
        }
    }
    (confirmed, unconfirmed_stored)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmed_answers_survive_sigkill_at_random_points() {
    let _suite = crate::suite(module_path!());
    let _serial = SERIAL.lock().await;
    const ROUNDS: usize = 20;
    const BURST: usize = 40;
    let (mut rng, seed) = Rng::from_env_or_time();
    println!("kill-point seed: {seed} (replay with TRELLIS_SEED={seed})");

    let db = TempDb::new();
    let (cohort, checkin) = seed_open_checkin(&db).await;
    let fake = process::fake().await;
    let store = db.store().await;

    let mut submits: Vec<Submit> = Vec::new();
    let mut report = Vec::new();
    let (mut confirmed, mut committed_unconfirmed) = (0, 0);
    for round in 0..=ROUNDS {
        let mut bot = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[]);
        wait_identified(&fake, round + 1, WAIT).await;
        // On every restart: each answer confirmed before any earlier kill is there.
        (confirmed, committed_unconfirmed) =
            check_nothing_confirmed_is_lost(&store, &fake, checkin, &submits, seed).await;
        if round == ROUNDS {
            bot.sigterm();
            assert!(bot.wait(WAIT).await.expect("stops on SIGTERM").success());
            break;
        }

        let batch = burst(&fake, checkin, round, BURST);
        // Kill after the k-th confirmation, a random few ms later, while the
        // rest of the burst is being saved and answered.
        let k = rng.range(1, BURST as u64 - 5) as usize;
        let delay = Duration::from_millis(rng.range(0, 15));
        fake.wait_until(WAIT, "k confirmations", |f| {
            (batch.iter().filter(|s| s.confirmed(f)).count() >= k).then_some(())
        })
        .await;
        tokio::time::sleep(delay).await;
        bot.kill9().await;
        let seen = batch.iter().filter(|s| s.confirmed(&fake)).count();
        report.push(format!(
            "round {round}: SIGKILL {delay:?} after confirmation #{k}; {seen}/{} confirmed",
            batch.len()
        ));
        submits.extend(batch);
    }
    for line in &report {
        println!("{line}");
    }
    println!(
        "{ROUNDS} SIGKILLs, {} submits, {confirmed} confirmed and all present after restart; \
         {committed_unconfirmed} committed without the confirmation reaching the user",
        submits.len()
    );
    // The kill points must have cut bursts short, or nothing was tested.
    assert!(confirmed < submits.len(), "no kill landed mid-burst");
    assert!(confirmed >= ROUNDS, "at least one confirmation per round");
    // Nothing but what members submitted is stored.
    for r in store.replies_of_cohort(cohort).await.unwrap() {
        assert!(submits.iter().any(|s| s.user == r.user_id.get() && s.text == r.answer), "{r:?}");
    }
}

// ---------------------------------------------------------------------------
// Check-in posts across restarts
// ---------------------------------------------------------------------------

/// A check-in every 2 s: each window is 2 s long.
const EVERY_2S: &str = "*/2 * * * * *";
const PERIOD_MS: i64 = 2000;
/// A process up for this long within a window must have posted it.
const MUST_POST_WITHIN_MS: i64 = 1000;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

async fn sleep_until_ms(t: i64) {
    let ms = t - now_ms();
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms as u64)).await;
    }
}

/// The first occurrence (ms since the epoch) at least `lead_ms` from now.
fn next_occurrence(lead_ms: i64) -> i64 {
    let t = now_ms() + lead_ms;
    (t / PERIOD_MS + 1) * PERIOD_MS
}

/// Where to SIGKILL the bot around an occurrence `o`.
#[derive(Debug, Clone, Copy)]
enum KillPoint {
    /// Before `o` is recorded; restart inside its window.
    BeforeRecording { before_ms: i64, restart_after_ms: i64 },
    /// `o` recorded, its post failed (500) and was given back; killed before the retry.
    BetweenRecordingAndPosting { after_ms: i64 },
    /// `o` posted and marked; restart within its window.
    AfterPosting { after_ms: i64 },
    /// Down across several occurrences; restart inside the newest one's window.
    LongOutage { before_ms: i64, periods: i64, restart_after_ms: i64 },
}

/// A process's life, ms since the epoch.
struct Uptime {
    from: i64,
    to: i64,
}

fn channel_posts(fake: &FakeDiscord) -> Vec<fake_discord::RecordedRequest> {
    fake.requests_to("POST", &format!("/channels/{CHANNEL}/messages"))
}

async fn ledger(store: &trellis::store::Store, cohort: CohortId) -> Vec<trellis::domain::CheckIn> {
    store.checkins_of_cohort(cohort).await.unwrap()
}

async fn wait_status(store: &trellis::store::Store, cohort: CohortId, o: i64, want: &[&str], seed: u64) -> String {
    let deadline = now_ms() + 10_000;
    loop {
        let row = ledger(store, cohort).await.into_iter().find(|c| c.occurrence_at.timestamp_millis() == o);
        if let Some(status) = row.map(|c| c.status.as_str().to_string())
            && want.contains(&status.as_str())
        {
            return status;
        }
        assert!(now_ms() < deadline, "seed {seed}: occurrence {o} never reached {want:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the (re)started bot has caught up: the latest occurrence is in
/// the ledger and no row is waiting to be posted.
async fn wait_caught_up(store: &trellis::store::Store, cohort: CohortId, seed: u64) {
    let deadline = now_ms() + 10_000;
    loop {
        let latest = now_ms() / PERIOD_MS * PERIOD_MS;
        let rows = ledger(store, cohort).await;
        let recorded = rows.iter().any(|c| c.occurrence_at.timestamp_millis() == latest);
        if recorded && !rows.iter().any(|c| matches!(c.status.as_str(), "recorded" | "posting")) {
            return;
        }
        assert!(now_ms() < deadline, "seed {seed}: the bot never caught up");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_post_per_open_occurrence_across_sigkills() {
    let _suite = crate::suite(module_path!());
    let _serial = SERIAL.lock().await;
    let (mut rng, seed) = Rng::from_env_or_time();
    println!("kill-point seed: {seed} (replay with TRELLIS_SEED={seed})");
    let db = TempDb::new();
    let store = db.store().await;
    let cohort = seed_cohort(&store, "every-2s", GUILD, CHANNEL, EVERY_2S).await;
    let fake = process::fake().await;
    let messages_path = format!("/channels/{CHANNEL}/messages");
    let spawn = |n: &mut usize| {
        *n += 1;
        TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[])
    };

    let plan = [
        KillPoint::BeforeRecording {
            before_ms: rng.range(100, 500) as i64,
            restart_after_ms: rng.range(50, 500) as i64,
        },
        KillPoint::BetweenRecordingAndPosting { after_ms: rng.range(0, 300) as i64 },
        KillPoint::AfterPosting { after_ms: rng.range(0, 50) as i64 },
        KillPoint::LongOutage {
            before_ms: rng.range(100, 1500) as i64,
            periods: rng.range(2, 3) as i64,
            restart_after_ms: rng.range(50, 500) as i64,
        },
    ];
    let mut uptimes = Vec::new();
    let mut spawned = 0;
    let mut from = now_ms();
    let mut bot = spawn(&mut spawned);
    for point in plan {
        let o = next_occurrence(700);
        match point {
            KillPoint::BeforeRecording { before_ms, restart_after_ms } => {
                sleep_until_ms(o - before_ms).await;
                bot.kill9().await;
                uptimes.push(Uptime { from, to: now_ms() });
                sleep_until_ms(o + restart_after_ms).await;
            }
            KillPoint::BetweenRecordingAndPosting { after_ms } => {
                // The restarted bot may still be posting what fell in its
                // downtime; the failure is meant for `o`'s post.
                wait_caught_up(&store, cohort, seed).await;
                fake.fail_next_status("POST", &messages_path, 1, 500);
                // The post failed and the claim was given back: recorded, not posted.
                assert_eq!(wait_status(&store, cohort, o, &["recorded", "posted"], seed).await, "recorded");
                tokio::time::sleep(Duration::from_millis(after_ms as u64)).await;
                bot.kill9().await;
                uptimes.push(Uptime { from, to: now_ms() });
            }
            KillPoint::AfterPosting { after_ms } => {
                wait_status(&store, cohort, o, &["posted"], seed).await;
                tokio::time::sleep(Duration::from_millis(after_ms as u64)).await;
                bot.kill9().await;
                uptimes.push(Uptime { from, to: now_ms() });
            }
            KillPoint::LongOutage { before_ms, periods, restart_after_ms } => {
                sleep_until_ms(o - before_ms).await;
                bot.kill9().await;
                uptimes.push(Uptime { from, to: now_ms() });
                sleep_until_ms(o + periods * PERIOD_MS + restart_after_ms).await;
            }
        }
        println!("occurrence {o}: {point:?}");
        from = now_ms();
        bot = spawn(&mut spawned);
    }
    // Let the last restart live through a full window, then stop cleanly.
    sleep_until_ms(next_occurrence(0) + PERIOD_MS + 200).await;
    bot.sigterm();
    assert!(bot.wait(WAIT).await.expect("stops on SIGTERM").success());
    uptimes.push(Uptime { from, to: now_ms() });

    check_posts_against_ledger(&fake, &store, cohort, &uptimes, seed).await;
    fake.assert_no_unknown_routes();
}

/// Exactly one post per posted ledger row, none for the others; every
/// occurrence a process was up for long enough is posted; none that fell
/// entirely in downtime is.
async fn check_posts_against_ledger(
    fake: &FakeDiscord,
    store: &trellis::store::Store,
    cohort: CohortId,
    uptimes: &[Uptime],
    seed: u64,
) {
    let rows = ledger(store, cohort).await;
    let messages = fake.messages_in(CHANNEL);
    let nonce = |v: &Option<serde_json::Value>| v.as_ref().and_then(|n| n.as_str()).unwrap_or_default().to_string();
    // Successful create-message calls per nonce: Discord dedupes a repeated
    // nonce only for a few minutes, so the bot itself must not repeat one.
    let mut created: BTreeMap<String, usize> = BTreeMap::new();
    for r in channel_posts(fake).iter().filter(|r| r.status == 200) {
        *created.entry(nonce(&r.body.as_ref().map(|b| b["nonce"].clone()))).or_default() += 1;
    }
    let mut seen_nonces = std::collections::BTreeSet::new();
    for m in &messages {
        assert!(seen_nonces.insert(nonce(&m.nonce)), "seed {seed}: two messages with nonce {:?}", m.nonce);
    }
    let first = rows.first().expect("ledger rows").occurrence_at.timestamp_millis();
    let last = rows.last().unwrap().occurrence_at.timestamp_millis();
    assert_eq!(rows.len() as i64, (last - first) / PERIOD_MS + 1, "seed {seed}: every occurrence is in the ledger");
    let (mut posted, mut missed) = (0, 0);
    for row in &rows {
        let o = row.occurrence_at.timestamp_millis();
        let posts: Vec<_> = messages.iter().filter(|m| nonce(&m.nonce) == row.nonce).collect();
        let up_long_enough = uptimes.iter().any(|u| u.from.max(o) + MUST_POST_WITHIN_MS <= u.to.min(o + PERIOD_MS));
        let never_up = !uptimes.iter().any(|u| u.from < o + PERIOD_MS && o < u.to);
        match row.status.as_str() {
            "posted" => {
                posted += 1;
                assert_eq!(posts.len(), 1, "seed {seed}: occurrence {o} posted once");
                assert_eq!(created.get(&row.nonce), Some(&1), "seed {seed}: occurrence {o} sent once");
                assert_eq!(row.message_id, Some(MessageId::new(posts[0].id)), "seed {seed}: ledger names the message");
                let button = posts[0].components[0]["components"][0]["custom_id"].as_str().unwrap_or_default();
                assert_eq!(button, answer_id(row.id), "seed {seed}: the post's button answers its own row");
                assert!(!never_up, "seed {seed}: occurrence {o} fell in downtime yet was posted");
            }
            status => {
                missed += 1;
                assert!(posts.is_empty(), "seed {seed}: occurrence {o} is {status} but has a post");
                assert!(!up_long_enough, "seed {seed}: occurrence {o} fell while the bot was up, yet is {status}");
            }
        }
    }
    println!(
        "{} occurrences: {posted} posted once each, {missed} missed (fell in downtime); {} processes",
        rows.len(),
        uptimes.len()
    );
}

/// A crash while the post is in flight leaves the claim (`posting`) behind.
/// The restarted bot takes it over once the 2-minute lease expires and posts
/// again with the same nonce: one message whether or not Discord had created
/// it before the crash. Takes ~2.5 minutes, so it runs from
/// `scripts/reliability.sh`, not `cargo test`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "waits out the 2-minute post lease; run by scripts/reliability.sh"]
async fn post_in_flight_at_sigkill_is_completed_once_after_the_lease() {
    let _suite = crate::suite(module_path!());
    let _serial = SERIAL.lock().await;
    let db = TempDb::new();
    let store = db.store().await;
    let fake = process::fake_with_guilds(2).await;
    let now = chrono::Utc::now();
    let (at, closes) = (now - chrono::Duration::seconds(5), now + chrono::Duration::minutes(10));
    // Channel A: Discord creates the message, the bot dies before hearing so.
    // Channel B: the bot dies before Discord has done anything.
    let (chan_a, chan_b) = (CHANNEL, CHANNEL + 1000);
    let cohort_a = seed_cohort(&store, "created", GUILD, chan_a, YEARLY).await;
    let cohort_b = seed_cohort(&store, "not-created", GUILD + 1000, chan_b, YEARLY).await;
    // A's occurrence is older, so the scheduler (which posts one at a time) tries it first.
    let row_a = seed_recorded_checkin(&store, cohort_a, at - chrono::Duration::seconds(1), closes).await;
    let row_b = seed_recorded_checkin(&store, cohort_b, at, closes).await;
    let path = |c: u64| format!("/channels/{c}/messages");
    let in_flight = |c: u64| {
        let path = path(c);
        move |f: &FakeDiscord| (!f.requests_to("POST", &path).is_empty()).then_some(())
    };
    fake.delay_next_response("POST", &path(chan_a), 1, Duration::from_secs(60));
    fake.fail_next_status("POST", &path(chan_b), 1, 503);
    fake.delay_next_response("POST", &path(chan_b), 1, Duration::from_secs(60));

    // First crash: A's post is in flight (and done on Discord's side).
    let mut bot = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[]);
    fake.wait_until(WAIT, "A's post in flight", in_flight(chan_a)).await;
    bot.kill9().await;
    let killed_at = std::time::Instant::now();
    assert_eq!(fake.messages_in(chan_a).len(), 1, "Discord created A's message");
    // Second crash: the restarted bot leaves A alone (its claim is fresh) and
    // dies while B's post is in flight (not done on Discord's side).
    let mut bot = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[]);
    fake.wait_until(WAIT, "B's post in flight", in_flight(chan_b)).await;
    bot.kill9().await;
    assert!(fake.messages_in(chan_b).is_empty());
    assert_eq!(fake.requests_to("POST", &path(chan_a)).len(), 1, "A was not retried within its lease");
    for row in [row_a, row_b] {
        assert_eq!(store.checkin(row).await.unwrap().unwrap().status.as_str(), "posting");
    }

    let mut bot = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[]);
    let deadline = killed_at + Duration::from_secs(200);
    loop {
        let a = store.checkin(row_a).await.unwrap().unwrap();
        let b = store.checkin(row_b).await.unwrap().unwrap();
        if a.status.as_str() == "posted" && b.status.as_str() == "posted" {
            break;
        }
        // Within the lease nobody else may post: still one message in A, none in B.
        assert!(fake.messages_in(chan_a).len() == 1 && fake.messages_in(chan_b).len() <= 1);
        assert!(std::time::Instant::now() < deadline, "not re-posted after the lease:\n{}", bot.logs());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    println!("re-posted {:?} after the crash", killed_at.elapsed());
    assert!(killed_at.elapsed() >= Duration::from_secs(110), "the lease was honoured");
    for (row, chan, posts) in [(row_a, chan_a, 2), (row_b, chan_b, 2)] {
        let messages = fake.messages_in(chan);
        assert_eq!(messages.len(), 1, "channel {chan}: exactly one post");
        assert_eq!(store.checkin(row).await.unwrap().unwrap().message_id, Some(MessageId::new(messages[0].id)));
        assert_eq!(fake.requests_to("POST", &path(chan)).len(), posts, "channel {chan}: one retry, same nonce");
    }
    let nonces: Vec<_> =
        fake.requests_to("POST", &path(chan_a)).iter().map(|r| r.body.clone().unwrap()["nonce"].clone()).collect();
    assert_eq!(nonces[0], nonces[1], "the retry reuses the nonce, so Discord drops it");
    bot.sigterm();
    assert!(bot.wait(WAIT).await.expect("stops").success());
}
