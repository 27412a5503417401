//! Trellis: a Discord bot that runs a Senior-to-Staff mentoring cohort.
//!
//! # How it is built
//!
//! Four layers; each arrow points at what a layer may call, never back:
//!
//! ```text
//!  main ─► cli ─► startup ─► discord ─┐            (the edges: Discord in and out,
//!                   │   └────► web ─────┤             and the desk: HTTP in, HTML out)
//!                   │                  ▼
//!                   └──────────────► engine ─► store ─► (SQLite or PostgreSQL)
//!                                      │         │
//!                                      ▼         ▼
//!                                   summary ─► domain
//! ```
//!
//! - [`domain`]: plain types and their parsing: typed ids, cohorts and their
//!   [`Schedule`](domain::Schedule), check-ins, replies, the prompt library,
//!   the [`Viewer`](domain::Viewer) who asks. No I/O; imports nothing else of
//!   Trellis.
//! - [`summary`]: pure calculations over rows: progress, cohort status, the
//!   digest, the packet, the export records, the charts. Each builds a model
//!   first (tested on its own), then writes it section by section.
//! - [`store`]: every SQL statement, one file per table family; returns domain
//!   types and facts (`StoreError`), never prose.
//! - [`engine`]: every rule: who may see and do what, answers, membership,
//!   cohorts, and the scheduler that posts, reminds and digests exactly once.
//!   It reaches chat only through the [`ChatEdge`](engine::ChatEdge) seam and
//!   decides, in one exhaustive match, which errors a user may read; its
//!   errors say what went wrong, never which slash command fixes it.
//! - [`discord`]: the edge. Turns an interaction into a `Viewer` and one engine
//!   call, and the result into a message ([`discord::render`], one file per
//!   surface; an error via [`discord::reply_for`], which adds the slash command
//!   that fixes it); implements `ChatEdge` over serenity. Inside, one direction:
//!   handlers → context and forms → render → custom_id and ids. It never
//!   touches the store.
//! - [`web`]: the second edge, the desk: a browser session becomes a
//!   [`DeskGrant`](domain::DeskGrant) and one engine call, the result a page.
//!   The engine's `desk` methods hold its access rules; it never touches the store.
//! - [`startup`] wires them (used by `main` and by the end-to-end tests alike),
//!   [`instance`] keeps it to one `trellis run` per database (the instance
//!   lease), [`shutdown`] drains in-flight events, [`config`] is the one
//!   place that reads the environment and the TOML file, [`cli`] the commands
//!   of the `trellis` binary, [`export`] the `trellis export` use case,
//!   [`migrate_to`] the `trellis migrate-to` one.

pub mod cli;
pub mod config;
pub mod discord;
pub mod domain;
pub mod engine;
pub mod export;
pub mod instance;
pub mod memory;
pub mod migrate_to;
pub mod private_file;
pub mod shutdown;
pub mod startup;
pub mod store;
pub mod summary;
pub mod telemetry;
pub mod web;
