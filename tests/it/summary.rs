//! Summaries on hand-built histories whose figures are known, the set-based
//! store queries behind them, the charts, the packet and the embeds' limits.

use chrono::{DateTime, Duration, Utc};
use trellis::discord::render;
use trellis::domain::{
    CheckIn, CheckInId, CheckInStatus, Cohort, CohortId, CohortSource, ImpactEntry, ImpactId, ImpactInput, Member,
    MessageId, Pause, PostedPrompt, Reply, ReplyId, StaffPath, Track, UserId,
};
use trellis::store::bulk::{BulkCheckIn, BulkReply};
use trellis::summary::chart::{self, PROGRESS_SIZE, heatmap_size};
use trellis::summary::packet::PacketMaterial;
use trellis::summary::{CohortStatus, MemberActivity, MemberProgress, Outcome, Tally, Trend, WeekState, packet};
use trellis_testkit::typed::{ALICE, BOB, CAROL, CHANNEL, DAVE};
use trellis_testkit::{spec, temp_store, utc};

/// Monday 2027-01-04 09:00 UTC: check-in `k` is posted at `week(k)` and closes at `week(k + 1)`.
fn week(k: i64) -> DateTime<Utc> {
    utc("2027-01-04T09:00:00Z") + Duration::weeks(k)
}

fn checkin_of(id: i64, k: i64, track: Track) -> CheckIn {
    CheckIn {
        id: CheckInId::new(id),
        cohort_id: CohortId::new(1),
        occurrence_at: week(k),
        closes_at: week(k + 1),
        nonce: format!("t1-{id}"),
        status: CheckInStatus::Posted,
        prompt: Some(PostedPrompt {
            id: format!("{track}-{id}"),
            track,
            question: format!("Question {id} on {track}?"),
        }),
        message_id: Some(MessageId::new(1000 + id as u64)),
    }
}

/// `n` weekly check-ins, ids 1..=n, tracks in rotation order.
fn ledger(n: i64) -> Vec<CheckIn> {
    (0..n).map(|k| checkin_of(k + 1, k, Track::ALL[k as usize % 6])).collect()
}

/// Check-ins with the given tracks, one a week.
fn ledger_of(tracks: &[Track]) -> Vec<CheckIn> {
    tracks.iter().enumerate().map(|(k, t)| checkin_of(k as i64 + 1, k as i64, *t)).collect()
}

fn member_since(user_id: UserId, joined_at: DateTime<Utc>) -> Member {
    Member { cohort_id: CohortId::new(1), user_id, joined_at, left_at: None }
}

/// A reply written a day after the check-in was posted.
fn reply(c: &CheckIn, user_id: UserId, confidence: Option<u8>) -> Reply {
    let at = c.occurrence_at + Duration::days(1);
    Reply {
        id: ReplyId::new(c.id.get() * 1000 + (user_id.get() % 1000) as i64),
        checkin_id: c.id,
        user_id,
        answer: format!("answer of {user_id} to check-in {}", c.id),
        confidence,
        created_at: at,
        updated_at: at,
    }
}

fn replies_to(checkins: &[CheckIn], user_id: UserId, ks: &[usize]) -> Vec<Reply> {
    ks.iter().map(|&k| reply(&checkins[k], user_id, None)).collect()
}

fn impact_entry(id: i64, user_id: UserId, at: DateTime<Utc>, tracks: Vec<Track>) -> ImpactEntry {
    ImpactEntry {
        id: ImpactId::new(id),
        cohort_id: CohortId::new(1),
        user_id,
        what_changed: format!("win {id} of {user_id}"),
        evidence: "p95 latency 800 ms → 120 ms".into(),
        who_benefited: "the checkout team".into(),
        link: None,
        tracks,
        recorded_at: at,
    }
}

fn progress(
    member: &Member,
    pauses: &[Pause],
    checkins: &[CheckIn],
    replies: &[Reply],
    now: DateTime<Utc>,
) -> MemberProgress {
    MemberProgress::compute(member, pauses, checkins, replies, &[], 12, now)
}

// ---- member progress ----------------------------------------------------------

#[test]
fn a_pause_neither_breaks_nor_extends_the_streak() {
    let checkins = ledger(5);
    let alice = member_since(ALICE, week(0) - Duration::days(1));
    // Paused for exactly check-in 2's week; answered all the others.
    let pause = Pause { starts_at: week(2), ends_at: week(3) };
    let replies = replies_to(&checkins, ALICE, &[0, 1, 3, 4]);
    let p = progress(&alice, &[pause], &checkins, &replies, week(5) + Duration::hours(1));
    assert_eq!((p.current_streak, p.longest_streak), (4, 4));
    assert_eq!(p.all_time, Tally { offered: 4, answered: 4 }, "the paused week is not offered");
    let outcomes: Vec<Outcome> = p.weeks.iter().map(|w| w.outcome).collect();
    use Outcome::*;
    assert_eq!(outcomes, [Answered, Answered, Paused, Answered, Answered]);
}

