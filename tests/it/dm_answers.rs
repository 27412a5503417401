//! Answers by DM at the engine: editing the DM that holds an answer edits
//! it (and nothing else does), and with several cohorts a DM goes to the
//! only open check-in not answered yet, or the member picks with a cohort
//! button that stores only for that cohort's current members.

use chrono::{DateTime, Duration, Utc};
use trellis::domain::{CheckIn, Cohort, CohortDraft, InputError, MessageId, Reply, ReplySource, UserId};
use trellis::engine::{DmAnswer, DmChoice, DmEdit, EngineError};
use trellis_testkit::typed::{ALICE, BOB, CAROL, CHANNEL, OTHER_CHANNEL, STRANGER};
use trellis_testkit::{Backend, Harness, draft, on_both_backends, utc};

/// Friday; cohort A's first check-in is Monday 09:00 UTC, B's Tuesday 09:00.
const START: &str = "2027-01-01T12:00:00Z";
const MONDAY: &str = "2027-01-04T09:00:00Z";
const TUESDAY: &str = "2027-01-05T09:00:00Z";

const V1: &str = "v1: shipped the parser";
const V2: &str = "v2: shipped the parser and moved CI";

fn dm(n: u64) -> MessageId {
    MessageId::new(1_300_000_000_000_000_000 + n)
}

async fn setup(h: &Harness, d: CohortDraft) -> Cohort {
    h.engine.setup_cohort(d).await.expect("setup cohort")
}

/// Posts the check-in due at `at` and returns it.
async fn post_at(h: &Harness, at: DateTime<Utc>) -> CheckIn {
    h.set(at);
    let report = h.tick().await;
    assert_eq!(report.posted.len(), 1, "expected one post at {at}: {report:?}");
    for c in h.engine.store().active_cohorts().await.unwrap() {
        if let Some(k) = h.engine.store().open_checkin(c.id, at).await.unwrap()
            && k.nonce == report.posted[0]
        {
            return k;
        }
    }
    panic!("posted check-in not found");
}

/// Cohort A (Mondays, CHANNEL) with ALICE, its check-in open an hour.
async fn one_open(h: &Harness) -> (Cohort, CheckIn) {
    let a = setup(h, draft("a", CHANNEL, "0 0 9 * * Mon", "UTC")).await;
    h.engine.join(&a, ALICE).await.unwrap();
    let k = post_at(h, utc(MONDAY)).await;
    h.set(utc(MONDAY) + Duration::hours(1));
    (a, k)
}

/// Cohorts A (Mondays, CHANNEL) and B (Tuesdays, OTHER_CHANNEL, a nudge
/// after 48 h), ALICE and CAROL in both, both check-ins open on Tuesday 10:00.
async fn two_open(h: &Harness) -> (Cohort, CheckIn, Cohort, CheckIn) {
    let a = setup(h, draft("a", CHANNEL, "0 0 9 * * Mon", "UTC")).await;
    let mut b = draft("b", OTHER_CHANNEL, "0 0 9 * * Tue", "UTC");
    b.reminder_after = Some("48h".into());
    let b = setup(h, b).await;
    for user in [ALICE, CAROL] {
        h.engine.join(&a, user).await.unwrap();
        h.engine.join(&b, user).await.unwrap();
    }
    let ka = post_at(h, utc(MONDAY)).await;
    let kb = post_at(h, utc(TUESDAY)).await;
    h.set(utc(TUESDAY) + Duration::hours(1));
    (a, ka, b, kb)
}

fn saved(got: DmAnswer) -> (Reply, String) {
    match got {
        DmAnswer::Saved { reply, cohort_name, .. } => (reply, cohort_name),
        DmAnswer::Choose(choices) => panic!("asked instead of saving: {choices:?}"),
    }
}

fn asked(got: DmAnswer) -> Vec<DmChoice> {
    match got {
        DmAnswer::Choose(choices) => choices,
        DmAnswer::Saved { reply, .. } => panic!("saved instead of asking: {reply:?}"),
    }
}

async fn answer_of(h: &Harness, k: &CheckIn, user: UserId) -> Option<String> {
    h.engine.store().reply(k.id, user).await.unwrap().map(|r| r.answer)
}

