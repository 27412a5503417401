//! Interaction latency of the real (release) binary under load, against the
//! fake Discord on loopback. `cargo bench --bench load` prints p50/p90/p99/max:
//!
//! 1. 1,000 modal submits (answers) from 1,000 members within 10 s, in 20
//!    bursts of 50 every 500 ms: time from INTERACTION_CREATE on the socket to
//!    the bot's callback (which it sends after the commit);
//! 2. 200 `/progress` in one burst: time to the deferral (the 3 s limit) and
//!    to the answer (the follow-up);
//! 3. stress, beyond the target: 1,000 submits at once.
//!
//! Then resident memory after the load. Latencies include the fake's own work
//! (it runs in this process, on the same 2 cores).

use std::time::{Duration, Instant};

use fake_discord::{Actor, FakeDiscord, InteractionHandle};
use trellis::domain::CheckInId;
use trellis_testkit::process::{self, TrellisProcess, wait_identified};
use trellis_testkit::{CHANNEL, GUILD, TempDb, USER0, answer_id, percentile, seed_open_checkin};

const BIN: &str = env!("CARGO_BIN_EXE_trellis");
const ACK_LIMIT: Duration = Duration::from_secs(3);

/// Polls until `get` yields for every handle.
async fn collect<T>(
    fake: &FakeDiscord,
    handles: &[InteractionHandle],
    timeout: Duration,
    mut get: impl FnMut(&FakeDiscord, &InteractionHandle) -> Option<T>,
) -> Vec<T> {
    let deadline = Instant::now() + timeout;
    loop {
        let got: Vec<Option<T>> = handles.iter().map(|h| get(fake, h)).collect();
        if got.iter().all(Option::is_some) {
            return got.into_iter().map(Option::unwrap).collect();
        }
        let missing = got.iter().filter(|g| g.is_none()).count();
        assert!(Instant::now() < deadline, "{missing} of {} still unanswered after {timeout:?}", handles.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn report(what: &str, mut v: Vec<Duration>) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let over = v.iter().filter(|d| **d >= ACK_LIMIT).count();
    println!(
        "{what:<44} n={:<5} p50 {:>7.1} ms  p90 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  ≥3 s: {over}",
        v.len(),
        ms(percentile(&v, 50.0)),
        ms(percentile(&v, 90.0)),
        ms(percentile(&v, 99.0)),
        ms(*v.last().unwrap())
    );
}

/// Submits `n` answers from members `first..first+n` in `bursts` bursts spread
/// over `spread`; returns each callback's latency after checking it confirms.
async fn submits(
    fake: &FakeDiscord,
    checkin: CheckInId,
    first: u64,
    n: u64,
    bursts: u64,
    spread: Duration,
) -> Vec<Duration> {
    let started = Instant::now();
    let mut handles = Vec::new();
    for b in 0..bursts {
        tokio::time::sleep_until((started + spread * b as u32 / bursts as u32).into()).await;
        for i in 0..n / bursts {
            let user = first + b * (n / bursts) + i;
            let text = format!("member {user}: wrote the migration plan and ran the review with the platform team");
            handles.push(fake.modal_submit(
                &Actor::in_guild(GUILD, CHANNEL, user),
                &answer_id(checkin),
                &[("answer", &text), ("confidence", "4")],
            ));
        }
    }
    let responses = collect(fake, &handles, Duration::from_secs(120), |f, h| f.interaction_response(h)).await;
    for r in &responses {
        assert_eq!(r.data["embeds"][0]["title"], "Answer saved", "{r:?}");
    }
    responses.iter().map(|r| r.elapsed).collect()
}

/// Prints VmRSS and the peak VmHWM of `pid`.
fn memory(pid: u32, when: &str) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let mb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key)?.trim().strip_suffix(" kB")?.trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    println!("  memory {when}: RSS {:.1} MB, peak {:.1} MB", mb("VmRSS:"), mb("VmHWM:"));
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let db = TempDb::new();
        let (cohort, checkin) = seed_open_checkin(&db).await;
        let fake = process::fake().await;
        let mut bot = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[]);
        wait_identified(&fake, 1, Duration::from_secs(20)).await;
        println!("binary: {BIN}");

        let lat = submits(&fake, checkin, USER0, 1000, 20, Duration::from_millis(9500)).await;
        report("1,000 answers within 10 s: confirmation", lat);
        memory(bot.pid, "after the answers");

        let started = Instant::now();
        let handles: Vec<InteractionHandle> = (0..200)
            .map(|i| fake.slash_command(Actor::in_guild(GUILD, CHANNEL, USER0 + i * 5).command("progress")))
            .collect();
        let acks = collect(&fake, &handles, Duration::from_secs(60), |f, h| f.interaction_response(h)).await;
        let answered = collect(&fake, &handles, Duration::from_secs(120), |f, h| {
            let r = f.interaction_response(h)?;
            let delivered = r.at.checked_sub(r.elapsed)?;
            let answer = match r.kind {
                5 => f.followups(h).into_iter().next()?,
                _ => f.original_response(h)?,
            };
            assert!(!answer.embeds.is_empty(), "a progress embed: {answer:?}");
            Some(answer.updated_at.duration_since(delivered))
        })
        .await;
        report("200 /progress in one burst: deferral", acks.iter().map(|r| r.elapsed).collect());
        report("200 /progress in one burst: answer", answered);
        println!("  (burst answered in {:.2} s)", started.elapsed().as_secs_f64());
        memory(bot.pid, "after /progress");

        let lat = submits(&fake, checkin, USER0 + 10_000, 1000, 1, Duration::ZERO).await;
        report("stress: 1,000 answers at once: confirmation", lat);

        memory(bot.pid, "after the stress");
        let store = db.store().await;
        assert_eq!(store.replies_of_cohort(cohort).await.unwrap().len(), 2000, "every confirmed answer stored");
        bot.sigterm();
        assert!(bot.wait(Duration::from_secs(10)).await.expect("stops").success());
    });
}
