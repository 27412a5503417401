//! What the engine does when Discord refuses, driven by a manual clock and a
//! fake chat: a refusal for good (closed DMs, a deleted channel, missing
//! access, a member who left) is tried once, recorded across restarts,
//! logged once, shown to mentors, and tried again only when something
//! changed; a failure for now backs off (10 s doubling to 15 minutes).

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use tracing::instrument::WithSubscriber as _;
use trellis::domain::delivery::{code, permission};
use trellis::domain::{
    ChannelId, ChannelPermissions, CheckIn, Cohort, CohortDraft, DeliveryTarget, ReplySource, UserId, Viewer,
};
use trellis::engine::{DirectMessage, EngineError, RetryPolicy};
use trellis::summary::CohortStatus;
use trellis_testkit::typed::{ADMIN, ALICE, BOB, CAROL, CHANNEL, GUILD, MENTOR, MENTOR_ROLE, OTHER_CHANNEL};
use trellis_testkit::{Backend, Harness, draft, on_both_backends, spec, utc};

const WEEKLY_UTC: &str = "0 0 9 * * Mon";
/// Friday; the first Monday 09:00 UTC is 2027-01-04.
const START: &str = "2027-01-01T12:00:00Z";
const DIGEST_CHANNEL: ChannelId = ChannelId::new(444_444_444_444_444_444);

fn monday(week: i64) -> DateTime<Utc> {
    utc("2027-01-04T09:00:00Z") + Duration::weeks(week)
}

fn reminded_draft() -> CohortDraft {
    let mut d = draft("reminded", CHANNEL, WEEKLY_UTC, "UTC");
    d.reminder_after = Some("48h".into());
    d
}

async fn setup(h: &Harness, d: CohortDraft) -> Cohort {
    h.engine.setup_cohort(d).await.expect("setup cohort")
}

/// Tick at `at`; return the cohort's check-in open then.
async fn open_at(h: &Harness, cohort: &Cohort, at: DateTime<Utc>) -> CheckIn {
    h.set(at);
    h.tick().await;
    h.engine.store().open_checkin(cohort.id, at).await.unwrap().expect("an open check-in")
}

/// Set the clock to each instant from `from` to `to` (inclusive) in `step`s and tick.
async fn tick_every(h: &Harness, from: DateTime<Utc>, to: DateTime<Utc>, step: Duration) {
    let mut t = from;
    while t <= to {
        h.set(t);
        h.tick().await;
        t += step;
    }
}

/// The cohort's mentor, in its channel.
fn mentor() -> Viewer {
    Viewer { guild_id: GUILD, channel_id: CHANNEL, user_id: MENTOR, roles: vec![MENTOR_ROLE], can_manage: false }
}

async fn status(h: &Harness) -> CohortStatus {
    h.engine.cohort_status_for(&mentor(), 12).await.expect("status").1
}

fn counted(s: &CohortStatus) -> Vec<UserId> {
    s.members.iter().map(|m| m.user_id).collect()
}

/// Log lines written while polling one future.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        let sink = self.clone();
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || sink.clone())
            .finish()
    }

    /// Lines at `level` that contain `needle`.
    fn lines(&self, level: &str, needle: &str) -> Vec<String> {
        let text = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
        text.lines().filter(|l| l.contains(&format!(" {level} ")) && l.contains(needle)).map(str::to_owned).collect()
    }
}

// ---- closed DMs ------------------------------------------------------------------

