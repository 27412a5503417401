//! The instance lease on a real database file: who may take a slot, and
//! that two takers racing for a free one cannot both win; per shard, with
//! shard ranges: overlapping ranges and other totals refused, disjoint
//! ranges side by side, a dead process's shards taken over one by one.

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

    // Another split of the bot is refused as well: shard 0 of 2 would get
    // events shard 0 of 1 already gets. (Before shard ranges, another slot
    // was independent.)
    let other = Slot::shards(0, 0, 2).unwrap();
    let refused = Lease::take(&store, &db.url, other, &me(), now).await.unwrap_err();
    assert!(
        matches!(&refused, LeaseError::OtherTotal { total: 2, holder, .. } if holder == first.holder()),
        "{refused}"
    );

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

fn range(first: u32, last: u32) -> Slot {
    Slot::shards(first, last, 4).unwrap()
}

/// Another process, as far as the lease can tell: another host, so only
/// its heartbeat counts.
fn elsewhere(n: u32) -> ThisProcess {
    ThisProcess { host: format!("host-{n}"), host_key: format!("key-{n}"), pid: 1000 + n }
}

/// The lease rows of `shards`, by holder pid (`None` for a free shard).
async fn pids(store: &trellis::store::Store, shards: Slot) -> Vec<Option<u32>> {
    let mut out = Vec::new();
    for shard in shards.each_shard() {
        out.push(store.instance(shard).await.unwrap().map(|i| i.pid));
    }
    out
}

async fn disjoint_ranges_run_side_by_side_and_an_overlapping_one_is_refused_taking_nothing(backend: Backend) {
    let db = TempDb::on(backend).await;
    let store = db.store().await;
    let now = utc(NOW);
    let low = Lease::take(&store, &db.url, range(0, 1), &elsewhere(1), now).await.expect("0-1 of 4");
    let high = Lease::take(&store, &db.url, range(2, 3), &elsewhere(2), now).await.expect("2-3 of 4, disjoint");
    assert_eq!(pids(&store, range(0, 3)).await, [Some(1001), Some(1001), Some(1002), Some(1002)], "a row per shard");

    // Shards 1-2 overlap both: refused, naming the first shard in the way.
    let refused = Lease::take(&store, &db.url, range(1, 2), &elsewhere(3), now).await.unwrap_err();
    let LeaseError::Held { slot, holder, .. } = &refused else { panic!("{refused}") };
    assert_eq!((slot.to_string(), holder.pid), ("shards 1-1/4".to_string(), 1001));
    let line = refused.to_string();
    assert!(line.contains("(shards 1-1/4) on host host-1, pid 1001, running since"), "{line}");
    assert!(!line.contains('\n'), "{line}");
    // One shard in the way is enough: 3 alone is held too.
    assert!(matches!(
        Lease::take(&store, &db.url, range(3, 3), &elsewhere(3), now).await,
        Err(LeaseError::Held { .. })
    ));
    assert_eq!(pids(&store, range(0, 3)).await, [Some(1001), Some(1001), Some(1002), Some(1002)], "nothing taken");

    // Each renews and releases its own rows only.
    low.renew(now + Duration::seconds(5)).await.unwrap();
    high.release().await;
    assert_eq!(pids(&store, range(0, 3)).await, [Some(1001), Some(1001), None, None]);
    assert_eq!(store.instance(range(0, 0)).await.unwrap().unwrap().heartbeat_at, now + Duration::seconds(5));
    let again = Lease::take(&store, &db.url, range(2, 3), &elsewhere(3), now).await.expect("released: free");
    assert_eq!(again.slot(), range(2, 3));
    low.release().await;
    again.release().await;
    assert_eq!(pids(&store, range(0, 3)).await, [None, None, None, None], "every row released");
}
on_both_backends!(disjoint_ranges_run_side_by_side_and_an_overlapping_one_is_refused_taking_nothing);

async fn a_process_with_another_total_is_refused_either_way_until_the_other_has_gone(backend: Backend) {
    let db = TempDb::on(backend).await;
    let store = db.store().await;
    let now = utc(NOW);
    let one = Lease::take(&store, &db.url, Slot::ALL, &elsewhere(1), now).await.expect("shard 0 of 1");
    for slot in [range(2, 3), range(0, 3), Slot::shards(1, 1, 2).unwrap()] {
        let refused = Lease::take(&store, &db.url, slot, &elsewhere(2), now).await.unwrap_err();
        let LeaseError::OtherTotal { slot: theirs, total, holder, .. } = &refused else { panic!("{refused}") };
        assert_eq!((*theirs, *total, holder.pid), (Slot::ALL, slot.total(), 1001));
        let line = refused.to_string();
        assert!(line.contains("another shard count (shards 0-0/1) on host host-1, pid 1001"), "{line}");
        assert!(line.contains(&format!("same --total-shards (this one: {total}")), "{line}");
        assert!(!line.contains('\n'), "{line}");
    }
    one.release().await;

    // The other way round: shards 2-3 of 4 keep an unsharded process out.
    let four = Lease::take(&store, &db.url, range(2, 3), &elsewhere(2), now).await.expect("free again");
    let refused = Lease::take(&store, &db.url, Slot::ALL, &elsewhere(1), now).await.unwrap_err();
    assert!(matches!(&refused, LeaseError::OtherTotal { total: 1, .. }), "{refused}");
    // Once they are stale, another total may start (their rows are removed).
    let later = now + Duration::seconds(30);
    let one = Lease::take(&store, &db.url, Slot::ALL, &elsewhere(1), later).await.expect("stale: taken over");
    assert_eq!(pids(&store, range(0, 3)).await, [None, None, None, None], "the stale rows of 4 shards are gone");
    assert!(matches!(four.renew(later).await, Err(LeaseError::Lost { .. })));
    one.release().await;
}
on_both_backends!(a_process_with_another_total_is_refused_either_way_until_the_other_has_gone);

