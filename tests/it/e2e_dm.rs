//! Answers by DM over the wire: a member edits the DM that holds their
//! answer (MESSAGE_UPDATE), and a member of several cohorts answers by DM
//! (the only unanswered check-in, or one button per cohort under the DM,
//! pressed in the DM channel). Requests are counted per route: one short DM
//! per edit, one read of the DM per press, nothing for anything else.

use std::time::Duration;

use fake_discord::{Actor, InteractionResponse, OptionValue, StoredMessage};
use serde_json::json;
use trellis::domain::{CheckIn, UserId};
use trellis_testkit::bot::*;
use trellis_testkit::ids::*;

/// A schedule that will not fire while a test runs (next: 29 Feb 2028).
const QUIET: &str = "0 0 9 29 2 *";
const V1: &str = "v1: shipped the parser";
const V2: &str = "v2: shipped the parser and moved CI";
/// Long enough for a message the bot should not send to have arrived.
const SETTLE: Duration = Duration::from_millis(1500);

async fn join(bot: &Bot, channel: u64, user: u64) {
    let h = bot.fake.slash_command(Actor::in_guild(GUILD, channel, user).command("cohort").subcommand("join"));
    let r = bot.fake.wait_interaction_response(&h, WAIT).await;
    assert!(r.content().contains("Welcome"), "{r:?}");
}

/// What the bot posted in `user`'s DM channel, oldest first.
fn bot_dms(bot: &Bot, user: u64) -> Vec<StoredMessage> {
    bot.fake.messages_in(bot.fake.dm_channel_for(user))
}

/// Waits until the bot has posted `n` messages in `user`'s DM channel.
async fn wait_bot_dms(bot: &Bot, user: u64, n: usize) -> Vec<StoredMessage> {
    let dm = bot.fake.dm_channel_for(user);
    bot.fake.wait_messages(dm, n, WAIT).await
}

/// `POST /channels/{dm}/messages` requests to `user`'s DM channel.
fn dm_posts(bot: &Bot, user: u64) -> usize {
    bot.fake.requests_to("POST", &format!("/channels/{}/messages", bot.fake.dm_channel_for(user))).len()
}

/// `GET /channels/{any}/messages/{id}` requests: the bot reading a DM back.
fn message_reads(bot: &Bot) -> usize {
    bot.fake
        .requests_to("GET", "/channels/")
        .iter()
        .filter(|r| r.api_path().split('/').filter(|s| !s.is_empty()).count() == 4)
        .count()
}

async fn answer_of(bot: &Bot, k: &CheckIn, user: u64) -> Option<String> {
    bot.engine.store().reply(k.id, UserId::new(user)).await.unwrap().map(|r| r.answer)
}

async fn history_of(bot: &Bot, k: &CheckIn, user: u64) -> Vec<String> {
    let Some(reply) = bot.engine.store().reply(k.id, UserId::new(user)).await.unwrap() else { return Vec::new() };
    bot.engine.store().reply_history(reply.id).await.unwrap().into_iter().map(|e| e.answer).collect()
}

/// Cohorts "alpha" (CHANNEL) and "beta" (OTHER_CHANNEL, with `beta_reminder`),
/// each with an open check-in; ALICE in both.
async fn two_cohorts(bot: &Bot, beta_reminder: Option<&str>) -> (CheckIn, String, CheckIn, String) {
    bot.setup_in(CHANNEL, MENTOR_ROLE, QUIET, "alpha").await;
    let mut beta = admin(GUILD, OTHER_CHANNEL)
        .command("cohort")
        .subcommand("setup")
        .option("timezone", "UTC")
        .option("mentor_role", OptionValue::Role(MENTOR_ROLE2))
        .option("cron", QUIET)
        .option("name", "beta");
    if let Some(after) = beta_reminder {
        beta = beta.option("reminder_after", after);
    }
    let r = bot.fake.wait_interaction_response(&bot.fake.slash_command(beta), WAIT).await;
    assert!(r.content().contains("is set up"), "{r:?}");
    let (ka, a_button) = bot.open_checkin(CHANNEL).await;
    let (kb, b_button) = bot.open_checkin(OTHER_CHANNEL).await;
    join(bot, CHANNEL, ALICE).await;
    join(bot, OTHER_CHANNEL, ALICE).await;
    (ka, a_button, kb, b_button)
}