async fn a_member_with_closed_dms_is_tried_once_per_checkin_looked_up_and_logged_once(backend: Backend) {
    let logs = CapturedLogs::default();
    async {
        let mut h = Harness::on(backend, utc(START)).await;
        let cohort = setup(&h, reminded_draft()).await;
        for u in [ALICE, BOB] {
            h.engine.join(&cohort, u).await.unwrap();
        }
        h.chat.close_dms(BOB);

        // The reminder is due 48 h in; the scheduler looks every ten minutes
        // until the check-in closes, and restarts once.
        open_at(&h, &cohort, monday(0)).await;
        h.set(monday(0) + Duration::hours(48));
        let r = h.tick().await;
        assert_eq!((r.reminded.len(), r.refused, r.failures), (1, 1, 0), "{r:?}");
        tick_every(&h, monday(0) + Duration::hours(49), monday(0) + Duration::days(3), Duration::minutes(10)).await;
        h.restart().await;
        tick_every(&h, monday(0) + Duration::days(3), monday(1) - Duration::minutes(1), Duration::hours(1)).await;
        assert_eq!(h.chat.reminder_attempts(BOB), 1, "one try for this check-in");
        assert_eq!(h.chat.lookups(), [BOB], "looked up once");
        assert_eq!(h.chat.reminder_attempts(ALICE), 1);
        assert_eq!(h.chat.dms().iter().map(|d| d.user_id).collect::<Vec<_>>(), [ALICE], "Alice nudged once");

        // Mentors see it; Bob is still a member who can answer with the button.
        let s = status(&h).await;
        assert_eq!(s.delivery.no_dms, [BOB]);
        assert!(s.delivery.left.is_empty() && s.delivery.channel.is_none());
        assert_eq!(counted(&s), [ALICE, BOB]);

        // A new check-in is something that changed: one more try, no new warning.
        open_at(&h, &cohort, monday(1)).await;
        tick_every(&h, monday(1) + Duration::hours(48), monday(1) + Duration::hours(60), Duration::hours(1)).await;
        assert_eq!(h.chat.reminder_attempts(BOB), 2);
        assert_eq!(h.chat.lookups(), [BOB, BOB]);

        // Bob runs a command: his refusal is forgotten.
        h.engine.member_seen(BOB).await.unwrap();
        assert!(status(&h).await.delivery.is_empty());
    }
    .with_subscriber(logs.subscriber())
    .await;
    let warned = logs.lines("WARN", &BOB.to_string());
    assert_eq!(warned.len(), 1, "logged once: {warned:#?}");
    for needed in ["reminded", "member_dm", "50007", "Cannot send messages to this user"] {
        assert!(warned[0].contains(needed), "{needed} in {}", warned[0]);
    }
}
on_both_backends!(a_member_with_closed_dms_is_tried_once_per_checkin_looked_up_and_logged_once);

async fn a_refused_dm_reply_is_recorded_for_each_of_the_members_cohorts(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let a = setup(&h, draft("a", CHANNEL, WEEKLY_UTC, "UTC")).await;
    let b = setup(&h, draft("b", OTHER_CHANNEL, WEEKLY_UTC, "UTC")).await;
    for c in [&a, &b] {
        h.engine.join(c, BOB).await.unwrap();
    }
    h.chat.close_dms(BOB);
    let dm = DirectMessage { user_id: BOB, channel_id: None, text: "Saved.".into() };
    assert!(h.engine.reply_by_dm(dm).await.is_none(), "refused for good: nothing to retry");
    assert_eq!(h.chat.dm_reply_attempts().len(), 1);
    for c in [&a, &b] {
        let f = h.engine.store().delivery_failure(c.id, DeliveryTarget::MemberDm(BOB)).await.unwrap();
        assert_eq!(f.expect("recorded").code, Some(code::CANNOT_DM));
    }
}
on_both_backends!(a_refused_dm_reply_is_recorded_for_each_of_the_members_cohorts);

// ---- channels --------------------------------------------------------------------

async fn a_refused_channel_gets_no_more_posts_across_restarts_until_the_cohort_is_set_up_again(backend: Backend) {
    for (refusal, words) in [(code::UNKNOWN_CHANNEL, "deleted"), (code::MISSING_ACCESS, "missing access")] {
        let mut h = Harness::on(backend, utc(START)).await;
        let cohort = setup(&h, draft("staff-path", CHANNEL, WEEKLY_UTC, "UTC")).await;
        h.chat.refuse_channel(CHANNEL, refusal);
        h.set(monday(0));
        let r = h.tick().await;
        assert_eq!((r.posted.len(), r.refused, r.failures), (0, 1, 0), "{r:?}");

        // A tick every five minutes for a day, a restart, and the next week.
        tick_every(&h, monday(0), monday(0) + Duration::days(1), Duration::minutes(5)).await;
        h.restart().await;
        h.set(monday(0) + Duration::days(1));
        let wake = h.engine.next_wake().await.unwrap();
        assert!(wake >= h.now() + Duration::seconds(60), "no retry planned for a refused channel: {wake}");
        tick_every(&h, monday(0) + Duration::days(1), monday(0) + Duration::days(2), Duration::hours(1)).await;
        assert_eq!(h.chat.post_attempts(), 1, "{refusal}: tried once");

        let s = status(&h).await;
        let problem = s.delivery.channel.expect("shown to mentors");
        assert_eq!((problem.channel_id, problem.code), (CHANNEL, Some(refusal)));
        assert!(problem.describe().contains(words), "{}", problem.describe());

        // The admin fixes it and runs /cohort setup again: the check-in, still
        // open, is posted with its own nonce.
        h.chat.accept_channel(CHANNEL);
        setup(&h, draft("staff-path", CHANNEL, WEEKLY_UTC, "UTC")).await;
        let r = h.tick().await;
        assert_eq!(r.posted, [trellis::domain::occurrence_nonce(cohort.id, monday(0))]);
        assert!(status(&h).await.delivery.is_empty());
        assert_eq!(h.chat.post_attempts(), 2);
    }
}
on_both_backends!(a_refused_channel_gets_no_more_posts_across_restarts_until_the_cohort_is_set_up_again);

