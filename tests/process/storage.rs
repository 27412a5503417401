//! The real binary when its storage fails for real: a file-size limit of 0
//! on the running `trellis` (RLIMIT_FSIZE through `prlimit`, so every write
//! that grows a file fails with EFBIG, as on a full disk), then lifted. The
//! member hears an honest "nothing was saved", nothing is half-written, and
//! the bot heals by itself: answers are saved again on every connection and
//! the check-in that fell due meanwhile is posted once.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use fake_discord::{Actor, FakeDiscord, InteractionHandle};
use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use trellis::domain::{CheckInId, UserId};
use trellis_testkit::process::{self, TrellisProcess, wait_identified};
use trellis_testkit::{CHANNEL, GUILD, TempDb, USER0, answer_id, seed_cohort, seed_open_checkin};

const BIN: &str = env!("CARGO_BIN_EXE_trellis");
const WAIT: Duration = Duration::from_secs(20);
/// A second cohort, posting every 15 s, in a channel of its own (the first
/// extra channel of [`process::fake_with_busy_guilds`]).
const TICKING: u64 = GUILD + 100;

fn submit(fake: &FakeDiscord, checkin: CheckInId, user: u64, text: &str) -> InteractionHandle {
    fake.modal_submit(
        &Actor::in_guild(GUILD, CHANNEL, user),
        &answer_id(checkin),
        &[("answer", text), ("confidence", "4")],
    )
}

/// `prlimit --fsize=LIMIT:` (the soft limit, which an unprivileged owner may
/// raise again up to the hard one) on the running bot: `0` makes every write that
/// grows a file fail (EFBIG; the bot ignores SIGXFSZ), `unlimited` lifts it.
fn limit_file_size(pid: u32, limit: &str) {
    let ok = std::process::Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--fsize={limit}:")])
        .status()
        .expect("prlimit(1)")
        .success();
    assert!(ok, "prlimit --fsize={limit} on {pid}");
}

/// Empties the WAL (another process may checkpoint), so the bot's next
/// commit must grow the file: under the limit it cannot.
async fn truncate_wal(path: &Path) {
    let opts = SqliteConnectOptions::new().filename(path).busy_timeout(Duration::from_secs(5));
    let mut conn = SqliteConnection::connect_with(&opts).await.expect("raw connection");
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut conn).await.expect("checkpoint");
    conn.close().await.ok();
    assert_eq!(std::fs::metadata(path.with_extension("db-wal")).map(|m| m.len()).unwrap_or(0), 0, "WAL emptied");
}

/// The occurrence (unix seconds) a check-in post's nonce (`t{cohort}-{unix}`) names.
fn occurrence_of(post: &fake_discord::StoredMessage) -> i64 {
    let nonce = post.nonce.as_ref().and_then(|n| n.as_str()).expect("a nonce");
    nonce.rsplit('-').next().unwrap().parse().expect("unix seconds")
}

