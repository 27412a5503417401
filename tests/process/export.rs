//! `trellis export`, the real binary, against a database the engine is still
//! using (as when the bot runs): CSV and JSON parse back to the right records,
//! Markdown is one member's packet, and mistakes get clear errors.

use std::path::Path;
use std::process::{Command, Output};

use chrono::{Duration, Utc};
use serde_json::Value;
use trellis::domain::schedule::Schedule;
use trellis::domain::{CheckIn, Cohort, ReplySource, UserId};
use trellis_testkit::typed::{ALICE, BOB, CAROL, CHANNEL, OTHER_CHANNEL};
use trellis_testkit::{Harness, draft};

/// 00:30 in Berlin is the evening before in UTC: dates must come out in Berlin.
const WEEKLY_BERLIN: &str = "0 30 0 * * Mon";

const MULTILINE: &str = "Line one, with a comma\nLine two \"quoted\"\n\n- a bullet; and a ,, double comma";
const BOB_ANSWER: &str = "bob, plain";
const HEADER: &str = "kind,cohort,member_id,date,track,prompt_id,question,outcome,answered,confidence,answer,\
                      written_at,what_changed,evidence,who_benefited,link";

/// A cohort with three members over its last three weekly check-ins (the
/// last one still open: the binary judges by the real clock), answers with
/// commas, quotes and line breaks, and impact entries. Alice answers weeks 0
/// and 1, Bob week 0, Carol never.
async fn filled() -> (Harness, Cohort, Vec<CheckIn>) {
    let schedule = Schedule::parse(WEEKLY_BERLIN, "Europe/Berlin").unwrap();
    let latest = schedule.latest_at_or_before(Utc::now()).unwrap();
    let first = latest - Duration::weeks(2);
    let h = Harness::new(first - Duration::days(1)).await;
    let cohort = h.engine.setup_cohort(draft("staff-path", CHANNEL, WEEKLY_BERLIN, "Europe/Berlin")).await.unwrap();
    h.engine.setup_cohort(draft("other-cohort", OTHER_CHANNEL, "0 0 9 * * Tue", "UTC")).await.unwrap();
    for user in [ALICE, BOB, CAROL] {
        h.engine.join(&cohort, user).await.unwrap();
    }
    let mut checkins = Vec::new();
    for week in 0..3 {
        let at = first + Duration::weeks(week);
        h.set(at);
        h.tick().await;
        checkins.push(h.engine.store().open_checkin(cohort.id, at).await.unwrap().expect("posted"));
    }
    let at = |week: usize| checkins[week].occurrence_at + Duration::hours(1);
    h.set(at(0));
    h.engine.answer(&checkins[0], ALICE, MULTILINE, "4", ReplySource::Modal).await.unwrap();
    h.engine.answer(&checkins[0], BOB, BOB_ANSWER, "", ReplySource::Dm).await.unwrap();
    h.set(at(1));
    h.engine.answer(&checkins[1], ALICE, "alice week 1", "5", ReplySource::Modal).await.unwrap();
    h.engine
        .record_impact(&cohort, ALICE, "p99 down, 820ms → 310ms", "dashboard, \"before/after\"", "checkout team", "")
        .await
        .unwrap();
    h.engine.record_impact(&cohort, BOB, "bob's win", "bob's metric", "bob's team", "https://x.test/b").await.unwrap();
    h.set(at(2));
    (h, cohort, checkins)
}