#[test]
fn a_pause_taken_mid_week_excuses_that_week() {
    let checkins = ledger(3);
    let alice = member_since(ALICE, week(0) - Duration::days(1));
    // Check-in 1 was posted, then Alice paused on Wednesday for a week.
    let pause = Pause { starts_at: week(1) + Duration::days(2), ends_at: week(2) + Duration::days(2) };
    let replies = replies_to(&checkins, ALICE, &[0]);
    let p = progress(&alice, &[pause], &checkins, &replies, week(3) + Duration::hours(1));
    let outcomes: Vec<Outcome> = p.weeks.iter().map(|w| w.outcome).collect();
    assert_eq!(outcomes, [Outcome::Answered, Outcome::Paused, Outcome::Paused]);
    assert_eq!((p.all_time, p.current_streak), (Tally { offered: 1, answered: 1 }, 1));
}

#[test]
fn a_missed_week_breaks_the_streak() {
    let checkins = ledger(6);
    let alice = member_since(ALICE, week(0) - Duration::days(1));
    let replies = replies_to(&checkins, ALICE, &[0, 1, 2, 4, 5]);
    let p = progress(&alice, &[], &checkins, &replies, week(6) + Duration::hours(1));
    assert_eq!((p.current_streak, p.longest_streak), (2, 3));
    assert_eq!(p.all_time, Tally { offered: 6, answered: 5 });
    assert_eq!(p.all_time.rate_percent(), Some(83));
}

#[test]
fn an_open_check_in_neither_counts_nor_breaks_the_streak_until_it_closes() {
    let checkins = ledger(4);
    let alice = member_since(ALICE, week(0) - Duration::days(1));
    let replies = replies_to(&checkins, ALICE, &[0, 1, 2]);
    let during = progress(&alice, &[], &checkins, &replies, week(3) + Duration::days(2));
    assert_eq!((during.all_time, during.current_streak), (Tally { offered: 3, answered: 3 }, 3));
    assert_eq!(during.weeks.last().unwrap().outcome, Outcome::Open);
    // Closed unanswered: now it is missed.
    let after = progress(&alice, &[], &checkins, &replies, week(4));
    assert_eq!((after.all_time, after.current_streak, after.longest_streak), (Tally { offered: 4, answered: 3 }, 0, 3));
}

#[test]
fn a_member_who_joined_late_is_counted_from_the_first_check_in_posted_after_joining() {
    let checkins = ledger(6);
    let now = week(6) + Duration::hours(1);
    // Joined on the Tuesday of check-in 2, answered 3 and 5, not 2 or 4.
    let late = member_since(BOB, week(2) + Duration::days(1));
    let p = progress(&late, &[], &checkins, &replies_to(&checkins, BOB, &[3, 5]), now);
    use Outcome::*;
    let outcomes: Vec<Outcome> = p.weeks.iter().map(|w| w.outcome).collect();
    assert_eq!(outcomes, [NotOffered, NotOffered, NotOffered, Answered, Missed, Answered]);
    assert_eq!(p.all_time, Tally { offered: 3, answered: 2 });
    assert_eq!((p.current_streak, p.longest_streak), (1, 1));
    // Answering the check-in that was open when they joined counts.
    let p = progress(&late, &[], &checkins, &replies_to(&checkins, BOB, &[2, 3, 5]), now);
    assert_eq!(p.all_time, Tally { offered: 4, answered: 3 });
    assert_eq!(p.longest_streak, 2);
}

#[test]
fn the_recent_window_and_all_time_are_both_counted() {
    let checkins = ledger(21);
    let alice = member_since(ALICE, week(0) - Duration::days(1));
    // Answered the first 9 check-ins (0..=8), then only every other one.
    let ks: Vec<usize> = (0..=8).chain((9..=20).filter(|k| k % 2 == 0)).collect();
    let now = week(20) + Duration::days(2); // check-in 20 is open and answered
    let p = MemberProgress::compute(&alice, &[], &checkins, &replies_to(&checkins, ALICE, &ks), &[], 12, now);
    assert_eq!(p.window_weeks, 12);
    assert_eq!(p.weeks.len(), 12, "check-ins 9..=20 are in the last 12 weeks");
    assert_eq!(p.weeks[0].checkin_id, CheckInId::new(10));
    // In the window: 9..=20 → answered 10, 12, 14, 16, 18, 20; missed 9, 11, 13, 15, 17, 19.
    assert_eq!(p.recent, Tally { offered: 12, answered: 6 });
    assert_eq!(p.all_time, Tally { offered: 21, answered: 15 });
    assert_eq!((p.current_streak, p.longest_streak), (1, 9));
    let scope = &p.tracks[&Track::Scope]; // check-ins 0, 6, 12, 18: all answered
    assert_eq!((scope.answers, scope.recent_answers), (4, 2));
}

#[test]
fn confidence_average_and_trend_per_track() {
    use Track::*;
    let checkins =
        ledger_of(&[Scope, Influence, Scope, Influence, Scope, Influence, Scope, Mentoring, Mentoring, Mentoring]);
    let alice = member_since(ALICE, week(0) - Duration::days(1));
    let ratings = [2, 5, 3, 4, 4, 2, 4, 3, 4, 3];
    let replies: Vec<Reply> = checkins.iter().zip(ratings).map(|(c, r)| reply(c, ALICE, Some(r))).collect();
    let p = progress(&alice, &[], &checkins, &replies, week(10));
    let scope = &p.tracks[&Scope]; // 2, 3, 4, 4
    assert_eq!(scope.confidence, [2, 3, 4, 4]);
    assert_eq!(scope.average_confidence(), Some(3.25));
    assert_eq!(scope.confidence_change(), Some(1.5));
    assert_eq!(scope.confidence_trend(), Some(Trend::Rising));
    let influence = &p.tracks[&Influence]; // 5, 4, 2
    assert_eq!(influence.confidence_change(), Some(-3.0));
    assert_eq!(influence.confidence_trend(), Some(Trend::Falling));
    let mentoring = &p.tracks[&Mentoring]; // 3, 4, 3
    assert_eq!(mentoring.confidence_trend(), Some(Trend::Steady));
    // One rating is no trend; none is no average.
    let judgment = &p.tracks[&Judgment];
    assert_eq!((judgment.answers, judgment.average_confidence(), judgment.confidence_trend()), (0, None, None));
}

