//! The desk: a small server-rendered web app beside the Discord edge, in
//! the same process, over the same engine. Like `discord/`, it only
//! translates: a request becomes a [`DeskGrant`](crate::domain::DeskGrant)
//! (from the session cookie) and one engine call, and the result a page
//! ([`views`]). The engine decides who may see what.
//!
//! - [`session`]: the session cookie, the per-session form token, the
//!   Origin check, the sign-in rate limit;
//! - [`pages`]: the handlers, one per route;
//! - [`views`]: the page models and their templates (`templates/desk/`),
//!   where askama escapes every value people wrote;
//! - [`chart`]: confidence per track over time, as inline SVG.
//!
//! Every response carries the security headers of [`security_headers`]: a
//! Content-Security-Policy that allows no script at all, no framing, no
//! referrer to other sites, no sniffing, no caching of private pages.

pub mod chart;
pub mod pages;
pub mod session;
mod state;
pub mod views;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use tokio::net::TcpListener;

pub use state::DeskState;

use crate::config::WebSettings;
use crate::engine::Engine;

/// A desk bound to its address, not serving yet.
pub struct Desk {
    listener: TcpListener,
    public_url: String,
    secure: bool,
}

impl Desk {
    /// Bind the desk's address. `None` when it is off, or when the address
    /// cannot be bound: then one line names the address and the variable,
    /// and the bot goes on without the desk.
    pub async fn bind(settings: &WebSettings) -> Option<Desk> {
        let addr = settings.addr?;
        match TcpListener::bind(addr).await {
            Ok(listener) => {
                let bound = listener.local_addr().unwrap_or(addr);
                if settings.public_url.is_none() && bound.ip().is_unspecified() {
                    // A browser cannot open http://0.0.0.0:8080/.
                    tracing::warn!(
                        "the desk listens on every interface ({bound}) but TRELLIS_PUBLIC_URL is not set, so /desk \
                         links name {bound}, which no browser can open; set TRELLIS_PUBLIC_URL (or [web] public_url) \
                         to the address people use"
                    );
                }
                let public_url = settings.public_url.clone().unwrap_or_else(|| format!("http://{bound}"));
                Some(Desk { listener, public_url, secure: settings.is_https() })
            }
            Err(e) => {
                tracing::error!(
                    "the desk cannot listen on {addr} ({e}); set TRELLIS_WEB_ADDR (or [web] addr) to a free \
                     address, or to `off`. The bot runs on without the desk"
                );
                None
            }
        }
    }

    /// The base URL of sign-in links, without a trailing slash.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The address it is bound to.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serve until `stop` resolves; requests in progress then finish.
    pub fn serve(
        self,
        engine: Arc<Engine>,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let state = DeskState {
            engine,
            origin: origin_of(&self.public_url),
            secure: self.secure,
            limiter: Arc::new(session::SignInLimiter::default()),
        };
        let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(self.listener, app).with_graceful_shutdown(stop).await {
                tracing::error!(error = %e, "the desk stopped serving");
            }
        })
    }
}

/// `scheme://host[:port]` of a URL: its origin, as browsers send it.
fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    format!("{scheme}://{host}")
}

/// Every route of the desk.
pub fn router(state: DeskState) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/signin/{token}", get(pages::continue_page))
        .route("/signin", post(pages::sign_in))
        .route("/signout", post(pages::sign_out))
        .route("/cohorts/{cohort}", get(pages::cohort))
        .route("/checkins/{checkin}", get(pages::checkin))
        .route("/cohorts/{cohort}/members/{member}", get(pages::member))
        .route("/cohorts/{cohort}/packet", get(pages::packet))
        .route("/cohorts/{cohort}/packet.md", get(pages::packet_markdown))
        .route("/answers/{answer}/note", post(pages::note))
        .route("/search", get(pages::search))
        .route("/static/desk.css", get(pages::stylesheet))
        .fallback(pages::not_found)
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// The Content-Security-Policy of every page: nothing but the desk's own
/// stylesheet, no script of any kind, forms only to the desk, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
     script-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Headers every response carries.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // Private pages stay out of shared and back-button caches; the
    // stylesheet sets its own.
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_is_scheme_and_host() {
        assert_eq!(origin_of("https://desk.example.org"), "https://desk.example.org");
        assert_eq!(origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(origin_of("https://desk.example.org/"), "https://desk.example.org");
    }
}
