//! The desk over HTTP, through the real bot: `/desk` in the fake Discord
//! gives a link, the link signs in once, and each session sees what the
//! Discord commands would let it see, on both databases. The whole access
//! matrix: member / mentor / mentor of another cohort / another server /
//! no session / expired, reused and altered link / altered cookie / POST
//! without the token / POST from another origin, on every page and form.

use std::sync::Arc;

use chrono::Utc;
use fake_discord::Actor;
use trellis::domain::DeskGrant;
use trellis::engine::SystemClock;
use trellis::engine::desk::secret_hash;
use trellis_testkit::bot::*;
use trellis_testkit::desk::{Browser, desk_link, desk_reply};
use trellis_testkit::ids::*;
use trellis_testkit::{Backend, TempDb, on_both_backends};

/// A schedule that never fires during a test.
const QUIET: &str = "0 0 9 29 2 *";

fn mentor() -> Actor {
    member(MENTOR).roles(vec![MENTOR_ROLE])
}

/// MENTOR2 mentors the other cohort (OTHER_CHANNEL, MENTOR_ROLE2) only.
fn other_mentor() -> Actor {
    Actor::in_guild(GUILD, OTHER_CHANNEL, MENTOR2).roles(vec![MENTOR_ROLE2])
}

/// Two cohorts in GUILD and one in GUILD2; a posted check-in in the first
/// with answers of ALICE and BOB, an impact entry of ALICE, and a member
/// of the other server. Returns the bot, the check-in id and its database.
async fn cohort_with_answers(backend: Backend) -> (Bot, i64, TempDb) {
    let db = TempDb::on(backend).await;
    let url = db.url.clone();
    let bot = Bot::start_configured(Arc::new(SystemClock), move |s| s.database_url = url).await;
    bot.setup(QUIET, None).await;
    bot.setup_in(OTHER_CHANNEL, MENTOR_ROLE2, QUIET, "other-cohort").await;
    // The other server's cohort, mentored by its role GUILD2 + 20.
    trellis_testkit::seed_cohort(bot.engine.store(), "elsewhere", GUILD2, CHANNEL2, QUIET).await;
    let (checkin, custom_id) = bot.open_checkin(CHANNEL).await;
    for (user, text) in [
        (ALICE, "Alice moved the billing migration forward <script>alert(1)</script>"),
        (BOB, "Bob wrote the capacity plan for the migration </textarea><img src=x onerror=alert(2)>"),
    ] {
        let h = bot.fake.modal_submit(&member(user), &custom_id, &[("answer", text), ("confidence", "4")]);
        assert_eq!(bot.fake.wait_interaction_response(&h, WAIT).await.kind, 4);
    }
    let h = bot.fake.slash_command(member(DAVE).command("cohort").subcommand("join"));
    let _ = bot.fake.slash_command(Actor::in_guild(GUILD2, CHANNEL2, CAROL).command("cohort").subcommand("join"));
    bot.fake.wait_interaction_response(&h, WAIT).await;
    (bot, checkin.id.get(), db)
}

/// A browser signed in as `actor`.
async fn signed_in(bot: &Bot, actor: Actor) -> Browser {
    let link = desk_link(&bot.fake, actor).await;
    assert!(link.starts_with(&bot.desk), "{link} is under the public URL {}", bot.desk);
    let mut b = Browser::new(&bot.desk);
    b.sign_in(&link).await;
    b
}

