//! Scheduled work is not shard-bound (issue 13): every process on a
//! database schedules every cohort, and one learns of cohorts set up,
//! changed or removed through another process by reading them while it
//! sleeps, not only through its own re-plan signal.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use tokio::sync::watch;
use trellis::domain::ChannelId;
use trellis_testkit::{Backend, CHANNEL, GUILD, Harness, draft, on_both_backends, utc};

const START: &str = "2027-03-01T11:59:00Z";

/// Waits until `check` holds, for at most `within`; returns how long it took.
async fn within(what: &str, within: StdDuration, check: impl Fn() -> bool) -> StdDuration {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    start.elapsed()
}

async fn a_cohort_set_up_through_another_process_is_planned_and_posted_by_this_one(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    // Process B's scheduler runs; with no cohort its plan is a minute away.
    let b = Arc::new(h.another_engine().await);
    let (stop, stopped) = watch::channel(false);
    let scheduler = tokio::spawn({
        let b = b.clone();
        async move { b.run_scheduler(stopped).await }
    });
    tokio::time::sleep(StdDuration::from_millis(300)).await;

    // Through process A (whose own re-plan signal B never sees): a daily
    // cohort at noon, then the clock passes noon. A's scheduler is not
    // running (it died, or B is simply first).
    let cohort = h.engine.setup_cohort(draft("noon", ChannelId::new(CHANNEL), "0 0 12 * * *", "UTC")).await.unwrap();
    assert_eq!(cohort.spec.guild_id.get(), GUILD);
    h.set(utc(START) + Duration::minutes(1) + Duration::seconds(1));
    let took =
        within("B posts the cohort's first check-in", StdDuration::from_secs(15), || h.chat.posts().len() == 1).await;
    println!("posted by the other process {took:?} after the cohort was set up");
    assert!(took < StdDuration::from_secs(12), "within one poll (10 s): {took:?}");

    let _ = stop.send(true);
    scheduler.await.unwrap();
}
on_both_backends!(
    a_cohort_set_up_through_another_process_is_planned_and_posted_by_this_one,
    (flavor = "multi_thread", worker_threads = 2)
);

/// The README's example starts two processes at once with one config file:
/// both sync its cohorts at start, and the one that loses the race to
/// insert a new cohort must update it instead of failing to start.
async fn processes_starting_together_with_one_config_file_both_sync_its_cohorts(backend: Backend) {
    let h = Harness::on(backend, utc(START)).await;
    let (a, b) = (Arc::new(h.another_engine().await), Arc::new(h.another_engine().await));
    for round in 0..30 {
        let channel = ChannelId::new(CHANNEL + 1000 * round);
        let spec = trellis_testkit::spec(&format!("file-{round}"), channel, "0 0 12 * * *", "UTC");
        let sync = |engine: &Arc<trellis::engine::Engine>| {
            let (engine, specs) = (engine.clone(), vec![spec.clone()]);
            tokio::spawn(async move { engine.sync_file_cohorts(&specs).await })
        };
        let (ra, rb) = (sync(&a), sync(&b));
        let (ra, rb) = (ra.await.unwrap(), rb.await.unwrap());
        let (ca, cb) = (
            ra.unwrap_or_else(|e| panic!("round {round}, A: {}", trellis::telemetry::ErrorChain(&e))),
            rb.unwrap_or_else(|e| panic!("round {round}, B: {}", trellis::telemetry::ErrorChain(&e))),
        );
        assert_eq!(ca[0].id, cb[0].id, "round {round}: one cohort");
    }
    let active = h.engine.store().active_cohorts().await.unwrap();
    assert_eq!(active.len(), 1, "the last round's cohort, the earlier ones stopped: {active:?}");
}
on_both_backends!(
    processes_starting_together_with_one_config_file_both_sync_its_cohorts,
    (flavor = "multi_thread", worker_threads = 2)
);
