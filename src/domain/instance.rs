//! Which process serves which gateway shards: the slot a `trellis run` holds
//! and the record of the process holding it.

use std::fmt;

use chrono::{DateTime, Utc};

/// Most shards a bot may be split into here: 1,024 shards serve 2.5
/// million servers (Discord allows 2,500 per shard); a larger number is
/// taken for a typo.
pub const MAX_TOTAL_SHARDS: u32 = 1024;

/// The gateway shards one `trellis run` serves: `first..=last` of `total`.
/// Two processes must never serve the same shard on one database, or every
/// event of that shard would be handled twice; nor may processes on one
/// database split the bot into different totals (shard 0 of 1 and shard 0
/// of 4 both receive the guilds of shard 0 of 4). A process holds one lease
/// row per shard ([`Slot::each_shard`]), keyed by the one-shard slot, so
/// the row's unique key refuses a second holder of a shard. Without
/// `--shards`, a process serves [`Slot::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Slot {
    first: u32,
    last: u32,
    total: u32,
}

/// Why `--shards FIRST-LAST --total-shards N` names no valid range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlotError {
    #[error("--shards and --total-shards go together: give both (e.g. --shards 0-1 --total-shards 4) or neither")]
    Incomplete,
    #[error("--total-shards must be at least 1 (got 0)")]
    NoShards,
    #[error("--total-shards {0} is more than {MAX_TOTAL_SHARDS}, the most Trellis runs")]
    TooMany(u32),
    #[error("--shards {first}-{last}: the first shard must not come after the last")]
    Reversed { first: u32, last: u32 },
    #[error(
        "--shards {first}-{last} with --total-shards {total}: shard {last} does not exist; the shards are numbered \
         0 to {}", .total - 1
    )]
    PastTotal { first: u32, last: u32, total: u32 },
}

impl Slot {
    /// Shard 0 of 1: everything, what a process runs without `--shards`.
    pub const ALL: Slot = Slot { first: 0, last: 0, total: 1 };

    /// Shards `first..=last` of `total`; `None` unless `first <= last < total`.
    pub const fn shards(first: u32, last: u32, total: u32) -> Option<Slot> {
        if first <= last && last < total { Some(Slot { first, last, total }) } else { None }
    }

    /// Shards `first..=last` of `total`, for the command line: also checks
    /// `total` against [`MAX_TOTAL_SHARDS`].
    ///
    /// # Errors
    /// [`SlotError`] saying what is wrong, in the flags' words.
    pub fn checked(first: u32, last: u32, total: u32) -> Result<Slot, SlotError> {
        if total == 0 {
            return Err(SlotError::NoShards);
        }
        if total > MAX_TOTAL_SHARDS {
            return Err(SlotError::TooMany(total));
        }
        if first > last {
            return Err(SlotError::Reversed { first, last });
        }
        Slot::shards(first, last, total).ok_or(SlotError::PastTotal { first, last, total })
    }

    pub const fn first(self) -> u32 {
        self.first
    }

    pub const fn last(self) -> u32 {
        self.last
    }

    pub const fn total(self) -> u32 {
        self.total
    }

    /// Each shard of the range as a slot of its own (`shards 2-2/4`,
    /// `shards 3-3/4`): the keys of the lease rows.
    pub fn each_shard(self) -> impl Iterator<Item = Slot> {
        (self.first..=self.last).map(move |shard| Slot { first: shard, last: shard, total: self.total })
    }

    /// Whether a process on `self` and one on `other` may not run side by
    /// side on one database: they split the bot into different totals, or
    /// share a shard.
    pub fn conflicts_with(self, other: Slot) -> bool {
        self.total != other.total || (self.first <= other.last && other.first <= self.last)
    }

    /// The slot a lease row's key names (see the `Display` impl); `None`
    /// for any other text.
    pub fn from_key(key: &str) -> Option<Slot> {
        let (range, total) = key.strip_prefix("shards ")?.split_once('/')?;
        let (first, last) = range.split_once('-')?;
        Slot::shards(first.parse().ok()?, last.parse().ok()?, total.parse().ok()?)
    }
}

