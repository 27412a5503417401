//! End to end: `/progress`, `/cohort status` and `/packet` answer with real
//! figures, charts and files, through the real bot and the fake Discord.

use chrono::{DateTime, Duration, Utc};
use fake_discord::{Attachment, OptionValue, StoredMessage};
use trellis::domain::{ImpactInput, PostedPrompt, Track};
use trellis::store::bulk::{BulkCheckIn, BulkReply};
use trellis::summary::chart::{PROGRESS_SIZE, heatmap_size};
use trellis_testkit::bot::*;
use trellis_testkit::ids::*;

/// A schedule that never fires during the test: the ledger holds only what the test seeds.
const DORMANT: &str = "0 0 9 1 1 * 2099";

/// Check-in `k` of `n`, one a week, the last one posted yesterday and still open.
fn seeded_ledger(n: i64, now: DateTime<Utc>) -> Vec<BulkCheckIn> {
    let first = now - Duration::days(1) - Duration::weeks(n - 1);
    (0..n)
        .map(|k| {
            let track = Track::ALL[k as usize % 6];
            BulkCheckIn {
                occurrence_at: first + Duration::weeks(k),
                closes_at: first + Duration::weeks(k + 1),
                prompt: PostedPrompt {
                    id: format!("{track}-{k}"),
                    track,
                    question: format!("Week {k}: a {track} question?"),
                },
            }
        })
        .collect()
}

fn answer(checkin_id: CheckInId, user_id: u64, text: String, confidence: Option<u8>, at: DateTime<Utc>) -> BulkReply {
    BulkReply { checkin_id, user_id: UserId::new(user_id), answer: text, confidence, at }
}

/// Seven check-ins (six closed, one open). Alice answered 0, 1, 2, 4, 5 and
/// logged two wins; Bob answered everything; Carol never answered.
async fn seed_small_cohort(bot: &Bot) {
    let store = bot.engine.store();
    let cohort = store.cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().expect("cohort set up");
    let now = Utc::now();
    let ledger = seeded_ledger(7, now);
    let joined = ledger[0].occurrence_at - Duration::days(1);
    store
        .bulk_members(
            cohort.id,
            &[(UserId::new(ALICE), joined), (UserId::new(BOB), joined), (UserId::new(CAROL), joined)],
        )
        .await
        .unwrap();
    let ids = store.bulk_checkins(cohort.id, &ledger).await.unwrap();
    let mut replies = Vec::new();
    for (k, (id, c)) in ids.iter().zip(&ledger).enumerate() {
        let at = c.occurrence_at + Duration::hours(3);
        if [0, 1, 2, 4, 5].contains(&k) {
            let text = format!("ALICE-{k}: drove the migration plan @everyone");
            replies.push(answer(*id, ALICE, text, Some(2 + (k as u8 % 4)), at));
        }
        replies.push(answer(*id, BOB, format!("BOB-SECRET-{k}"), Some(3), at));
    }
    store.bulk_replies(&replies).await.unwrap();
    let win =
        ImpactInput::parse("ALICE-WIN: cut deploys from 40 to 9 minutes", "CI dashboard p50", "all 60 engineers", "")
            .unwrap();
    store.insert_impact(cohort.id, UserId::new(ALICE), &win, now - Duration::days(10)).await.unwrap();
    let bobs = ImpactInput::parse("BOB-WIN", "Bob's evidence", "Bob's team", "").unwrap();
    store.insert_impact(cohort.id, UserId::new(BOB), &bobs, now - Duration::days(10)).await.unwrap();
}

fn attachment<'a>(m: &'a StoredMessage, name: &str) -> &'a Attachment {
    m.attachments.iter().find(|a| a.filename == name).unwrap_or_else(|| panic!("{name} attached: {m:?}"))
}

fn png_size(bytes: &[u8]) -> (u32, u32) {
    let info = png::Decoder::new(bytes).read_info().expect("a PNG").info().clone();
    (info.width, info.height)
}