#[test]
fn untouched_tracks_are_the_next_focus_weakest_first() {
    use Track::*;
    // Week: 0 judgment, 1 communication, 2 influence, 3..8 scope; now is week 9.
    let checkins = ledger_of(&[Judgment, Communication, Influence, Scope, Scope, Scope, Scope, Scope, Scope]);
    let alice = member_since(ALICE, week(0) - Duration::days(1));
    let replies = vec![
        reply(&checkins[0], ALICE, None),    // judgment: answered long ago, no rating
        reply(&checkins[1], ALICE, Some(4)), // communication: long ago, confident
        reply(&checkins[2], ALICE, Some(2)), // influence: long ago, unsure
        reply(&checkins[8], ALICE, Some(3)), // scope: last week
    ];
    // An impact entry three weeks ago covers the impact track.
    let impact = vec![impact_entry(1, ALICE, week(9) - Duration::weeks(3), vec![Impact])];
    let p = MemberProgress::compute(&alice, &[], &checkins, &replies, &impact, 12, week(9));
    // Mentoring (never), judgment (no rating), influence (2.0), communication (4.0).
    assert_eq!(p.next_focus, [Mentoring, Judgment, Influence, Communication]);
    assert_eq!(p.tracks.len(), 6, "every track is listed, touched or not");
    assert_eq!(p.tracks[&Mentoring], Default::default());
    assert_eq!(p.tracks[&Impact].impact_entries, 1);
}

#[test]
fn latest_impact_is_the_newest_five_of_the_member_only() {
    let checkins = ledger(2);
    let alice = member_since(ALICE, week(0));
    let mut impact: Vec<ImpactEntry> =
        (1..=7).map(|i| impact_entry(i, ALICE, week(0) + Duration::days(i), vec![Track::Impact])).collect();
    impact.push(impact_entry(8, BOB, week(1), vec![Track::Scope]));
    impact.push(impact_entry(9, BOB, week(1), vec![Track::Scope]));
    let bob_replies = replies_to(&checkins, BOB, &[0, 1]);
    let p = MemberProgress::compute(&alice, &[], &checkins, &bob_replies, &impact, 12, week(2));
    let ids: Vec<i64> = p.latest_impact.iter().map(|e| e.id.get()).collect();
    assert_eq!(ids, [7, 6, 5, 4, 3]);
    assert_eq!(p.impact_total, 7);
    assert_eq!(p.tracks[&Track::Scope].impact_entries, 0, "Bob's entries are not Alice's");
    assert_eq!(p.all_time, Tally { offered: 2, answered: 0 }, "Bob's replies are not Alice's");
}

// ---- cohort status ------------------------------------------------------------

/// Five weeks, check-in 4 open; Alice answers everything, Bob never, Carol is
/// paused since check-in 3, Dave joined after check-in 4 was posted, Erin left.
struct Fixture {
    members: Vec<(Member, Vec<Pause>)>,
    checkins: Vec<CheckIn>,
    replies: Vec<Reply>,
    now: DateTime<Utc>,
}

fn cohort_fixture() -> Fixture {
    let checkins = ledger(5);
    let start = week(0) - Duration::days(1);
    let mut erin = member_since(UserId::new(900_000_000_000_000_005), start);
    erin.left_at = Some(week(2));
    let members = vec![
        (member_since(ALICE, start), vec![]),
        (member_since(BOB, start), vec![]),
        (member_since(CAROL, start), vec![Pause { starts_at: week(3), ends_at: week(5) }]),
        (member_since(DAVE, week(4) + Duration::hours(1)), vec![]),
        (erin, vec![]),
    ];
    let mut replies = replies_to(&checkins, ALICE, &[0, 1, 2, 3, 4]);
    replies.extend(replies_to(&checkins, CAROL, &[0, 1]));
    Fixture { members, checkins, replies, now: week(4) + Duration::days(1) }
}

#[test]
fn cohort_view_of_a_member_who_never_answered() {
    let Fixture { members, checkins, replies, now } = cohort_fixture();
    let s = CohortStatus::compute(&members, &checkins, &replies, now);
    let bob = s.members.iter().find(|m| m.user_id == BOB).expect("Bob is listed");
    assert_eq!(bob.this_week, WeekState::NotYet);
    assert_eq!((bob.current_streak, bob.longest_streak, bob.last_answer), (0, 0, None));
    assert_eq!(bob.all_time, Tally { offered: 4, answered: 0 });
    assert_eq!(bob.missed_in_a_row, 4);
    assert!(bob.is_quiet());
    use Outcome::*;
    assert_eq!(bob.recent, [Missed, Missed, Missed, Missed, Open]);
    let quiet: Vec<UserId> = s.quiet().map(|m| m.user_id).collect();
    assert_eq!(quiet, [BOB]);
}

