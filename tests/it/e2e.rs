//! End to end: the real startup code, a real SQLite file and the fake Discord
//! on loopback. Each test boots its own bot.

use std::time::Duration;

use fake_discord::{Actor, OptionValue, permissions};
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
        assert_eq!(names, ["checkin", "cohort", "forget-me", "impact", "packet", "pause", "progress", "resume"]);
        let cohort = bot.fake.registered_commands(guild).into_iter().find(|c| c["name"] == "cohort").unwrap();
        let mut subs: Vec<_> =
            cohort["options"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap().to_string()).collect();
        subs.sort();
        assert_eq!(subs, ["join", "leave", "remove", "setup", "status"]);
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
    assert!(bot.engine.cohorts_in_guild(GUILD).await.unwrap().is_empty());

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
    assert!(bot.engine.cohorts_in_guild(GUILD).await.unwrap().is_empty());

    let text = bot.setup("*/2 * * * * *", None).await;
    assert!(text.contains("Next check-ins"), "{text}");
    assert_eq!(text.matches("UTC (<t:").count(), 3, "three upcoming times: {text}");

    let posts = bot.fake.wait_messages(CHANNEL, 3, WAIT).await;
    // Stop scheduling, then compare the channel with the ledger.
    let h = bot.fake.slash_command(admin.command("cohort").subcommand("remove"));
    bot.fake.wait_interaction_response(&h, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let posts_after = bot.checkin_posts();
    let cohort = bot.engine.store().cohort_by_channel(CHANNEL).await.unwrap().unwrap();
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
    let checkin_id: i64 = custom_id.trim_start_matches("answer:").parse().unwrap();
    assert!(bot.engine.store().reply(checkin_id, ALICE).await.unwrap().is_none());

    // Submit → committed → ephemeral confirmation echoing the text, pinging nobody.
    let text = "Shipped the RFC. @everyone <@300000000000000004> <@&100000000000000021> please read";
    let submit = bot.fake.modal_submit(&member(ALICE), &custom_id, &[("answer", text), ("confidence", "4")]);
    let r = bot.fake.wait_interaction_response(&submit, WAIT).await;
    assert_eq!(r.kind, 4);
    assert!(r.is_ephemeral());
    assert!(r.elapsed < Duration::from_secs(3), "{:?}", r.elapsed);
    assert_eq!(r.data["embeds"][0]["description"], text);
    pings_nobody(&r.data["allowed_mentions"]);
    let saved = bot.engine.store().reply(checkin_id, ALICE).await.unwrap().expect("answer stored");
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
    let names: Vec<_> = r.data["choices"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"Europe/Berlin"), "{names:?}");

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
    let cohort = bot.engine.store().cohort_by_channel(CHANNEL).await.unwrap().unwrap();
    let ledger = bot.engine.store().impact_of_member(cohort.id, ALICE, 10).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].evidence, "820 ms → 310 ms over 2 weeks");

    // A link that is not http(s): a clear message, nothing stored.
    let bad = [fields[0], fields[1], fields[2], ("link", "javascript:alert(1)")];
    let h = bot.fake.modal_submit(&member(ALICE), &custom_id, &bad);
    let r = bot.fake.wait_interaction_response(&h, WAIT).await;
    assert!(r.content().contains("http"), "{r:?}");
    assert_eq!(bot.engine.store().impact_of_member(cohort.id, ALICE, 10).await.unwrap().len(), 1);
    bot.stop().await;
}