/// The buttons (custom_id, label) of a bot message, row by row.
fn buttons(message: &StoredMessage) -> Vec<(String, String)> {
    message
        .components
        .iter()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .map(|b| (b["custom_id"].as_str().unwrap().to_string(), b["label"].as_str().unwrap().to_string()))
        .collect()
}

/// An ephemeral text reply (callback type 4) containing `needle`, in time.
fn assert_ephemeral_says(r: &InteractionResponse, needle: &str) {
    assert_eq!(r.kind, 4, "{r:?}");
    assert!(r.is_ephemeral(), "{r:?}");
    assert!(r.content().contains(needle), "expected {needle:?} in {:?}", r.content());
    assert!(r.elapsed < Duration::from_secs(3), "{r:?}");
}

// ---- edited DMs -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_a_dm_answer_edits_the_stored_answer_and_confirms_in_one_short_dm() {
    let bot = Bot::start().await;
    bot.setup(QUIET, None).await;
    let (k, _) = bot.open_checkin(CHANNEL).await;
    join(&bot, CHANNEL, ALICE).await;
    let dm = bot.fake.dm_channel_for(ALICE);

    let m = bot.fake.dm_message(ALICE, dm, V1);
    let said = wait_bot_dms(&bot, ALICE, 1).await;
    assert!(said[0].content.starts_with("Saved"), "{:?}", said[0]);

    bot.fake.edit_dm_message(m, V2);
    let said = wait_bot_dms(&bot, ALICE, 2).await;
    assert!(said[1].content.starts_with("Updated your answer"), "{:?}", said[1]);
    assert!(said[1].content.chars().count() <= 200, "short: {:?}", said[1].content);
    assert_eq!(answer_of(&bot, &k, ALICE).await.as_deref(), Some(V2));
    assert_eq!(history_of(&bot, &k, ALICE).await, [V1]);

    // A link preview appears (a partial update without content), then
    // Discord resends the message with the same text: neither is an edit.
    bot.fake.dm_embeds_resolved(m, vec![json!({ "type": "link", "url": "https://example.invalid/ci" })]);
    bot.fake.edit_dm_message(m, V2);
    tokio::time::sleep(SETTLE).await;
    assert_eq!(dm_posts(&bot, ALICE), 2, "one confirmation when saved, one per edit: {:?}", bot_dms(&bot, ALICE));
    assert_eq!(answer_of(&bot, &k, ALICE).await.as_deref(), Some(V2));
    assert_eq!(history_of(&bot, &k, ALICE).await, [V1]);
    for m in bot_dms(&bot, ALICE) {
        pings_nobody(m.allowed_mentions.as_ref().expect("allowed_mentions set"));
    }
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_to_an_empty_answer_or_after_the_close_is_refused_in_one_dm_and_the_answer_stays() {
    let bot = Bot::start().await;
    bot.setup(QUIET, None).await;
    let (k, _) = bot.open_checkin_closing(CHANNEL, Duration::from_secs(6)).await;
    join(&bot, CHANNEL, ALICE).await;
    let dm = bot.fake.dm_channel_for(ALICE);
    let m = bot.fake.dm_message(ALICE, dm, V1);
    wait_bot_dms(&bot, ALICE, 1).await;

    // Refused like a fresh empty DM.
    bot.fake.edit_dm_message(m, " ");
    let said = wait_bot_dms(&bot, ALICE, 2).await;
    assert!(said[1].content.starts_with("Edit not saved") && said[1].content.contains("empty"), "{:?}", said[1]);

    // After the close.
    let closes_in = (k.closes_at - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(closes_in + Duration::from_millis(500)).await;
    bot.fake.edit_dm_message(m, V2);
    let said = wait_bot_dms(&bot, ALICE, 3).await;
    assert!(said[2].content.starts_with("Edit not saved") && said[2].content.contains("closed"), "{:?}", said[2]);

    tokio::time::sleep(SETTLE).await;
    assert_eq!(dm_posts(&bot, ALICE), 3, "one DM per refused edit: {:?}", bot_dms(&bot, ALICE));
    assert_eq!(answer_of(&bot, &k, ALICE).await.as_deref(), Some(V1));
    assert!(history_of(&bot, &k, ALICE).await.is_empty());
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_of_dms_that_hold_no_answer_send_nothing_and_change_nothing() {
    let bot = Bot::start().await;
    bot.setup(QUIET, None).await;
    join(&bot, CHANNEL, ALICE).await;
    let dm = bot.fake.dm_channel_for(ALICE);
    // Before any check-in: refused.
    let early = bot.fake.dm_message(ALICE, dm, "too early");
    wait_bot_dms(&bot, ALICE, 1).await;
    let (k, _) = bot.open_checkin(CHANNEL).await;
    // Empty: refused.
    let empty = bot.fake.dm_message(ALICE, dm, "");
    wait_bot_dms(&bot, ALICE, 2).await;
    // Saved, then replaced by a newer DM.
    let older = bot.fake.dm_message(ALICE, dm, V1);
    wait_bot_dms(&bot, ALICE, 3).await;
    bot.fake.dm_message(ALICE, dm, "the newer answer");
    let said = wait_bot_dms(&bot, ALICE, 4).await;
    assert!(said[3].content.starts_with("Saved"), "{said:?}");

    bot.fake.edit_dm_message(early, "now it is open");
    bot.fake.edit_dm_message(empty, "a real answer");
    bot.fake.edit_dm_message(older, "v1, resurrected");
    tokio::time::sleep(SETTLE).await;
    assert_eq!(dm_posts(&bot, ALICE), 4, "no DM for these edits: {:?}", bot_dms(&bot, ALICE));
    assert_eq!(answer_of(&bot, &k, ALICE).await.as_deref(), Some("the newer answer"));
    assert_eq!(history_of(&bot, &k, ALICE).await, [V1]);
    bot.stop().await;
}

// ---- several cohorts ------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_answering_one_cohort_a_reply_to_the_others_reminder_goes_to_it() {
    let bot = Bot::start().await;
    let (ka, a_button, kb, _) = two_cohorts(&bot, Some("1s")).await;
    // Alice answers alpha with its Answer button.
    let click = bot.fake.button_click(&member(ALICE), &a_button, 555_000_000_000_000_000 + ka.id.get() as u64);
    assert_eq!(bot.fake.wait_interaction_response(&click, WAIT).await.kind, 9, "the form opens");
    let fields = [("answer", "alpha by the form"), ("confidence", "")];
    let submit = bot.fake.modal_submit(&member(ALICE), &a_button, &fields);
    bot.fake.wait_interaction_response(&submit, WAIT).await;

    // beta's nudge (1 s after its post) invites a plain reply.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    bot.engine.tick().await.unwrap();
    let nudge = wait_bot_dms(&bot, ALICE, 1).await;
    assert!(nudge[0].content.contains("beta") && nudge[0].content.contains("Reply here"), "{:?}", nudge[0]);

    let dm = bot.fake.dm_channel_for(ALICE);
    bot.fake.dm_message(ALICE, dm, "beta by DM");
    let said = wait_bot_dms(&bot, ALICE, 2).await;
    assert!(said[1].content.starts_with("Saved") && said[1].content.contains("beta"), "{:?}", said[1]);
    assert!(said[1].components.is_empty(), "not asked: {:?}", said[1]);
    assert_eq!(answer_of(&bot, &kb, ALICE).await.as_deref(), Some("beta by DM"));
    assert_eq!(answer_of(&bot, &ka, ALICE).await.as_deref(), Some("alpha by the form"));
    tokio::time::sleep(SETTLE).await;
    assert_eq!(dm_posts(&bot, ALICE), 2, "the nudge and the confirmation: {:?}", bot_dms(&bot, ALICE));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ambiguous_dm_asks_with_one_button_per_cohort_and_the_press_saves_the_dm_as_it_reads_then() {
    let bot = Bot::start().await;
    let (ka, _, kb, _) = two_cohorts(&bot, None).await;
    let dm = bot.fake.dm_channel_for(ALICE);
    let m = bot.fake.dm_message(ALICE, dm, V1);
    let question = wait_bot_dms(&bot, ALICE, 1).await.remove(0);
    assert!(question.content.contains("Nothing is saved until you press"), "{question:?}");
    let want =
        [(format!("dm-answer:{}:{m}", ka.id), "alpha".into()), (format!("dm-answer:{}:{m}", kb.id), "beta".into())];
    assert_eq!(buttons(&question), want);
    pings_nobody(question.allowed_mentions.as_ref().unwrap());
    assert_eq!((answer_of(&bot, &ka, ALICE).await, answer_of(&bot, &kb, ALICE).await), (None, None));

    // Edited before the press: no DM, nothing stored; the press reads it back.
    bot.fake.edit_dm_message(m, V2);
    tokio::time::sleep(SETTLE).await;
    assert_eq!(dm_posts(&bot, ALICE), 1);
    assert_eq!((answer_of(&bot, &ka, ALICE).await, answer_of(&bot, &kb, ALICE).await), (None, None));

    let press = bot.fake.button_click(&Actor::in_dm(dm, ALICE), &want[1].0, question.id);
    let r = bot.fake.wait_interaction_response(&press, WAIT).await;
    assert_eq!(r.kind, 7, "the question is replaced: {r:?}");
    assert!(r.content().starts_with("Saved") && r.content().contains("beta"), "{r:?}");
    assert_eq!(r.data["components"], json!([]), "the buttons go");
    assert!(r.elapsed < Duration::from_secs(3), "{r:?}");
    pings_nobody(&r.data["allowed_mentions"]);
    assert_eq!(answer_of(&bot, &kb, ALICE).await.as_deref(), Some(V2));
    assert_eq!(answer_of(&bot, &ka, ALICE).await, None, "stored to the pressed cohort only");
    assert_eq!(message_reads(&bot), 1, "one read of the DM per press");
    assert!(bot.fake.message(question.id).unwrap().components.is_empty());

    // The DM now holds beta's answer: editing it edits that answer.
    bot.fake.edit_dm_message(m, "v3");
    let said = wait_bot_dms(&bot, ALICE, 2).await;
    assert!(said[1].content.starts_with("Updated") && said[1].content.contains("beta"), "{:?}", said[1]);
    assert_eq!(answer_of(&bot, &kb, ALICE).await.as_deref(), Some("v3"));
    assert_eq!(history_of(&bot, &kb, ALICE).await, [V2]);
    tokio::time::sleep(SETTLE).await;
    assert_eq!(dm_posts(&bot, ALICE), 2);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cohort_button_still_works_after_a_restart_and_nothing_is_stored_before_the_press() {
    let bot = Bot::start().await;
    let (ka, _, kb, _) = two_cohorts(&bot, None).await;
    let dm = bot.fake.dm_channel_for(ALICE);
    let m = bot.fake.dm_message(ALICE, dm, V1);
    let question = wait_bot_dms(&bot, ALICE, 1).await.remove(0);
    assert_eq!((answer_of(&bot, &ka, ALICE).await, answer_of(&bot, &kb, ALICE).await), (None, None));

    let bot = bot.restart().await;
    let press = bot.fake.button_click(&Actor::in_dm(dm, ALICE), &format!("dm-answer:{}:{m}", ka.id), question.id);
    let r = bot.fake.wait_interaction_response(&press, WAIT).await;
    assert_eq!(r.kind, 7, "{r:?}");
    assert!(r.content().contains("alpha"), "{r:?}");
    assert_eq!(answer_of(&bot, &ka, ALICE).await.as_deref(), Some(V1));
    assert_eq!(answer_of(&bot, &kb, ALICE).await, None);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cohort_button_for_a_closed_checkin_says_so_and_stores_nothing() {
    let bot = Bot::start().await;
    bot.setup_in(CHANNEL, MENTOR_ROLE, QUIET, "alpha").await;
    bot.setup_in(OTHER_CHANNEL, MENTOR_ROLE2, QUIET, "beta").await;
    let (ka, _) = bot.open_checkin_closing(CHANNEL, Duration::from_secs(4)).await;
    let (kb, _) = bot.open_checkin(OTHER_CHANNEL).await;
    join(&bot, CHANNEL, ALICE).await;
    join(&bot, OTHER_CHANNEL, ALICE).await;
    let dm = bot.fake.dm_channel_for(ALICE);
    let m = bot.fake.dm_message(ALICE, dm, V1);
    let question = wait_bot_dms(&bot, ALICE, 1).await.remove(0);
    assert_eq!(buttons(&question).len(), 2, "{question:?}");

    let closes_in = (ka.closes_at - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(closes_in + Duration::from_millis(500)).await;
    let press = bot.fake.button_click(&Actor::in_dm(dm, ALICE), &format!("dm-answer:{}:{m}", ka.id), question.id);
    assert_ephemeral_says(&bot.fake.wait_interaction_response(&press, WAIT).await, "closed");
    assert_eq!(answer_of(&bot, &ka, ALICE).await, None);
    assert_eq!(answer_of(&bot, &kb, ALICE).await, None);
    assert_eq!(buttons(&bot.fake.message(question.id).unwrap()).len(), 2, "the other choice is still there");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cohort_button_pressed_by_someone_else_stores_nothing_for_them() {
    let bot = Bot::start().await;
    let (ka, _, kb, _) = two_cohorts(&bot, None).await;
    join(&bot, CHANNEL, BOB).await;
    let alice_dm = bot.fake.dm_channel_for(ALICE);
    let m = bot.fake.dm_message(ALICE, alice_dm, V1);
    let question = wait_bot_dms(&bot, ALICE, 1).await.remove(0);
    let alpha = format!("dm-answer:{}:{m}", ka.id);

    // A stranger presses Alice's button from their own DM channel: her DM is
    // not in it, so there is nothing to read and nothing to store.
    let stranger_dm = bot.fake.dm_channel_for(STRANGER);
    let press = bot.fake.button_click(&Actor::in_dm(stranger_dm, STRANGER), &alpha, question.id);
    assert_ephemeral_says(&bot.fake.wait_interaction_response(&press, WAIT).await, "no longer there");

    // The stranger's own DM, pressed into alpha: not a member, so unknown.
    let s = bot.fake.dm_message(STRANGER, stranger_dm, "let me in");
    wait_bot_dms(&bot, STRANGER, 1).await;
    let press =
        bot.fake.button_click(&Actor::in_dm(stranger_dm, STRANGER), &format!("dm-answer:{}:{s}", ka.id), question.id);
    assert_ephemeral_says(&bot.fake.wait_interaction_response(&press, WAIT).await, "does not exist");

    // Bob (alpha only) presses his own DM into beta: not stored, not enrolled.
    let bob_dm = bot.fake.dm_channel_for(BOB);
    let b = bot.fake.dm_message(BOB, bob_dm, "bob for alpha");
    let said = wait_bot_dms(&bot, BOB, 1).await;
    assert!(said[0].content.contains("alpha"), "his one open check-in: {said:?}");
    let press = bot.fake.button_click(&Actor::in_dm(bob_dm, BOB), &format!("dm-answer:{}:{b}", kb.id), question.id);
    assert_ephemeral_says(&bot.fake.wait_interaction_response(&press, WAIT).await, "does not exist");

    // The button pressed in a server channel: refused without reading anything.
    let press = bot.fake.button_click(&member(ALICE), &alpha, question.id);
    assert_ephemeral_says(&bot.fake.wait_interaction_response(&press, WAIT).await, "no longer in use");

    assert_eq!(message_reads(&bot), 3, "one read per press from a DM channel");
    assert_eq!(answer_of(&bot, &ka, STRANGER).await, None);
    assert_eq!(answer_of(&bot, &kb, BOB).await, None);
    assert_eq!(answer_of(&bot, &ka, BOB).await.as_deref(), Some("bob for alpha"));
    assert_eq!((answer_of(&bot, &ka, ALICE).await, answer_of(&bot, &kb, ALICE).await), (None, None));
    let store = bot.engine.store();
    assert_eq!(store.member(ka.cohort_id, UserId::new(STRANGER)).await.unwrap(), None);
    assert_eq!(store.member(kb.cohort_id, UserId::new(BOB)).await.unwrap(), None);
    bot.stop().await;
}
