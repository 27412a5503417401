//! The mentoring loop at the engine, on a manual clock and a fake chat:
//! mentors read a week's answers and who has not answered, a note reaches
//! its member by DM and once in `/progress`, then and now, the Staff path,
//! the packet, and the counts in `/cohort status` and the digest. Who may do
//! what is in the access matrix (`access.rs`); here, the rules' details.

use chrono::{DateTime, Duration, Utc};
use trellis::domain::{
    ChannelId, CheckIn, Cohort, InputError, PathStep, PostedPrompt, ReplySource, RoleId, Track, UserId, Viewer,
};
use trellis::engine::{AnswersView, EngineError, NoteDelivery, WeekAnswers};
use trellis::store::NewCheckIn;
use trellis_testkit::typed::{ALICE, BOB, CAROL, CHANNEL, DAVE, GUILD, MENTOR, MENTOR_ROLE, OTHER_CHANNEL};
use trellis_testkit::{Harness, draft, utc};

const WEEKLY_UTC: &str = "0 0 9 * * Mon";
const DIGEST_CHANNEL: ChannelId = ChannelId::new(444_444_444_444_444_444);
/// Friday; the first Monday 09:00 UTC is 2027-01-04.
const START: &str = "2027-01-01T12:00:00Z";

fn monday(week: i64) -> DateTime<Utc> {
    utc("2027-01-04T09:00:00Z") + Duration::weeks(week)
}

fn member(user: UserId) -> Viewer {
    Viewer { guild_id: GUILD, channel_id: CHANNEL, user_id: user, roles: vec![], can_manage: false }
}

fn mentor() -> Viewer {
    Viewer { roles: vec![MENTOR_ROLE], ..member(MENTOR) }
}

/// A cohort in CHANNEL with a digest channel, mentored by MENTOR_ROLE.
async fn cohort(h: &Harness) -> Cohort {
    let mut d = draft("staff-path", CHANNEL, WEEKLY_UTC, "UTC");
    d.digest_channel_id = Some(DIGEST_CHANNEL.get());
    h.engine.setup_cohort(d).await.expect("setup")
}

/// Tick at `at` and return the check-in open then.
async fn open_at(h: &Harness, cohort: &Cohort, at: DateTime<Utc>) -> CheckIn {
    h.set(at);
    h.tick().await;
    h.engine.store().open_checkin(cohort.id, at).await.unwrap().expect("an open check-in")
}