impl Default for Slot {
    fn default() -> Self {
        Slot::ALL
    }
}

/// The key stored in `instances.slot`: `shards FIRST-LAST/TOTAL`, e.g.
/// `shards 0-0/1` (the one row of an unsharded process, the same key as
/// before shard ranges existed) or `shards 2-2/4`.
impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shards {}-{}/{}", self.first, self.last, self.total)
    }
}

/// What to do with a lease row met while taking shards
/// ([`Store::take_shards`](crate::store::Store::take_shards)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseVerdict {
    /// No conflict: another process's shards of the same total.
    Keep,
    /// In the way, but its holder is gone (stale, or its process exited):
    /// delete it.
    Replace,
    /// In the way and alive: take nothing.
    Refuse,
}

/// What taking a process's shard rows came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardClaim {
    /// Every row is the taker's now; `replaced` lists the rows of gone
    /// holders it deleted on the way.
    Taken { replaced: Vec<(Slot, Instance)> },
    /// A live row refused (the first met): nothing was written.
    Refused { slot: Slot, holder: Instance },
    /// A row changed between reading and writing (its holder renewed just
    /// then): nothing was written; decide again.
    Raced,
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
    fn a_slot_splits_into_one_row_key_per_shard_and_reads_back_from_its_key() {
        let slot = Slot::shards(2, 3, 4).unwrap();
        let keys: Vec<String> = slot.each_shard().map(|s| s.to_string()).collect();
        assert_eq!(keys, ["shards 2-2/4", "shards 3-3/4"]);
        assert_eq!(Slot::ALL.each_shard().collect::<Vec<_>>(), [Slot::ALL]);
        for slot in [Slot::ALL, slot, Slot::shards(0, 1023, 1024).unwrap()] {
            assert_eq!(Slot::from_key(&slot.to_string()), Some(slot));
        }
        for bad in ["shards 3-2/4", "shards 0-4/4", "shards 0-0/0", "shard 0/1", "shards 0-0", "lease lock", ""] {
            assert_eq!(Slot::from_key(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn slots_conflict_when_they_share_a_shard_or_split_the_bot_differently() {
        let s = |first, last, total| Slot::shards(first, last, total).unwrap();
        assert!(s(0, 1, 4).conflicts_with(s(1, 2, 4)));
        assert!(s(0, 3, 4).conflicts_with(s(2, 2, 4)));
        assert!(!s(0, 1, 4).conflicts_with(s(2, 3, 4)));
        assert!(!s(3, 3, 4).conflicts_with(s(0, 2, 4)));
        // Another total: always, even where the numbers look disjoint.
        assert!(s(2, 3, 4).conflicts_with(Slot::ALL));
        assert!(s(1, 1, 2).conflicts_with(s(0, 0, 4)));
    }

    #[test]
    fn a_range_from_the_command_line_is_checked_in_the_flags_words() {
        assert_eq!(Slot::checked(2, 3, 4), Ok(Slot::shards(2, 3, 4).unwrap()));
        assert_eq!(Slot::checked(0, 0, 1), Ok(Slot::ALL));
        assert_eq!(Slot::checked(0, 1023, MAX_TOTAL_SHARDS).map(Slot::total), Ok(1024));
        assert_eq!(Slot::checked(0, 0, 0), Err(SlotError::NoShards));
        assert_eq!(Slot::checked(0, 0, 1025), Err(SlotError::TooMany(1025)));
        assert_eq!(Slot::checked(3, 2, 4), Err(SlotError::Reversed { first: 3, last: 2 }));
        let past = Slot::checked(2, 4, 4).unwrap_err();
        assert_eq!(
            past.to_string(),
            "--shards 2-4 with --total-shards 4: shard 4 does not exist; the shards are numbered 0 to 3"
        );
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
