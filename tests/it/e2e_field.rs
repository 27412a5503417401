//! End to end, field and security round two (issue 16, kinds 3, 4, 5, 8):
//! a panic anywhere is answered with an apology and text in any script
//! works in every input; an old button never names another row; what an
//! option or a button names is checked against where it came from; a form
//! that can no longer be saved gives the member their text back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use fake_discord::{Actor, InteractionHandle, InteractionResponse, OptionValue, StoredMessage};
use serde_json::Value;
use trellis::domain::{CheckIn, ReplyId};
use trellis::engine::{Clock, SystemClock};
use trellis_testkit::bot::*;
use trellis_testkit::ids::*;
use trellis_testkit::{Backend, TempDb, answer_id, on_both_backends};

/// A schedule that never fires during a test.
const QUIET: &str = "0 0 9 29 2 *";
const APOLOGY: &str = "Something went wrong on our side; nothing was saved";

fn mentor() -> Actor {
    member(MENTOR).roles(vec![MENTOR_ROLE])
}

async fn respond(bot: &Bot, h: &InteractionHandle) -> InteractionResponse {
    bot.fake.wait_interaction_response(h, WAIT).await
}

async fn answer(bot: &Bot, user: u64, custom_id: &str, text: &str) -> InteractionResponse {
    let h = bot.fake.modal_submit(&member(user), custom_id, &[("answer", text), ("confidence", "3")]);
    respond(bot, &h).await
}

/// The text a response or message shows: content and embeds.
fn shown(data: &Value) -> String {
    format!("{}\n{}", data["content"].as_str().unwrap_or(""), data["embeds"])
}

fn buttons_of(components: &[Value]) -> Vec<(String, String)> {
    components
        .iter()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .map(|b| (b["custom_id"].as_str().unwrap_or("").to_string(), b["label"].as_str().unwrap_or("").to_string()))
        .collect()
}

fn buttons(m: &StoredMessage) -> Vec<(String, String)> {
    buttons_of(&m.components)
}

async fn forget_me(bot: &Bot, user: u64) {
    let click = bot.fake.button_click(&member(user), "forget:confirm", 1);
    let r = respond(bot, &click).await;
    assert!(r.content().contains("Done: everything Trellis stored about you is deleted"), "{r:?}");
}

/// The bot on a fresh database of `backend` (PostgreSQL: a database of its own).
async fn bot_on(backend: Backend) -> (Bot, TempDb) {
    let db = TempDb::migrated(backend).await;
    let url = db.url.clone();
    let bot = match backend {
        Backend::Sqlite => Bot::start().await,
        Backend::Postgres => Bot::start_configured(Arc::new(SystemClock), |s| s.database_url = url).await,
    };
    (bot, db)
}

// ---- kind 4: ids in buttons never come to name another row ---------------

