//! The Discord edge: poise commands, buttons, modals, DMs. It only translates:
//! an interaction becomes a [`Viewer`](crate::domain::Viewer) and one engine
//! call, the result becomes a message. Rules live in the engine; this module
//! never touches the store.
//!
//! One direction, no circles (`scripts/import-cycles.py`):
//! [`handlers`] (grouped by what they answer) → [`forms`], [`context`] →
//! [`render`] (one file per surface, helpers in its `mod.rs`) →
//! [`custom_id`] and [`ids`] (every custom_id and id conversion, in one
//! place each). [`chat`] is the engine's way out to Discord ([`ratelimit`]
//! under it); [`connect`] and [`panics`] stand apart.

pub mod chat;
pub mod connect;
pub mod context;
pub mod custom_id;
pub mod forms;
mod handlers;
pub mod ids;
pub(crate) mod panics;
pub mod ratelimit;
pub mod render;

pub use chat::DiscordChat;
pub use context::{Context, Data, Error, viewer_of};
pub use handlers::{event_span, framework, intents};
pub use ratelimit::{ChatHttp, RateLimiter};
pub use render::{reply_for, user_error_text};
