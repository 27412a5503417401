//! Trellis: a Discord bot that runs a Senior-to-Staff mentoring cohort.
//!
//! The domain, schedule, engine and store know nothing of Discord; the
//! `discord` module translates between them and the platform.

pub mod cli;
pub mod config;
pub mod discord;
pub mod domain;
pub mod engine;
pub mod export;
pub mod shutdown;
pub mod startup;
pub mod store;
pub mod summary;
pub mod telemetry;
