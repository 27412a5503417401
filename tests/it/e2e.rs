//! End to end: the real startup code, a real SQLite file and the fake Discord
//! on loopback. Each test boots its own bot.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use fake_discord::{Actor, OptionValue, permissions};
use tracing::instrument::WithSubscriber as _;
use trellis::domain::{ChannelId, CheckInId, UserId};
use trellis::engine::Clock;
use trellis::startup::{Application, SchedulerStopped};
use trellis_testkit::bot::*;
use trellis_testkit::ids::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boots_without_privileged_intents_and_registers_every_command() {
    let bot = Bot::start().await;
    let intents = bot.fake.last_identify_intents().expect("IDENTIFY sent");
    const PRIVILEGED: u64 = (1 << 1) | (1 << 8) | (1 << 15);
    assert_eq!(intents & PRIVILEGED, 0, "privileged intent requested: {intents:#b}");
    for guild in [GUILD, GUILD2] {
        let mut names = bot.fake.registered_command_names(guild);
        names.sort();
        assert_eq!(
            names,
            ["checkin", "cohort", "desk", "forget-me", "impact", "packet", "path", "pause", "progress", "resume"]
        );
        let subcommands = |name: &str| {
            let command = bot.fake.registered_commands(guild).into_iter().find(|c| c["name"] == name).unwrap();
            let mut subs: Vec<_> = command["options"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["name"].as_str().unwrap().to_string())
                .collect();
            subs.sort();
            (command, subs)
        };
        assert_eq!(subcommands("cohort").1, ["answers", "join", "leave", "remove", "setup", "status"]);
        let (path, subs) = subcommands("path");
        assert_eq!(subs, ["done", "project", "show"]);
        // `/path done step:` offers the seven steps by the names of the contract, as strings.
        let done = path["options"].as_array().unwrap().iter().find(|o| o["name"] == "done").unwrap();
        let step = &done["options"][0];
        assert_eq!(
            (step["name"].as_str(), step["type"].as_u64(), step["required"].as_bool()),
            (Some("step"), Some(3), Some(true))
        );
        let values: Vec<&str> =
            step["choices"].as_array().unwrap().iter().map(|c| c["value"].as_str().unwrap()).collect();
        assert_eq!(values, ["expectations", "problem", "plan", "stakeholders", "mentoring", "outcomes", "story"]);
        for c in bot.fake.registered_commands(guild) {
            assert!(!c["description"].as_str().unwrap_or("").is_empty(), "{c}");
        }
    }
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_by_admin_schedules_exactly_one_post_per_occurrence() {
    let bot = Bot::start().await;

    // A member without Manage Server is refused, and nothing is created.
    let h = bot.fake.slash_command(
        member(ALICE)
            .command("cohort")
            .subcommand("setup")
            .option("timezone", "UTC")
            .option("mentor_role", OptionValue::Role(MENTOR_ROLE))
            .option("cron", "*/2 * * * * *"),
    );
    let r = bot.fake.wait_interaction_response(&h, WAIT).await;
    assert!(r.is_ephemeral() && r.content().contains("Manage Server"), "{r:?}");
    assert!(bot.engine.cohorts_in_guild(GuildId::new(GUILD)).await.unwrap().is_empty());

    // Bad input: a clear message, nothing stored.
    let admin = admin(GUILD, CHANNEL);
    let h = bot.fake.slash_command(
        admin
            .command("cohort")
            .subcommand("setup")
            .option("timezone", "Mars/Olympus")
            .option("mentor_role", OptionValue::Role(MENTOR_ROLE))
            .option("cron", "0 0 9 * * Mon"),
    );
    let r = bot.fake.wait_interaction_response(&h, WAIT).await;
    assert!(r.content().contains("timezone") && r.content().contains("IANA"), "{r:?}");
    assert!(bot.engine.cohorts_in_guild(GuildId::new(GUILD)).await.unwrap().is_empty());

    let text = bot.setup("*/2 * * * * *", None).await;
    assert!(text.contains("Next check-ins"), "{text}");
    assert_eq!(text.matches("UTC (<t:").count(), 3, "three upcoming times: {text}");

    let posts = bot.fake.wait_messages(CHANNEL, 3, WAIT).await;
    // Stop scheduling, then compare the channel with the ledger.
    let h = bot.fake.slash_command(admin.command("cohort").subcommand("remove"));
    bot.fake.wait_interaction_response(&h, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let posts_after = bot.checkin_posts();
    let cohort = bot.engine.store().cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().unwrap();
    let ledger = bot.engine.store().checkins_of_cohort(cohort.id).await.unwrap();
    let posted: Vec<_> = ledger.iter().filter(|c| c.message_id.is_some()).collect();
    assert!(posts.len() >= 3);
    assert_eq!(posts_after.len(), posted.len(), "one message per posted occurrence");
    let mut nonces: Vec<_> = posts_after.iter().map(|m| m.nonce.clone().expect("nonce")).collect();
    nonces.sort_by_key(|n| n.to_string());
    nonces.dedup();
    assert_eq!(nonces.len(), posts_after.len(), "nonces are unique");
    for m in &posts_after {
        assert!(button_custom_id(m).starts_with("answer:"), "{:?}", m.components);
        assert_eq!(m.embeds.len(), 1);
    }
    for req in bot.fake.requests_to("POST", &format!("/channels/{CHANNEL}/messages")) {
        assert_eq!(req.body.as_ref().unwrap()["enforce_nonce"], true);
    }
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answer_button_modal_confirmation_progress_and_access() {
    let bot = Bot::start().await;
    bot.setup("*/30 * * * * *", None).await;
    let post = bot.fake.wait_messages(CHANNEL, 1, Duration::from_secs(40)).await.remove(0);
    let custom_id = button_custom_id(&post);

    // Button → modal.
    let click = bot.fake.button_click(&member(ALICE), &custom_id, post.id);
    let modal = bot.fake.wait_interaction_response(&click, WAIT).await;
    assert_eq!(modal.kind, 9, "{modal:?}");
    assert_eq!(modal.custom_id(), Some(custom_id.as_str()));
    assert!(modal.elapsed < Duration::from_secs(3));

    // Bad confidence: a clear message, nothing stored.
    let bad = bot.fake.modal_submit(&member(ALICE), &custom_id, &[("answer", "hello"), ("confidence", "eleven")]);
    let r = bot.fake.wait_interaction_response(&bad, WAIT).await;
    assert!(r.is_ephemeral() && r.content().contains("1 to 5"), "{r:?}");
    let checkin_id = CheckInId::new(custom_id.trim_start_matches("answer:").parse().unwrap());
    assert!(bot.engine.store().reply(checkin_id, UserId::new(ALICE)).await.unwrap().is_none());

    // Submit → committed → ephemeral confirmation echoing the text, pinging nobody.
    let text = "Shipped the RFC. @everyone <@300000000000000004> <@&100000000000000021> please read";
    let submit = bot.fake.modal_submit(&member(ALICE), &custom_id, &[("answer", text), ("confidence", "4")]);
    let r = bot.fake.wait_interaction_response(&submit, WAIT).await;
    assert_eq!(r.kind, 4);
    assert!(r.is_ephemeral());
    assert!(r.elapsed < Duration::from_secs(3), "{:?}", r.elapsed);
    assert_eq!(r.data["embeds"][0]["description"], text);
    pings_nobody(&r.data["allowed_mentions"]);
    let saved = bot.engine.store().reply(checkin_id, UserId::new(ALICE)).await.unwrap().expect("answer stored");
    assert_eq!(saved.answer, text);
    assert_eq!(saved.confidence, Some(4));

    // /progress reflects it.
    let h = bot.fake.slash_command(member(ALICE).command("progress"));
    let p = bot.fake.wait_followup(&h, WAIT).await;
    let desc = p.embeds[0]["description"].as_str().unwrap().to_string();
    assert!(desc.contains("streak **1**") || desc.contains("1/1"), "{desc}");
    let tracks = p.embeds[0]["fields"][0]["value"].as_str().unwrap();
    assert!(tracks.contains("**Scope** · 1 answer"), "{tracks}");

    // Bob may not read Alice's progress; the mentor may.
    let h = bot.fake.slash_command(member(BOB).command("progress").option("member", OptionValue::User(ALICE)));
    let refused = bot.fake.wait_followup(&h, WAIT).await;
    assert!(refused.embeds.is_empty() && refused.content.contains("mentors"), "{refused:?}");
    let mentor = member(MENTOR).roles(vec![MENTOR_ROLE]);
    let h = bot.fake.slash_command(mentor.command("progress").option("member", OptionValue::User(ALICE)));
    let seen = bot.fake.wait_followup(&h, WAIT).await;
    assert_eq!(seen.embeds.len(), 1, "{seen:?}");

    // /cohort status: refused to a member, shown to a mentor, invisible from another guild.
    let h = bot.fake.slash_command(member(BOB).command("cohort").subcommand("status"));
    let refused = bot.fake.wait_followup(&h, WAIT).await;
    assert!(refused.embeds.is_empty() && refused.content.contains("mentors"), "{refused:?}");
    let h = bot.fake.slash_command(mentor.command("cohort").subcommand("status"));
    let status = bot.fake.wait_followup(&h, WAIT).await;
    let body = status.embeds[0].to_string();
    assert!(body.contains("**1** answered"), "{body}");
    assert!(!body.contains("Shipped the RFC"), "status never shows answer text");
    let stranger = Actor::in_guild(GUILD2, CHANNEL2, STRANGER).roles(vec![MENTOR_ROLE]);
    let h = bot.fake.slash_command(stranger.command("cohort").subcommand("status"));
    let other = bot.fake.wait_followup(&h, WAIT).await;
    assert!(other.embeds.is_empty(), "{other:?}");
    let h = bot.fake.slash_command(stranger.command("progress").option("member", OptionValue::User(ALICE)));
    let other = bot.fake.wait_followup(&h, WAIT).await;
    assert!(other.embeds.is_empty() && !other.content.contains("Shipped"), "{other:?}");
    // A button of this guild's check-in, clicked from another guild, reveals nothing.
    let click = bot.fake.button_click(&Actor::in_guild(GUILD2, CHANNEL2, STRANGER), &custom_id, post.id);
    let r = bot.fake.wait_interaction_response(&click, WAIT).await;
    assert_ne!(r.kind, 9);

    // The packet echoes the answer as a file, never pinging.
    let h = bot.fake.slash_command(member(ALICE).command("packet"));
    let packet = bot.fake.wait_followup(&h, WAIT).await;
    let file = packet.attachments.iter().find(|a| a.filename == "packet.md").expect("packet.md attached");
    assert!(file.text().contains("Shipped the RFC"));
    assert!(!file.text().contains("@everyone"), "mentions neutralized");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_a_gateway_drop() {
    let bot = Bot::start().await;
    bot.setup("0 0 9 * * Mon", None).await;
    assert!(bot.fake.drop_gateway());
    bot.fake.wait_resumed(1, WAIT).await;
    let h = bot.fake.slash_command(member(ALICE).command("cohort").subcommand("join"));
    let r = bot.fake.wait_interaction_response(&h, WAIT).await;
    assert!(r.content().contains("Welcome"), "{r:?}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_on_message_create_is_retried_once_without_duplicate() {
    let bot = Bot::start().await;
    bot.fake.fail_next("POST", &format!("/channels/{CHANNEL}/messages"), 1, 0.2);
    bot.setup("*/30 * * * * *", None).await;
    let posts = bot.fake.wait_messages(CHANNEL, 1, Duration::from_secs(40)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(bot.checkin_posts().len(), 1, "{posts:?}");
    let attempts = bot.fake.requests_to("POST", &format!("/channels/{CHANNEL}/messages"));
    assert_eq!(attempts.len(), 2, "one 429, one retry");
    assert_eq!(attempts[0].body.as_ref().unwrap()["nonce"], attempts[1].body.as_ref().unwrap()["nonce"]);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_by_dm_and_dm_replies_are_answers() {
    let bot = Bot::start().await;
    bot.setup("*/30 * * * * *", Some("1s")).await;
    // Bob joins; he will be reminded. Alice answers first by DM.
    for user in [ALICE, BOB] {
        let h = bot.fake.slash_command(member(user).command("cohort").subcommand("join"));
        bot.fake.wait_interaction_response(&h, WAIT).await;
    }
    bot.fake.wait_messages(CHANNEL, 1, Duration::from_secs(40)).await;
    let alice_dm = bot.fake.dm_channel_for(ALICE);
    bot.fake.dm_message(ALICE, alice_dm, "My answer by DM, @everyone");
    let replies = bot
        .fake
        .wait_until(WAIT, "DM confirmation", |fake| {
            let bot_msgs: Vec<_> = fake.messages_in(alice_dm).into_iter().filter(|m| m.author_id == BOT).collect();
            (!bot_msgs.is_empty()).then_some(bot_msgs)
        })
        .await;
    assert!(replies[0].content.contains("Saved"), "{:?}", replies[0]);
    pings_nobody(replies[0].allowed_mentions.as_ref().unwrap());

    // Bob gets exactly one reminder DM; Alice (answered) none.
    let bob_dm = bot.fake.dm_channel_for(BOB);
    let reminders = bot
        .fake
        .wait_until(WAIT, "reminder", |fake| {
            let m: Vec<_> = fake.messages_in(bob_dm).into_iter().filter(|m| m.author_id == BOT).collect();
            (!m.is_empty()).then_some(m)
        })
        .await;
    assert!(reminders[0].content.contains("nudge"), "{:?}", reminders[0]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let bob_msgs = bot.fake.messages_in(bob_dm).into_iter().filter(|m| m.author_id == BOT).count();
    assert_eq!(bob_msgs, 1);
    let alice_msgs: Vec<_> = bot.fake.messages_in(alice_dm).into_iter().filter(|m| m.author_id == BOT).collect();
    assert!(alice_msgs.iter().all(|m| !m.content.contains("nudge")), "{alice_msgs:?}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timezone_autocomplete_and_impact_modal() {
    let bot = Bot::start().await;
    let admin =
        Actor::in_guild(GUILD, CHANNEL, ADMIN).permissions(permissions::EVERYONE_DEFAULT | permissions::MANAGE_GUILD);
    let inv = admin
        .command("cohort")
        .subcommand("setup")
        .option("timezone", "berl")
        .option("mentor_role", OptionValue::Role(MENTOR_ROLE));
    let h = bot.fake.autocomplete(inv, "timezone");
    let r = bot.fake.wait_interaction_response(&h, WAIT).await;
    assert_eq!(r.kind, 8, "{r:?}");
    let choices: Vec<_> = r.data["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["value"].as_str().unwrap()))
        .collect();
    // The value is the IANA name; the label shows the zone's offset now (CET or CEST).
    assert!(
        choices.iter().any(|(label, value)| *value == "Europe/Berlin"
            && (label.ends_with("(UTC+01:00)") || label.ends_with("(UTC+02:00)"))),
        "{choices:?}"
    );

    bot.setup("0 0 9 * * Mon", None).await;
    let h = bot.fake.slash_command(member(ALICE).command("impact"));
    let modal = bot.fake.wait_interaction_response(&h, WAIT).await;
    assert_eq!(modal.kind, 9, "{modal:?}");
    let custom_id = modal.custom_id().unwrap().to_string();
    let fields = [
        ("what_changed", "Checkout p99 dropped"),
        ("evidence", "820 ms → 310 ms over 2 weeks"),
        ("who_benefited", "Mobile buyers, @everyone"),
        ("link", "https://dash.example/p99"),
    ];
    let h = bot.fake.modal_submit(&member(ALICE), &custom_id, &fields);
    let r = bot.fake.wait_interaction_response(&h, WAIT).await;
    assert!(r.is_ephemeral(), "{r:?}");
    pings_nobody(&r.data["allowed_mentions"]);
    let cohort = bot.engine.store().cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().unwrap();
    let ledger = bot.engine.store().impact_of_member(cohort.id, UserId::new(ALICE), 10).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].evidence, "820 ms → 310 ms over 2 weeks");

    // A link that is not http(s): a clear message, nothing stored.
    let bad = [fields[0], fields[1], fields[2], ("link", "javascript:alert(1)")];
    let h = bot.fake.modal_submit(&member(ALICE), &custom_id, &bad);
    let r = bot.fake.wait_interaction_response(&h, WAIT).await;
    assert!(r.content().contains("http"), "{r:?}");
    assert_eq!(bot.engine.store().impact_of_member(cohort.id, UserId::new(ALICE), 10).await.unwrap().len(), 1);
    bot.stop().await;
}

/// What the broken clock panics with.
const CLOCK_FAULT: &str = "clock fault injected by the test";

/// The system clock until `break_down`; from then on every reading panics,
/// as a bug on the scheduler's path would.
#[derive(Default)]
struct BreakableClock(AtomicBool);

impl BreakableClock {
    fn break_down(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Clock for BreakableClock {
    fn now(&self) -> DateTime<Utc> {
        if self.0.load(Ordering::SeqCst) {
            panic!("{CLOCK_FAULT}");
        }
        Utc::now()
    }
}

/// Log lines written while polling one future, as `trellis run` prints them.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        let sink = self.clone();
        tracing_subscriber::fmt().with_ansi(false).with_writer(move || sink.clone()).finish()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduler_that_panics_stops_the_bot_with_an_error_naming_the_cause() {
    trellis::telemetry::init_for_tests();
    let fake = start_fake().await;
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(BreakableClock::default());
    let app = Application::build(settings(&fake, dir.path()), clock.clone()).await.expect("app builds");
    let logs = CapturedLogs::default();
    let run = tokio::spawn(app.run_until_stopped(std::future::pending()).with_subscriber(logs.subscriber()));
    wait_started(&fake).await;

    // A check-in every second, and two posted: the scheduler works (and has
    // marked the first one posted in its ledger).
    let h = fake.slash_command(
        admin(GUILD, CHANNEL)
            .command("cohort")
            .subcommand("setup")
            .option("timezone", "UTC")
            .option("mentor_role", OptionValue::Role(MENTOR_ROLE))
            .option("cron", "* * * * * *"),
    );
    let r = fake.wait_interaction_response(&h, WAIT).await;
    assert!(r.content().contains("is set up"), "{r:?}");
    fake.wait_messages(CHANNEL, 2, WAIT).await;

    // Nobody interacts from here on, so the scheduler's next tick (within a
    // second) is the first to read the broken clock.
    clock.break_down();
    let result = tokio::time::timeout(WAIT, run).await.expect("the bot stops on its own").expect("no panic");

    let err = result.expect_err("a dead scheduler stops the bot with an error");
    let stopped = err.downcast_ref::<SchedulerStopped>().unwrap_or_else(|| panic!("{err:?}"));
    assert!(matches!(stopped, SchedulerStopped::Failed(e) if e.is_panic()), "{stopped:?}");
    // `trellis run` prints `error: {err:#}` and exits 1.
    assert!(format!("{err:#}").contains(CLOCK_FAULT), "{err:#}");
    let logs = logs.text();
    let logged = logs.split_once(" ERROR ").map(|(_, rest)| rest).unwrap_or_else(|| panic!("no error logged:\n{logs}"));
    assert!(logged.contains("scheduler stopped") && logged.contains(CLOCK_FAULT), "{logs}");

    // The rest stopped: the gateway is closed, and the database was closed
    // with what the scheduler had posted in its ledger.
    fake.wait_until(WAIT, "the gateway to close", |f| (!f.connected()).then_some(())).await;
    let store = trellis::store::Store::connect(&settings(&fake, dir.path()).database_url).await.unwrap();
    let cohort = store.cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().expect("the cohort");
    let ledger = store.checkins_of_cohort(cohort.id).await.unwrap();
    assert!(ledger.iter().any(|c| c.message_id.is_some()), "{ledger:?}");
    store.close().await;
    fake.assert_no_unknown_routes();
}
