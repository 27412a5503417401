//! Beyond one machine (issue 13): the real (release) binary against the fake
//! Discord on loopback, on SQLite and on PostgreSQL, as one process and as
//! three. `cargo bench --bench scale` prints, per setup:
//!
//! - **answers/s**: 1,500 modal submits at once, 500 in each of three
//!   guilds (one per gateway shard of three), from the first submit to the
//!   last confirmation, and the confirmations' p50/p99;
//! - **post fan-out**: 150 cohorts (50 per guild, each in its own channel)
//!   due at the same second, from that second to the 150th check-in post
//!   arriving at the fake, which enforces Discord's global limit (50
//!   requests per second; three processes each get `TRELLIS_GLOBAL_RATE_LIMIT=16`),
//!   and the posts per channel (each must be exactly one).
//!
//! Setups: SQLite × 1 process (`--shards 0-2 --total-shards 3`),
//! PostgreSQL × 1 process, PostgreSQL × 3 processes (`--shards 0-0`,
//! `1-1`, `2-2` of 3). PostgreSQL needs `TRELLIS_TEST_POSTGRES_URL` (as for
//! the tests); without it only SQLite runs, and the bench says so. The fake
//! runs in this process, on the same cores as the bots and the database.

use std::time::{Duration, Instant};

use chrono::{DateTime, Timelike, Utc};
use fake_discord::{Actor, FakeConfig, FakeDiscord, GuildSpec, InteractionHandle};
use trellis::domain::{CheckInId, CohortDraft, CohortId, CohortSource, MessageId};
use trellis::store::Store;
use trellis_testkit::process::TrellisProcess;
use trellis_testkit::{APP, BOT, Backend, TempDb, USER0, answer_id, percentile, seed_recorded_checkin};

const BIN: &str = env!("CARGO_BIN_EXE_trellis");
const SHARDS: u64 = 3;
const ANSWERS_PER_GUILD: u64 = 500;
const COHORTS_PER_GUILD: u64 = 50;
const WAIT: Duration = Duration::from_secs(60);

/// Guild `i` of three, on shard `i`: `(guild_id >> 22) % 3 == i`
/// (119_209_289_553 is a multiple of 3).
const fn guild(i: u64) -> u64 {
    (119_209_289_553 + i) << 22
}
const fn answer_channel(i: u64) -> u64 {
    guild(i) + 11
}
const fn mentor_role(i: u64) -> u64 {
    guild(i) + 21
}
const fn fanout_channel(i: u64, j: u64) -> u64 {
    guild(i) + 100 + j
}

async fn three_shards() -> FakeDiscord {
    let mut config = FakeConfig::new(BOT, APP).shards(SHARDS);
    for i in 0..SHARDS {
        let mut spec = GuildSpec::new(guild(i), &format!("Shard {i}")).channel(answer_channel(i), "cohort").role(
            mentor_role(i),
            "mentors",
            0,
        );
        for j in 0..COHORTS_PER_GUILD {
            spec = spec.channel(fanout_channel(i, j), &format!("fanout-{j}"));
        }
        config = config.guild(spec);
    }
    let fake = FakeDiscord::start(config).await;
    fake.enforce_global_limit(50);
    fake
}

fn draft(name: String, guild_no: u64, channel: u64, schedule: String) -> trellis::domain::CohortSpec {
    CohortDraft {
        name,
        guild_id: guild(guild_no),
        channel_id: channel,
        mentor_role_id: mentor_role(guild_no),
        schedule,
        timezone: "UTC".into(),
        ..CohortDraft::default()
    }
    .validate()
    .expect("valid cohort")
}

/// One cohort per guild with a posted, open check-in; returns both ids.
async fn seed_answer_cohorts(store: &Store) -> Vec<(CohortId, CheckInId)> {
    let now = Utc::now();
    let mut checkins = Vec::new();
    for i in 0..SHARDS {
        let spec = draft(format!("answers-{i}"), i, answer_channel(i), trellis_testkit::YEARLY.into());
        let cohort = store.insert_cohort(&spec, CohortSource::Discord, now).await.unwrap();
        let checkin =
            seed_recorded_checkin(store, cohort.id, now - chrono::Duration::hours(1), now + chrono::Duration::days(1))
                .await;
        assert!(store.claim_post(checkin, now, now).await.unwrap());
        store.mark_posted(checkin, MessageId::new(2_000_000 + i), now).await.unwrap();
        checkins.push((cohort.id, checkin));
    }
    checkins
}

/// `COHORTS_PER_GUILD` cohorts per guild, all due daily at `at` (UTC).
async fn seed_fanout_cohorts(store: &Store, at: DateTime<Utc>) {
    let schedule = format!("{} {} {} * * *", at.second(), at.minute(), at.hour());
    for i in 0..SHARDS {
        for j in 0..COHORTS_PER_GUILD {
            let spec = draft(format!("fanout-{i}-{j}"), i, fanout_channel(i, j), schedule.clone());
            store.insert_cohort(&spec, CohortSource::Discord, Utc::now()).await.unwrap();
        }
    }
}

fn spawn(db: &TempDb, fake: &FakeDiscord, processes: u64) -> Vec<TrellisProcess> {
    let ranges: Vec<(u64, u64)> =
        if processes == 1 { vec![(0, SHARDS - 1)] } else { (0..SHARDS).map(|s| (s, s)).collect() };
    let share = (50 / processes).to_string();
    ranges
        .iter()
        .map(|(first, last)| {
            let range = format!("{first}-{last}");
            let total = SHARDS.to_string();
            let args = ["--shards", range.as_str(), "--total-shards", total.as_str()];
            TrellisProcess::spawn_run(
                BIN,
                db.dir.path(),
                &db.url,
                &fake.api_base(),
                &args,
                &[("TRELLIS_GLOBAL_RATE_LIMIT", share.as_str())],
            )
        })
        .collect()
}

