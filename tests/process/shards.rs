//! Two `trellis run` processes over the four shards of one bot, on one
//! database (issue 13): each IDENTIFYs its own shards and answers the
//! interactions of its guilds; scheduled work is not shard-bound, so both
//! schedule every cohort and the database claims make every check-in post
//! and every reminder happen once; after one is SIGKILLed the other goes on
//! posting all cohorts, and a restart of the killed one takes its shards
//! over at once.
//!
//! It runs on SQLite (both processes on one file) and on PostgreSQL (with
//! `TRELLIS_TEST_POSTGRES_URL`; skipped with one line without it).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use fake_discord::{Actor, FakeConfig, FakeDiscord, GuildSpec};
use serde_json::Value;
use trellis::domain::{CheckInStatus, CohortDraft, CohortId, CohortSource, UserId};
use trellis::store::Store;
use trellis_testkit::process::TrellisProcess;
use trellis_testkit::{
    APP, BOT, Backend, SHARD_CHANNEL, SHARD_GUILDS, SHARD_MENTOR_ROLE, TempDb, USER0, on_both_backends,
};

const BIN: &str = env!("CARGO_BIN_EXE_trellis");
const WAIT: Duration = Duration::from_secs(30);
/// A check-in every 4 s, a reminder 2 s after each post, closed at the next.
const SCHEDULE: &str = "*/4 * * * * *";
const PERIOD: chrono::Duration = chrono::Duration::seconds(4);
const MEMBERS: u64 = 2;

/// Where both processes keep their data: a migrated database on `backend`
/// (its URL is their `DATABASE_URL`; its folder their working directory)
/// and a store on it for seeding and checks. On SQLite both share one file
/// (two processes on one host may: each waits out the other's writes within
/// its busy timeout); on PostgreSQL a fresh database.
async fn shared_database(backend: Backend) -> (TempDb, Store) {
    let db = TempDb::migrated(backend).await;
    let store = db.store().await;
    (db, store)
}

/// One backend's run at a time: each starts two bots that post every 4 s,
/// and the two runs side by side would share two cores four ways.
static ONE_RUN_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A fake Discord of 4 shards with the four guilds of `SHARD_GUILDS`, guild
/// `i` on shard `i`.
async fn four_shards() -> FakeDiscord {
    let mut config = FakeConfig::new(BOT, APP).shards(4);
    for (i, guild) in SHARD_GUILDS.iter().enumerate() {
        let spec = GuildSpec::new(*guild, &format!("Shard {i}")).channel(guild + SHARD_CHANNEL, "cohort").role(
            guild + SHARD_MENTOR_ROLE,
            "mentors",
            0,
        );
        config = config.guild(spec);
    }
    FakeDiscord::start(config).await
}

/// The members of the cohort in guild `i`.
fn members(i: usize) -> Vec<u64> {
    (0..MEMBERS).map(|j| USER0 + 10 * i as u64 + j).collect()
}

/// One cohort per shard guild, made in Discord (`/cohort setup`), with
/// [`MEMBERS`] members each. Returns (id, name) per guild.
async fn seed(store: &Store) -> Vec<(CohortId, String)> {
    let mut cohorts = Vec::new();
    for (i, guild) in SHARD_GUILDS.iter().enumerate() {
        let name = format!("shard-{i}");
        let spec = CohortDraft {
            name: name.clone(),
            guild_id: *guild,
            channel_id: guild + SHARD_CHANNEL,
            mentor_role_id: guild + SHARD_MENTOR_ROLE,
            schedule: SCHEDULE.into(),
            timezone: "UTC".into(),
            reminder_after: Some("2s".into()),
            ..CohortDraft::default()
        }
        .validate()
        .expect("valid cohort");
        let cohort = store.insert_cohort(&spec, CohortSource::Discord, Utc::now()).await.unwrap();
        for user in members(i) {
            store.join(cohort.id, UserId::new(user), Utc::now()).await.unwrap();
        }
        cohorts.push((cohort.id, name));
    }
    cohorts
}

fn shard_args(first: u32, last: u32) -> Vec<String> {
    vec!["--shards".into(), format!("{first}-{last}"), "--total-shards".into(), "4".into()]
}

fn spawn(url: &str, workdir: &std::path::Path, fake: &FakeDiscord, first: u32, last: u32) -> TrellisProcess {
    let args = shard_args(first, last);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    TrellisProcess::spawn_run(BIN, workdir, url, &fake.api_base(), &args, &[])
}

/// The `shard` of every IDENTIFY from the `from`-th on.
fn identified_shards(fake: &FakeDiscord, from: usize) -> Vec<Value> {
    fake.identify_payloads().into_iter().skip(from).map(|d| d["shard"].clone()).collect()
}