#[test]
fn cohort_status_this_week_streaks_and_coverage() {
    let Fixture { members, checkins, replies, now } = cohort_fixture();
    let s = CohortStatus::compute(&members, &checkins, &replies, now);
    assert_eq!(s.current.as_ref().map(|c| c.id), Some(CheckInId::new(5)));
    assert!(s.current_is_open());
    let users: Vec<UserId> = s.members.iter().map(|m| m.user_id).collect();
    assert_eq!(users, [ALICE, BOB, CAROL, DAVE], "current members in join order; Erin left");
    assert_eq!((s.answered(), s.not_yet(), s.paused()), (1, 2, 1));

    let alice = &s.members[0];
    assert_eq!(
        (alice.this_week, alice.current_streak, alice.last_answer),
        (WeekState::Answered, 5, Some(week(4) + Duration::days(1)))
    );
    let carol = &s.members[2];
    assert_eq!(carol.this_week, WeekState::Paused);
    assert_eq!(carol.missed_in_a_row, 1, "missed check-in 2; the paused ones are skipped");
    assert!(!carol.is_quiet());
    let dave = &s.members[3];
    assert_eq!((dave.this_week, dave.all_time), (WeekState::NotYet, Tally::default()));

    // Scope (check-in 0): Alice and Carol answered, Bob missed; Dave had not joined.
    let scope = s.tracks[&Track::Scope];
    assert_eq!((scope.checkins, scope.offered, scope.answered, scope.rate_percent()), (1, 3, 2, Some(66)));
    // Impact (check-in 4, open): only Alice's answer counts so far.
    let impact = s.tracks[&Track::Impact];
    assert_eq!((impact.checkins, impact.offered, impact.answered), (1, 1, 1));
    assert_eq!(s.tracks[&Track::Judgment].checkins, 0);
}

#[test]
fn with_no_open_check_in_the_latest_closed_one_is_described() {
    let Fixture { members, checkins, replies, .. } = cohort_fixture();
    let closed = &checkins[..4];
    let s = CohortStatus::compute(&members, closed, &replies, week(4));
    assert_eq!(s.current.as_ref().map(|c| c.id), Some(CheckInId::new(4)));
    assert!(!s.current_is_open());
    let bob = s.members.iter().find(|m| m.user_id == BOB).unwrap();
    assert_eq!((bob.this_week, bob.missed_in_a_row), (WeekState::NotYet, 4));
}

#[test]
fn the_status_table_lists_every_member_with_their_weeks() {
    let Fixture { members, checkins, replies, now } = cohort_fixture();
    let s = CohortStatus::compute(&members, &checkins, &replies, now);
    let csv = s.to_csv(chrono_tz::Europe::Berlin);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 4, "{csv}");
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(header[..4], ["row", "user_id", "joined", "this_week"]);
    assert_eq!(header[11..13], ["answers_without_note", "path_steps_done"]);
    assert_eq!(header.len(), 13 + 5, "one column per check-in of the window");
    assert_eq!(header[13], "2027-01-04 scope");
    let bob: Vec<&str> = lines[2].split(',').collect();
    assert_eq!(bob.len(), header.len());
    assert_eq!(
        bob[..13],
        ["2", &BOB.to_string(), "2027-01-03", "not yet", "0", "0", "0", "4", "4", "yes", "", "0", "0"]
    );
    assert_eq!(bob[13..], ["missed", "missed", "missed", "missed", "open"]);
    assert!(!csv.contains("answer of"), "no answer text in the table");
}

#[test]
fn compact_activity_gives_the_same_status_as_full_rows() {
    let Fixture { members, checkins, replies, now } = cohort_fixture();
    let activity = MemberActivity::from_replies(&members, &replies);
    assert_eq!(
        CohortStatus::from_activity(&activity, &checkins, 12, now),
        CohortStatus::compute(&members, &checkins, &replies, now)
    );
}

// ---- store: set-based queries --------------------------------------------------

async fn stored_cohort(store: &trellis::store::Store) -> Cohort {
    store
        .insert_cohort(&spec("staff-path", CHANNEL, "0 0 9 * * Mon", "Europe/Berlin"), CohortSource::File, week(-1))
        .await
        .unwrap()
}

fn bulk_ledger(n: i64) -> Vec<BulkCheckIn> {
    ledger(n)
        .into_iter()
        .map(|c| BulkCheckIn { occurrence_at: c.occurrence_at, closes_at: c.closes_at, prompt: c.prompt.unwrap() })
        .collect()
}

fn bulk_reply(
    checkin_id: CheckInId,
    user_id: UserId,
    answer: &str,
    confidence: Option<u8>,
    at: DateTime<Utc>,
) -> BulkReply {
    BulkReply { checkin_id, user_id, answer: answer.into(), confidence, at }
}

