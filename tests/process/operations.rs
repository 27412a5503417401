//! Operating the real binary: `trellis backup` while the bot writes, restoring
//! from the copy, SIGTERM with answers in flight, and a database locked by
//! another process (the CLI and a member's submit both get a clear answer,
//! never a hang).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use fake_discord::{Actor, FakeDiscord, InteractionHandle};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Row};
use trellis::domain::{CheckInId, UserId};
use trellis_testkit::process::{self, TrellisProcess, wait_identified};
use trellis_testkit::{CHANNEL, GUILD, Rng, TempDb, USER0, answer_id, seed_open_checkin, url_of};

const BIN: &str = env!("CARGO_BIN_EXE_trellis");
const WAIT: Duration = Duration::from_secs(20);

fn text_of(user: u64) -> String {
    format!("member {user}: ran the architecture review and wrote up the decision record")
}

fn submit(fake: &FakeDiscord, checkin: CheckInId, user: u64, text: &str) -> InteractionHandle {
    fake.modal_submit(
        &Actor::in_guild(GUILD, CHANNEL, user),
        &answer_id(checkin),
        &[("answer", text), ("confidence", "3")],
    )
}

fn confirmed(fake: &FakeDiscord, h: &InteractionHandle) -> bool {
    fake.interaction_response(h).is_some_and(|r| r.kind == 4 && r.data["embeds"][0]["title"] == "Answer saved")
}

/// `trellis <args>` with only `DATABASE_URL` set; returns (success, stderr, elapsed).
async fn cli(workdir: &Path, db_url: &str, args: &[&str]) -> (bool, String, Duration) {
    let started = Instant::now();
    let run = tokio::process::Command::new(BIN)
        .args(args)
        .current_dir(workdir)
        .env_clear()
        // Any free port for the desk: test processes run side by side.
        .env("TRELLIS_WEB_ADDR", "127.0.0.1:0")
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), run).await.expect("the CLI does not hang").unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned(), started.elapsed())
}

/// A connection of another process's kind: plain SQLite, no Trellis code.
async fn raw(path: &Path) -> SqliteConnection {
    let opts = SqliteConnectOptions::new().filename(path).create_if_missing(true).busy_timeout(Duration::from_secs(5));
    SqliteConnection::connect_with(&opts).await.expect("raw connection")
}

