//! The store when the storage under it fails for real (issue 16, kinds 1
//! and 2): a SQLite file on a small tmpfs that fills up and is freed again,
//! and PostgreSQL rows held by another transaction. Each failure has its own
//! honest error (never "locked by another process" for a full disk), nothing
//! is half-written, and every connection of the pool works again afterwards.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use sqlx::Connection as _;
use trellis::domain::{AnswerInput, CheckInId, CohortId, ReplySource, UserId};
use trellis::store::{NewAnswer, NewCheckIn, Store, StoreError};
use trellis_testkit::{Backend, GUILD, TempDb, USER0, seed_cohort, seed_open_checkin, seed_recorded_checkin};

fn answer(cohort_id: CohortId, checkin_id: CheckInId, user: u64, text: &str) -> NewAnswer {
    NewAnswer {
        cohort_id,
        checkin_id,
        user_id: UserId::new(user),
        input: AnswerInput::parse(text, "3").unwrap(),
        source: ReplySource::Modal,
        dm_message_id: None,
        now: Utc::now(),
    }
}

/// A tmpfs of 8 MB mounted for this test (root only), unmounted when dropped.
struct SmallDisk {
    _dir: tempfile::TempDir,
    mount: PathBuf,
}

impl SmallDisk {
    fn mount() -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let mount = dir.path().join("disk");
        std::fs::create_dir(&mount).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"])
            .arg(&mount)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "mount a tmpfs (this test needs root; the process test storage:: needs no root)");
        SmallDisk { _dir: dir, mount }
    }

    /// Writes a filler file until the disk is full.
    fn fill(&self) -> PathBuf {
        use std::io::Write as _;
        let path = self.mount.join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.mount).status();
    }
}

fn is_root() -> bool {
    std::process::Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// Empties the WAL so the next commit must grow it.
async fn truncate_wal(db: &Path) {
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(db);
    let mut conn = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut conn).await.unwrap();
    conn.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_each_write_honestly_and_every_connection_works_once_space_is_freed() {
    if !is_root() {
        // Mounting needs root; tests/process/storage.rs shows the same kind with a file-size limit, no root needed.
        eprintln!("storage_failures: tmpfs test skipped (not root)");
        return;
    }
    let disk = SmallDisk::mount();
    let path = disk.mount.join("trellis.db");
    let store = Store::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    store.migrate().await.unwrap();
    let cohort = seed_cohort(&store, "c", GUILD, 11, trellis_testkit::YEARLY).await;
    let now = Utc::now();
    let checkin = seed_recorded_checkin(&store, cohort, now, now + chrono::Duration::days(1)).await;

    truncate_wal(&path).await;
    let filler = disk.fill();
    // More failing writes than the pool has connections, of every kind of transaction.
    for i in 0..6 {
        let user = USER0 + i;
        let e = store.save_answer(answer(cohort, checkin, user, "under a full disk")).await.unwrap_err();
        assert!(matches!(e, StoreError::Unwritable(_)), "answer {i}: {e:?}");
        let e = store.join(cohort, UserId::new(user), now).await.unwrap_err();
        assert!(matches!(e, StoreError::Unwritable(_)), "join {i}: {e:?}");
        let row = NewCheckIn {
            cohort_id: cohort,
            occurrence_at: now + chrono::Duration::seconds(i as i64 + 1),
            closes_at: now + chrono::Duration::days(1),
            prompt: None,
        };
        let e = store.record_checkin(&row).await.unwrap_err();
        assert!(matches!(e, StoreError::Unwritable(_)), "record {i}: {e:?}");
        assert!(e.to_string().contains("disk full"), "{e}");
    }
    std::fs::remove_file(filler).unwrap();

    for i in 0..6 {
        let user = USER0 + i;
        let saved = store.save_answer(answer(cohort, checkin, user, "after the disk was freed")).await;
        assert_eq!(saved.unwrap().answer, "after the disk was freed", "answer {i}");
        store.join(cohort, UserId::new(user), now).await.unwrap();
    }
    // Nothing half-written: no reply but those saved after, no check-in of the failed recordings.
    assert_eq!(store.replies_to_checkin(checkin).await.unwrap().len(), 6);
    assert_eq!(
        store.latest_occurrence(cohort).await.unwrap(),
        Some(store.checkin(checkin).await.unwrap().unwrap().occurrence_at)
    );
    store.close().await;
}

/// PostgreSQL: a claim or an answer that meets a row another transaction
/// holds gives up at `lock_timeout` (2 s, under Discord's 3 s) with
/// [`StoreError::TimedOut`], and works once the row is free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_or_an_answer_behind_a_row_lock_gives_up_at_the_lock_timeout() {
    if !trellis_testkit::postgres_enabled(module_path!()) {
        return;
    }
    let db = TempDb::migrated(Backend::Postgres).await;
    let (cohort, posted) = seed_open_checkin(&db).await;
    let store = db.store().await;
    let now = Utc::now();
    let other = seed_cohort(&store, "other", GUILD, 12, trellis_testkit::YEARLY).await;
    let recorded = seed_recorded_checkin(&store, other, now, now + chrono::Duration::days(1)).await;
    store.save_answer(answer(cohort, posted, USER0, "first")).await.unwrap();

    let mut holder = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("SELECT 1 FROM checkins WHERE id = $1 FOR UPDATE")
        .bind(recorded.get())
        .fetch_all(&mut holder)
        .await
        .unwrap();
    sqlx::query("SELECT 1 FROM replies WHERE user_id = $1 FOR UPDATE")
        .bind(USER0 as i64)
        .fetch_all(&mut holder)
        .await
        .unwrap();

    let started = Instant::now();
    let e = store.claim_post(recorded, now, now - chrono::Duration::minutes(2)).await.unwrap_err();
    let claim_took = started.elapsed();
    assert!(matches!(e, StoreError::TimedOut(_)), "{e:?}");
    let started = Instant::now();
    let e = store.save_answer(answer(cohort, posted, USER0, "second")).await.unwrap_err();
    let answer_took = started.elapsed();
    assert!(matches!(e, StoreError::TimedOut(_)), "{e:?}");
    println!("behind a row lock: the claim gave up after {claim_took:?}, the answer after {answer_took:?}");
    for took in [claim_took, answer_took] {
        assert!(took >= Duration::from_millis(1900) && took < Duration::from_secs(3), "{took:?}");
    }
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();

    assert!(store.claim_post(recorded, now, now - chrono::Duration::minutes(2)).await.unwrap());
    assert_eq!(store.save_answer(answer(cohort, posted, USER0, "second")).await.unwrap().answer, "second");
}
