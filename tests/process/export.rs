//! `trellis export`, the real binary, against a database the engine is still
//! using (as when the bot runs): CSV and JSON parse back to the right records,
//! Markdown is one member's packet, and mistakes get clear errors.

use std::path::Path;
use std::process::{Command, Output};

use chrono::{Duration, Utc};
use serde_json::Value;
use trellis::domain::schedule::Schedule;
use trellis::domain::{CheckIn, Cohort, PathStep, ReplySource, UserId, Viewer};
use trellis_testkit::typed::{ALICE, BOB, CAROL, CHANNEL, GUILD, MENTOR, MENTOR_ROLE, OTHER_CHANNEL};
use trellis_testkit::{Harness, draft};

/// 00:30 in Berlin is the evening before in UTC: dates must come out in Berlin.
const WEEKLY_BERLIN: &str = "0 30 0 * * Mon";

const MULTILINE: &str = "Line one, with a comma\nLine two \"quoted\"\n\n- a bullet; and a ,, double comma";
const BOB_ANSWER: &str = "bob, plain";
const HEADER: &str = "kind,cohort,member_id,date,track,prompt_id,question,outcome,answered,confidence,answer,\
                      written_at,what_changed,evidence,who_benefited,link,author_id,note,step,project,\
                      why_it_matters,teams_affected";

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

/// [`filled`], plus the mentoring loop: a mentor's note on Alice's week-0
/// answer (starting like a formula) and on Bob's; Alice's project and two
/// steps, Bob's one step.
async fn filled_with_mentoring() -> (Harness, Cohort, Vec<CheckIn>) {
    let (h, cohort, checkins) = filled().await;
    let as_member =
        |user| Viewer { guild_id: GUILD, channel_id: CHANNEL, user_id: user, roles: vec![], can_manage: false };
    let mentor = Viewer { roles: vec![MENTOR_ROLE], ..as_member(MENTOR) };
    let store = h.engine.store();
    for (user, note) in [(ALICE, "=HYPERLINK(\"x\") good, \"framing\""), (BOB, "bob's note")] {
        let reply = store.reply(checkins[0].id, user).await.unwrap().unwrap();
        h.engine.submit_note(&mentor, reply.id, "Maria", note).await.unwrap();
    }
    let alice = as_member(ALICE);
    h.engine.submit_project(&alice, cohort.id, "CI, slow", "-40% wait", "web, mobile").await.unwrap();
    for step in [PathStep::Problem, PathStep::Expectations] {
        h.engine
            .submit_step(&alice, cohort.id, step, &format!("{step} evidence"), "https://docs.example/s")
            .await
            .unwrap();
    }
    h.engine.submit_step(&as_member(BOB), cohort.id, PathStep::Plan, "bob's plan", "").await.unwrap();
    (h, cohort, checkins)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_projects_and_path_steps_are_rows_of_their_own() {
    let _suite = crate::suite(module_path!());
    let (h, _cohort, checkins) = filled_with_mentoring().await;
    let cwd = tempfile::tempdir().unwrap();
    let text = stdout(&trellis(&h, cwd.path(), &["export", "--cohort", "staff-path", "--format", "csv"]));
    let (header, rows) = parse_csv(&text);
    assert_eq!(header.join(","), HEADER);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let kinds: Vec<&str> = rows.iter().map(|r| &r[col("kind")]).collect();
    assert_eq!(
        kinds,
        [vec!["checkin"; 9], vec!["impact"; 2], vec!["note"; 2], vec!["path_project"], vec!["path_step"; 3]].concat()
    );
    let note = &rows[11];
    assert_eq!(
        (&note[col("member_id")], &note[col("author_id")]),
        (ALICE.to_string().as_str(), MENTOR.to_string().as_str())
    );
    assert_eq!(&note[col("note")], "'=HYPERLINK(\"x\") good, \"framing\"", "spreadsheet-safe");
    assert_eq!(&note[col("prompt_id")], checkins[0].prompt.as_ref().unwrap().id);
    assert_eq!(&note[col("answer")], "", "the answer is on its check-in row");
    let project = &rows[13];
    assert_eq!((&project[col("project")], &project[col("why_it_matters")]), ("CI, slow", "'-40% wait"));
    assert_eq!(&project[col("teams_affected")], "web, mobile");
    let steps: Vec<(&str, &str, &str)> =
        rows[14..].iter().map(|r| (&r[col("member_id")][..], &r[col("step")], &r[col("evidence")])).collect();
    let (alice, bob) = (ALICE.to_string(), BOB.to_string());
    assert_eq!(
        steps,
        [
            (alice.as_str(), "expectations", "expectations evidence"),
            (alice.as_str(), "problem", "problem evidence"),
            (bob.as_str(), "plan", "bob's plan")
        ]
    );
    assert_eq!(&rows[14][col("link")], "https://docs.example/s");

    // JSON: the same records, text as written, ids as strings.
    let json = stdout(&trellis(&h, cwd.path(), &["export", "--cohort", "staff-path", "--format", "json"]));
    let records: Vec<Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(records.len(), rows.len());
    let note = records.iter().find(|r| r["kind"] == "note" && r["member_id"] == ALICE.to_string()).unwrap();
    assert_eq!(note["note"], "=HYPERLINK(\"x\") good, \"framing\"");
    assert_eq!(note["author_id"], MENTOR.to_string());
    assert!(note["step"].is_null() && note["answered"].is_null(), "{note}");
    let step = records.iter().find(|r| r["kind"] == "path_step").unwrap();
    assert!(step["note"].is_null() && step["step"] == "expectations", "{step}");

    // One member: only their rows, notes about them included.
    let only_bob =
        stdout(&trellis(&h, cwd.path(), &["export", "--cohort", "staff-path", "--format", "csv", "--member", &bob]));
    let (_, rows) = parse_csv(&only_bob);
    let kinds: Vec<&str> = rows.iter().map(|r| &r[col("kind")]).collect();
    assert_eq!(kinds, ["checkin", "checkin", "checkin", "impact", "note", "path_step"]);
    assert!(!only_bob.contains("HYPERLINK") && !only_bob.contains("CI, slow"), "{only_bob}");

    // The packet of one member carries their path and the notes on their answers.
    let md = stdout(&trellis(
        &h,
        cwd.path(),
        &["export", "--cohort", "staff-path", "--format", "markdown", "--member", &alice],
    ));
    assert!(md.contains("- **Staff path:** 2 of 7 steps done") && md.contains("> =HYPERLINK"), "{md}");
    assert!(!md.contains("bob's note"), "{md}");
}