/// (id, user, answer) of every reply, by id (= commit order: SQLite has one writer).
async fn replies(conn: &mut SqliteConnection) -> Vec<(i64, i64, String)> {
    sqlx::query("SELECT id, user_id, answer FROM replies ORDER BY id")
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_the_bot_writes_is_a_consistent_restorable_copy() {
    let _suite = crate::suite(module_path!());
    const MEMBERS: u64 = 600;
    let db = TempDb::new();
    let (_, checkin) = seed_open_checkin(&db).await;
    let fake = process::fake().await;
    let mut bot = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[]);
    wait_identified(&fake, 1, WAIT).await;

    // Members answer steadily (about 200 a second) while three backups are taken.
    let copies: Vec<_> = (0..3).map(|i| db.dir.path().join(format!("backup-{i}.db"))).collect();
    let writer = async {
        let mut handles = Vec::new();
        for i in 0..MEMBERS {
            handles.push(submit(&fake, checkin, USER0 + i, &text_of(USER0 + i)));
            if i % 20 == 19 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        handles
    };
    let backups = async {
        let mut results = Vec::new();
        for copy in &copies {
            tokio::time::sleep(Duration::from_millis(600)).await;
            results.push(cli(db.dir.path(), &db.url, &["backup", copy.to_str().unwrap()]).await);
        }
        results
    };
    let (handles, results) = tokio::join!(writer, backups);
    for (ok, stderr, took) in &results {
        assert!(ok, "backup failed: {stderr}");
        println!("backup took {took:?} while the bot wrote");
    }
    fake.wait_until(WAIT, "all confirmations", |f| handles.iter().all(|h| confirmed(f, h)).then_some(())).await;
    bot.sigterm();
    assert!(bot.wait(WAIT).await.expect("stops").success());

    let final_rows = replies(&mut raw(&db.path).await).await;
    assert_eq!(final_rows.len(), MEMBERS as usize);
    let mut sizes = Vec::new();
    for copy in &copies {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(copy).unwrap().permissions().mode() & 0o777, 0o600, "the copy is private");
        }
        let mut conn = raw(copy).await;
        let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut conn).await.unwrap();
        assert_eq!(check, "ok", "{}", copy.display());
        let fk: Vec<sqlx::sqlite::SqliteRow> =
            sqlx::query("PRAGMA foreign_key_check").fetch_all(&mut conn).await.unwrap();
        assert!(fk.is_empty(), "dangling references in {}", copy.display());
        // A snapshot: exactly the first n commits, each as the live database has it.
        let rows = replies(&mut conn).await;
        assert_eq!(rows[..], final_rows[..rows.len()], "{} is a prefix of the live database", copy.display());
        // Joining and answering are one transaction: no answer without its member.
        let orphans: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM replies r JOIN checkins k ON k.id = r.checkin_id \
             LEFT JOIN members m ON m.cohort_id = k.cohort_id AND m.user_id = r.user_id WHERE m.user_id IS NULL",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(orphans, 0);
        sizes.push(rows.len());
    }
    println!("backups taken mid-stream hold {sizes:?} of {MEMBERS} answers");
    assert!(sizes.windows(2).all(|w| w[0] <= w[1]));
    assert!(sizes.iter().any(|&n| 0 < n && n < MEMBERS as usize), "a backup was taken while answers were arriving");

    // Restore: the bot runs on the copy as it did on the original.
    let (restored, _) = copies.iter().zip(&sizes).find(|(_, n)| **n > 0).expect("a non-empty backup");
    let in_copy = final_rows[0].1 as u64;
    let fake = process::fake().await;
    let mut bot = TrellisProcess::spawn(BIN, db.dir.path(), &url_of(restored), &fake.api_base(), &[]);
    wait_identified(&fake, 1, WAIT).await;
    let edit = submit(&fake, checkin, in_copy, "edited after the restore");
    let r = fake.wait_interaction_response(&edit, WAIT).await;
    assert_eq!(r.data["embeds"][0]["title"], "Answer updated", "the restored copy holds the earlier answer: {r:?}");
    bot.sigterm();
    assert!(bot.wait(WAIT).await.expect("stops").success());
    let history: String =
        sqlx::query_scalar("SELECT answer FROM reply_edits").fetch_one(&mut raw(restored).await).await.unwrap();
    assert_eq!(history, final_rows[0].2, "the earlier answer is kept as history");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_answers_in_flight_loses_no_confirmed_answer() {
    let _suite = crate::suite(module_path!());
    const ROUNDS: usize = 3;
    const BURST: u64 = 150;
    let (mut rng, seed) = Rng::from_env_or_time();
    println!("seed {seed} (replay with TRELLIS_SEED={seed})");
    let db = TempDb::new();
    let (_, checkin) = seed_open_checkin(&db).await;
    let fake = process::fake().await;
    let store = db.store().await;
    let mut all: Vec<(u64, InteractionHandle)> = Vec::new();
    for round in 0..ROUNDS {
        let mut bot = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[]);
        wait_identified(&fake, round + 1, WAIT).await;
        let batch: Vec<(u64, InteractionHandle)> = (0..BURST)
            .map(|i| {
                let user = USER0 + round as u64 * BURST + i;
                (user, submit(&fake, checkin, user, &text_of(user)))
            })
            .collect();
        let k = rng.range(1, 30) as usize;
        fake.wait_until(WAIT, "k confirmations", |f| {
            (batch.iter().filter(|(_, h)| confirmed(f, h)).count() >= k).then_some(())
        })
        .await;
        bot.sigterm();
        let exit = bot.wait(Duration::from_secs(15)).await.expect("stops within 15 s of SIGTERM");
        assert!(exit.success(), "seed {seed}: {exit:?}\n{}", bot.logs());
        let answered = batch.iter().filter(|(_, h)| fake.interaction_response(h).is_some()).count();
        let ok = batch.iter().filter(|(_, h)| confirmed(&fake, h)).count();
        println!("round {round}: SIGTERM after confirmation #{k}: {ok} confirmed, {answered} answered of {BURST}");
        all.extend(batch);
    }
    // Saved if and only if confirmed: what the bot had received was finished
    // (saved and confirmed) before it exited, and nothing was half done.
    // Submits still unread on the socket when it closed are neither.
    let (mut confirmed_n, mut unanswered) = (0, 0);
    for (user, h) in &all {
        let stored = store.reply(checkin, UserId::new(*user)).await.unwrap();
        let ok = confirmed(&fake, h);
        if ok {
            confirmed_n += 1;
            let stored = stored.unwrap_or_else(|| panic!("seed {seed}: confirmed answer of {user} lost"));
            assert_eq!(stored.answer, text_of(*user), "seed {seed}");
        } else {
            assert!(stored.is_none(), "seed {seed}: member {user} was not told, yet their answer was saved");
            let r = fake.interaction_response(h);
            assert!(r.is_none(), "seed {seed}: member {user} got neither a confirmation nor silence: {r:?}");
            unanswered += 1;
        }
    }
    println!("{confirmed_n} confirmed and stored; {unanswered} never read by the bot (neither saved nor confirmed)");
}