async fn history_of(h: &Harness, k: &CheckIn, user: UserId) -> Vec<String> {
    let Some(reply) = h.engine.store().reply(k.id, user).await.unwrap() else { return Vec::new() };
    h.engine.store().reply_history(reply.id).await.unwrap().into_iter().map(|e| e.answer).collect()
}

// ---- edited DMs -----------------------------------------------------------------

async fn editing_the_dm_that_holds_the_answer_edits_it_and_keeps_the_first_version(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let (_, k) = one_open(&h).await;
    let (reply, cohort) = saved(h.engine.answer_by_dm(ALICE, dm(1), V1).await.unwrap());
    assert_eq!((reply.answer.as_str(), cohort.as_str()), (V1, "a"));

    h.set(h.now() + Duration::minutes(5));
    let DmEdit::Updated { reply, cohort_name } = h.engine.edit_dm_answer(ALICE, dm(1), V2).await.unwrap() else {
        panic!("the edit was not saved");
    };
    assert_eq!((reply.answer.as_str(), reply.checkin_id, cohort_name.as_str()), (V2, k.id, "a"));
    assert_eq!(reply.updated_at, h.now());
    assert_eq!(answer_of(&h, &k, ALICE).await.as_deref(), Some(V2));
    assert_eq!(history_of(&h, &k, ALICE).await, [V1]);

    // Edited again: still the same DM holding the same answer.
    let again = h.engine.edit_dm_answer(ALICE, dm(1), "v3").await.unwrap();
    assert!(matches!(again, DmEdit::Updated { .. }), "{again:?}");
    assert_eq!(history_of(&h, &k, ALICE).await, [V1, V2]);
}
on_both_backends!(editing_the_dm_that_holds_the_answer_edits_it_and_keeps_the_first_version);

async fn an_edit_that_keeps_the_text_changes_nothing(backend: Backend) {
    // Discord also sends MESSAGE_UPDATE when a link preview appears, with the
    // same text; and an event may arrive twice.
    let h = Harness::on(backend, utc(START)).await;
    let (_, k) = one_open(&h).await;
    saved(h.engine.answer_by_dm(ALICE, dm(1), V1).await.unwrap());
    for same in [V1.to_string(), format!("  {V1}\n")] {
        assert_eq!(h.engine.edit_dm_answer(ALICE, dm(1), &same).await.unwrap(), DmEdit::Unchanged);
    }
    assert!(history_of(&h, &k, ALICE).await.is_empty());
}
on_both_backends!(an_edit_that_keeps_the_text_changes_nothing);

async fn an_edit_to_an_invalid_answer_is_refused_like_a_fresh_dm_and_the_answer_stays(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let (_, k) = one_open(&h).await;
    saved(h.engine.answer_by_dm(ALICE, dm(1), V1).await.unwrap());
    let too_long = "x".repeat(4001);
    type IsReason = fn(&InputError) -> bool;
    let cases: [(&str, IsReason); 4] = [
        ("", |e| matches!(e, InputError::EmptyAnswer)),
        (" \u{200B} ", |e| matches!(e, InputError::EmptyAnswer)),
        (too_long.as_str(), |e| matches!(e, InputError::AnswerTooLong(4001))),
        ("before\0after", |e| matches!(e, InputError::Nul)),
    ];
    for (text, is) in cases {
        let fresh = h.engine.answer_by_dm(ALICE, dm(9), text).await.unwrap_err();
        let edit = h.engine.edit_dm_answer(ALICE, dm(1), text).await.unwrap_err();
        assert!(matches!(&edit, EngineError::Input(e) if is(e)), "{edit:?}");
        assert_eq!(edit.to_string(), fresh.to_string(), "refused with the fresh DM's reason");
    }
    assert_eq!(answer_of(&h, &k, ALICE).await.as_deref(), Some(V1));
    assert!(history_of(&h, &k, ALICE).await.is_empty());
    // The DM still holds the answer: a good edit afterwards is saved.
    assert!(matches!(h.engine.edit_dm_answer(ALICE, dm(1), V2).await.unwrap(), DmEdit::Updated { .. }));
}
on_both_backends!(an_edit_to_an_invalid_answer_is_refused_like_a_fresh_dm_and_the_answer_stays);

