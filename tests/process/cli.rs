//! The real `trellis` binary, run from an empty working directory with a clean
//! environment.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{DateTime, NaiveDateTime, Utc};

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// `trellis` with `args`, in `cwd`, without any of Trellis's variables set.
pub(crate) fn trellis(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trellis"));
    cmd.current_dir(cwd)
        .args(args)
        .env_remove("DISCORD_TOKEN")
        .env_remove("TRELLIS_CONFIG")
        .env_remove("DATABASE_URL")
        .env_remove("DISCORD_API_BASE")
        .env_remove("TRELLIS_GLOBAL_RATE_LIMIT")
        .env_remove("RUST_LOG")
        .env_remove("RUST_BACKTRACE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run trellis")
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_no_panic(out: &Output) {
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains("panicked"), "{all}");
    assert!(!all.to_lowercase().contains("backtrace"), "{all}");
    assert!(!all.contains("RUST_BACKTRACE"), "{all}");
}

#[test]
fn help_lists_the_subcommands() {
    let _suite = crate::suite(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let out = trellis(dir.path(), &["--help"], &[]);
    assert!(out.status.success(), "{out:?}");
    let help = text(&out.stdout);
    for sub in ["run", "check-config", "migrate", "migrate-to", "backup", "export", "forget-user"] {
        assert!(help.lines().any(|l| l.trim_start().starts_with(sub)), "--help lacks {sub}:\n{help}");
    }
    assert!(help.contains("--config"), "{help}");
}

#[test]
fn check_config_on_the_example_prints_three_future_times_per_cohort() {
    let _suite = crate::suite(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let example = repo_file("config/trellis.example.toml");
    let out = trellis(dir.path(), &["check-config", "--config", example.to_str().unwrap()], &[]);
    assert_no_panic(&out);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);

    // Group the indented time lines under their cohort headings.
    let mut cohorts: Vec<(String, Vec<String>)> = Vec::new();
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("cohort ") {
            cohorts.push((rest.split_whitespace().next().unwrap().to_string(), Vec::new()));
        } else if line.starts_with("  ")
            && let Some((_, c)) = cohorts.last_mut()
        {
            c.push(line.trim().to_string());
        }
    }
    let names: Vec<&str> = cohorts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["staff-path-2027", "staff-path-2027-americas"], "{stdout}");

    let now = Utc::now();
    for (name, lines) in &cohorts {
        assert_eq!(lines.len(), 3, "{name} should list 3 times:\n{stdout}");
        let mut times = Vec::new();
        for l in lines {
            // "Mon 2027-01-04 09:00 CET  (2027-01-04 08:00 UTC)"
            let local = &l[..l.find("  (").unwrap_or_else(|| panic!("no UTC part in {l:?}"))];
            let utc_part = l[l.find('(').unwrap() + 1..l.find(')').unwrap()].trim_end_matches(" UTC");
            let t = NaiveDateTime::parse_from_str(utc_part, "%Y-%m-%d %H:%M").unwrap().and_utc();
            assert!(t > now, "{name}: {l} is not in the future");
            times.push(t);
            match name.as_str() {
                "staff-path-2027" => {
                    assert!(local.starts_with("Mon ") && local.contains(" 09:00 "), "{l}");
                    assert!(local.ends_with("CET") || local.ends_with("CEST"), "{l}");
                }
                _ => {
                    assert!(local.starts_with("Wed ") && local.contains(" 16:30 "), "{l}");
                    assert!(local.ends_with("EST") || local.ends_with("EDT"), "{l}");
                }
            }
        }
        assert!(times.windows(2).all(|w| w[0] < w[1]), "{name}: times not increasing: {lines:?}");
        let gap: chrono::Duration = times[1] - times[0];
        assert!((gap.num_hours() - 168).abs() <= 1, "{name}: weekly schedule, got {gap}");
        let first: DateTime<Utc> = times[0];
        assert!(first - now <= chrono::Duration::days(7) + chrono::Duration::hours(1), "{name}: {first}");
    }
}