/// Exactly one callback per interaction.
fn callbacks(fake: &FakeDiscord, h: &InteractionHandle) -> usize {
    fake.requests_to("POST", &format!("/interactions/{}/", h.id)).len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_is_told_not_saved_and_the_bot_heals_when_writes_work_again() {
    let _suite = crate::suite(module_path!());
    let db = TempDb::new();
    let (_, checkin) = seed_open_checkin(&db).await;
    let store = db.store().await;
    seed_cohort(&store, "every-15s", GUILD, TICKING, "*/15 * * * * *").await;
    store.close().await;
    let fake = process::fake_with_busy_guilds(1, 1, 0).await;
    let mut bot = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[]);
    wait_identified(&fake, 1, WAIT).await;

    // Right after a post: the next occurrence falls due while writes fail.
    let first = fake.wait_messages(TICKING, 1, Duration::from_secs(30)).await;
    // The tick that posted it finishes (reminders, digests) before the outage.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let failed_from = Instant::now();
    truncate_wal(&db.path).await;
    limit_file_size(bot.pid, "0");
    let members: Vec<u64> = (0..4).map(|i| USER0 + i).collect();
    for &user in &members {
        let h = submit(&fake, checkin, user, &format!("member {user} under a full disk"));
        let r = fake.wait_interaction_response(&h, Duration::from_secs(10)).await;
        println!("full disk: member {user} answered after {:?}: {}", r.elapsed, r.content());
        assert!(r.elapsed < Duration::from_secs(3), "{r:?}");
        assert!(r.is_ephemeral(), "{r:?}");
        assert!(r.content().contains("cannot write to its database"), "an honest reason: {r:?}");
        assert!(r.content().contains("nothing was saved"), "{r:?}");
        assert_eq!(callbacks(&fake, &h), 1, "answered once");
    }
    // Past the occurrence that falls due while writes fail (15 s after the post).
    tokio::time::sleep(Duration::from_secs(15).saturating_sub(failed_from.elapsed())).await;
    assert_eq!(fake.messages_in(TICKING).len(), first.len(), "nothing posted while the ledger cannot be written");
    limit_file_size(bot.pid, "unlimited");
    println!("writes failed for {:?}", failed_from.elapsed());

    // Healed: every member's answer is saved on the first try, on both connections.
    let saved_at = Instant::now();
    for round in 0..3 {
        let handles: Vec<_> = members
            .iter()
            .map(|&u| (u, submit(&fake, checkin, u, &format!("member {u} after the disk was freed, round {round}"))))
            .collect();
        for (user, h) in &handles {
            let r = fake.wait_interaction_response(h, WAIT).await;
            let title = r.data["embeds"][0]["title"].as_str().unwrap_or_default().to_string();
            assert!(title.starts_with("Answer"), "member {user} round {round}: {r:?}");
            assert_eq!(callbacks(&fake, h), 1);
        }
    }
    println!("answers saved again {:?} after the limit was lifted", saved_at.elapsed());
    let store = db.store().await;
    for &user in &members {
        let reply = store.reply(checkin, UserId::new(user)).await.unwrap().expect("saved");
        assert_eq!(reply.answer, format!("member {user} after the disk was freed, round 2"));
    }

    // The check-in that fell due meanwhile: posted once, by the scheduler's retry.
    let posts = fake.wait_messages(TICKING, first.len() + 1, Duration::from_secs(20)).await;
    let healed_post = posts.last().unwrap();
    println!(
        "the missed occurrence was posted {:?} after writes failed (at {})",
        failed_from.elapsed(),
        Utc::now().format("%H:%M:%S")
    );
    let nonces: Vec<_> = fake.messages_in(TICKING).iter().map(|m| m.nonce.clone()).collect();
    let mut unique = nonces.clone();
    unique.dedup();
    assert_eq!(unique.len(), nonces.len(), "no occurrence posted twice: {nonces:?}");
    assert_eq!(occurrence_of(healed_post), occurrence_of(&first[0]) + 15, "the occurrence that fell due meanwhile");
    // The tick that posted it says so when it returns.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !bot.logs().contains("scheduler works again") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let logs = bot.logs();
    assert!(logs.contains("scheduler tick failed; will retry"), "{logs}");
    assert!(logs.contains("scheduler works again"), "{logs}");
    assert!(!logs.contains("locked by another process"), "no lock blamed on itself: {logs}");
    bot.sigterm();
    assert!(bot.wait(WAIT).await.expect("stops").success(), "{}", bot.logs());
}

/// A PostgreSQL cluster of this test's own (initdb + pg_ctl in a temporary
/// folder, on a free port), so it can be restarted without touching the
/// shared server. Run as the `postgres` user when the test runs as root
/// (initdb refuses root). Stopped when dropped.
struct PrivateCluster {
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
    port: u16,
}

