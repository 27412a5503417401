//! One `trellis run` per shard and database: the instance lease.
//!
//! Two copies of the bot on one database serving the same gateway shard
//! would both receive that shard's events, answer every DM twice and race
//! for every interaction callback. So before it connects to Discord,
//! `trellis run` takes the lease of every shard of its [`Slot`] (one row in
//! `instances` per shard, all in one transaction,
//! [`Store::take_shards`](crate::store::Store::take_shards)) and renews them
//! every [`HEARTBEAT`]. A second process claiming any of those shards finds
//! it held and refuses to start ([`LeaseError::Held`], one line naming the
//! database and the running copy). Processes on one database must also
//! split the bot into the same number of shards: a process whose
//! `--total-shards` differs from a live one's refuses to start
//! ([`LeaseError::OtherTotal`]), since shard 0 of 1 receives every guild,
//! the guilds of shard 0 of 4 among them. Disjoint ranges of one total run
//! side by side (`--shards 0-1 --total-shards 4` and `--shards 2-3
//! --total-shards 4`).
//!
//! A crashed copy cannot release its lease. Each of its shards is taken
//! over (by a process claiming it) when
//!
//! - its heartbeat is [`LEASE`] (30 s) old or older, or
//! - it ran on this host, in this process namespace, and its process is
//!   gone (Linux: no `/proc/PID`, or a zombie): a restart after a crash or
//!   SIGKILL starts at once.
//!
//! A copy that cannot renew for a whole [`LEASE`], or finds any of its
//! shards taken over (it was frozen past the lease, or its database was
//! restored under it), stops rather than handle events another copy is
//! handling too.
//!
//! Times are the machines' wall clocks; copies on different hosts sharing
//! one database should keep them synchronised (NTP): a clock ahead by more
//! than the lease makes a live copy look stale.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;

use crate::domain::{Instance, LeaseVerdict, ShardClaim, Slot};
use crate::store::{Store, StoreError};
use crate::telemetry::ErrorChain;

/// How long a lease lasts without a heartbeat: a crashed copy on another host
/// (or one whose process cannot be checked) locks the next one out for at
/// most this long after its last heartbeat.
pub const LEASE: Duration = Duration::from_secs(30);
/// How often the holder renews its lease: well inside [`LEASE`], so a few
/// failed renewals (a database locked for seconds) do not lose it.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// Why the lease could not be taken or kept.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Another live copy holds a shard of the slot (`slot` is its row).
    #[error(
        "the database {database} is in use by another trellis run ({slot}) on host {}, pid {}, running since {}; \
         stop that one first (if it has crashed, its lock expires at {}, {}s after its last heartbeat)",
        .holder.host,
        .holder.pid,
        .holder.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
        expiry(.holder).format("%H:%M:%S UTC"),
        LEASE.as_secs()
    )]
    Held { database: String, slot: Slot, holder: Instance },
    /// A live copy splits the bot into another number of shards (`slot` is
    /// its row; `total` this process's).
    #[error(
        "the database {database} is in use by a trellis run with another shard count ({slot}) on host {}, pid {}, \
         running since {}; every trellis run on one database needs the same --total-shards (this one: {total}; \
         without the flag: 1), so stop that one first (if it has crashed, its lock expires at {}, {}s after its \
         last heartbeat)",
        .holder.host,
        .holder.pid,
        .holder.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
        expiry(.holder).format("%H:%M:%S UTC"),
        LEASE.as_secs()
    )]
    OtherTotal { database: String, slot: Slot, total: u32, holder: Instance },
    /// Another copy took a shard (`slot`) over while this one ran.
    #[error(
        "another trellis run took over {slot} of the database {database} (host {host}, pid {pid}); \
         this one stops so that no event is handled twice",
        host = .by.as_ref().map_or("?", |i| i.host.as_str()),
        pid = .by.as_ref().map_or_else(|| "?".to_string(), |i| i.pid.to_string()),
    )]
    Lost { database: String, slot: Slot, by: Option<Instance> },
    /// The lease could not be renewed for a whole [`LEASE`]: another copy
    /// may have taken it over meanwhile.
    #[error("could not renew the instance lease of the database {database} for {}s; stopping", LEASE.as_secs())]
    Expired {
        database: String,
        #[source]
        source: StoreError,
    },
    #[error("reading or writing the instance lease")]
    Store(#[from] StoreError),
}

