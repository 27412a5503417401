//! Throughput at Discord's limits (issue 12): an answer is one transaction
//! and answers arriving together share a commit.

use std::time::{Duration as StdDuration, Instant};

use trellis::domain::{AnswerInput, CheckInId, CohortId, ReplySource, UserId};
use trellis::store::{NewAnswer, Store, StoreError};
use trellis_testkit::{TempDb, USER0, seed_open_checkin};

fn answer(cohort_id: CohortId, checkin_id: CheckInId, user: u64, text: &str) -> NewAnswer {
    NewAnswer {
        cohort_id,
        checkin_id,
        user_id: UserId::new(user),
        input: AnswerInput::parse(text, "3").unwrap(),
        source: ReplySource::Modal,
        now: chrono::Utc::now(),
    }
}

/// A check-in id no row has: the reply's foreign key refuses it, after the
/// member's join has already run in the same transaction.
const NO_SUCH_CHECKIN: CheckInId = CheckInId::new(987_654);

async fn open(db: &TempDb) -> (Store, CohortId, CheckInId) {
    let (cohort, checkin) = seed_open_checkin(db).await;
    (db.store().await, cohort, checkin)
}

#[tokio::test]
async fn a_failed_answer_leaves_no_membership_behind() {
    let db = TempDb::new();
    let (store, cohort, checkin) = open(&db).await;
    let err = store.save_answer(answer(cohort, NO_SUCH_CHECKIN, USER0, "orphan")).await.unwrap_err();
    assert!(matches!(err, StoreError::Sqlx(_)), "{err:?}");
    assert!(store.member(cohort, UserId::new(USER0)).await.unwrap().is_none(), "the join was rolled back with it");

    let reply = store.save_answer(answer(cohort, checkin, USER0, "the real one")).await.unwrap();
    assert_eq!(reply.answer, "the real one");
    let member = store.member(cohort, UserId::new(USER0)).await.unwrap().expect("joined with the answer");
    assert!(member.left_at.is_none());
}

/// On a current-thread runtime the 200 tasks below all queue their answer
/// before the writer task runs again, so they share one or two commits.
#[tokio::test]
async fn answers_arriving_together_share_a_commit_and_a_bad_one_fails_alone() {
    let db = TempDb::new();
    let (store, cohort, checkin) = open(&db).await;
    let tasks: Vec<_> = (0..200u64)
        .map(|i| {
            let store = store.clone();
            let target = if i % 10 == 7 { NO_SUCH_CHECKIN } else { checkin };
            let a = answer(cohort, target, USER0 + i, &format!("member {i} shipped the migration"));
            tokio::spawn(async move { store.save_answer(a).await })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let commits = store.answer_commits();
    println!("200 answers at once: {commits} commit(s)");
    assert!(commits <= 2, "group commit: {commits} commits for 200 answers");
    for (i, r) in results.iter().enumerate() {
        let user = UserId::new(USER0 + i as u64);
        let stored = store.reply(checkin, user).await.unwrap();
        let member = store.member(cohort, user).await.unwrap();
        if i % 10 == 7 {
            assert!(r.is_err(), "answer {i} names no check-in");
            assert!(member.is_none(), "answer {i}: its join rolled back with it");
        } else {
            let reply = r.as_ref().unwrap_or_else(|e| panic!("answer {i} failed: {e:?}"));
            assert_eq!(stored.as_ref().map(|s| &s.answer), Some(&reply.answer), "answer {i} stored as confirmed");
            assert!(member.is_some(), "member {i} joined");
        }
    }
    assert_eq!(store.replies_of_cohort(cohort).await.unwrap().len(), 180);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_under_a_held_write_lock_fail_as_locked_within_the_busy_timeout() {
    let db = TempDb::new();
    let (store, cohort, checkin) = open(&db).await;
    let raw = db.raw().await;
    let mut lock = raw.acquire().await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut *lock).await.unwrap();

    let started = Instant::now();
    let tasks: Vec<_> = (0..8u64)
        .map(|i| {
            let store = store.clone();
            let a = answer(cohort, checkin, USER0 + i, "written while locked");
            tokio::spawn(async move { (store.save_answer(a).await, started.elapsed()) })
        })
        .collect();
    for t in tasks {
        let (r, took) = t.await.unwrap();
        assert!(matches!(r, Err(StoreError::Locked(_))), "{r:?}");
        assert!(took < StdDuration::from_millis(2800), "told within Discord's 3 s: {took:?}");
    }
    sqlx::query("ROLLBACK").execute(&mut *lock).await.unwrap();
    drop(lock);
    assert!(store.replies_of_cohort(cohort).await.unwrap().is_empty(), "nothing saved");
    let again = answer(cohort, checkin, USER0, "once the lock is gone");
    assert_eq!(store.save_answer(again).await.unwrap().answer, "once the lock is gone");
}