fn field<'a>(embed: &'a serde_json::Value, name: &str) -> &'a str {
    embed["fields"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["name"].as_str().is_some_and(|n| n.starts_with(name))))
        .and_then(|f| f["value"].as_str())
        .unwrap_or_else(|| panic!("field {name}: {embed}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_answers_with_real_figures_and_a_chart() {
    let bot = Bot::start().await;
    bot.setup(DORMANT, None).await;
    seed_small_cohort(&bot).await;

    let h = bot.fake.slash_command(member(ALICE).username("alice").command("progress"));
    let m = bot.fake.wait_followup(&h, WAIT).await;
    assert!(m.is_ephemeral(), "{m:?}");
    pings_nobody(m.allowed_mentions.as_ref().expect("allowed_mentions"));
    let embed = &m.embeds[0];
    assert_eq!(embed["title"], "Progress · alice");
    let description = embed["description"].as_str().unwrap();
    // Six closed check-ins, five answered; the open one does not count yet.
    assert!(description.contains("**Last 12 weeks:** 5/6 answered (83%)"), "{description}");
    assert!(description.contains("**All time:** 5/6 answered (83%)"), "{description}");
    assert!(description.contains("**Streak:** 2 now · longest 3"), "{description}");
    let tracks = field(embed, "Tracks");
    assert!(
        tracks.contains("**Scope** · 1 answer · 1 in 12 wk"),
        "check-in 6, scope too, is open and unanswered: {tracks}"
    );
    assert!(tracks.contains("**Mentoring** · 0 answers"), "{tracks}");
    assert!(field(embed, "Latest wins").contains("ALICE-WIN: cut deploys"));
    assert!(field(embed, "Next focus").contains("Mentoring"));
    assert!(!embed.to_string().contains("BOB"), "nothing of Bob's");
    assert_eq!(embed["image"]["url"], "attachment://progress.png");
    assert_eq!(png_size(&attachment(&m, "progress.png").bytes), PROGRESS_SIZE);

    // A mentor names Alice and a shorter window.
    let mentor = member(MENTOR).roles(vec![MENTOR_ROLE]);
    let h = bot
        .fake
        .slash_command(mentor.command("progress").option("member", OptionValue::User(ALICE)).option("weeks", 2));
    let m = bot.fake.wait_followup(&h, WAIT).await;
    let description = m.embeds[0]["description"].as_str().unwrap();
    assert!(description.contains("**Last 2 weeks:** 1/1 answered (100%)"), "{description}");
    assert!(description.contains("**All time:** 5/6 answered (83%)"), "{description}");
    assert_eq!(m.embeds[0]["title"], "Progress · alice");
    attachment(&m, "progress.png");

    // Naming someone outside the cohort says so; a member naming another is refused.
    let h = bot.fake.slash_command(mentor.command("progress").option("member", OptionValue::User(STRANGER)));
    let m = bot.fake.wait_followup(&h, WAIT).await;
    assert!(m.embeds.is_empty() && m.content.contains("not a member of this cohort"), "{m:?}");
    let h = bot.fake.slash_command(member(BOB).command("progress").option("member", OptionValue::User(ALICE)));
    let m = bot.fake.wait_followup(&h, WAIT).await;
    assert!(m.embeds.is_empty() && m.attachments.is_empty() && m.content.contains("mentors"), "{m:?}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cohort_status_shows_the_week_quiet_members_a_heatmap_and_the_table() {
    let bot = Bot::start().await;
    bot.setup(DORMANT, None).await;
    seed_small_cohort(&bot).await;

    let mentor = member(MENTOR).roles(vec![MENTOR_ROLE]);
    let h = bot.fake.slash_command(mentor.command("cohort").subcommand("status"));
    let m = bot.fake.wait_followup(&h, WAIT).await;
    assert!(m.is_ephemeral());
    pings_nobody(m.allowed_mentions.as_ref().expect("allowed_mentions"));
    let embed = &m.embeds[0];
    let description = embed["description"].as_str().unwrap();
    assert!(description.contains("**1** answered · **2** not yet · **0** paused"), "{description}");
    assert!(description.contains("3 members · quiet for 2+ check-ins: **1**"), "{description}");
    let quiet = field(embed, "Quiet members");
    assert!(quiet.contains(&format!("<@{CAROL}> · missed 6 in a row · last answer never")), "{quiet}");
    let members = field(embed, "Members");
    assert!(members.contains(&format!("<@{ALICE}> · streak 2")), "{members}");
    assert!(members.contains(&format!("<@{BOB}> · streak 7")), "{members}");
    let coverage = field(embed, "Answers per track");
    assert!(coverage.contains("**Mentoring** 33% · 1/3 answered"), "{coverage}");
    assert!(!embed.to_string().contains("SECRET") && !embed.to_string().contains("ALICE-"), "no answer text");

    assert_eq!(embed["image"]["url"], "attachment://heatmap.png");
    assert_eq!(png_size(&attachment(&m, "heatmap.png").bytes), heatmap_size(3));
    let csv = attachment(&m, "cohort-status.csv").text();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 4, "{csv}");
    assert!(rows[0].starts_with("row,user_id,joined,this_week,current_streak"), "{csv}");
    let carol = rows.iter().find(|r| r.contains(&CAROL.to_string())).expect("Carol's row");
    assert!(carol.contains(",not yet,0,0,0,6,6,yes,"), "{carol}");
    assert!(!csv.contains("SECRET"));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packet_is_a_markdown_file_of_the_members_own_words() {
    let bot = Bot::start().await;
    bot.setup(DORMANT, None).await;
    seed_small_cohort(&bot).await;

    let h = bot.fake.slash_command(member(ALICE).username("alice").command("packet"));
    let m = bot.fake.wait_followup(&h, WAIT).await;
    assert!(m.is_ephemeral());
    pings_nobody(m.allowed_mentions.as_ref().expect("allowed_mentions"));
    let md = attachment(&m, "packet.md").text();
    assert!(md.starts_with("# Promotion evidence: alice\n"), "{md}");
    assert!(md.contains("- **Period:** "), "{md}");
    assert!(md.contains("- **Check-in answers:** 5 in 5 tracks"), "{md}");
    assert!(md.contains("> ALICE-WIN: cut deploys from 40 to 9 minutes"), "{md}");
    for k in [0, 1, 2, 4, 5] {
        assert!(md.contains(&format!("> ALICE-{k}: drove the migration plan @\u{200B}everyone")), "answer {k}: {md}");
    }
    assert!(!md.contains("ALICE-3") && !md.contains("BOB"), "only Alice's own material: {md}");
    assert!(md.find("### Scope · 1 answer").unwrap() < md.find("### Communication · 1 answer").unwrap());

    // Someone who is not a member gets a clear message and no file.
    let h = bot.fake.slash_command(member(STRANGER).command("packet"));
    let m = bot.fake.wait_followup(&h, WAIT).await;
    assert!(m.attachments.is_empty() && m.content.contains("not a member"), "{m:?}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cohort_status_of_500_members_stays_within_discords_limits() {
    let bot = Bot::start().await;
    bot.setup(DORMANT, None).await;
    let store = bot.engine.store();
    let cohort = store.cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().unwrap();
    let now = Utc::now();
    let ledger = seeded_ledger(12, now);
    let joined = ledger[0].occurrence_at - Duration::days(1);
    let users: Vec<u64> = (0..500).map(|i| 400_000_000_000_000_000 + i).collect();
    store.bulk_members(cohort.id, &users.iter().map(|u| (UserId::new(*u), joined)).collect::<Vec<_>>()).await.unwrap();
    let ids = store.bulk_checkins(cohort.id, &ledger).await.unwrap();
    // Members 0..200 answer everything; the other 300 stopped three weeks ago.
    let replies: Vec<BulkReply> = users
        .iter()
        .enumerate()
        .flat_map(|(i, u)| {
            let stop = if i < 200 { ids.len() } else { ids.len() - 4 };
            ids[..stop].iter().map(|id| answer(*id, *u, "x".into(), Some(3), now - Duration::days(30)))
        })
        .collect();
    store.bulk_replies(&replies).await.unwrap();

    let mentor = member(MENTOR).roles(vec![MENTOR_ROLE]);
    let h = bot.fake.slash_command(mentor.command("cohort").subcommand("status"));
    // The fake answers 400 to an embed past Discord's limits, so arriving at all is the check.
    let m = bot.fake.wait_followup(&h, WAIT).await;
    let embed = &m.embeds[0];
    let description = embed["description"].as_str().unwrap();
    assert!(description.contains("**200** answered · **300** not yet"), "{description}");
    assert!(description.contains("500 members · quiet for 2+ check-ins: **300**"), "{description}");
    assert!(field(embed, "Quiet members").contains("more in `cohort-status.csv`"));
    assert!(field(embed, "Members").contains("cohort-status.csv"));
    assert_eq!(attachment(&m, "cohort-status.csv").text().lines().count(), 501);
    assert_eq!(png_size(&attachment(&m, "heatmap.png").bytes), heatmap_size(500));
    bot.stop().await;
}
