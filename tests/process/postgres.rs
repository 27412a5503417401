//! The real `trellis` binary on PostgreSQL: `migrate-to` copies a SQLite
//! database and `export` reads the same from both; a target with rows, a
//! running bot and bad URLs are refused with clear messages; `migrate` and
//! `backup` on a `postgres://` DATABASE_URL. Needs TRELLIS_TEST_POSTGRES_URL
//! (skipped, saying so, without it).

use std::process::Output;

use chrono::{DateTime, Duration, Utc};
use trellis::domain::{Instance, Slot};
use trellis_testkit::every_table::{COHORTS, seed_every_table};
use trellis_testkit::typed::{ALICE, BOB};
use trellis_testkit::{Backend, TempDb, postgres_enabled};

use crate::cli::{text, trellis};

/// A fixed past instant, so that every seeded check-in is in the past of the real clock.
fn t0() -> DateTime<Utc> {
    trellis_testkit::utc("2025-01-06T08:00:00Z")
}

/// A SQLite database with a row in every table (its lease stale), and an empty PostgreSQL one.
async fn source_and_target() -> (TempDb, TempDb) {
    let source = TempDb::on(Backend::Sqlite).await;
    let store = source.store().await;
    seed_every_table(&store, t0()).await;
    store.close().await;
    (source, TempDb::on(Backend::Postgres).await)
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "exit {:?}\nstderr:\n{}", out.status, text(&out.stderr));
    text(&out.stdout)
}

