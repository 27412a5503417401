//! End to end: what real servers do to a bot, over the wire. The fake
//! Discord refuses the way Discord does (closed DMs 403 50007, a deleted
//! channel 404 10003, lost permissions 403 50013, a member who left 404
//! 10007, an outage 500), and each test counts the bot's requests per route:
//! "at most N attempts" is what catches a retry loop.

use std::time::{Duration, Instant};

use fake_discord::{RecordedRequest, StoredMessage, permissions};
use serde_json::Value;
use trellis::domain::{CheckIn, PostedPrompt};
use trellis::engine::RetryPolicy;
use trellis::store::NewCheckIn;
use trellis_testkit::bot::*;
use trellis_testkit::ids::*;

/// Leap days only: the scheduler records nothing of its own while a test runs.
const LEAP_DAYS: &str = "0 0 9 29 2 *";

/// `/cohort status` by the cohort's mentor in `channel`; the embed as text.
async fn status_embed(bot: &Bot, channel: u64) -> String {
    let mentor = fake_discord::Actor::in_guild(GUILD, channel, MENTOR).roles(vec![MENTOR_ROLE]);
    let h = bot.fake.slash_command(mentor.command("cohort").subcommand("status"));
    let reply = bot.fake.wait_followup(&h, WAIT).await;
    assert_eq!(reply.embeds.len(), 1, "{reply:?}");
    reply.embeds[0].to_string()
}

async fn join(bot: &Bot, user: u64) {
    let h = bot.fake.slash_command(member(user).command("cohort").subcommand("join"));
    bot.fake.wait_interaction_response(&h, WAIT).await;
}

/// A check-in of CHANNEL's cohort in the ledger, due a minute ago and open
/// for an hour, not posted yet: the scheduler's next tick posts it.
async fn record_unposted(bot: &Bot) -> CheckIn {
    let store = bot.engine.store();
    let cohort = store.cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().expect("cohort");
    let now = chrono::Utc::now();
    let new = NewCheckIn {
        cohort_id: cohort.id,
        occurrence_at: now - chrono::Duration::minutes(1),
        closes_at: now + chrono::Duration::hours(1),
        prompt: Some(PostedPrompt {
            id: "scope-01".into(),
            track: trellis::domain::Track::Scope,
            question: "Q?".into(),
        }),
    };
    store.record_checkin(&new).await.unwrap().expect("a new occurrence")
}