/// The example: a mentor opens `/cohort answers`; member A runs
/// `/forget-me`; member B answers; the mentor presses the Note button that
/// was A's, and submits the note form they had open for it.
async fn an_old_note_button_of_a_forgotten_answer_finds_nothing(backend: Backend) {
    let (bot, _db) = bot_on(backend).await;
    bot.setup(QUIET, None).await;
    let (checkin, custom_id) = bot.open_checkin(CHANNEL).await;
    assert_eq!(answer(&bot, ALICE, &custom_id, "Alice's answer").await.kind, 4);
    let store = bot.engine.store();
    let alice_reply = store.reply(checkin.id, UserId::new(ALICE)).await.unwrap().unwrap().id;

    let h = bot.fake.slash_command(mentor().command("cohort").subcommand("answers"));
    assert_eq!(respond(&bot, &h).await.kind, 5);
    let page = bot.fake.wait_followup(&h, WAIT).await;
    let (alice_button, _) = buttons(&page).into_iter().next().expect("a Note button");
    assert_eq!(alice_button, format!("note:{alice_reply}"));
    // The mentor opens the form now and submits it only after the rest.
    let opened = respond(&bot, &bot.fake.button_click(&mentor(), &alice_button, page.id)).await;
    assert_eq!(opened.kind, 9, "{opened:?}");

    forget_me(&bot, ALICE).await;
    assert_eq!(answer(&bot, BOB, &custom_id, "Bob's answer").await.kind, 4);
    let bob_reply = store.reply(checkin.id, UserId::new(BOB)).await.unwrap().unwrap().id;
    assert_ne!(bob_reply, alice_reply, "a deleted answer's id is never given to another");
    println!(
        "{backend:?}: Alice's answer had id {alice_reply}; Bob's, written after her /forget-me, has id {bob_reply}"
    );

    let pressed = respond(&bot, &bot.fake.button_click(&mentor(), &alice_button, page.id)).await;
    assert_eq!(pressed.kind, 4, "a message, not Bob's note form: {pressed:?}");
    assert!(pressed.is_ephemeral());
    assert!(pressed.content().contains("That answer does not exist here; it may have been deleted"), "{pressed:?}");
    assert!(!shown(&pressed.data).contains("Bob's answer"));

    let note = "Great framing — bring the platform team in earlier.";
    let submit = bot.fake.modal_submit(&mentor(), &alice_button, &[("note", note)]);
    assert_eq!(respond(&bot, &submit).await.kind, 5);
    let refused = bot.fake.wait_followup(&submit, WAIT).await;
    assert!(refused.is_ephemeral() && refused.content.contains("does not exist here"), "{refused:?}");
    assert_eq!(refused.embeds[0]["description"], note, "the note typed comes back to the mentor");
    assert!(store.note_by(bob_reply, UserId::new(MENTOR)).await.unwrap().is_none(), "no note on Bob's answer");
    assert!(store.note_by(ReplyId::new(alice_reply.get()), UserId::new(MENTOR)).await.unwrap().is_none());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(bot.fake.messages_in(bot.fake.dm_channel_for(BOB)).is_empty(), "no DM to Bob");
    bot.stop().await;
}
on_both_backends!(
    an_old_note_button_of_a_forgotten_answer_finds_nothing,
    (flavor = "multi_thread", worker_threads = 2)
);

