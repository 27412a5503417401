//! Throughput at Discord's limits (issue 12): an answer is one transaction
//! and answers arriving together share a commit; a member's DM channel is
//! remembered; in proxy mode the bot keeps Discord's rate limits itself
//! (the fake serves 429s and `X-RateLimit-*` headers and counts every
//! request per route, with its arrival time).

use std::time::{Duration, Instant};

use trellis::domain::{AnswerInput, ChannelId, CheckInId, CohortId, ReplySource, UserId};
use trellis::store::{NewAnswer, Store, StoreError};
use trellis_testkit::bot::{Bot, WAIT, button_custom_id, member};
use trellis_testkit::{BOB, BOT, Backend, CHANNEL, TempDb, USER0, on_both_backends, seed_open_checkin};

fn answer(cohort_id: CohortId, checkin_id: CheckInId, user: u64, text: &str) -> NewAnswer {
    NewAnswer {
        cohort_id,
        checkin_id,
        user_id: UserId::new(user),
        input: AnswerInput::parse(text, "3").unwrap(),
        source: ReplySource::Modal,
        dm_message_id: None,
        now: chrono::Utc::now(),
    }
}

/// A check-in id no row has: the reply's foreign key refuses it, after the
/// member's join has already run in the same transaction.
const NO_SUCH_CHECKIN: CheckInId = CheckInId::new(987_654);

async fn open(db: &TempDb) -> (Store, CohortId, CheckInId) {
    let (cohort, checkin) = seed_open_checkin(db).await;
    (db.store().await, cohort, checkin)
}

async fn a_failed_answer_leaves_no_membership_behind(backend: Backend) {
    let db = TempDb::migrated(backend).await;
    let (store, cohort, checkin) = open(&db).await;
    let err = store.save_answer(answer(cohort, NO_SUCH_CHECKIN, USER0, "orphan")).await.unwrap_err();
    assert!(matches!(err, StoreError::Sqlx(_)), "{err:?}");
    assert!(store.member(cohort, UserId::new(USER0)).await.unwrap().is_none(), "the join was rolled back with it");

    let reply = store.save_answer(answer(cohort, checkin, USER0, "the real one")).await.unwrap();
    assert_eq!(reply.answer, "the real one");
    let member = store.member(cohort, UserId::new(USER0)).await.unwrap().expect("joined with the answer");
    assert!(member.left_at.is_none());
}
on_both_backends!(a_failed_answer_leaves_no_membership_behind);

