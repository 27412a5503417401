//! The store on real databases, each test on both backends (a SQLite file;
//! a PostgreSQL database when TRELLIS_TEST_POSTGRES_URL is set): migrations,
//! round trips per table family, forget-user, and uniqueness under
//! concurrent writers (separate pools, as separate processes would be).

use std::collections::HashSet;

use chrono::Duration;
use trellis::domain::{
    AnswerInput, ChannelId, CheckInId, CheckInStatus, CohortId, CohortSource, DeliveryTarget, DeskGrant, EvidenceInput,
    GuildId, ImpactInput, MessageId, NoteInput, PathStep, PostedPrompt, ProjectInput, Reply, ReplySource, Schedule,
    Track, UserId, occurrence_nonce,
};
use trellis::store::{NewCheckIn, NewDeliveryFailure, NewNote, Store, StoreError};
use trellis_testkit::typed::{ALICE, BOB, CAROL, CHANNEL, GUILD, OTHER_CHANNEL};
use trellis_testkit::{Backend, TempDb, on_both_backends, rows_holding, spec, temp_store_on, utc};

fn prompt(id: &str) -> Option<PostedPrompt> {
    Some(PostedPrompt { id: id.into(), track: Track::Scope, question: format!("question {id}?") })
}

fn answer(text: &str, confidence: &str) -> AnswerInput {
    AnswerInput::parse(text, confidence).unwrap()
}

const T0: &str = "2027-01-04T08:00:00Z";

/// A note by `author` on `reply`.
fn new_note<'a>(reply: &Reply, cohort_id: CohortId, author: UserId, input: &'a NoteInput) -> NewNote<'a> {
    NewNote {
        reply_id: reply.id,
        checkin_id: reply.checkin_id,
        cohort_id,
        member_id: reply.user_id,
        author_id: author,
        author_name: "Mentor Name",
        input,
    }
}

/// A store with one cohort and one posted check-in; returns (cohort id, check-in id).
async fn with_checkin(store: &Store) -> (CohortId, CheckInId) {
    let t0 = utc(T0);
    let cohort =
        store.insert_cohort(&spec("c", CHANNEL, "0 0 9 * * Mon", "UTC"), CohortSource::Discord, t0).await.unwrap();
    let k = store
        .record_checkin(&NewCheckIn {
            cohort_id: cohort.id,
            occurrence_at: t0,
            closes_at: t0 + Duration::weeks(1),
            prompt: prompt("scope-01"),
        })
        .await
        .unwrap()
        .unwrap();
    assert!(store.claim_post(k.id, t0, t0 - Duration::minutes(2)).await.unwrap());
    store.mark_posted(k.id, MessageId::new(42), t0).await.unwrap();
    (cohort.id, k.id)
}

async fn migrations_apply_to_an_empty_database_and_are_idempotent(backend: Backend) {
    let db = TempDb::on(backend).await;
    if backend == Backend::Sqlite {
        assert!(!db.path.exists());
    }
    let store = db.connect().await;
    if backend == Backend::Sqlite {
        assert!(db.path.is_file(), "connect creates the file");
    }
    assert_eq!(store.backend(), backend);
    assert!(store.table_names().await.unwrap().is_empty());
    store.migrate().await.unwrap();
    let tables = store.table_names().await.unwrap();
    for t in ["checkins", "cohorts", "impact_entries", "members", "pauses", "replies", "reminders", "reply_edits"] {
        assert!(tables.iter().any(|n| n == t), "missing table {t}: {tables:?}");
    }
    store.migrate().await.unwrap();
    store.close().await;

    // A second process opening the migrated database sees the same schema.
    let again = db.connect().await;
    again.migrate().await.unwrap();
    assert_eq!(again.table_names().await.unwrap(), tables);
}
on_both_backends!(migrations_apply_to_an_empty_database_and_are_idempotent);

/// Both backends hold the same schema: the same tables and columns, the
/// same unique keys and foreign keys, the same indexes (by name).
#[tokio::test]
async fn the_two_schemas_match() {
    if !trellis_testkit::postgres_enabled(module_path!()) {
        return;
    }
    let lite = TempDb::on(Backend::Sqlite).await;
    let pg = TempDb::on(Backend::Postgres).await;
    lite.store().await;
    pg.store().await;
    let (lite, pg) = (trellis_testkit::schema_of(&lite).await, trellis_testkit::schema_of(&pg).await);
    // What is compared is really there (a reader of both would see the same nothing).
    assert_eq!(lite.tables.len(), 20, "{lite:#?}");
    assert_eq!((lite.foreign_keys.len(), lite.triggers.len()), (16, 4), "{lite:#?}");
    assert!(lite.unique_keys.len() >= 8 && lite.indexes.len() >= 25, "{lite:#?}");
    assert_eq!(lite, pg);
}

#[tokio::test]
async fn connect_rejects_a_bad_url() {
    let dir = tempfile::tempdir().unwrap();
    let stray = dir.path().join("postgres:");
    let url = format!("postgres:{}/trellis", dir.path().display());
    for bad in [url.as_str(), "mysql://localhost/trellis", "postgres//localhost/trellis", "sqlite://", "sqlite:"] {
        let err = Store::connect(bad).await.unwrap_err();
        assert!(matches!(err, StoreError::Url { .. }), "{bad}: {err}");
        let line = err.to_string();
        assert!(line.contains("sqlite://data/trellis.db"), "say what is expected: {line}");
        if !bad.starts_with("sqlite:") {
            assert!(line.contains("postgres://"), "name both accepted forms: {line}");
        }
    }
    assert!(!stray.exists(), "a refused URL must not create anything");
    assert!(!std::path::Path::new("postgres:").exists());
    assert!(!std::path::Path::new("mysql:").exists());
    // In-memory databases are fine.
    let mem = Store::connect("sqlite::memory:").await.unwrap();
    mem.migrate().await.unwrap();
}

