//! Who sees what, at the engine: the same table as the wire-level matrix
//! (`e2e_access`), run against `Engine` methods that take a `Viewer`, in
//! milliseconds. Two cohorts share a guild (A in CHANNEL, mentored by
//! MENTOR_A; B in OTHER_CHANNEL, mentored by MENTOR_B) and a second guild holds
//! neither. Alice and Bob answer in A, Carol in B, each with a secret in the
//! answer and in an impact entry. Every actor performs every action in table
//! order (later rows see earlier rows' effects); each cell states what the
//! actor gets, and nothing returned to an actor holds a secret they are not
//! entitled to: only its author and the mentors of the author's cohort. Each
//! member also has a Staff path and a mentor's note on their answer, with a
//! secret in each (a note is entitled to the member it is about).

use trellis::domain::{
    ChannelId, ChannelPermissions, CheckInId, CohortDraft, CohortId, GuildId, PathStep, ReplyId, ReplySource, RoleId,
    UserId, Viewer,
};
use trellis::engine::{Engine, EngineError};
use trellis_testkit::typed::{ALICE, BOB, CAROL, CHANNEL, GUILD, OTHER_CHANNEL};
use trellis_testkit::{Harness, draft, utc};

const WEEKLY_UTC: &str = "0 0 9 * * Mon";
const START: &str = "2027-01-01T12:00:00Z";
const FIRST_MONDAY: &str = "2027-01-04T09:00:01Z";

const MENTOR_A: RoleId = RoleId::new(333_333_333_333_333_333);
const MENTOR_B: RoleId = RoleId::new(333_333_333_333_333_334);
const GUILD_2: GuildId = GuildId::new(111_111_111_111_111_112);
const CHANNEL_3: ChannelId = ChannelId::new(222_222_222_222_222_224);

const MENTOR: UserId = UserId::new(700_000_000_000_000_001);
const MENTOR2: UserId = UserId::new(700_000_000_000_000_002);
const MENTOR3: UserId = UserId::new(700_000_000_000_000_003);
const STRANGER: UserId = UserId::new(700_000_000_000_000_004);
const ADMIN: UserId = UserId::new(700_000_000_000_000_005);

/// (owner, mentor role of the owner's cohort, secret). A note's owner is the
/// member it is about: they and their cohort's mentors may read it.
const SECRETS: [(UserId, RoleId, &str); 12] = [
    (ALICE, MENTOR_A, "ALICE-ANSWER-q7"),
    (ALICE, MENTOR_A, "ALICE-WIN-q7"),
    (ALICE, MENTOR_A, "ALICE-PATH-q7"),
    (ALICE, MENTOR_A, "ALICE-NOTE-q7"),
    (BOB, MENTOR_A, "BOB-ANSWER-k2"),
    (BOB, MENTOR_A, "BOB-WIN-k2"),
    (BOB, MENTOR_A, "BOB-PATH-k2"),
    (BOB, MENTOR_A, "BOB-NOTE-k2"),
    (CAROL, MENTOR_B, "CAROL-ANSWER-z9"),
    (CAROL, MENTOR_B, "CAROL-WIN-z9"),
    (CAROL, MENTOR_B, "CAROL-PATH-z9"),
    (CAROL, MENTOR_B, "CAROL-NOTE-z9"),
];

fn viewer(guild_id: GuildId, channel_id: ChannelId, user_id: UserId, roles: &[RoleId], can_manage: bool) -> Viewer {
    Viewer { guild_id, channel_id, user_id, roles: roles.to_vec(), can_manage }
}