async fn week(h: &Harness, n: u32) -> WeekAnswers {
    match h.engine.cohort_answers(&mentor(), n, None).await.expect("answers") {
        AnswersView::Week(w) => w,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_mentor_reads_the_weeks_answers_in_order_and_who_has_not_answered() {
    let h = Harness::new(utc(START)).await;
    let cohort = cohort(&h).await;
    for user in [ALICE, BOB, CAROL, DAVE] {
        h.engine.join(&cohort, user).await.unwrap();
    }
    assert!(matches!(h.engine.cohort_answers(&mentor(), 0, None).await, Err(EngineError::NoCheckInPosted)));
    let k0 = open_at(&h, &cohort, monday(0)).await;
    h.engine.pause(&cohort, DAVE, 1).await.unwrap();
    h.set(monday(0) + Duration::hours(1));
    h.engine.answer(&k0, BOB, "Bob first: aligned @everyone on the plan", "4", ReplySource::Modal).await.unwrap();
    h.set(monday(0) + Duration::hours(2));
    h.engine.answer(&k0, ALICE, "Alice second", "", ReplySource::Modal).await.unwrap();

    let w = week(&h, 0).await;
    assert_eq!(w.checkin.id, k0.id);
    assert_eq!(
        w.answers.iter().map(|a| (a.reply.user_id, a.reply.answer.as_str())).collect::<Vec<_>>(),
        [(BOB, "Bob first: aligned @everyone on the plan"), (ALICE, "Alice second")],
        "in the order they were first saved, as written"
    );
    assert_eq!((w.not_answered, w.paused), (vec![CAROL], vec![DAVE]));
    assert!(matches!(
        h.engine.cohort_answers(&mentor(), 1, None).await,
        Err(EngineError::NoSuchWeek { week: 1, posted: 1 })
    ));

    // A week later the first check-in is one back; its page button finds it too.
    let k1 = open_at(&h, &cohort, monday(1)).await;
    assert_eq!(week(&h, 0).await.checkin.id, k1.id);
    let back = week(&h, 1).await;
    assert_eq!((back.checkin.id, back.week, back.answers.len()), (k0.id, 1, 2));
    assert_eq!(h.engine.week_answers_of(&mentor(), k0.id).await.unwrap(), back);

    // One member across check-ins, newest first, only their own answers.
    h.engine.answer(&k1, ALICE, "Alice again", "", ReplySource::Modal).await.unwrap();
    let AnswersView::Member(m) = h.engine.cohort_answers(&mentor(), 0, Some(ALICE)).await.unwrap() else {
        panic!("a member view")
    };
    assert_eq!(m.answers.iter().map(|a| a.reply.answer.as_str()).collect::<Vec<_>>(), ["Alice again", "Alice second"]);
    assert_eq!(m.checkins, 2);
    let older = h.engine.member_answers_of(&mentor(), cohort.id, ALICE, 1).await.unwrap();
    assert_eq!(older.answers.len(), 1);
    assert!(matches!(
        h.engine.cohort_answers(&mentor(), 0, Some(UserId::new(42))).await,
        Err(EngineError::MemberNotInCohort)
    ));
}

#[tokio::test]
async fn a_note_reaches_its_member_by_dm_and_once_in_progress_and_an_edit_again() {
    let h = Harness::new(utc(START)).await;
    let cohort = cohort(&h).await;
    let k0 = open_at(&h, &cohort, monday(0)).await;
    let reply = h.engine.answer(&k0, ALICE, "I drafted the RFC alone", "2", ReplySource::Modal).await.unwrap();

    // Bad input stores nothing and sends nothing.
    for bad in ["", "   ", &"x".repeat(2001)] {
        let e = h.engine.submit_note(&mentor(), reply.id, "Maria", bad).await.unwrap_err();
        assert!(matches!(e, EngineError::Input(InputError::Blank { .. } | InputError::FieldTooLong { .. })), "{e:?}");
    }
    assert!(h.engine.store().notes_of_member(cohort.id, ALICE).await.unwrap().is_empty());
    assert_eq!(h.chat.note_attempts(), 0);

    let text = "Good start. Next time, bring in the platform team before the draft <@&1>.";
    let saved = h.engine.submit_note(&mentor(), reply.id, "Maria", text).await.unwrap();
    assert_eq!((saved.edited, saved.delivery), (false, NoteDelivery::Sent));
    let dms = h.chat.note_dms();
    assert_eq!(dms.len(), 1);
    assert_eq!((dms[0].user_id, dms[0].text.as_str(), dms[0].mentor_name.as_str()), (ALICE, text, "Maria"));
    assert_eq!(dms[0].answered_at, reply.created_at);
    assert!(!dms[0].question.is_empty() && dms[0].cohort_name == "staff-path" && !dms[0].edited);

    // The mentor's own view of the form is pre-filled with their note.
    assert_eq!(h.engine.note_form(&mentor(), reply.id).await.unwrap().current.unwrap().text, text);

    // A mentor reading Alice's progress sees the unread note and marks nothing.
    let (_, seen_by_mentor) = h.engine.progress_for(&mentor(), ALICE, 12).await.unwrap();
    assert_eq!(seen_by_mentor.mentoring.new_notes.len(), 1);
    let (_, p) = h.engine.progress_for(&member(ALICE), ALICE, 12).await.unwrap();
    let shown = &p.mentoring.new_notes;
    assert_eq!(shown.len(), 1);
    assert_eq!((shown[0].note.text.as_str(), shown[0].asked_at), (text, Some(k0.occurrence_at)));
    let (_, p) = h.engine.progress_for(&member(ALICE), ALICE, 12).await.unwrap();
    assert!(p.mentoring.new_notes.is_empty(), "read once in /progress");

    // The same text again: nothing new is sent. An edit is sent, and unread again.
    let same = h.engine.submit_note(&mentor(), reply.id, "Maria", text).await.unwrap();
    assert_eq!((same.edited, same.delivery), (true, NoteDelivery::Unchanged));
    assert_eq!(h.chat.note_dms().len(), 1);
    h.set(monday(0) + Duration::hours(3));
    let edited = h.engine.submit_note(&mentor(), reply.id, "Maria", "Updated: also loop in security.").await.unwrap();
    assert_eq!((edited.edited, edited.delivery, edited.note.id), (true, NoteDelivery::Sent, saved.note.id));
    assert!(h.chat.note_dms()[1].edited);
    assert_eq!(h.engine.store().note_history(saved.note.id).await.unwrap().len(), 1, "the first text is kept");
    let (_, p) = h.engine.progress_for(&member(ALICE), ALICE, 12).await.unwrap();
    assert_eq!(p.mentoring.new_notes[0].note.text, "Updated: also loop in security.");
}

#[tokio::test]
async fn a_member_whose_dms_are_closed_still_finds_the_note_in_progress() {
    let h = Harness::new(utc(START)).await;
    let cohort = cohort(&h).await;
    let k0 = open_at(&h, &cohort, monday(0)).await;
    let reply = h.engine.answer(&k0, BOB, "answer", "", ReplySource::Modal).await.unwrap();
    h.chat.fail_next_dms_to(BOB, 1);
    let saved = h.engine.submit_note(&mentor(), reply.id, "Maria", "Nice").await.unwrap();
    assert_eq!(saved.delivery, NoteDelivery::Refused);
    assert_eq!((h.chat.note_attempts(), h.chat.note_dms().len()), (1, 0), "one attempt, not retried blindly");
    let (_, p) = h.engine.progress_for(&member(BOB), BOB, 12).await.unwrap();
    assert_eq!(p.mentoring.new_notes.len(), 1);
    assert_eq!(h.chat.note_attempts(), 1, "reading it sends nothing");
}

#[tokio::test]
async fn progress_shows_three_new_notes_at_a_time() {
    let h = Harness::new(utc(START)).await;
    let cohort = cohort(&h).await;
    let mentors: Vec<Viewer> = (0..5).map(|i| Viewer { user_id: UserId::new(700 + i), ..mentor() }).collect();
    let k0 = open_at(&h, &cohort, monday(0)).await;
    let reply = h.engine.answer(&k0, ALICE, "answer", "", ReplySource::Modal).await.unwrap();
    for (i, m) in mentors.iter().enumerate() {
        h.engine.submit_note(m, reply.id, &format!("mentor {i}"), &format!("note {i}")).await.unwrap();
    }
    let (_, p) = h.engine.progress_for(&member(ALICE), ALICE, 12).await.unwrap();
    assert_eq!((p.mentoring.new_notes.len(), p.mentoring.more_notes), (3, 2));
    let (_, p) = h.engine.progress_for(&member(ALICE), ALICE, 12).await.unwrap();
    assert_eq!((p.mentoring.new_notes.len(), p.mentoring.more_notes), (2, 0));
}

#[tokio::test]
async fn notes_and_answers_stay_with_the_cohorts_mentors() {
    let h = Harness::new(utc(START)).await;
    let a = cohort(&h).await;
    let role_b = RoleId::new(MENTOR_ROLE.get() + 1);
    let b = h
        .engine
        .setup_cohort(trellis::domain::CohortDraft {
            mentor_role_id: role_b.get(),
            ..draft("other", OTHER_CHANNEL, WEEKLY_UTC, "UTC")
        })
        .await
        .unwrap();
    let ka = open_at(&h, &a, monday(0)).await;
    let kb = h.engine.store().open_checkin(b.id, monday(0)).await.unwrap().unwrap();
    let alice = h.engine.answer(&ka, ALICE, "alice in A", "", ReplySource::Modal).await.unwrap();
    let carol = h.engine.answer(&kb, CAROL, "carol in B", "", ReplySource::Modal).await.unwrap();
    let mentor_b = Viewer { channel_id: OTHER_CHANNEL, roles: vec![role_b], ..member(UserId::new(701)) };

    // A's mentor cannot note B's answer, and B's mentor not A's, from anywhere.
    for (who, reply) in [(mentor(), carol.id), (mentor_b.clone(), alice.id)] {
        let e = h.engine.submit_note(&who, reply, "x", "a note").await.unwrap_err();
        assert!(matches!(e, EngineError::AnswersMentorsOnly), "{e:?}");
    }
    // Alice herself cannot note her own answer or read the week.
    assert!(matches!(h.engine.note_form(&member(ALICE), alice.id).await, Err(EngineError::AnswersMentorsOnly)));
    assert!(matches!(h.engine.cohort_answers(&member(ALICE), 0, None).await, Err(EngineError::AnswersMentorsOnly)));
    // Outside any cohort's channel, each mentor reads their own cohort only.
    let elsewhere = Viewer { channel_id: ChannelId::new(999), ..mentor_b.clone() };
    let AnswersView::Week(w) = h.engine.cohort_answers(&elsewhere, 0, None).await.unwrap() else { panic!() };
    assert_eq!(w.cohort.id, b.id);
    assert!(w.answers.iter().all(|x| x.reply.user_id == CAROL));
    // An answer id that does not exist, or of another guild, reveals nothing.
    let other_guild = Viewer { guild_id: trellis::domain::GuildId::new(5), ..mentor() };
    assert!(matches!(h.engine.note_form(&other_guild, alice.id).await, Err(EngineError::UnknownAnswer)));
    let missing = trellis::domain::ReplyId::new(alice.id.get() + 1000);
    assert!(matches!(h.engine.note_form(&mentor(), missing).await, Err(EngineError::UnknownAnswer)));
    assert!(h.engine.store().notes_of_cohort(a.id).await.unwrap().is_empty());
    assert!(h.engine.store().notes_of_cohort(b.id).await.unwrap().is_empty());
    assert_eq!(h.chat.note_attempts(), 0);
}

/// Records and posts a check-in of `cohort` asking prompt `prompt_id` at `at`.
async fn posted(h: &Harness, cohort: &Cohort, at: DateTime<Utc>, prompt_id: &str) -> CheckIn {
    let store = h.engine.store();
    let prompt = PostedPrompt { id: prompt_id.into(), track: Track::Scope, question: format!("{prompt_id}?") };
    let new = NewCheckIn {
        cohort_id: cohort.id,
        occurrence_at: at,
        closes_at: at + Duration::weeks(1),
        prompt: Some(prompt),
    };
    let k = store.record_checkin(&new).await.unwrap().unwrap();
    assert!(store.claim_post(k.id, at, at).await.unwrap());
    store.mark_posted(k.id, trellis::domain::MessageId::new(1), at).await.unwrap();
    store.checkin(k.id).await.unwrap().unwrap()
}

#[tokio::test]
async fn a_repeated_prompt_confirms_with_the_earlier_answer_and_the_packet_shows_both() {
    let h = Harness::new(utc(START)).await;
    let mut d = draft("staff-path", CHANNEL, "0 0 9 29 2 *", "UTC");
    d.digest_channel_id = None;
    let cohort = h.engine.setup_cohort(d).await.unwrap();
    let k0 = posted(&h, &cohort, monday(0), "scope-01").await;
    h.set(monday(0) + Duration::hours(1));
    let first = h.engine.submit_answer(&member(ALICE), k0.id, "Then: I fixed bugs I was given.", "2").await.unwrap();
    assert_eq!(first.earlier, None, "nothing to compare the first time");
    posted(&h, &cohort, monday(1), "scope-02").await;
    let k2 = posted(&h, &cohort, monday(2), "scope-01").await;
    h.set(monday(2) + Duration::hours(1));
    let now = h.engine.submit_answer(&member(ALICE), k2.id, "Now: I chose which bugs matter.", "4").await.unwrap();
    let then = now.earlier.expect("then and now");
    assert_eq!(
        (then.answer.as_str(), then.confidence, then.created_at),
        ("Then: I fixed bugs I was given.", Some(2), first.reply.created_at)
    );
    // Bob never answered the first time: nothing earlier for him.
    let bob = h.engine.submit_answer(&member(BOB), k2.id, "first time", "").await.unwrap();
    assert_eq!(bob.earlier, None);

    let md = h.engine.packet_for(&member(ALICE), "Alice").await.unwrap();
    let section = md.find("#### Then and now: 2027-01-04 → 2027-01-18").expect(&md);
    let then_at = md.find("**Then** · 2027-01-04 · confidence 2/5").expect(&md);
    let now_at = md.find("**Now** · 2027-01-18 · confidence 4/5").expect(&md);
    assert!(section < then_at && then_at < now_at, "{md}");
    assert_eq!(md.matches("**Question:** scope-01?").count(), 1, "one question for both answers: {md}");
}

#[tokio::test]
async fn a_member_walks_the_staff_path_and_their_mentor_sees_it() {
    let h = Harness::new(utc(START)).await;
    let cohort = cohort(&h).await;
    h.set(monday(0));
    let alice = member(ALICE);
    assert!(matches!(h.engine.path_for(&alice, ALICE).await, Err(EngineError::NotAMember)));
    let bad = h.engine.submit_step(&alice, cohort.id, PathStep::Plan, "", "").await.unwrap_err();
    assert!(matches!(bad, EngineError::Input(InputError::Blank { .. })), "{bad:?}");
    let bad = h.engine.submit_step(&alice, cohort.id, PathStep::Plan, "ok", "javascript:alert(1)").await.unwrap_err();
    assert!(matches!(bad, EngineError::Input(InputError::Link)), "{bad:?}");
    assert!(h.engine.store().staff_path(cohort.id, ALICE).await.unwrap().steps.is_empty(), "nothing stored");

    let saved =
        h.engine.submit_project(&alice, cohort.id, "CI takes 40 min", "Every team waits", "web, mobile").await.unwrap();
    assert!(!saved.edited);
    for (i, step) in [PathStep::Expectations, PathStep::Problem, PathStep::Plan].into_iter().enumerate() {
        h.set(monday(i as i64));
        let s = h
            .engine
            .submit_step(&alice, cohort.id, step, &format!("evidence {i}"), "https://docs.example/x")
            .await
            .unwrap();
        assert_eq!((s.edited, s.path.done()), (false, i + 1));
    }
    let form = h.engine.path_form(&alice).await.unwrap();
    assert_eq!(form.step(PathStep::Plan).unwrap().evidence, "evidence 2");

    // Redone: edited, first date kept, history kept.
    h.set(monday(5));
    let redo = h.engine.submit_step(&alice, cohort.id, PathStep::Problem, "sharper evidence", "").await.unwrap();
    assert_eq!(
        (redo.edited, redo.step.done_at, redo.step.updated_at, redo.path.done()),
        (true, monday(1), monday(5), 3)
    );
    assert_eq!(h.engine.store().step_history(redo.step.id).await.unwrap()[0].evidence, "evidence 1");

    let (_, seen) = h.engine.path_for(&mentor(), ALICE).await.unwrap();
    assert_eq!(
        seen.steps.iter().map(|s| s.step).collect::<Vec<_>>(),
        [PathStep::Expectations, PathStep::Problem, PathStep::Plan]
    );
    assert_eq!(seen.project.unwrap().what, "CI takes 40 min");
    assert!(matches!(h.engine.path_for(&member(BOB), ALICE).await, Err(EngineError::NotTheirMentorPath)));
    let (_, p) = h.engine.progress_for(&alice, ALICE, 12).await.unwrap();
    assert_eq!(p.mentoring.path.done(), 3);

    let md = h.engine.packet_for(&alice, "Alice").await.unwrap();
    let path_at = md.find("## Staff path").expect(&md);
    assert!(path_at < md.find("## Impact ledger").unwrap(), "the packet opens with the path");
    assert!(md.contains("- **Staff path:** 3 of 7 steps done"), "{md}");
    assert!(md.contains("> CI takes 40 min") && md.contains("> Every team waits"), "{md}");
    assert!(md.contains("2. ✅ **A cross-team problem picked** · done 2027-01-11, updated 2027-02-08"), "{md}");
    assert!(md.contains("> sharper evidence"), "{md}");
    assert!(md.contains("4. ⬜ **Stakeholders on board early** · not yet"), "{md}");
}

#[tokio::test]
async fn status_and_digest_count_answers_without_a_note_and_path_steps() {
    let h = Harness::new(utc(START)).await;
    let cohort = cohort(&h).await;
    for user in [ALICE, BOB, CAROL] {
        h.engine.join(&cohort, user).await.unwrap();
    }
    let k0 = open_at(&h, &cohort, monday(0)).await;
    let mut replies = Vec::new();
    for user in [ALICE, BOB, CAROL] {
        replies.push(h.engine.answer(&k0, user, "answer", "", ReplySource::Modal).await.unwrap());
    }
    h.engine.submit_note(&mentor(), replies[0].id, "Maria", "noted").await.unwrap();
    for step in [PathStep::Expectations, PathStep::Problem] {
        h.engine.submit_step(&member(BOB), cohort.id, step, "done", "").await.unwrap();
    }
    let (_, s) = h.engine.cohort_status_for(&mentor(), 12).await.unwrap();
    assert_eq!((s.mentoring.unnoted_answers, s.mentoring.unnoted_current, s.mentoring.answered_current), (2, 2, 3));
    assert_eq!((s.mentoring.of(ALICE).unnoted_answers, s.mentoring.of(BOB).path_steps), (0, 2));
    let csv = s.to_csv(cohort.timezone());
    let bob_row = csv.lines().find(|l| l.contains(&BOB.to_string())).unwrap();
    assert!(bob_row.contains(",1,2,"), "one answer without a note, two steps: {bob_row}");

    // The week closes: its digest counts the answers still without a note.
    h.set(monday(1));
    h.tick().await;
    let digests = h.chat.digests();
    assert_eq!(digests.len(), 1);
    let m = &digests[0].digest.mentoring;
    assert_eq!((m.answered, m.unnoted, m.unnoted_total), (3, 2, 2), "{m:?}");
    assert_eq!(m.path, vec![(BOB, 2), (ALICE, 0), (CAROL, 0)]);
}

#[tokio::test]
async fn the_packet_quotes_each_note_under_its_answer_as_the_mentors_words() {
    let h = Harness::new(utc(START)).await;
    let cohort = cohort(&h).await;
    let k0 = open_at(&h, &cohort, monday(0)).await;
    let reply = h.engine.answer(&k0, ALICE, "My answer", "3", ReplySource::Modal).await.unwrap();
    h.set(monday(0) + Duration::days(1));
    h.engine.submit_note(&mentor(), reply.id, "Maria @everyone", "Line one\n\nLine <@1> two").await.unwrap();
    let md = h.engine.packet_for(&member(ALICE), "Alice").await.unwrap();
    let answer_at = md.find("> My answer").expect(&md);
    let note_at = md.find("_Mentor's note, in the words of Maria @\u{200B}everyone (2027-01-05):_").expect(&md);
    assert!(answer_at < note_at, "{md}");
    assert!(md.contains("> Line one\n>\n> Line <\u{200B}@1> two"), "quoted line for line, mentions broken: {md}");
    assert!(md.contains("- **Mentors' notes:** 1"), "{md}");
    // Bob's packet holds nothing of Alice's note.
    h.engine.answer(&k0, BOB, "bob", "", ReplySource::Modal).await.unwrap();
    let bob = h.engine.packet_for(&member(BOB), "Bob").await.unwrap();
    assert!(!bob.contains("Line one") && bob.contains("- **Mentors' notes:** 0"), "{bob}");
}

#[tokio::test]
async fn a_repeated_prompt_answered_by_dm_is_confirmed_with_the_earlier_answer_too() {
    let h = Harness::new(utc(START)).await;
    let cohort = h.engine.setup_cohort(draft("staff-path", CHANNEL, "0 0 9 29 2 *", "UTC")).await.unwrap();
    h.engine.join(&cohort, ALICE).await.unwrap();
    let k0 = posted(&h, &cohort, monday(0), "scope-01").await;
    h.set(monday(0) + Duration::hours(1));
    let first = h.engine.answer(&k0, ALICE, "Then: by DM.", "", trellis::domain::ReplySource::Dm).await.unwrap();
    posted(&h, &cohort, monday(1), "scope-02").await;
    posted(&h, &cohort, monday(2), "scope-01").await;
    h.set(monday(2) + Duration::hours(1));
    let dm = trellis::domain::MessageId::new(77);
    match h.engine.answer_by_dm(ALICE, dm, "Now: by DM again.").await.unwrap() {
        trellis::engine::DmAnswer::Saved { reply, earlier, .. } => {
            assert_eq!(reply.answer, "Now: by DM again.");
            let then = earlier.expect("then and now in the DM confirmation");
            assert_eq!((then.answer.as_str(), then.created_at), ("Then: by DM.", first.created_at));
        }
        other => panic!("not saved: {other:?}"),
    }
}
