//! The instance lease on a real database file: who may take a slot, and
//! that two takers racing for a free one cannot both win.

use std::process::Command;

use chrono::{DateTime, Duration, Utc};
use trellis::domain::{Instance, Slot};
use trellis::instance::{Lease, LeaseError, ThisProcess};
use trellis_testkit::{Backend, TempDb, on_both_backends, utc};

const NOW: &str = "2027-03-01T12:00:00Z";

fn me() -> ThisProcess {
    ThisProcess::detect()
}

/// A lease row as another process would have left it.
fn holder(host_key: &str, pid: u32, heartbeat_at: DateTime<Utc>) -> Instance {
    Instance {
        holder: format!("{host_key}/{pid}/1"),
        host: "box".into(),
        host_key: host_key.into(),
        pid,
        started_at: heartbeat_at - Duration::hours(1),
        heartbeat_at,
    }
}

async fn a_free_slot_is_taken_and_a_live_holder_keeps_it(backend: Backend) {
    let db = TempDb::on(backend).await;
    let store = db.store().await;
    let now = utc(NOW);
    let first = Lease::take(&store, &db.url, Slot::ALL, &me(), now).await.expect("free");
    assert_eq!(store.instance(Slot::ALL).await.unwrap().as_ref(), Some(first.holder()));

    // A second taker on the same host: the holder (this very process) lives.
    let refused = Lease::take(&store, &db.url, Slot::ALL, &me(), now + Duration::seconds(29)).await.unwrap_err();
    let LeaseError::Held { holder, .. } = &refused else { panic!("{refused}") };
    assert_eq!(holder, first.holder());
    let line = refused.to_string();
    assert!(line.contains(&db.url) && line.contains(&format!("pid {}", std::process::id())), "{line}");
    assert!(!line.contains('\n'));

    // Another slot (a later shard range) is independent.
    let other = Slot::shards(0, 0, 2).unwrap();
    Lease::take(&store, &db.url, other, &me(), now).await.expect("another slot");

    // Renewed, released, free again.
    first.renew(now + Duration::seconds(5)).await.unwrap();
    first.release().await;
    assert_eq!(store.instance(Slot::ALL).await.unwrap(), None);
    Lease::take(&store, &db.url, Slot::ALL, &me(), now).await.expect("free again");
}
on_both_backends!(a_free_slot_is_taken_and_a_live_holder_keeps_it);

async fn a_stale_or_dead_holder_is_taken_over_but_a_live_one_elsewhere_is_not(backend: Backend) {
    let db = TempDb::on(backend).await;
    let store = db.store().await;
    let now = utc(NOW);
    let here = me();
    assert!(!here.host_key.is_empty(), "Linux: the host key is known");

    // Another host, renewed 29 s ago: held. 30 s ago: stale.
    assert!(store.insert_instance(Slot::ALL, &holder("elsewhere", 1, now - Duration::seconds(29))).await.unwrap());
    assert!(matches!(Lease::take(&store, &db.url, Slot::ALL, &here, now).await, Err(LeaseError::Held { .. })));
    let lease = Lease::take(&store, &db.url, Slot::ALL, &here, now + Duration::seconds(1)).await.expect("stale");
    lease.release().await;

    // This host, a process that has exited (reaped): taken over at once.
    let mut exited = Command::new("true").spawn().unwrap();
    let dead_pid = exited.id();
    exited.wait().unwrap();
    assert!(store.insert_instance(Slot::ALL, &holder(&here.host_key, dead_pid, now)).await.unwrap());
    let lease = Lease::take(&store, &db.url, Slot::ALL, &here, now).await.expect("its process is gone");
    lease.release().await;

    // This host, a process that died but was not reaped (a zombie): gone too.
    let mut zombie = Command::new("sleep").arg("30").spawn().unwrap();
    zombie.kill().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(store.insert_instance(Slot::ALL, &holder(&here.host_key, zombie.id(), now)).await.unwrap());
    let lease = Lease::take(&store, &db.url, Slot::ALL, &here, now).await.expect("a zombie is gone");
    lease.release().await;
    zombie.wait().unwrap();

    // This host, a live process: held until its heartbeat is stale.
    let mut alive = Command::new("sleep").arg("30").spawn().unwrap();
    assert!(store.insert_instance(Slot::ALL, &holder(&here.host_key, alive.id(), now)).await.unwrap());
    assert!(matches!(Lease::take(&store, &db.url, Slot::ALL, &here, now).await, Err(LeaseError::Held { .. })));
    alive.kill().unwrap();
    alive.wait().unwrap();

    // The same pid under another host key says nothing about that process.
    store.release_instance(Slot::ALL, &holder(&here.host_key, alive.id(), now).holder).await.unwrap();
    assert!(store.insert_instance(Slot::ALL, &holder("elsewhere", dead_pid, now)).await.unwrap());
    assert!(matches!(Lease::take(&store, &db.url, Slot::ALL, &here, now).await, Err(LeaseError::Held { .. })));
}
on_both_backends!(a_stale_or_dead_holder_is_taken_over_but_a_live_one_elsewhere_is_not);

async fn a_holder_whose_lease_was_taken_over_finds_out_at_its_next_renewal(backend: Backend) {
    let db = TempDb::on(backend).await;
    let store = db.store().await;
    let now = utc(NOW);
    let lease = Lease::take(&store, &db.url, Slot::ALL, &me(), now).await.unwrap();
    // Frozen for 31 s; another host takes the stale lease over.
    let taker = ThisProcess { host: "other-host".into(), host_key: "elsewhere".into(), pid: 7 };
    Lease::take(&store, &db.url, Slot::ALL, &taker, now + Duration::seconds(31)).await.expect("stale");
    let lost = lease.renew(now + Duration::seconds(32)).await.unwrap_err();
    let LeaseError::Lost { by: Some(by), .. } = &lost else { panic!("{lost}") };
    assert_eq!((by.host.as_str(), by.pid), ("other-host", 7));
    assert!(lost.to_string().contains("host other-host, pid 7"), "{lost}");
    // Its release leaves the new holder alone.
    lease.release().await;
    assert_eq!(store.instance(Slot::ALL).await.unwrap().map(|i| i.pid), Some(7));
}
on_both_backends!(a_holder_whose_lease_was_taken_over_finds_out_at_its_next_renewal);

async fn takers_racing_for_a_free_slot_on_separate_connections_have_one_winner(backend: Backend) {
    let db = TempDb::on(backend).await;
    db.store().await;
    let now = utc(NOW);
    for round in 0..20 {
        let stores = [db.connect().await, db.connect().await, db.connect().await, db.connect().await];
        let takers = stores.iter().cloned().enumerate().map(|(i, store)| {
            let process = ThisProcess { host: format!("host-{i}"), host_key: format!("key-{i}"), pid: 100 + i as u32 };
            let url = db.url.clone();
            async move { Lease::take(&store, &url, Slot::ALL, &process, now).await }
        });
        let results = futures_join_all(takers).await;
        let winners: Vec<&Lease> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        for r in &results {
            if let Err(e) = r {
                assert!(matches!(e, LeaseError::Held { .. }), "round {round}: {e}");
            }
        }
        let held = stores[0].instance(Slot::ALL).await.unwrap().unwrap();
        assert_eq!(&held, winners[0].holder());
        winners[0].release().await;
        for s in &stores {
            s.close().await;
        }
    }
}
on_both_backends!(
    takers_racing_for_a_free_slot_on_separate_connections_have_one_winner,
    (flavor = "multi_thread", worker_threads = 2)
);

/// Runs the futures concurrently (each on its own task) and collects their results in order.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}
