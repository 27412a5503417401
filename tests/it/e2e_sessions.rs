//! The fake Discord does what Discord does with several gateway sessions on
//! one token (issue 10, kind 7: the lab must learn the field): each IDENTIFY
//! is a session of its own, every session receives every event, and the
//! second callback for one interaction is refused with 400 `40060`. That is
//! what makes "the second copy never opened a session"
//! (`tests/process/instances.rs`) the whole guarantee.
//!
//! Also what the fake keeps from reconnects: a RESUME on a new socket
//! replays what the session missed; a session not resumed in time, or
//! logged off with 1000, receives nothing more.

use std::sync::Arc;
use std::time::Duration;

use fake_discord::{FakeConfig, FakeDiscord, GatewayClient, GuildSpec, RecordedRequest, SessionState};
use poise::serenity_prelude as serenity;
use serde_json::json;
use tokio::sync::oneshot;
use trellis::engine::SystemClock;
use trellis::startup::Application;
use trellis_testkit::bot::{WAIT, member, settings, start_fake};
use trellis_testkit::{ALICE, APP, BOB, BOT, CHANNEL, GUILD, TOKEN};

/// GUILDS | DIRECT_MESSAGES.
const INTENTS: u64 = 1 | 1 << 12;
const FRAME: Duration = Duration::from_secs(5);