#[tokio::test]
async fn member_history_holds_that_members_rows_and_nobody_elses() {
    let (_db, store) = temp_store().await;
    let cohort = stored_cohort(&store).await;
    let ids = store.bulk_checkins(cohort.id, &bulk_ledger(4)).await.unwrap();
    store.join(cohort.id, ALICE, week(0) - Duration::days(1)).await.unwrap();
    store.join(cohort.id, BOB, week(0) - Duration::days(1)).await.unwrap();
    let tricky = "Line one, \"quoted\"\n\nline three: ünïcödé 🚀, a back\\slash and <@123>";
    store
        .bulk_replies(&[
            bulk_reply(ids[0], ALICE, tricky, Some(4), week(0) + Duration::hours(3)),
            bulk_reply(ids[2], ALICE, "third", None, week(2) + Duration::hours(3)),
            bulk_reply(ids[0], BOB, "Bob's secret", Some(1), week(0) + Duration::hours(4)),
        ])
        .await
        .unwrap();
    let win = ImpactInput::parse(
        "Cut build time\nfrom 40 to 9 min",
        "CI dashboards, \"p50\"",
        "all 60 engineers",
        "https://ci.example/x",
    )
    .unwrap();
    store.insert_impact(cohort.id, ALICE, &win, week(1)).await.unwrap();
    let bobs = ImpactInput::parse("Bob's win", "Bob's evidence", "Bob's team", "").unwrap();
    store.insert_impact(cohort.id, BOB, &bobs, week(1)).await.unwrap();
    store.pause(cohort.id, ALICE, week(3), week(4)).await.unwrap();

    let h = store.member_history(cohort.id, ALICE).await.unwrap().expect("Alice is a member");
    assert_eq!(h.member.user_id, ALICE);
    assert_eq!(h.checkins, store.checkins_of_cohort(cohort.id).await.unwrap());
    assert_eq!(h.replies, store.replies_of_member(cohort.id, ALICE).await.unwrap());
    assert_eq!(h.replies[0].answer, tricky, "text survives as written");
    assert_eq!(h.pauses, store.pauses(cohort.id, ALICE).await.unwrap());
    assert_eq!(h.impact, store.impact_of_member(cohort.id, ALICE, 100).await.unwrap());
    assert_eq!(h.impact[0].what_changed, "Cut build time\nfrom 40 to 9 min");
    assert_eq!(h.impact[0].link.as_deref(), Some("https://ci.example/x"));
    assert!(!format!("{h:?}").contains("Bob's"), "nothing of Bob's");

    assert_eq!(store.member_history(cohort.id, CAROL).await.unwrap(), None, "never joined");
}

#[tokio::test]
async fn cohort_activity_gives_the_same_status_as_the_row_by_row_fetch() {
    let (_db, store) = temp_store().await;
    let cohort = stored_cohort(&store).await;
    let ids = store.bulk_checkins(cohort.id, &bulk_ledger(8)).await.unwrap();
    let start = week(0) - Duration::days(1);
    store
        .bulk_members(cohort.id, &[(ALICE, start), (BOB, start), (CAROL, week(3) + Duration::hours(2))])
        .await
        .unwrap();
    store.join(cohort.id, DAVE, start).await.unwrap();
    store.leave(cohort.id, DAVE, week(2)).await.unwrap();
    let mut replies = Vec::new();
    for (k, id) in ids.iter().enumerate() {
        replies.push(bulk_reply(*id, ALICE, "a", Some(3), week(k as i64) + Duration::hours(1)));
        if k % 3 == 0 {
            replies.push(bulk_reply(*id, BOB, "b", None, week(k as i64) + Duration::hours(2)));
        }
    }
    replies.push(bulk_reply(ids[0], DAVE, "d", None, week(0) + Duration::hours(5)));
    store.bulk_replies(&replies).await.unwrap();
    store.bulk_pauses(cohort.id, &[(BOB, Pause { starts_at: week(4), ends_at: week(6) })]).await.unwrap();
    store.pause(cohort.id, CAROL, week(6), week(7)).await.unwrap();

    let now = week(7) + Duration::days(3);
    let a = store.cohort_activity(cohort.id).await.unwrap();
    assert_eq!(a.checkins, store.checkins_of_cohort(cohort.id).await.unwrap());
    assert_eq!(a.members.len(), 4, "former members too; the status leaves them out");
    let mut rows = Vec::new();
    for m in store.members(cohort.id).await.unwrap() {
        let pauses = store.pauses(cohort.id, m.user_id).await.unwrap();
        rows.push((m, pauses));
    }
    let all_replies = store.replies_of_cohort(cohort.id).await.unwrap();
    let set_based = CohortStatus::from_activity(&a.members, &a.checkins, 12, now);
    assert_eq!(set_based, CohortStatus::compute(&rows, &a.checkins, &all_replies, now));
    let bob = set_based.members.iter().find(|m| m.user_id == BOB).unwrap();
    assert_eq!(bob.all_time, Tally { offered: 5, answered: 3 }, "check-ins 0, 3, 6 answered; 4 and 5 paused");
    assert_eq!(bob.last_answer, Some(week(6) + Duration::hours(2)));
}

// ---- charts -------------------------------------------------------------------

/// With `CHART_DUMP=some/dir`, the charts are written there to be looked at.
fn look_at(name: &str, png_bytes: &[u8]) {
    if let Ok(dir) = std::env::var("CHART_DUMP") {
        std::fs::write(std::path::Path::new(&dir).join(name), png_bytes).unwrap();
    }
}

/// Decoded RGB pixels and size.
fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(png_bytes);
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("PNG pixels");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let pixels = buf[..info.buffer_size()].chunks(3).map(|p| [p[0], p[1], p[2]]).collect();
    (info.width, info.height, pixels)
}

fn count(pixels: &[[u8; 3]], colour: [u8; 3]) -> usize {
    pixels.iter().filter(|p| **p == colour).count()
}