impl PrivateCluster {
    fn start() -> PrivateCluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL server binaries in /usr/lib/postgresql/*/bin (initdb, pg_ctl)")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .find(|b| b.join("initdb").exists())
            .expect("initdb");
        let dir = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let cluster = PrivateCluster { dir, bin, port };
        if is_root() {
            let ok = std::process::Command::new("chown").arg("postgres:").arg(cluster.dir.path()).status();
            assert!(ok.expect("chown").success());
        }
        let data = cluster.data();
        cluster.run("initdb", &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"]);
        cluster.pg_ctl("start");
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// `pg_ctl start|stop|restart`, fast shutdown, waiting until done.
    fn pg_ctl(&self, action: &str) {
        let options =
            format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir.path().display());
        let log = self.dir.path().join("server.log").display().to_string();
        self.run("pg_ctl", &["-D", &self.data(), "-o", &options, "-l", &log, "-m", "fast", "-w", action]);
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let tool = self.bin.join(tool);
        let mut cmd = if is_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&tool);
            c
        } else {
            std::process::Command::new(&tool)
        };
        let out = cmd.args(args).current_dir(self.dir.path()).output().expect("run a PostgreSQL tool");
        assert!(out.status.success(), "{} {args:?}: {}", tool.display(), String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let log = self.dir.path().join("server.log").display().to_string();
        let mut cmd = if is_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.bin.join("pg_ctl"));
            c
        } else {
            std::process::Command::new(self.bin.join("pg_ctl"))
        };
        let _ = cmd.args(["-D", &self.data(), "-l", &log, "-m", "immediate", "-w", "stop"]).output();
    }
}

fn is_root() -> bool {
    std::process::Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_restart_is_told_unreachable_and_the_bot_heals_when_the_server_is_back() {
    let _suite = crate::suite(module_path!());
    if !trellis_testkit::postgres_enabled(module_path!()) {
        return;
    }
    let cluster = PrivateCluster::start();
    let mut admin = sqlx::PgConnection::connect(&cluster.url("postgres")).await.expect("private cluster");
    sqlx::query("CREATE DATABASE trellis").execute(&mut admin).await.unwrap();
    admin.close().await.ok();
    let url = cluster.url("trellis");
    let store = trellis::store::Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let checkin = seed_posted(&store).await;
    seed_cohort(&store, "every-15s", GUILD, TICKING, "*/15 * * * * *").await;
    store.close().await;
    let fake = process::fake_with_busy_guilds(1, 1, 0).await;
    let workdir = tempfile::tempdir().unwrap();
    let mut bot = TrellisProcess::spawn(BIN, workdir.path(), &url, &fake.api_base(), &[]);
    wait_identified(&fake, 1, WAIT).await;

    let first = fake.wait_messages(TICKING, 1, Duration::from_secs(30)).await;
    // The tick that posted it finishes (reminders, digests) before the outage.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let down_from = Instant::now();
    cluster.pg_ctl("stop");
    let members: Vec<u64> = (0..4).map(|i| USER0 + i).collect();
    for &user in &members {
        let h = submit(&fake, checkin, user, &format!("member {user} while the server restarts"));
        let r = fake.wait_interaction_response(&h, Duration::from_secs(10)).await;
        println!("server down: member {user} answered after {:?}: {}", r.elapsed, r.content());
        assert!(r.elapsed < Duration::from_secs(3), "{r:?}");
        assert!(r.is_ephemeral(), "{r:?}");
        assert!(r.content().contains("nothing was saved"), "{r:?}");
        assert!(
            ["did not answer in time", "cannot reach its database"].iter().any(|t| r.content().contains(t)),
            "an honest reason: {r:?}"
        );
        assert_eq!(callbacks(&fake, &h), 1, "answered once");
    }
    tokio::time::sleep(Duration::from_secs(15).saturating_sub(down_from.elapsed())).await;
    cluster.pg_ctl("start");
    println!("server down for {:?}", down_from.elapsed());

    let saved_at = Instant::now();
    for round in 0..3 {
        let handles: Vec<_> = members
            .iter()
            .map(|&u| (u, submit(&fake, checkin, u, &format!("member {u} after the restart, round {round}"))))
            .collect();
        for (user, h) in &handles {
            let r = fake.wait_interaction_response(h, WAIT).await;
            let title = r.data["embeds"][0]["title"].as_str().unwrap_or_default().to_string();
            assert!(title.starts_with("Answer"), "member {user} round {round}: {r:?}");
            assert_eq!(callbacks(&fake, h), 1);
        }
    }
    println!("answers saved again {:?} after the server was back", saved_at.elapsed());
    let store = trellis::store::Store::connect(&url).await.unwrap();
    for &user in &members {
        let reply = store.reply(checkin, UserId::new(user)).await.unwrap().expect("saved");
        assert_eq!(reply.answer, format!("member {user} after the restart, round 2"));
    }
    store.close().await;
    let posts = fake.wait_messages(TICKING, first.len() + 1, Duration::from_secs(20)).await;
    println!(
        "the occurrence that fell due while the server was down was posted {:?} after it stopped",
        down_from.elapsed()
    );
    for line in bot.logs().lines().filter(|l| l.contains("scheduler")) {
        println!("{line}");
    }
    assert_eq!(
        occurrence_of(&posts[first.len()]),
        occurrence_of(&first[0]) + 15,
        "the occurrence that fell due meanwhile"
    );
    let nonces: Vec<_> = posts.iter().map(|m| m.nonce.clone()).collect();
    let mut unique = nonces.clone();
    unique.dedup();
    assert_eq!(unique.len(), nonces.len(), "no occurrence posted twice: {nonces:?}");
    bot.sigterm();
    assert!(bot.wait(WAIT).await.expect("stops").success(), "{}", bot.logs());
}

