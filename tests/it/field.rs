//! Field hardening over the wire: what admins type into `/cohort setup`
//! (time zones as people write them, reminders that could never be sent).

use fake_discord::OptionValue;
use trellis_testkit::bot::*;
use trellis_testkit::ids::*;

/// What the timezone autocomplete offers for `typed`: (label, value) pairs.
async fn zones_for(bot: &Bot, typed: &str) -> Vec<(String, String)> {
    let inv = admin(GUILD, CHANNEL)
        .command("cohort")
        .subcommand("setup")
        .option("timezone", typed)
        .option("mentor_role", OptionValue::Role(MENTOR_ROLE));
    let h = bot.fake.autocomplete(inv, "timezone");
    let r = bot.fake.wait_interaction_response(&h, WAIT).await;
    assert_eq!(r.kind, 8, "{r:?}");
    r.data["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["value"].as_str().unwrap().to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timezone_autocomplete_understands_cities_and_offsets_as_typed() {
    let bot = Bot::start().await;
    for typed in ["sao paulo", "São Paulo", "SAO_PAULO", "saopaulo"] {
        let zones = zones_for(&bot, typed).await;
        assert!(zones.iter().any(|(_, value)| value == "America/Sao_Paulo"), "{typed}: {zones:?}");
    }
    let new_york = zones_for(&bot, "new york").await;
    assert_eq!(new_york.first().map(|(_, v)| v.as_str()), Some("America/New_York"), "{new_york:?}");
    // Every label carries the zone's UTC offset now; the value is the IANA name.
    for (label, value) in &new_york {
        assert!(label.starts_with(value.as_str()) && label.contains("(UTC"), "{label}");
    }

    // An offset offers zones that have it now, whatever their name says:
    // `Etc/GMT+2` is UTC−2 and never answers "UTC+2".
    for (typed, offset) in [("UTC+2", "(UTC+02:00)"), ("gmt-5", "(UTC−05:00)"), ("+05:30", "(UTC+05:30)")] {
        let zones = zones_for(&bot, typed).await;
        assert!(!zones.is_empty() && zones.len() <= 25, "{typed}: {zones:?}");
        assert!(zones.iter().all(|(label, _)| label.ends_with(offset)), "{typed}: {zones:?}");
        assert!(zones.iter().all(|(_, value)| value != "Etc/GMT+2"), "{typed}: {zones:?}");
    }
    assert!(bot.fake.unknown_routes().is_empty(), "{:?}", bot.fake.unknown_routes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_refuses_a_reminder_that_would_come_after_the_next_check_in() {
    let bot = Bot::start().await;
    for (cron, reminder_after) in [("0 0 9 * * *", "48h"), ("0 0 9 * * Mon", "7d")] {
        let h = bot.fake.slash_command(setup_in_channel(cron).option("reminder_after", reminder_after));
        let r = bot.fake.wait_interaction_response(&h, WAIT).await;
        let text = r.content();
        assert!(r.is_ephemeral(), "{r:?}");
        assert!(text.contains("`reminder_after`") && text.contains("never be sent"), "{cron} {reminder_after}: {text}");
        assert!(bot.engine.cohorts_in_guild(trellis_testkit::typed::GUILD).await.unwrap().is_empty());
    }
    // A reminder inside the gap is accepted and echoed.
    let text = bot.setup("0 0 9 * * Mon", Some("48h")).await;
    assert!(text.contains("Reminders after 2d"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_in_in_the_spring_forward_gap_is_posted_when_the_clocks_reach_three() {
    use std::sync::Arc;
    use trellis_testkit::clock::ShiftedClock;
    // Berlin, 2027-03-28: at 02:00 CET the clocks jump to 03:00 CEST (01:00 UTC).
    // A daily 02:30 check-in has no 02:30 that night; it must not vanish.
    let bot = Bot::start_with_clock(Arc::new(ShiftedClock::new(trellis_testkit::utc("2027-03-28T00:59:55Z")))).await;
    let inv = admin(GUILD, CHANNEL)
        .command("cohort")
        .subcommand("setup")
        .option("timezone", "Europe/Berlin")
        .option("mentor_role", OptionValue::Role(MENTOR_ROLE))
        .option("cron", "0 30 2 * * *");
    let h = bot.fake.slash_command(inv);
    let text = bot.fake.wait_interaction_response(&h, WAIT).await.content().to_string();
    assert!(text.contains("Sun 2027-03-28 03:00 CEST"), "the next check-in is at 03:00 that night: {text}");
    assert!(text.contains("Mon 2027-03-29 02:30 CEST"), "{text}");

    let posts = bot.fake.wait_messages(CHANNEL, 1, WAIT).await;
    assert_eq!(posts.len(), 1);
    let cohort = bot.engine.cohort_of_channel(trellis_testkit::typed::GUILD, trellis_testkit::typed::CHANNEL).await;
    let cohort = cohort.unwrap().expect("the cohort");
    let open = bot.engine.open_checkin(&cohort).await.expect("the check-in is open");
    assert_eq!(open.occurrence_at, trellis_testkit::utc("2027-03-28T01:00:00Z"));
    assert_eq!(bot.fake.messages_in(CHANNEL).len(), 1, "posted once");
    bot.stop().await;
}