const ANSWERED_RGB: [u8; 3] = [0x00, 0x9E, 0x73];
const MISSED_RGB: [u8; 3] = [0xD5, 0x5E, 0x00];
const PAUSED_RGB: [u8; 3] = [0x99, 0x99, 0x99];
const WHITE: [u8; 3] = [0xFF, 0xFF, 0xFF];

fn rated_progress() -> MemberProgress {
    let checkins = ledger(12);
    let alice = member_since(ALICE, week(0) - Duration::days(1));
    let replies: Vec<Reply> = checkins
        .iter()
        .enumerate()
        .filter(|(k, _)| k % 4 != 3)
        .map(|(k, c)| reply(c, ALICE, Some(1 + (k % 5) as u8)))
        .collect();
    MemberProgress::compute(&alice, &[], &checkins, &replies, &[], 12, week(12))
}

#[test]
fn the_progress_chart_is_a_png_of_the_expected_size_and_not_blank() {
    let p = rated_progress();
    let bytes = chart::progress_png(&p, "Alice · last 12 weeks", chrono_tz::Europe::Berlin).unwrap();
    look_at("progress.png", &bytes);
    let (w, h, pixels) = decode(&bytes);
    assert_eq!((w, h), PROGRESS_SIZE);
    let ink = pixels.iter().filter(|p| **p != WHITE).count();
    assert!(ink > pixels.len() / 50, "only {ink} of {} pixels drawn", pixels.len());
    assert!(count(&pixels, ANSWERED_RGB) > 1000, "answered bars");
    assert!(count(&pixels, MISSED_RGB) > 300, "missed bars");
    // Deterministic: the same data gives the same bytes; other data does not.
    assert_eq!(bytes, chart::progress_png(&p, "Alice · last 12 weeks", chrono_tz::Europe::Berlin).unwrap());
    let mut other = p.clone();
    other.weeks.truncate(6);
    assert_ne!(bytes, chart::progress_png(&other, "Alice · last 12 weeks", chrono_tz::Europe::Berlin).unwrap());
}

#[test]
fn a_chart_with_no_history_still_renders() {
    let alice = member_since(ALICE, week(0));
    let p = MemberProgress::compute(&alice, &[], &[], &[], &[], 12, week(0));
    let (w, h, pixels) = decode(&chart::progress_png(&p, "New member", chrono_tz::UTC).unwrap());
    assert_eq!((w, h), PROGRESS_SIZE);
    assert!(pixels.iter().any(|p| *p != WHITE), "axes and a message are drawn");
    let s = CohortStatus::compute(&[], &[], &[], week(0));
    let (w, h, _) = decode(&chart::heatmap_png(&s, "Empty cohort", chrono_tz::UTC).unwrap());
    assert_eq!((w, h), heatmap_size(0));
}

/// 500 members × 104 weekly check-ins (the last one open a day after
/// `week(103)`): member `i` misses every `(i % 7 + 2)`-th check-in, and the
/// first 50 are paused for the last two weeks.
fn big_cohort() -> (Vec<MemberActivity>, Vec<CheckIn>) {
    let checkins = ledger(104);
    let members = (0..500u64)
        .map(|i| {
            let member = member_since(UserId::new(10_000 + i), week(0) - Duration::days(1));
            let answered: Vec<CheckInId> =
                checkins.iter().filter(|c| c.id.get() % (i as i64 % 7 + 2) != 0).map(|c| c.id).collect();
            let pauses = if i < 50 { vec![Pause { starts_at: week(102), ends_at: week(105) }] } else { vec![] };
            MemberActivity { member, pauses, answered, last_answer: Some(week(103)) }
        })
        .collect();
    (members, checkins)
}

#[test]
fn the_heatmap_of_500_members_is_a_png_with_a_row_per_member() {
    let (members, checkins) = big_cohort();
    let s = CohortStatus::from_activity(&members, &checkins, 12, week(103) + Duration::days(1));
    assert_eq!((s.members.len(), s.weeks.len()), (500, 12));
    let bytes = chart::heatmap_png(&s, "Big cohort · last 12 weeks", chrono_tz::UTC).unwrap();
    look_at("heatmap.png", &bytes);
    let (w, h, pixels) = decode(&bytes);
    assert_eq!((w, h), heatmap_size(500));
    assert!(h >= 1000, "500 rows of at least 2 px: {h}");
    assert!(count(&pixels, ANSWERED_RGB) > count(&pixels, MISSED_RGB), "most cells are answered");
    assert!(count(&pixels, MISSED_RGB) > 1000);
    assert!(count(&pixels, PAUSED_RGB) > 100, "the paused members show");
    assert_eq!(bytes, chart::heatmap_png(&s, "Big cohort · last 12 weeks", chrono_tz::UTC).unwrap());
}

// ---- packet -------------------------------------------------------------------

fn berlin_cohort() -> Cohort {
    Cohort {
        id: CohortId::new(1),
        spec: spec("staff-path", CHANNEL, "0 30 0 * * Mon", "Europe/Berlin"),
        source: CohortSource::File,
        active: true,
        created_at: week(-1),
    }
}