async fn confirmations(fake: &FakeDiscord, handles: &[InteractionHandle]) -> Vec<Duration> {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let got: Vec<_> = handles.iter().filter_map(|h| fake.interaction_response(h)).collect();
        if got.len() == handles.len() {
            for r in &got {
                assert_eq!(r.data["embeds"][0]["title"], "Answer saved", "{r:?}");
            }
            return got.iter().map(|r| r.elapsed).collect();
        }
        assert!(Instant::now() < deadline, "{} of {} answers unconfirmed", handles.len() - got.len(), handles.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn setup(backend: Backend, processes: u64) {
    let label = format!("{backend:?} × {processes} process{}", if processes == 1 { "" } else { "es" });
    let db = TempDb::migrated(backend).await;
    let store = db.store().await;
    let checkins = seed_answer_cohorts(&store).await;
    let fake = three_shards().await;
    let mut bots = spawn(&db, &fake, processes);
    let what = format!("{SHARDS} connected shards");
    fake.wait_until(WAIT, &what, |f| {
        let on = f.sessions().iter().filter(|s| s.state == fake_discord::SessionState::Connected).count();
        (on as u64 >= SHARDS).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Answers: all at once, spread over the three guilds (shards).
    let started = Instant::now();
    let mut handles = Vec::new();
    for n in 0..ANSWERS_PER_GUILD {
        for (i, (_, checkin)) in checkins.iter().enumerate() {
            let user = USER0 + 100_000 * i as u64 + n;
            let text = format!("member {user}: wrote the rollout plan and walked two teams through it");
            handles.push(fake.modal_submit(
                &Actor::in_guild(guild(i as u64), answer_channel(i as u64), user),
                &answer_id(*checkin),
                &[("answer", &text), ("confidence", "4")],
            ));
        }
    }
    let mut lat = confirmations(&fake, &handles).await;
    let took = started.elapsed();
    lat.sort();
    let mut stored = 0;
    for (cohort, _) in &checkins {
        stored += store.replies_of_cohort(*cohort).await.unwrap().len();
    }
    assert_eq!(stored, handles.len(), "every confirmed answer stored");
    println!(
        "{label:<32} answers: {} in {:.2} s = {:>6.0} answers/s; confirmation p50 {:.1} ms, p99 {:.1} ms",
        handles.len(),
        took.as_secs_f64(),
        handles.len() as f64 / took.as_secs_f64(),
        percentile(&lat, 50.0).as_secs_f64() * 1e3,
        percentile(&lat, 99.0).as_secs_f64() * 1e3,
    );

    // Fan-out: the cohorts are created while the bots run (each process
    // reads the cohorts every 10 s) and are due 15 s from now.
    let due = DateTime::from_timestamp(Utc::now().timestamp() + 15, 0).unwrap();
    seed_fanout_cohorts(&store, due).await;
    let channels: Vec<u64> =
        (0..SHARDS).flat_map(|i| (0..COHORTS_PER_GUILD).map(move |j| fanout_channel(i, j))).collect();
    let posted = |f: &FakeDiscord| -> Vec<Instant> {
        let mut at: Vec<Instant> = channels
            .iter()
            .flat_map(|c| f.requests_to("POST", &format!("/channels/{c}/messages")))
            .filter(|r| r.status == 200)
            .map(|r| r.at)
            .collect();
        at.sort();
        at
    };
    let at = fake
        .wait_until(WAIT, "every fan-out post", |f| {
            let at = posted(f);
            (at.len() >= channels.len()).then_some(at)
        })
        .await;
    let ahead = (Utc::now() - due).to_std().unwrap_or_default();
    let due_instant = Instant::now() - ahead;
    let since = |t: &Instant| t.saturating_duration_since(due_instant).as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let per_channel: Vec<usize> = channels
        .iter()
        .map(|c| {
            fake.requests_to("POST", &format!("/channels/{c}/messages")).iter().filter(|r| r.status == 200).count()
        })
        .collect();
    let doubled = per_channel.iter().filter(|n| **n > 1).count();
    println!(
        "{label:<32} fan-out: {} posts, first {:.2} s, 50th {:.2} s, last {:.2} s after the due second; \
         channels posted twice: {doubled}; 429s served: {}",
        at.len(),
        since(&at[0]),
        since(&at[49]),
        since(at.last().unwrap()),
        fake.rate_limited_requests().len()
    );
    assert_eq!(doubled, 0, "a check-in posted twice");

    for bot in &bots {
        bot.sigterm();
    }
    for bot in &mut bots {
        assert!(bot.wait(Duration::from_secs(20)).await.expect("stops").success(), "{}", bot.logs());
    }
    store.close().await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        println!("binary: {BIN}");
        setup(Backend::Sqlite, 1).await;
        if trellis_testkit::db::postgres_admin_url().is_some() {
            setup(Backend::Postgres, 1).await;
            setup(Backend::Postgres, 3).await;
        } else {
            println!(
                "PostgreSQL setups skipped: TRELLIS_TEST_POSTGRES_URL is not set \
                 (e.g. TRELLIS_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres)"
            );
        }
    });
}
