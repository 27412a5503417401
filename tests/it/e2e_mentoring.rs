//! End to end: the mentoring loop through the real bot and the fake Discord.
//! A mentor reads the week and notes one answer, the member gets the DM and
//! finds the note in `/progress` and `/packet`; pages of a long week; a member
//! walks the Staff path and a mentor sees it; a repeated prompt shows then and
//! now; forgetting a member or a mentor leaves no row holding their id; the
//! digest counts answers without a note.

use std::time::Duration;

use fake_discord::{Actor, InteractionHandle, OptionValue, StoredMessage};
use serde_json::Value;
use trellis_testkit::bot::*;
use trellis_testkit::ids::*;
use trellis_testkit::rows_holding_in;

/// A schedule that never fires during a test: the ledger holds what the test puts there.
const QUIET: &str = "0 0 9 29 2 *";

fn mentor() -> Actor {
    member(MENTOR).roles(vec![MENTOR_ROLE])
}

async fn answer(bot: &Bot, user: u64, custom_id: &str, text: &str) -> fake_discord::InteractionResponse {
    let h = bot.fake.modal_submit(&member(user), custom_id, &[("answer", text), ("confidence", "3")]);
    let r = bot.fake.wait_interaction_response(&h, WAIT).await;
    assert_eq!(r.kind, 4, "{r:?}");
    r
}

/// The buttons of a message, as (custom_id, label).
fn buttons(m: &StoredMessage) -> Vec<(String, String)> {
    m.components
        .iter()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .map(|b| (b["custom_id"].as_str().unwrap_or("").to_string(), b["label"].as_str().unwrap_or("").to_string()))
        .collect()
}

fn text_of(m: &StoredMessage) -> String {
    format!("{}\n{}", m.content, serde_json::to_string(&m.embeds).unwrap())
}

fn file<'a>(m: &'a StoredMessage, name: &str) -> &'a fake_discord::Attachment {
    m.attachments.iter().find(|a| a.filename == name).unwrap_or_else(|| panic!("no {name}: {:?}", m.attachments))
}