fn callbacks(fake: &FakeDiscord, interaction_id: u64) -> Vec<RecordedRequest> {
    fake.requests_to("POST", &format!("/interactions/{interaction_id}/"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sessions_on_one_token_both_receive_every_event_and_the_second_callback_is_refused_40060() {
    let fake = start_fake().await;
    let mut a = GatewayClient::connect(&fake.gateway_url()).await;
    let ready_a = a.identify(TOKEN, INTENTS, [0, 1]).await;
    assert_eq!(ready_a["shard"], json!([0, 1]));
    assert_eq!(a.wait_dispatch("GUILD_CREATE", FRAME).await["s"], 2);
    assert_eq!(a.wait_dispatch("GUILD_CREATE", FRAME).await["s"], 3);

    // Before the second copy starts, only the first receives.
    let dm = fake.dm_channel_for(ALICE);
    let early = fake.dm_message(ALICE, dm, "before the second copy");
    assert_eq!(a.next_dispatch(FRAME).await["d"]["id"], early.to_string());

    // The second copy IDENTIFYs the same shard with the same token: a new
    // session of its own, with its own sequence numbers.
    let mut b = GatewayClient::connect(&fake.gateway_url()).await;
    let ready_b = b.identify(TOKEN, INTENTS, [0, 1]).await;
    assert_ne!(ready_a["session_id"], ready_b["session_id"]);
    assert_eq!(b.wait_dispatch("GUILD_CREATE", FRAME).await["s"], 2);
    assert_eq!(b.wait_dispatch("GUILD_CREATE", FRAME).await["s"], 3);
    assert_eq!((fake.identify_count(), fake.session_count(), fake.max_concurrent_sessions()), (2, 2, 2));

    // A member's DM goes to both sessions.
    let m = fake.dm_message(ALICE, dm, "shipped the parser");
    let (to_a, to_b) = (a.next_dispatch(FRAME).await, b.next_dispatch(FRAME).await);
    for (frame, seq) in [(&to_a, 5), (&to_b, 4)] {
        assert_eq!((frame["t"].as_str(), frame["s"].as_u64()), (Some("MESSAGE_CREATE"), Some(seq)), "{frame}");
        assert_eq!(frame["d"]["id"], m.to_string());
        assert_eq!(frame["d"]["content"], "shipped the parser");
    }

    // So does an interaction, with the one token both may answer with.
    let h = fake.slash_command(member(BOB).command("progress"));
    let (to_a, to_b) = (a.next_dispatch(FRAME).await, b.next_dispatch(FRAME).await);
    for frame in [&to_a, &to_b] {
        assert_eq!(frame["t"], "INTERACTION_CREATE");
        assert_eq!(frame["d"]["id"], h.id.to_string());
        assert_eq!(frame["d"]["token"], h.token);
    }

    // Both answer through serenity, as two copies of the bot would: the
    // first callback wins, the second is refused as already acknowledged.
    let http = serenity::HttpBuilder::new(TOKEN).proxy(fake.api_base()).ratelimiter_disabled(true).build();
    let answer =
        |who: &str| json!({ "type": 4, "data": { "content": format!("answered by copy {who}"), "flags": 64 } });
    let id = serenity::InteractionId::new(h.id);
    http.create_interaction_response(id, &h.token, &answer("A"), vec![]).await.expect("the first callback");
    let refused = http.create_interaction_response(id, &h.token, &answer("B"), vec![]).await.unwrap_err();
    let serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(refused)) = refused else {
        panic!("{refused:?}")
    };
    assert_eq!((refused.status_code.as_u16(), refused.error.code), (400, 40060), "{refused:?}");
    assert_eq!(refused.error.message, "Interaction has already been acknowledged.");
    let statuses: Vec<u16> = callbacks(&fake, h.id).iter().map(|r| r.status).collect();
    assert_eq!(statuses, [204, 400]);
    assert_eq!(fake.interaction_response(&h).expect("the first callback").content(), "answered by copy A");

    // Each session counted what it received: the first copy also the early DM.
    let sessions = fake.sessions();
    assert_eq!(sessions.len(), 2);
    for (s, dms) in sessions.iter().zip([2, 1]) {
        assert_eq!((s.state, s.shard), (SessionState::Connected, Some([0, 1])), "{s:?}");
        assert_eq!((s.received("READY"), s.received("GUILD_CREATE")), (1, 2), "{s:?}");
        assert_eq!((s.received("MESSAGE_CREATE"), s.received("INTERACTION_CREATE")), (dms, 1), "{s:?}");
    }
    a.close(1000).await;
    b.close(1000).await;
    fake.wait_until(WAIT, "both sessions to end", |f| (f.session_count() == 0).then_some(())).await;
    fake.assert_no_unknown_routes();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_session_gets_what_it_missed_and_one_not_resumed_in_time_gets_nothing_more() {
    const WINDOW: Duration = Duration::from_millis(1500);
    let config = FakeConfig::new(BOT, APP)
        .guild(GuildSpec::new(GUILD, "Staff Path").channel(CHANNEL, "staff-path"))
        .session_resume_window(WINDOW);
    let fake = FakeDiscord::start(config).await;
    let dm = fake.dm_channel_for(ALICE);
    let state = |f: &FakeDiscord, i: usize| f.sessions()[i].state;
    let mut a = GatewayClient::connect(&fake.gateway_url()).await;
    a.identify(TOKEN, INTENTS, [0, 1]).await;
    a.wait_dispatch("GUILD_CREATE", FRAME).await;
    let mut b = GatewayClient::connect(&fake.gateway_url()).await;
    b.identify(TOKEN, INTENTS, [0, 1]).await;
    b.wait_dispatch("GUILD_CREATE", FRAME).await;

    // A's process crashes (no close frame): its session stays resumable and
    // keeps receiving, for the replay.
    let (a_id, a_seq) = (a.session_id().unwrap().to_owned(), a.seq().unwrap());
    a.crash();
    fake.wait_until(WAIT, "A's socket to close", |f| (state(f, 0) == SessionState::Resumable).then_some(())).await;
    let m1 = fake.dm_message(ALICE, dm, "one");
    assert_eq!(b.wait_dispatch("MESSAGE_CREATE", FRAME).await["d"]["id"], m1.to_string());
    assert_eq!(fake.session_count(), 2);

    // A RESUME on a new socket takes the session over: the missed DM, then RESUMED.
    let mut a2 = GatewayClient::connect(&fake.gateway_url()).await;
    a2.resume(TOKEN, &a_id, a_seq).await;
    let replayed = a2.next_dispatch(FRAME).await;
    assert_eq!((replayed["t"].as_str(), replayed["s"].as_u64()), (Some("MESSAGE_CREATE"), Some(a_seq + 1)));
    assert_eq!(replayed["d"]["id"], m1.to_string());
    assert_eq!(a2.next_dispatch(FRAME).await["t"], "RESUMED");
    let resumed = &fake.sessions()[0];
    assert_eq!((resumed.state, resumed.resumes, resumed.received("MESSAGE_CREATE")), (SessionState::Connected, 1, 1));

    // B crashes and is not resumed within the window: it receives nothing
    // more, and resuming it later is refused with op 9 `false`.
    let (b_id, b_seq) = (b.session_id().unwrap().to_owned(), b.seq().unwrap());
    b.crash();
    fake.wait_until(WAIT, "B's socket to close", |f| (state(f, 1) == SessionState::Resumable).then_some(())).await;
    tokio::time::sleep(WINDOW + Duration::from_millis(300)).await;
    assert_eq!((state(&fake, 1), fake.session_count()), (SessionState::Ended, 1));
    let m2 = fake.dm_message(ALICE, dm, "two");
    assert_eq!(a2.next_dispatch(FRAME).await["d"]["id"], m2.to_string());
    assert_eq!(fake.sessions()[1].received("MESSAGE_CREATE"), 1, "only the DM before the crash");
    assert_eq!(fake.sessions()[1].seq, b_seq, "nothing was kept for B after its window");
    let mut b2 = GatewayClient::connect(&fake.gateway_url()).await;
    b2.resume(TOKEN, &b_id, b_seq).await;
    let refused = b2.next_frame(FRAME).await.expect("an answer to the RESUME");
    assert_eq!((refused["op"].as_u64(), refused["d"].as_bool()), (Some(9), Some(false)), "{refused}");

    // Closing with 1000 logs A off at once.
    a2.close(1000).await;
    fake.wait_until(WAIT, "A to log off", |f| (f.session_count() == 0).then_some(())).await;
    assert_eq!(state(&fake, 0), SessionState::Ended);

    // With no session at all, the fake keeps the event for the next one
    // (what lets a test's restarted bot see it; Discord would drop it).
    let m3 = fake.dm_message(ALICE, dm, "three");
    let mut c = GatewayClient::connect(&fake.gateway_url()).await;
    c.identify(TOKEN, INTENTS, [0, 1]).await;
    assert_eq!(c.next_dispatch(FRAME).await["t"], "GUILD_CREATE");
    let late = c.next_dispatch(FRAME).await;
    assert_eq!((late["t"].as_str(), late["s"].as_u64()), (Some("MESSAGE_CREATE"), Some(3)));
    assert_eq!(late["d"]["id"], m3.to_string());
    assert_eq!((fake.identify_count(), fake.resume_count(), fake.max_concurrent_sessions()), (3, 2, 2));
    c.close(1000).await;
}

/// A copy of the bot on a database of its own (the instance lease is per
/// database, so a second copy on the same one would not start at all).
struct Copy {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Copy {
    async fn start(fake: &FakeDiscord) -> Copy {
        trellis::telemetry::init_for_tests();
        let dir = tempfile::tempdir().unwrap();
        let app = Application::build(settings(fake, dir.path()), Arc::new(SystemClock)).await.expect("app builds");
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Copy { stop, task, _dir: dir }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(WAIT, self.task).await.expect("the copy stops").unwrap().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_copies_of_the_bot_on_one_token_both_answer_a_dm_and_race_for_the_interaction_callback() {
    // What kind 7 prevents, shown on two databases so both copies start.
    let fake = start_fake().await;
    let first = Copy::start(&fake).await;
    let second = Copy::start(&fake).await;
    let guild_registrations = format!("/applications/{APP}/guilds/");
    fake.wait_until(WAIT, "two sessions, each past its READY", |f| {
        let connected = f.sessions().iter().filter(|s| s.state == SessionState::Connected).count();
        (connected == 2 && f.requests_to("PUT", &guild_registrations).len() >= 4).then_some(())
    })
    .await;

    // A member's DM: each copy answers it.
    let dm = fake.dm_channel_for(ALICE);
    fake.dm_message(ALICE, dm, "shipped the parser");
    let replies = format!("/channels/{dm}/messages");
    fake.wait_until(WAIT, "a reply from each copy", |f| (f.requests_to("POST", &replies).len() >= 2).then_some(()))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let replies = fake.requests_to("POST", &replies);
    assert_eq!(replies.len(), 2, "one reply per copy");
    let text = |r: &RecordedRequest| r.body.as_ref().map(|b| b["content"].clone());
    assert_eq!(text(&replies[0]), text(&replies[1]), "the same answer twice");

    // A command: both race for its one callback; the loser gets 40060.
    let h = fake.slash_command(member(ALICE).command("progress"));
    fake.wait_until(WAIT, "a callback from each copy", |f| (callbacks(f, h.id).len() >= 2).then_some(())).await;
    let mut outcomes: Vec<(u16, Option<String>)> =
        callbacks(&fake, h.id).into_iter().map(|r| (r.status, r.error)).collect();
    outcomes.sort();
    assert_eq!(outcomes[0], (204, None), "{outcomes:?}");
    assert_eq!(outcomes[1].0, 400, "{outcomes:?}");
    assert!(outcomes[1].1.as_deref().is_some_and(|e| e.contains("40060")), "{outcomes:?}");
    for s in fake.sessions() {
        assert_eq!((s.received("MESSAGE_CREATE"), s.received("INTERACTION_CREATE")), (1, 1), "{s:?}");
    }

    // A clean stop closes with 1000: both sessions end at once.
    first.stop().await;
    second.stop().await;
    assert_eq!((fake.session_count(), fake.max_concurrent_sessions()), (0, 2));
    fake.assert_no_unknown_routes();
}