// ---- kind 5: what the client names is checked against where it came from -

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_refuses_a_digest_channel_or_a_mentor_role_of_another_server() {
    let bot = Bot::start().await;
    // The example: CHANNEL2 is GUILD2's; Discord's channel says so.
    let text = bot.setup_with_digest(QUIET, CHANNEL2).await;
    assert!(text.contains("`digest_channel` is not a channel of this server"), "{text}");
    let store = bot.engine.store();
    assert!(store.cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().is_none(), "no cohort stored");

    // A role id GUILD does not have (resolved, as a client could name it).
    let h = bot.fake.slash_command(
        admin(GUILD, CHANNEL)
            .command("cohort")
            .subcommand("setup")
            .option("timezone", "UTC")
            .option("mentor_role", OptionValue::Role(MENTOR_ROLE + 777))
            .option("cron", QUIET),
    );
    let r = respond(&bot, &h).await;
    assert!(r.is_ephemeral() && r.content().contains("`mentor_role` is not a role of this server"), "{r:?}");
    assert!(store.cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().is_none());

    // This server's own channel and role are accepted.
    let text = bot.setup_with_digest(QUIET, OTHER_CHANNEL).await;
    assert!(text.contains("is set up"), "{text}");
    let cohort = store.cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().unwrap();
    assert_eq!(cohort.spec.digest_channel_id.map(|c| c.get()), Some(OTHER_CHANNEL));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_cohort_takes_no_answers_by_button_form_or_dm() {
    let bot = Bot::start().await;
    bot.setup(QUIET, None).await;
    let (checkin, custom_id) = bot.open_checkin(CHANNEL).await;
    assert_eq!(answer(&bot, ALICE, &custom_id, "before the removal").await.kind, 4);
    let h = bot.fake.slash_command(admin(GUILD, CHANNEL).command("cohort").subcommand("remove"));
    assert!(respond(&bot, &h).await.content().contains("is removed"));

    // The Answer button of the check-in still open in the ledger.
    let pressed = respond(&bot, &bot.fake.button_click(&member(BOB), &custom_id, 1)).await;
    assert_eq!(pressed.kind, 4, "no form: {pressed:?}");
    assert!(pressed.content().contains("This cohort was removed"), "{pressed:?}");
    // A form opened before the removal.
    let typed = "Typed while the cohort was being removed 🧑🏽‍💻";
    let r = answer(&bot, BOB, &custom_id, typed).await;
    assert!(r.content().contains("This cohort was removed") && r.is_ephemeral(), "{r:?}");
    assert_eq!(r.data["embeds"][0]["description"], typed, "the text comes back");
    // A DM of a member.
    let dm = bot.fake.dm_channel_for(ALICE);
    bot.fake.dm_message(ALICE, dm, "a DM answer after the removal");
    let replies = bot.fake.wait_messages(dm, 1, WAIT).await;
    assert!(replies[0].content.contains("no open check-in"), "{:?}", replies[0]);

    let store = bot.engine.store();
    assert!(store.reply(checkin.id, UserId::new(BOB)).await.unwrap().is_none());
    assert_eq!(store.reply(checkin.id, UserId::new(ALICE)).await.unwrap().unwrap().answer, "before the removal");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_removed_the_bot_takes_no_answers_by_form_or_dm() {
    let bot = Bot::start().await;
    bot.setup(QUIET, None).await;
    let (checkin, custom_id) = bot.open_checkin(CHANNEL).await;
    assert_eq!(answer(&bot, ALICE, &custom_id, "before").await.kind, 4);
    bot.fake.remove_bot_from_guild(GUILD);
    let store = bot.engine.store();
    let departed = async {
        while !store.guild_departed(GuildId::new(GUILD)).await.unwrap() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(WAIT, departed).await.expect("the removal is recorded");

    let dm = bot.fake.dm_channel_for(ALICE);
    bot.fake.dm_message(ALICE, dm, "a DM after the server removed the bot");
    let replies = bot.fake.wait_messages(dm, 1, WAIT).await;
    assert!(replies[0].content.contains("no open check-in"), "{:?}", replies[0]);
    let r = answer(&bot, BOB, &custom_id, "a form from that server").await;
    assert!(r.content().contains("This cohort was removed"), "{r:?}");
    assert_eq!(store.reply(checkin.id, UserId::new(ALICE)).await.unwrap().unwrap().answer, "before");
    assert!(store.reply(checkin.id, UserId::new(BOB)).await.unwrap().is_none());
    bot.stop().await;
}

// ---- kind 8: what a member typed is never thrown away --------------------

async fn wait_closed(bot: &Bot, checkin: &CheckIn) {
    let closes = checkin.closes_at;
    while Utc::now() <= closes {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = bot;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_sent_after_its_checkin_closed_comes_back_with_a_button_for_the_open_one() {
    let bot = Bot::start().await;
    bot.setup(QUIET, None).await;
    let (old, old_id) = bot.open_checkin_closing(CHANNEL, Duration::from_millis(1500)).await;
    // Alice opens the form and types for a long time (here: past the close).
    let opened = respond(&bot, &bot.fake.button_click(&member(ALICE), &old_id, 1)).await;
    assert_eq!(opened.kind, 9);
    wait_closed(&bot, &old).await;
    let typed = format!("Twenty minutes of typing @everyone <@{BOB}> 👩‍👩‍👧‍👦 مرحبا 漢字 e\u{301}\n{}", "x".repeat(3000));

    // No check-in open yet: the text comes back, with nothing to press.
    let r = answer(&bot, ALICE, &old_id, &typed).await;
    assert!(r.is_ephemeral() && r.kind == 4, "{r:?}");
    assert!(r.content().contains("closed before your answer arrived, so it was not saved"), "{r:?}");
    assert!(r.content().contains("No check-in is open right now"), "{r:?}");
    assert!(!r.content().contains("changed") && !r.content().contains("edit"), "right for a first answer too");
    assert_eq!(r.data["embeds"][0]["description"], typed.as_str());
    assert_eq!(r.data["embeds"][0]["footer"]["text"], "Confidence: 3");
    assert!(buttons_of(r.data["components"].as_array().map_or(&[][..], |v| v.as_slice())).is_empty());
    pings_nobody(&r.data["allowed_mentions"]);
    assert!(r.content().chars().count() <= 2000);

    // The next check-in is open: the reply carries a button for it.
    let (new, new_id) = bot.open_checkin(CHANNEL).await;
    let h = bot.fake.modal_submit(&member(ALICE), &old_id, &[("answer", &typed), ("confidence", "3")]);
    let r = respond(&bot, &h).await;
    assert!(r.content().contains("Use for this week's check-in"), "{r:?}");
    let buttons = buttons_of(r.data["components"].as_array().unwrap());
    assert_eq!(buttons, vec![(format!("answer-draft:{}", new.id), "Use for this week's check-in".to_string())]);
    let store = bot.engine.store();
    assert!(store.reply(old.id, UserId::new(ALICE)).await.unwrap().is_none(), "not saved to the closed one");
    assert!(store.reply(new.id, UserId::new(ALICE)).await.unwrap().is_none(), "nor to the open one unasked");

    // The press opens the open check-in's form with the text filled in.
    let shown = bot.fake.original_response(&h).expect("the reply is a message");
    let form = respond(&bot, &bot.fake.button_click(&member(ALICE), &buttons[0].0, shown.id)).await;
    assert_eq!((form.kind, form.custom_id()), (9, Some(new_id.as_str())), "{form:?}");
    let inputs: Vec<&Value> = form.data["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row["components"].as_array().unwrap())
        .collect();
    assert_eq!(inputs[0]["value"], typed.as_str());
    assert_eq!(inputs[1]["value"], "3");
    let saved = answer(&bot, ALICE, &new_id, &typed).await;
    assert_eq!(saved.kind, 4);
    assert_eq!(store.reply(new.id, UserId::new(ALICE)).await.unwrap().unwrap().answer, typed.trim());
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_impact_and_path_forms_give_the_typed_text_back() {
    let bot = Bot::start().await;
    bot.setup(QUIET, None).await;
    let (_, custom_id) = bot.open_checkin(CHANNEL).await;
    assert_eq!(answer(&bot, ALICE, &custom_id, "joined").await.kind, 4);
    let cohort = bot.engine.store().cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().unwrap();
    let h = bot.fake.slash_command(admin(GUILD, CHANNEL).command("cohort").subcommand("remove"));
    assert!(respond(&bot, &h).await.content().contains("is removed"));

    let impact = [
        ("what_changed", "p95 latency from 900 ms to 240 ms ✅"),
        ("evidence", "Dashboards, week 12 vs 14"),
        ("who_benefited", "チェックアウトチーム"),
        ("link", ""),
    ];
    let r = respond(&bot, &bot.fake.modal_submit(&member(ALICE), &format!("impact:{}", cohort.id), &impact)).await;
    assert!(r.is_ephemeral() && r.content().contains("This cohort was removed"), "{r:?}");
    let texts: Vec<&str> =
        r.data["embeds"].as_array().unwrap().iter().map(|e| e["description"].as_str().unwrap()).collect();
    assert_eq!(texts, [impact[0].1, impact[1].1, impact[2].1]);

    let step = [("evidence", "Ran the design review with three teams"), ("link", "https://example.com/doc")];
    let r =
        respond(&bot, &bot.fake.modal_submit(&member(ALICE), &format!("path-step:{}:plan", cohort.id), &step)).await;
    assert!(r.content().contains("This cohort was removed"), "{r:?}");
    assert_eq!(r.data["embeds"][0]["description"], step[0].1);
    assert_eq!(r.data["embeds"][1]["description"], step[1].1);
    bot.stop().await;
}

// ---- kind 3: no panic reaches a member -----------------------------------

/// The system clock, or a panic on the next reading when armed: a panic
/// inside whatever handler reads the time next.
#[derive(Default)]
struct PanicOnce(AtomicBool);

impl Clock for PanicOnce {
    fn now(&self) -> DateTime<Utc> {
        if self.0.swap(false, Ordering::SeqCst) {
            panic!("injected panic for the test");
        }
        Utc::now()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_a_button_a_form_a_dm_or_a_command_is_answered_with_the_apology() {
    let clock = Arc::new(PanicOnce::default());
    let bot = Bot::start_with_clock(clock.clone()).await;
    bot.setup(QUIET, None).await;
    let (checkin, custom_id) = bot.open_checkin(CHANNEL).await;
    // Armed once the bot is idle: what an event does after its answer (the
    // bookkeeping of `noticed`) must not take the panic meant for the next.
    let arm = async || {
        tokio::time::sleep(Duration::from_millis(200)).await;
        clock.0.store(true, Ordering::SeqCst);
    };

    arm().await;
    let r = respond(&bot, &bot.fake.button_click(&member(ALICE), &custom_id, 1)).await;
    assert!(r.is_ephemeral() && r.content().starts_with(APOLOGY), "button: {r:?}");

    arm().await;
    let r = answer(&bot, ALICE, &custom_id, "panicked on").await;
    assert!(r.is_ephemeral() && r.content().starts_with(APOLOGY), "form: {r:?}");

    arm().await;
    let h = bot.fake.slash_command(mentor().command("cohort").subcommand("answers"));
    let first = respond(&bot, &h).await;
    let apology = if first.kind == 5 { bot.fake.wait_followup(&h, WAIT).await.content } else { first.content().into() };
    assert!(apology.starts_with(APOLOGY), "command: {apology}");

    arm().await;
    let h = bot.fake.autocomplete(
        admin(GUILD, CHANNEL).command("cohort").subcommand("setup").option("timezone", "ber"),
        "timezone",
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = bot.fake.interaction_response(&h);

    // Alice is a member now (the form above was not saved, so join first).
    assert_eq!(answer(&bot, ALICE, &custom_id, "saved").await.kind, 4);
    arm().await;
    let dm = bot.fake.dm_channel_for(ALICE);
    bot.fake.dm_message(ALICE, dm, "a DM that meets a panic");
    let dms = bot.fake.wait_messages(dm, 1, WAIT).await;
    assert!(dms[0].content.starts_with(APOLOGY), "DM: {:?}", dms[0]);

    // The bot goes on: the next answer is saved as usual.
    assert_eq!(answer(&bot, BOB, &custom_id, "after the panics").await.kind, 4);
    let store = bot.engine.store();
    assert_eq!(store.reply(checkin.id, UserId::new(BOB)).await.unwrap().unwrap().answer, "after the panics");
    assert_eq!(store.reply(checkin.id, UserId::new(ALICE)).await.unwrap().unwrap().answer, "saved");
    bot.stop().await;
}

/// Text in any script, as people type it: CJK, emoji ZWJ sequences, flags,
/// skin tones, right-to-left text and marks, combining accents and stacks,
/// lone joiners and selectors, mention syntax, digits and separators that
/// look like times, offsets and durations. Long enough, at times, to pass a
/// limit in characters while a byte index would fall inside a character.
fn any_script() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let piece = prop_oneof![
        Just("漢字かなカナ한글".to_string()),
        Just("👩\u{200D}👩\u{200D}👧\u{200D}👦".to_string()),
        Just("🇩🇪🇯🇵".to_string()),
        Just("👍🏽".to_string()),
        Just("\u{200F}\u{202E}".to_string()),
        Just("مرحبا بالعالم".to_string()),
        Just("שלום".to_string()),
        Just("e\u{301}".to_string()),
        Just("Z\u{324}\u{354}\u{367}\u{311}\u{313}".to_string()),
        Just("\u{200D}".to_string()),
        Just("\u{FE0F}".to_string()),
        Just("@everyone <@300000000000000004>".to_string()),
        Just(" ".to_string()),
        Just("\n".to_string()),
        Just("+1é1".to_string()),
        Just("09:3é".to_string()),
        Just("4８h".to_string()),
        "[\\PC]{1,3}",
    ];
    prop_oneof![
        proptest::collection::vec(piece.clone(), 1..12).prop_map(|v| v.concat()),
        (proptest::collection::vec(piece, 1..6), 50usize..400).prop_map(|(v, n)| v.concat().repeat(n)),
    ]
}

/// Every text-taking entry point with `text`: none answers with the apology
/// (a panic) or leaves the member without an answer; a saved answer reads
/// back as validated.
async fn every_entry_point_takes(bot: &Bot, checkin: &CheckIn, text: &str) {
    let short = trellis::discord::render::prefix(text, 100);
    let no_apology = |what: &str, r: &InteractionResponse| {
        assert!(!shown(&r.data).contains(APOLOGY), "{what} with {text:?}: {r:?}");
    };
    let setup = || admin(GUILD, OTHER_CHANNEL).command("cohort").subcommand("setup");
    let h = bot.fake.autocomplete(setup().option("timezone", short), "timezone");
    assert_eq!(respond(bot, &h).await.kind, 8, "timezone autocomplete with {text:?}");
    let invocations = [
        setup()
            .option("timezone", "UTC")
            .option("mentor_role", OptionValue::Role(MENTOR_ROLE))
            .option("cron", QUIET)
            .option("name", short),
        setup().option("timezone", short).option("mentor_role", OptionValue::Role(MENTOR_ROLE)).option("cron", short),
        setup()
            .option("timezone", "UTC")
            .option("mentor_role", OptionValue::Role(MENTOR_ROLE))
            .option("day", 0)
            .option("time", short)
            .option("reminder_after", short),
    ];
    for inv in invocations {
        no_apology("setup", &respond(bot, &bot.fake.slash_command(inv)).await);
    }
    let confidence = trellis::discord::render::prefix(text, 2);
    let custom_id = answer_id(checkin.id);
    let h = bot.fake.modal_submit(&member(ALICE), &custom_id, &[("answer", text), ("confidence", confidence)]);
    no_apology("answer", &respond(bot, &h).await);
    let stored = bot.engine.store().reply(checkin.id, UserId::new(ALICE)).await.unwrap().map(|r| r.answer);
    if let Ok(input) = trellis::domain::AnswerInput::parse(text, confidence) {
        assert_eq!(stored.as_deref(), Some(input.text.as_str()), "the answer reads back as written");
    }
    let cohort = checkin.cohort_id;
    let forms = [
        (format!("impact:{cohort}"), vec!["what_changed", "evidence", "who_benefited", "link"]),
        (format!("path-project:{cohort}"), vec!["what", "why", "teams"]),
        (format!("path-step:{cohort}:plan"), vec!["evidence", "link"]),
    ];
    for (id, fields) in forms {
        let values: Vec<(&str, &str)> = fields.iter().map(|f| (*f, text)).collect();
        no_apology(&id, &respond(bot, &bot.fake.modal_submit(&member(ALICE), &id, &values)).await);
    }
    let h = bot.fake.slash_command(member(ALICE).command("path").subcommand("done").option("step", short));
    no_apology("/path done step", &respond(bot, &h).await);
    for inv in [
        member(ALICE).command("progress"),
        member(ALICE).command("packet"),
        mentor().command("cohort").subcommand("answers"),
        mentor().command("cohort").subcommand("status"),
    ] {
        let h = bot.fake.slash_command(inv);
        let first = respond(bot, &h).await;
        no_apology("command", &first);
        if first.kind == 5 {
            let m = bot.fake.wait_followup(&h, WAIT).await;
            assert!(!m.content.contains(APOLOGY), "command with {text:?}: {m:?}");
        }
    }
    if let Some(reply) = bot.engine.store().reply(checkin.id, UserId::new(ALICE)).await.unwrap() {
        let h = bot.fake.modal_submit(&mentor(), &format!("note:{}", reply.id), &[("note", text)]);
        assert_eq!(respond(bot, &h).await.kind, 5);
        let m = bot.fake.wait_followup(&h, WAIT).await;
        assert!(!m.content.contains(APOLOGY), "note with {text:?}: {m:?}");
    }
    let dm = bot.fake.dm_channel_for(BOB);
    let before = bot.fake.messages_in(dm).len();
    let sent = bot.fake.dm_message(BOB, dm, text);
    let replies = bot.fake.wait_messages(dm, before + 1, WAIT).await;
    assert!(!replies[before].content.contains(APOLOGY), "DM {text:?}: {:?}", replies[before]);
    // An edit of that DM: answered only when it changes a saved answer.
    bot.fake.edit_dm_message(sent, &format!("{text} ✏️"));
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(bot.fake.messages_in(dm).iter().all(|m| !m.content.contains(APOLOGY)), "DM edit {text:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_in_any_script_works_in_every_input() {
    use proptest::test_runner::{Config, TestRunner};
    let bot = Bot::start().await;
    bot.setup(QUIET, None).await;
    let (checkin, custom_id) = bot.open_checkin(CHANNEL).await;
    assert_eq!(answer(&bot, BOB, &custom_id, "Bob is a member").await.kind, 4);
    let config = Config { cases: 24, failure_persistence: None, max_shrink_iters: 32, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let handle = tokio::runtime::Handle::current();
    let result = tokio::task::block_in_place(|| {
        runner.run(&any_script(), |text| {
            handle.block_on(every_entry_point_takes(&bot, &checkin, &text));
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    bot.stop().await;
}

/// Migration 0007 on a SQLite database that has rows (and a deleted answer
/// at the top): every row, history, foreign key, index and trigger is kept,
/// and no id deleted before or after the upgrade is handed out again.
#[tokio::test]
async fn migration_0007_keeps_every_row_and_never_hands_out_a_deleted_id_again() {
    let db = TempDb::new();
    let store = db.connect().await;
    store.close().await;
    let pool = db.raw().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    let mut before = sqlx::migrate::Migrator::new(dir).await.unwrap();
    before.migrations = before.migrations.iter().filter(|m| m.version < 7).cloned().collect::<Vec<_>>().into();
    before.run(&pool).await.unwrap();
    for sql in [
        "PRAGMA foreign_keys = ON",
        "INSERT INTO cohorts (id, name, guild_id, channel_id, mentor_role_id, schedule, timezone, tracks, source, created_at, updated_at) \
         VALUES (1, 'c', 1, 2, 3, '0 0 9 * * Mon', 'UTC', '[]', 'discord', 0, 0)",
        "INSERT INTO checkins (id, cohort_id, occurrence_at, closes_at, nonce, status) VALUES (1, 1, 0, 10, 'n', 'posted')",
        "INSERT INTO replies (id, checkin_id, user_id, answer, source, created_at, updated_at) VALUES \
         (1, 1, 10, 'a', 'modal', 0, 0), (2, 1, 11, 'b', 'modal', 0, 0)",
        "UPDATE replies SET answer = 'a2' WHERE id = 1",
        "INSERT INTO notes (reply_id, checkin_id, cohort_id, member_user_id, author_user_id, author_name, body, created_at, updated_at) \
         VALUES (1, 1, 1, 10, 99, 'm', 'n', 0, 0)",
        // The answer with the largest id is deleted before the upgrade, and
        // every pause (a table emptied).
        "DELETE FROM replies WHERE id = 2",
        "INSERT INTO pauses (id, cohort_id, user_id, starts_at, ends_at) VALUES (1, 1, 10, 0, 1)",
        "DELETE FROM pauses",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let store = db.store().await;
    store.close().await;
    let pool = db.raw().await;
    let one = async |sql: &'static str| -> i64 { sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap() };
    assert_eq!(one("SELECT COUNT(*) FROM replies").await, 1);
    assert_eq!(one("SELECT COUNT(*) FROM reply_edits").await, 1, "the history is kept");
    assert_eq!(one("SELECT COUNT(*) FROM notes WHERE reply_id = 1").await, 1);
    assert_eq!(one("SELECT COUNT(*) FROM pragma_foreign_key_check").await, 0);
    // The four history triggers (the search index's own, from 0008, apart).
    assert_eq!(one("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name NOT LIKE 'search%'").await, 4);
    let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&pool).await.unwrap();
    assert_eq!(check, "ok");
    for sql in [
        "PRAGMA foreign_keys = ON",
        "UPDATE replies SET answer = 'a3' WHERE id = 1",
        "INSERT INTO replies (checkin_id, user_id, answer, source, created_at, updated_at) VALUES (1, 12, 'c', 'modal', 0, 0)",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await.unwrap();
    }
    assert_eq!(one("SELECT COUNT(*) FROM reply_edits").await, 2, "the history trigger works");
    let new_id = one("SELECT MAX(id) FROM replies").await;
    assert!(new_id > 2, "the id deleted before the upgrade is not handed out: {new_id}");
    sqlx::query("DELETE FROM replies WHERE id = $1").bind(new_id).execute(&pool).await.unwrap();
    sqlx::query(
        "INSERT INTO replies (checkin_id, user_id, answer, source, created_at, updated_at) VALUES (1, 13, 'd', 'modal', 0, 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert!(one("SELECT MAX(id) FROM replies").await > new_id, "nor one deleted after it");
    sqlx::query("INSERT INTO pauses (cohort_id, user_id, starts_at, ends_at) VALUES (1, 10, 0, 1)")
        .execute(&pool)
        .await
        .unwrap();
    assert!(one("SELECT MAX(id) FROM pauses").await > 1, "nor one of a table emptied before it");
    let err = sqlx::query("DELETE FROM checkins WHERE id = 1").execute(&pool).await;
    assert!(err.is_err(), "foreign keys are enforced");
    pool.close().await;
}

/// `trellis migrate-to` keeps the promise across the move: an id SQLite
/// handed out and then deleted (the largest one) is not handed out again by
/// PostgreSQL.
#[tokio::test]
async fn an_id_deleted_before_migrate_to_is_not_handed_out_again_on_postgres() {
    if !trellis_testkit::postgres_enabled(module_path!()) {
        return;
    }
    let now = trellis_testkit::utc("2027-01-25T08:00:00Z");
    let source = TempDb::on(Backend::Sqlite).await;
    let store = source.store().await;
    trellis_testkit::every_table::seed_every_table(&store, trellis_testkit::utc("2027-01-04T08:00:00Z")).await;
    let cohort = store.cohort_by_name(trellis_testkit::every_table::COHORTS[0]).await.unwrap().unwrap();
    let deleted = store.impact_of_cohort(cohort.id).await.unwrap().iter().map(|e| e.id.get()).max().unwrap();
    store.close().await;
    let pool = source.raw().await;
    sqlx::query("DELETE FROM impact_entries WHERE id = $1").bind(deleted).execute(&pool).await.unwrap();
    pool.close().await;

    let target = TempDb::on(Backend::Postgres).await;
    trellis::migrate_to::run(&source.url, &target.url, now).await.expect("copy");
    let pg = target.store().await;
    let input = trellis::domain::ImpactInput::parse("after the move", "e", "w", "").unwrap();
    let new = pg.insert_impact(cohort.id, UserId::new(ALICE), &input, now).await.unwrap();
    assert!(new.id.get() > deleted, "PostgreSQL handed out {} again", new.id);
    pg.close().await;
}
