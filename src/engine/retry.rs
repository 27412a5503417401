//! Back-off for temporary failures (Discord's 5xx, timeouts, connection
//! errors): each failure of the same send doubles the wait before the next
//! try, up to a cap, so an outage of days costs a few hundred requests, not
//! one every few seconds. Permanent refusals are not retried at all (see
//! `scheduler.rs`).
//!
//! The state is in memory: after a restart every pending send is tried once
//! at once, which is what a restart should do.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use crate::domain::{CheckInId, UserId};

/// How temporary failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failure; it doubles with each further one.
    pub first: StdDuration,
    /// The longest wait between two tries.
    pub cap: StdDuration,
    /// Tries of a DM that answers a member's DM before it is given up (the
    /// answer itself is saved either way).
    pub dm_reply_attempts: u32,
}

impl Default for RetryPolicy {
    /// 10 s, 20 s, 40 s, … up to 15 minutes; a DM reply is tried 6 times
    /// (given up about 5 minutes after the first try).
    fn default() -> Self {
        RetryPolicy { first: StdDuration::from_secs(10), cap: StdDuration::from_secs(15 * 60), dm_reply_attempts: 6 }
    }
}

impl RetryPolicy {
    /// The wait after `failures` failures in a row (1 = the first).
    pub fn delay(&self, failures: u32) -> StdDuration {
        let doublings = failures.saturating_sub(1).min(32);
        self.first.saturating_mul(2u32.saturating_pow(doublings)).min(self.cap)
    }
}

/// A send the scheduler retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RetryKey {
    /// A check-in's post in its cohort's channel.
    Post(CheckInId),
    /// The digest of a closed check-in.
    Digest(CheckInId),
    /// A member's reminder for a check-in.
    Reminder(CheckInId, UserId),
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    failures: u32,
    next_at: DateTime<Utc>,
}

/// Sends that failed for now, and when each may be tried again.
#[derive(Debug, Default)]
pub(crate) struct Retries {
    policy: RetryPolicy,
    pending: HashMap<RetryKey, Pending>,
}

/// An entry due longer ago than this was not tried again because nothing
/// needs it any more (the member answered, the check-in closed): dropped.
const STALE: Duration = Duration::days(1);

impl Retries {
    pub(crate) fn policy(&self) -> RetryPolicy {
        self.policy
    }

    #[cfg(any(test, feature = "test-util"))]
    pub(crate) fn set_policy(&mut self, policy: RetryPolicy) {
        self.policy = policy;
    }

    /// Whether `key` may be tried at `now` (never failed, or its wait is over).
    pub(crate) fn is_due(&self, key: RetryKey, now: DateTime<Utc>) -> bool {
        self.pending.get(&key).is_none_or(|p| p.next_at <= now)
    }

    /// Note a temporary failure at `now`; returns the failures in a row and
    /// when the next try is due.
    pub(crate) fn failed(&mut self, key: RetryKey, now: DateTime<Utc>) -> (u32, DateTime<Utc>) {
        let failures = self.pending.get(&key).map_or(1, |p| p.failures + 1);
        let wait = Duration::from_std(self.policy.delay(failures)).unwrap_or(Duration::MAX);
        let next_at = now.checked_add_signed(wait).unwrap_or(DateTime::<Utc>::MAX_UTC);
        self.pending.insert(key, Pending { failures, next_at });
        (failures, next_at)
    }

    /// The send went through, or will never be tried again.
    pub(crate) fn done(&mut self, key: RetryKey) {
        self.pending.remove(&key);
    }

    /// The earliest try still ahead of `now`, for the scheduler's plan. A
    /// try already due was made by the tick just before, or is not needed.
    pub(crate) fn next_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.pending.values().map(|p| p.next_at).filter(|t| *t > now).min()
    }

    /// Drop entries nothing has tried for a day.
    pub(crate) fn prune(&mut self, now: DateTime<Utc>) {
        self.pending.retain(|_, p| p.next_at > now - STALE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_from_ten_seconds_up_to_fifteen_minutes() {
        let p = RetryPolicy::default();
        let secs: Vec<u64> = (1..=9).map(|n| p.delay(n).as_secs()).collect();
        assert_eq!(secs, [10, 20, 40, 80, 160, 320, 640, 900, 900]);
        assert_eq!(p.delay(u32::MAX), p.cap);
    }

    #[test]
    fn a_failed_send_waits_and_a_success_forgets_it() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut r = Retries::default();
        let key = RetryKey::Post(CheckInId::new(1));
        assert!(r.is_due(key, t0));
        assert_eq!(r.failed(key, t0), (1, t0 + Duration::seconds(10)));
        assert!(!r.is_due(key, t0 + Duration::seconds(9)));
        assert!(r.is_due(key, t0 + Duration::seconds(10)));
        assert_eq!(r.next_after(t0), Some(t0 + Duration::seconds(10)));
        assert_eq!(r.failed(key, t0 + Duration::seconds(10)), (2, t0 + Duration::seconds(30)));
        r.done(key);
        assert!(r.is_due(key, t0));
        assert_eq!(r.next_after(t0), None);
    }

    #[test]
    fn entries_nothing_needs_are_pruned_and_never_plan_a_wake() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut r = Retries::default();
        let key = RetryKey::Reminder(CheckInId::new(1), UserId::new(2));
        r.failed(key, t0);
        assert_eq!(r.next_after(t0 + Duration::seconds(11)), None, "due already: no wake for it");
        r.prune(t0 + Duration::days(2));
        assert!(r.pending.is_empty());
    }
}
