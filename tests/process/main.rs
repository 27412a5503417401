//! The suites that run the real `trellis` binary as a child process, one
//! module per suite, in their own test binary so that they do not share the
//! CPU with the in-process suites of `tests/it` (cargo runs test binaries one
//! after the other). Run one suite with `cargo test --test process durability::`.
//!
//! They time kills, confirmations and lock timeouts in real time. When each
//! suite was its own binary, no two suites ran at once; [`suite`] keeps it
//! that way inside this binary, while the tests of one suite still run side
//! by side as before.

mod cli;
mod desk;
mod durability;
mod e2e_binary;
mod export;
mod field;
mod heal;
mod instances;
mod load;
mod operations;
mod postgres;
mod secrets;
mod shards;
mod storage;

use std::sync::{Condvar, Mutex};

/// The suite whose tests are running, and how many of them.
static RUNNING: Mutex<(&str, usize)> = Mutex::new(("", 0));
static CHANGED: Condvar = Condvar::new();

/// Held by a running test of suite `name` (its `module_path!()`).
pub struct SuiteGuard(&'static str);

/// Waits until no test of another suite runs, then counts this one in until
/// the guard drops. Take it first thing in every test of this binary.
pub fn suite(name: &'static str) -> SuiteGuard {
    let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    while running.1 > 0 && running.0 != name {
        running = CHANGED.wait(running).unwrap_or_else(|e| e.into_inner());
    }
    *running = (name, running.1 + 1);
    SuiteGuard(name)
}

impl Drop for SuiteGuard {
    fn drop(&mut self) {
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        debug_assert_eq!(running.0, self.0);
        running.1 -= 1;
        CHANGED.notify_all();
    }
}