fn lease_span() -> chrono::Duration {
    chrono::Duration::from_std(LEASE).unwrap_or(chrono::Duration::MAX)
}

/// When `holder`'s lease goes stale if it is not renewed.
fn expiry(holder: &Instance) -> DateTime<Utc> {
    holder.heartbeat_at.checked_add_signed(lease_span()).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// This process, as a lease row names it.
#[derive(Debug, Clone)]
pub struct ThisProcess {
    pub host: String,
    pub host_key: String,
    pub pid: u32,
}

impl ThisProcess {
    /// Host name, host key (boot id and pid namespace, Linux only) and pid.
    pub fn detect() -> Self {
        let read = |path: &str| std::fs::read_to_string(path).ok().map(|s| s.trim().to_string());
        let host = read("/proc/sys/kernel/hostname")
            .or_else(|| read("/etc/hostname"))
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown-host".into());
        // The pid of another process means something only in our own pid
        // namespace on the same running kernel; the host name alone is not
        // enough (containers may share one).
        let boot = read("/proc/sys/kernel/random/boot_id");
        let pid_ns = std::fs::read_link("/proc/self/ns/pid").ok().map(|p| p.display().to_string());
        let host_key = match (boot, pid_ns) {
            (Some(boot), Some(ns)) => format!("{host}/{boot}/{ns}"),
            _ => String::new(),
        };
        ThisProcess { host, host_key, pid: std::process::id() }
    }

    /// Whether `holder` certainly no longer runs: it ran here (same host
    /// key) and its pid is gone or a zombie. `false` when unsure.
    pub fn outlived(&self, holder: &Instance) -> bool {
        if self.host_key.is_empty() || holder.host_key != self.host_key || holder.pid == self.pid {
            return false;
        }
        match std::fs::read_to_string(format!("/proc/{}/stat", holder.pid)) {
            // `pid (comm) S …`: the state follows the last `)`.
            Ok(stat) => stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| matches!(rest.trim_start().chars().next(), Some('Z' | 'X'))),
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        }
    }
}

/// The lease this process holds on the shards of a slot of one database.
#[derive(Debug)]
pub struct Lease {
    store: Store,
    slot: Slot,
    database: String,
    me: Instance,
}

impl Lease {
    /// Takes every shard of `slot` in `store` (the database `database`,
    /// named in errors) for `process` at `now`, all or none: each must be
    /// free, stale, or held by a process of this host that is gone; a live
    /// process with another total must not be running either.
    ///
    /// # Errors
    /// [`LeaseError::Held`] when another live copy holds one of the shards,
    /// [`LeaseError::OtherTotal`] when one runs another total; a store error.
    pub async fn take(
        store: &Store,
        database: &str,
        slot: Slot,
        process: &ThisProcess,
        now: DateTime<Utc>,
    ) -> Result<Lease, LeaseError> {
        let me = Instance {
            holder: format!("{}/{}/{}", process.host_key, process.pid, now.timestamp_nanos_opt().unwrap_or_default()),
            host: process.host.clone(),
            host_key: process.host_key.clone(),
            pid: process.pid,
            started_at: now,
            heartbeat_at: now,
        };
        let lease = Lease { store: store.clone(), slot, database: database.to_string(), me };
        let shards: Vec<Slot> = slot.each_shard().collect();
        let judge = |theirs: Slot, holder: &Instance| {
            if !slot.conflicts_with(theirs) {
                LeaseVerdict::Keep
            } else if holder.is_stale(now, lease_span()) || process.outlived(holder) {
                LeaseVerdict::Replace
            } else {
                LeaseVerdict::Refuse
            }
        };
        // A race (a row to replace renewed just then) reads again and
        // decides again; three in a row would mean the table keeps changing.
        for _ in 0..3 {
            match store.take_shards(&shards, &lease.me, judge).await? {
                ShardClaim::Taken { replaced } => {
                    for (slot, holder) in replaced {
                        tracing::warn!(
                            %slot, host = %holder.host, pid = holder.pid, last_heartbeat = %holder.heartbeat_at,
                            "took over the lease of a trellis run that stopped without releasing it"
                        );
                    }
                    return Ok(lease);
                }
                ShardClaim::Refused { slot: theirs, holder } if theirs.total() != slot.total() => {
                    let database = database.to_string();
                    return Err(LeaseError::OtherTotal { database, slot: theirs, total: slot.total(), holder });
                }
                ShardClaim::Refused { slot: theirs, holder } => {
                    return Err(LeaseError::Held { database: database.to_string(), slot: theirs, holder });
                }
                ShardClaim::Raced => {}
            }
        }
        Err(LeaseError::Store(StoreError::Corrupt(format!("the leases of {slot} keep changing"))))
    }