fn failed(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure; stdout:\n{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[tokio::test]
async fn migrate_to_copies_every_table_and_export_reads_the_same_from_both() {
    let _suite = crate::suite(module_path!());
    if !postgres_enabled(module_path!()) {
        return;
    }
    let (source, target) = source_and_target().await;
    let cwd = source.dir.path();
    let out = trellis(cwd, &["migrate-to", &target.url], &[("DATABASE_URL", &source.url)]);
    let report = ok(&out);
    assert!(report.contains("row counts verified before commit"), "{report}");
    for table in trellis::store::transfer::TABLES {
        let line = report.lines().find(|l| l.split_whitespace().next() == Some(table));
        let n: u64 = line.and_then(|l| l.split_whitespace().nth(1)?.parse().ok()).unwrap_or_else(|| panic!("{report}"));
        assert!(n > 0, "{table}: {report}");
    }

    for args in [
        vec!["export", "--cohort", COHORTS[0], "--format", "csv"],
        vec!["export", "--cohort", COHORTS[0], "--format", "json"],
        vec!["export", "--cohort", COHORTS[1], "--format", "csv"],
        vec!["export", "--cohort", COHORTS[0], "--format", "markdown", "--member", &ALICE.get().to_string()],
        vec!["export", "--cohort", COHORTS[1], "--format", "markdown", "--member", &BOB.get().to_string()],
    ] {
        let from_sqlite = ok(&trellis(cwd, &args, &[("DATABASE_URL", &source.url)]));
        let from_postgres = ok(&trellis(cwd, &args, &[("DATABASE_URL", &target.url)]));
        assert!(from_sqlite.len() > 200, "{args:?}: {from_sqlite}");
        assert_eq!(from_sqlite, from_postgres, "{args:?}");
    }

    // The SQLite database was only read: the same export still, and a second copy is refused.
    let again = trellis(cwd, &["migrate-to", &target.url], &[("DATABASE_URL", &source.url)]);
    let err = failed(&again);
    assert!(err.contains("not empty: table `cohorts` holds rows"), "{err}");
    assert!(err.lines().count() <= 2, "one clear line: {err}");
}

#[tokio::test]
async fn migrate_to_is_refused_while_a_bot_runs_on_the_sqlite_database() {
    let _suite = crate::suite(module_path!());
    if !postgres_enabled(module_path!()) {
        return;
    }
    let (source, target) = source_and_target().await;
    let store = source.store().await;
    let now = Utc::now();
    let running = Instance {
        holder: "other-box/1/1".into(),
        host: "other-box".into(),
        host_key: "other-box/boot/ns".into(),
        pid: 77,
        started_at: now - Duration::hours(1),
        heartbeat_at: now,
    };
    assert!(store.insert_instance(Slot::shards(1, 1, 2).unwrap(), &running).await.unwrap());
    store.close().await;
    let out = trellis(source.dir.path(), &["migrate-to", &target.url], &[("DATABASE_URL", &source.url)]);
    let err = failed(&out);
    assert!(err.contains("a trellis run is using") && err.contains("other-box") && err.contains("stop it"), "{err}");
    let pg = target.connect().await;
    assert!(pg.table_names().await.unwrap().is_empty(), "the target was not touched");
}

#[test]
fn bad_urls_get_one_clear_line_without_the_password() {
    let _suite = crate::suite(module_path!());
    let db = TempDb::new();
    let cwd = db.dir.path();
    let sqlite = [("DATABASE_URL", db.url.as_str())];

    let err = failed(&trellis(cwd, &["migrate-to", "mysql://u:s3cret@db/trellis"], &sqlite));
    assert!(err.contains("is not a PostgreSQL URL; expected postgres://USER@HOST/DATABASE"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");

    let pg_source = [("DATABASE_URL", "postgres://u:s3cret@127.0.0.1:1/trellis")];
    let err = failed(&trellis(cwd, &["migrate-to", "postgres://u:s3cret@127.0.0.1:1/other"], &pg_source));
    assert!(err.contains("copies the SQLite database named by DATABASE_URL"), "{err}");
    assert!(err.contains("postgres://u:***@127.0.0.1:1/trellis") && !err.contains("s3cret"), "{err}");

    // An existing SQLite database, a server that is not there.
    assert!(ok(&trellis(cwd, &["migrate"], &sqlite)).contains("migrations applied"));
    let err = failed(&trellis(cwd, &["migrate-to", "postgres://u:s3cret@127.0.0.1:1/trellis"], &sqlite));
    assert!(err.contains("cannot connect to the PostgreSQL database postgres://u:***@127.0.0.1:1/trellis"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");

    // DATABASE_URL itself: neither SQLite nor PostgreSQL, or a server that is not there.
    let err = failed(&trellis(cwd, &["migrate"], &[("DATABASE_URL", "mysql://u:s3cret@db/trellis")]));
    assert!(err.contains("sqlite://") && err.contains("postgres://") && !err.contains("s3cret"), "{err}");
    let err = failed(&trellis(cwd, &["migrate"], &pg_source));
    assert!(err.contains("cannot connect to the PostgreSQL database postgres://u:***@127.0.0.1:1/trellis"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
    // The cause once, not once per layer of sqlx's error.
    assert_eq!(err.matches("Connection refused").count(), 1, "{err}");

    // No database name: the server would pick the one named after the user
    // (the maintenance database); refused before any connection.
    for url in [
        "postgres://u:s3cret@127.0.0.1:1/",
        "postgres://u:s3cret@127.0.0.1:1",
        "postgresql://127.0.0.1:1/?sslmode=disable",
    ] {
        let err = failed(&trellis(cwd, &["migrate"], &[("DATABASE_URL", url)]));
        assert!(err.contains("the URL names no database") && !err.contains("s3cret"), "{url}: {err}");
    }
}

#[tokio::test]
async fn migrate_and_backup_on_a_postgres_database_url() {
    let _suite = crate::suite(module_path!());
    if !postgres_enabled(module_path!()) {
        return;
    }
    let db = TempDb::on(Backend::Postgres).await;
    let cwd = db.dir.path();
    let env = [("DATABASE_URL", db.url.as_str())];
    let out = ok(&trellis(cwd, &["migrate"], &env));
    assert!(out.contains("migrations applied to postgres://"), "{out}");
    assert!(db.connect().await.table_names().await.unwrap().contains(&"replies".to_string()));
    let err = failed(&trellis(cwd, &["backup", "copy.db"], &env));
    assert!(err.contains("pg_dump"), "{err}");
    assert!(!cwd.join("copy.db").exists());
}