async fn followup(bot: &Bot, h: &InteractionHandle) -> StoredMessage {
    let r = bot.fake.wait_interaction_response(h, WAIT).await;
    assert_eq!(r.kind, 5, "deferred first: {r:?}");
    bot.fake.wait_followup(h, WAIT).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mentor_reads_the_week_notes_one_answer_and_the_member_finds_it_by_dm_in_progress_and_packet() {
    let bot = Bot::start().await;
    bot.setup(QUIET, None).await;
    let (checkin, custom_id) = bot.open_checkin(CHANNEL).await;
    let alice_text = "Shipped the RFC @everyone <@300000000000000004>\n\nSecond paragraph.";
    answer(&bot, ALICE, &custom_id, alice_text).await;
    answer(&bot, BOB, &custom_id, "Bob's answer").await;
    // Carol joined before the check-in was posted and has not answered.
    let store = bot.engine.store();
    let cohort = store.cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().unwrap();
    store.join(cohort.id, UserId::new(CAROL), chrono::Utc::now() - chrono::Duration::hours(1)).await.unwrap();

    // A member is refused and sees nothing.
    let h = bot.fake.slash_command(member(BOB).command("cohort").subcommand("answers"));
    let refused = followup(&bot, &h).await;
    assert!(refused.content.contains("Only this cohort's mentors") && refused.embeds.is_empty(), "{refused:?}");
    assert!(refused.attachments.is_empty() && refused.components.is_empty());

    // The mentor reads the week: the prompt, each answer as written, who has not answered.
    let h = bot.fake.slash_command(mentor().command("cohort").subcommand("answers"));
    let page = followup(&bot, &h).await;
    assert!(page.is_ephemeral());
    pings_nobody(page.allowed_mentions.as_ref().expect("allowed_mentions"));
    let question = &checkin.prompt.as_ref().unwrap().question;
    let header = page.embeds[0]["description"].as_str().unwrap();
    assert!(header.contains(&question[..40]), "{header}");
    assert!(header.contains("**2** answered · **1** not answered"), "{header}");
    assert!(header.contains(&format!("**Not answered:** <@{CAROL}>")), "{header}");
    let alice_embed = page.embeds[1]["description"].as_str().unwrap();
    assert!(alice_embed.contains(&format!("<@{ALICE}> · confidence 3/5")), "{alice_embed}");
    assert!(
        alice_embed.contains("> Shipped the RFC @everyone <@300000000000000004>\n>\n> Second paragraph."),
        "{alice_embed}"
    );
    let md = file(&page, "answers.md").text();
    assert!(md.contains("> Shipped the RFC @\u{200B}everyone") && md.contains("> Bob's answer"), "{md}");
    assert!(md.contains(&format!("- user {CAROL}")), "{md}");
    let note_buttons = buttons(&page);
    assert_eq!(note_buttons.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>(), ["Note on 1", "Note on 2"]);

    // Note → a form → a note saved, sent by DM, confirmed.
    let click = bot.fake.button_click(&mentor(), &note_buttons[0].0, page.id);
    let modal = bot.fake.wait_interaction_response(&click, WAIT).await;
    assert_eq!((modal.kind, modal.custom_id()), (9, Some(note_buttons[0].0.as_str())));
    let dm_channel = bot.fake.dm_channel_for(ALICE);
    let note = "Strong framing. Next: bring the platform team in before the draft. @here";
    let submit = bot.fake.modal_submit(&mentor(), &note_buttons[0].0, &[("note", note)]);
    let confirmed = followup(&bot, &submit).await;
    assert!(confirmed.is_ephemeral());
    assert!(
        confirmed.content.contains(&format!("Note saved on <@{ALICE}>'s answer and sent to them by DM")),
        "{confirmed:?}"
    );
    pings_nobody(confirmed.allowed_mentions.as_ref().unwrap());
    let dms = bot.fake.messages_in(dm_channel);
    assert_eq!(dms.len(), 1, "one DM");
    assert_eq!(dms[0].embeds[0]["description"], note);
    assert!(dms[0].embeds[0]["fields"][0]["value"].as_str().unwrap().contains(&question[..40]));
    pings_nobody(dms[0].allowed_mentions.as_ref().unwrap());
    assert_eq!(bot.fake.requests_to("POST", &format!("/channels/{dm_channel}/messages")).len(), 1, "one attempt");
    assert!(bot.fake.messages_in(bot.fake.dm_channel_for(BOB)).is_empty(), "Bob got nothing");

    // Alice finds it once in /progress, marked as her mentor's.
    let h = bot.fake.slash_command(member(ALICE).command("progress"));
    let p = bot.fake.wait_followup(&h, WAIT).await;
    assert_eq!(p.embeds.len(), 2, "{:?}", p.embeds);
    assert_eq!(p.embeds[1]["title"], "New notes from your mentors");
    assert!(p.embeds[1]["description"].as_str().unwrap().contains("> Strong framing."), "{:?}", p.embeds[1]);
    let h = bot.fake.slash_command(member(ALICE).command("progress"));
    assert_eq!(bot.fake.wait_followup(&h, WAIT).await.embeds.len(), 1, "read once");
    let h = bot.fake.slash_command(member(BOB).command("progress"));
    assert_eq!(bot.fake.wait_followup(&h, WAIT).await.embeds.len(), 1, "no note for Bob");

    // …and in /packet, under her answer, as the mentor's words.
    let h = bot.fake.slash_command(member(ALICE).command("packet"));
    let packet = file(&bot.fake.wait_followup(&h, WAIT).await, "packet.md").text();
    let answer_at = packet.find("> Shipped the RFC").expect(&packet);
    let note_at = packet.find("_Mentor's note, in the words of user300000000000000002").expect(&packet);
    assert!(answer_at < note_at && packet.contains("> Strong framing."), "{packet}");

    // The mentor's next read shows the note and offers to edit it.
    let h = bot.fake.slash_command(mentor().command("cohort").subcommand("answers"));
    let again = followup(&bot, &h).await;
    assert!(again.embeds[1]["description"].as_str().unwrap().contains(&format!("📝 Noted by <@{MENTOR}> (you)")));
    assert_eq!(buttons(&again)[0].1, "Edit note on 1");
    assert!(file(&again, "answers.md").text().contains("> Strong framing."));
    assert!(assert_echoes_ping_nobody(&bot.fake) > 0);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_whose_dms_are_closed_finds_the_note_in_progress_and_the_mentor_is_told() {
    let bot = Bot::start().await;
    bot.setup(QUIET, None).await;
    let (_, custom_id) = bot.open_checkin(CHANNEL).await;
    answer(&bot, ALICE, &custom_id, "my answer").await;
    let dm_channel = bot.fake.dm_channel_for(ALICE);
    bot.fake.fail_next_status("POST", &format!("/channels/{dm_channel}/messages"), 1, 403);

    let h = bot.fake.slash_command(mentor().command("cohort").subcommand("answers"));
    let page = followup(&bot, &h).await;
    let submit = bot.fake.modal_submit(&mentor(), &buttons(&page)[0].0, &[("note", "Good one")]);
    let confirmed = followup(&bot, &submit).await;
    assert!(
        confirmed.content.contains("would not deliver it by DM") && confirmed.content.contains("/progress"),
        "{confirmed:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let attempts = bot.fake.requests_to("POST", &format!("/channels/{dm_channel}/messages"));
    assert_eq!(attempts.len(), 1, "a refused DM is not retried blindly");

    let h = bot.fake.slash_command(member(ALICE).command("progress"));
    let p = bot.fake.wait_followup(&h, WAIT).await;
    assert!(p.embeds[1]["description"].as_str().unwrap().contains("> Good one"), "{:?}", p.embeds);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_week_pages_with_buttons_and_every_answer_is_on_one_page() {
    let bot = Bot::start().await;
    bot.setup(QUIET, None).await;
    let (_, custom_id) = bot.open_checkin(CHANNEL).await;
    let users: Vec<u64> = (0..12).map(|i| USER0 + i).collect();
    for (i, user) in users.iter().enumerate() {
        answer(&bot, *user, &custom_id, &format!("ANSWER-{i:02} {}", "long words ".repeat(80))).await;
    }
    let h = bot.fake.slash_command(mentor().command("cohort").subcommand("answers"));
    let first = followup(&bot, &h).await;
    let footer = first.embeds[0]["footer"]["text"].as_str().unwrap().to_string();
    let pages: usize = footer.split(" of ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(pages >= 3, "{footer}");
    let mut seen = Vec::new();
    let mut message = first.clone();
    for p in 0..pages {
        let text = text_of(&message);
        for i in 0..12 {
            if text.contains(&format!("ANSWER-{i:02}")) {
                seen.push(i);
            }
        }
        let labels: Vec<String> = buttons(&message).into_iter().map(|(_, l)| l).collect();
        assert_eq!(labels.contains(&"◀ Previous".to_string()), p > 0, "{labels:?}");
        assert_eq!(labels.contains(&"Next ▶".to_string()), p + 1 < pages, "{labels:?}");
        if p + 1 == pages {
            break;
        }
        let next = buttons(&message).into_iter().find(|(_, l)| l == "Next ▶").unwrap().0;
        let click = bot.fake.button_click(&mentor(), &next, first.id);
        let r = bot.fake.wait_interaction_response(&click, WAIT).await;
        assert_eq!(r.kind, 7, "the page is replaced in place: {r:?}");
        message = bot.fake.message(first.id).unwrap();
        assert!(message.is_ephemeral());
        assert_eq!(message.attachments.len(), 1, "answers.md stays attached");
        assert!(
            message.embeds[0]["footer"]["text"].as_str().unwrap().starts_with(&format!("Page {} of {pages}", p + 2))
        );
    }
    assert_eq!(seen, (0..12).collect::<Vec<_>>(), "each answer exactly once, in order");
    // A page button made for a member reveals nothing.
    let next = buttons(&first).into_iter().find(|(_, l)| l == "Next ▶").unwrap().0;
    let click = bot.fake.button_click(&member(ALICE), &next, first.id);
    let r = bot.fake.wait_interaction_response(&click, WAIT).await;
    assert!(r.kind == 4 && r.is_ephemeral() && !r.data.to_string().contains("ANSWER-"), "{r:?}");
    bot.stop().await;
}

async fn modal_of(bot: &Bot, actor: &Actor, inv: fake_discord::Invocation) -> fake_discord::InteractionResponse {
    let h = bot.fake.slash_command(inv);
    let r = bot.fake.wait_interaction_response(&h, WAIT).await;
    assert_eq!(r.kind, 9, "{} gets a form: {r:?}", actor.user_id);
    r
}

/// The text inputs of a modal response, as (custom_id, value).
fn inputs(modal: &fake_discord::InteractionResponse) -> Vec<(String, String)> {
    modal.data["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| &row["components"][0])
        .map(|i| (i["custom_id"].as_str().unwrap().to_string(), i["value"].as_str().unwrap_or("").to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_walks_three_path_steps_and_a_mentor_sees_them() {
    let bot = Bot::start().await;
    bot.setup(QUIET, None).await;
    let alice = member(ALICE);
    let h = bot.fake.slash_command(alice.command("cohort").subcommand("join"));
    bot.fake.wait_interaction_response(&h, WAIT).await;

    let form = modal_of(&bot, &alice, alice.command("path").subcommand("project")).await;
    let project = [("what", "CI takes 40 minutes"), ("why", "Every team waits on it"), ("teams", "web, mobile")];
    let h = bot.fake.modal_submit(&alice, form.custom_id().unwrap(), &project);
    let r = bot.fake.wait_interaction_response(&h, WAIT).await;
    assert!(r.data.to_string().contains("Staff path problem saved"), "{r:?}");

    for (n, step) in ["expectations", "problem", "plan"].into_iter().enumerate() {
        let form = modal_of(&bot, &alice, alice.command("path").subcommand("done").option("step", step)).await;
        assert!(form.custom_id().unwrap().ends_with(&format!(":{step}")), "{form:?}");
        let evidence = format!("EVIDENCE-{step}: done with my manager");
        let fields = [("evidence", evidence.as_str()), ("link", "https://docs.example/staff")];
        let h = bot.fake.modal_submit(&alice, form.custom_id().unwrap(), &fields);
        let r = bot.fake.wait_interaction_response(&h, WAIT).await;
        let title = r.data["embeds"][0]["title"].as_str().unwrap();
        assert!(title.starts_with(&format!("Step {} done", n + 1)), "{title}");
        assert!(r.data["embeds"][0]["fields"][0]["value"].as_str().unwrap().starts_with(&format!("{} of 7", n + 1)));
    }

    // Redoing a step opens the form with the evidence given, and edits it.
    let form = modal_of(&bot, &alice, alice.command("path").subcommand("done").option("step", "plan")).await;
    assert_eq!(inputs(&form)[0].1, "EVIDENCE-plan: done with my manager");
    let h = bot.fake.modal_submit(&alice, form.custom_id().unwrap(), &[("evidence", "EVIDENCE-plan v2"), ("link", "")]);
    let r = bot.fake.wait_interaction_response(&h, WAIT).await;
    assert!(r.data["embeds"][0]["title"].as_str().unwrap().starts_with("Step 3 updated"), "{r:?}");

    // Alice and her mentor see three steps; Bob does not see Alice's path.
    for (who, inv) in [
        ("alice", alice.command("path").subcommand("show")),
        ("mentor", mentor().command("path").subcommand("show").option("member", OptionValue::User(ALICE))),
    ] {
        let h = bot.fake.slash_command(inv);
        let r = bot.fake.wait_interaction_response(&h, WAIT).await;
        let embed = &r.data["embeds"][0];
        assert_eq!(embed["title"], "Staff path · 3 of 7 steps", "{who}");
        let fields = embed["fields"].as_array().unwrap();
        let done: Vec<&str> =
            fields.iter().map(|f| f["name"].as_str().unwrap()).filter(|n| n.starts_with('✅')).collect();
        assert_eq!(done.len(), 3, "{who}: {fields:?}");
        assert!(fields[2]["value"].as_str().unwrap().contains("EVIDENCE-plan v2"), "{who}");
        assert!(embed["description"].as_str().unwrap().contains("> CI takes 40 minutes"), "{who}");
    }
    let h = bot
        .fake
        .slash_command(member(BOB).command("path").subcommand("show").option("member", OptionValue::User(ALICE)));
    let r = bot.fake.wait_interaction_response(&h, WAIT).await;
    assert!(r.content().contains("Only this member's mentors") && !r.data.to_string().contains("EVIDENCE"), "{r:?}");
    // A step that is none of the seven (a hand-made request) is refused clearly.
    let h = bot.fake.slash_command(alice.command("path").subcommand("done").option("step", "skip-ahead"));
    let r = bot.fake.wait_interaction_response(&h, WAIT).await;
    assert!(r.kind == 4 && r.content().contains("unknown Staff path step"), "{r:?}");
    // /progress shows the steps, /packet opens with them.
    let h = bot.fake.slash_command(alice.command("progress"));
    let p = bot.fake.wait_followup(&h, WAIT).await;
    let path_field = p.embeds[0]["fields"].as_array().unwrap().iter().find(|f| f["name"] == "Staff path").unwrap();
    assert!(path_field["value"].as_str().unwrap().starts_with("3 of 7 steps done"), "{path_field}");
    let h = bot.fake.slash_command(alice.command("packet"));
    let md = file(&bot.fake.wait_followup(&h, WAIT).await, "packet.md").text();
    assert!(md.find("## Staff path").unwrap() < md.find("## Impact ledger").unwrap(), "{md}");
    assert!(md.contains("> EVIDENCE-plan v2") && md.contains("**Link:** <https://docs.example/staff>"), "{md}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_prompt_shows_then_and_now_in_the_confirmation() {
    let bot = Bot::start().await;
    bot.setup(QUIET, None).await;
    let (first, first_id) = bot.open_checkin(CHANNEL).await;
    let then = answer(&bot, ALICE, &first_id, "THEN: I fixed the bugs I was given.").await;
    assert_eq!(then.data["embeds"][0]["fields"].as_array().unwrap().len(), 1, "nothing earlier the first time");
    // The same prompt comes back (a new occurrence needs a new second).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (second, second_id) = bot.open_checkin(CHANNEL).await;
    assert_eq!(first.prompt.as_ref().unwrap().id, second.prompt.as_ref().unwrap().id);
    let now = answer(&bot, ALICE, &second_id, "NOW: I chose which bugs matter.").await;
    let embed = &now.data["embeds"][0];
    assert_eq!(embed["description"], "NOW: I chose which bugs matter.");
    let then_field = embed["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"].as_str().unwrap().starts_with("Then"))
        .expect("then");
    let value = then_field["value"].as_str().unwrap();
    let saved = bot.engine.store().reply(first.id, UserId::new(ALICE)).await.unwrap().unwrap();
    assert!(value.starts_with(&format!("<t:{}:D> · confidence 3/5", saved.created_at.timestamp())), "{value}");
    assert!(value.contains("> THEN: I fixed the bugs I was given."), "{value}");
    pings_nobody(&now.data["allowed_mentions"]);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_me_of_a_member_and_of_a_mentor_leaves_no_row_holding_their_id() {
    let bot = Bot::start().await;
    bot.setup(QUIET, None).await;
    let (checkin, custom_id) = bot.open_checkin(CHANNEL).await;
    answer(&bot, ALICE, &custom_id, "alice").await;
    answer(&bot, BOB, &custom_id, "bob").await;
    for user in [ALICE, BOB] {
        let form =
            modal_of(&bot, &member(user), member(user).command("path").subcommand("done").option("step", "plan")).await;
        let h =
            bot.fake.modal_submit(&member(user), form.custom_id().unwrap(), &[("evidence", "planned"), ("link", "")]);
        bot.fake.wait_interaction_response(&h, WAIT).await;
        let reply = bot.engine.store().reply(checkin.id, UserId::new(user)).await.unwrap().unwrap();
        for text in ["first note", "edited note"] {
            let h = bot.fake.modal_submit(&mentor(), &format!("note:{}", reply.id), &[("note", text)]);
            followup(&bot, &h).await;
        }
    }
    let db = bot.database_path();
    for user in [ALICE, MENTOR] {
        assert!(!rows_holding_in(&db, user as i64).await.is_empty());
    }
    let forget = async |user: u64| {
        let click = bot.fake.button_click(&member(user), "forget:confirm", 1);
        let r = bot.fake.wait_interaction_response(&click, WAIT).await;
        assert!(r.content().contains("is deleted"), "{r:?}");
    };
    forget(ALICE).await;
    assert_eq!(rows_holding_in(&db, ALICE as i64).await, vec![], "nothing holds the member's id");
    let bob_notes =
        bot.engine.store().notes_of_member(trellis::domain::CohortId::new(1), UserId::new(BOB)).await.unwrap();
    assert_eq!(bob_notes.len(), 1, "Bob's note stays");
    forget(MENTOR).await;
    assert_eq!(rows_holding_in(&db, MENTOR as i64).await, vec![], "nothing holds the mentor's id");
    let store = bot.engine.store();
    assert!(store.notes_of_member(trellis::domain::CohortId::new(1), UserId::new(BOB)).await.unwrap().is_empty());
    assert!(store.reply(checkin.id, UserId::new(BOB)).await.unwrap().is_some(), "Bob's answer stays");
    assert_eq!(store.staff_path(trellis::domain::CohortId::new(1), UserId::new(BOB)).await.unwrap().done(), 1);
    bot.stop().await;
}

fn digest_field(digest: &StoredMessage, name: &str) -> String {
    let fields = digest.embeds[0]["fields"].as_array().expect("fields");
    let f = fields.iter().find(|f| f["name"].as_str().unwrap_or("").starts_with(name));
    f.unwrap_or_else(|| panic!("no field {name}: {fields:?}"))["value"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_digest_counts_answers_without_a_note_and_path_steps_per_member() {
    let bot = Bot::start().await;
    bot.setup_with_digest("*/10 * * * * *", OTHER_CHANNEL).await;
    for user in [ALICE, BOB] {
        let h = bot.fake.slash_command(member(user).command("cohort").subcommand("join"));
        bot.fake.wait_interaction_response(&h, WAIT).await;
    }
    let form =
        modal_of(&bot, &member(BOB), member(BOB).command("path").subcommand("done").option("step", "expectations"))
            .await;
    let h = bot.fake.modal_submit(&member(BOB), form.custom_id().unwrap(), &[("evidence", "agreed"), ("link", "")]);
    bot.fake.wait_interaction_response(&h, WAIT).await;

    let post = bot.fake.wait_messages(CHANNEL, 1, Duration::from_secs(15)).await.remove(0);
    let custom_id = button_custom_id(&post);
    answer(&bot, ALICE, &custom_id, "SECRET alice").await;
    answer(&bot, BOB, &custom_id, "SECRET bob").await;
    let checkin = CheckInId::new(custom_id.trim_start_matches("answer:").parse().unwrap());
    let reply = bot.engine.store().reply(checkin, UserId::new(ALICE)).await.unwrap().unwrap();
    let h = bot.fake.modal_submit(&mentor(), &format!("note:{}", reply.id), &[("note", "SECRET note")]);
    followup(&bot, &h).await;

    let digest = bot.fake.wait_messages(OTHER_CHANNEL, 1, Duration::from_secs(25)).await.remove(0);
    assert_eq!(digest_field(&digest, "Answered"), "2");
    let notes = digest_field(&digest, "Mentors' notes");
    assert!(notes.starts_with("1 of 2 answers to this check-in have no note yet · 1 without a note in all"), "{notes}");
    let path = digest_field(&digest, "Staff path");
    assert!(path.starts_with(&format!("<@{BOB}> · 1/7")) && path.ends_with("Not started: 1 member"), "{path}");
    let body: Value = serde_json::to_value(&digest.embeds).unwrap();
    assert!(!body.to_string().contains("SECRET"), "no answer or note text in a digest");
    pings_nobody(digest.allowed_mentions.as_ref().unwrap());
    let h = bot.fake.slash_command(admin(GUILD, CHANNEL).command("cohort").subcommand("remove"));
    bot.fake.wait_interaction_response(&h, WAIT).await;
    bot.stop().await;
}