    /// This run, as its lease rows record it.
    pub fn holder(&self) -> &Instance {
        &self.me
    }

    /// The shards this lease holds.
    pub fn slot(&self) -> Slot {
        self.slot
    }

    /// How many rows the lease holds: one per shard.
    fn rows(&self) -> u64 {
        u64::from(self.slot.last() - self.slot.first()) + 1
    }

    /// Renews every shard's row at `now` (one statement).
    ///
    /// # Errors
    /// [`LeaseError::Lost`] naming a shard another copy holds now (or whose
    /// row is gone); a store error (worth retrying at the next heartbeat).
    pub async fn renew(&self, now: DateTime<Utc>) -> Result<(), LeaseError> {
        if self.store.renew_leases(&self.me.holder, now).await? == self.rows() {
            return Ok(());
        }
        for shard in self.slot.each_shard() {
            let by = self.store.instance(shard).await?;
            if by.as_ref().is_none_or(|i| i.holder != self.me.holder) {
                return Err(LeaseError::Lost { database: self.database.clone(), slot: shard, by });
            }
        }
        // Every shard reads as ours again (a row came back between the two
        // reads): renewed at the next heartbeat.
        Ok(())
    }

    /// Gives every shard up (clean shutdown); a failure is logged, and the
    /// rows then expire by themselves.
    pub async fn release(&self) {
        let slot = self.slot;
        match self.store.release_leases(&self.me.holder).await {
            Ok(n) if n == self.rows() => tracing::debug!(%slot, "instance lease released"),
            Ok(n) => {
                tracing::warn!(%slot, released = n, "the instance lease was no longer ours to release (all of it)")
            }
            Err(e) => {
                tracing::warn!(%slot, error = %ErrorChain(&e), "could not release the instance lease; it expires by itself")
            }
        }
    }

    /// Renews every [`HEARTBEAT`] in a task of its own; the task ends only
    /// when the lease is lost or has expired, with the reason.
    pub fn keep(self) -> HeldLease {
        let lease = Arc::new(self);
        let renewing = lease.clone();
        let heartbeat = tokio::spawn(async move {
            let mut last_renewed = tokio::time::Instant::now();
            loop {
                tokio::time::sleep(HEARTBEAT).await;
                match renewing.renew(Utc::now()).await {
                    Ok(()) => last_renewed = tokio::time::Instant::now(),
                    Err(LeaseError::Store(e)) if last_renewed.elapsed() < LEASE => {
                        tracing::warn!(error = %ErrorChain(&e), "could not renew the instance lease; trying again");
                    }
                    Err(LeaseError::Store(source)) => {
                        return LeaseError::Expired { database: renewing.database.clone(), source };
                    }
                    Err(e) => return e,
                }
            }
        });
        HeldLease { lease, heartbeat }
    }
}

/// A lease being renewed in the background; dropping it stops the renewals
/// (the lease then expires), [`HeldLease::release`] gives it up at once.
#[derive(Debug)]
pub struct HeldLease {
    lease: Arc<Lease>,
    heartbeat: JoinHandle<LeaseError>,
}

impl HeldLease {
    /// Resolves when the lease is lost or expired, with the reason.
    pub async fn lost(&mut self) -> LeaseError {
        match (&mut self.heartbeat).await {
            Ok(reason) => reason,
            Err(e) => LeaseError::Store(StoreError::Corrupt(format!("the lease heartbeat failed: {e}"))),
        }
    }

    /// Stops renewing and gives the lease up.
    pub async fn release(self) {
        self.heartbeat.abort();
        self.lease.release().await;
    }
}

impl Drop for HeldLease {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}