/// The columns: member, mentor, mentor of B in B, mentor of B in A, other guild, admin.
fn actors() -> [(&'static str, Viewer); 6] {
    [
        ("member", viewer(GUILD, CHANNEL, BOB, &[], false)),
        ("mentor", viewer(GUILD, CHANNEL, MENTOR, &[MENTOR_A], false)),
        ("mentor of B, in B", viewer(GUILD, OTHER_CHANNEL, MENTOR2, &[MENTOR_B], false)),
        ("mentor of B, in A", viewer(GUILD, CHANNEL, MENTOR3, &[MENTOR_B], false)),
        // Same role id as A's mentors, in another guild: it means nothing there.
        ("other guild", viewer(GUILD_2, CHANNEL_3, STRANGER, &[MENTOR_A], false)),
        ("admin", viewer(GUILD, CHANNEL, ADMIN, &[], true)),
    ]
}

/// What the table's rows act on.
struct World {
    answer_a: CheckInId,
    cohort_a: CohortId,
    /// Alice's answer in A.
    reply_alice: ReplyId,
}

/// Run one action as `who`; `Ok` carries a debug rendering of everything returned.
async fn act(engine: &Engine, world: &World, row: &str, who: &Viewer) -> Result<String, EngineError> {
    let shown = |v: &dyn std::fmt::Debug| format!("{v:?}");
    Ok(match row {
        "/checkin" => shown(&engine.answer_form(who).await?),
        "/impact" => shown(&engine.impact_form(who).await?),
        "/progress" => shown(&engine.progress_for(who, who.user_id, 12).await?),
        "/progress member:@alice (A)" => shown(&engine.progress_for(who, ALICE, 12).await?),
        "/progress member:@carol (B)" => shown(&engine.progress_for(who, CAROL, 12).await?),
        "/cohort status" => shown(&engine.cohort_status_for(who, 12).await?),
        "/packet" => engine.packet_for(who, "someone").await?,
        "/pause" => {
            let cohort = engine.cohort_for(who).await?;
            shown(&engine.pause(&cohort, who.user_id, 1).await?)
        }
        "/resume" => {
            let cohort = engine.cohort_for(who).await?;
            shown(&engine.resume(&cohort, who.user_id).await?)
        }
        "Answer button (A)" => shown(&engine.answer_form_of(who, world.answer_a).await?),
        "answer submit (A)" => shown(&engine.submit_answer(who, world.answer_a, "a new answer", "3").await?),
        "impact submit (A)" => shown(&engine.submit_impact(who, world.cohort_a, "w", "e", "b", "").await?),
        "/cohort answers" => shown(&engine.cohort_answers(who, 0, None).await?),
        "/cohort answers member:@alice" => shown(&engine.cohort_answers(who, 0, Some(ALICE)).await?),
        "answers page button (A)" => shown(&engine.week_answers_of(who, world.answer_a).await?),
        "answers of Alice page button (A)" => shown(&engine.member_answers_of(who, world.cohort_a, ALICE, 0).await?),
        "Note button (Alice's answer)" => shown(&engine.note_form(who, world.reply_alice).await?),
        "note submit (Alice's answer)" => {
            shown(&engine.submit_note(who, world.reply_alice, "someone", "a note on the answer").await?)
        }
        "/path show" => shown(&engine.path_for(who, who.user_id).await?),
        "/path show member:@alice (A)" => shown(&engine.path_for(who, ALICE).await?),
        "/path show member:@carol (B)" => shown(&engine.path_for(who, CAROL).await?),
        "/path project" | "/path done" => shown(&engine.path_form(who).await?),
        "path project submit (A)" => shown(&engine.submit_project(who, world.cohort_a, "w", "y", "t").await?),
        "path step submit (A)" => {
            shown(&engine.submit_step(who, world.cohort_a, PathStep::Plan, "wrote it down", "").await?)
        }
        "/cohort join" => {
            let cohort = engine.cohort_here(who).await?;
            shown(&engine.join(&cohort, who.user_id).await?)
        }
        "/cohort leave" => {
            let cohort = engine.cohort_for(who).await?;
            engine.leave(&cohort, who.user_id).await?;
            cohort.spec.name
        }
        "/cohort setup" => {
            let d = CohortDraft {
                mentor_role_id: MENTOR_A.get(),
                guild_id: who.guild_id.get(),
                ..draft("cohort-a", who.channel_id, "0 0 9 29 2 *", "UTC")
            };
            shown(&engine.setup_cohort_for(who, d, Some(ChannelPermissions::ENOUGH)).await?)
        }
        "forget-me confirm" => shown(&engine.forget_me(who.user_id).await?),
        "/cohort remove" => shown(&engine.remove_cohort_for(who).await?),
        other => panic!("no action {other}"),
    })
}

/// The table: what each actor gets for each row. `ok` is any success; other
/// cells are text the success or the refusal must contain.
fn matrix() -> Vec<(&'static str, [&'static str; 6])> {
    const NOT_MEMBER: &str = "not a member of a cohort here";
    const NOT_CHANNEL: &str = "not a cohort's channel";
    const MENTORS_ONLY: &str = "Only this member's mentors";
    const UNKNOWN: &str = "does not exist here";
    const ADMINS: &str = "Manage Server";
    const ANSWERS_MENTORS: &str = "Only this cohort's mentors can read its answers";
    const NO_MENTORED: &str = "you mentor no cohort on this server";
    const NO_ANSWER: &str = "That answer does not exist here";
    const PATH_MENTORS: &str = "Only this member's mentors can see their Staff path";
    vec![
        ("/checkin", ["BOB-ANSWER-k2", "ok", "ok", "ok", NOT_CHANNEL, "ok"]),
        ("/impact", ["ok", "ok", "ok", "ok", NOT_MEMBER, "ok"]),
        ("/progress", ["BOB-WIN-k2", NOT_MEMBER, NOT_MEMBER, NOT_MEMBER, NOT_MEMBER, NOT_MEMBER]),
        (
            "/progress member:@alice (A)",
            [MENTORS_ONLY, "ALICE-WIN-q7", "not a member of this cohort", MENTORS_ONLY, MENTORS_ONLY, MENTORS_ONLY],
        ),
        (
            "/progress member:@carol (B)",
            [MENTORS_ONLY, "not a member of this cohort", "CAROL-WIN-z9", MENTORS_ONLY, MENTORS_ONLY, MENTORS_ONLY],
        ),
        (
            "/cohort status",
            [
                "Only this cohort's mentors",
                "cohort-a",
                "cohort-b",
                "Only this cohort's mentors",
                "Only a cohort's mentors",
                "cohort-a",
            ],
        ),
        ("/packet", ["BOB-ANSWER-k2", NOT_MEMBER, NOT_MEMBER, NOT_MEMBER, NOT_MEMBER, NOT_MEMBER]),
        ("/pause", ["ok", NOT_MEMBER, NOT_MEMBER, NOT_MEMBER, NOT_MEMBER, NOT_MEMBER]),
        ("/resume", ["ok", NOT_MEMBER, NOT_MEMBER, NOT_MEMBER, NOT_MEMBER, NOT_MEMBER]),
        ("Answer button (A)", ["BOB-ANSWER-k2", "ok", UNKNOWN, "ok", UNKNOWN, "ok"]),
        // Answering from A's channel joins A: mentor, mentor of B in A and admin become members.
        ("answer submit (A)", ["edited: true", "edited: false", UNKNOWN, "edited: false", UNKNOWN, "edited: false"]),
        ("impact submit (A)", ["ok", "ok", NOT_CHANNEL, "ok", NOT_CHANNEL, "ok"]),
        (
            "/cohort answers",
            [ANSWERS_MENTORS, "ALICE-ANSWER-q7", "CAROL-ANSWER-z9", ANSWERS_MENTORS, NO_MENTORED, ANSWERS_MENTORS],
        ),
        (
            "/cohort answers member:@alice",
            [
                ANSWERS_MENTORS,
                "ALICE-NOTE-q7",
                "not a member of this cohort",
                ANSWERS_MENTORS,
                NO_MENTORED,
                ANSWERS_MENTORS,
            ],
        ),
        (
            "answers page button (A)",
            [ANSWERS_MENTORS, "BOB-NOTE-k2", ANSWERS_MENTORS, ANSWERS_MENTORS, NO_ANSWER, ANSWERS_MENTORS],
        ),
        (
            "answers of Alice page button (A)",
            [ANSWERS_MENTORS, "ALICE-ANSWER-q7", ANSWERS_MENTORS, ANSWERS_MENTORS, NO_ANSWER, ANSWERS_MENTORS],
        ),
        (
            "Note button (Alice's answer)",
            [ANSWERS_MENTORS, "ALICE-ANSWER-q7", ANSWERS_MENTORS, ANSWERS_MENTORS, NO_ANSWER, ANSWERS_MENTORS],
        ),
        (
            "note submit (Alice's answer)",
            [ANSWERS_MENTORS, "delivery: Sent", ANSWERS_MENTORS, ANSWERS_MENTORS, NO_ANSWER, ANSWERS_MENTORS],
        ),
        // Answering from A's channel made the mentor, the mentor of B in A and the admin members of A.
        ("/path show", ["BOB-PATH-k2", "ok", NOT_MEMBER, "ok", NOT_MEMBER, "ok"]),
        (
            "/path show member:@alice (A)",
            [PATH_MENTORS, "ALICE-PATH-q7", "not a member of this cohort", PATH_MENTORS, PATH_MENTORS, PATH_MENTORS],
        ),
        (
            "/path show member:@carol (B)",
            [PATH_MENTORS, "not a member of this cohort", "CAROL-PATH-z9", PATH_MENTORS, PATH_MENTORS, PATH_MENTORS],
        ),
        ("/path project", ["BOB-PATH-k2", "ok", "ok", "ok", NOT_MEMBER, "ok"]),
        ("path project submit (A)", ["edited: true", "edited: false", NOT_CHANNEL, "edited: false", NOT_CHANNEL, "ok"]),
        // The row before replaced Bob's project (its old text stays in the history).
        ("/path done", ["what: \"w\"", "ok", "ok", "ok", NOT_MEMBER, "ok"]),
        ("path step submit (A)", ["edited: false", "ok", NOT_CHANNEL, "ok", NOT_CHANNEL, "ok"]),
        ("/cohort join", ["false", "false", "true", "false", NOT_CHANNEL, "false"]),
        ("/cohort leave", ["cohort-a", "cohort-a", "cohort-b", "cohort-a", NOT_MEMBER, "cohort-a"]),
        ("/cohort setup", [ADMINS, ADMINS, ADMINS, ADMINS, ADMINS, "cohort-a"]),
        ("forget-me confirm", ["ok", "ok", "ok", "ok", "0", "ok"]),
        ("/cohort remove", [ADMINS, ADMINS, ADMINS, ADMINS, ADMINS, "cohort-a"]),
    ]
}

