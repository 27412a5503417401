//! What Trellis writes keeps members' secrets (issue 16, kinds 6 and 9):
//! the log holds no member text, note text, interaction token or bot token
//! whatever `RUST_LOG` asks for, and every file with member data is mode
//! 0600 from its first byte, even under `umask 000`.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fake_discord::{Actor, FakeDiscord, InteractionHandle};
use serde_json::json;
use trellis::domain::{CheckInId, UserId};
use trellis_testkit::process::{self, wait_identified};
use trellis_testkit::{ALICE, CHANNEL, GUILD, MENTOR, MENTOR_ROLE, TOKEN, TempDb, answer_id, seed_open_checkin};

const BIN: &str = env!("CARGO_BIN_EXE_trellis");
const WAIT: Duration = Duration::from_secs(10);

async fn answered(fake: &FakeDiscord, h: &InteractionHandle) -> fake_discord::InteractionResponse {
    fake.wait_interaction_response(h, WAIT).await
}

/// One run of the bot under `rust_log`: a member answers with a marker
/// text, edits it by DM, a mentor opens the Note form and writes a note,
/// the member reads `/progress` (the answer and note in the reply's body),
/// and an undecodable gateway frame carries a marker too. Returns the log
/// and every secret that must not be in it.
async fn run_under(rust_log: &str, n: usize) -> (String, Vec<String>) {
    let db = TempDb::new();
    let (_cohort, checkin) = seed_open_checkin(&db).await;
    let fake = process::fake().await;
    let bot = spawn(&db, &fake, rust_log);
    wait_identified(&fake, 1, WAIT).await;
    let answer = format!("MARKER-ANSWER-{n} shipped the parser");
    let note = format!("MARKER-NOTE-{n} bring the platform team in");
    let dm_text = format!("MARKER-DM-{n} edited by DM");
    let frame = format!("MARKER-FRAME-{n}");
    let mut handles = Vec::new();

    let alice = Actor::in_guild(GUILD, CHANNEL, ALICE);
    let h = fake.button_click(&alice, &answer_id(checkin), 1);
    assert_eq!(answered(&fake, &h).await.kind, 9);
    handles.push(h);
    let h = fake.modal_submit(&alice, &answer_id(checkin), &[("answer", &answer), ("confidence", "4")]);
    assert_eq!(answered(&fake, &h).await.kind, 4);
    handles.push(h);

    let reply = reply_id(&db, checkin).await;
    let mentor = Actor::in_guild(GUILD, CHANNEL, MENTOR).roles(vec![MENTOR_ROLE]);
    let h = fake.button_click(&mentor, &format!("note:{reply}"), 1);
    assert_eq!(answered(&fake, &h).await.kind, 9);
    handles.push(h);
    let h = fake.modal_submit(&mentor, &format!("note:{reply}"), &[("note", &note)]);
    answered(&fake, &h).await;
    fake.wait_followup(&h, WAIT).await;
    handles.push(h);

    let dm = fake.dm_channel_for(ALICE);
    let before = fake.messages_in(dm).len();
    fake.dm_message(ALICE, dm, &dm_text);
    fake.wait_messages(dm, before + 1, WAIT).await;
    fake.dispatch("MESSAGE_CREATE", json!({ "id": "x", "content": { "nested": frame } }));
    let h = fake.slash_command(alice.command("progress"));
    answered(&fake, &h).await;
    fake.wait_followup(&h, WAIT).await;
    handles.push(h);

    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = bot.id().expect("pid").to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let out = tokio::time::timeout(WAIT, bot.wait_with_output()).await.expect("stops").unwrap();
    assert!(out.status.success(), "stops cleanly: {:?}", out.status);
    let mut secrets = vec![answer, note, dm_text, frame, TOKEN.to_string()];
    // The token without its `Bot ` prefix, as serenity sends it.
    secrets.push(TOKEN.trim_start_matches("Bot ").to_string());
    secrets.extend(handles.iter().map(|h| h.token.clone()));
    // Both streams: `run` writes nothing to stdout, and must not start to.
    let written = format!("{}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
    (written, secrets)
}

/// `trellis run` as a deployment starts it, under `rust_log`, with stdout
/// and stderr both captured.
fn spawn(db: &TempDb, fake: &FakeDiscord, rust_log: &str) -> tokio::process::Child {
    tokio::process::Command::new(BIN)
        .arg("run")
        .current_dir(db.dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DISCORD_TOKEN", TOKEN)
        .env("DISCORD_API_BASE", fake.api_base())
        .env("DATABASE_URL", &db.url)
        .env("RUST_LOG", rust_log)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn trellis")
}

async fn reply_id(db: &TempDb, checkin: CheckInId) -> i64 {
    let store = db.connect().await;
    let reply = store.reply(checkin, UserId::new(ALICE)).await.unwrap().expect("the answer is saved");
    store.close().await;
    reply.id.get()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_keeps_member_text_notes_and_tokens_out_under_every_rust_log() {
    let _suite = crate::suite(module_path!());
    let filters = [
        "trace",
        "debug",
        "serenity=trace",
        "reqwest=trace,hyper=trace,hyper_util=trace,h2=trace,rustls=trace",
        "trellis=trace,serenity::http=trace,serenity::gateway=trace,tungstenite=trace,tokio_tungstenite=trace,poise=trace,sqlx=trace",
    ];
    for (n, filter) in filters.into_iter().enumerate() {
        let (log, secrets) = run_under(filter, n).await;
        let lines = log.lines().count();
        println!("RUST_LOG={filter}: {lines} log lines, {} secrets checked", secrets.len());
        if filter.starts_with("trace") || filter.starts_with("debug") || filter.starts_with("trellis") {
            assert!(log.contains("connected to Discord"), "RUST_LOG={filter}: the log ran:\n{log}");
        }
        for secret in &secrets {
            let line = log.lines().find(|l| l.contains(secret.as_str()));
            assert!(line.is_none(), "RUST_LOG={filter}: the log holds {secret:?}: {line:?}");
        }
    }
}

// ---- kind 9: files private from their first byte -------------------------

/// Runs `trellis args` under `umask 000` while a thread watches `paths`;
/// returns every mode any of them was seen with, from before the process
/// started until after it exited.
fn modes_while_running(db: &TempDb, args: &[&str], paths: &[PathBuf]) -> BTreeSet<(String, u32)> {
    let stop = Arc::new(AtomicBool::new(false));
    let watched: Vec<PathBuf> = paths.to_vec();
    let done = stop.clone();
    let watcher = std::thread::spawn(move || {
        let mut seen = BTreeSet::new();
        loop {
            let last = done.load(Ordering::SeqCst);
            for path in &watched {
                if let Ok(meta) = std::fs::metadata(path) {
                    let name = path.file_name().unwrap().to_string_lossy().to_string();
                    seen.insert((name, meta.permissions().mode() & 0o777));
                }
            }
            if last {
                return seen;
            }
        }
    });
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 000 && exec \"$0\" \"$@\"")
        .arg(BIN)
        .args(args)
        .current_dir(db.dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .status()
        .unwrap();
    assert!(status.success(), "trellis {args:?}: {status:?}");
    stop.store(true, Ordering::SeqCst);
    watcher.join().unwrap()
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", path.display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_exports_and_the_database_are_private_from_their_first_byte_under_umask_000() {
    let _suite = crate::suite(module_path!());
    // The database, its -wal and -shm, as `trellis migrate` creates them.
    let db = TempDb::new();
    let files = [db.path.clone(), with_suffix(&db.path, "-wal"), with_suffix(&db.path, "-shm")];
    let seen = modes_while_running(&db, &["migrate"], &files);
    println!("database files seen: {seen:?}");
    assert!(seen.iter().any(|(name, _)| name == "trellis.db"));
    assert!(seen.iter().all(|(_, mode)| *mode == 0o600), "{seen:?}");

    // A database large enough for VACUUM INTO to take a while.
    let (_cohort, checkin) = seed_open_checkin(&db).await;
    let pool = db.raw().await;
    sqlx::query(
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 20000) \
         INSERT INTO replies (checkin_id, user_id, answer, source, created_at, updated_at) \
         SELECT $1, x, printf('%.600c', 'a'), 'modal', 0, 0 FROM n",
    )
    .bind(checkin)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let backup = db.dir.path().join("backup.db");
    let watched = [backup.clone(), with_suffix(&backup, "-journal"), with_suffix(&backup, "-wal")];
    let seen = modes_while_running(&db, &["backup", backup.to_str().unwrap()], &watched);
    println!("backup files seen: {seen:?}");
    assert!(seen.contains(&("backup.db".to_string(), 0o600)), "{seen:?}");
    assert!(seen.iter().all(|(_, mode)| *mode == 0o600), "{seen:?}");
    assert!(std::fs::metadata(&backup).unwrap().len() > 10_000_000, "the copy is whole");

    let export = db.dir.path().join("export.csv");
    let args = ["export", "--cohort", "staff-path", "--format", "csv", "--out", export.to_str().unwrap()];
    let seen = modes_while_running(&db, &args, std::slice::from_ref(&export));
    println!("export seen: {seen:?}");
    assert_eq!(seen, BTreeSet::from([("export.csv".to_string(), 0o600)]));
}
