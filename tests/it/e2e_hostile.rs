//! Hostile input over the wire: modal submits, button clicks, slash-command
//! options and DMs carrying bad values reach the real bot through the fake
//! Discord. Each gets an ephemeral message (or a safe save) within the 3 s
//! budget, nothing pings, and the database ends up holding exactly the
//! safe saves.

use std::time::Duration;

use fake_discord::{Actor, InteractionHandle, InteractionResponse, OptionValue};
use serde_json::{Value, json};
use trellis_testkit::bot::*;
use trellis_testkit::ids::*;

/// A schedule that will not fire while a test runs (next: 29 Feb 2028).
const QUIET: &str = "0 0 9 29 2 *";
/// Every refused input that has room for it starts with this.
const MARK: &str = "REFUSED-";

fn user(i: usize) -> u64 {
    700_000_000_000_000_000 + i as u64
}

async fn respond(bot: &Bot, h: &InteractionHandle) -> InteractionResponse {
    let r = bot.fake.wait_interaction_response(h, WAIT).await;
    assert!(r.elapsed < Duration::from_secs(3), "took {:?}: {r:?}", r.elapsed);
    r
}

/// An ephemeral text reply (callback type 4) containing `needle`.
fn assert_says(r: &InteractionResponse, needle: &str, label: &str) {
    assert_eq!(r.kind, 4, "{label}: {r:?}");
    assert!(r.is_ephemeral(), "{label}: not ephemeral: {r:?}");
    assert!(r.content().contains(needle), "{label}: expected {needle:?} in {:?}", r.content());
    assert!(r.content().chars().count() <= 2000, "{label}: too long");
    pings_nobody(&r.data["allowed_mentions"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_modal_submits_get_a_message_or_a_verbatim_save() {
    let bot = Bot::start().await;
    bot.setup(QUIET, None).await;
    let (checkin, custom_id) = bot.open_checkin(CHANNEL).await;
    let over = format!("{MARK}{}", "x".repeat(4001 - MARK.len()));
    let zalgo: String = "zalgo".chars().map(|c| format!("{c}{}", "\u{0336}\u{0489}".repeat(40))).collect();
    let sql = "'); DROP TABLE replies;--";
    let mentions = "@everyone @here <@&100000000000000021> <@300000000000000004> hi";
    // (label, answer, confidence, Ok(saved text) or Err(part of the message)).
    let corpus: Vec<(&str, String, String, Result<String, &str>)> = vec![
        ("empty", "".into(), "".into(), Err("empty")),
        ("whitespace", " \n\t\u{3000} ".into(), "".into(), Err("empty")),
        ("zero-width", "\u{200B}\u{2060}\u{FEFF}".into(), "".into(), Err("empty")),
        ("4001 characters", over, "".into(), Err("4001 characters")),
        ("NUL", format!("{MARK}a\0b"), "".into(), Err("NUL")),
        ("confidence eleven", format!("{MARK}ok"), "eleven".into(), Err("1 to 5")),
        ("confidence 4000 digits", format!("{MARK}ok"), "9".repeat(4000), Err("1 to 5")),
        ("confidence mention", format!("{MARK}ok"), "@everyone".into(), Err("1 to 5")),
        ("confidence zalgo", format!("{MARK}ok"), zalgo.clone(), Err("1 to 5")),
        ("SQL", sql.into(), "2".into(), Ok(sql.into())),
        ("mentions", mentions.into(), "".into(), Ok(mentions.into())),
        (
            "markdown",
            "**b** ||s|| ```x``` [l](https://e.test)".into(),
            "".into(),
            Ok("**b** ||s|| ```x``` [l](https://e.test)".into()),
        ),
        ("zalgo", zalgo.clone(), "5".into(), Ok(zalgo.clone())),
        ("4000 characters", "y".repeat(4000), "".into(), Ok("y".repeat(4000))),
        ("JSON escapes as text", "\\ud800 \\u0000 \"}".into(), "".into(), Ok("\\ud800 \\u0000 \"}".into())),
    ];
    let handles: Vec<_> = corpus
        .iter()
        .enumerate()
        .map(|(i, (_, answer, confidence, _))| {
            let fields = [("answer", answer.as_str()), ("confidence", confidence.as_str())];
            bot.fake.modal_submit(&member(user(i)), &custom_id, &fields)
        })
        .collect();
    let mut saves = 0;
    for ((label, _, _, expect), h) in corpus.iter().zip(&handles) {
        let r = respond(&bot, h).await;
        match expect {
            Ok(text) => {
                saves += 1;
                assert_eq!((r.kind, r.is_ephemeral()), (4, true), "{label}: {r:?}");
                assert_eq!(r.data["embeds"][0]["description"].as_str(), Some(text.as_str()), "{label}");
                pings_nobody(&r.data["allowed_mentions"]);
            }
            Err(needle) => assert_says(&r, needle, label),
        }
    }

    // The database holds the safe saves, verbatim, and no piece of a refused input.
    let cohort = bot.engine.store().cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().unwrap();
    let replies = bot.engine.store().replies_of_cohort(cohort.id).await.unwrap();
    assert_eq!(replies.len(), saves);
    for r in &replies {
        assert!(!r.answer.contains(MARK) && !r.answer.contains('\0'), "{:?}", r.answer);
        let i = (r.user_id.get() - user(0)) as usize;
        assert_eq!(Ok(&r.answer), corpus[i].3.as_ref(), "{}", corpus[i].0);
        assert_eq!(r.checkin_id, checkin.id);
    }
    assert_eq!(bot.engine.store().members(cohort.id).await.unwrap().len(), saves);
    assert!(assert_echoes_ping_nobody(&bot.fake) >= 2);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_wrong_and_unknown_fields_and_ids_store_nothing() {
    let bot = Bot::start().await;
    bot.setup(QUIET, None).await;
    let (checkin, answer_id) = bot.open_checkin(CHANNEL).await;
    let cohort = bot.engine.store().cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().unwrap();
    let impact_id = format!("impact:{}", cohort.id);
    let alice = member(ALICE);

    // Modal submits with missing or misnamed fields.
    // (label, custom_id, fields, part of the message).
    type ModalCase<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, &'a str);
    let modal_cases: Vec<ModalCase> = vec![
        ("no fields", answer_id.clone(), vec![], "empty"),
        ("confidence only", answer_id.clone(), vec![("confidence", "3")], "empty"),
        ("misnamed answer", answer_id.clone(), vec![("Answer", "text"), ("answer ", "text")], "empty"),
        ("impact without fields", impact_id.clone(), vec![], "is empty"),
        ("impact without evidence", impact_id.clone(), vec![("what_changed", "w"), ("who_benefited", "b")], "evidence"),
        (
            "impact bad link",
            impact_id.clone(),
            vec![("what_changed", "w"), ("evidence", "e"), ("who_benefited", "b"), ("link", "javascript:alert(1)")],
            "http",
        ),
        (
            "impact NUL link",
            impact_id.clone(),
            vec![("what_changed", "w"), ("evidence", "e"), ("who_benefited", "b"), ("link", "https://x.test/\0")],
            "NUL",
        ),
        // Unknown or malformed custom_ids.
        ("empty id", String::new(), vec![("answer", "text")], "no longer in use"),
        ("prefix only", "answer:".into(), vec![("answer", "text")], "no longer in use"),
        ("letters", "answer:abc".into(), vec![("answer", "text")], "no longer in use"),
        ("negative", "answer:-1".into(), vec![("answer", "text")], "no longer in use"),
        ("plus sign", format!("answer:+{}", checkin.id), vec![("answer", "text")], "no longer in use"),
        ("leading zero", format!("answer:0{}", checkin.id), vec![("answer", "text")], "no longer in use"),
        ("trailing space", format!("{answer_id} "), vec![("answer", "text")], "no longer in use"),
        ("overflow", "answer:99999999999999999999".into(), vec![("answer", "text")], "no longer in use"),
        ("button id as modal", "forget:confirm".into(), vec![("answer", "text")], "no longer in use"),
        ("100 characters", "x".repeat(100), vec![("answer", "text")], "no longer in use"),
        ("SQL id", "answer:1; DROP TABLE replies".into(), vec![("answer", "text")], "no longer in use"),
        ("no such check-in", "answer:999999".into(), vec![("answer", "text")], "does not exist"),
        (
            "no such cohort",
            "impact:999999".into(),
            vec![("what_changed", "w"), ("evidence", "e"), ("who_benefited", "b")],
            "not a cohort",
        ),
    ];
    for (label, id, fields, needle) in &modal_cases {
        let h = bot.fake.modal_submit(&alice, id, fields);
        assert_says(&respond(&bot, &h).await, needle, label);
    }

    // Button clicks with unknown ids: a message, never a modal.
    let buttons: Vec<(&str, String, &str)> = vec![
        ("empty", String::new(), "no longer in use"),
        ("letters", "answer:abc".into(), "no longer in use"),
        ("impact id on a button", impact_id.clone(), "no longer in use"),
        ("leading zero", format!("answer:0{}", checkin.id), "no longer in use"),
        ("mention id", "<@&100000000000000021>".into(), "no longer in use"),
        ("no such check-in", "answer:999999".into(), "does not exist"),
    ];
    for (label, id, needle) in &buttons {
        let h = bot.fake.button_click(&alice, id, 1);
        assert_says(&respond(&bot, &h).await, needle, label);
    }

    // Unknown commands and subcommands (a stale registration) get a message too.
    for (label, inv) in [
        ("unknown command", alice.command("drop-tables")),
        ("unknown subcommand", alice.command("cohort").subcommand("explode")),
    ] {
        let h = bot.fake.slash_command(inv);
        assert_says(&respond(&bot, &h).await, "no longer available", label);
    }

    let store = bot.engine.store();
    assert!(store.replies_of_cohort(cohort.id).await.unwrap().is_empty());
    assert!(store.impact_of_member(cohort.id, UserId::new(ALICE), 100).await.unwrap().is_empty());
    assert!(store.members(cohort.id).await.unwrap().is_empty(), "refused input enrols nobody");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_foreign_and_out_of_server_submits_are_refused() {
    let bot = Bot::start().await;
    bot.setup(QUIET, None).await;
    let (checkin, answer_id) = bot.open_checkin(CHANNEL).await;
    let cohort = bot.engine.store().cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().unwrap();
    let impact_id = format!("impact:{}", cohort.id);
    let answer = [("answer", "an answer"), ("confidence", "")];
    let win = [("what_changed", "w"), ("evidence", "e"), ("who_benefited", "b")];

    // Another guild: the id means nothing there.
    let stranger = Actor::in_guild(GUILD2, CHANNEL2, STRANGER);
    let h = bot.fake.modal_submit(&stranger, &answer_id, &answer);
    assert_says(&respond(&bot, &h).await, "does not exist here", "other guild, answer");
    let h = bot.fake.button_click(&stranger, &answer_id, 1);
    assert_says(&respond(&bot, &h).await, "does not exist here", "other guild, button");
    let h = bot.fake.modal_submit(&stranger, &impact_id, &win);
    assert_says(&respond(&bot, &h).await, "not a cohort", "other guild, impact");

    // Same guild, another channel, not a member: the form is not theirs to use.
    let outsider = Actor::in_guild(GUILD, OTHER_CHANNEL, BOB);
    let h = bot.fake.modal_submit(&outsider, &answer_id, &answer);
    assert_says(&respond(&bot, &h).await, "does not exist here", "outside the channel, answer");
    let h = bot.fake.button_click(&outsider, &answer_id, 1);
    assert_says(&respond(&bot, &h).await, "does not exist here", "outside the channel, button");
    let h = bot.fake.modal_submit(&outsider, &impact_id, &win);
    assert_says(&respond(&bot, &h).await, "not a cohort", "outside the channel, impact");

    // A DM is no server.
    let dm = bot.fake.dm_channel_for(BOB);
    let h = bot.fake.modal_submit(&Actor::in_dm(dm, BOB), &answer_id, &answer);
    assert_says(&respond(&bot, &h).await, "server", "from a DM");

    // A member may answer from another channel (what /checkin there opens).
    let h = bot.fake.modal_submit(&member(ALICE), &answer_id, &answer);
    assert_eq!(respond(&bot, &h).await.data["embeds"][0]["title"], "Answer saved");
    let h = bot.fake.modal_submit(&Actor::in_guild(GUILD, OTHER_CHANNEL, ALICE), &answer_id, &[("answer", "edited")]);
    assert_eq!(respond(&bot, &h).await.data["embeds"][0]["title"], "Answer updated");

    // Closed: the next occurrence came. Submit and button are refused.
    bot.engine.store().set_closes_at(checkin.id, chrono::Utc::now() - chrono::Duration::seconds(1)).await.unwrap();
    let h = bot.fake.modal_submit(&member(ALICE), &answer_id, &[("answer", &format!("{MARK}late"))]);
    assert_says(&respond(&bot, &h).await, "closed", "closed, edit");
    let h = bot.fake.modal_submit(&member(CAROL), &answer_id, &[("answer", &format!("{MARK}late"))]);
    assert_says(&respond(&bot, &h).await, "closed", "closed, new");
    let h = bot.fake.button_click(&member(CAROL), &answer_id, 1);
    assert_says(&respond(&bot, &h).await, "closed", "closed, button");

    let store = bot.engine.store();
    let replies = store.replies_of_cohort(cohort.id).await.unwrap();
    assert_eq!(replies.len(), 1);
    assert_eq!((replies[0].user_id.get(), replies[0].answer.as_str()), (ALICE, "edited"));
    let members: Vec<u64> = store.members(cohort.id).await.unwrap().iter().map(|m| m.user_id.get()).collect();
    assert_eq!(members, vec![ALICE]);
    for user in [BOB, CAROL, STRANGER] {
        assert!(store.rows_mentioning_user(UserId::new(user)).await.unwrap().iter().all(|(_, n)| *n == 0), "{user}");
    }
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn option_values_of_the_wrong_type_or_range_get_a_message() {
    let bot = Bot::start().await;
    bot.setup(QUIET, None).await;
    let alice = member(ALICE);
    let h = bot.fake.slash_command(alice.command("cohort").subcommand("join"));
    respond(&bot, &h).await;

    let raw = |kind, value: Value| OptionValue::Raw { kind, value };
    let cases: Vec<(&str, fake_discord::Invocation, &str)> = vec![
        ("weeks as a string", alice.command("pause").option("weeks", "three"), "not valid"),
        ("weeks negative", alice.command("pause").option("weeks", -5), "not valid"),
        ("weeks as a float", alice.command("pause").option("weeks", 2.5), "not valid"),
        ("weeks past u32", alice.command("pause").option("weeks", 1_i64 << 40), "not valid"),
        ("weeks past the maximum", alice.command("pause").option("weeks", 1000), "1 to 12 weeks"),
        ("weeks zero", alice.command("pause").option("weeks", 0), "1 to 12 weeks"),
        (
            "user id not resolved",
            alice.command("progress").option("member", raw(6, json!("300000000000000004"))),
            "not valid",
        ),
        (
            "role not resolved",
            admin(GUILD, CHANNEL)
                .command("cohort")
                .subcommand("setup")
                .option("timezone", "UTC")
                .option("mentor_role", raw(8, json!("123456789012345678")))
                .option("cron", QUIET),
            "not valid",
        ),
        (
            "day out of range",
            admin(GUILD, CHANNEL)
                .command("cohort")
                .subcommand("setup")
                .option("timezone", "UTC")
                .option("mentor_role", OptionValue::Role(MENTOR_ROLE))
                .option("day", 99)
                .option("time", "09:00"),
            "not valid",
        ),
        (
            "time 25:99",
            admin(GUILD, CHANNEL)
                .command("cohort")
                .subcommand("setup")
                .option("timezone", "UTC")
                .option("mentor_role", OptionValue::Role(MENTOR_ROLE))
                .option("day", 0)
                .option("time", "25:99"),
            "HH:MM",
        ),
        (
            "4001-character time zone",
            admin(GUILD, CHANNEL)
                .command("cohort")
                .subcommand("setup")
                .option("timezone", "Z".repeat(4001))
                .option("mentor_role", OptionValue::Role(MENTOR_ROLE))
                .option("cron", QUIET),
            "`timezone` is 4001 characters long",
        ),
        (
            "4001-character cron",
            admin(GUILD, CHANNEL)
                .command("cohort")
                .subcommand("setup")
                .option("timezone", "UTC")
                .option("mentor_role", OptionValue::Role(MENTOR_ROLE))
                .option("cron", format!("0 0 9 * * Mon{}", " ".repeat(4000))),
            "`cron` is 4013 characters long",
        ),
        (
            "SQL cron",
            admin(GUILD, CHANNEL)
                .command("cohort")
                .subcommand("setup")
                .option("timezone", "UTC")
                .option("mentor_role", OptionValue::Role(MENTOR_ROLE))
                .option("cron", "'); DROP TABLE cohorts;--"),
            "cron",
        ),
        (
            "mention reminder",
            admin(GUILD, CHANNEL)
                .command("cohort")
                .subcommand("setup")
                .option("timezone", "UTC")
                .option("mentor_role", OptionValue::Role(MENTOR_ROLE))
                .option("cron", QUIET)
                .option("reminder_after", "@everyone"),
            "duration",
        ),
        (
            "digest channel not resolved",
            admin(GUILD, CHANNEL)
                .command("cohort")
                .subcommand("setup")
                .option("timezone", "UTC")
                .option("mentor_role", OptionValue::Role(MENTOR_ROLE))
                .option("cron", QUIET)
                .option("digest_channel", raw(7, json!("999"))),
            "not valid",
        ),
    ];
    for (label, inv, needle) in cases {
        let h = bot.fake.slash_command(inv);
        assert_says(&respond(&bot, &h).await, needle, label);
    }

    // /progress defers first, so its refusals arrive as follow-ups.
    for (label, weeks, needle) in [("weeks u32::MAX", i64::from(u32::MAX), "weeks"), ("weeks zero", 0, "weeks")] {
        let h = bot.fake.slash_command(alice.command("progress").option("weeks", weeks));
        let f = bot.fake.wait_followup(&h, WAIT).await;
        assert!(f.is_ephemeral() && f.embeds.is_empty() && f.content.contains(needle), "{label}: {f:?}");
    }

    // Nothing changed: no pause, the cohort as set up, one member.
    let cohort = bot.engine.store().cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().unwrap();
    assert_eq!((cohort.spec.schedule.expr(), cohort.timezone().name()), (QUIET, "UTC"));
    assert_eq!(cohort.spec.reminder_after, None);
    assert!(bot.engine.store().pauses(cohort.id, UserId::new(ALICE)).await.unwrap().is_empty());
    assert_eq!(bot.engine.store().members(cohort.id).await.unwrap().len(), 1);
    assert!(assert_echoes_ping_nobody(&bot.fake) >= 1);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_cohort_names_and_dms_never_ping() {
    let bot = Bot::start().await;
    let name = "@everyone <@&100000000000000021> **pwn**";
    let text = bot.setup_in(CHANNEL, MENTOR_ROLE, QUIET, name).await;
    assert!(text.contains(name), "{text}");
    bot.open_checkin(CHANNEL).await;
    let h = bot.fake.slash_command(member(ALICE).command("cohort").subcommand("join"));
    assert_says(&respond(&bot, &h).await, "Welcome", "join echoes the name");

    // DMs: refused ones get the reason, the last good one is the answer.
    let dm = bot.fake.dm_channel_for(ALICE);
    let dms = [
        "".to_string(),
        "\u{200B}".into(),
        format!("{MARK}\0"),
        format!("{MARK}{}", "d".repeat(4001)),
        "@everyone <@300000000000000004> my answer".into(),
    ];
    for content in &dms {
        bot.fake.dm_message(ALICE, dm, content);
    }
    let replies = bot
        .fake
        .wait_until(WAIT, "a reply to every DM", |fake| {
            let mine: Vec<_> = fake.messages_in(dm).into_iter().filter(|m| m.author_id == BOT).collect();
            (mine.len() >= dms.len()).then_some(mine)
        })
        .await;
    for m in &replies {
        pings_nobody(m.allowed_mentions.as_ref().expect("allowed_mentions set"));
    }
    let said: Vec<&str> = replies.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(said.iter().filter(|c| c.contains("empty")).count(), 2, "{said:?}");
    assert_eq!(said.iter().filter(|c| c.contains("NUL")).count(), 1, "{said:?}");
    assert_eq!(said.iter().filter(|c| c.contains("the limit is 4000")).count(), 1, "{said:?}");
    assert_eq!(said.iter().filter(|c| c.starts_with("Saved")).count(), 1, "{said:?}");
    let cohort = bot.engine.store().cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().unwrap();
    let stored = bot.engine.store().replies_of_cohort(cohort.id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].answer, "@everyone <@300000000000000004> my answer");
    assert!(assert_echoes_ping_nobody(&bot.fake) >= 2);
    bot.stop().await;
}

#[test]
fn lone_surrogates_never_reach_the_bot() {
    // A Discord payload with an escaped lone surrogate cannot become a Rust
    // string: serenity's gateway parser (serde_json) refuses the frame, logs
    // it and reads the next one, so such an interaction is dropped before any
    // Trellis code runs. The same frame with a valid escape parses.
    let frame = |answer: &str| {
        format!(
            r#"{{"op":0,"s":7,"t":"INTERACTION_CREATE","d":{{"id":"1","application_id":"2","type":5,"token":"t","version":1,
            "locale":"en-US","entitlements":[],"attachment_size_limit":1,"channel_id":"3","guild_id":"4",
            "member":{{"user":{{"id":"5","username":"u","discriminator":"0","global_name":null,"avatar":null}},
            "roles":[],"deaf":false,"mute":false,"flags":0,"joined_at":"2024-01-01T00:00:00+00:00","permissions":"0"}},
            "data":{{"custom_id":"answer:1","components":[{{"type":1,"components":[{{"type":4,"custom_id":"answer",
            "value":"{answer}"}}]}}]}}}}}}"#
        )
    };
    use poise::serenity_prelude::GatewayEvent;
    assert!(serde_json::from_str::<GatewayEvent>(&frame("ok \\ud83d\\ude80")).is_ok(), "the valid frame parses");
    for bad in ["\\ud800", "a\\udfff", "\\ud800\\u0041", "\\udbff\\ud800"] {
        assert!(serde_json::from_str::<GatewayEvent>(&frame(bad)).is_err(), "{bad} was accepted");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_events_are_dropped_and_the_bot_carries_on() {
    // The same path a lone surrogate takes (the frame does not decode), here
    // driven over the socket with wrong types the fake can still serialise.
    let bot = Bot::start().await;
    bot.setup(QUIET, None).await;
    let (_, answer_id) = bot.open_checkin(CHANNEL).await;
    bot.fake.dispatch("INTERACTION_CREATE", json!({ "id": "1", "type": "five", "data": { "custom_id": answer_id } }));
    bot.fake.dispatch("INTERACTION_CREATE", json!({ "id": [], "token": 5, "type": 5 }));
    bot.fake.dispatch("MESSAGE_CREATE", json!({ "id": "x", "content": { "nested": true } }));
    bot.fake.dispatch("NO_SUCH_EVENT", json!({ "a": "\u{0}" }));
    // Well-formed frames Discord would never send: a user option whose id is
    // SQL (serenity cannot decode it), and a command of an unknown type
    // (poise 0.7 hits `unimplemented!()` on it; the panic stays in that
    // event's task).
    let options = json!([{ "name": "member", "type": 6, "value": "'; DROP TABLE members;--" }]);
    bot.fake.dispatch(
        "INTERACTION_CREATE",
        command_frame(1, json!({ "id": "9", "name": "progress", "type": 1, "options": options })),
    );
    bot.fake.dispatch(
        "INTERACTION_CREATE",
        command_frame(2, json!({ "id": "9", "name": "pause", "type": 99, "options": [] })),
    );
    let h = bot.fake.modal_submit(&member(ALICE), &answer_id, &[("answer", "still here")]);
    assert_eq!(respond(&bot, &h).await.data["embeds"][0]["description"], "still here");
    let cohort = bot.engine.store().cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().unwrap();
    assert_eq!(bot.engine.store().replies_of_cohort(cohort.id).await.unwrap().len(), 1);
    bot.stop().await;
}

/// A complete APPLICATION_COMMAND interaction from ALICE in CHANNEL with `data`.
fn command_frame(n: u64, data: Value) -> Value {
    json!({
        "id": (880_000_000_000_000_000 + n).to_string(),
        "application_id": APP.to_string(),
        "type": 2,
        "token": format!("hand-made-token-{n}"),
        "version": 1,
        "locale": "en-US",
        "entitlements": [],
        "attachment_size_limit": 8_388_608,
        "channel_id": CHANNEL.to_string(),
        "guild_id": GUILD.to_string(),
        "app_permissions": "0",
        "member": {
            "user": { "id": ALICE.to_string(), "username": "alice", "discriminator": "0", "global_name": null, "avatar": null },
            "roles": [], "deaf": false, "mute": false, "flags": 0, "permissions": "0",
            "joined_at": "2024-01-01T00:00:00.000000+00:00",
        },
        "data": data,
    })
}
