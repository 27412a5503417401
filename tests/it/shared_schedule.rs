//! Scheduled work is not shard-bound (issue 13): every process on a
//! database schedules every cohort, and one learns of cohorts set up,
//! changed or removed through another process by reading them while it
//! sleeps, not only through its own re-plan signal.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use tokio::sync::watch;
use trellis::domain::ChannelId;
use trellis_testkit::{CHANNEL, GUILD, Harness, draft, utc};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cohort_set_up_through_another_process_is_planned_and_posted_by_this_one() {
    let h = Harness::new(utc(START)).await;
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