/// Scheduler passes on top of the bot's own, a little apart.
async fn ticks(bot: &Bot, n: usize) {
    for _ in 0..n {
        bot.engine.tick().await.expect("tick");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The bot's messages in a user's DM channel.
fn dms_to(bot: &Bot, user: u64) -> Vec<StoredMessage> {
    let channel = bot.fake.dm_channel_for(user);
    bot.fake.messages_in(channel).into_iter().filter(|m| m.author_id == BOT).collect()
}

async fn wait_dms(bot: &Bot, user: u64, n: usize, timeout: Duration) -> Vec<StoredMessage> {
    bot.fake.wait_until(timeout, "DMs from the bot", |_| Some(dms_to(bot, user)).filter(|m| m.len() >= n)).await
}

/// `POST /users/@me/channels` for `user`.
fn dm_channel_creates(bot: &Bot, user: u64) -> Vec<RecordedRequest> {
    let is_for = |r: &RecordedRequest| {
        let id = &r.body.as_ref().expect("body")["recipient_id"];
        id.as_str() == Some(user.to_string().as_str()) || id.as_u64() == Some(user)
    };
    bot.fake.requests_to("POST", "/users/@me/channels").into_iter().filter(is_for).collect()
}

fn statuses(requests: &[RecordedRequest]) -> Vec<u16> {
    requests.iter().map(|r| r.status).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_with_closed_dms_costs_at_most_two_requests_per_checkin_and_is_marked_in_status() {
    let bot = Bot::start().await;
    bot.setup(LEAP_DAYS, Some("5s")).await;
    for user in [ALICE, BOB] {
        join(&bot, user).await;
    }
    bot.fake.close_dms(BOB);
    bot.open_checkin(CHANNEL).await;
    // Set up again: the scheduler re-plans and wakes for the reminder, 5 s
    // after the post.
    bot.setup(LEAP_DAYS, Some("5s")).await;
    let nudges = wait_dms(&bot, ALICE, 1, Duration::from_secs(20)).await;
    assert!(nudges[0].content.contains("nudge"), "{nudges:?}");
    // Several more scheduler passes, and time for any retry to show.
    ticks(&bot, 5).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let bob_dm = bot.fake.dm_channel_for(BOB);
    let creates = dm_channel_creates(&bot, BOB);
    let sends = bot.fake.requests_to("POST", &format!("/channels/{bob_dm}/messages"));
    assert!(creates.len() <= 1, "{creates:#?}");
    assert_eq!(statuses(&sends), [403], "one refused DM, never retried");
    assert!(creates.len() + sends.len() <= 2);
    let lookups = bot.fake.requests_to("GET", &format!("/guilds/{GUILD}/members/{BOB}"));
    assert_eq!(statuses(&lookups), [200], "looked up once: still in the server");
    assert_eq!(dms_to(&bot, ALICE).len(), 1, "Alice nudged once");

    let status = status_embed(&bot, CHANNEL).await;
    assert!(status.contains("1 member can't receive DMs"), "{status}");
    assert!(status.contains(&format!("<@{BOB}>")) && status.contains("no DMs"), "{status}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_channel_is_posted_to_once_and_shown_to_mentors() {
    let bot = Bot::start().await;
    bot.setup(LEAP_DAYS, None).await;
    bot.fake.delete_channel(CHANNEL);
    record_unposted(&bot).await;
    ticks(&bot, 6).await;
    let posts = bot.fake.requests_to("POST", &format!("/channels/{CHANNEL}/messages"));
    assert_eq!(statuses(&posts), [404], "one try over six scheduler passes");
    let now = bot.engine.now();
    let wake = bot.engine.next_wake().await.unwrap();
    assert!(wake >= now + chrono::Duration::seconds(59), "no retry planned, only the once-a-minute look: {wake}");
    // The channel is gone, so the mentor asks from another one.
    let status = status_embed(&bot, OTHER_CHANNEL).await;
    assert!(status.contains(&format!("Trellis can't post in <#{CHANNEL}>: the channel was deleted")), "{status}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_refuses_a_channel_the_bot_cannot_embed_in_and_setting_up_again_after_the_fix_posts() {
    let bot = Bot::start().await;
    bot.setup(LEAP_DAYS, None).await;
    // An admin takes Embed Links from the bot in the cohort's channel.
    bot.fake.deny_bot_in_channel(CHANNEL, permissions::EMBED_LINKS);
    record_unposted(&bot).await;
    ticks(&bot, 4).await;
    let path = format!("/channels/{CHANNEL}/messages");
    assert_eq!(statuses(&bot.fake.requests_to("POST", &path)), [403]);
    let status = status_embed(&bot, CHANNEL).await;
    assert!(status.contains("missing permissions"), "{status}");

    // Setting up again while it is still missing is refused up front, with
    // the reason, and tries nothing.
    let text = bot.setup(LEAP_DAYS, None).await;
    assert!(text.contains("can't post check-ins in this channel") && text.contains("lacks Embed Links"), "{text}");
    ticks(&bot, 2).await;
    assert_eq!(bot.fake.requests_to("POST", &path).len(), 1);

    // Fixed and set up again: the open check-in is posted.
    bot.fake.allow_bot_in_channel(CHANNEL);
    let text = bot.setup(LEAP_DAYS, None).await;
    assert!(text.contains("is set up"), "{text}");
    bot.fake.wait_messages(CHANNEL, 1, WAIT).await;
    assert_eq!(statuses(&bot.fake.requests_to("POST", &path)), [403, 200]);
    assert!(!status_embed(&bot, CHANNEL).await.contains("Discord refuses"));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_failing_with_500_is_retried_with_growing_waits_then_posted_once() {
    let bot = Bot::start().await;
    let policy =
        RetryPolicy { first: Duration::from_millis(250), cap: Duration::from_secs(2), ..RetryPolicy::default() };
    bot.engine.set_retry_policy(policy);
    bot.setup(LEAP_DAYS, None).await;
    let path = format!("/channels/{CHANNEL}/messages");
    bot.fake.fail_route("POST", &path, 500);
    record_unposted(&bot).await;
    // Set up again: the scheduler wakes, tries, and from then on plans its own retries.
    bot.setup(LEAP_DAYS, None).await;
    let tries = bot
        .fake
        .wait_until(Duration::from_secs(20), "six tries", |f| {
            Some(f.requests_to("POST", &path)).filter(|t| t.len() >= 6)
        })
        .await;
    assert!(tries.iter().all(|r| r.status == 500));
    // Waits of 0.25, 0.5, 1, 2 and 2 s (the cap): six tries in about 5.75 s,
    // where a fixed 250 ms timer makes 24.
    let gaps: Vec<Duration> = tries.windows(2).map(|w| w[1].at - w[0].at).collect();
    for (i, gap) in gaps.iter().enumerate() {
        let wait = policy.delay(i as u32 + 1);
        assert!(*gap + Duration::from_millis(20) >= wait, "gap {i} shorter than {wait:?}: {gaps:?}");
    }
    assert!(gaps[3] >= gaps[0] * 6, "the waits grow: {gaps:?}");
    eprintln!("waits between tries of a post answered 500: {gaps:?}");

    bot.fake.restore_route("POST", &path);
    let posted = bot.fake.wait_messages(CHANNEL, 1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(bot.checkin_posts().len(), 1, "{posted:?}");
    let tries = bot.fake.requests_to("POST", &path);
    let nonces: Vec<&Value> = tries.iter().map(|r| &r.body.as_ref().unwrap()["nonce"]).collect();
    assert!(nonces.iter().all(|n| *n == nonces[0]), "every try carries the same nonce");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_who_left_is_looked_up_once_not_reminded_shown_apart_and_back_when_they_interact() {
    let bot = Bot::start().await;
    bot.setup(LEAP_DAYS, Some("1s")).await;
    for user in [ALICE, CAROL] {
        join(&bot, user).await;
    }
    bot.fake.remove_member(GUILD, CAROL);
    bot.open_checkin(CHANNEL).await;
    bot.setup(LEAP_DAYS, Some("1s")).await;
    wait_dms(&bot, ALICE, 1, Duration::from_secs(15)).await;
    ticks(&bot, 3).await;

    let carol_dm = bot.fake.dm_channel_for(CAROL);
    let sends = format!("/channels/{carol_dm}/messages");
    let lookup = format!("/guilds/{GUILD}/members/{CAROL}");
    assert_eq!(statuses(&bot.fake.requests_to("POST", &sends)), [403]);
    assert_eq!(statuses(&bot.fake.requests_to("GET", &lookup)), [404], "looked up once: Unknown Member");
    let status = status_embed(&bot, CHANNEL).await;
    assert!(status.contains(&format!("Left the server (not reminded or counted until they come back): <@{CAROL}>")));
    assert!(status.contains("1 member ·"), "Carol is not counted: {status}");
    assert!(!status.contains("can't receive DMs"), "shown as gone, not as unreachable: {status}");

    // The next check-in: Alice is nudged again; nothing at all is tried for Carol.
    bot.open_checkin(CHANNEL).await;
    bot.setup(LEAP_DAYS, Some("1s")).await;
    wait_dms(&bot, ALICE, 2, Duration::from_secs(15)).await;
    ticks(&bot, 3).await;
    assert_eq!(dm_channel_creates(&bot, CAROL).len(), 1);
    assert_eq!(bot.fake.requests_to("POST", &sends).len(), 1);
    assert_eq!(bot.fake.requests_to("GET", &lookup).len(), 1);

    // Carol comes back and runs a command: counted again (noted once the
    // command has been answered).
    bot.fake.add_member(GUILD, CAROL);
    join(&bot, CAROL).await;
    let cohort = bot.engine.store().cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().unwrap();
    let deadline = Instant::now() + WAIT;
    while !bot.engine.store().delivery_failures(cohort.id).await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "Carol's command was not noted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = status_embed(&bot, CHANNEL).await;
    assert!(status.contains("2 members ·") && !status.contains("Left the server"), "{status}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dm_confirmation_failing_for_now_is_retried_with_back_off() {
    let bot = Bot::start().await;
    let policy =
        RetryPolicy { first: Duration::from_millis(300), cap: Duration::from_secs(2), ..RetryPolicy::default() };
    bot.engine.set_retry_policy(policy);
    bot.setup(LEAP_DAYS, None).await;
    join(&bot, ALICE).await;
    let (checkin, _) = bot.open_checkin(CHANNEL).await;
    let alice_dm = bot.fake.dm_channel_for(ALICE);
    let path = format!("/channels/{alice_dm}/messages");
    bot.fake.fail_next_status("POST", &path, 2, 503);
    let sent = Instant::now();
    bot.fake.dm_message(ALICE, alice_dm, "Answered by DM while Discord hiccups");
    let confirmations = wait_dms(&bot, ALICE, 1, WAIT).await;
    assert!(confirmations[0].content.contains("Saved"), "{confirmations:?}");
    let tries = bot.fake.requests_to("POST", &path);
    assert_eq!(statuses(&tries), [503, 503, 200]);
    assert!(tries[1].at - tries[0].at >= Duration::from_millis(290), "{:?}", tries[1].at - tries[0].at);
    assert!(tries[2].at - tries[1].at >= Duration::from_millis(590), "{:?}", tries[2].at - tries[1].at);
    assert!(sent.elapsed() < WAIT);
    let saved = bot.engine.store().reply(checkin.id, UserId::new(ALICE)).await.unwrap().expect("saved");
    assert_eq!(saved.answer, "Answered by DM while Discord hiccups");
    bot.stop().await;
}