#[test]
fn check_config_without_any_file_is_fine() {
    let _suite = crate::suite(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let out = trellis(dir.path(), &["check-config"], &[]);
    assert_no_panic(&out);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("config: none"), "{}", text(&out.stdout));
    // And nothing was created in the working directory by a check.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn check_config_reads_the_default_file_in_the_working_directory() {
    let _suite = crate::suite(module_path!());
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("config")).unwrap();
    std::fs::copy(repo_file("config/trellis.example.toml"), dir.path().join("config/trellis.toml")).unwrap();
    let out = trellis(dir.path(), &["check-config"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("config/trellis.toml"), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("cohort staff-path-2027 "), "{}", text(&out.stdout));
}

#[test]
fn misspelled_key_exits_2_naming_key_and_file() {
    let _suite = crate::suite(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(repo_file("config/trellis.example.toml")).unwrap();
    let bad = example.replacen("schedule = \"0 0 9 * * Mon\"", "shedule = \"0 0 9 * * Mon\"", 1);
    assert_ne!(bad, example);
    let path = dir.path().join("typo.toml");
    std::fs::write(&path, bad).unwrap();

    let out = trellis(dir.path(), &["check-config", "--config", path.to_str().unwrap()], &[]);
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(2), "stderr: {}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("shedule"), "{stderr}");
    assert!(stderr.contains("typo.toml"), "{stderr}");
    assert!(stderr.contains("cohort[0]"), "{stderr}");

    // `run` stops at start the same way, before it needs a token.
    let out = trellis(dir.path(), &["run", "--config", path.to_str().unwrap()], &[]);
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(2), "stderr: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("shedule"));
}

#[test]
fn validation_error_exits_2_with_file_key_and_reason() {
    let _suite = crate::suite(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(repo_file("config/trellis.example.toml")).unwrap();
    let bad = example.replacen("America/New_York", "America/Gotham", 1);
    let path = dir.path().join("tz.toml");
    std::fs::write(&path, bad).unwrap();
    let out = trellis(dir.path(), &["check-config"], &[("TRELLIS_CONFIG", path.to_str().unwrap())]);
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("tz.toml") && stderr.contains("cohort[1].timezone") && stderr.contains("America/Gotham"));
}

#[test]
fn check_config_refuses_a_database_url_of_another_kind_naming_where_it_came_from() {
    let _suite = crate::suite(module_path!());
    let dir = tempfile::tempdir().unwrap();
    for url in ["mysql://u:s3cret@db/trellis", "postgress://db/trellis", "data/trellis.db"] {
        let out = trellis(dir.path(), &["check-config"], &[("DATABASE_URL", url)]);
        assert_no_panic(&out);
        assert_eq!(out.status.code(), Some(2), "{url}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("environment") && stderr.contains("DATABASE_URL"), "{stderr}");
        assert!(
            stderr.contains("sqlite://") && stderr.contains("postgres://") && !stderr.contains("s3cret"),
            "{stderr}"
        );
    }
    let path = dir.path().join("db.toml");
    std::fs::write(&path, "[database]\nurl = \"mysql://db/trellis\"\n").unwrap();
    let out = trellis(dir.path(), &["check-config"], &[("TRELLIS_CONFIG", path.to_str().unwrap())]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("db.toml") && stderr.contains("database.url") && stderr.contains("mysql://"), "{stderr}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "nothing but the config file");
}

#[test]
fn explicit_missing_config_exits_2() {
    let _suite = crate::suite(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let out = trellis(dir.path(), &["check-config", "--config", "nowhere.toml"], &[]);
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("nowhere.toml"), "{}", text(&out.stderr));
}

#[test]
fn run_without_a_token_says_how_to_set_it() {
    let _suite = crate::suite(module_path!());
    let dir = tempfile::tempdir().unwrap();
    for args in [&["run"][..], &[][..]] {
        let out = trellis(dir.path(), args, &[]);
        assert_no_panic(&out);
        assert!(!out.status.success(), "{args:?} must fail without DISCORD_TOKEN");
        assert_ne!(out.status.code(), Some(2), "a missing token is not a config error");
        let stderr = text(&out.stderr);
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line, got:\n{stderr}");
        assert!(lines[0].contains("DISCORD_TOKEN") && lines[0].contains(".env"), "{stderr}");
    }
    // An empty token counts as missing.
    let out = trellis(dir.path(), &["run"], &[("DISCORD_TOKEN", "  ")]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("DISCORD_TOKEN"));
    // Nothing was created: no database before there is a token.
    assert!(!dir.path().join("data").exists(), "run without a token should not create data/");
}

#[test]
fn a_malformed_discord_api_base_exits_2_naming_the_variable() {
    let _suite = crate::suite(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let bad = ("DISCORD_API_BASE", "proxy.example:8080");
    let out = trellis(dir.path(), &["check-config"], &[bad]);
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(2), "stderr: {}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("DISCORD_API_BASE") && stderr.contains("proxy.example:8080"), "{stderr}");
    assert!(stderr.contains("http://"), "{stderr}");

    // `run` stops at start the same way, token or not.
    let out = trellis(dir.path(), &["run"], &[bad, ("DISCORD_TOKEN", "Bot abc.def.ghi")]);
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(2), "stderr: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("DISCORD_API_BASE"));
    assert!(!dir.path().join("data").exists(), "a bad config should not create data/");

    // A blank one counts as unset.
    let out = trellis(dir.path(), &["check-config"], &[("DISCORD_API_BASE", " ")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn migrate_creates_the_folder_and_a_private_database_file() {
    let _suite = crate::suite(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sub/dir/t.db");
    let url = format!("sqlite://{}", db.display());
    let out = trellis(dir.path(), &["migrate"], &[("DATABASE_URL", url.as_str())]);
    assert_no_panic(&out);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(db.is_file(), "{} missing", db.display());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "database file mode {mode:o}");
        for side in ["t.db-wal", "t.db-shm"] {
            let p = dir.path().join("sub/dir").join(side);
            if p.exists() {
                let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode & 0o077, 0, "{side} mode {mode:o}");
            }
        }
    }
    // Migrating again is a no-op that succeeds.
    let out = trellis(dir.path(), &["migrate"], &[("DATABASE_URL", url.as_str())]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn migrate_uses_the_default_database_path() {
    let _suite = crate::suite(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let out = trellis(dir.path(), &["migrate"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.path().join("data/trellis.db").is_file());
}

#[test]
fn database_url_from_the_environment_wins_over_the_file() {
    let _suite = crate::suite(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[database]\nurl = \"sqlite://from-file.db\"\n").unwrap();
    let env_db = dir.path().join("from-env.db");
    let url = format!("sqlite://{}", env_db.display());
    let out = trellis(dir.path(), &["migrate", "--config", cfg.to_str().unwrap()], &[("DATABASE_URL", url.as_str())]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(env_db.is_file());
    assert!(!dir.path().join("from-file.db").exists());
}

#[test]
fn dotenv_fills_in_but_the_real_environment_wins() {
    let _suite = crate::suite(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let env_file_db = dir.path().join("dotenv.db");
    std::fs::write(dir.path().join(".env"), format!("DATABASE_URL=sqlite://{}\n", env_file_db.display())).unwrap();
    let out = trellis(dir.path(), &["migrate"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(env_file_db.is_file(), ".env DATABASE_URL not used");

    let real = dir.path().join("real.db");
    let url = format!("sqlite://{}", real.display());
    let out = trellis(dir.path(), &["migrate"], &[("DATABASE_URL", url.as_str())]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(real.is_file(), "the real environment should win over .env");
}

#[test]
fn an_empty_trellis_config_counts_as_unset() {
    let _suite = crate::suite(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let out = trellis(dir.path(), &["check-config"], &[("TRELLIS_CONFIG", "")]);
    assert_no_panic(&out);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("config: none"));
}

#[test]
fn the_config_flag_wins_over_trellis_config() {
    let _suite = crate::suite(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let example = repo_file("config/trellis.example.toml");
    let out = trellis(
        dir.path(),
        &["check-config", "--config", example.to_str().unwrap()],
        &[("TRELLIS_CONFIG", "does-not-exist.toml")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // And TRELLIS_CONFIG alone is used, and must exist.
    let out = trellis(dir.path(), &["check-config"], &[("TRELLIS_CONFIG", "does-not-exist.toml")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("does-not-exist.toml"));
    let out = trellis(dir.path(), &["check-config"], &[("TRELLIS_CONFIG", example.to_str().unwrap())]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("staff-path-2027"));
}

#[test]
fn a_database_url_that_is_neither_sqlite_nor_postgres_is_refused_without_side_effects() {
    let _suite = crate::suite(module_path!());
    let dir = tempfile::tempdir().unwrap();
    for url in ["mysql://localhost/trellis", "postgres:/localhost/trellis", "sqlite://", "data/trellis.db"] {
        let out = trellis(dir.path(), &["migrate"], &[("DATABASE_URL", url)]);
        assert_no_panic(&out);
        assert!(!out.status.success(), "{url} should be refused");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(url) && stderr.contains("sqlite://"), "{stderr}");
        if url != "sqlite://" {
            assert!(stderr.contains("postgres://"), "name both accepted forms: {stderr}");
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{url} created files");
    }
}

#[test]
fn backup_writes_a_private_restorable_copy_and_refuses_to_overwrite() {
    let _suite = crate::suite(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("live.db").display());
    let out = trellis(dir.path(), &["migrate"], &[("DATABASE_URL", &url)]);
    assert!(out.status.success(), "{out:?}");
    let copy = dir.path().join("copy.db");
    let out = trellis(dir.path(), &["backup", copy.to_str().unwrap()], &[("DATABASE_URL", &url)]);
    assert!(out.status.success(), "{out:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // Restorable: the copy holds the schema and data of the live database.
    let copy_url = format!("sqlite://{}", copy.display());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let tables = rt.block_on(async {
        let store = trellis::store::Store::connect(&copy_url).await.unwrap();
        store.table_names().await.unwrap()
    });
    for t in ["checkins", "cohorts", "replies"] {
        assert!(tables.iter().any(|n| n == t), "{t} missing from {tables:?}");
    }
    let out = trellis(dir.path(), &["backup", copy.to_str().unwrap()], &[("DATABASE_URL", &url)]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("already exists"), "{out:?}");
}

/// Alice and Bob in a cohort with a row of every kind: memberships, an
/// answer and its earlier version, an impact entry, a pause, a reminder, and
/// Discord's refusal of their DMs.
async fn two_members_with_everything() -> trellis_testkit::Harness {
    use trellis::domain::ReplySource;
    use trellis_testkit::typed::{ALICE, BOB, CHANNEL};
    let t0 = trellis_testkit::utc("2027-01-04T09:00:00Z");
    let h = trellis_testkit::Harness::new(t0 - chrono::Duration::hours(1)).await;
    let mut d = trellis_testkit::draft("staff-path", CHANNEL, "0 0 9 * * Mon", "UTC");
    d.reminder_after = Some("1h".into());
    let cohort = h.engine.setup_cohort(d).await.unwrap();
    for u in [ALICE, BOB] {
        h.engine.join(&cohort, u).await.unwrap();
    }
    h.set(t0);
    h.tick().await;
    let k = h.engine.store().open_checkin(cohort.id, t0).await.unwrap().expect("posted");
    for u in [ALICE, BOB] {
        h.engine.answer(&k, u, "v1", "2", ReplySource::Modal).await.unwrap();
        h.engine.answer(&k, u, "v2", "3", ReplySource::Modal).await.unwrap();
        h.engine.record_impact(&cohort, u, "shipped", "-30% p99", "checkout", "").await.unwrap();
        h.engine.pause(&cohort, u, 1).await.unwrap();
    }
    // Next week both are nudged; their DMs are closed.
    h.chat.close_dms(ALICE);
    h.chat.close_dms(BOB);
    h.set(t0 + chrono::Duration::weeks(1));
    h.tick().await;
    h.set(t0 + chrono::Duration::weeks(1) + chrono::Duration::hours(2));
    assert_eq!(h.tick().await.refused, 2);
    h
}

#[tokio::test]
async fn forget_user_deletes_every_row_about_the_user_and_prints_them_per_table() {
    use trellis_testkit::typed::{ALICE, BOB};
    let _suite = crate::suite(module_path!());
    let h = two_members_with_everything().await;
    let alice = ALICE.get().to_string();
    let bob_before = trellis_testkit::rows_holding(&h.db, BOB.get() as i64).await;
    assert!(!trellis_testkit::rows_holding(&h.db, ALICE.get() as i64).await.is_empty());

    let out = trellis(h.db.dir.path(), &["forget-user", &alice], &[("DATABASE_URL", &h.db.url)]);
    assert_no_panic(&out);
    assert!(out.status.success(), "{out:?}");
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with(&format!("forgot user {alice}; rows deleted per table:")), "{stdout}");
    let counts: Vec<(String, u64)> = stdout
        .lines()
        .skip(1)
        .map(|l| {
            let mut parts = l.split_whitespace();
            (parts.next().unwrap().to_string(), parts.next().unwrap().parse().unwrap())
        })
        .collect();
    let expected = [
        ("note_edits", 0),
        ("notes", 0),
        ("path_step_edits", 0),
        ("path_steps", 0),
        ("path_project_edits", 0),
        ("path_projects", 0),
        ("reply_edits", 1),
        ("replies", 1),
        ("impact_entries", 1),
        ("reminders", 1),
        ("pauses", 1),
        ("members", 1),
        ("dm_channels", 0),
        ("delivery_failures", 1),
        ("desk_sessions", 0),
        ("desk_links", 0),
        ("total", 7),
    ];
    assert_eq!(counts, expected.map(|(t, n)| (t.to_string(), n)), "{stdout}");
    // Every table, every column: nothing holds Alice's id; Bob is untouched.
    assert_eq!(trellis_testkit::rows_holding(&h.db, ALICE.get() as i64).await, vec![]);
    assert_eq!(trellis_testkit::rows_holding(&h.db, BOB.get() as i64).await, bob_before);

    // Again: nothing left, and still exit 0.
    let out = trellis(h.db.dir.path(), &["forget-user", &alice], &[("DATABASE_URL", &h.db.url)]);
    assert!(out.status.success(), "{out:?}");
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with(&format!("nothing was stored about user {alice}")), "{stdout}");
    assert!(stdout.lines().last().unwrap().split_whitespace().eq(["total", "0"]), "{stdout}");
}

#[test]
fn forget_user_with_an_id_that_is_no_discord_id_is_a_usage_error() {
    let _suite = crate::suite(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("trellis.db").display());
    for bad in ["alice", "<@300000000000000003>", "-5", "0", "12.5", "99999999999999999999"] {
        let out = trellis(dir.path(), &["forget-user", bad], &[("DATABASE_URL", &url)]);
        assert_no_panic(&out);
        assert_eq!(out.status.code(), Some(2), "{bad}: {out:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("USER_ID") && stderr.contains(bad), "{bad}: {stderr}");
    }
    let out = trellis(dir.path(), &["forget-user"], &[("DATABASE_URL", &url)]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(!dir.path().join("trellis.db").exists(), "a usage error touches no database");
}

#[test]
fn run_shard_flags_go_together_and_name_a_range_of_the_total_before_anything_is_opened() {
    let _suite = crate::suite(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let env = [("DISCORD_TOKEN", "Bot abc.def.ghi")];
    let cases: [(&[&str], &str); 8] = [
        (&["run", "--shards", "0-1"], "--total-shards"),
        (&["run", "--total-shards", "4"], "--shards"),
        (
            &["run", "--shards", "2-1", "--total-shards", "4"],
            "--shards 2-1: the first shard must not come after the last",
        ),
        (&["run", "--shards", "0-4", "--total-shards", "4"], "shard 4 does not exist; the shards are numbered 0 to 3"),
        (&["run", "--shards", "4", "--total-shards", "4"], "shard 4 does not exist"),
        (&["run", "--shards", "0-0", "--total-shards", "0"], "--total-shards must be at least 1"),
        (&["run", "--shards", "0-1", "--total-shards", "5000"], "--total-shards 5000 is more than 1024"),
        (&["run", "--shards", "first-last", "--total-shards", "4"], "`first-last` is not a shard range"),
    ];
    for (args, says) in cases {
        let out = trellis(dir.path(), args, &env);
        assert_no_panic(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        let stderr = text(&out.stderr);
        assert!(stderr.starts_with("error:") && stderr.contains(says), "{args:?}: {stderr}");
    }
    assert!(!dir.path().join("data").exists(), "a usage error opens no database");
    let help = text(&trellis(dir.path(), &["run", "--help"], &[]).stdout);
    assert!(help.contains("--shards <FIRST-LAST>") && help.contains("--total-shards <N>"), "{help}");
}

#[test]
fn a_global_rate_limit_share_without_a_proxy_exits_2_naming_the_variable() {
    let _suite = crate::suite(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let env = [("DISCORD_TOKEN", "Bot abc.def.ghi"), ("TRELLIS_GLOBAL_RATE_LIMIT", "25")];
    let out = trellis(dir.path(), &["run"], &env);
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("TRELLIS_GLOBAL_RATE_LIMIT") && stderr.contains("DISCORD_API_BASE"), "{stderr}");
    assert!(!dir.path().join("data").exists());
}