fn entitled(who: &Viewer, owner: UserId, role: RoleId) -> bool {
    who.user_id == owner || (who.guild_id == GUILD && who.roles.contains(&role))
}

#[tokio::test]
async fn access_matrix_at_the_engine() {
    let h = Harness::new(utc(START)).await;
    let a = CohortDraft { mentor_role_id: MENTOR_A.get(), ..draft("cohort-a", CHANNEL, WEEKLY_UTC, "UTC") };
    let b = CohortDraft { mentor_role_id: MENTOR_B.get(), ..draft("cohort-b", OTHER_CHANNEL, WEEKLY_UTC, "UTC") };
    let cohort_a = h.engine.setup_cohort(a).await.unwrap();
    let cohort_b = h.engine.setup_cohort(b).await.unwrap();
    h.set(utc(FIRST_MONDAY));
    assert_eq!(h.tick().await.posted.len(), 2);
    let open_a = h.engine.open_checkin(&cohort_a).await.unwrap();
    let open_b = h.engine.open_checkin(&cohort_b).await.unwrap();
    let mut replies = Vec::new();
    for (user, checkin, cohort, (mentor, channel, role), [answer, win, path, note]) in [
        (
            ALICE,
            &open_a,
            &cohort_a,
            (MENTOR, CHANNEL, MENTOR_A),
            ["ALICE-ANSWER-q7", "ALICE-WIN-q7", "ALICE-PATH-q7", "ALICE-NOTE-q7"],
        ),
        (
            BOB,
            &open_a,
            &cohort_a,
            (MENTOR, CHANNEL, MENTOR_A),
            ["BOB-ANSWER-k2", "BOB-WIN-k2", "BOB-PATH-k2", "BOB-NOTE-k2"],
        ),
        (
            CAROL,
            &open_b,
            &cohort_b,
            (MENTOR2, OTHER_CHANNEL, MENTOR_B),
            ["CAROL-ANSWER-z9", "CAROL-WIN-z9", "CAROL-PATH-z9", "CAROL-NOTE-z9"],
        ),
    ] {
        let reply = h.engine.answer(checkin, user, answer, "", ReplySource::Modal).await.unwrap();
        h.engine.record_impact(cohort, user, win, "e", "b", "").await.unwrap();
        let own = viewer(GUILD, cohort.spec.channel_id, user, &[], false);
        h.engine.submit_project(&own, cohort.id, path, "why", "teams").await.unwrap();
        let mentor = viewer(GUILD, channel, mentor, &[role], false);
        h.engine.submit_note(&mentor, reply.id, "a mentor", note).await.unwrap();
        replies.push(reply.id);
    }
    let world = World { answer_a: open_a.id, cohort_a: cohort_a.id, reply_alice: replies[0] };

    let actors = actors();
    let mut failures = Vec::new();
    for (row, expected) in matrix() {
        for ((label, who), want) in actors.iter().zip(expected) {
            let (text, ok) = match act(&h.engine, &world, row, who).await {
                Ok(shown) => (shown, true),
                Err(e) => {
                    assert!(e.is_user_error(), "{row} / {label}: internal error {e:?}");
                    (e.to_string(), false)
                }
            };
            let matches = if want == "ok" { ok } else { text.contains(want) };
            if !matches {
                failures
                    .push(format!("{row} / {label}: expected `{want}`, got {}: {text}", if ok { "Ok" } else { "Err" }));
            }
            for (owner, role, secret) in SECRETS {
                if text.contains(secret) && !entitled(who, owner, role) {
                    failures.push(format!("{row} / {label}: shown {secret}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} cells differ:\n{}", failures.len(), failures.join("\n"));
}
