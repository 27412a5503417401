//! What every desk handler shares: its own module, so that the pages depend
//! on it and not on the router that serves them.

use std::sync::Arc;

use super::session;
use crate::engine::Engine;

/// What every handler shares.
#[derive(Clone)]
pub struct DeskState {
    pub engine: Arc<Engine>,
    /// `scheme://host[:port]`, what a browser sends as `Origin` for this desk.
    pub origin: String,
    /// The session cookie is Secure (the public URL is https).
    pub secure: bool,
    pub limiter: Arc<session::SignInLimiter>,
}