/// Waits until `n` sessions are on a socket.
async fn wait_sessions(fake: &FakeDiscord, n: usize) {
    let what = format!("{n} connected sessions");
    fake.wait_until(WAIT, &what, |f| {
        let connected = f.sessions().iter().filter(|s| s.state == fake_discord::SessionState::Connected).count();
        (connected >= n).then_some(())
    })
    .await
}

/// `/progress` by a member of guild `i`'s cohort: answered with exactly one
/// callback, delivered only to sessions of shard `i`. Returns the sessions
/// (by `session_id`) it was delivered to.
async fn progress_in_shard_guild(fake: &FakeDiscord, i: usize) -> Vec<String> {
    let guild = SHARD_GUILDS[i];
    let before: BTreeMap<String, u64> =
        fake.sessions().into_iter().map(|s| (s.session_id.clone(), s.received("INTERACTION_CREATE"))).collect();
    let h = fake.slash_command(Actor::in_guild(guild, guild + SHARD_CHANNEL, members(i)[0]).command("progress"));
    fake.wait_interaction_response(&h, WAIT).await;
    // A second answer (from another process) would come within this.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let callbacks = fake.requests_to("POST", &format!("/interactions/{}/", h.id));
    assert_eq!(callbacks.len(), 1, "guild of shard {i}: one callback: {callbacks:?}");
    let mut got = Vec::new();
    for s in fake.sessions() {
        if s.received("INTERACTION_CREATE") > before.get(&s.session_id).copied().unwrap_or(0) {
            assert_eq!(s.shard, Some([i as u64, 4]), "delivered to {} of shard {:?}", s.session_id, s.shard);
            got.push(s.session_id.clone());
        }
    }
    assert!(!got.is_empty(), "guild of shard {i}: delivered to no session");
    got
}

/// Successful check-in posts per nonce, over every channel of `fake`.
fn posts_by_nonce(fake: &FakeDiscord) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for guild in SHARD_GUILDS {
        let path = format!("/channels/{}/messages", guild + SHARD_CHANNEL);
        for r in fake.requests_to("POST", &path).iter().filter(|r| (200..300).contains(&r.status)) {
            let nonce = r.body.as_ref().and_then(|b| b["nonce"].as_str()).unwrap_or_default().to_string();
            *out.entry(nonce).or_insert(0) += 1;
        }
    }
    out
}

/// Reminder DMs sent to `user` for the check-in of `cohort` closing at `closes`.
fn reminders(fake: &FakeDiscord, user: u64, cohort: &str, closes: DateTime<Utc>) -> usize {
    let Some(dm) = fake.dm_channel_of(user) else { return 0 };
    let (name, until) = (format!("**{cohort}**"), format!("<t:{}:F>", closes.timestamp()));
    fake.messages_in(dm).iter().filter(|m| m.content.contains(&name) && m.content.contains(&until)).count()
}

on_both_backends!(
    two_processes_over_four_shards_answer_their_guilds_and_post_everything_once_through_a_sigkill,
    (flavor = "multi_thread", worker_threads = 2)
);