/// A PostgreSQL server that cannot be reached is named in the error, without the password.
#[tokio::test]
async fn an_unreachable_postgres_server_is_named_without_its_password() {
    let started = std::time::Instant::now();
    // Port 1: nothing listens there, the connection is refused at once.
    let err = Store::connect("postgres://trellis:s3cret-pw@127.0.0.1:1/trellis").await.unwrap_err();
    assert!(matches!(err, StoreError::Connect { .. }), "{err}");
    let line = format!("{err}: {:?}", std::error::Error::source(&err));
    assert!(line.contains("postgres://trellis:***@127.0.0.1:1/trellis"), "{line}");
    assert!(!line.contains("s3cret-pw"), "never show the password: {line}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "gave up in {:?}", started.elapsed());
}

async fn cohorts_round_trip(backend: Backend) {
    let (_db, store) = temp_store_on(backend).await;
    let t0 = utc(T0);
    let mut s = spec("staff-path", CHANNEL, "0 0 9 * * Mon", "Europe/Berlin");
    s.reminder_after = Some(std::time::Duration::from_secs(48 * 3600));
    s.digest_channel_id = Some(ChannelId::new(444_444_444_444_444_444));
    s.tracks = vec![Track::Judgment, Track::Scope];
    let c = store.insert_cohort(&s, CohortSource::File, t0).await.unwrap();
    assert_eq!(c.spec, s);
    assert_eq!(c.source, CohortSource::File);
    assert!(c.active);
    assert_eq!(c.created_at, t0);

    assert_eq!(store.cohort(c.id).await.unwrap().unwrap(), c);
    assert_eq!(store.cohort_by_channel(CHANNEL).await.unwrap().unwrap(), c);
    assert_eq!(store.cohort_by_name("staff-path").await.unwrap().unwrap(), c);
    assert!(store.cohort_by_channel(OTHER_CHANNEL).await.unwrap().is_none());
    assert!(store.cohort_by_name("other").await.unwrap().is_none());

    // The same name in another channel is refused with a clear error.
    let clash = store
        .insert_cohort(&spec("staff-path", OTHER_CHANNEL, "0 0 9 * * Mon", "UTC"), CohortSource::Discord, t0)
        .await;
    assert!(matches!(clash, Err(StoreError::NameTaken { ref name }) if name == "staff-path"), "{clash:?}");
    // The same channel twice is refused too.
    assert!(
        store.insert_cohort(&spec("other", CHANNEL, "0 0 9 * * Mon", "UTC"), CohortSource::Discord, t0).await.is_err()
    );

    // Update in place.
    let mut s2 = s.clone();
    s2.schedule = Schedule::parse("0 30 17 * * Fri", "America/New_York").unwrap();
    s2.reminder_after = None;
    s2.digest_channel_id = None;
    s2.tracks = Track::ALL.to_vec();
    let later = t0 + Duration::days(1);
    let u = store.update_cohort(c.id, &s2, CohortSource::File, later).await.unwrap();
    assert_eq!(u.id, c.id);
    assert_eq!(u.spec, s2);
    assert_eq!(u.created_at, t0, "an update keeps the creation time");

    // Deactivate: gone from the active lists, still found by channel.
    let other = store
        .insert_cohort(&spec("other", OTHER_CHANNEL, "0 0 9 * * Tue", "UTC"), CohortSource::Discord, t0)
        .await
        .unwrap();
    assert_eq!(store.active_cohorts().await.unwrap().len(), 2);
    assert!(store.deactivate_cohort(other.id, later).await.unwrap());
    assert!(!store.deactivate_cohort(other.id, later).await.unwrap(), "already inactive");
    let active = store.active_cohorts().await.unwrap();
    assert_eq!(active.iter().map(|c| c.id).collect::<Vec<_>>(), vec![c.id]);
    assert_eq!(store.active_cohorts_in_guild(GUILD).await.unwrap().len(), 1);
    assert!(store.active_cohorts_in_guild(GuildId::new(1)).await.unwrap().is_empty());
    assert!(!store.cohort_by_channel(OTHER_CHANNEL).await.unwrap().unwrap().active);

    // Updating reactivates.
    let back = store.update_cohort(other.id, &other.spec, CohortSource::Discord, later).await.unwrap();
    assert!(back.active);

    // Renaming onto a taken name is NameTaken as well.
    let mut renamed = other.spec.clone();
    renamed.name = "staff-path".into();
    assert!(matches!(
        store.update_cohort(other.id, &renamed, CohortSource::Discord, later).await,
        Err(StoreError::NameTaken { .. })
    ));
}
on_both_backends!(cohorts_round_trip);

async fn members_join_leave_rejoin(backend: Backend) {
    let (_db, store) = temp_store_on(backend).await;
    let t0 = utc(T0);
    let c = store.insert_cohort(&spec("c", CHANNEL, "0 0 9 * * Mon", "UTC"), CohortSource::Discord, t0).await.unwrap();

    assert!(store.member(c.id, ALICE).await.unwrap().is_none());
    assert!(store.join(c.id, ALICE, t0).await.unwrap());
    assert!(!store.join(c.id, ALICE, t0 + Duration::hours(1)).await.unwrap(), "already a member");
    let m = store.member(c.id, ALICE).await.unwrap().unwrap();
    assert_eq!(m.joined_at, t0, "joining again does not reset the join time");
    assert_eq!(m.left_at, None);
    assert_eq!(store.memberships_of(ALICE).await.unwrap().len(), 1);

    let t1 = t0 + Duration::days(3);
    assert!(store.leave(c.id, ALICE, t1).await.unwrap());
    assert!(!store.leave(c.id, ALICE, t1).await.unwrap(), "already left");
    assert!(!store.leave(c.id, BOB, t1).await.unwrap(), "never joined");
    assert_eq!(store.member(c.id, ALICE).await.unwrap().unwrap().left_at, Some(t1));
    assert!(store.memberships_of(ALICE).await.unwrap().is_empty());
    assert_eq!(store.members(c.id).await.unwrap().len(), 1, "former members are kept");

    let t2 = t1 + Duration::days(3);
    assert!(store.join(c.id, ALICE, t2).await.unwrap(), "rejoin");
    let m = store.member(c.id, ALICE).await.unwrap().unwrap();
    assert_eq!((m.joined_at, m.left_at), (t2, None));

    // Memberships of a deactivated cohort do not count.
    store.deactivate_cohort(c.id, t2).await.unwrap();
    assert!(store.memberships_of(ALICE).await.unwrap().is_empty());
}
on_both_backends!(members_join_leave_rejoin);

async fn pauses_and_resume(backend: Backend) {
    let (_db, store) = temp_store_on(backend).await;
    let t0 = utc(T0);
    let c = store.insert_cohort(&spec("c", CHANNEL, "0 0 9 * * Mon", "UTC"), CohortSource::Discord, t0).await.unwrap();
    store.join(c.id, ALICE, t0).await.unwrap();

    assert!(!store.resume(c.id, ALICE, t0).await.unwrap(), "nothing to resume");
    store.pause(c.id, ALICE, t0, t0 + Duration::weeks(2)).await.unwrap();
    let p = store.pauses(c.id, ALICE).await.unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!((p[0].starts_at, p[0].ends_at), (t0, t0 + Duration::weeks(2)));

    // A new pause replaces the running one.
    let t1 = t0 + Duration::days(1);
    store.pause(c.id, ALICE, t1, t1 + Duration::weeks(3)).await.unwrap();
    let p = store.pauses(c.id, ALICE).await.unwrap();
    assert_eq!(p.len(), 2);
    assert_eq!(p[0].ends_at, t1, "the first pause is cut at the second's start");
    assert_eq!(p[1].ends_at, t1 + Duration::weeks(3));

    let t2 = t1 + Duration::days(2);
    assert!(store.resume(c.id, ALICE, t2).await.unwrap());
    assert!(!store.resume(c.id, ALICE, t2 + Duration::hours(1)).await.unwrap());
    assert_eq!(store.pauses(c.id, ALICE).await.unwrap().last().unwrap().ends_at, t2);
    assert!(store.pauses(c.id, BOB).await.unwrap().is_empty());
}
on_both_backends!(pauses_and_resume);

async fn checkins_record_claim_post_miss_open(backend: Backend) {
    let (_db, store) = temp_store_on(backend).await;
    let t0 = utc(T0);
    let c = store.insert_cohort(&spec("c", CHANNEL, "0 0 9 * * Mon", "UTC"), CohortSource::Discord, t0).await.unwrap();
    let week = Duration::weeks(1);
    let new = NewCheckIn { cohort_id: c.id, occurrence_at: t0, closes_at: t0 + week, prompt: prompt("scope-01") };

    assert_eq!(store.latest_occurrence(c.id).await.unwrap(), None);
    let k = store.record_checkin(&new).await.unwrap().expect("first record wins");
    assert_eq!(k.status, CheckInStatus::Recorded);
    assert_eq!(k.nonce, occurrence_nonce(c.id, t0));
    assert!(k.nonce.len() <= 25, "Discord nonces are at most 25 chars: {}", k.nonce);
    assert_eq!(k.prompt, prompt("scope-01"));
    assert!(store.record_checkin(&new).await.unwrap().is_none(), "one row per occurrence");
    assert_eq!(store.latest_occurrence(c.id).await.unwrap(), Some(t0));
    assert_eq!(store.unposted_checkins().await.unwrap().len(), 1);
    assert!(store.open_checkin(c.id, t0).await.unwrap().is_none(), "not open until posted");

    // Claim: one winner; a fresh claim is not taken over, a stale one is.
    let lease = Duration::minutes(2);
    assert!(store.claim_post(k.id, t0, t0 - lease).await.unwrap());
    assert!(!store.claim_post(k.id, t0 + Duration::seconds(30), t0 + Duration::seconds(30) - lease).await.unwrap());
    let later = t0 + Duration::minutes(3);
    assert!(store.claim_post(k.id, later, later - lease).await.unwrap(), "stale claim taken over");
    assert_eq!(store.checkin(k.id).await.unwrap().unwrap().status, CheckInStatus::Posting);
    assert_eq!(store.unposted_checkins().await.unwrap().len(), 1, "a claim is still unposted");

    // Release puts it back.
    store.release_post(k.id).await.unwrap();
    assert_eq!(store.checkin(k.id).await.unwrap().unwrap().status, CheckInStatus::Recorded);
    assert!(store.claim_post(k.id, later, later - lease).await.unwrap());

    store.mark_posted(k.id, MessageId::new(777), later).await.unwrap();
    let posted = store.checkin(k.id).await.unwrap().unwrap();
    assert_eq!(posted.status, CheckInStatus::Posted);
    assert_eq!(posted.message_id, Some(MessageId::new(777)));
    assert!(store.unposted_checkins().await.unwrap().is_empty());
    assert!(!store.claim_post(k.id, later, later).await.unwrap(), "posted is final");
    store.mark_missed(k.id).await.unwrap();
    assert_eq!(store.checkin(k.id).await.unwrap().unwrap().status, CheckInStatus::Posted, "posted stays posted");

    // Open in [occurrence, closes).
    assert!(store.open_checkin(c.id, t0 - Duration::seconds(1)).await.unwrap().is_none());
    assert_eq!(store.open_checkin(c.id, t0).await.unwrap().unwrap().id, k.id);
    assert_eq!(store.open_checkin(c.id, t0 + week - Duration::seconds(1)).await.unwrap().unwrap().id, k.id);
    assert!(store.open_checkin(c.id, t0 + week).await.unwrap().is_none());
    assert!(posted.is_open_at(t0) && !posted.is_open_at(t0 + week));

    // Open for a member only through an active membership of an active cohort.
    assert!(store.open_checkins_for_member(ALICE, t0).await.unwrap().is_empty());
    store.join(c.id, ALICE, t0).await.unwrap();
    assert_eq!(store.open_checkins_for_member(ALICE, t0).await.unwrap().len(), 1);
    store.leave(c.id, ALICE, t0).await.unwrap();
    assert!(store.open_checkins_for_member(ALICE, t0).await.unwrap().is_empty());

    // A missed occurrence: recorded without a prompt, never posted.
    let missed = store
        .record_checkin(&NewCheckIn {
            cohort_id: c.id,
            occurrence_at: t0 + week,
            closes_at: t0 + week * 2,
            prompt: None,
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(missed.status, CheckInStatus::Missed);
    assert!(store.unposted_checkins().await.unwrap().is_empty());

    // A recorded one marked missed leaves the queue.
    let third = store
        .record_checkin(&NewCheckIn {
            cohort_id: c.id,
            occurrence_at: t0 + week * 2,
            closes_at: t0 + week * 3,
            prompt: prompt("scope-02"),
        })
        .await
        .unwrap()
        .unwrap();
    store.mark_missed(third.id).await.unwrap();
    assert_eq!(store.checkin(third.id).await.unwrap().unwrap().status, CheckInStatus::Missed);
    assert!(store.unposted_checkins().await.unwrap().is_empty());

    let all = store.checkins_of_cohort(c.id).await.unwrap();
    assert_eq!(all.iter().map(|k| k.occurrence_at).collect::<Vec<_>>(), vec![t0, t0 + week, t0 + week * 2]);
    assert_eq!(store.latest_occurrence(c.id).await.unwrap(), Some(t0 + week * 2));
    // The rotation history counts what was posted, not what was never shown.
    assert_eq!(store.prompt_history(c.id).await.unwrap(), vec!["scope-01".to_string()]);
}
on_both_backends!(checkins_record_claim_post_miss_open);

async fn replies_upsert_and_keep_history(backend: Backend) {
    let (_db, store) = temp_store_on(backend).await;
    let (cohort_id, k) = with_checkin(&store).await;
    let t0 = utc(T0);

    let r1 = store.upsert_reply(k, ALICE, &answer("first", "2"), ReplySource::Modal, t0).await.unwrap();
    assert_eq!((r1.answer.as_str(), r1.confidence), ("first", Some(2)));
    assert_eq!((r1.created_at, r1.updated_at), (t0, t0));
    assert!(store.reply_history(r1.id).await.unwrap().is_empty());

    let t1 = t0 + Duration::hours(1);
    let r2 = store.upsert_reply(k, ALICE, &answer("second", ""), ReplySource::Dm, t1).await.unwrap();
    assert_eq!(r2.id, r1.id, "an edit updates the same row");
    assert_eq!((r2.answer.as_str(), r2.confidence), ("second", None));
    assert_eq!((r2.created_at, r2.updated_at), (t0, t1));
    let h = store.reply_history(r1.id).await.unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!((h[0].answer.as_str(), h[0].confidence, h[0].written_at), ("first", Some(2), t0));

    // Same text and confidence again: no new history.
    let t2 = t1 + Duration::hours(1);
    store.upsert_reply(k, ALICE, &answer("second", ""), ReplySource::Modal, t2).await.unwrap();
    assert_eq!(store.reply_history(r1.id).await.unwrap().len(), 1);
    // Only the confidence changes: history.
    store.upsert_reply(k, ALICE, &answer("second", "5"), ReplySource::Modal, t2).await.unwrap();
    let h = store.reply_history(r1.id).await.unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!((h[1].answer.as_str(), h[1].confidence), ("second", None));

    let current = store.reply(k, ALICE).await.unwrap().unwrap();
    assert_eq!((current.answer.as_str(), current.confidence), ("second", Some(5)));
    assert!(store.reply(k, BOB).await.unwrap().is_none());

    store.upsert_reply(k, BOB, &answer("bob's", "3"), ReplySource::Modal, t2).await.unwrap();
    let all = store.replies_of_cohort(cohort_id).await.unwrap();
    assert_eq!(all.iter().map(|r| r.user_id).collect::<Vec<_>>(), vec![ALICE, BOB]);
    assert_eq!(store.replies_of_member(cohort_id, BOB).await.unwrap().len(), 1);
    assert!(store.replies_of_member(cohort_id, CAROL).await.unwrap().is_empty());

    // Unicode survives the round trip unchanged.
    let text = "🚀 שלום עולם، مرحبا — naïve café";
    let r = store.upsert_reply(k, CAROL, &answer(text, ""), ReplySource::Modal, t2).await.unwrap();
    assert_eq!(store.reply(k, CAROL).await.unwrap().unwrap().answer, text);
    assert_eq!(r.answer, text);
}
on_both_backends!(replies_upsert_and_keep_history);

async fn impact_entries_round_trip(backend: Backend) {
    let (_db, store) = temp_store_on(backend).await;
    let (cohort_id, _) = with_checkin(&store).await;
    let t0 = utc(T0);
    let input = ImpactInput::parse("p99 down", "820ms → 310ms", "checkout team", "https://x.test/1").unwrap();
    let e1 = store.insert_impact(cohort_id, ALICE, &input, t0).await.unwrap();
    assert_eq!(e1.what_changed, "p99 down");
    assert_eq!(e1.evidence, "820ms → 310ms");
    assert_eq!(e1.link.as_deref(), Some("https://x.test/1"));
    assert_eq!(e1.tracks, vec![Track::Impact]);
    assert_eq!(e1.recorded_at, t0);

    let no_link = ImpactInput::parse("b", "e", "w", "").unwrap();
    let e2 = store.insert_impact(cohort_id, ALICE, &no_link, t0 + Duration::days(1)).await.unwrap();
    assert_eq!(e2.link, None);
    store.insert_impact(cohort_id, BOB, &no_link, t0).await.unwrap();

    let mine = store.impact_of_member(cohort_id, ALICE, 10).await.unwrap();
    assert_eq!(mine.iter().map(|e| e.id).collect::<Vec<_>>(), vec![e2.id, e1.id], "newest first");
    assert_eq!(store.impact_of_member(cohort_id, ALICE, 1).await.unwrap().len(), 1);
    assert_eq!(store.impact_of_member(cohort_id, BOB, 10).await.unwrap().len(), 1);
}
on_both_backends!(impact_entries_round_trip);

async fn reminders_are_claimed_once(backend: Backend) {
    let (_db, store) = temp_store_on(backend).await;
    let (cohort_id, k) = with_checkin(&store).await;
    let t0 = utc(T0);
    for u in [ALICE, BOB, CAROL] {
        store.join(cohort_id, u, t0).await.unwrap();
    }
    // Bob answered; Carol is paused.
    store.upsert_reply(k, BOB, &answer("done", ""), ReplySource::Modal, t0).await.unwrap();
    store.pause(cohort_id, CAROL, t0, t0 + Duration::weeks(1)).await.unwrap();
    let at = t0 + Duration::days(2);
    assert_eq!(store.members_to_remind(cohort_id, k, at).await.unwrap(), vec![ALICE]);

    assert!(store.claim_reminder(k, ALICE, at).await.unwrap());
    assert!(!store.claim_reminder(k, ALICE, at).await.unwrap(), "second claim loses");
    assert!(store.members_to_remind(cohort_id, k, at).await.unwrap().is_empty());
    assert_eq!(store.reminders_sent(k).await.unwrap(), vec![ALICE]);

    // Releasing (a failed DM) lets a later tick claim again.
    store.release_reminder(k, ALICE).await.unwrap();
    assert_eq!(store.members_to_remind(cohort_id, k, at).await.unwrap(), vec![ALICE]);
    assert!(store.claim_reminder(k, ALICE, at).await.unwrap());

    // After Carol's pause ends she is due.
    let later = t0 + Duration::weeks(1);
    assert_eq!(store.members_to_remind(cohort_id, k, later).await.unwrap(), vec![CAROL]);
}
on_both_backends!(reminders_are_claimed_once);

async fn rows_mentioning_user_covers_every_table_with_a_user_id(backend: Backend) {
    let (db, store) = temp_store_on(backend).await;
    let counted: HashSet<&str> = store.rows_mentioning_user(ALICE).await.unwrap().into_iter().map(|(t, _)| t).collect();
    let mut with_user = Vec::new();
    for table in store.table_names().await.unwrap() {
        let cols = db.columns(&table).await;
        if cols.iter().any(|c| c == "user_id" || c.ends_with("_user_id")) {
            with_user.push(table.clone());
            assert!(counted.contains(table.as_str()), "rows_mentioning_user misses table {table}");
        }
    }
    assert!(with_user.len() >= 6, "{with_user:?}");
}
on_both_backends!(rows_mentioning_user_covers_every_table_with_a_user_id);

async fn forget_user_leaves_nothing_about_them_and_keeps_others(backend: Backend) {
    let (db, store) = temp_store_on(backend).await;
    let (cohort_id, k) = with_checkin(&store).await;
    let t0 = utc(T0);
    let other = store
        .insert_cohort(&spec("c2", OTHER_CHANNEL, "0 0 9 * * Tue", "UTC"), CohortSource::Discord, t0)
        .await
        .unwrap();
    let input = ImpactInput::parse("w", "e", "b", "").unwrap();
    for u in [ALICE, BOB] {
        store.join(cohort_id, u, t0).await.unwrap();
        store.join(other.id, u, t0).await.unwrap();
        store.pause(cohort_id, u, t0, t0 + Duration::weeks(1)).await.unwrap();
        store.upsert_reply(k, u, &answer("v1", "1"), ReplySource::Modal, t0).await.unwrap();
        store.upsert_reply(k, u, &answer("v2", "2"), ReplySource::Dm, t0).await.unwrap();
        store.insert_impact(cohort_id, u, &input, t0).await.unwrap();
        store.insert_impact(other.id, u, &input, t0).await.unwrap();
        store.claim_reminder(k, u, t0).await.unwrap();
        // Discord refused a DM and said they left the server.
        for target in [DeliveryTarget::MemberDm(u), DeliveryTarget::GuildMember(u)] {
            let f = NewDeliveryFailure { cohort_id, target, code: Some(50007), reason: "Cannot send", at: t0 };
            assert!(store.record_delivery_failure(&f).await.unwrap());
        }
        // The Staff path, each edited once (history), and a note on the answer
        // by a mentor (Carol), edited once.
        for v in ["v1", "v2"] {
            store.upsert_project(cohort_id, u, &ProjectInput::parse(v, "why", "teams").unwrap(), t0).await.unwrap();
            let evidence = EvidenceInput::parse(v, "").unwrap();
            store.upsert_step(cohort_id, u, PathStep::Plan, &evidence, t0).await.unwrap();
            let reply = store.reply(k, u).await.unwrap().unwrap();
            let input = NoteInput::parse(v).unwrap();
            store.upsert_note(&new_note(&reply, cohort_id, CAROL, &input), t0).await.unwrap();
        }
        store.remember_dm_channel(u, ChannelId::new(u.get() ^ (1 << 62)), t0).await.unwrap();
        // The desk: a session, and a link not used yet.
        let grant = DeskGrant {
            guild_id: trellis::domain::GuildId::new(trellis_testkit::GUILD),
            user_id: u,
            user_name: "name".into(),
            roles: vec![],
            can_manage: false,
        };
        let soon = t0 + Duration::minutes(10);
        let (a, b) = (format!("a{:063}", u.get()), format!("b{:063}", u.get()));
        store.insert_desk_link(&a, &grant, t0, soon).await.unwrap();
        store.insert_desk_link(&b, &grant, t0, soon).await.unwrap();
        store.redeem_desk_link(&a, &format!("c{:063}", u.get()), t0, soon).await.unwrap();
    }
    let before_bob = rows_holding(&db, BOB.get() as i64).await;
    assert!(store.rows_mentioning_user(ALICE).await.unwrap().iter().all(|(_, n)| *n > 0));

    let deleted = store.forget_user(ALICE).await.unwrap();
    assert_eq!(
        deleted,
        [
            ("note_edits", 1),
            ("notes", 1),
            ("path_step_edits", 1),
            ("path_steps", 1),
            ("path_project_edits", 1),
            ("path_projects", 1),
            ("reply_edits", 1),
            ("replies", 1),
            ("impact_entries", 2),
            ("reminders", 1),
            ("pauses", 1),
            ("members", 2),
            ("dm_channels", 1),
            ("delivery_failures", 2),
            ("desk_sessions", 1),
            ("desk_links", 2)
        ]
    );
    for (table, n) in store.rows_mentioning_user(ALICE).await.unwrap() {
        assert_eq!(n, 0, "{table} still mentions the user");
    }
    // Not only user_id columns: no column of any table holds the id.
    assert_eq!(rows_holding(&db, ALICE.get() as i64).await, vec![], "rows still mention the forgotten user");
    // Bob is untouched.
    assert_eq!(rows_holding(&db, BOB.get() as i64).await, before_bob);
    assert!(store.reply(k, BOB).await.unwrap().is_some());
    assert!(store.forget_user(ALICE).await.unwrap().iter().all(|(_, n)| *n == 0), "forgetting twice is harmless");
}
on_both_backends!(forget_user_leaves_nothing_about_them_and_keeps_others);

/// Two processes (two pools on one file) racing to record the same occurrence.
async fn concurrent_record_checkin_makes_one_row(backend: Backend) {
    let (db, store) = temp_store_on(backend).await;
    let t0 = utc(T0);
    let c = store.insert_cohort(&spec("c", CHANNEL, "0 0 9 * * Mon", "UTC"), CohortSource::Discord, t0).await.unwrap();
    let stores = [db.connect().await, db.connect().await];
    let mut tasks = Vec::new();
    for s in stores.clone() {
        let cohort_id = c.id;
        tasks.push(tokio::spawn(async move {
            let mut wins = 0;
            for i in 0..50 {
                let new = NewCheckIn {
                    cohort_id,
                    occurrence_at: t0,
                    closes_at: t0 + Duration::weeks(1),
                    prompt: prompt(&format!("p{i}")),
                };
                if s.record_checkin(&new).await.expect("no lock errors").is_some() {
                    wins += 1;
                }
            }
            wins
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += t.await.unwrap();
    }
    assert_eq!(wins, 1, "exactly one writer records the occurrence");
    assert_eq!(store.checkins_of_cohort(c.id).await.unwrap().len(), 1);

    // And exactly one of many racing claims wins.
    let k = store.checkins_of_cohort(c.id).await.unwrap().remove(0);
    let mut tasks = Vec::new();
    for s in stores {
        tasks.push(tokio::spawn(async move {
            let mut wins = 0;
            for _ in 0..50 {
                if s.claim_post(k.id, t0, t0 - Duration::minutes(2)).await.unwrap() {
                    wins += 1;
                }
            }
            wins
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += t.await.unwrap();
    }
    assert_eq!(wins, 1, "exactly one claim wins");
}
on_both_backends!(concurrent_record_checkin_makes_one_row, (flavor = "multi_thread", worker_threads = 2));

async fn concurrent_upsert_reply_keeps_one_current_and_the_rest_in_history(backend: Backend) {
    let (db, store) = temp_store_on(backend).await;
    let (_, k) = with_checkin(&store).await;
    let t0 = utc(T0);
    let mut tasks = Vec::new();
    for w in 0..2 {
        let s = db.connect().await;
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                let input = AnswerInput::parse(&format!("writer {w} version {i}"), "").unwrap();
                s.upsert_reply(k, ALICE, &input, ReplySource::Modal, t0 + Duration::seconds(i)).await.expect("upsert");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let current = store.reply(k, ALICE).await.unwrap().unwrap();
    let history = store.reply_history(current.id).await.unwrap();
    assert_eq!(history.len(), 99, "every replaced version is in the history");
    let mut all: HashSet<String> = history.into_iter().map(|h| h.answer).collect();
    all.insert(current.answer.clone());
    assert_eq!(all.len(), 100, "no version lost");

    assert_eq!(db.count("SELECT COUNT(*) FROM replies").await, 1, "one current reply");
}
on_both_backends!(
    concurrent_upsert_reply_keeps_one_current_and_the_rest_in_history,
    (flavor = "multi_thread", worker_threads = 2)
);

async fn backup_is_a_consistent_copy(backend: Backend) {
    let (db, store) = temp_store_on(backend).await;
    let (cohort_id, _) = with_checkin(&store).await;
    let target = db.dir.path().join("backup.db");
    if backend == Backend::Postgres {
        let err = store.backup_to(&target).await.unwrap_err();
        assert!(matches!(err, StoreError::Unsupported(_)) && err.to_string().contains("pg_dump"), "{err}");
        assert!(!target.exists());
        return;
    }
    store.backup_to(&target).await.unwrap();
    let copy = Store::connect(&format!("sqlite://{}", target.display())).await.unwrap();
    copy.migrate().await.unwrap();
    assert_eq!(copy.checkins_of_cohort(cohort_id).await.unwrap().len(), 1);
}
on_both_backends!(backup_is_a_consistent_copy);

async fn a_note_is_one_per_mentor_per_answer_and_an_edit_keeps_history_and_is_unseen_again(backend: Backend) {
    let (_db, store) = temp_store_on(backend).await;
    let (cohort_id, k) = with_checkin(&store).await;
    let t0 = utc(T0);
    store.join(cohort_id, ALICE, t0).await.unwrap();
    let reply = store.upsert_reply(k, ALICE, &answer("my answer", "3"), ReplySource::Modal, t0).await.unwrap();

    let first = NoteInput::parse("Good framing; who else needs to agree?").unwrap();
    let note = store.upsert_note(&new_note(&reply, cohort_id, BOB, &first), t0).await.unwrap();
    assert_eq!((note.member_id, note.author_id, note.checkin_id), (ALICE, BOB, k));
    assert_eq!(store.unseen_notes(cohort_id, ALICE).await.unwrap().len(), 1);
    assert_eq!(store.mark_notes_seen(&[note.id], t0, t0).await.unwrap(), 1);
    assert!(store.unseen_notes(cohort_id, ALICE).await.unwrap().is_empty());

    // The same text again changes nothing: still seen, no history.
    let again = store.upsert_note(&new_note(&reply, cohort_id, BOB, &first), t0 + Duration::hours(1)).await.unwrap();
    assert_eq!((again.id, again.updated_at, again.seen_at), (note.id, note.created_at, Some(t0)));
    assert!(store.note_history(note.id).await.unwrap().is_empty());

    // An edit keeps the old text and is unseen again.
    let edited_at = t0 + Duration::hours(2);
    let second = NoteInput::parse("Also: write the plan down first.").unwrap();
    let edited = store.upsert_note(&new_note(&reply, cohort_id, BOB, &second), edited_at).await.unwrap();
    assert_eq!((edited.id, edited.updated_at, edited.seen_at), (note.id, edited_at, None));
    assert_eq!(edited.text, "Also: write the plan down first.");
    let history = store.note_history(note.id).await.unwrap();
    assert_eq!(
        history.iter().map(|h| (h.text.as_str(), h.written_at)).collect::<Vec<_>>(),
        [(first.text.as_str(), t0)]
    );
    // A note edited after it was read stays unseen when the older read is marked.
    assert_eq!(store.mark_notes_seen(&[note.id], t0 + Duration::hours(1), edited_at).await.unwrap(), 0);

    // A second mentor's note on the same answer is its own row.
    let carol = store.upsert_note(&new_note(&reply, cohort_id, CAROL, &first), t0).await.unwrap();
    assert_ne!(carol.id, note.id);
    assert_eq!(store.notes_of_checkin(k).await.unwrap().len(), 2);
    assert_eq!(store.notes_of_member(cohort_id, ALICE).await.unwrap().len(), 2);
    assert_eq!(store.note_by(reply.id, CAROL).await.unwrap().unwrap().id, carol.id);
    let m = store.cohort_mentoring(cohort_id).await.unwrap();
    assert_eq!(m.noted.into_iter().collect::<Vec<_>>(), [(k, ALICE)], "one answer noted, whatever the notes on it");
}
on_both_backends!(a_note_is_one_per_mentor_per_answer_and_an_edit_keeps_history_and_is_unseen_again);

async fn path_steps_keep_their_first_date_and_their_history(backend: Backend) {
    let (_db, store) = temp_store_on(backend).await;
    let (cohort_id, _) = with_checkin(&store).await;
    let t0 = utc(T0);
    let later = t0 + Duration::days(10);
    let v1 = EvidenceInput::parse("Manager agreed the Staff rubric", "").unwrap();
    let v2 = EvidenceInput::parse("Rubric signed off", "https://docs.example/rubric").unwrap();
    let first = store.upsert_step(cohort_id, ALICE, PathStep::Expectations, &v1, t0).await.unwrap();
    let redone = store.upsert_step(cohort_id, ALICE, PathStep::Expectations, &v2, later).await.unwrap();
    assert_eq!((redone.id, redone.done_at, redone.updated_at), (first.id, t0, later));
    assert_eq!(redone.link.as_deref(), Some("https://docs.example/rubric"));
    let history = store.step_history(first.id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!((history[0].evidence.as_str(), history[0].link.as_deref()), ("Manager agreed the Staff rubric", None));
    store.upsert_step(cohort_id, ALICE, PathStep::Problem, &v1, later).await.unwrap();
    store.upsert_step(cohort_id, BOB, PathStep::Story, &v1, later).await.unwrap();

    let p1 = ProjectInput::parse("CI takes 40 minutes", "Every team waits", "web, mobile").unwrap();
    let p2 = ProjectInput::parse("CI takes 40 minutes", "Every team waits on it daily", "web, mobile, data").unwrap();
    store.upsert_project(cohort_id, ALICE, &p1, t0).await.unwrap();
    let project = store.upsert_project(cohort_id, ALICE, &p2, later).await.unwrap();
    assert_eq!((project.created_at, project.updated_at, project.teams.as_str()), (t0, later, "web, mobile, data"));
    assert_eq!(store.project_history(cohort_id, ALICE).await.unwrap().len(), 1);

    let path = store.staff_path(cohort_id, ALICE).await.unwrap();
    assert_eq!(path.steps.iter().map(|s| s.step).collect::<Vec<_>>(), [PathStep::Expectations, PathStep::Problem]);
    assert_eq!(path.next(), Some(PathStep::Plan));
    assert_eq!(path.project.unwrap().why, "Every team waits on it daily");
    let m = store.cohort_mentoring(cohort_id).await.unwrap();
    assert_eq!((m.steps_done(ALICE), m.steps_done(BOB), m.steps_done(CAROL)), (2, 1, 0));
    let (projects, steps) = store.paths_of_cohort(cohort_id).await.unwrap();
    assert_eq!((projects.len(), steps.len()), (1, 3));
}
on_both_backends!(path_steps_keep_their_first_date_and_their_history);

async fn forgetting_a_mentor_removes_the_notes_they_wrote_and_keeps_the_answers(backend: Backend) {
    let (db, store) = temp_store_on(backend).await;
    let (cohort_id, k) = with_checkin(&store).await;
    let t0 = utc(T0);
    let mut replies = Vec::new();
    for u in [ALICE, BOB] {
        store.join(cohort_id, u, t0).await.unwrap();
        replies.push(store.upsert_reply(k, u, &answer("answer", ""), ReplySource::Modal, t0).await.unwrap());
    }
    // Carol (a mentor) noted both answers, editing one; Bob noted Alice's too.
    for (reply, author, text) in
        [(&replies[0], CAROL, "v1"), (&replies[0], CAROL, "v2"), (&replies[1], CAROL, "v1"), (&replies[0], BOB, "b")]
    {
        let input = NoteInput::parse(text).unwrap();
        store.upsert_note(&new_note(reply, cohort_id, author, &input), t0).await.unwrap();
    }
    let deleted = store.forget_user(CAROL).await.unwrap();
    let total: u64 = deleted.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 3, "two notes and one earlier version: {deleted:?}");
    assert_eq!(rows_holding(&db, CAROL.get() as i64).await, vec![], "nothing holds the mentor's id");
    let left = store.notes_of_member(cohort_id, ALICE).await.unwrap();
    assert_eq!(left.iter().map(|n| n.author_id).collect::<Vec<_>>(), [BOB], "other mentors' notes stay");
    assert!(store.reply(k, ALICE).await.unwrap().is_some() && store.reply(k, BOB).await.unwrap().is_some());
}
on_both_backends!(forgetting_a_mentor_removes_the_notes_they_wrote_and_keeps_the_answers);

async fn the_earlier_answer_to_the_same_prompt_is_found_for_then_and_now(backend: Backend) {
    let (_db, store) = temp_store_on(backend).await;
    let t0 = utc(T0);
    let cohort =
        store.insert_cohort(&spec("c", CHANNEL, "0 0 9 * * Mon", "UTC"), CohortSource::Discord, t0).await.unwrap();
    let mut ids = Vec::new();
    for (week, prompt_id) in [(0, "scope-01"), (1, "scope-02"), (2, "scope-01"), (3, "scope-01")] {
        let at = t0 + Duration::weeks(week);
        let new = NewCheckIn {
            cohort_id: cohort.id,
            occurrence_at: at,
            closes_at: at + Duration::weeks(1),
            prompt: prompt(prompt_id),
        };
        ids.push(store.record_checkin(&new).await.unwrap().unwrap());
    }
    store.upsert_reply(ids[0].id, ALICE, &answer("then", "2"), ReplySource::Modal, t0).await.unwrap();
    store.upsert_reply(ids[1].id, ALICE, &answer("other prompt", ""), ReplySource::Modal, t0).await.unwrap();
    store.upsert_reply(ids[0].id, BOB, &answer("bob's", ""), ReplySource::Modal, t0).await.unwrap();
    let before = |i: usize| ids[i].occurrence_at;
    let earlier = store.earlier_reply(cohort.id, ALICE, "scope-01", before(3)).await.unwrap().unwrap();
    assert_eq!((earlier.answer.as_str(), earlier.confidence), ("then", Some(2)));
    store.upsert_reply(ids[2].id, ALICE, &answer("between", ""), ReplySource::Modal, t0).await.unwrap();
    let latest = store.earlier_reply(cohort.id, ALICE, "scope-01", before(3)).await.unwrap().unwrap();
    assert_eq!(latest.answer, "between", "the latest earlier answer");
    assert!(store.earlier_reply(cohort.id, ALICE, "scope-01", before(0)).await.unwrap().is_none());
    assert!(store.earlier_reply(cohort.id, CAROL, "scope-01", before(3)).await.unwrap().is_none());
}
on_both_backends!(the_earlier_answer_to_the_same_prompt_is_found_for_then_and_now);

/// N processes (separate pools) race for every kind of claim at the same
/// instant, several rounds: each claim has exactly one winner. On
/// PostgreSQL this is the claim scheme under READ COMMITTED (module docs of
/// `trellis::store`); on SQLite, under its single writer.
async fn racing_claimers_on_separate_pools_have_one_winner_per_claim(backend: Backend) {
    use std::sync::Arc;
    use tokio::sync::Barrier;
    use trellis::domain::{Instance, Slot};

    const N: usize = 6;
    const ROUNDS: usize = 5;
    let (db, store) = temp_store_on(backend).await;
    let t0 = utc(T0);
    let lease = Duration::minutes(2);
    let mut stores = Vec::with_capacity(N);
    for _ in 0..N {
        stores.push(db.connect().await);
    }
    let cohort =
        store.insert_cohort(&spec("c", CHANNEL, "0 0 9 * * Mon", "UTC"), CohortSource::Discord, t0).await.unwrap();
    let members: Vec<UserId> = (1..=20).map(|i| UserId::new(500_000_000_000_000_000 + i)).collect();
    for &u in &members {
        store.join(cohort.id, u, t0).await.unwrap();
    }

    /// Runs `claim(store, racer)` on every racer at once; returns the racers' results.
    async fn race<T, F, Fut>(stores: &[Store], claim: F) -> Vec<T>
    where
        T: Send + 'static,
        F: Fn(Store, usize) -> Fut,
        Fut: std::future::Future<Output = T> + Send + 'static,
    {
        let barrier = Arc::new(Barrier::new(stores.len()));
        let tasks: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let barrier = barrier.clone();
                let claim = claim(s.clone(), i);
                tokio::spawn(async move {
                    barrier.wait().await;
                    claim.await
                })
            })
            .collect();
        let mut out = Vec::with_capacity(tasks.len());
        for t in tasks {
            out.push(t.await.expect("racer panicked"));
        }
        out
    }
    let winners = |won: &[bool]| won.iter().filter(|w| **w).count();

    for round in 0..ROUNDS {
        let at = t0 + Duration::weeks(round as i64);
        // Recording the occurrence: one row.
        let new = NewCheckIn {
            cohort_id: cohort.id,
            occurrence_at: at,
            closes_at: at + Duration::weeks(1),
            prompt: prompt("p"),
        };
        let recorded = race(&stores, |s, _| {
            let new = new.clone();
            async move { s.record_checkin(&new).await.expect("record").map(|k| k.id) }
        })
        .await;
        let ids: Vec<CheckInId> = recorded.iter().flatten().copied().collect();
        assert_eq!(ids.len(), 1, "round {round}: one recorder");
        let k = ids[0];

        // The post: one claimer; then, after the claim went stale, one taker.
        let won = race(&stores, |s, _| async move { s.claim_post(k, at, at - lease).await.expect("claim") }).await;
        assert_eq!(winners(&won), 1, "round {round}: one post claim");
        let later = at + lease + Duration::seconds(1);
        let won =
            race(&stores, |s, _| async move { s.claim_post(k, later, later - lease).await.expect("claim") }).await;
        assert_eq!(winners(&won), 1, "round {round}: one takeover of a stale post claim");
        store.mark_posted(k, MessageId::new(9_000 + round as u64), later).await.unwrap();

        // Reminders: every racer claims the whole batch, each in its own
        // order (locks taken in different orders must not deadlock).
        let batches = race(&stores, |s, i| {
            let mut batch = members.clone();
            batch.rotate_left(i * 3 % members.len());
            if i % 2 == 1 {
                batch.reverse();
            }
            async move { s.claim_reminders(k, &batch, at).await.expect("claim reminders") }
        })
        .await;
        let mut claimed: Vec<UserId> = batches.into_iter().flatten().collect();
        claimed.sort_unstable();
        assert_eq!(claimed, members, "round {round}: every member's reminder claimed exactly once");
        let u = members[round];
        store.release_reminder(k, u).await.unwrap();
        let won = race(&stores, |s, _| async move { s.claim_reminder(k, u, at).await.expect("claim reminder") }).await;
        assert_eq!(winners(&won), 1, "round {round}: one claimer of a single reminder");

        // The digest: one claimer.
        let won = race(&stores, |s, _| async move { s.claim_digest(k, later).await.expect("claim digest") }).await;
        assert_eq!(winners(&won), 1, "round {round}: one digest claim");
    }
    let ledger = store.checkins_of_cohort(cohort.id).await.unwrap();
    assert_eq!(ledger.len(), ROUNDS);
    let open = |at| ledger.iter().filter(|k| k.occurrence_at <= at && at < k.closes_at).count();
    assert!((0..ROUNDS).all(|r| open(t0 + Duration::weeks(r as i64)) == 1), "one open check-in at a time");

    // The instance lease: one taker of a free slot, one taker of a stale one.
    let racer = |i: usize, at| Instance {
        holder: format!("racer-{i}"),
        host: "box".into(),
        host_key: String::new(),
        pid: 1000 + i as u32,
        started_at: at,
        heartbeat_at: at,
    };
    let won =
        race(&stores, |s, i| async move { s.insert_instance(Slot::ALL, &racer(i, t0)).await.expect("insert") }).await;
    assert_eq!(winners(&won), 1, "one taker of a free slot");
    let held = store.instance(Slot::ALL).await.unwrap().unwrap();
    let later = t0 + Duration::minutes(1);
    let won = race(&stores, |s, i| {
        let held = held.clone();
        async move { s.replace_instance(Slot::ALL, &held, &racer(i + N, later)).await.expect("replace") }
    })
    .await;
    assert_eq!(winners(&won), 1, "one taker of a stale lease");
    let now_held = store.instance(Slot::ALL).await.unwrap().unwrap();
    assert_ne!(now_held.holder, held.holder);
    assert!(!store.renew_instance(Slot::ALL, &held.holder, later).await.unwrap(), "the old holder lost it");
}
on_both_backends!(
    racing_claimers_on_separate_pools_have_one_winner_per_claim,
    (flavor = "multi_thread", worker_threads = 4)
);
