//! Test support shared by the end-to-end tests.
#![allow(dead_code, unused_imports)]

pub mod bot;
pub mod fake_discord;
