//! One `trellis run` per database: a second copy refuses to start with one
//! line naming the running one and never connects to Discord; a crashed
//! copy does not lock the next one out for long (at once on the same host,
//! 30 s after its last heartbeat elsewhere); a copy whose lease is taken
//! over stops. And a server the bot was removed from stays detached across a
//! restart.

use std::time::{Duration, Instant};

use chrono::Utc;
use fake_discord::Actor;
use trellis::domain::{GuildId, Instance, Slot};
use trellis_testkit::process::{self, TrellisProcess, wait_identified};
use trellis_testkit::{ALICE, CHANNEL, GUILD, TempDb, seed_cohort};

const BIN: &str = env!("CARGO_BIN_EXE_trellis");
const WAIT: Duration = Duration::from_secs(20);

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default()
}

/// The lines a process wrote to stderr.
fn lines(logs: &str) -> Vec<&str> {
    logs.lines().filter(|l| !l.trim().is_empty()).collect()
}

/// Waits for `bot` to exit; panics if it is still running after `within`.
async fn exit_of(bot: &mut TrellisProcess, within: Duration) -> std::process::ExitStatus {
    let status = bot.wait(within).await;
    status.unwrap_or_else(|| panic!("still running after {within:?}; stderr:\n{}", bot.logs()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_copy_on_the_same_database_refuses_with_one_line_and_never_connects() {
    let _suite = crate::suite(module_path!());
    let db = TempDb::new();
    let fake = process::fake().await;
    let mut first = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[]);
    wait_identified(&fake, 1, WAIT).await;
    let gateway_lookups = fake.requests_to("GET", "/gateway").len();

    let mut second = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[]);
    let status = exit_of(&mut second, Duration::from_secs(10)).await;
    let took = second.spawned_at.elapsed();
    assert!(!status.success(), "{status:?}");
    let logs = second.logs();
    println!("second copy: exit {status:?} after {took:?}: {}", logs.trim());
    assert_eq!(lines(&logs).len(), 1, "one line:\n{logs}");
    let line = lines(&logs)[0];
    for part in [
        "error:".to_string(),
        db.url.clone(),
        format!("host {}", hostname()),
        format!("pid {}", first.pid),
        "running since".to_string(),
        "30s after its last heartbeat".to_string(),
    ] {
        assert!(line.contains(&part), "{part:?} missing from: {line}");
    }
    // It never reached Discord: one session, no second gateway lookup.
    assert_eq!(fake.identify_count(), 1);
    assert_eq!(fake.connection_count(), 1);
    assert_eq!(fake.requests_to("GET", "/gateway").len(), gateway_lookups);
    // The fake hands every event to every session on the token, as Discord
    // does (tests/it/e2e_sessions.rs): had the second copy opened one, it
    // would have received this command too and raced for its callback.
    let h = fake.slash_command(Actor::in_guild(GUILD, CHANNEL, ALICE).command("progress"));
    fake.wait_interaction_response(&h, WAIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.requests_to("POST", &format!("/interactions/{}/", h.id)).len(), 1, "one callback");
    let sessions = fake.sessions();
    assert_eq!((sessions.len(), fake.session_count()), (1, 1));
    assert_eq!(sessions[0].received("INTERACTION_CREATE"), 1);

    // The first copy is untouched; once it stops cleanly, the next starts at once.
    first.sigterm();
    assert!(exit_of(&mut first, WAIT).await.success());
    let mut third = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[]);
    wait_identified(&fake, 2, WAIT).await;
    println!("after a clean stop the next copy was connected {:?} after its start", third.spawned_at.elapsed());
    assert!(!third.logs().contains("took over"), "a clean stop released the lease:\n{}", third.logs());
    third.sigterm();
    assert!(exit_of(&mut third, WAIT).await.success());
    // Over the whole run, never two sessions at once: the first logged off
    // (close 1000) before the third IDENTIFYed, and the third did too.
    assert_eq!((fake.sessions().len(), fake.max_concurrent_sessions(), fake.session_count()), (2, 1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_sigkill_the_next_copy_on_the_same_host_starts_at_once() {
    let _suite = crate::suite(module_path!());
    let db = TempDb::new();
    let fake = process::fake().await;
    let mut first = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[]);
    wait_identified(&fake, 1, WAIT).await;
    first.kill9().await;

    let mut next = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[]);
    wait_identified(&fake, 2, WAIT).await;
    let took = next.spawned_at.elapsed();
    println!("after SIGKILL the next copy was connected {took:?} after its start");
    assert!(took < Duration::from_secs(10), "did not wait out the 30 s lease: {took:?}");
    let logs = next.logs();
    assert!(logs.contains("took over the lease") && logs.contains(&format!("pid={}", first.pid)), "{logs}");
    next.sigterm();
    assert!(exit_of(&mut next, WAIT).await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_held_on_another_host_locks_the_database_until_its_heartbeat_is_30s_old() {
    let _suite = crate::suite(module_path!());
    let db = TempDb::new();
    let store = db.store().await;
    let now = Utc::now();
    // A copy on another machine (or container) that last renewed 26 s ago:
    // its pid cannot be checked from here, only its heartbeat.
    let elsewhere = Instance {
        holder: "other-host/boot/pid:[1]/1/0".into(),
        host: "other-host".into(),
        host_key: "other-host/boot/pid:[1]".into(),
        pid: 1,
        started_at: now - chrono::Duration::minutes(10),
        heartbeat_at: now - chrono::Duration::seconds(26),
    };
    assert!(store.insert_instance(Slot::ALL, &elsewhere).await.unwrap());
    let fake = process::fake().await;

    let mut refused = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[]);
    let status = exit_of(&mut refused, Duration::from_secs(10)).await;
    assert!(!status.success());
    let logs = refused.logs();
    println!("refused: {}", logs.trim());
    assert_eq!(lines(&logs).len(), 1, "{logs}");
    assert!(logs.contains("on host other-host, pid 1, running since"), "{logs}");
    assert_eq!(fake.connection_count(), 0);

    // 30 s after its heartbeat, the lease is stale: the next start takes it.
    let stale_at = elsewhere.heartbeat_at + chrono::Duration::seconds(30);
    tokio::time::sleep((stale_at - Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(1100)).await;
    let mut next = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[]);
    wait_identified(&fake, 1, WAIT).await;
    assert!(next.logs().contains("took over the lease"), "{}", next.logs());
    let holder = store.instance(Slot::ALL).await.unwrap().expect("a holder");
    assert_eq!(holder.pid, next.pid);
    next.sigterm();
    assert!(exit_of(&mut next, WAIT).await.success());
    assert_eq!(store.instance(Slot::ALL).await.unwrap(), None, "released on a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_whose_lease_is_taken_over_stops_within_a_heartbeat() {
    let _suite = crate::suite(module_path!());
    let db = TempDb::new();
    let store = db.store().await;
    let fake = process::fake().await;
    let mut bot = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[]);
    wait_identified(&fake, 1, WAIT).await;

    // Another copy took the slot over (this one was frozen past its lease).
    let mine = store.instance(Slot::ALL).await.unwrap().expect("the bot's lease");
    let usurper = Instance { holder: "elsewhere".into(), host: "other-host".into(), pid: 77, ..mine.clone() };
    assert!(store.replace_instance(Slot::ALL, &mine, &usurper).await.unwrap());
    let taken_at = Instant::now();
    let status = exit_of(&mut bot, Duration::from_secs(15)).await;
    println!("stopped {:?} after its lease was taken over", taken_at.elapsed());
    assert!(!status.success());
    let logs = bot.logs();
    assert!(logs.contains("took over shards 0-0/1") && logs.contains("host other-host, pid 77"), "{logs}");
    fake.wait_until(Duration::from_secs(5), "its gateway session to close", |f| (!f.connected()).then_some(())).await;
    assert_eq!(store.instance(Slot::ALL).await.unwrap().map(|i| i.holder), Some("elsewhere".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_removed_the_bot_stays_detached_across_a_restart_until_it_adds_it_back() {
    let _suite = crate::suite(module_path!());
    let db = TempDb::new();
    let store = db.store().await;
    seed_cohort(&store, "every-2s", GUILD, CHANNEL, "*/2 * * * * *").await;
    let fake = process::fake().await;
    let posts = |f: &fake_discord::FakeDiscord| f.requests_to("POST", &format!("/channels/{CHANNEL}/messages")).len();

    let mut bot = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[]);
    wait_identified(&fake, 1, WAIT).await;
    fake.wait_until(WAIT, "a check-in post", |f| (posts(f) >= 1).then_some(())).await;
    // Removed once the bot has handled the guild's GUILD_CREATE (it registers
    // the commands after attaching the guild): serenity runs each event in a
    // task of its own, so a removal racing the start-up GUILD_CREATE could be
    // handled first and then undone by it (see the note in docs/reliability.md).
    let registered = format!("/applications/{}/guilds/{GUILD}/commands", trellis_testkit::APP);
    fake.wait_until(WAIT, "the guild's commands registered", |f| {
        (!f.requests_to("PUT", &registered).is_empty()).then_some(())
    })
    .await;
    fake.remove_bot_from_guild(GUILD);
    let deadline = Instant::now() + WAIT;
    while !store.guild_departed(GuildId::new(GUILD)).await.unwrap() {
        assert!(Instant::now() < deadline, "the removal was not recorded; the bot logged:\n{}", bot.logs());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = posts(&fake);

    // Restarted while removed: the new session's READY lacks the guild and
    // the stored departure holds; nothing is posted or tried.
    bot.sigterm();
    assert!(exit_of(&mut bot, WAIT).await.success());
    let mut bot = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[]);
    wait_identified(&fake, 2, WAIT).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(posts(&fake), before, "no post attempted for a server the bot is not in");

    fake.add_bot_to_guild(GUILD);
    let rejoined = Instant::now();
    fake.wait_until(Duration::from_secs(10), "a post after the rejoin", |f| (posts(f) > before).then_some(())).await;
    println!(
        "removed, restarted: {before} posts before, none while removed; the next {:?} after GUILD_CREATE",
        rejoined.elapsed()
    );
    assert!(!store.guild_departed(GuildId::new(GUILD)).await.unwrap());
    bot.sigterm();
    assert!(exit_of(&mut bot, WAIT).await.success());
    fake.assert_no_unknown_routes();
}
