//! End to end: `/cohort setup` with a `digest_channel`, then the mentors'
//! digest of each closed check-in appears in that channel, once, with counts
//! and quiet members and without answer text or pings.

use std::collections::HashSet;
use std::time::Duration;

use fake_discord::StoredMessage;
use serde_json::Value;
use trellis_testkit::bot::*;
use trellis_testkit::ids::*;

fn field(digest: &StoredMessage, name: &str) -> String {
    let fields = digest.embeds[0]["fields"].as_array().expect("fields");
    let f = fields.iter().find(|f| f["name"].as_str().unwrap_or("").starts_with(name));
    f.unwrap_or_else(|| panic!("no field {name}: {fields:?}"))["value"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_of_each_closed_checkin_appears_in_the_digest_channel() {
    let bot = Bot::start().await;
    let admin = admin(GUILD, CHANNEL);
    let text = bot.setup_with_digest("*/5 * * * * *", OTHER_CHANNEL).await;
    assert!(text.contains("Next check-ins"), "{text}");
    let cohort = bot.engine.store().cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().expect("cohort");
    assert_eq!(cohort.spec.digest_channel_id, Some(ChannelId::new(OTHER_CHANNEL)));

    for user in [ALICE, BOB] {
        let h = bot.fake.slash_command(member(user).command("cohort").subcommand("join"));
        bot.fake.wait_interaction_response(&h, WAIT).await;
    }

    // Alice answers the first check-in; Bob never answers.
    let post = bot.fake.wait_messages(CHANNEL, 1, Duration::from_secs(15)).await.remove(0);
    let custom_id = button_custom_id(&post);
    let click = bot.fake.button_click(&member(ALICE), &custom_id, post.id);
    bot.fake.wait_interaction_response(&click, WAIT).await;
    let secret = "SECRET-ANSWER: the roadmap slips a quarter";
    let submit = bot.fake.modal_submit(&member(ALICE), &custom_id, &[("answer", secret), ("confidence", "3")]);
    let r = bot.fake.wait_interaction_response(&submit, WAIT).await;
    assert!(r.data["embeds"][0]["description"].as_str().is_some_and(|d| d.contains("SECRET")), "saved: {r:?}");

    // The first check-in closes when the second opens; then the second closes.
    let digests = bot.fake.wait_messages(OTHER_CHANNEL, 2, Duration::from_secs(20)).await;
    let first = &digests[0];
    assert_eq!(first.embeds.len(), 1, "{first:?}");
    assert!(first.embeds[0]["title"].as_str().unwrap().contains("digest"), "{:?}", first.embeds);
    assert_eq!(
        (field(first, "Answered"), field(first, "Missing"), field(first, "Paused")),
        ("1".into(), "1".into(), "0".into())
    );
    let second = &digests[1];
    assert_eq!((field(second, "Answered"), field(second, "Missing")), ("0".into(), "2".into()));
    let quiet = field(second, "Quiet");
    assert!(quiet.contains(&format!("<@{BOB}> · 2 missed")), "Bob has missed two in a row: {quiet}");
    assert!(!quiet.contains(&ALICE.to_string()), "Alice answered the one before: {quiet}");

    // Stop scheduling, then compare the digest channel with the ledger.
    let h = bot.fake.slash_command(admin.command("cohort").subcommand("remove"));
    bot.fake.wait_interaction_response(&h, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let digests = bot.fake.messages_in(OTHER_CHANNEL);
    let mut claimed = 0;
    for k in bot.engine.store().checkins_of_cohort(cohort.id).await.unwrap() {
        claimed += usize::from(bot.engine.store().digest_claimed_at(k.id).await.unwrap().is_some());
    }
    assert_eq!(digests.len(), claimed, "one digest per claimed check-in");
    let nonces: HashSet<String> = digests.iter().map(|m| m.nonce.clone().expect("nonce").to_string()).collect();
    assert_eq!(nonces.len(), digests.len(), "one digest per check-in");
    for m in &digests {
        let body = serde_json::to_string(&m.embeds).unwrap();
        assert!(!body.contains("SECRET"), "no answer text in a digest: {body}");
        pings_nobody(m.allowed_mentions.as_ref().expect("allowed_mentions"));
        assert_eq!(m.content, "");
    }
    for req in bot.fake.requests_to("POST", &format!("/channels/{OTHER_CHANNEL}/messages")) {
        assert_eq!(req.body.as_ref().unwrap()["enforce_nonce"], Value::Bool(true));
    }
    // Nothing of the digest leaked into the members' channel.
    assert!(bot.checkin_posts().iter().all(|m| m.embeds.iter().all(|e| !e.to_string().contains("digest"))));
    bot.stop().await;
}
