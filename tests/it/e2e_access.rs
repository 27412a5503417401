//! Who sees what, as a table. Two cohorts share a guild (A in CHANNEL with
//! MENTOR_ROLE, B in OTHER_CHANNEL with MENTOR_ROLE2) and a second guild holds
//! neither. Alice and Bob answer in A, Carol in B, each with a secret in the
//! answer and one in an impact entry. Every actor runs every command, the
//! Answer button and the modal submits, in the order of the table (later rows
//! see earlier rows' effects). Each cell states what the actor gets; on top,
//! every response is ephemeral and shows no secret the actor is not entitled
//! to: only its author and the mentors of the author's cohort. Each member
//! also has a Staff path and a mentor's note on their answer, with a secret in
//! each; the note's DM reaches only its member.

use fake_discord::{Actor, InteractionHandle, OptionValue, permissions};
use serde_json::json;
use trellis::domain::CheckInId;
use trellis_testkit::bot::*;
use trellis_testkit::ids::*;

const QUIET: &str = "0 0 9 29 2 *";

/// (owner, cohort channel, secret). A note's owner is the member it is about.
const SECRETS: [(u64, u64, &str); 12] = [
    (ALICE, CHANNEL, "ALICE-ANSWER-q7"),
    (ALICE, CHANNEL, "ALICE-WIN-q7"),
    (ALICE, CHANNEL, "ALICE-PATH-q7"),
    (ALICE, CHANNEL, "ALICE-NOTE-q7"),
    (BOB, CHANNEL, "BOB-ANSWER-k2"),
    (BOB, CHANNEL, "BOB-WIN-k2"),
    (BOB, CHANNEL, "BOB-PATH-k2"),
    (BOB, CHANNEL, "BOB-NOTE-k2"),
    (CAROL, OTHER_CHANNEL, "CAROL-ANSWER-z9"),
    (CAROL, OTHER_CHANNEL, "CAROL-WIN-z9"),
    (CAROL, OTHER_CHANNEL, "CAROL-PATH-z9"),
    (CAROL, OTHER_CHANNEL, "CAROL-NOTE-z9"),
];

/// The columns of the matrix.
struct Who {
    label: &'static str,
    actor: Actor,
}

fn actors() -> Vec<Who> {
    let manage = permissions::EVERYONE_DEFAULT | permissions::MANAGE_GUILD;
    vec![
        Who { label: "member", actor: Actor::in_guild(GUILD, CHANNEL, BOB) },
        Who { label: "mentor", actor: Actor::in_guild(GUILD, CHANNEL, MENTOR).roles(vec![MENTOR_ROLE]) },
        Who {
            label: "mentor of B, in B",
            actor: Actor::in_guild(GUILD, OTHER_CHANNEL, MENTOR2).roles(vec![MENTOR_ROLE2]),
        },
        Who { label: "mentor of B, in A", actor: Actor::in_guild(GUILD, CHANNEL, MENTOR3).roles(vec![MENTOR_ROLE2]) },
        // Same role id as A's mentors, in another guild: it means nothing there.
        Who { label: "other guild", actor: Actor::in_guild(GUILD2, CHANNEL2, STRANGER).roles(vec![MENTOR_ROLE]) },
        Who { label: "admin", actor: Actor::in_guild(GUILD, CHANNEL, ADMIN).permissions(manage) },
    ]
}

