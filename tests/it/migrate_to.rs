//! `trellis migrate-to`'s copy, in process: a SQLite database with a row in
//! every table comes back the same from PostgreSQL; a target with rows, a
//! running bot, a table the copy does not know and wrong URLs are refused.
//! Needs TRELLIS_TEST_POSTGRES_URL (skipped, saying so, without it).

use chrono::Duration;
use trellis::domain::{ImpactInput, Instance, Slot};
use trellis::migrate_to::{self, MigrateToError};
use trellis::store::transfer::{TABLES, TransferError};
use trellis_testkit::every_table::{fingerprint, seed_every_table};
use trellis_testkit::typed::ALICE;
use trellis_testkit::{Backend, TempDb, postgres_enabled, utc};

const T0: &str = "2027-01-04T08:00:00Z";

/// A SQLite database with a row in every table, and an empty PostgreSQL one.
async fn source_and_target() -> (TempDb, TempDb) {
    let source = TempDb::on(Backend::Sqlite).await;
    let store = source.store().await;
    seed_every_table(&store, utc(T0)).await;
    store.close().await;
    (source, TempDb::on(Backend::Postgres).await)
}

#[tokio::test]
async fn every_table_is_copied_and_reads_back_the_same() {
    if !postgres_enabled(module_path!()) {
        return;
    }
    let (source, target) = source_and_target().await;
    let now = utc(T0) + Duration::weeks(3);
    let copied = migrate_to::run(&source.url, &target.url, now).await.expect("copy");
    assert_eq!(copied.iter().map(|(t, _)| *t).collect::<Vec<_>>(), TABLES, "every table, in foreign-key order");
    for (table, n) in &copied {
        assert!(*n > 0, "the seed leaves {table} empty: the round trip would not test it");
    }
    let report = migrate_to::report(&target.url, &copied);
    assert!(report.contains("reply_edits") && report.contains("total"), "{report}");

    let (lite, pg) = (source.store().await, target.store().await);
    let (before, after) = (fingerprint(&lite, now).await, fingerprint(&pg, now).await);
    assert!(before.contains("export csv") && before.contains("packet"), "{before}");
    assert_eq!(before, after, "the copy reads back differently");

    // The copy is a working database: new rows get ids after the copied ones.
    let cohort = pg.cohort_by_name(trellis_testkit::every_table::COHORTS[0]).await.unwrap().unwrap();
    let largest = pg.impact_of_cohort(cohort.id).await.unwrap().iter().map(|e| e.id).max().unwrap();
    let input = ImpactInput::parse("after the move", "e", "w", "").unwrap();
    let new = pg.insert_impact(cohort.id, ALICE, &input, now).await.expect("insert after the copy");
    assert!(new.id > largest, "{:?} after {largest:?}", new.id);
}

#[tokio::test]
async fn a_target_with_rows_is_refused_naming_the_table_and_left_unchanged() {
    if !postgres_enabled(module_path!()) {
        return;
    }
    let (source, target) = source_and_target().await;
    let now = utc(T0) + Duration::weeks(3);
    migrate_to::run(&source.url, &target.url, now).await.expect("first copy");
    let pg = target.store().await;
    let before = fingerprint(&pg, now).await;
    let err = migrate_to::run(&source.url, &target.url, now).await.unwrap_err();
    let MigrateToError::Copy { source: TransferError::TargetNotEmpty(table), .. } = &err else { panic!("{err}") };
    assert_eq!(*table, "cohorts");
    let chain = format!("{:#}", anyhow::Error::from(err));
    assert!(chain.contains("table `cohorts` holds rows"), "{chain}");
    assert_eq!(fingerprint(&pg, now).await, before);

    // Only the dm_channels table holds a row: still refused, and that table is named.
    let other = TempDb::on(Backend::Postgres).await;
    let store = other.store().await;
    store.remember_dm_channel(ALICE, trellis::domain::ChannelId::new(5), now).await.unwrap();
    let err = migrate_to::run(&source.url, &other.url, now).await.unwrap_err();
    assert!(matches!(&err, MigrateToError::Copy { source: TransferError::TargetNotEmpty("dm_channels"), .. }), "{err}");
}

#[tokio::test]
async fn a_running_bot_on_the_source_is_refused_until_its_lease_is_stale() {
    if !postgres_enabled(module_path!()) {
        return;
    }
    let (source, target) = source_and_target().await;
    let now = utc(T0) + Duration::weeks(3);
    let lite = source.store().await;
    let running = Instance {
        holder: "elsewhere/1/1".into(),
        host: "other-box".into(),
        host_key: "other-box/boot/ns".into(),
        pid: 77,
        started_at: now - Duration::hours(1),
        heartbeat_at: now - Duration::seconds(5),
    };
    let slot = Slot::shards(0, 1, 2).unwrap();
    assert!(lite.insert_instance(slot, &running).await.unwrap());
    let err = migrate_to::run(&source.url, &target.url, now).await.unwrap_err();
    assert!(matches!(err, MigrateToError::Running { .. }), "{err}");
    let line = err.to_string();
    assert!(line.contains("other-box") && line.contains("pid 77") && line.contains("stop it"), "{line}");
    assert!(target.connect().await.table_names().await.unwrap().is_empty(), "refused before touching the target");

    // 30 s after its last heartbeat the lease is stale: a crashed run does not block the move.
    let later = now + Duration::seconds(26);
    migrate_to::run(&source.url, &target.url, later).await.expect("stale lease");
}

#[tokio::test]
async fn a_table_the_copy_does_not_know_is_refused() {
    if !postgres_enabled(module_path!()) {
        return;
    }
    let (source, target) = source_and_target().await;
    let pool = source.raw().await;
    sqlx::query("CREATE TABLE later_feature (id INTEGER PRIMARY KEY)").execute(&pool).await.unwrap();
    pool.close().await;
    let now = utc(T0) + Duration::weeks(3);
    let err = migrate_to::run(&source.url, &target.url, now).await.unwrap_err();
    assert!(
        matches!(&err, MigrateToError::Copy { source: TransferError::UnknownTable(t), .. } if t == "later_feature"),
        "{err}"
    );
}

#[tokio::test]
async fn wrong_urls_are_refused_before_anything_is_opened() {
    let source = TempDb::new();
    let err = migrate_to::run(&source.url, "mysql://db/trellis", utc(T0)).await.unwrap_err();
    assert!(matches!(err, MigrateToError::TargetNotPostgres(_)), "{err}");
    assert!(err.to_string().contains("postgres://USER@HOST/DATABASE"), "{err}");
    let err =
        migrate_to::run("postgres://u:s3cret@db/trellis", "postgres://u:s3cret@db/other", utc(T0)).await.unwrap_err();
    assert!(matches!(err, MigrateToError::SourceNotSqlite(_)), "{err}");
    assert!(!err.to_string().contains("s3cret"), "{err}");
    assert!(!source.path.exists(), "nothing was created");
    // A missing SQLite file is not created either.
    let err = migrate_to::run(&source.url, "postgres://u@127.0.0.1:1/trellis", utc(T0)).await.unwrap_err();
    assert!(matches!(err, MigrateToError::Source { .. }), "{err}");
    assert!(!source.path.exists(), "nothing was created");
}