#[test]
fn the_packet_holds_the_members_own_answers_grouped_by_track_and_none_of_anothers() {
    use Track::*;
    let checkins = ledger_of(&[Scope, Influence, Scope]);
    let alice = member_since(ALICE, week(0) - Duration::days(3));
    let mut replies = vec![
        Reply {
            answer: "Wrote the RFC.\n## Not a heading\nSee @everyone, <@42>, <@&7>, <#9>; mail a@b.example".into(),
            confidence: Some(3),
            ..reply(&checkins[0], ALICE, None)
        },
        Reply { answer: "Mentored two seniors.".into(), ..reply(&checkins[1], ALICE, None) },
        Reply { answer: "Second scope answer.".into(), confidence: Some(4), ..reply(&checkins[2], ALICE, None) },
    ];
    replies.push(Reply { answer: "BOB-SECRET answer".into(), ..reply(&checkins[0], BOB, None) });
    // Written at 23:30 UTC on Sunday: Monday in Berlin.
    replies[0].created_at = utc("2027-01-03T23:30:00Z");
    replies[0].updated_at = utc("2027-01-05T10:00:00Z");
    let impact = vec![
        ImpactEntry { link: Some("https://dash.example/p95".into()), ..impact_entry(1, ALICE, week(1), vec![Impact]) },
        impact_entry(2, BOB, week(1), vec![Impact]),
    ];
    let path = StaffPath::default();
    let material = PacketMaterial { checkins: &checkins, replies: &replies, impact: &impact, path: &path, notes: &[] };
    let md = packet::render(&berlin_cohort(), &alice, "Alice", &material, week(3));

    assert!(md.starts_with("# Promotion evidence: Alice\n"), "{md}");
    assert!(md.contains("- **Period:** 2027-01-01 to 2027-01-25 (Europe/Berlin)"), "{md}");
    assert!(md.contains("- **Check-in answers:** 3 in 2 tracks"), "{md}");
    assert!(md.contains("- **Impact entries:** 1"), "{md}");
    assert!(!md.contains("BOB-SECRET") && !md.contains(&format!("of {BOB}")), "nothing of Bob's:\n{md}");

    let ledger_at = md.find("## Impact ledger").unwrap();
    let answers_at = md.find("## Answers by track").unwrap();
    assert!(ledger_at < answers_at);
    assert!(md.contains("### 1. 2027-01-11 · Impact"), "{md}");
    assert!(md.contains(&format!("> win 1 of {ALICE}")), "{md}");
    assert!(md.contains("**Link:** <https://dash.example/p95>"), "{md}");

    let scope_at = md.find("### Scope · 2 answers").expect("scope section");
    let influence_at = md.find("### Influence · 1 answer\n").expect("influence section");
    assert!(answers_at < scope_at && scope_at < influence_at, "tracks in order");
    // Dated in the cohort's time zone, quoted line for line, edits noted.
    assert!(md.contains("#### 2027-01-04 · confidence 3/5 · edited 2027-01-05"), "{md}");
    assert!(md.contains("**Question:** Question 1 on scope?"), "{md}");
    assert!(md.contains("> Wrote the RFC.\n> ## Not a heading\n"), "{md}");
    let first = md.find("Wrote the RFC").unwrap();
    let second = md.find("Second scope answer").unwrap();
    assert!(first < second && second < influence_at, "answers within a track oldest first");
    assert!(md.contains("_No answers yet in: Communication, Mentoring, Impact, Judgment._"), "{md}");

    // Mentions cannot ping when pasted back; everything else reads as written.
    for ping in ["@everyone", "<@42>", "<@&7>", "<#9>"] {
        assert!(!md.contains(ping), "{ping} left intact");
    }
    assert!(md.contains("a@b.example"));
    assert_eq!(packet::neutralize("<@42>").replace('\u{200B}', ""), "<@42>");
}

#[test]
fn an_empty_packet_says_so() {
    let alice = member_since(ALICE, week(0));
    let (ledger, path) = (ledger(2), StaffPath::default());
    let material = PacketMaterial { checkins: &ledger, replies: &[], impact: &[], path: &path, notes: &[] };
    let md = packet::render(&berlin_cohort(), &alice, "Alice", &material, week(2));
    assert!(md.contains("_No entries yet."), "{md}");
    assert!(md.contains("_No check-in answers yet._"), "{md}");
    assert!(md.contains("- **Period:** 2027-01-04 to 2027-01-18"), "{md}");
}

// ---- embeds within Discord's limits -------------------------------------------

/// Discord: title ≤ 256, description ≤ 4096, ≤ 25 fields, names ≤ 256,
/// values ≤ 1024, footer ≤ 2048, 6000 characters in all.
fn assert_within_embed_limits(embed: &serenity::builder::CreateEmbed) -> serde_json::Value {
    let json = serde_json::to_value(embed).unwrap();
    let len = |v: &serde_json::Value| v.as_str().map(|s| s.chars().count()).unwrap_or(0);
    let title = len(&json["title"]);
    let description = len(&json["description"]);
    let footer = len(&json["footer"]["text"]);
    assert!(title <= 256 && description <= 4096 && footer <= 2048, "{json}");
    let fields = json["fields"].as_array().cloned().unwrap_or_default();
    assert!(fields.len() <= 25);
    let mut total = title + description + footer;
    for f in &fields {
        let (name, value) = (len(&f["name"]), len(&f["value"]));
        assert!((1..=256).contains(&name) && (1..=1024).contains(&value), "field too long: {f}");
        total += name + value;
    }
    assert!(total <= 6000, "{total} characters: {json}");
    json
}