/// What an actor does in a row.
enum Act {
    Slash(fn(&Actor) -> fake_discord::Invocation),
    Button(&'static str),
    Modal(&'static str, &'static [(&'static str, &'static str)]),
}

/// The matrix: one row per action, one expectation per actor column
/// (member, mentor, mentor of B in B, mentor of B in A, other guild, admin).
/// `modal` / `modal+S`: the form opens (pre-filled with S). Otherwise an
/// ephemeral reply containing the text.
fn matrix() -> Vec<(&'static str, Act, [&'static str; 6])> {
    const NOT_MEMBER: &str = "not a member of a cohort here";
    const NOT_CHANNEL: &str = "not a cohort's channel";
    const MENTORS_ONLY: &str = "Only this member's mentors";
    const UNKNOWN: &str = "does not exist here";
    const ADMINS: &str = "Manage Server";
    const ANSWER: &[(&str, &str)] = &[("answer", "a new answer"), ("confidence", "3")];
    const WIN: &[(&str, &str)] = &[("what_changed", "w"), ("evidence", "e"), ("who_benefited", "b")];
    const NOTE: &[(&str, &str)] = &[("note", "a note on the answer")];
    const PROJECT: &[(&str, &str)] = &[("what", "w"), ("why", "y"), ("teams", "t")];
    const EVIDENCE: &[(&str, &str)] = &[("evidence", "wrote the plan down"), ("link", "")];
    const ANSWERS_MENTORS: &str = "Only this cohort's mentors can read its answers";
    const NO_MENTORED: &str = "you mentor no cohort on this server";
    const NO_ANSWER: &str = "That answer does not exist here";
    const PATH_MENTORS: &str = "Only this member's mentors can see their Staff path";
    vec![
        (
            "/checkin",
            Act::Slash(|a| a.command("checkin")),
            ["modal+BOB-ANSWER-k2", "modal", "modal", "modal", NOT_CHANNEL, "modal"],
        ),
        ("/impact", Act::Slash(|a| a.command("impact")), ["modal", "modal", "modal", "modal", NOT_MEMBER, "modal"]),
        (
            "/progress",
            Act::Slash(|a| a.command("progress")),
            ["BOB-WIN-k2", NOT_MEMBER, NOT_MEMBER, NOT_MEMBER, NOT_MEMBER, NOT_MEMBER],
        ),
        (
            "/progress member:@alice (A)",
            Act::Slash(|a| a.command("progress").option("member", OptionValue::User(ALICE))),
            [MENTORS_ONLY, "ALICE-WIN-q7", "not a member of this cohort", MENTORS_ONLY, MENTORS_ONLY, MENTORS_ONLY],
        ),
        (
            "/progress member:@carol (B)",
            Act::Slash(|a| a.command("progress").option("member", OptionValue::User(CAROL))),
            [MENTORS_ONLY, "not a member of this cohort", "CAROL-WIN-z9", MENTORS_ONLY, MENTORS_ONLY, MENTORS_ONLY],
        ),
        (
            "/cohort status",
            Act::Slash(|a| a.command("cohort").subcommand("status")),
            [
                "Only this cohort's mentors",
                "cohort-a",
                "cohort-b",
                "Only this cohort's mentors",
                "Only a cohort's mentors",
                "cohort-a",
            ],
        ),
        (
            "/packet",
            Act::Slash(|a| a.command("packet")),
            ["BOB-ANSWER-k2", NOT_MEMBER, NOT_MEMBER, NOT_MEMBER, NOT_MEMBER, NOT_MEMBER],
        ),
        (
            "/pause",
            Act::Slash(|a| a.command("pause")),
            ["Paused until", NOT_MEMBER, NOT_MEMBER, NOT_MEMBER, NOT_MEMBER, NOT_MEMBER],
        ),
        (
            "/resume",
            Act::Slash(|a| a.command("resume")),
            ["Welcome back", NOT_MEMBER, NOT_MEMBER, NOT_MEMBER, NOT_MEMBER, NOT_MEMBER],
        ),
        (
            "Answer button (A)",
            Act::Button("answer:A"),
            ["modal+BOB-ANSWER-k2", "modal", UNKNOWN, "modal", UNKNOWN, "modal"],
        ),
        // Answering from A's channel joins A: mentor, mentor of B in A and admin become members.
        (
            "answer modal submit (A)",
            Act::Modal("answer:A", ANSWER),
            ["Answer updated", "Answer saved", UNKNOWN, "Answer saved", UNKNOWN, "Answer saved"],
        ),
        (
            "impact modal submit (A)",
            Act::Modal("impact:A", WIN),
            ["Win logged", "Win logged", NOT_CHANNEL, "Win logged", NOT_CHANNEL, "Win logged"],
        ),
        (
            "/cohort answers",
            Act::Slash(|a| a.command("cohort").subcommand("answers")),
            [ANSWERS_MENTORS, "ALICE-ANSWER-q7", "CAROL-ANSWER-z9", ANSWERS_MENTORS, NO_MENTORED, ANSWERS_MENTORS],
        ),
        (
            "/cohort answers member:@alice",
            Act::Slash(|a| a.command("cohort").subcommand("answers").option("member", OptionValue::User(ALICE))),
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
            Act::Button("answers-week:A:0"),
            [ANSWERS_MENTORS, "ALICE-NOTE-q7", ANSWERS_MENTORS, ANSWERS_MENTORS, NO_ANSWER, ANSWERS_MENTORS],
        ),
        (
            "answers of Alice page button (A)",
            Act::Button("answers-member:A:alice:0:0"),
            [ANSWERS_MENTORS, "ALICE-ANSWER-q7", ANSWERS_MENTORS, ANSWERS_MENTORS, NO_ANSWER, ANSWERS_MENTORS],
        ),
        (
            "Note button (Alice's answer)",
            Act::Button("note:alice"),
            [ANSWERS_MENTORS, "modal+ALICE-NOTE-q7", ANSWERS_MENTORS, ANSWERS_MENTORS, NO_ANSWER, ANSWERS_MENTORS],
        ),
        (
            "note modal submit (Alice's answer)",
            Act::Modal("note:alice", NOTE),
            [ANSWERS_MENTORS, "Note updated", ANSWERS_MENTORS, ANSWERS_MENTORS, NO_ANSWER, ANSWERS_MENTORS],
        ),
        // Answering from A's channel made the mentor, the mentor of B in A and the admin members of A.
        (
            "/path show",
            Act::Slash(|a| a.command("path").subcommand("show")),
            ["BOB-PATH-k2", "0 of 7 steps", NOT_MEMBER, "0 of 7 steps", NOT_MEMBER, "0 of 7 steps"],
        ),
        (
            "/path show member:@alice (A)",
            Act::Slash(|a| a.command("path").subcommand("show").option("member", OptionValue::User(ALICE))),
            [PATH_MENTORS, "ALICE-PATH-q7", "not a member of this cohort", PATH_MENTORS, PATH_MENTORS, PATH_MENTORS],
        ),
        (
            "/path show member:@carol (B)",
            Act::Slash(|a| a.command("path").subcommand("show").option("member", OptionValue::User(CAROL))),
            [PATH_MENTORS, "not a member of this cohort", "CAROL-PATH-z9", PATH_MENTORS, PATH_MENTORS, PATH_MENTORS],
        ),
        (
            "/path project",
            Act::Slash(|a| a.command("path").subcommand("project")),
            ["modal+BOB-PATH-k2", "modal", "modal", "modal", NOT_MEMBER, "modal"],
        ),
        (
            "path project modal submit (A)",
            Act::Modal("path-project:A", PROJECT),
            ["problem updated", "problem saved", NOT_CHANNEL, "problem saved", NOT_CHANNEL, "problem saved"],
        ),
        (
            "/path done step:plan",
            Act::Slash(|a| a.command("path").subcommand("done").option("step", "plan")),
            ["modal", "modal", "modal", "modal", NOT_MEMBER, "modal"],
        ),
        (
            "path step modal submit (A)",
            Act::Modal("path-step:A:plan", EVIDENCE),
            ["Step 3 done", "Step 3 done", NOT_CHANNEL, "Step 3 done", NOT_CHANNEL, "Step 3 done"],
        ),
        (
            "/cohort join",
            Act::Slash(|a| a.command("cohort").subcommand("join")),
            [
                "already a member",
                "already a member",
                "Welcome to **cohort-b**",
                "already a member",
                NOT_CHANNEL,
                "already",
            ],
        ),
        (
            "/cohort leave",
            Act::Slash(|a| a.command("cohort").subcommand("leave")),
            ["You left **cohort-a**", "You left", "You left **cohort-b**", "You left", NOT_MEMBER, "You left"],
        ),
        (
            "/cohort setup",
            Act::Slash(|a| {
                a.command("cohort")
                    .subcommand("setup")
                    .option("timezone", "UTC")
                    .option("mentor_role", OptionValue::Role(MENTOR_ROLE))
                    .option("cron", QUIET)
            }),
            [ADMINS, ADMINS, ADMINS, ADMINS, ADMINS, "is set up"],
        ),
        (
            "/forget-me",
            Act::Slash(|a| a.command("forget-me")),
            [
                "cannot be undone",
                "cannot be undone",
                "cannot be undone",
                "cannot be undone",
                "cannot be undone",
                "cannot be undone",
            ],
        ),
        (
            "forget-me confirm",
            Act::Button("forget:confirm"),
            ["is deleted", "is deleted", "is deleted", "is deleted", "is deleted (0 records)", "is deleted"],
        ),
        (
            "/cohort remove",
            Act::Slash(|a| a.command("cohort").subcommand("remove")),
            [ADMINS, ADMINS, ADMINS, ADMINS, ADMINS, "is removed"],
        ),
    ]
}