async fn an_edit_after_the_checkin_closed_is_refused_and_the_answer_stays(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let (_, k) = one_open(&h).await;
    saved(h.engine.answer_by_dm(ALICE, dm(1), V1).await.unwrap());
    // The next Monday's check-in closes this one.
    let next = post_at(&h, utc(MONDAY) + Duration::weeks(1)).await;
    h.set(h.now() + Duration::minutes(1));
    let err = h.engine.edit_dm_answer(ALICE, dm(1), V2).await.unwrap_err();
    assert!(matches!(err, EngineError::CheckInClosed), "{err}");
    assert!(err.is_user_error());
    // A link preview on the old DM says nothing at all.
    assert_eq!(h.engine.edit_dm_answer(ALICE, dm(1), V1).await.unwrap(), DmEdit::Unchanged);
    assert_eq!(answer_of(&h, &k, ALICE).await.as_deref(), Some(V1));
    assert!(history_of(&h, &k, ALICE).await.is_empty());
    assert_eq!(answer_of(&h, &next, ALICE).await, None, "the edit went nowhere else");
}
on_both_backends!(an_edit_after_the_checkin_closed_is_refused_and_the_answer_stays);

async fn edits_of_dms_that_hold_no_answer_change_nothing(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let a = setup(&h, draft("a", CHANNEL, "0 0 9 * * Mon", "UTC")).await;
    h.engine.join(&a, ALICE).await.unwrap();
    h.engine.join(&a, BOB).await.unwrap();
    // Sent while no check-in was open.
    let err = h.engine.answer_by_dm(ALICE, dm(1), "early").await.unwrap_err();
    assert!(matches!(err, EngineError::NoOpenCheckIn), "{err}");
    let k = post_at(&h, utc(MONDAY)).await;
    h.set(utc(MONDAY) + Duration::hours(1));
    assert_eq!(h.engine.edit_dm_answer(ALICE, dm(1), "early, edited").await.unwrap(), DmEdit::NotAnAnswer);
    // Refused when it arrived.
    assert!(h.engine.answer_by_dm(ALICE, dm(2), "   ").await.is_err());
    assert_eq!(h.engine.edit_dm_answer(ALICE, dm(2), "now a real answer").await.unwrap(), DmEdit::NotAnAnswer);
    // Never seen at all.
    assert_eq!(h.engine.edit_dm_answer(ALICE, dm(3), "who knows").await.unwrap(), DmEdit::NotAnAnswer);
    assert_eq!(answer_of(&h, &k, ALICE).await, None);

    // Someone else's DM id edits nothing of theirs.
    saved(h.engine.answer_by_dm(BOB, dm(4), "bob's answer").await.unwrap());
    assert_eq!(h.engine.edit_dm_answer(ALICE, dm(4), "alice's text").await.unwrap(), DmEdit::NotAnAnswer);
    assert_eq!(answer_of(&h, &k, BOB).await.as_deref(), Some("bob's answer"));
    assert_eq!(answer_of(&h, &k, ALICE).await, None);
}
on_both_backends!(edits_of_dms_that_hold_no_answer_change_nothing);

async fn only_the_dm_currently_holding_the_answer_can_edit_it(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let (_, k) = one_open(&h).await;
    saved(h.engine.answer_by_dm(ALICE, dm(1), V1).await.unwrap());
    saved(h.engine.answer_by_dm(ALICE, dm(2), "newer DM").await.unwrap());
    // The older DM no longer holds it: its edit must not bring v1 back.
    assert_eq!(h.engine.edit_dm_answer(ALICE, dm(1), "v1, edited").await.unwrap(), DmEdit::NotAnAnswer);
    assert_eq!(answer_of(&h, &k, ALICE).await.as_deref(), Some("newer DM"));
    assert!(matches!(h.engine.edit_dm_answer(ALICE, dm(2), "newer DM, edited").await.unwrap(), DmEdit::Updated { .. }));

    // The form takes the answer over from every DM.
    h.engine.answer(&k, ALICE, "from the form", "4", ReplySource::Modal).await.unwrap();
    assert_eq!(h.engine.edit_dm_answer(ALICE, dm(2), "DM again").await.unwrap(), DmEdit::NotAnAnswer);
    let stored = h.engine.store().reply(k.id, ALICE).await.unwrap().unwrap();
    assert_eq!((stored.answer.as_str(), stored.confidence), ("from the form", Some(4)));
    assert_eq!(history_of(&h, &k, ALICE).await, [V1, "newer DM", "newer DM, edited"]);
}
on_both_backends!(only_the_dm_currently_holding_the_answer_can_edit_it);

// ---- several cohorts ------------------------------------------------------------