/// On a current-thread runtime the 200 tasks below all queue their answer
/// before the writer task runs again, so they share one or two commits (on
/// PostgreSQL too: a failed answer's savepoint is rolled back, and the
/// transaction goes on).
async fn answers_arriving_together_share_a_commit_and_a_bad_one_fails_alone(backend: Backend) {
    let db = TempDb::migrated(backend).await;
    let (store, cohort, checkin) = open(&db).await;
    let tasks: Vec<_> = (0..200u64)
        .map(|i| {
            let store = store.clone();
            let target = if i % 10 == 7 { NO_SUCH_CHECKIN } else { checkin };
            let a = answer(cohort, target, USER0 + i, &format!("member {i} shipped the migration"));
            tokio::spawn(async move { store.save_answer(a).await })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let commits = store.answer_commits();
    println!("200 answers at once: {commits} commit(s)");
    assert!(commits <= 2, "group commit: {commits} commits for 200 answers");
    for (i, r) in results.iter().enumerate() {
        let user = UserId::new(USER0 + i as u64);
        let stored = store.reply(checkin, user).await.unwrap();
        let member = store.member(cohort, user).await.unwrap();
        if i % 10 == 7 {
            assert!(r.is_err(), "answer {i} names no check-in");
            assert!(member.is_none(), "answer {i}: its join rolled back with it");
        } else {
            let reply = r.as_ref().unwrap_or_else(|e| panic!("answer {i} failed: {e:?}"));
            assert_eq!(stored.as_ref().map(|s| &s.answer), Some(&reply.answer), "answer {i} stored as confirmed");
            assert!(member.is_some(), "member {i} joined");
        }
    }
    assert_eq!(store.replies_of_cohort(cohort).await.unwrap().len(), 180);
}
on_both_backends!(answers_arriving_together_share_a_commit_and_a_bad_one_fails_alone);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_under_a_held_write_lock_fail_as_locked_within_the_busy_timeout() {
    let db = TempDb::new();
    let (store, cohort, checkin) = open(&db).await;
    let raw = db.raw().await;
    let mut lock = raw.acquire().await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut *lock).await.unwrap();

    let started = Instant::now();
    let tasks: Vec<_> = (0..8u64)
        .map(|i| {
            let store = store.clone();
            let a = answer(cohort, checkin, USER0 + i, "written while locked");
            tokio::spawn(async move { (store.save_answer(a).await, started.elapsed()) })
        })
        .collect();
    for t in tasks {
        let (r, took) = t.await.unwrap();
        assert!(matches!(r, Err(StoreError::Locked(_))), "{r:?}");
        assert!(took < Duration::from_millis(2800), "told within Discord's 3 s: {took:?}");
    }
    sqlx::query("ROLLBACK").execute(&mut *lock).await.unwrap();
    drop(lock);
    assert!(store.replies_of_cohort(cohort).await.unwrap().is_empty(), "nothing saved");
    let again = answer(cohort, checkin, USER0, "once the lock is gone");
    assert_eq!(store.save_answer(again).await.unwrap().answer, "once the lock is gone");
}

// ---- DM channels remembered ---------------------------------------------------

async fn a_dm_channel_is_remembered_replaced_and_forgotten_only_while_it_is_current(backend: Backend) {
    let db = TempDb::migrated(backend).await;
    let (store, cohort, checkin) = open(&db).await;
    let (alice, old, new) = (UserId::new(USER0), ChannelId::new(77), ChannelId::new(78));
    store.save_answer(answer(cohort, checkin, USER0, "joined")).await.unwrap();
    assert_eq!(store.dm_channel(alice).await.unwrap(), None);
    store.remember_dm_channel(alice, old, chrono::Utc::now()).await.unwrap();
    assert_eq!(store.dm_channels_of_cohort(cohort).await.unwrap().get(&alice), Some(&old));
    store.remember_dm_channel(alice, new, chrono::Utc::now()).await.unwrap();
    store.forget_dm_channel(alice, old).await.unwrap();
    assert_eq!(store.dm_channel(alice).await.unwrap(), Some(new), "a stale 10003 does not drop the newer channel");
    store.forget_dm_channel(alice, new).await.unwrap();
    assert_eq!(store.dm_channel(alice).await.unwrap(), None);

    store.remember_dm_channel(alice, new, chrono::Utc::now()).await.unwrap();
    store.forget_user(alice).await.unwrap();
    assert_eq!(store.dm_channel(alice).await.unwrap(), None, "forget-me forgets the DM channel too");
}
on_both_backends!(a_dm_channel_is_remembered_replaced_and_forgotten_only_while_it_is_current);

/// The bot's reminder DMs in `channel`.
fn nudges(fake: &fake_discord::FakeDiscord, channel: u64) -> usize {
    fake.messages_in(channel).iter().filter(|m| m.author_id == BOT && m.content.contains("nudge")).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_to_a_known_member_is_one_request_and_a_vanished_dm_channel_is_reopened() {
    let bot = Bot::start().await;
    // A check-in every 3 s, a reminder 1 s after each.
    bot.setup("*/3 * * * * *", Some("1s")).await;
    let h = bot.fake.slash_command(member(BOB).command("cohort").subcommand("join"));
    bot.fake.wait_interaction_response(&h, WAIT).await;
    let first_dm = bot.fake.dm_channel_for(BOB);
    let opens = |fake: &fake_discord::FakeDiscord| fake.requests_to("POST", "/users/@me/channels").len();

    bot.fake.wait_until(WAIT, "two reminders", |f| (nudges(f, first_dm) >= 2).then_some(())).await;
    assert_eq!(opens(&bot.fake), 1, "the DM channel is opened once, for the first reminder");
    let to_first = bot.fake.requests_to("POST", &format!("/channels/{first_dm}/messages"));
    assert_eq!(to_first.len(), 2, "one request per reminder: {to_first:?}");

    // The channel disappears: the next reminder finds out (10003), opens a
    // new one and is delivered there; the one after goes straight there.
    bot.fake.close_dm_channel(BOB);
    let second_dm = bot.fake.wait_until(WAIT, "a new DM channel", |f| f.dm_channel_of(BOB)).await;
    bot.fake
        .wait_until(Duration::from_secs(15), "two reminders in the new channel", |f| {
            (nudges(f, second_dm) >= 2).then_some(())
        })
        .await;
    assert_eq!(opens(&bot.fake), 2, "opened again once, after the 10003");
    let refused: Vec<_> = bot
        .fake
        .requests_to("POST", &format!("/channels/{first_dm}/messages"))
        .into_iter()
        .filter(|r| r.status == 404)
        .collect();
    assert_eq!(refused.len(), 1, "the vanished channel is tried once: {refused:?}");
    let to_second = bot.fake.requests_to("POST", &format!("/channels/{second_dm}/messages"));
    assert!(to_second.iter().all(|r| r.status == 200), "each reminder there is one request: {to_second:?}");
    assert_eq!(bot.engine.store().dm_channel(UserId::new(BOB)).await.unwrap(), Some(ChannelId::new(second_dm)));
    bot.stop().await;
}

// ---- rate limits in proxy mode ------------------------------------------------

/// The cohort of CHANNEL with `n` members (USER0…), joined in the store.
/// With `known`, each one's DM channel is already remembered (and open on
/// the fake). Returns the users.
async fn members(bot: &Bot, n: u64, known: bool) -> Vec<u64> {
    let store = bot.engine.store();
    let cohort = store.cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().expect("the cohort");
    let now = chrono::Utc::now();
    let users: Vec<u64> = (0..n).map(|i| USER0 + i).collect();
    for &u in &users {
        store.join(cohort.id, UserId::new(u), now).await.unwrap();
        if known {
            let dm = ChannelId::new(bot.fake.dm_channel_for(u));
            store.remember_dm_channel(UserId::new(u), dm, now).await.unwrap();
        }
    }
    users
}

/// How many of `users` have their reminder.
fn reminded(fake: &fake_discord::FakeDiscord, users: &[u64]) -> usize {
    users.iter().filter(|u| fake.dm_channel_of(**u).is_some_and(|dm| nudges(fake, dm) > 0)).count()
}

/// Requests of the bot's chat (not interaction callbacks or webhooks) that
/// arrived in `[from, to)`.
fn chat_requests(fake: &fake_discord::FakeDiscord, from: Instant, to: Instant) -> Vec<fake_discord::RecordedRequest> {
    fake.requests()
        .into_iter()
        .filter(|r| r.at >= from && r.at < to)
        .filter(|r| !r.api_path().starts_with("/interactions/") && !r.api_path().starts_with("/webhooks/"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_429_is_waited_out_and_the_post_goes_once_right_after_it() {
    let bot = Bot::start().await;
    let route = format!("/channels/{CHANNEL}/messages");
    bot.fake.rate_limit_route("POST", &route, Duration::from_secs(5));
    bot.setup("*/8 * * * * *", None).await;
    bot.fake.wait_messages(CHANNEL, 1, Duration::from_secs(20)).await;
    let posts = bot.fake.requests_to("POST", &route);
    let (first, second) = (&posts[0], &posts[1]);
    assert_eq!(first.status, 429, "{first:?}");
    assert_eq!(second.status, 200, "{second:?}");
    let waited = second.at.duration_since(first.at);
    println!("route 429 (Retry-After: 5): the post went {waited:?} after the first attempt");
    assert!(waited >= Duration::from_secs(5), "nothing on the route inside the window: {waited:?}");
    assert!(waited < Duration::from_millis(5500), "right after the window: {waited:?}");
    let refused = bot.fake.rate_limited_requests();
    assert_eq!(refused.len(), 1, "one 429, no attempts inside the window: {refused:?}");
    assert_eq!(bot.checkin_posts().len(), 1);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_global_429_holds_every_dm_but_not_the_members_confirmations() {
    const WINDOW: Duration = Duration::from_secs(2);
    let bot = Bot::start().await;
    bot.setup("*/6 * * * * *", Some("1s")).await;
    let users = members(&bot, 30, true).await;
    let post = bot.fake.wait_messages(CHANNEL, 1, Duration::from_secs(20)).await.remove(0);
    // The next chat request is the first reminder DM, a second later.
    bot.fake.rate_limit_globally(WINDOW);
    let first = bot.fake.wait_until(WAIT, "the global 429", |f| f.rate_limited_requests().first().map(|r| r.at)).await;
    // A member answers while the DMs are held.
    let submit = bot.fake.modal_submit(
        &member(USER0),
        &button_custom_id(&post),
        &[("answer", "reviewed the on-call runbook with the team"), ("confidence", "4")],
    );
    let r = bot.fake.wait_interaction_response(&submit, WAIT).await;
    println!("confirmation during the global 429: {:?}", r.elapsed);
    assert_eq!(r.data["embeds"][0]["title"], "Answer saved", "{r:?}");
    assert!(r.at < first + WINDOW, "answered inside the window: callbacks are not held");
    bot.fake.wait_until(Duration::from_secs(15), "every reminder", |f| (reminded(f, &users) >= 29).then_some(())).await;

    let refused = bot.fake.rate_limited_requests();
    println!("{} request(s) answered the global 429", refused.len());
    assert!(refused.len() <= 10, "only those already in flight: {refused:?}");
    // Those were all sent before the first 429 came back; after it, nothing
    // until the window is over.
    let inside = chat_requests(&bot.fake, first + Duration::from_millis(100), first + WINDOW);
    assert!(inside.is_empty(), "requests inside the global window: {inside:?}");
    let after = chat_requests(&bot.fake, first + WINDOW, Instant::now());
    assert!(after.first().is_some_and(|r| r.at < first + WINDOW + Duration::from_millis(500)), "resumed right after");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_buckets_are_learned_from_the_headers_and_never_overrun() {
    let bot = Bot::start().await;
    bot.fake.rate_limit_buckets(5, Duration::from_secs(1));
    bot.setup("*/6 * * * * *", Some("1s")).await;
    // DM channels not known yet: 16 opens on the one route /users/@me/channels.
    let users = members(&bot, 16, false).await;
    bot.fake.wait_until(Duration::from_secs(25), "every reminder", |f| (reminded(f, &users) == 16).then_some(())).await;
    let opens = bot.fake.requests_to("POST", "/users/@me/channels");
    assert_eq!(opens.len(), 16, "one open per member");
    assert!(opens[0].status == 200 && opens.iter().all(|r| r.status == 200), "no 429: {opens:?}");
    let spread = opens[15].at.duration_since(opens[0].at);
    println!("16 DM opens at 5 per second took {spread:?}");
    assert!(spread >= Duration::from_secs(3), "paced by the bucket (3 resets): {spread:?}");
    assert!(bot.fake.rate_limited_requests().is_empty(), "{:?}", bot.fake.rate_limited_requests());
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_go_in_bursts_of_fifty_a_second_without_a_429() {
    let bot = Bot::start().await;
    bot.fake.enforce_global_limit(50);
    bot.setup("*/8 * * * * *", Some("1s")).await;
    let users = members(&bot, 120, true).await;
    bot.fake.wait_messages(CHANNEL, 1, Duration::from_secs(20)).await;
    bot.fake
        .wait_until(Duration::from_secs(20), "every reminder", |f| (reminded(f, &users) == 120).then_some(()))
        .await;
    assert!(bot.fake.rate_limited_requests().is_empty(), "{:?}", bot.fake.rate_limited_requests());
    let sends: Vec<Instant> = users
        .iter()
        .flat_map(|u| bot.fake.requests_to("POST", &format!("/channels/{}/messages", bot.fake.dm_channel_for(*u))))
        .map(|r| r.at)
        .collect();
    assert_eq!(sends.len(), 120, "one request per reminder");
    let (first, last) = (*sends.iter().min().unwrap(), *sends.iter().max().unwrap());
    let in_first_second = sends.iter().filter(|t| t.duration_since(first) < Duration::from_millis(500)).count();
    println!("120 reminders: {in_first_second} in the first 0.5 s, all in {:?}", last.duration_since(first));
    assert_eq!(in_first_second, 50, "a burst of 50 at once, not an even spacing");
    assert!(last.duration_since(first) >= Duration::from_secs(2), "three windows");
    assert!(last.duration_since(first) < Duration::from_secs(3), "and no more");
    bot.stop().await;
}

/// Two processes behind one proxy, each with `TRELLIS_GLOBAL_RATE_LIMIT=25`,
/// stay under Discord's 50 together; this checks one process at a share of
/// 10 against a fake enforcing 10 per second: never a 429, never more than
/// 10 of its requests in any second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_of_the_global_limit_keeps_the_process_within_it() {
    let share = trellis::config::GlobalRateLimit::parse("10").unwrap();
    let bot = Bot::start_configured(std::sync::Arc::new(trellis::engine::SystemClock), |s| {
        s.discord.global_rate_limit = Some(share);
    })
    .await;
    bot.setup("*/8 * * * * *", Some("1s")).await;
    let users = members(&bot, 30, true).await;
    bot.fake.enforce_global_limit(10);
    bot.fake.wait_until(Duration::from_secs(25), "every reminder", |f| (reminded(f, &users) == 30).then_some(())).await;
    assert!(bot.fake.rate_limited_requests().is_empty(), "{:?}", bot.fake.rate_limited_requests());
    let sends: Vec<Instant> = users
        .iter()
        .flat_map(|u| bot.fake.requests_to("POST", &format!("/channels/{}/messages", bot.fake.dm_channel_for(*u))))
        .map(|r| r.at)
        .collect();
    assert_eq!(sends.len(), 30, "one request per reminder");
    let (first, last) = (*sends.iter().min().unwrap(), *sends.iter().max().unwrap());
    let busiest = sends.iter().map(|&t| chat_requests(&bot.fake, t, t + Duration::from_secs(1)).len()).max().unwrap();
    println!("30 reminders at a share of 10/s: at most {busiest} requests in a second, all in {:?}", last - first);
    assert!(busiest <= 10, "{busiest} requests within one second");
    assert!(last.duration_since(first) >= Duration::from_secs(2), "three windows at least");
    bot.stop().await;
}

/// Issue 16, kind 10: in a cohort's first week no member has a DM channel
/// yet. Each one is opened ahead when the member joins (at low priority,
/// one at a time, within the global limit), so at reminder time every
/// reminder is one request and the 50th leaves within the first window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_week_reminders_land_in_the_first_window_because_dm_channels_are_opened_ahead() {
    let bot = Bot::start().await;
    bot.fake.enforce_global_limit(50);
    // Reminders 10 s after each post: the DM channels opened ahead (about
    // 5 s for 50 at a fifth of the limit) are all open by then.
    bot.setup("*/30 * * * * *", Some("10s")).await;
    let users: Vec<u64> = (0..50).map(|i| USER0 + i).collect();
    let joins: Vec<_> =
        users.iter().map(|&u| bot.fake.slash_command(member(u).command("cohort").subcommand("join"))).collect();
    for h in &joins {
        assert!(bot.fake.wait_interaction_response(h, WAIT).await.content().starts_with("Welcome"));
    }
    let store = bot.engine.store();
    let joined = Instant::now();
    loop {
        let mut known = 0;
        for &u in &users {
            known += usize::from(store.dm_channel(UserId::new(u)).await.unwrap().is_some());
        }
        if known == users.len() {
            break;
        }
        assert!(joined.elapsed() < Duration::from_secs(20), "{known} of 50 DM channels opened ahead");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let warmed = Instant::now();
    println!("50 DM channels opened ahead in {:?} after the joins", warmed.duration_since(joined));
    // Opened ahead, not by a reminder: no DM was sent yet.
    let dms_so_far: usize = users
        .iter()
        .map(|u| bot.fake.requests_to("POST", &format!("/channels/{}/messages", bot.fake.dm_channel_for(*u))).len())
        .sum();
    assert_eq!(dms_so_far, 0, "the channels were opened ahead, not by reminders");
    assert_eq!(bot.fake.requests_to("POST", "/users/@me/channels").len(), 50, "one open per member");

    // The first check-in, and its 50 reminders.
    let post = bot.fake.wait_messages(CHANNEL, 1, Duration::from_secs(35)).await.pop().unwrap();
    let checkin: i64 = button_custom_id(&post).trim_start_matches("answer:").parse().unwrap();
    let sends = |f: &fake_discord::FakeDiscord| -> Vec<Instant> {
        users
            .iter()
            .flat_map(|u| f.requests_to("POST", &format!("/channels/{}/messages", f.dm_channel_for(*u))))
            .filter(|r| r.at > warmed)
            .map(|r| r.at)
            .collect()
    };
    bot.fake.wait_until(Duration::from_secs(15), "50 reminders", |f| (sends(f).len() >= 50).then_some(())).await;
    let (anchor_instant, anchor_utc) = (Instant::now(), chrono::Utc::now());
    let posted_at = store.posted_at(CheckInId::new(checkin)).await.unwrap().expect("posted");
    let due_utc = posted_at + chrono::Duration::seconds(10);
    let due = anchor_instant - (anchor_utc - due_utc).to_std().unwrap();
    let sends = sends(&bot.fake);
    assert_eq!(sends.len(), 50, "one request per reminder");
    let (first, last) = (*sends.iter().min().unwrap(), *sends.iter().max().unwrap());
    let opens_late = bot.fake.requests_to("POST", "/users/@me/channels").iter().filter(|r| r.at > warmed).count();
    println!(
        "first week, 50 reminders: first {:?}, 50th {:?} after they fell due; spread {:?}; {opens_late} DM opens at reminder time",
        first.saturating_duration_since(due),
        last.saturating_duration_since(due),
        last.duration_since(first)
    );
    assert_eq!(opens_late, 0, "no DM channel opened at reminder time");
    // Without opening ahead the 50th needs a second window (over 1 s after
    // it fell due). This debug build measured 111–127 ms on the shared 2-core
    // machine (the target is 125 ms); the bound leaves room for load.
    assert!(last.saturating_duration_since(due) <= Duration::from_millis(250), "the 50th within the first window");
    assert!(
        bot.fake.rate_limited_requests().is_empty(),
        "never over the limit: {:?}",
        bot.fake.rate_limited_requests()
    );
    bot.stop().await;
}