/// One cohort in GUILD/CHANNEL with a posted check-in open for a day.
async fn seed_posted(store: &trellis::store::Store) -> CheckInId {
    let cohort = seed_cohort(store, "staff-path", GUILD, CHANNEL, trellis_testkit::YEARLY).await;
    let now = Utc::now();
    let at = now - chrono::Duration::hours(1);
    let id = trellis_testkit::seed_recorded_checkin(store, cohort, at, now + chrono::Duration::days(1)).await;
    assert!(store.claim_post(id, at, at).await.unwrap());
    store.mark_posted(id, trellis::domain::MessageId::new(1_000_001), at).await.unwrap();
    id
}

/// What `h` was answered with, checked for Discord's deadline and one
/// callback; the member's text.
async fn answered_in_time(fake: &FakeDiscord, h: &InteractionHandle, what: &str) -> String {
    let r = fake.wait_interaction_response(h, Duration::from_secs(10)).await;
    println!("{what}: answered after {:?} (callback type {}): {}", r.elapsed, r.kind, r.content());
    assert!(r.elapsed < Duration::from_secs(3), "{what}: {r:?}");
    assert!(r.is_ephemeral(), "{what}: {r:?}");
    // Nothing answers it a second time, even once the database is back.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(callbacks(fake, h), 1, "{what}: one initial response");
    if r.kind == 5 {
        // Deferred ("thinking…"): the answer is the follow-up, which Discord shows in its place.
        return fake.wait_followup(h, WAIT).await.content;
    }
    r.content().to_string()
}

/// PostgreSQL: a member's save and `/cohort join` that meet rows another
/// transaction holds (`SELECT … FOR UPDATE`, left open) give up at
/// `lock_timeout` and are answered "try again" before Discord's deadline;
/// once the rows are free the same submit is saved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_held_by_another_transaction_is_answered_try_again_within_three_seconds() {
    let _suite = crate::suite(module_path!());
    if !trellis_testkit::postgres_enabled(module_path!()) {
        return;
    }
    let db = TempDb::migrated(trellis_testkit::Backend::Postgres).await;
    let (_, checkin) = seed_open_checkin(&db).await;
    let fake = process::fake().await;
    let mut bot = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[]);
    wait_identified(&fake, 1, WAIT).await;
    let user = USER0;
    let h = submit(&fake, checkin, user, "first version");
    assert!(fake.wait_interaction_response(&h, WAIT).await.data["embeds"][0]["title"] == "Answer saved");

    let mut holder = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    for table in ["replies", "members"] {
        let sql = format!("SELECT 1 FROM {table} WHERE user_id = $1 FOR UPDATE");
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user as i64).fetch_all(&mut holder).await.unwrap();
    }
    let edit = submit(&fake, checkin, user, "second version");
    let text = answered_in_time(&fake, &edit, "answer behind a row lock").await;
    assert!(text.contains("try again") || text.contains("submit it again"), "{text}");
    let join = fake.slash_command(Actor::in_guild(GUILD, CHANNEL, user).command("cohort").subcommand("join"));
    let text = answered_in_time(&fake, &join, "/cohort join behind a row lock").await;
    assert!(text.contains("did not answer in time") && text.contains("try again"), "{text}");
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();

    let store = db.store().await;
    assert_eq!(store.reply(checkin, UserId::new(user)).await.unwrap().unwrap().answer, "first version");
    let again = submit(&fake, checkin, user, "second version");
    let r = fake.wait_interaction_response(&again, WAIT).await;
    assert_eq!(r.data["embeds"][0]["title"], "Answer updated", "{r:?}");
    assert_eq!(store.reply(checkin, UserId::new(user)).await.unwrap().unwrap().answer, "second version");
    bot.sigterm();
    assert!(bot.wait(WAIT).await.expect("stops").success(), "{}", bot.logs());
}

