//! The in-process integration tests, one module per suite, in one binary:
//! each test binary links serenity, poise, sqlx and plotters, and linking
//! eighteen of them was most of a `cargo test`. Run one suite with
//! `cargo test --test it engine::`.
//!
//! Suites that start the `trellis` binary as a child process are in
//! `tests/process`. Shared support is the `trellis-testkit` crate
//! (`tests/testkit`) and the fake Discord is `fake-discord` (`tests/fake-discord`).

mod access;
mod config;
mod delivery;
mod desk;
mod desk_browser;
mod digest;
mod dm_answers;
mod e2e;
mod e2e_access;
mod e2e_digest;
mod e2e_dm;
mod e2e_field;
mod e2e_guilds;
mod e2e_heal;
mod e2e_hostile;
mod e2e_mentoring;
mod e2e_refusals;
mod e2e_sessions;
mod e2e_shards;
mod e2e_summary;
mod engine;
mod field;
mod fuzz;
mod guilds;
mod hostile_input;
mod instances;
mod mentoring;
mod migrate_to;
mod require_postgres;
mod shared_schedule;
mod storage_failures;
mod store;
mod summary;
mod throughput;