/// Everything the actor was shown for one interaction.
struct Seen {
    kind: u8,
    ephemeral: bool,
    text: String,
}

/// `message`: the message a clicked button is on; a page button updates it in place.
async fn observe(bot: &Bot, h: &InteractionHandle, message: u64) -> Seen {
    let r = bot.fake.wait_interaction_response(h, WAIT).await;
    let files = |a: &[fake_discord::Attachment]| a.iter().map(|f| f.text()).collect::<Vec<_>>().join("\n");
    if r.kind == 5 {
        let f = bot.fake.wait_followup(h, WAIT).await;
        let text = format!("{}\n{}\n{}", f.content, json!(f.embeds), files(&f.attachments));
        return Seen { kind: 5, ephemeral: r.is_ephemeral() && f.is_ephemeral(), text };
    }
    if r.kind == 7 {
        let updated = bot.fake.message(message).expect("the updated message");
        let text = format!("{}\n{}", r.data, files(&r.attachments));
        return Seen { kind: 7, ephemeral: updated.is_ephemeral(), text };
    }
    Seen {
        kind: r.kind,
        ephemeral: r.kind == 9 || r.is_ephemeral(),
        text: format!("{}\n{}", r.data, files(&r.attachments)),
    }
}

/// The table's placeholders (`A`: cohort A or its open check-in; `alice`:
/// Alice's answer, or Alice) replaced by the real ids.
fn real_custom_id(id: &str, checkin_a: &str, cohort_a: i64, alice_reply: i64) -> String {
    match id.split_once(':') {
        Some(("answer", "A")) => format!("answer:{checkin_a}"),
        Some(("answers-week", rest)) => format!("answers-week:{}", rest.replacen('A', checkin_a, 1)),
        Some(("answers-member", rest)) => {
            format!(
                "answers-member:{}",
                rest.replacen('A', &cohort_a.to_string(), 1).replacen("alice", &ALICE.to_string(), 1)
            )
        }
        Some(("note", "alice")) => format!("note:{alice_reply}"),
        Some((prefix, rest)) => format!("{prefix}:{}", rest.replacen('A', &cohort_a.to_string(), 1)),
        None => id.to_string(),
    }
}