/// Holds SQLite's write lock from "another process" (a plain connection) the
/// way an open `sqlite3` transaction would.
async fn hold_write_lock(path: &Path) -> SqliteConnection {
    let mut conn = raw(path).await;
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut conn).await.expect("take the lock");
    conn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_database_cli_fails_fast_with_a_clear_message() {
    let _suite = crate::suite(module_path!());
    // A new database another process has locked before Trellis could create its tables.
    let db = TempDb::new();
    let mut conn = raw(&db.path).await;
    sqlx::query("PRAGMA journal_mode = WAL").execute(&mut conn).await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut conn).await.unwrap();
    let (ok, stderr, took) = cli(db.dir.path(), &db.url, &["migrate"]).await;
    println!("migrate against a held write lock: failed after {took:?}: {}", stderr.trim());
    assert!(!ok);
    assert!(stderr.contains("locked by another process"), "{stderr}");
    assert!(took < Duration::from_secs(5), "gave up promptly: {took:?}");
    sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
    let (ok, stderr, _) = cli(db.dir.path(), &db.url, &["migrate"]).await;
    assert!(ok, "works once the lock is gone: {stderr}");

    // A backup only reads: a writer holding the lock does not stop it.
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut conn).await.unwrap();
    let copy = db.dir.path().join("during-write-lock.db");
    let (ok, stderr, took) = cli(db.dir.path(), &db.url, &["backup", copy.to_str().unwrap()]).await;
    assert!(ok, "backup under a held write lock: {stderr}");
    println!("backup under a held write lock: done in {took:?}");
    sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();

    // A migrated database another process holds in exclusive locking mode: not even readable.
    sqlx::query("PRAGMA locking_mode = EXCLUSIVE").execute(&mut conn).await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut conn).await.unwrap();
    sqlx::query("CREATE TABLE scratch (x)").execute(&mut conn).await.unwrap();
    sqlx::query("COMMIT").execute(&mut conn).await.unwrap();
    for args in [&["migrate"][..], &["backup", db.dir.path().join("copy.db").to_str().unwrap()]] {
        let (ok, stderr, took) = cli(db.dir.path(), &db.url, args).await;
        println!("{} against an exclusive-mode lock: failed after {took:?}: {}", args[0], stderr.trim());
        assert!(!ok, "{args:?}");
        assert!(stderr.contains("locked by another process"), "{args:?}: {stderr}");
        assert!(took < Duration::from_secs(5), "{args:?} gave up promptly: {took:?}");
    }
    drop(conn);
    let (ok, stderr, _) = cli(db.dir.path(), &db.url, &["migrate"]).await;
    assert!(ok, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_database_member_is_told_to_try_again_within_three_seconds() {
    let _suite = crate::suite(module_path!());
    let db = TempDb::new();
    let (_, checkin) = seed_open_checkin(&db).await;
    let fake = process::fake().await;
    let mut bot = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[]);
    wait_identified(&fake, 1, WAIT).await;

    let mut lock = hold_write_lock(&db.path).await;
    // More submits than the bot has connections: some wait for a connection, not the lock.
    let handles: Vec<(u64, InteractionHandle)> =
        (0..8).map(|i| (USER0 + i, submit(&fake, checkin, USER0 + i, &text_of(USER0 + i)))).collect();
    let mut outcomes = BTreeMap::new();
    for (user, h) in &handles {
        let r = fake.wait_interaction_response(h, Duration::from_secs(10)).await;
        assert!(r.elapsed < Duration::from_secs(3), "member {user} waited {:?}", r.elapsed);
        assert!(r.is_ephemeral(), "{r:?}");
        assert!(r.content().contains("again"), "a clear try-again message: {r:?}");
        *outcomes.entry(r.content().to_string()).or_insert(0) += 1;
        println!("locked: answered after {:?}", r.elapsed);
    }
    println!("replies while locked: {outcomes:?}");
    sqlx::query("ROLLBACK").execute(&mut lock).await.unwrap();
    drop(lock);

    // Trying again works.
    let (user, _) = handles[0];
    let again = submit(&fake, checkin, user, &text_of(user));
    let r = fake.wait_interaction_response(&again, WAIT).await;
    assert!(r.data["embeds"][0]["title"].as_str().is_some_and(|t| t.starts_with("Answer")), "{r:?}");
    let store = db.store().await;
    assert_eq!(store.reply(checkin, UserId::new(user)).await.unwrap().unwrap().answer, text_of(user));
    bot.sigterm();
    assert!(bot.wait(WAIT).await.expect("stops").success());
}

