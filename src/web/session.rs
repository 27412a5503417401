//! Sessions on the web side: the cookie that carries the session id, the
//! token every form carries, the Origin check of every POST, and the
//! sign-in rate limit. Whether a session is live, and what it may see, is
//! the engine's (`engine/desk.rs`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};

use crate::domain::DeskGrant;
use crate::domain::desk::SESSION_LIFETIME;
use crate::engine::desk::secret_hash;

/// The session cookie's name.
pub const COOKIE: &str = "trellis_desk";

/// A request's live session: its grant, and the token its forms carry.
#[derive(Debug, Clone)]
pub struct Signed {
    pub grant: DeskGrant,
    /// The session id as the cookie holds it (never logged).
    pub session: String,
    /// The per-session form token (see [`form_token`]).
    pub csrf: String,
}

/// The session id in the request's cookies, if any (the first
/// `trellis_desk=`; an id is 64 hex digits, anything else is ignored).
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The `Set-Cookie` value that holds a new session: HttpOnly, SameSite=Lax
/// (a link from Discord to a desk page keeps the session; every change is
/// a POST, guarded by the form token and the Origin check), Secure when the
/// desk is served over https, and gone after the session's 12 hours.
pub fn set_cookie(session: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}", SESSION_LIFETIME.num_seconds())
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
}

/// The token a session's forms carry: derived from the session id, which
/// only the browser holding the cookie knows, so another site cannot
/// produce it. Never the id itself.
pub fn form_token(session: &str) -> String {
    secret_hash(&format!("form-token:{session}"))
}

/// Whether `given` is the session's form token; compares every byte
/// whatever differs first.
pub fn form_token_matches(session: &str, given: &str) -> bool {
    let expected = form_token(session);
    expected.len() == given.len() && expected.bytes().zip(given.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// Whether a POST came from the desk's own pages: its `Origin` (or, from
/// a browser that sends none, its `Referer`) is the desk's origin. A POST
/// with neither is refused.
pub fn same_origin(headers: &HeaderMap, origin: &str) -> bool {
    if let Some(sent) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        return sent == origin;
    }
    headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|r| r == origin || r.strip_prefix(origin).is_some_and(|rest| rest.starts_with('/')))
}

/// Sign-in attempts allowed per client address per [`WINDOW`].
pub const ATTEMPTS_PER_WINDOW: u32 = 30;
/// Sign-in attempts allowed from all addresses together per [`WINDOW`].
pub const ALL_ATTEMPTS_PER_WINDOW: u32 = 300;
/// The rate limit's window.
pub const WINDOW: Duration = Duration::from_secs(60);

/// A fixed-window count of sign-in attempts (continue pages and sign-in
/// POSTs), per client address and in all: a guessed token is one in
/// 2^256, and this keeps anyone from trying many. In memory: with several
/// processes each counts its own.
#[derive(Debug, Default)]
pub struct SignInLimiter {
    windows: Mutex<(HashMap<IpAddr, Window>, Option<Window>)>,
}

/// A window's start and its attempts so far.
type Window = (Instant, u32);

impl SignInLimiter {
    /// Count one attempt from `client`; false when it is over a limit.
    pub fn allow(&self, client: IpAddr, now: Instant) -> bool {
        let mut guard = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let (per_client, all) = &mut *guard;
        if per_client.len() > 10_000 {
            per_client.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let count = |slot: &mut Window| {
            if now.duration_since(slot.0) >= WINDOW {
                *slot = (now, 0);
            }
            slot.1 += 1;
            slot.1
        };
        let mine = count(per_client.entry(client).or_insert((now, 0)));
        let total = count(all.get_or_insert((now, 0)));
        mine <= ATTEMPTS_PER_WINDOW && total <= ALL_ATTEMPTS_PER_WINDOW
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_session_cookie_is_found_among_others_and_checked() {
        let id = "a".repeat(64);
        let h = headers(&[(header::COOKIE, &format!("theme=dark; {COOKIE}={id}; x=y"))]);
        assert_eq!(session_cookie(&h), Some(id.clone()));
        let h = headers(&[(header::COOKIE, &format!("{COOKIE}={id}x"))]);
        assert_eq!(session_cookie(&h), None, "altered");
        let h = headers(&[(header::COOKIE, &format!("{COOKIE}={}", "g".repeat(64)))]);
        assert_eq!(session_cookie(&h), None, "not hex");
        assert_eq!(session_cookie(&HeaderMap::new()), None);
    }

    #[test]
    fn the_cookie_is_http_only_same_site_and_secure_over_https() {
        let c = set_cookie("abc", true);
        for part in ["HttpOnly", "SameSite=Lax", "Secure", "Max-Age=43200", "Path=/"] {
            assert!(c.contains(part), "{c}");
        }
        assert!(!set_cookie("abc", false).contains("Secure"));
    }

    #[test]
    fn a_form_token_belongs_to_its_session() {
        let t = form_token("s1");
        assert!(form_token_matches("s1", &t));
        assert!(!form_token_matches("s2", &t));
        assert!(!form_token_matches("s1", ""));
        assert_ne!(t, "s1");
    }

    #[test]
    fn only_the_desks_origin_may_post() {
        let o = "http://127.0.0.1:8080";
        assert!(same_origin(&headers(&[(header::ORIGIN, o)]), o));
        assert!(!same_origin(&headers(&[(header::ORIGIN, "https://evil.example")]), o));
        assert!(!same_origin(&headers(&[(header::ORIGIN, "null")]), o));
        assert!(same_origin(&headers(&[(header::REFERER, "http://127.0.0.1:8080/checkins/3")]), o));
        assert!(!same_origin(&headers(&[(header::REFERER, "http://127.0.0.1:80800/x")]), o));
        assert!(!same_origin(&HeaderMap::new(), o));
    }

    #[test]
    fn sign_ins_are_limited_per_address() {
        let limiter = SignInLimiter::default();
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t = Instant::now();
        for _ in 0..ATTEMPTS_PER_WINDOW {
            assert!(limiter.allow(a, t));
        }
        assert!(!limiter.allow(a, t), "one more in the same minute");
        assert!(limiter.allow(b, t), "another address is counted apart");
        assert!(limiter.allow(a, t + WINDOW), "a new window");
    }
}