async fn a_dead_process_s_shards_are_taken_over_after_its_lease_and_the_live_one_keeps_its_own(backend: Backend) {
    let db = TempDb::on(backend).await;
    let store = db.store().await;
    let now = utc(NOW);
    let dying = Lease::take(&store, &db.url, range(0, 1), &elsewhere(1), now).await.unwrap();
    let living = Lease::take(&store, &db.url, range(2, 3), &elsewhere(2), now).await.unwrap();

    // 29 s after the dying one's last heartbeat its shards are still held;
    // the living one renews meanwhile.
    living.renew(now + Duration::seconds(25)).await.unwrap();
    let early = Lease::take(&store, &db.url, range(0, 1), &elsewhere(3), now + Duration::seconds(29)).await;
    assert!(matches!(early, Err(LeaseError::Held { .. })), "{early:?}");

    // At 30 s they are stale: a process claiming them takes them over, but
    // one claiming shards 1-2 is still refused by the living one's shard 2.
    let at = now + Duration::seconds(30);
    let refused = Lease::take(&store, &db.url, range(1, 2), &elsewhere(3), at).await.unwrap_err();
    assert!(matches!(&refused, LeaseError::Held { holder, .. } if holder.pid == 1002), "{refused}");
    assert_eq!(pids(&store, range(0, 3)).await, [Some(1001), Some(1001), Some(1002), Some(1002)], "nothing taken");
    let _successor = Lease::take(&store, &db.url, range(0, 1), &elsewhere(3), at).await.expect("stale shards");
    assert_eq!(pids(&store, range(0, 3)).await, [Some(1003), Some(1003), Some(1002), Some(1002)]);

    // The dying one, had it only been frozen, finds out at its next renewal.
    let lost = dying.renew(at + Duration::seconds(1)).await.unwrap_err();
    let LeaseError::Lost { slot, by: Some(by), .. } = &lost else { panic!("{lost}") };
    assert_eq!((slot.to_string(), by.pid), ("shards 0-0/4".to_string(), 1003));
    assert!(lost.to_string().contains("took over shards 0-0/4") && lost.to_string().contains("pid 1003"), "{lost}");
    dying.release().await;
    living.renew(at + Duration::seconds(1)).await.expect("untouched");
    assert_eq!(pids(&store, range(0, 3)).await, [Some(1003), Some(1003), Some(1002), Some(1002)]);
}
on_both_backends!(a_dead_process_s_shards_are_taken_over_after_its_lease_and_the_live_one_keeps_its_own);

async fn takers_of_overlapping_ranges_and_other_totals_racing_on_separate_connections_never_conflict(backend: Backend) {
    let db = TempDb::on(backend).await;
    db.store().await;
    let now = utc(NOW);
    let slots = [Slot::ALL, range(0, 1), range(2, 3), range(1, 2), range(0, 3), Slot::shards(0, 1, 2).unwrap()];
    let mut seen = std::collections::BTreeSet::new();
    for round in 0..20 {
        let mut stores = Vec::new();
        for _ in &slots {
            stores.push(db.connect().await);
        }
        // Each round in another order, so every slot sometimes goes first.
        let order: Vec<usize> = (0..slots.len()).map(|i| (i + round) % slots.len()).collect();
        let takers = order.iter().map(|&i| {
            let (store, slot, url) = (stores[i].clone(), slots[i], db.url.clone());
            async move { (slot, Lease::take(&store, &url, slot, &elsewhere(i as u32), now).await) }
        });
        let results = futures_join_all(takers).await;
        let winners: Vec<(Slot, &Lease)> =
            results.iter().filter_map(|(s, r)| r.as_ref().ok().map(|l| (*s, l))).collect();
        assert!(!winners.is_empty(), "round {round}: {results:?}");
        for (i, (a, _)) in winners.iter().enumerate() {
            for (b, _) in &winners[i + 1..] {
                assert!(!a.conflicts_with(*b), "round {round}: both {a} and {b} won");
            }
        }
        for (slot, r) in &results {
            if let Err(e) = r {
                assert!(
                    matches!(e, LeaseError::Held { .. } | LeaseError::OtherTotal { .. }),
                    "round {round} {slot}: {e}"
                );
            }
        }
        seen.insert(winners.iter().map(|(s, _)| s.to_string()).collect::<Vec<_>>().join(" + "));
        for (_, lease) in &winners {
            lease.release().await;
        }
        for s in &stores {
            s.close().await;
        }
    }
    println!("winners over 20 rounds: {seen:?}");
    assert!(seen.len() > 1, "the order of arrival decided: {seen:?}");
}
on_both_backends!(
    takers_of_overlapping_ranges_and_other_totals_racing_on_separate_connections_never_conflict,
    (flavor = "multi_thread", worker_threads = 2)
);