async fn a_permission_change_in_the_server_or_an_edited_file_cohort_tries_the_channel_again(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let declared = spec("from-file", CHANNEL, WEEKLY_UTC, "UTC");
    let cohort = h.engine.sync_file_cohorts(std::slice::from_ref(&declared)).await.unwrap().remove(0);
    h.chat.refuse_channel(CHANNEL, code::MISSING_PERMISSIONS);
    h.set(monday(0));
    assert_eq!(h.tick().await.refused, 1);
    let refused = DeliveryTarget::Channel(CHANNEL);

    // A restart with the same file changes nothing.
    h.engine.sync_file_cohorts(std::slice::from_ref(&declared)).await.unwrap();
    assert!(h.engine.store().delivery_failure(cohort.id, refused).await.unwrap().is_some());
    // A permission change anywhere in the server (CHANNEL_UPDATE, GUILD_ROLE_UPDATE) does.
    h.engine.permissions_changed(GUILD).await.unwrap();
    assert!(h.engine.store().delivery_failure(cohort.id, refused).await.unwrap().is_none());
    // Still refused: recorded again, once.
    assert_eq!(h.tick().await.refused, 1);
    assert_eq!(h.chat.post_attempts(), 2);
    // An edited declaration is the file cohort set up again.
    let mut edited = declared.clone();
    edited.reminder_after = Some(StdDuration::from_secs(3600));
    h.chat.accept_channel(CHANNEL);
    h.engine.sync_file_cohorts(&[edited]).await.unwrap();
    assert_eq!(h.tick().await.posted.len(), 1);
}
on_both_backends!(a_permission_change_in_the_server_or_an_edited_file_cohort_tries_the_channel_again);

async fn joining_the_server_again_retries_only_what_said_the_bot_was_not_in_it(backend: Backend) {
    for (refusal, retried) in [(code::UNKNOWN_GUILD, true), (code::MISSING_ACCESS, false)] {
        let h = Harness::on(backend, utc(START)).await;
        setup(&h, draft("staff-path", CHANNEL, WEEKLY_UTC, "UTC")).await;
        h.chat.refuse_channel(CHANNEL, refusal);
        h.set(monday(0));
        assert_eq!(h.tick().await.refused, 1);
        h.chat.accept_channel(CHANNEL);
        // GUILD_CREATE: on joining the server again, and at every start.
        h.engine.guild_available(GUILD).await.unwrap();
        let posted = h.tick().await.posted.len();
        assert_eq!(posted == 1, retried, "{refusal}: a restart alone retries nothing else");
    }
}
on_both_backends!(joining_the_server_again_retries_only_what_said_the_bot_was_not_in_it);