/// A log shipper that goes away (its pipe closes) must not take the bot down:
/// every later log line fails to write, and the bot goes on answering, then
/// stops cleanly on SIGTERM and frees its lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_log_pipe_does_not_stop_the_bot() {
    let _suite = crate::suite(module_path!());
    let db = TempDb::new();
    let (_cohort, checkin) = seed_open_checkin(&db).await;
    let fake = process::fake().await;
    let mut bot = tokio::process::Command::new(BIN)
        .arg("run")
        .current_dir(db.dir.path())
        .env_clear()
        // Any free port for the desk: test processes run side by side.
        .env("TRELLIS_WEB_ADDR", "127.0.0.1:0")
        .env("DISCORD_TOKEN", trellis_testkit::TOKEN)
        .env("DISCORD_API_BASE", fake.api_base())
        .env("DATABASE_URL", &db.url)
        .env("RUST_LOG", "debug")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn trellis");
    // The reading end closes at once: every write to stderr is EPIPE from here on.
    drop(bot.stderr.take());
    wait_identified(&fake, 1, WAIT).await;
    let h = submit(&fake, checkin, USER0 + 7, &text_of(USER0 + 7));
    fake.wait_interaction_response(&h, WAIT).await;
    assert!(confirmed(&fake, &h), "the answer was confirmed while no log line could be written");
    assert!(bot.try_wait().unwrap().is_none(), "the bot is still running");

    let pid = bot.id().expect("pid").to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = tokio::time::timeout(WAIT, bot.wait()).await.expect("stops").unwrap();
    assert!(status.success(), "{status:?}");
    let store = db.store().await;
    assert_eq!(store.instance(trellis::domain::Slot::ALL).await.unwrap(), None, "the lease was released");
}

/// The desk's port is taken (another program, a second copy's desk): one
/// line names the address and the variable, and the bot runs on without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_desk_port_is_one_line_and_the_bot_runs_on() {
    let _suite = crate::suite(module_path!());
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let db = TempDb::new();
    let (_, checkin) = seed_open_checkin(&db).await;
    let fake = process::fake().await;
    let mut bot =
        TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[("TRELLIS_WEB_ADDR", addr.as_str())]);
    wait_identified(&fake, 1, WAIT).await;
    let answered = submit(&fake, checkin, USER0, "saved although the desk could not listen");
    let r = fake.wait_interaction_response(&answered, WAIT).await;
    assert_eq!(r.kind, 4, "the bot runs on: {r:?}");
    bot.sigterm();
    assert!(bot.wait(WAIT).await.expect("stops").success());
    let logs = bot.logs();
    let lines: Vec<&str> = logs.lines().filter(|l| l.contains("ERROR") || l.contains("WARN")).collect();
    assert_eq!(lines.len(), 1, "one line: {logs}");
    assert!(logs.contains("desk=off"), "{logs}");
    assert!(lines[0].contains(&addr) && lines[0].contains("TRELLIS_WEB_ADDR"), "{logs}");
    assert!(lines[0].contains("runs on without the desk"), "{logs}");
}