async fn two_processes_over_four_shards_answer_their_guilds_and_post_everything_once_through_a_sigkill(
    backend: Backend,
) {
    let _suite = crate::suite(module_path!());
    let _alone = ONE_RUN_AT_A_TIME.lock().await;
    let (db, store) = shared_database(backend).await;
    let (url, dir) = (db.url.clone(), &db.dir);
    let cohorts = seed(&store).await;
    let fake = four_shards().await;

    // A runs shards 0-1, then B 2-3: each IDENTIFYs its own.
    let mut a = spawn(&url, dir.path(), &fake, 0, 1);
    wait_sessions(&fake, 2).await;
    let serving_from = Utc::now();
    assert_eq!(identified_shards(&fake, 0), [serde_json::json!([0, 4]), serde_json::json!([1, 4])]);
    let mut b = spawn(&url, dir.path(), &fake, 2, 3);
    wait_sessions(&fake, 4).await;
    assert_eq!(identified_shards(&fake, 2), [serde_json::json!([2, 4]), serde_json::json!([3, 4])]);
    assert!(a.logs().contains("runs gateway shards 0 to 1 of 4"), "{}", a.logs());
    assert!(b.logs().contains("runs gateway shards 2 to 3 of 4"), "{}", b.logs());
    println!("both processes connected {:?} after A started", a.spawned_at.elapsed());

    // An interaction in each shard's guild: answered once, by its shard.
    for i in 0..4 {
        progress_in_shard_guild(&fake, i).await;
    }

    // Both schedule every cohort for a while; then A dies mid-run.
    tokio::time::sleep(Duration::from_secs(9)).await;
    let killed_at = Utc::now();
    a.kill9().await;
    let posts_at_kill = posts_by_nonce(&fake).len();

    // B goes on posting every cohort, A's guilds' too: posting needs no gateway.
    tokio::time::sleep(Duration::from_secs(10)).await;
    for guild in SHARD_GUILDS {
        let after: Vec<_> = fake
            .requests_to("POST", &format!("/channels/{}/messages", guild + SHARD_CHANNEL))
            .into_iter()
            .filter(|r| r.status == 200 && r.body.as_ref().is_some_and(|b| b.get("nonce").is_some()))
            .collect();
        assert!(after.len() >= 4, "guild {guild}: posts went on after the kill: {}", after.len());
    }
    assert!(progress_in_shard_guild(&fake, 2).await.len() == 1, "B still answers its shards");

    // A again: its dead process's shards are taken over at once (same host).
    let identified = fake.identify_count();
    let mut a2 = spawn(&url, dir.path(), &fake, 0, 1);
    fake.wait_until(WAIT, "A's shards identified again", |f| (f.identify_count() >= identified + 2).then_some(()))
        .await;
    assert_eq!(identified_shards(&fake, identified), [serde_json::json!([0, 4]), serde_json::json!([1, 4])]);
    let logs = a2.logs();
    assert!(logs.contains("took over the lease") && logs.contains(&format!("pid={}", a.pid)), "{logs}");
    let started = a2.spawned_at.elapsed();
    println!("A restarted after SIGKILL: its shards identified {started:?} after its start");
    wait_sessions(&fake, 4).await;
    let delivered = progress_in_shard_guild(&fake, 0).await;
    println!("after the restart, a command in shard 0's guild went to {} session(s)", delivered.len());
    tokio::time::sleep(Duration::from_secs(8)).await;

    let stopping = Utc::now();
    a2.sigterm();
    b.sigterm();
    for (name, p) in [("A", &mut a2), ("B", &mut b)] {
        let status = p.wait(WAIT).await.unwrap_or_else(|| panic!("{name} still running:\n{}", p.logs()));
        assert!(status.success(), "{name}: {status:?}\n{}", p.logs());
    }
    fake.assert_no_unknown_routes();

    // Never doubled: every nonce was posted (successfully) once at most.
    let posts = posts_by_nonce(&fake);
    let doubled: Vec<_> = posts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "posted twice: {doubled:?}");
    assert!(!posts.contains_key(""), "every check-in post carries its nonce");

    // Never lost: each occurrence from when A served until shortly before
    // the stop was posted, and each member reminded of it, exactly once.
    // Exempt (at most once, never twice): the occurrences around the kill,
    // where A may have held a post claim (retaken only after the 2-minute
    // post lease, after these 4-second windows closed: recorded missed) or a
    // batch of claimed reminders it had not sent.
    let around_kill = |t: DateTime<Utc>| t > killed_at - PERIOD - PERIOD && t <= killed_at + PERIOD;
    let (mut checked, mut exempt, mut reminded) = (0, Vec::new(), 0);
    for (i, (cohort, name)) in cohorts.iter().enumerate() {
        for checkin in store.checkins_of_cohort(*cohort).await.unwrap() {
            let t = checkin.occurrence_at;
            if t <= serving_from + PERIOD || t >= stopping - PERIOD {
                continue;
            }
            let posted = posts.get(&checkin.nonce).copied().unwrap_or(0);
            let nudges: Vec<usize> = members(i).iter().map(|u| reminders(&fake, *u, name, checkin.closes_at)).collect();
            assert!(nudges.iter().all(|n| *n <= 1), "{name} at {t}: a member reminded twice: {nudges:?}");
            if around_kill(t) {
                exempt.push(format!("{name} {t}: {:?}, posted {posted}, reminders {nudges:?}", checkin.status));
                continue;
            }
            assert_eq!(checkin.status, CheckInStatus::Posted, "{name} at {t}");
            assert_eq!(posted, 1, "{name} at {t}: posted {posted} times");
            assert_eq!(nudges, vec![1; MEMBERS as usize], "{name} at {t}: reminders per member");
            checked += 1;
            reminded += nudges.len();
        }
    }
    println!(
        "{} posts in all ({posts_at_kill} before the kill); {checked} occurrences checked posted once with \
         {reminded} reminders once each; around the kill: {exempt:#?}",
        posts.len()
    );
    // Four cohorts, a few seconds before the kill window and about 16 s
    // after it: 5 occurrences each on the development machine.
    assert!(checked >= 4 * 4, "enough occurrences checked: {checked}");
}