async fn a_link_signs_in_once_and_previews_do_not_use_it(backend: Backend) {
    let (bot, _, _db) = cohort_with_answers(backend).await;
    let link = desk_link(&bot.fake, member(ALICE)).await;
    let anonymous = Browser::new(&bot.desk);
    // A chat client's preview (GET, HEAD) only shows the continue page.
    for _ in 0..2 {
        let preview = anonymous.get(&link).await;
        assert_eq!(preview.status, 200);
        assert!(preview.body.contains("Continue to the desk"), "{}", preview.body);
        assert!(preview.header("set-cookie").is_empty(), "a GET never signs in");
        assert_eq!(anonymous.head(&link).await.status, 200);
    }
    // Its owner then signs in; the address bar leaves the token behind.
    let mut alice = Browser::new(&bot.desk);
    let done = alice.sign_in(&link).await;
    let cookie = done.header("set-cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "http public URL: {cookie}");
    let home = alice.get("/").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("Your record"), "{}", home.body);
    // Opened again (a second tab, or someone it was forwarded to): used.
    let again = Browser::new(&bot.desk).get(&link).await;
    assert_eq!(again.status, 410, "{}", again.body);
    assert!(again.body.contains("/desk"), "says how to get a new one: {}", again.body);
    let token = link.rsplit('/').next().unwrap();
    let reuse = Browser::new(&bot.desk).post("/signin", &[("token", token)]).await;
    assert_eq!(reuse.status, 410);
    assert!(reuse.header("set-cookie").is_empty());
    // Altered: one digit changed, cut short, something else.
    let last = token.chars().last().unwrap();
    let altered = format!("{}{}", &token[..63], if last == '0' { '1' } else { '0' });
    for bad in [altered.as_str(), &token[..40], "not-a-token"] {
        let page = Browser::new(&bot.desk).get(&format!("/signin/{bad}")).await;
        assert_eq!(page.status, 404, "{bad}: {}", page.body);
        assert!(page.body.contains("/desk"), "{}", page.body);
    }
    // Sign-out ends the session on the server: the cookie no longer works.
    let csrf = home.hidden("csrf").unwrap();
    let out = alice.post("/signout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 200);
    assert!(out.header("set-cookie").contains("Max-Age=0"));
    assert_eq!(alice.get("/").await.status, 401);
    bot.stop().await;
}
on_both_backends!(a_link_signs_in_once_and_previews_do_not_use_it, (flavor = "multi_thread", worker_threads = 2));

async fn an_expired_link_says_so(backend: Backend) {
    let (bot, _, _db) = cohort_with_answers(backend).await;
    let grant = DeskGrant {
        guild_id: GuildId::new(GUILD),
        user_id: UserId::new(ALICE),
        user_name: "alice".into(),
        roles: vec![],
        can_manage: false,
    };
    let token = "ab".repeat(32);
    let now = Utc::now();
    let made = now - chrono::TimeDelta::minutes(11);
    bot.engine
        .store()
        .insert_desk_link(&secret_hash(&token), &grant, made, made + chrono::TimeDelta::minutes(10))
        .await
        .unwrap();
    let b = Browser::new(&bot.desk);
    let page = b.get(&format!("/signin/{token}")).await;
    assert_eq!(page.status, 410, "{}", page.body);
    assert!(page.body.contains("older than 10 minutes"), "{}", page.body);
    assert_eq!(b.post("/signin", &[("token", &token)]).await.status, 410);
    bot.stop().await;
}
on_both_backends!(an_expired_link_says_so, (flavor = "multi_thread", worker_threads = 2));

/// Every page, as (path, what a mentor of the first cohort gets, what
/// ALICE gets, what the other cohort's mentor gets, what someone of the
/// other server gets).
fn pages(cohort: i64, other: i64, checkin: i64) -> Vec<(String, [u16; 4])> {
    vec![
        ("/".to_string(), [200, 200, 200, 200]),
        (format!("/cohorts/{cohort}"), [200, 404, 404, 404]),
        (format!("/checkins/{checkin}"), [200, 404, 404, 404]),
        (format!("/cohorts/{cohort}/members/{ALICE}"), [200, 200, 404, 404]),
        (format!("/cohorts/{cohort}/members/{BOB}"), [200, 404, 404, 404]),
        (format!("/cohorts/{cohort}/packet"), [404, 200, 404, 404]),
        (format!("/cohorts/{cohort}/packet.md"), [404, 200, 404, 404]),
        (format!("/cohorts/{other}"), [404, 404, 200, 404]),
        (format!("/cohorts/{other}/members/{DAVE}"), [404, 404, 404, 404]),
        ("/search?q=migration".to_string(), [200, 200, 200, 200]),
        ("/checkins/999999".to_string(), [404, 404, 404, 404]),
        ("/cohorts/abc".to_string(), [404, 404, 404, 404]),
        ("/nowhere".to_string(), [404, 404, 404, 404]),
    ]
}

async fn the_access_matrix_holds_on_every_page(backend: Backend) {
    let (bot, checkin, _db) = cohort_with_answers(backend).await;
    let store = bot.engine.store();
    let cohort = store.cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().unwrap().id.get();
    let other = store.cohort_by_channel(ChannelId::new(OTHER_CHANNEL)).await.unwrap().unwrap().id.get();
    let guild2 = store.cohort_by_channel(ChannelId::new(CHANNEL2)).await.unwrap().unwrap().id.get();
    let mentor_b = signed_in(&bot, mentor()).await;
    let alice = signed_in(&bot, member(ALICE)).await;
    let other_b = signed_in(&bot, other_mentor()).await;
    // CAROL mentors the other server's cohort.
    let carol = signed_in(&bot, Actor::in_guild(GUILD2, CHANNEL2, CAROL).roles(vec![GUILD2 + 20])).await;
    let nobody = Browser::new(&bot.desk);
    let mut forged = Browser::new(&bot.desk);
    let mut altered = alice.cookie.clone().unwrap();
    altered.replace_range(0..1, if altered.starts_with('0') { "1" } else { "0" });
    forged.cookie = Some(altered);

    for (path, expected) in pages(cohort, other, checkin) {
        for (who, b, status) in [
            ("mentor", &mentor_b, expected[0]),
            ("member", &alice, expected[1]),
            ("mentor of another cohort", &other_b, expected[2]),
            ("another server", &carol, expected[3]),
        ] {
            let r = b.get(&path).await;
            assert_eq!(r.status, status, "{who} {path}: {}", r.body);
            if status != 200 {
                // What a session may not see shows none of it.
                assert!(!r.body.contains("migration"), "{who} {path}: {}", r.body);
            }
        }
        // A member sees no one else's words on any page.
        assert!(!alice.get(&path).await.body.contains("Bob wrote"), "{path}");
        for (who, b) in [("no session", &nobody), ("altered cookie", &forged)] {
            let r = b.get(&path).await;
            assert_eq!(r.status, if path == "/nowhere" { 404 } else { 401 }, "{who} {path}: {}", r.body);
            assert!(!r.body.contains("migration"), "{who} {path}");
        }
    }
    // The other server's cohort is nobody's here.
    assert_eq!(mentor_b.get(&format!("/cohorts/{guild2}")).await.status, 404);
    assert_eq!(carol.get(&format!("/cohorts/{guild2}")).await.status, 200, "its own mentor reads it");

    // Search: a mentor finds the cohort's answers, a member only their own.
    let found = mentor_b.get("/search?q=migration").await.body;
    assert!(found.contains("billing <mark>migration</mark>") || found.contains("<mark>migration</mark>"), "{found}");
    assert!(found.contains(&format!("member {BOB}")) && found.contains(&format!("member {ALICE}")), "{found}");
    let own = alice.get("/search?q=migration").await.body;
    assert!(own.contains("Alice moved") && !own.contains("Bob wrote"), "{own}");
    let theirs = other_b.get("/search?q=migration").await.body;
    assert!(!theirs.contains("Alice moved") && !theirs.contains("Bob wrote"), "{theirs}");
    let elsewhere = carol.get("/search?q=migration").await.body;
    assert!(!elsewhere.contains("Alice moved"), "{elsewhere}");
    bot.stop().await;
}
on_both_backends!(the_access_matrix_holds_on_every_page, (flavor = "multi_thread", worker_threads = 2));

/// The reply id of ALICE's answer on a check-in page, from its note form.
fn note_action(body: &str, of: u64) -> String {
    let at = body.find(&format!("member {of}</a>")).expect("their answer");
    let rest = &body[at..];
    let start = rest.find("action=\"/answers/").expect("a note form") + 8;
    rest[start..start + rest[start..].find('"').unwrap()].to_string()
}

async fn a_note_from_the_desk_is_a_discord_note_and_forms_need_their_token_and_origin(backend: Backend) {
    let (bot, checkin, _db) = cohort_with_answers(backend).await;
    let m = signed_in(&bot, mentor()).await;
    let page = m.get(&format!("/checkins/{checkin}")).await;
    assert_eq!(page.status, 200);
    // Everything people wrote is text: no markup of theirs survives.
    assert!(!page.body.contains("<script>alert") && !page.body.contains("<img src=x"), "{}", page.body);
    assert!(escaped(&page.body, "<script>alert(1)</script>"), "{}", page.body);
    assert!(escaped(&page.body, "</textarea><img src=x onerror=alert(2)>"), "{}", page.body);
    assert!(page.body.contains("<textarea") && page.body.contains("name=\"note\"") && page.body.contains("Save note"));
    let action = note_action(&page.body, ALICE);
    let csrf = page.hidden("csrf").unwrap();
    let back = format!("/checkins/{checkin}");
    let note = "Good framing. Bring platform in early. @everyone <b>bold</b>";
    let dm_channel = bot.fake.dm_channel_for(ALICE);
    let dms_before = bot.fake.messages_in(dm_channel).len();

    // Refused: no token, a wrong token, another origin, no origin, no session, the member.
    let alice = signed_in(&bot, member(ALICE)).await;
    let alice_csrf = alice.get("/").await.hidden("csrf").unwrap();
    for (who, status, answer) in [
        ("no token", 403, m.post(&action, &[("note", note), ("back", &back)]).await),
        ("wrong token", 403, m.post(&action, &[("csrf", &"0".repeat(64)), ("note", note), ("back", &back)]).await),
        (
            "other origin",
            403,
            m.post_from(&action, &[("csrf", &csrf), ("note", note)], Some("https://evil.example")).await,
        ),
        ("no origin", 403, m.post_from(&action, &[("csrf", &csrf), ("note", note)], None).await),
        ("no session", 401, Browser::new(&bot.desk).post(&action, &[("csrf", &csrf), ("note", note)]).await),
        ("the member", 404, alice.post(&action, &[("csrf", &alice_csrf), ("note", note)]).await),
    ] {
        assert_eq!(answer.status, status, "{who}: {}", answer.body);
    }
    assert_eq!(bot.fake.messages_in(dm_channel).len(), dms_before, "nothing was sent");
    let unnoted = bot.engine.store().notes_of_member(
        bot.engine.store().cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().unwrap().id,
        UserId::new(ALICE),
    );
    assert!(unnoted.await.unwrap().is_empty(), "nothing was stored");

    // Saved: stored, DMed pinging nobody, back on the page with its anchor.
    let saved = m.post(&action, &[("csrf", &csrf), ("note", note), ("back", &back)]).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let location = saved.header("location").to_string();
    assert!(location.starts_with(&format!("{back}?saved=sent#answer-")), "{location}");
    let dms = bot.fake.wait_messages(dm_channel, dms_before + 1, WAIT).await;
    let dm = dms.last().unwrap();
    assert_eq!(dm.embeds[0]["description"], note);
    pings_nobody(dm.allowed_mentions.as_ref().expect("allowed_mentions"));
    let after = m.get(&location).await;
    assert!(after.body.contains("Note saved and sent to the member by DM"), "{}", after.body);
    assert!(escaped(&after.body, "<b>bold</b>") && !after.body.contains("<b>bold"), "{}", after.body);
    // The member reads it in /progress, and on their desk (where it counts as read).
    let own = alice.get(&format!("/cohorts/{}/members/{ALICE}", dm_cohort(&bot).await)).await;
    assert!(own.body.contains("Good framing."), "{}", own.body);
    assert!(!own.body.contains("Save note"), "a member writes no notes: {}", own.body);
    let mentor_view = m.get(&location).await;
    assert_eq!(mentor_view.body.matches("Good framing.").count(), 2, "the note, and the form to edit it");
    bot.stop().await;
}
on_both_backends!(
    a_note_from_the_desk_is_a_discord_note_and_forms_need_their_token_and_origin,
    (flavor = "multi_thread", worker_threads = 2)
);

/// `raw` appears in `body` as escaped text (named or numeric entities).
fn escaped(body: &str, raw: &str) -> bool {
    let named = raw.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let numeric = raw.replace('&', "&#38;").replace('<', "&#60;").replace('>', "&#62;");
    body.contains(&named) || body.contains(&numeric)
}

async fn dm_cohort(bot: &Bot) -> i64 {
    bot.engine.store().cohort_by_channel(ChannelId::new(CHANNEL)).await.unwrap().unwrap().id.get()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_send_the_security_headers_and_forget_me_ends_the_desk() {
    let (bot, checkin, _db) = cohort_with_answers(Backend::Sqlite).await;
    let m = signed_in(&bot, mentor()).await;
    let page = m.get(&format!("/checkins/{checkin}")).await;
    let csp = page.header("content-security-policy");
    assert!(csp.contains("script-src 'none'") && !csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.header("x-content-type-options"), "nosniff");
    assert_eq!(page.header("referrer-policy"), "same-origin");
    assert_eq!(page.header("cache-control"), "no-store");
    // /forget-me: the member's sessions and unused links are gone, and their
    // words leave the search index.
    let mut alice = signed_in(&bot, member(ALICE)).await;
    let spare = desk_link(&bot.fake, member(ALICE)).await;
    let h = bot.fake.slash_command(member(ALICE).command("forget-me"));
    bot.fake.wait_interaction_response(&h, WAIT).await;
    let confirm = bot.fake.button_click(&member(ALICE), "forget:confirm", 1);
    let done = bot.fake.wait_interaction_response(&confirm, WAIT).await;
    assert!(done.content().contains("eleted") || !done.data.is_null(), "{done:?}");
    let rows = bot.engine.store().rows_mentioning_user(UserId::new(ALICE)).await.unwrap();
    assert!(rows.iter().all(|(_, n)| *n == 0), "{rows:?}");
    assert_eq!(alice.get("/").await.status, 401);
    alice.cookie = None;
    assert_eq!(Browser::new(&bot.desk).get(&spare).await.status, 404);
    let found = m.get("/search?q=billing").await.body;
    assert!(!found.contains("Alice moved"), "{found}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_outside_every_cohort_gets_no_link() {
    let bot = Bot::start().await;
    bot.setup(QUIET, None).await;
    let text = desk_reply(&bot.fake, member(STRANGER)).await;
    assert!(text.contains("neither"), "{text}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_attempts_are_rate_limited() {
    let bot = Bot::start().await;
    let b = Browser::new(&bot.desk);
    let guess = |i: usize| format!("/signin/{:064x}", i);
    for i in 0..trellis::web::session::ATTEMPTS_PER_WINDOW as usize {
        assert_eq!(b.get(&guess(i)).await.status, 404, "attempt {i}");
    }
    let over = b.get(&guess(999)).await;
    assert_eq!(over.status, 429, "{}", over.body);
    assert_eq!(b.post("/signin", &[("token", &"0".repeat(64))]).await.status, 429);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_cohort_shows_nothing_on_the_desk() {
    let (bot, checkin, _db) = cohort_with_answers(Backend::Sqlite).await;
    let cohort = dm_cohort(&bot).await;
    let m = signed_in(&bot, mentor()).await;
    let alice = signed_in(&bot, member(ALICE)).await;
    assert_eq!(m.get(&format!("/cohorts/{cohort}")).await.status, 200);
    let h = bot.fake.slash_command(admin(GUILD, CHANNEL).command("cohort").subcommand("remove"));
    let removed = bot.fake.wait_interaction_response(&h, WAIT).await;
    assert!(removed.content().contains("removed"), "{removed:?}");
    for path in
        [format!("/cohorts/{cohort}"), format!("/checkins/{checkin}"), format!("/cohorts/{cohort}/members/{ALICE}")]
    {
        let r = m.get(&path).await;
        assert_eq!(r.status, 404, "{path}: {}", r.body);
        assert!(!r.body.contains("migration"), "{path}");
    }
    assert!(!m.get("/").await.body.contains(&format!("/cohorts/{cohort}\"")), "no link to it");
    assert!(!m.get("/search?q=migration").await.body.contains("Alice moved"));
    assert_eq!(alice.get(&format!("/cohorts/{cohort}/members/{ALICE}")).await.status, 404);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_desk_off_desk_says_so_and_gives_no_link() {
    let bot = Bot::start_configured(Arc::new(SystemClock), |s| s.web = trellis::config::WebSettings::OFF).await;
    bot.setup(QUIET, None).await;
    assert_eq!(bot.desk, "", "nothing listens");
    let h = bot.fake.slash_command(member(ALICE).command("desk"));
    let r = bot.fake.wait_interaction_response(&h, WAIT).await;
    assert!(r.is_ephemeral() && r.content().contains("turned off"), "{r:?}");
    assert!(r.data["components"].as_array().is_none_or(|c| c.is_empty()), "no link: {r:?}");
    bot.stop().await;
}
