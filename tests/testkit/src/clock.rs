//! Clocks for end-to-end tests of dated behaviour (a DST night, a year's
//! end) that still let the bot's scheduler sleep and wake in real time.

use std::time::Instant;

use chrono::{DateTime, Utc};
use trellis::engine::Clock;

/// Reads `start` when created and runs in real time from there.
#[derive(Debug)]
pub struct ShiftedClock {
    start: DateTime<Utc>,
    created: Instant,
}

impl ShiftedClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ShiftedClock { start, created: Instant::now() }
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.created.elapsed()).unwrap_or_default();
        self.start + elapsed
    }
}
