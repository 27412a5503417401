//! Load on the real binary (debug build here; `benches/load.rs` measures the
//! release build and prints p50/p99): 1,000 modal submits from 1,000 members
//! within 10 s are each confirmed within Discord's 3 s and stored; 200
//! `/progress` requests in one burst are all answered.

use std::time::{Duration, Instant};

use fake_discord::{Actor, FakeDiscord, InteractionHandle, InteractionResponse};
use trellis_testkit::process::{self, TrellisProcess, wait_identified};
use trellis_testkit::{CHANNEL, GUILD, TempDb, USER0, answer_id, seed_open_checkin};

const BIN: &str = env!("CARGO_BIN_EXE_trellis");
/// Discord drops an interaction not acknowledged within 3 s.
const ACK_LIMIT: Duration = Duration::from_secs(3);

fn text_of(user: u64) -> String {
    format!("member {user}: unblocked the platform migration by writing the rollout plan with SRE")
}

/// Polls (cheaper than re-checking 1,000 handles on every change) until
/// `done` holds for every handle, or panics after `timeout`.
async fn wait_all<T>(
    fake: &FakeDiscord,
    handles: &[InteractionHandle],
    timeout: Duration,
    what: &str,
    mut done: impl FnMut(&FakeDiscord, &InteractionHandle) -> Option<T>,
) -> Vec<T> {
    let deadline = Instant::now() + timeout;
    loop {
        let got: Vec<Option<T>> = handles.iter().map(|h| done(fake, h)).collect();
        let missing = got.iter().filter(|g| g.is_none()).count();
        if missing == 0 {
            return got.into_iter().map(Option::unwrap).collect();
        }
        assert!(Instant::now() < deadline, "{missing} of {} {what} still missing after {timeout:?}", handles.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_submits_in_ten_seconds_then_two_hundred_progress_requests() {
    let _suite = crate::suite(module_path!());
    const MEMBERS: u64 = 1000;
    const BURSTS: u64 = 20;
    const PROGRESS: u64 = 200;
    let db = TempDb::new();
    let (cohort, checkin) = seed_open_checkin(&db).await;
    let fake = process::fake().await;
    let mut bot = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[]);
    wait_identified(&fake, 1, Duration::from_secs(20)).await;

    // 20 bursts of 50, 500 ms apart: 1,000 members within 10 s.
    let started = Instant::now();
    let mut handles = Vec::new();
    for burst in 0..BURSTS {
        tokio::time::sleep_until((started + Duration::from_millis(burst * 500)).into()).await;
        for i in 0..MEMBERS / BURSTS {
            let user = USER0 + burst * (MEMBERS / BURSTS) + i;
            let conf = ((user % 5) + 1).to_string();
            handles.push(fake.modal_submit(
                &Actor::in_guild(GUILD, CHANNEL, user),
                &answer_id(checkin),
                &[("answer", &text_of(user)), ("confidence", &conf)],
            ));
        }
    }
    let sent_in = started.elapsed();
    assert!(sent_in < Duration::from_secs(10), "{sent_in:?}");
    let responses: Vec<InteractionResponse> =
        wait_all(&fake, &handles, Duration::from_secs(30), "confirmations", |f, h| f.interaction_response(h)).await;
    let mut slowest = Duration::ZERO;
    for (i, r) in responses.iter().enumerate() {
        let user = USER0 + i as u64;
        assert_eq!(r.kind, 4, "member {user}: {r:?}");
        assert_eq!(r.data["embeds"][0]["title"], "Answer saved", "member {user}: {r:?}");
        assert_eq!(r.data["embeds"][0]["description"], text_of(user).as_str());
        assert!(r.elapsed < ACK_LIMIT, "member {user} confirmed after {:?}", r.elapsed);
        slowest = slowest.max(r.elapsed);
    }
    let store = db.store().await;
    let stored = store.replies_of_cohort(cohort).await.unwrap();
    assert_eq!(stored.len(), MEMBERS as usize, "every confirmed answer is stored");
    for r in &stored {
        assert_eq!(r.answer, text_of(r.user_id.get()));
        assert_eq!(r.confidence, Some((r.user_id.get() % 5 + 1) as u8));
    }
    println!("{MEMBERS} submits sent in {sent_in:?}: all confirmed and stored; slowest confirmation {slowest:?}");

    // 200 /progress at once, by members who answered.
    let started = Instant::now();
    let handles: Vec<InteractionHandle> = (0..PROGRESS)
        .map(|i| {
            fake.slash_command(Actor::in_guild(GUILD, CHANNEL, USER0 + i * (MEMBERS / PROGRESS)).command("progress"))
        })
        .collect();
    let acks = wait_all(&fake, &handles, Duration::from_secs(10), "/progress acknowledgements", |f, h| {
        f.interaction_response(h)
    })
    .await;
    for r in &acks {
        assert!(r.elapsed < ACK_LIMIT, "/progress acknowledged after {:?}", r.elapsed);
    }
    let answers = wait_all(&fake, &handles, Duration::from_secs(60), "/progress answers", |f, h| {
        let r = f.interaction_response(h)?;
        // Deferred (type 5) and then followed up, or answered at once (type 4).
        match r.kind {
            5 => f.followups(h).into_iter().next(),
            _ => f.original_response(h),
        }
    })
    .await;
    for m in &answers {
        assert!(m.is_ephemeral(), "{m:?}");
        let shown = m.embeds.first().map(|e| e.to_string()).unwrap_or_default();
        assert!(shown.contains("1/1") || shown.contains("streak"), "a progress embed: {m:?}");
    }
    println!(
        "{PROGRESS} /progress in a burst: all answered within {:?}; slowest acknowledgement {:?}",
        started.elapsed(),
        acks.iter().map(|r| r.elapsed).max().unwrap()
    );

    bot.sigterm();
    assert!(bot.wait(Duration::from_secs(10)).await.expect("stops").success());
    fake.assert_no_unknown_routes();
}