async fn a_reminded_members_plain_reply_goes_to_the_reminded_checkin_or_asks_and_is_never_refused(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let (_, ka, _, kb) = two_open(&h).await;
    // Alice answers A with the Answer button (the form); Carol answers nothing.
    h.engine.answer(&ka, ALICE, "a by the form", "3", ReplySource::Modal).await.unwrap();
    // B's nudge ("Reply here with your answer") goes to both.
    h.set(utc(TUESDAY) + Duration::hours(48));
    let mut reminded = h.tick().await.reminded;
    reminded.sort();
    assert_eq!(reminded, [(kb.id, ALICE), (kb.id, CAROL)]);
    h.set(h.now() + Duration::minutes(1));

    // Alice's reply goes to B, the one open check-in she has not answered.
    let (reply, cohort) = saved(h.engine.answer_by_dm(ALICE, dm(1), "b by DM").await.unwrap());
    assert_eq!((reply.checkin_id, cohort.as_str()), (kb.id, "b"));
    assert_eq!(answer_of(&h, &ka, ALICE).await.as_deref(), Some("a by the form"));
    assert_eq!(answer_of(&h, &kb, ALICE).await.as_deref(), Some("b by DM"));

    // Carol's is not refused either: she is asked, B among the choices.
    let choices = asked(h.engine.answer_by_dm(CAROL, dm(2), "carol's").await.unwrap());
    assert!(choices.iter().any(|c| c.checkin_id == kb.id && !c.answered), "{choices:?}");
}
on_both_backends!(a_reminded_members_plain_reply_goes_to_the_reminded_checkin_or_asks_and_is_never_refused);

async fn a_dm_with_two_unanswered_checkins_asks_with_every_open_one_and_stores_nothing(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let (a, ka, _, kb) = two_open(&h).await;
    let choices = asked(h.engine.answer_by_dm(ALICE, dm(1), "which?").await.unwrap());
    let want = [
        DmChoice { checkin_id: ka.id, cohort_name: "a".into(), answered: false },
        DmChoice { checkin_id: kb.id, cohort_name: "b".into(), answered: false },
    ];
    assert_eq!(choices, want);
    assert_eq!((answer_of(&h, &ka, ALICE).await, answer_of(&h, &kb, ALICE).await), (None, None));
    // An edit of that DM before any press changes nothing either.
    assert_eq!(h.engine.edit_dm_answer(ALICE, dm(1), "which, edited").await.unwrap(), DmEdit::NotAnAnswer);

    // Both answered: asked again, each marked as answered.
    h.engine.answer(&ka, ALICE, "a", "", ReplySource::Modal).await.unwrap();
    h.engine.answer(&kb, ALICE, "b", "", ReplySource::Modal).await.unwrap();
    let choices = asked(h.engine.answer_by_dm(ALICE, dm(2), "again?").await.unwrap());
    assert!(choices.iter().all(|c| c.answered) && choices.len() == 2, "{choices:?}");
    assert_eq!(answer_of(&h, &ka, ALICE).await.as_deref(), Some("a"));

    // One cohort left: nothing to ask.
    h.engine.leave(&a, ALICE).await.unwrap();
    let (reply, _) = saved(h.engine.answer_by_dm(ALICE, dm(3), "only b now").await.unwrap());
    assert_eq!(reply.checkin_id, kb.id);
}
on_both_backends!(a_dm_with_two_unanswered_checkins_asks_with_every_open_one_and_stores_nothing);

async fn a_pressed_cohort_button_stores_the_dm_to_that_checkin_only_and_the_dm_then_holds_it(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let (_, ka, _, kb) = two_open(&h).await;
    asked(h.engine.answer_by_dm(ALICE, dm(1), "which?").await.unwrap());
    // The member edited the DM before pressing: the text read back on the press counts.
    let (reply, cohort, _) = h.engine.answer_dm_choice(ALICE, kb.id, dm(1), V1).await.unwrap();
    assert_eq!((reply.checkin_id, reply.answer.as_str(), cohort.as_str()), (kb.id, V1, "b"));
    assert_eq!(answer_of(&h, &ka, ALICE).await, None);
    assert_eq!(answer_of(&h, &kb, ALICE).await.as_deref(), Some(V1));
    // Editing that DM now edits B's answer.
    assert!(matches!(h.engine.edit_dm_answer(ALICE, dm(1), V2).await.unwrap(), DmEdit::Updated { .. }));
    assert_eq!(answer_of(&h, &kb, ALICE).await.as_deref(), Some(V2));
    assert_eq!(history_of(&h, &kb, ALICE).await, [V1]);
    // Invalid text read back is refused like a fresh DM.
    let err = h.engine.answer_dm_choice(ALICE, ka.id, dm(1), " ").await.unwrap_err();
    assert!(matches!(err, EngineError::Input(InputError::EmptyAnswer)), "{err}");
    assert_eq!(answer_of(&h, &ka, ALICE).await, None);
}
on_both_backends!(a_pressed_cohort_button_stores_the_dm_to_that_checkin_only_and_the_dm_then_holds_it);