/// Whether `actor` may see a secret of `owner` in the cohort of `channel`.
fn entitled(actor: &Actor, owner: u64, channel: u64) -> bool {
    let role = if channel == CHANNEL { MENTOR_ROLE } else { MENTOR_ROLE2 };
    actor.user_id == owner || (actor.guild_id == Some(GUILD) && actor.roles.contains(&role))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_matrix() {
    let bot = Bot::start().await;
    bot.setup_in(CHANNEL, MENTOR_ROLE, QUIET, "cohort-a").await;
    bot.setup_in(OTHER_CHANNEL, MENTOR_ROLE2, QUIET, "cohort-b").await;
    let (_, answer_a) = bot.open_checkin(CHANNEL).await;
    let (_, answer_b) = bot.open_checkin(OTHER_CHANNEL).await;
    let store = bot.engine.store();
    let cohort_a = store.cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().unwrap();
    let cohort_b = store.cohort_by_channel(ChannelId::new(OTHER_CHANNEL)).await.unwrap().unwrap();

    // The secrets, written through the real forms; each answer gets a note
    // from a mentor of its cohort.
    for (owner, channel, answer_id, cohort_id, (mentor, role)) in [
        (ALICE, CHANNEL, &answer_a, cohort_a.id, (MENTOR, MENTOR_ROLE)),
        (BOB, CHANNEL, &answer_a, cohort_a.id, (MENTOR, MENTOR_ROLE)),
        (CAROL, OTHER_CHANNEL, &answer_b, cohort_b.id, (MENTOR2, MENTOR_ROLE2)),
    ] {
        let mine: Vec<&str> = SECRETS.iter().filter(|s| s.0 == owner).map(|s| s.2).collect();
        let actor = Actor::in_guild(GUILD, channel, owner);
        let h = bot.fake.modal_submit(&actor, answer_id, &[("answer", mine[0])]);
        assert_eq!(bot.fake.wait_interaction_response(&h, WAIT).await.kind, 4);
        let win = [("what_changed", mine[1]), ("evidence", "metric"), ("who_benefited", "team")];
        let h = bot.fake.modal_submit(&actor, &format!("impact:{cohort_id}"), &win);
        assert_eq!(bot.fake.wait_interaction_response(&h, WAIT).await.kind, 4);
        let project = [("what", mine[2]), ("why", "it matters"), ("teams", "two")];
        let h = bot.fake.modal_submit(&actor, &format!("path-project:{cohort_id}"), &project);
        assert_eq!(bot.fake.wait_interaction_response(&h, WAIT).await.kind, 4);
        let checkin = CheckInId::new(answer_id.trim_start_matches("answer:").parse().unwrap());
        let reply = store.reply(checkin, UserId::new(owner)).await.unwrap().unwrap();
        let mentor = Actor::in_guild(GUILD, channel, mentor).roles(vec![role]);
        let h = bot.fake.modal_submit(&mentor, &format!("note:{}", reply.id), &[("note", mine[3])]);
        assert!(bot.fake.wait_followup(&h, WAIT).await.content.contains("sent to them by DM"));
    }
    let checkin_a = answer_a.trim_start_matches("answer:").to_string();
    let alice_reply = store.reply(CheckInId::new(checkin_a.parse().unwrap()), UserId::new(ALICE)).await.unwrap();
    let alice_reply = alice_reply.expect("Alice's answer").id;
    // Page and Note buttons are clicked on a real ephemeral page of answers.
    let mentor = Actor::in_guild(GUILD, CHANNEL, MENTOR).roles(vec![MENTOR_ROLE]);
    let h = bot.fake.slash_command(mentor.command("cohort").subcommand("answers"));
    let page = bot.fake.wait_followup(&h, WAIT).await;
    assert!(page.is_ephemeral());

    let who = actors();
    let mut cells = 0;
    for (action, act, expected) in matrix() {
        for (col, expect) in who.iter().zip(expected) {
            let cell = format!("{action} × {}", col.label);
            let real_id = |id: &str| real_custom_id(id, &checkin_a, cohort_a.id.get(), alice_reply.get());
            let on = match &act {
                Act::Button(id) if id.starts_with("answer:") || id.starts_with("forget:") => 1,
                _ => page.id,
            };
            let h = match &act {
                Act::Slash(inv) => bot.fake.slash_command(inv(&col.actor)),
                Act::Button(id) => bot.fake.button_click(&col.actor, &real_id(id), on),
                Act::Modal(id, fields) => bot.fake.modal_submit(&col.actor, &real_id(id), fields),
            };
            let seen = observe(&bot, &h, on).await;
            cells += 1;
            assert!(seen.ephemeral, "{cell}: not ephemeral\n{}", seen.text);
            match expect.strip_prefix("modal") {
                Some(prefilled) => {
                    assert_eq!(seen.kind, 9, "{cell}: expected a modal\n{}", seen.text);
                    if let Some(secret) = prefilled.strip_prefix('+') {
                        assert!(seen.text.contains(secret), "{cell}: not pre-filled with {secret}");
                    }
                }
                None => {
                    assert_ne!(seen.kind, 9, "{cell}: a modal instead of {expect:?}");
                    assert!(seen.text.contains(expect), "{cell}: expected {expect:?} in\n{}", seen.text);
                }
            }
            for (owner, channel, secret) in SECRETS {
                if seen.text.contains(secret) {
                    assert!(entitled(&col.actor, owner, channel), "{cell}: leaked {secret}\n{}", seen.text);
                }
            }
        }
    }
    assert_eq!(cells, 31 * 6);

    // Posts in the server never carried a secret; a DM only its recipient's.
    let mut dms = 0;
    for m in bot.fake.all_messages() {
        let text = format!("{} {}", m.content, json!(m.embeds));
        let posted = !m.is_ephemeral() && matches!(m.source, fake_discord::MessageSource::ChannelPost);
        for (owner, _, secret) in SECRETS {
            if posted && text.contains(secret) {
                assert!(m.guild_id.is_none(), "a server post holds {secret}: {text}");
                assert_eq!(m.channel_id, bot.fake.dm_channel_for(owner), "a DM to someone else holds {secret}");
                dms += 1;
            }
        }
    }
    assert_eq!(dms, 3, "each member got their note by DM");
    // Bob forgot himself; Alice's and Carol's data is untouched by anyone else's actions.
    assert!(store.rows_mentioning_user(UserId::new(BOB)).await.unwrap().iter().all(|(_, n)| *n == 0));
    let replies_a = store.replies_of_cohort(cohort_a.id).await.unwrap();
    assert!(replies_a.iter().any(|r| r.user_id.get() == ALICE && r.answer == "ALICE-ANSWER-q7"));
    let replies_b = store.replies_of_cohort(cohort_b.id).await.unwrap();
    assert_eq!(
        replies_b.iter().map(|r| (r.user_id.get(), r.answer.as_str())).collect::<Vec<_>>(),
        [(CAROL, "CAROL-ANSWER-z9")]
    );
    assert_eq!(store.impact_of_member(cohort_b.id, UserId::new(CAROL), 10).await.unwrap().len(), 1);
    assert!(
        store.rows_mentioning_user(UserId::new(STRANGER)).await.unwrap().iter().all(|(_, n)| *n == 0),
        "the other guild's user left no trace"
    );
    bot.stop().await;
}