fn trellis(h: &Harness, cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trellis"))
        .current_dir(cwd)
        .args(args)
        .env_remove("TRELLIS_CONFIG")
        .env_remove("RUST_LOG")
        .env("DATABASE_URL", &h.db.url)
        .output()
        .expect("run trellis")
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "exit {:?}\nstderr:\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn failure(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure; stdout:\n{}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn parse_csv(text: &str) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader.records().collect::<Result<Vec<_>, _>>().expect("valid CSV");
    (header, rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_has_a_header_and_one_row_per_member_per_checkin_then_impact_rows() {
    let _suite = crate::suite(module_path!());
    let (h, _cohort, checkins) = filled().await;
    let cwd = tempfile::tempdir().unwrap();
    let text = stdout(&trellis(&h, cwd.path(), &["export", "--cohort", "staff-path", "--format", "csv"]));
    assert!(text.starts_with(&format!("{HEADER}\n")) || text.starts_with(&format!("{HEADER}\r\n")), "{text}");
    let (header, rows) = parse_csv(&text);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    // 3 members × 3 check-ins, then 2 impact entries.
    assert_eq!(rows.len(), 11, "{text}");
    let kinds: Vec<&str> = rows.iter().map(|r| &r[col("kind")]).collect();
    assert_eq!(kinds, [vec!["checkin"; 9], vec!["impact"; 2]].concat());

    let row = |week: usize, user: UserId| {
        rows.iter()
            .find(|r| {
                r[col("prompt_id")] == *checkins[week].prompt.as_ref().unwrap().id
                    && r[col("member_id")] == user.to_string()
            })
            .unwrap_or_else(|| panic!("no row for week {week} user {user}"))
    };
    let alice0 = row(0, ALICE);
    assert_eq!(&alice0[col("answer")], MULTILINE, "multi-line text with commas and quotes survives");
    assert_eq!((&alice0[col("answered")], &alice0[col("confidence")]), ("true", "4"));
    assert_eq!(&alice0[col("outcome")], "answered");
    let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    let local = checkins[0].occurrence_at.with_timezone(&berlin).format("%Y-%m-%d").to_string();
    assert_eq!(&alice0[col("date")], local, "the occurrence date in the cohort's time zone");
    assert_ne!(local, checkins[0].occurrence_at.format("%Y-%m-%d").to_string(), "not the UTC date");
    assert_eq!(&alice0[col("cohort")], "staff-path");
    assert_eq!(&alice0[col("question")], checkins[0].prompt.as_ref().unwrap().question);
    assert_eq!(&alice0[col("track")], checkins[0].prompt.as_ref().unwrap().track.as_str());
    assert_eq!(&row(0, BOB)[col("answer")], BOB_ANSWER);
    assert_eq!(&row(0, BOB)[col("confidence")], "");
    let carol = row(1, CAROL);
    assert_eq!((&carol[col("answered")], &carol[col("outcome")], &carol[col("answer")]), ("false", "missed", ""));
    assert_eq!(&row(2, CAROL)[col("outcome")], "open");

    let impact = &rows[9];
    assert_eq!(&impact[col("member_id")], ALICE.to_string());
    assert_eq!(&impact[col("what_changed")], "p99 down, 820ms → 310ms");
    assert_eq!(&impact[col("evidence")], "dashboard, \"before/after\"");
    assert_eq!(&impact[col("answered")], "");
    assert_eq!(&rows[10][col("link")], "https://x.test/b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_is_an_array_of_records_with_stable_fields() {
    let _suite = crate::suite(module_path!());
    let (h, _cohort, _checkins) = filled().await;
    let cwd = tempfile::tempdir().unwrap();
    let text = stdout(&trellis(&h, cwd.path(), &["export", "--cohort", "staff-path", "--format", "json"]));
    let records: Vec<Value> = serde_json::from_str(&text).expect("JSON array");
    assert_eq!(records.len(), 11);
    let fields: Vec<&str> = HEADER.split(',').collect();
    for r in &records {
        let obj = r.as_object().unwrap();
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut want = fields.clone();
        want.sort_unstable();
        assert_eq!(keys, want, "{r}");
        assert!(r["member_id"].is_string(), "snowflakes as strings: {r}");
        match r["kind"].as_str().unwrap() {
            "checkin" => assert!(r["answered"].is_boolean() && r["what_changed"].is_null(), "{r}"),
            "impact" => assert!(r["answered"].is_null() && r["what_changed"].is_string(), "{r}"),
            other => panic!("unknown kind {other}"),
        }
    }
    let alice = records
        .iter()
        .find(|r| r["member_id"].as_str() == Some(ALICE.to_string().as_str()) && r["answer"] == MULTILINE)
        .expect("Alice's multi-line answer, intact");
    assert_eq!(alice["confidence"], 4);
    assert_eq!(alice["answered"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_filter_and_markdown_packet_hold_only_that_members_words() {
    let _suite = crate::suite(module_path!());
    let (h, _cohort, _checkins) = filled().await;
    let cwd = tempfile::tempdir().unwrap();
    let bob = BOB.to_string();
    let text =
        stdout(&trellis(&h, cwd.path(), &["export", "--cohort", "staff-path", "--format", "csv", "--member", &bob]));
    let (header, rows) = parse_csv(&text);
    let member_col = header.iter().position(|h| h == "member_id").unwrap();
    assert_eq!(rows.len(), 4, "three check-ins and one impact entry: {text}");
    assert!(rows.iter().all(|r| r[member_col] == bob), "{text}");
    assert!(!text.contains("Line one"), "{text}");

    let alice = ALICE.to_string();
    let md = stdout(&trellis(
        &h,
        cwd.path(),
        &["export", "--cohort", "staff-path", "--format", "markdown", "--member", &alice],
    ));
    assert!(md.starts_with("# "), "{md}");
    assert!(md.contains("Line one, with a comma") && md.contains("alice week 1"), "{md}");
    assert!(md.contains("p99 down"), "Alice's impact ledger: {md}");
    assert!(!md.contains(BOB_ANSWER) && !md.contains("bob's win"), "nothing of Bob: {md}");

    let err = failure(&trellis(&h, cwd.path(), &["export", "--cohort", "staff-path", "--format", "markdown"]));
    assert!(err.contains("--member"), "{err}");
    let err =
        failure(&trellis(&h, cwd.path(), &["export", "--cohort", "staff-path", "--format", "json", "--member", "42"]));
    assert!(err.contains("42") && err.contains("staff-path"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_cohort_is_an_error_naming_the_known_ones() {
    let _suite = crate::suite(module_path!());
    let (h, _cohort, _checkins) = filled().await;
    let cwd = tempfile::tempdir().unwrap();
    let out = trellis(&h, cwd.path(), &["export", "--cohort", "staff-paht", "--format", "csv"]);
    let err = failure(&out);
    assert!(out.stdout.is_empty());
    assert!(err.contains("staff-paht"), "{err}");
    assert!(err.contains("known cohorts: other-cohort, staff-path"), "{err}");

    let err = failure(&trellis(&h, cwd.path(), &["export", "--cohort", "staff-path", "--format", "xml"]));
    assert!(err.contains("csv") && err.contains("json") && err.contains("markdown"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_writes_a_private_file_once_and_never_overwrites() {
    let _suite = crate::suite(module_path!());
    let (h, _cohort, _checkins) = filled().await;
    let cwd = tempfile::tempdir().unwrap();
    let path = cwd.path().join("staff.json");
    let p = path.to_str().unwrap();
    let out = trellis(&h, cwd.path(), &["export", "--cohort", "staff-path", "--format", "json", "--out", p]);
    assert!(stdout(&out).is_empty(), "the data goes to the file only");
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(serde_json::from_str::<Vec<Value>>(&written).unwrap().len(), 11);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let err = failure(&trellis(&h, cwd.path(), &["export", "--cohort", "staff-path", "--format", "csv", "--out", p]));
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), written, "the first export is untouched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_reads_a_live_database_and_never_creates_one() {
    let _suite = crate::suite(module_path!());
    let (h, cohort, checkins) = filled().await;
    let cwd = tempfile::tempdir().unwrap();
    let export = || stdout(&trellis(&h, cwd.path(), &["export", "--cohort", "staff-path", "--format", "json"]));
    let before: Vec<Value> = serde_json::from_str(&export()).unwrap();
    // The bot goes on writing between exports; the next export sees it.
    h.engine.answer(&checkins[2], CAROL, "carol at last", "", ReplySource::Modal).await.unwrap();
    h.engine.record_impact(&cohort, CAROL, "carol's win", "metric", "team", "").await.unwrap();
    let after: Vec<Value> = serde_json::from_str(&export()).unwrap();
    assert_eq!(after.len(), before.len() + 1);
    assert!(after.iter().any(|r| r["answer"] == "carol at last"));

    let missing = cwd.path().join("nowhere.db");
    let out = Command::new(env!("CARGO_BIN_EXE_trellis"))
        .current_dir(cwd.path())
        .args(["export", "--cohort", "staff-path", "--format", "csv"])
        .env_remove("TRELLIS_CONFIG")
        .env("DATABASE_URL", format!("sqlite://{}", missing.display()))
        .output()
        .unwrap();
    let err = failure(&out);
    assert!(err.contains("no database"), "{err}");
    assert!(!missing.exists(), "an export never creates a database");
}