async fn a_dm_holds_one_answer_even_when_both_buttons_are_pressed(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let (_, ka, _, kb) = two_open(&h).await;
    asked(h.engine.answer_by_dm(ALICE, dm(1), "both?").await.unwrap());
    h.engine.answer_dm_choice(ALICE, ka.id, dm(1), "both?").await.unwrap();
    h.engine.answer_dm_choice(ALICE, kb.id, dm(1), "both?").await.unwrap();
    assert_eq!(answer_of(&h, &ka, ALICE).await.as_deref(), Some("both?"));
    // The last press holds the DM: an edit changes B, A keeps its text.
    let DmEdit::Updated { reply, .. } = h.engine.edit_dm_answer(ALICE, dm(1), "b only").await.unwrap() else {
        panic!("not saved");
    };
    assert_eq!(reply.checkin_id, kb.id);
    assert_eq!(answer_of(&h, &ka, ALICE).await.as_deref(), Some("both?"));
    assert_eq!(answer_of(&h, &kb, ALICE).await.as_deref(), Some("b only"));
}
on_both_backends!(a_dm_holds_one_answer_even_when_both_buttons_are_pressed);

async fn a_cohort_button_for_a_closed_checkin_stores_nothing(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let (_, ka, _, kb) = two_open(&h).await;
    asked(h.engine.answer_by_dm(ALICE, dm(1), "late").await.unwrap());
    // A's next check-in closes the one the button names.
    let next = post_at(&h, utc(MONDAY) + Duration::weeks(1)).await;
    h.set(h.now() + Duration::minutes(1));
    let err = h.engine.answer_dm_choice(ALICE, ka.id, dm(1), "late").await.unwrap_err();
    assert!(matches!(err, EngineError::CheckInClosed), "{err}");
    for k in [&ka, &kb, &next] {
        assert_eq!(answer_of(&h, k, ALICE).await, None);
    }
}
on_both_backends!(a_cohort_button_for_a_closed_checkin_stores_nothing);

async fn a_cohort_button_stores_nothing_for_someone_outside_its_cohort(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let (a, ka, b, kb) = two_open(&h).await;
    h.engine.join(&a, BOB).await.unwrap();
    let unknown =
        |r: Result<(Reply, String, Option<Reply>), EngineError>| matches!(r, Err(EngineError::UnknownCheckIn));

    // In no cohort at all: nothing stored, not enrolled.
    assert!(unknown(h.engine.answer_dm_choice(STRANGER, ka.id, dm(1), "let me in").await));
    assert_eq!(h.engine.store().member(a.id, STRANGER).await.unwrap(), None);
    // In A, pressing B's button: nothing stored in B, not enrolled in B.
    assert!(unknown(h.engine.answer_dm_choice(BOB, kb.id, dm(2), "into b").await));
    assert_eq!(h.engine.store().member(b.id, BOB).await.unwrap(), None);
    // Left B since the question: B no longer takes her DM.
    h.engine.leave(&b, ALICE).await.unwrap();
    assert!(unknown(h.engine.answer_dm_choice(ALICE, kb.id, dm(3), "after leaving").await));
    // A check-in that does not exist.
    let missing = trellis::domain::CheckInId::new(kb.id.get() + 1000);
    assert!(unknown(h.engine.answer_dm_choice(ALICE, missing, dm(3), "nowhere").await));

    for (k, user) in [(&ka, STRANGER), (&kb, BOB), (&kb, ALICE)] {
        assert_eq!(answer_of(&h, k, user).await, None);
    }
}
on_both_backends!(a_cohort_button_stores_nothing_for_someone_outside_its_cohort);