async fn setup_is_refused_where_the_bot_cannot_post_embed_and_attach(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let admin = Viewer { guild_id: GUILD, channel_id: CHANNEL, user_id: ADMIN, roles: vec![], can_manage: true };
    let view_and_send = ChannelPermissions(permission::VIEW_CHANNEL | permission::SEND_MESSAGES);
    let d = || draft("staff-path", CHANNEL, WEEKLY_UTC, "UTC");
    match h.engine.setup_cohort_for(&admin, d(), Some(view_and_send)).await {
        Err(e @ EngineError::BotCannotPost { .. }) => {
            assert!(e.is_user_error());
            // What the admin reads in Discord (the engine's own message names no command).
            let text = trellis::discord::reply_for(&e);
            assert!(text.contains("Embed Links, Attach Files") && text.contains("/cohort setup"), "{text}");
            assert!(!text.contains("lacks View Channel"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    assert!(h.engine.cohorts_in_guild(GUILD).await.unwrap().is_empty(), "nothing stored");
    // A member without Manage Server learns nothing about the bot's permissions.
    let member = Viewer { can_manage: false, ..admin.clone() };
    let refused = h.engine.setup_cohort_for(&member, d(), Some(ChannelPermissions(0))).await;
    assert!(matches!(refused, Err(EngineError::NeedsManageServer { .. })), "{refused:?}");
    // Administrator grants everything; no app_permissions at all is not checked.
    let admin_bit = ChannelPermissions(permission::ADMINISTRATOR);
    h.engine.setup_cohort_for(&admin, d(), Some(admin_bit)).await.unwrap();
    h.engine.setup_cohort_for(&admin, d(), None).await.unwrap();
    h.engine.setup_cohort_for(&admin, d(), Some(ChannelPermissions::ENOUGH)).await.unwrap();
}
on_both_backends!(setup_is_refused_where_the_bot_cannot_post_embed_and_attach);

// ---- digests ---------------------------------------------------------------------

async fn a_refused_digest_channel_is_tried_once_and_shown_in_status(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let mut d = draft("staff-path", CHANNEL, WEEKLY_UTC, "UTC");
    d.digest_channel_id = Some(DIGEST_CHANNEL.get());
    let cohort = setup(&h, d.clone()).await;
    h.chat.refuse_channel(DIGEST_CHANNEL, code::MISSING_ACCESS);
    open_at(&h, &cohort, monday(0)).await;
    h.set(monday(1));
    let r = h.tick().await;
    assert_eq!((r.posted.len(), r.digests.len(), r.refused), (1, 0, 1), "posts go on: {r:?}");
    tick_every(&h, monday(1), monday(1) + Duration::days(2), Duration::minutes(30)).await;
    assert_eq!(h.chat.digest_attempts(), 1);
    let s = status(&h).await;
    assert_eq!(s.delivery.digest_channel.as_ref().map(|p| p.channel_id), Some(DIGEST_CHANNEL));
    assert!(s.delivery.channel.is_none());

    h.chat.accept_channel(DIGEST_CHANNEL);
    setup(&h, d).await;
    assert_eq!(h.tick().await.digests.len(), 1, "set up again: the digest goes out");
    assert_eq!(h.chat.digest_attempts(), 2);
}
on_both_backends!(a_refused_digest_channel_is_tried_once_and_shown_in_status);

// ---- members who left --------------------------------------------------------------

async fn a_member_who_left_the_server_is_neither_reminded_nor_counted_until_they_interact(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let mut d = reminded_draft();
    d.digest_channel_id = Some(DIGEST_CHANNEL.get());
    let cohort = setup(&h, d).await;
    for u in [ALICE, BOB, CAROL] {
        h.engine.join(&cohort, u).await.unwrap();
    }
    h.chat.leave_guild(CAROL);

    let week0 = open_at(&h, &cohort, monday(0)).await;
    h.engine.answer(&week0, ALICE, "shipped", "", ReplySource::Modal).await.unwrap();
    h.set(monday(0) + Duration::hours(48));
    let r = h.tick().await;
    assert_eq!(r.reminded.iter().map(|(_, u)| *u).collect::<Vec<_>>(), [BOB]);
    assert_eq!(h.chat.lookups(), [CAROL], "looked up once, after the refused DM");
    let s = status(&h).await;
    assert_eq!(s.delivery.left, [CAROL]);
    assert!(s.delivery.no_dms.is_empty(), "shown as gone, not as unreachable");
    assert_eq!(counted(&s), [ALICE, BOB], "not counted");

    // Two more weeks, Alice answering: no reminder is tried for Carol; the
    // digests count Bob alone as missing and quiet, and name Carol apart.
    for week in 1..=2 {
        let k = open_at(&h, &cohort, monday(week)).await;
        h.engine.answer(&k, ALICE, "shipped again", "", ReplySource::Modal).await.unwrap();
        tick_every(&h, monday(week) + Duration::hours(48), monday(week) + Duration::hours(50), Duration::hours(1))
            .await;
    }
    h.set(monday(3));
    h.tick().await;
    assert_eq!(h.chat.reminder_attempts(CAROL), 1, "not reminded after she left");
    assert_eq!(h.chat.reminder_attempts(BOB), 3);
    let digests = h.chat.digests();
    assert_eq!(digests.len(), 3, "{digests:#?}");
    let last = &digests[2];
    assert_eq!((last.digest.members, last.digest.answered, last.digest.missing), (2, 1, 1), "{:?}", last.digest);
    assert_eq!(last.digest.quiet.iter().map(|q| q.user_id).collect::<Vec<_>>(), [BOB]);
    assert_eq!(last.delivery.left, [CAROL]);
    let s = status(&h).await;
    assert!(s.quiet().all(|m| m.user_id != CAROL));

    // She comes back and runs a command: counted and reminded again.
    h.chat.rejoin_guild(CAROL);
    h.engine.member_seen(CAROL).await.unwrap();
    let s = status(&h).await;
    assert_eq!(counted(&s), [ALICE, BOB, CAROL]);
    assert!(s.delivery.is_empty());
    h.set(monday(3) + Duration::hours(48));
    let r = h.tick().await;
    assert!(r.reminded.iter().any(|(_, u)| *u == CAROL), "{r:?}");
}
on_both_backends!(a_member_who_left_the_server_is_neither_reminded_nor_counted_until_they_interact);

// ---- failures for now --------------------------------------------------------------

async fn a_post_failing_for_now_is_retried_with_doubling_waits_capped_at_fifteen_minutes(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    setup(&h, draft("staff-path", CHANNEL, WEEKLY_UTC, "UTC")).await;
    h.chat.fail_all_posts(true);
    let mut tried_at = Vec::new();
    let mut at = monday(0);
    while at <= monday(0) + Duration::hours(2) {
        h.set(at);
        let before = h.chat.post_attempts();
        let r = h.tick().await;
        if h.chat.post_attempts() > before {
            tried_at.push((at - monday(0)).num_seconds());
            assert_eq!((r.failures, r.refused), (1, 0), "{r:?}");
            // The scheduler plans to wake for exactly the next try.
            let wait = h.engine.next_wake().await.unwrap() - at;
            // It also wakes at least once a minute, whatever the plan.
            let expected = [10, 20, 40, 60][tried_at.len().min(4) - 1];
            assert_eq!(wait.num_seconds(), expected, "after try {}", tried_at.len());
        }
        at += Duration::seconds(10);
    }
    // Two hours of an outage: 14 tries, where a fixed 10 s timer makes 720.
    assert_eq!(tried_at, [0, 10, 30, 70, 150, 310, 630, 1270, 2170, 3070, 3970, 4870, 5770, 6670]);
    h.chat.fail_all_posts(false);
    h.set(monday(0) + Duration::seconds(7570));
    assert_eq!(h.tick().await.posted.len(), 1, "posted at the next try once Discord is back");
}
on_both_backends!(a_post_failing_for_now_is_retried_with_doubling_waits_capped_at_fifteen_minutes);

async fn a_reminder_failing_for_now_backs_off_without_holding_up_the_others(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let cohort = setup(&h, reminded_draft()).await;
    for u in [ALICE, BOB] {
        h.engine.join(&cohort, u).await.unwrap();
    }
    open_at(&h, &cohort, monday(0)).await;
    h.chat.fail_next_dms_to(BOB, 3);
    let due = monday(0) + Duration::hours(48);
    let mut tried_at = Vec::new();
    for s in 0..=120 {
        h.set(due + Duration::seconds(s));
        let before = h.chat.reminder_attempts(BOB);
        h.tick().await;
        if h.chat.reminder_attempts(BOB) > before {
            tried_at.push(s);
        }
    }
    assert_eq!(tried_at, [0, 10, 30, 70]);
    let to: Vec<UserId> = h.chat.dms().iter().map(|d| d.user_id).collect();
    assert_eq!(to, [ALICE, BOB], "Alice at once, Bob once Discord let it through");
}
on_both_backends!(a_reminder_failing_for_now_backs_off_without_holding_up_the_others);

async fn a_dm_reply_failing_for_now_is_retried_with_growing_waits_then_given_up(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let policy =
        RetryPolicy { first: StdDuration::from_millis(40), cap: StdDuration::from_millis(160), dm_reply_attempts: 5 };
    h.engine.set_retry_policy(policy);
    let dm = || DirectMessage { user_id: ALICE, channel_id: Some(ChannelId::new(77)), text: "Saved.".into() };

    // Two failures, then it goes through on the third try.
    h.chat.fail_next_dm_replies(2);
    let retry = h.engine.reply_by_dm(dm()).await.expect("failed for now: to be retried");
    h.engine.retry_dm_reply(retry).await;
    assert_eq!(h.chat.dm_replies(), [dm()]);
    assert_eq!(h.chat.dm_reply_attempts().len(), 3);

    // Down for good as far as the policy goes: five tries, waits growing to the cap.
    h.chat.fail_next_dm_replies(100);
    let retry = h.engine.reply_by_dm(dm()).await.expect("to be retried");
    h.engine.retry_dm_reply(retry).await;
    let tries = h.chat.dm_reply_attempts();
    assert_eq!(tries.len(), 3 + 5, "given up after the policy's tries");
    let gaps: Vec<StdDuration> = tries[3..].windows(2).map(|w| w[1] - w[0]).collect();
    for (gap, min) in gaps.iter().zip([40, 80, 160, 160]) {
        assert!(*gap >= StdDuration::from_millis(min), "{gaps:?}");
    }
    assert_eq!(h.chat.dm_replies().len(), 1);
}
on_both_backends!(a_dm_reply_failing_for_now_is_retried_with_growing_waits_then_given_up);
