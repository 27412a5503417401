//! Which process serves which gateway shards: the slot a `trellis run` holds
//! and the record of the process holding it.

use std::fmt;

use chrono::{DateTime, Utc};

/// The gateway shards one `trellis run` serves: `first..=last` of `total`.
/// Two processes must never serve the same slot on one database, or every
/// event of those shards would be handled twice. Today a process serves all
/// shards of a one-shard bot, [`Slot::ALL`]; a process per shard range gets
/// its own slot (and a later check that ranges do not overlap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Slot {
    first: u32,
    last: u32,
    total: u32,
}

impl Slot {
    /// Shard 0 of 1: everything, the only slot today.
    pub const ALL: Slot = Slot { first: 0, last: 0, total: 1 };

    /// Shards `first..=last` of `total`; `None` unless `first <= last < total`.
    pub const fn shards(first: u32, last: u32, total: u32) -> Option<Slot> {
        if first <= last && last < total { Some(Slot { first, last, total }) } else { None }
    }
}

/// The key stored in `instances.slot`: `shards FIRST-LAST/TOTAL`, e.g.
/// `shards 0-0/1`.
impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shards {}-{}/{}", self.first, self.last, self.total)
    }
}

/// The process holding a slot, as its lease row records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Unique per run: only this run renews or releases the lease.
    pub holder: String,
    /// The host name, for people.
    pub host: String,
    /// Names the host and process namespace in which `pid` can be checked;
    /// empty when that cannot be known (then only the heartbeat counts).
    pub host_key: String,
    pub pid: u32,
    pub started_at: DateTime<Utc>,
    /// Last renewal; the lease is stale once it is older than the lease time.
    pub heartbeat_at: DateTime<Utc>,
}

impl Instance {
    /// Whether the holder has not renewed for `lease` or longer at `now`.
    pub fn is_stale(&self, now: DateTime<Utc>, lease: chrono::Duration) -> bool {
        self.heartbeat_at <= now - lease
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_a_shard_range_written_as_its_key() {
        assert_eq!(Slot::ALL.to_string(), "shards 0-0/1");
        assert_eq!(Slot::shards(2, 5, 8).unwrap().to_string(), "shards 2-5/8");
        assert_eq!(Slot::shards(0, 0, 1), Some(Slot::ALL));
        assert_eq!(Slot::shards(3, 2, 8), None);
        assert_eq!(Slot::shards(0, 8, 8), None);
        assert_eq!(Slot::shards(0, 0, 0), None);
    }

    #[test]
    fn a_lease_is_stale_once_its_heartbeat_is_a_lease_old() {
        let t = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let instance = Instance {
            holder: "h".into(),
            host: "box".into(),
            host_key: String::new(),
            pid: 7,
            started_at: t,
            heartbeat_at: t,
        };
        let lease = chrono::Duration::seconds(30);
        assert!(!instance.is_stale(t + chrono::Duration::seconds(29), lease));
        assert!(instance.is_stale(t + chrono::Duration::seconds(30), lease));
        // A heartbeat "from the future" (clock skew) is not stale.
        assert!(!instance.is_stale(t - chrono::Duration::seconds(5), lease));
    }
}
