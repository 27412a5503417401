//! End to end (issue 16, kind 7): changes to the server heal what they
//! broke. The cohort's channel is a thread a moderator archives or locks
//! and later reopens (THREAD_UPDATE), or the bot's permissions are taken
//! away and given back (CHANNEL_UPDATE): the post is refused once, shown in
//! `/cohort status`, and posted by itself as soon as the server is fixed,
//! with no `/cohort setup` again.

use fake_discord::{RecordedRequest, permissions};
use trellis::domain::{CheckIn, PostedPrompt};
use trellis::store::NewCheckIn;
use trellis_testkit::bot::*;
use trellis_testkit::ids::*;

/// Leap days only: the scheduler records nothing of its own while a test runs.
const LEAP_DAYS: &str = "0 0 9 29 2 *";

/// `/cohort status` by an admin with Manage Server (not a mentor: whoever
/// can fix the server sees why); the embed as text.
async fn status_for_admin(bot: &Bot) -> String {
    let admin = fake_discord::Actor::in_guild(GUILD, CHANNEL, ADMIN).permissions(permissions::MANAGE_GUILD);
    let h = bot.fake.slash_command(admin.command("cohort").subcommand("status"));
    let reply = bot.fake.wait_followup(&h, WAIT).await;
    format!("{} {:?}", reply.content, reply.embeds)
}

/// A check-in of CHANNEL's cohort due `ago` seconds ago, open for an hour, not posted yet.
async fn record_unposted(bot: &Bot, ago: i64) -> CheckIn {
    let store = bot.engine.store();
    let cohort = store.cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().expect("cohort");
    let now = chrono::Utc::now();
    let new = NewCheckIn {
        cohort_id: cohort.id,
        occurrence_at: now - chrono::Duration::seconds(ago),
        closes_at: now + chrono::Duration::hours(1),
        prompt: Some(PostedPrompt {
            id: "scope-01".into(),
            track: trellis::domain::Track::Scope,
            question: "Q?".into(),
        }),
    };
    store.record_checkin(&new).await.unwrap().expect("a new occurrence")
}

async fn ticks(bot: &Bot, n: usize) {
    for _ in 0..n {
        bot.engine.tick().await.expect("tick");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn statuses(requests: &[RecordedRequest]) -> Vec<u16> {
    requests.iter().map(|r| r.status).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archived_or_locked_thread_is_tried_once_shown_and_posted_to_when_it_is_reopened() {
    let bot = Bot::start().await;
    bot.setup(LEAP_DAYS, None).await;
    let path = format!("/channels/{CHANNEL}/messages");
    for (locked, ago) in [(false, 60), (true, 30)] {
        bot.fake.archive_thread(GUILD, CHANNEL, locked);
        let before = bot.fake.requests_to("POST", &path).len();
        record_unposted(&bot, ago).await;
        ticks(&bot, 4).await;
        let tries = bot.fake.requests_to("POST", &path);
        assert_eq!(statuses(&tries[before..]), [400], "one try over four passes (locked: {locked})");
        let status = status_for_admin(&bot).await;
        assert!(status.contains("the thread is archived or locked"), "{status}");

        // A moderator reopens it: THREAD_UPDATE, and the open check-in follows by itself.
        bot.fake.reopen_thread(GUILD, CHANNEL);
        let posted = bot
            .fake
            .wait_until(WAIT, "the post after the thread was reopened", |f| {
                f.requests_to("POST", &path).into_iter().find(|r| r.status == 200 && r.seq > tries.last().unwrap().seq)
            })
            .await;
        println!(
            "thread reopened (locked: {locked}): posted {:?} after the last refusal",
            posted.at - tries.last().unwrap().at
        );
        assert!(!status_for_admin(&bot).await.contains("archived"), "the problem is gone once posted");
        // The next round's check-in.
        let store = bot.engine.store();
        for k in store.unposted_checkins().await.unwrap() {
            store.mark_missed(k.id).await.unwrap();
        }
    }
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissions_taken_away_and_given_back_heal_without_setting_up_again() {
    let bot = Bot::start().await;
    bot.setup(LEAP_DAYS, None).await;
    bot.fake.deny_bot_in_channel(CHANNEL, permissions::SEND_MESSAGES);
    record_unposted(&bot, 60).await;
    ticks(&bot, 4).await;
    let path = format!("/channels/{CHANNEL}/messages");
    assert_eq!(statuses(&bot.fake.requests_to("POST", &path)), [403]);
    assert!(status_for_admin(&bot).await.contains("missing permissions"));

    bot.fake.restore_bot_in_channel(GUILD, CHANNEL);
    bot.fake.wait_messages(CHANNEL, 1, WAIT).await;
    assert_eq!(statuses(&bot.fake.requests_to("POST", &path)), [403, 200]);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_mentor_role_is_shown_to_the_admin_until_another_role_is_named() {
    let bot = Bot::start().await;
    bot.setup(LEAP_DAYS, None).await;
    assert!(!status_for_admin(&bot).await.contains("mentor role"));
    bot.fake.delete_role(GUILD, MENTOR_ROLE);
    // The mentor has lost the role: the admin is who can fix it, and sees why.
    let status = status_for_admin(&bot).await;
    println!(
        "{:?}",
        bot.fake
            .requests_to("GET", &format!("/guilds/{GUILD}/roles"))
            .iter()
            .map(|r| (r.status, r.error.clone()))
            .collect::<Vec<_>>()
    );
    assert!(status.contains(&format!("The mentor role (`{MENTOR_ROLE}`) was deleted")), "{status}");
    assert!(status.contains("/cohort setup"), "what fixes it: {status}");
    let name = bot.engine.store().cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().unwrap().spec.name;
    bot.setup_in(CHANNEL, MENTOR_ROLE2, LEAP_DAYS, &name).await;
    assert!(!status_for_admin(&bot).await.contains("mentor role"), "healed once another role is named");
    let mentor = fake_discord::Actor::in_guild(GUILD, CHANNEL, MENTOR).roles(vec![MENTOR_ROLE2]);
    let h = bot.fake.slash_command(mentor.command("cohort").subcommand("status"));
    assert_eq!(bot.fake.wait_followup(&h, WAIT).await.embeds.len(), 1, "the new role's mentors read the status");
    bot.stop().await;
}

/// The same for a cohort declared in the config file: no `/cohort setup`
/// (which a file cohort refuses) is needed to heal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_file_cohort_heals_the_same_way_when_its_thread_is_reopened() {
    let file_cohort = trellis_testkit::spec("file-cohort", ChannelId::new(CHANNEL), LEAP_DAYS, "UTC");
    let bot = Bot::start_configured(std::sync::Arc::new(trellis::engine::SystemClock), |s| {
        s.cohorts = vec![file_cohort];
    })
    .await;
    let path = format!("/channels/{CHANNEL}/messages");
    bot.fake.archive_thread(GUILD, CHANNEL, true);
    record_unposted(&bot, 60).await;
    ticks(&bot, 4).await;
    assert_eq!(statuses(&bot.fake.requests_to("POST", &path)), [400], "one try over four passes");
    assert!(status_for_admin(&bot).await.contains("the thread is archived or locked"));
    bot.fake.reopen_thread(GUILD, CHANNEL);
    bot.fake.wait_messages(CHANNEL, 1, WAIT).await;
    assert_eq!(statuses(&bot.fake.requests_to("POST", &path)), [400, 200]);
    bot.stop().await;
}
