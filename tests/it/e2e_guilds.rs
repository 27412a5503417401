//! End to end: the bot removed from a server (GUILD_DELETE without
//! `unavailable`, or a READY that no longer lists it) gets nothing posted,
//! reminded or digested for that server's cohorts, not even an attempt,
//! until it is added back (GUILD_CREATE); then the scheduler catches up as
//! after downtime. An outage (`unavailable: true`) changes nothing.

use std::time::Duration;

use chrono::{DateTime, Utc};
use fake_discord::{FakeDiscord, OptionValue};
use trellis::domain::CheckInStatus;
use trellis_testkit::bot::*;
use trellis_testkit::ids::*;

/// Every two seconds, a reminder after one second, a digest in OTHER_CHANNEL:
/// each kind of scheduled send happens every two seconds.
async fn busy_cohort(bot: &Bot) {
    let setup = admin(GUILD, CHANNEL)
        .command("cohort")
        .subcommand("setup")
        .option("timezone", "UTC")
        .option("mentor_role", OptionValue::Role(MENTOR_ROLE))
        .option("cron", "*/2 * * * * *")
        .option("reminder_after", "1s")
        .option("digest_channel", OptionValue::Channel(OTHER_CHANNEL));
    let h = bot.fake.slash_command(setup);
    let r = bot.fake.wait_interaction_response(&h, WAIT).await;
    assert!(r.content().contains("is set up"), "{r:?}");
    let join = bot.fake.slash_command(member(BOB).command("cohort").subcommand("join"));
    bot.fake.wait_interaction_response(&join, WAIT).await;
}

/// Attempts (whatever Discord answered) of each scheduled send: check-in
/// posts, digests, Bob's reminder DMs and DM channel opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sends {
    checkins: usize,
    digests: usize,
    reminders: usize,
    dm_opens: usize,
}

fn sends(fake: &FakeDiscord) -> Sends {
    let posts = |channel: u64| fake.requests_to("POST", &format!("/channels/{channel}/messages")).len();
    Sends {
        checkins: posts(CHANNEL),
        digests: posts(OTHER_CHANNEL),
        reminders: posts(fake.dm_channel_for(BOB)),
        dm_opens: fake.requests_to("POST", "/users/@me/channels").len(),
    }
}

/// Waits until every kind of send happened more often than in `before`.
async fn wait_all_sent_since(fake: &FakeDiscord, before: Sends, what: &str) -> Sends {
    fake.wait_until(Duration::from_secs(15), what, |f| {
        let now = sends(f);
        (now.checkins > before.checkins && now.digests > before.digests && now.reminders > before.reminders)
            .then_some(now)
    })
    .await
}

async fn departed(bot: &Bot) -> bool {
    bot.engine.store().guild_departed(GuildId::new(GUILD)).await.unwrap()
}

async fn wait_departed(bot: &Bot, want: bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while departed(bot).await != want {
        assert!(tokio::time::Instant::now() < deadline, "the guild's departure is not {want}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Detached: nothing is sent (or tried) for `quiet`; returns the counts.
async fn assert_nothing_sent(bot: &Bot, quiet: Duration) -> Sends {
    // A tick that read the cohorts just before the departure may still be
    // sending; let it finish.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = sends(&bot.fake);
    tokio::time::sleep(quiet).await;
    let after = sends(&bot.fake);
    assert_eq!(after, before, "nothing is posted, reminded or digested while the bot is out of the server");
    after
}

/// The check-ins whose occurrence fell in `from..to`: how many were posted
/// and how many recorded as missed.
async fn ledger_between(bot: &Bot, from: DateTime<Utc>, to: DateTime<Utc>) -> (usize, usize) {
    let store = bot.engine.store();
    let cohort = store.cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().unwrap();
    let rows = store.checkins_of_cohort(cohort.id).await.unwrap();
    let within = rows.iter().filter(|c| c.occurrence_at > from && c.occurrence_at <= to);
    let posted = within.clone().filter(|c| c.status == CheckInStatus::Posted).count();
    let missed = within.filter(|c| c.status == CheckInStatus::Missed).count();
    (posted, missed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_removed_the_bot_gets_nothing_until_it_adds_the_bot_back() {
    let bot = Bot::start().await;
    busy_cohort(&bot).await;
    let zero = Sends { checkins: 0, digests: 0, reminders: 0, dm_opens: 0 };
    wait_all_sent_since(&bot.fake, zero, "a check-in, a reminder and a digest").await;

    bot.fake.remove_bot_from_guild(GUILD);
    wait_departed(&bot, true).await;
    let removed_at = Utc::now();
    let quiet = assert_nothing_sent(&bot, Duration::from_secs(5)).await;
    // Bob is still a member, the cohort still set up: detached, not deleted.
    let cohort = bot.engine.store().cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().unwrap();
    assert!(cohort.active);

    bot.fake.add_bot_to_guild(GUILD);
    wait_departed(&bot, false).await;
    let rejoined_at = Utc::now();
    let resumed = wait_all_sent_since(&bot.fake, quiet, "posts, reminders and digests after the rejoin").await;
    println!("sends before removal→during: {quiet:?}; after the rejoin: {resumed:?}");

    // Caught up as after downtime: of the occurrences while removed, at most
    // the newest (still open at the rejoin) is posted; the others are missed.
    let (posted, missed) = ledger_between(&bot, removed_at, rejoined_at).await;
    println!("occurrences while removed: {posted} posted at the rejoin, {missed} recorded as missed");
    assert!(posted <= 1, "no backlog: {posted} posted");
    assert!(missed >= 1, "the occurrences while removed are recorded as missed: {missed}");
    // The rejoined server gets its commands again.
    assert!(bot.fake.removed_guilds().is_empty());
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_of_a_server_changes_nothing() {
    let bot = Bot::start().await;
    busy_cohort(&bot).await;
    let zero = Sends { checkins: 0, digests: 0, reminders: 0, dm_opens: 0 };
    let before = wait_all_sent_since(&bot.fake, zero, "a check-in, a reminder and a digest").await;

    bot.fake.guild_outage(GUILD);
    let during = wait_all_sent_since(&bot.fake, before, "sends during the outage").await;
    assert!(!departed(&bot).await, "an outage is not a removal");
    // The guild is available again.
    bot.fake.add_bot_to_guild(GUILD);
    wait_all_sent_since(&bot.fake, during, "sends after the outage").await;
    assert!(!departed(&bot).await);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_removed_the_bot_while_it_was_offline_is_detached_at_the_next_ready() {
    let bot = Bot::start().await;
    busy_cohort(&bot).await;
    let zero = Sends { checkins: 0, digests: 0, reminders: 0, dm_opens: 0 };
    wait_all_sent_since(&bot.fake, zero, "a check-in, a reminder and a digest").await;

    // No GUILD_DELETE reaches the bot; the new session's READY lacks the guild.
    bot.fake.remove_bot_from_guild_unannounced(GUILD);
    assert!(bot.fake.invalidate_session(false));
    bot.fake.wait_until(WAIT, "a second IDENTIFY", |f| (f.identify_count() >= 2 && f.connected()).then_some(())).await;
    wait_departed(&bot, true).await;
    let quiet = assert_nothing_sent(&bot, Duration::from_secs(4)).await;

    bot.fake.add_bot_to_guild(GUILD);
    wait_departed(&bot, false).await;
    wait_all_sent_since(&bot.fake, quiet, "posts, reminders and digests after the rejoin").await;
    bot.stop().await;
}