#[test]
fn the_status_embed_of_a_500_member_cohort_fits_discords_limits() {
    let (mut members, checkins) = big_cohort();
    // 300 members went quiet: no answer to the last 4 check-ins.
    for m in members.iter_mut().skip(200) {
        m.answered.retain(|id| id.get() <= 100);
    }
    let s = CohortStatus::from_activity(&members, &checkins, 12, week(103) + Duration::days(1));
    assert_eq!(s.quiet().count(), 300);
    let embed = render::cohort_status_embed(&berlin_cohort(), &s, "cohort-status.csv");
    let json = assert_within_embed_limits(&embed);
    let text = json.to_string();
    assert!(text.contains("500 members"), "{text}");
    assert!(text.contains("more in `cohort-status.csv`"), "the quiet list points to the file: {text}");
}

#[test]
fn the_progress_embed_fits_discords_limits_with_long_wins() {
    let checkins = ledger(30);
    let alice = member_since(ALICE, week(0));
    let impact: Vec<ImpactEntry> = (1..=40)
        .map(|i| ImpactEntry {
            what_changed: "x".repeat(1000),
            ..impact_entry(i, ALICE, week(i % 30), vec![Track::Impact])
        })
        .collect();
    let p = MemberProgress::compute(
        &alice,
        &[],
        &checkins,
        &replies_to(&checkins, ALICE, &[1, 2, 3]),
        &impact,
        12,
        week(30),
    );
    let json = assert_within_embed_limits(&render::progress_embed(&berlin_cohort(), "Alice", &p));
    let description = json["description"].as_str().unwrap();
    // Exactly 12 weeks after check-in 18, so the window holds check-ins 19..=29.
    assert!(description.contains("**Last 12 weeks:** 0/11 answered (0%)"), "{description}");
    assert!(description.contains("**All time:** 3/30 answered (10%)"), "{description}");
    assert!(json.to_string().contains("40 in all"));
}

#[test]
fn progress_with_three_long_notes_and_a_whole_path_fits_one_message() {
    use trellis::discord::render::mentoring::{embed_chars, progress_notes_embed};
    use trellis::domain::{Note, NoteId, PathProject, PathStep, PathStepId, StepEvidence};
    use trellis::summary::mentoring::{ProgressMentoring, ShownNote};

    let checkins = ledger(30);
    let alice = member_since(ALICE, week(0));
    let impact: Vec<ImpactEntry> = (1..=40)
        .map(|i| ImpactEntry {
            what_changed: "x".repeat(1000),
            ..impact_entry(i, ALICE, week(i % 30), vec![Track::Impact])
        })
        .collect();
    let mut p = MemberProgress::compute(
        &alice,
        &[],
        &checkins,
        &replies_to(&checkins, ALICE, &[1, 2, 3]),
        &impact,
        12,
        week(30),
    );
    let note = |i: i64| Note {
        id: NoteId::new(i),
        reply_id: ReplyId::new(i),
        checkin_id: checkins[i as usize].id,
        cohort_id: CohortId::new(1),
        member_id: ALICE,
        author_id: BOB,
        author_name: "N".repeat(100),
        text: "w ".repeat(1000),
        created_at: week(i),
        updated_at: week(i),
        seen_at: None,
    };
    let steps = PathStep::ALL
        .iter()
        .map(|s| StepEvidence {
            id: PathStepId::new(s.number() as i64),
            cohort_id: CohortId::new(1),
            user_id: ALICE,
            step: *s,
            evidence: "e".repeat(2000),
            link: None,
            done_at: week(1),
            updated_at: week(2),
        })
        .collect();
    let project = PathProject {
        cohort_id: CohortId::new(1),
        user_id: ALICE,
        what: "w".repeat(1000),
        why: "y".repeat(1000),
        teams: "t".repeat(1000),
        created_at: week(1),
        updated_at: week(1),
    };
    p.mentoring = ProgressMentoring {
        new_notes: ShownNote::with_questions((1..=3).map(note).collect(), &checkins),
        more_notes: 9,
        path: StaffPath::of(ALICE, Some(project), steps),
    };
    let main = render::progress_embed(&berlin_cohort(), &"A".repeat(100), &p);
    assert_within_embed_limits(&main);
    assert!(serde_json::to_string(&main).unwrap().contains("7 of 7 steps done"));
    let notes = progress_notes_embed(&p.mentoring, true).expect("three new notes");
    let json = assert_within_embed_limits(&notes);
    assert!(json["description"].as_str().unwrap().contains("and 9 more notes"), "{json}");
    let total = embed_chars(&main) + embed_chars(&notes);
    assert!(total <= 6000, "{total} characters in one message");
}

#[test]
fn an_absurd_window_is_all_time_and_still_charts() {
    let checkins = ledger(3);
    let alice = member_since(ALICE, week(0) - Duration::days(1));
    let p =
        MemberProgress::compute(&alice, &[], &checkins, &replies_to(&checkins, ALICE, &[0, 2]), &[], u32::MAX, week(3));
    assert_eq!(p.recent, p.all_time);
    assert_eq!(p.all_time, Tally { offered: 3, answered: 2 });
    let (w, h, _) = decode(&chart::progress_png(&p, "Alice", chrono_tz::UTC).unwrap());
    assert_eq!((w, h), PROGRESS_SIZE);
}
