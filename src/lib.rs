//! Trellis: a Discord bot that runs a Senior-to-Staff mentoring cohort.
//!
//! The domain, schedule, engine and store know nothing of Discord; the
//! `discord` module translates between them and the platform.

pub mod config;
pub mod domain;
pub mod schedule;
pub mod store;
