//! The desk in the `trellis` binary: under the most talkative log filter, a
//! whole desk visit (sign-in link, session, a week's answers, a note,
//! sign-out) leaves no link token, session cookie, form token, answer or
//! note text in the log.

use std::time::Duration;

use fake_discord::Actor;
use trellis_testkit::desk::{Browser, desk_link};
use trellis_testkit::process::{self, TrellisProcess, wait_identified};
use trellis_testkit::{CHANNEL, GUILD, MENTOR, MENTOR_ROLE, TempDb, USER0, answer_id, seed_open_checkin};

const BIN: &str = env!("CARGO_BIN_EXE_trellis");
const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desk_visit_leaves_no_secret_and_no_member_text_in_a_trace_log() {
    let _suite = crate::suite(module_path!());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let db = TempDb::new();
    let (_, checkin) = seed_open_checkin(&db).await;
    let fake = process::fake().await;
    let env = [("RUST_LOG", "trace"), ("TRELLIS_WEB_ADDR", addr.as_str())];
    let mut bot = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &env);
    wait_identified(&fake, 1, WAIT).await;

    let answer = "ANSWER-MARKER-7f3a the rollout plan";
    let h = fake.modal_submit(
        &Actor::in_guild(GUILD, CHANNEL, USER0),
        &answer_id(checkin),
        &[("answer", answer), ("confidence", "3")],
    );
    assert_eq!(fake.wait_interaction_response(&h, WAIT).await.kind, 4);
    let link = desk_link(&fake, Actor::in_guild(GUILD, CHANNEL, MENTOR).roles(vec![MENTOR_ROLE])).await;
    let mut browser = Browser::new(&format!("http://{addr}"));
    browser.sign_in(&link).await;
    let page = browser.get(&format!("/checkins/{}", checkin.get())).await;
    assert!(page.body.contains("ANSWER-MARKER-7f3a"), "{}", page.body);
    let csrf = page.hidden("csrf").unwrap();
    let action = {
        let at = page.body.find("action=\"/answers/").unwrap() + 8;
        page.body[at..at + page.body[at..].find('"').unwrap()].to_string()
    };
    let note = "NOTE-MARKER-91c2 good call";
    let saved = browser.post(&action, &[("csrf", &csrf), ("note", note), ("back", "/")]).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    browser.post("/signout", &[("csrf", &csrf)]).await;
    bot.sigterm();
    assert!(bot.wait(WAIT).await.expect("stops").success());

    let logs = bot.logs();
    // The run's own log, at its most detailed (the libraries' lines are capped).
    assert!(logs.contains("connected to Discord") && logs.contains("signed in to the desk"), "{logs}");
    assert!(logs.contains("DEBUG"), "trace and debug lines are on: {logs}");
    let token = link.rsplit('/').next().unwrap();
    let cookie = browser.cookie.clone().unwrap();
    for (what, secret) in [
        ("the link token", token),
        ("the session cookie", cookie.as_str()),
        ("the form token", csrf.as_str()),
        ("the answer", "ANSWER-MARKER"),
        ("the note", "NOTE-MARKER"),
    ] {
        assert!(!logs.contains(secret), "{what} is in the log");
    }
}
