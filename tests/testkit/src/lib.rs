//! Test support for Trellis, shared by the integration tests (`tests/it`,
//! `tests/process`) and the benches:
//!
//! - [`ids`]: the one set of guild, channel, role and user ids;
//! - [`db`] and [`seed`]: temporary databases (SQLite files, PostgreSQL
//!   databases when `TRELLIS_TEST_POSTGRES_URL` is set; [`on_both_backends!`]
//!   runs a test on each), cohort declarations and rows put straight into a store;
//! - [`every_table`]: a row in every table, and a fingerprint of a database
//!   (for `trellis migrate-to` round trips);
//! - [`harness`] and [`chat`]: the engine on a manual clock with an
//!   in-memory chat platform that fails on request;
//! - [`bot`]: the real bot in this process against the fake Discord;
//! - [`process`]: the real `trellis` binary as a child process;
//! - [`rng`]: a seeded PRNG (kill points, replayable) and percentiles;
//! - [`clock`]: a clock that runs in real time from a chosen instant.
//!
//! It turns on `trellis`'s `test-util` feature, which exposes what only tests
//! need (`ManualClock`, `Store::bulk_*`, inspection queries).

pub mod bot;
pub mod browser;
pub mod chat;
pub mod clock;
pub mod db;
pub mod desk;
pub mod every_table;
pub mod harness;
pub mod ids;
pub mod process;
pub mod rng;
pub mod seed;

pub use chat::{FakeChat, SeenPost};
pub use db::{
    Backend, POSTGRES_ENV, PostgresPlan, REQUIRE_POSTGRES_ENV, Schema, TempDb, pg_pool, postgres_admin_url,
    postgres_enabled, postgres_required, rows_holding, rows_holding_in, schema_of, table_columns, temp_store,
    temp_store_on, url_of,
};
pub use harness::Harness;
pub use ids::*;
pub use process::TrellisProcess;
pub use rng::{Rng, percentile};
pub use seed::{YEARLY, answer_id, draft, seed_cohort, seed_open_checkin, seed_recorded_checkin, spec, utc};