/// SQLite: another process holds the write lock for 4 s, longer than
/// Discord waits: a command that writes (`/cohort join`) and a submit are
/// each answered once, "try again", within 3 s; afterwards both work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_locked_longer_than_the_deadline_is_answered_try_again_within_three_seconds() {
    let _suite = crate::suite(module_path!());
    let db = TempDb::new();
    let (_, checkin) = seed_open_checkin(&db).await;
    let fake = process::fake().await;
    let mut bot = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[]);
    wait_identified(&fake, 1, WAIT).await;

    let opts = SqliteConnectOptions::new().filename(&db.path);
    let mut holder = SqliteConnection::connect_with(&opts).await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut holder).await.unwrap();
    let locked_at = Instant::now();
    let join = fake.slash_command(Actor::in_guild(GUILD, CHANNEL, USER0).command("cohort").subcommand("join"));
    let answer = submit(&fake, checkin, USER0 + 1, "saved once the lock is gone");
    let text = answered_in_time(&fake, &join, "/cohort join while locked").await;
    assert!(text.contains("busy") && text.contains("try again"), "{text}");
    let text = answered_in_time(&fake, &answer, "answer while locked").await;
    assert!(text.contains("again"), "{text}");
    tokio::time::sleep(Duration::from_secs(4).saturating_sub(locked_at.elapsed())).await;
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    holder.close().await.ok();

    let join = fake.slash_command(Actor::in_guild(GUILD, CHANNEL, USER0).command("cohort").subcommand("join"));
    assert!(answered_in_time(&fake, &join, "/cohort join after").await.contains("Welcome"));
    let answer = submit(&fake, checkin, USER0 + 1, "saved once the lock is gone");
    let r = fake.wait_interaction_response(&answer, WAIT).await;
    // "updated" when the timed-out save committed once the lock went (allowed: its reply did not say "not saved").
    let title = r.data["embeds"][0]["title"].as_str().unwrap_or_default().to_string();
    assert!(title == "Answer saved" || title == "Answer updated", "{r:?}");
    bot.sigterm();
    assert!(bot.wait(WAIT).await.expect("stops").success(), "{}", bot.logs());
}

/// PostgreSQL: more `/cohort join`s than the pool has connections, each
/// meeting a row another transaction holds, so the last ones wait for a
/// connection and then for the row (past Discord's 3 s together): each is
/// answered once within 3 s, directly or deferred ("thinking…") and then
/// edited with the answer; none is answered twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_queued_behind_row_locks_are_deferred_in_time_and_answered_once() {
    let _suite = crate::suite(module_path!());
    if !trellis_testkit::postgres_enabled(module_path!()) {
        return;
    }
    let db = TempDb::migrated(trellis_testkit::Backend::Postgres).await;
    let (_, checkin) = seed_open_checkin(&db).await;
    let fake = process::fake().await;
    let mut bot = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[]);
    wait_identified(&fake, 1, WAIT).await;
    let h = submit(&fake, checkin, USER0, "a member already");
    fake.wait_interaction_response(&h, WAIT).await;

    let mut holder = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("SELECT 1 FROM members WHERE user_id = $1 FOR UPDATE")
        .bind(USER0 as i64)
        .fetch_all(&mut holder)
        .await
        .unwrap();
    let joins: Vec<InteractionHandle> = (0..14)
        .map(|_| fake.slash_command(Actor::in_guild(GUILD, CHANNEL, USER0).command("cohort").subcommand("join")))
        .collect();
    let mut deferred = 0;
    for h in &joins {
        let r = fake.wait_interaction_response(h, Duration::from_secs(10)).await;
        assert!(r.elapsed < Duration::from_secs(3), "{r:?}");
        assert!(r.kind == 4 || r.kind == 5, "{r:?}");
        deferred += usize::from(r.kind == 5);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    let mut texts = std::collections::BTreeMap::new();
    for h in &joins {
        let r = fake.interaction_response(h).unwrap();
        let text = if r.kind == 5 { fake.wait_followup(h, WAIT).await.content } else { r.content().to_string() };
        assert!(text.contains("try again") || text.contains("already a member"), "{text}");
        assert_eq!(callbacks(&fake, h), 1, "one initial response");
        *texts.entry(text).or_insert(0) += 1;
    }
    println!("14 joins behind a row lock: {deferred} deferred; {texts:?}");
    bot.sigterm();
    assert!(bot.wait(WAIT).await.expect("stops").success(), "{}", bot.logs());
}
