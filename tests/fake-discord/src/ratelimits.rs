//! Discord's rate limits, as a real server applies them (discord-platform.md,
//! "Rate limited"): a route answering 429 for a while, a global 429, the
//! global limit of 50 requests per second enforced, and per-route buckets
//! announced in `X-RateLimit-*` headers on every response.
//!
//! All of it is off until a test turns it on. Interaction callbacks and
//! webhook calls (follow-ups, `@original`) are exempt from the global limit,
//! as on Discord.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::model::RecordedRequest;
use super::state::Shared;

/// What [`check`] answers instead of routing the request.
pub(crate) struct Limit {
    /// Seconds to wait, as `retry_after` in the JSON body.
    pub retry_after: f64,
    pub global: bool,
    /// `X-RateLimit-Scope`: `user` or `global`.
    pub scope: &'static str,
    /// Bucket headers to send with the 429, if buckets are on.
    pub bucket: Vec<(&'static str, String)>,
}

/// A route that answers 429 for `window` from its first matching request.
struct RouteBlock {
    method: String,
    path_prefix: String,
    window: Duration,
    started: Option<Instant>,
}

/// Per-route buckets: `limit` requests per `per`, a fixed window from the
/// first request in it.
struct Buckets {
    limit: u32,
    per: Duration,
    /// Route (method and path) → (window start, requests in it).
    windows: HashMap<String, (Instant, u32)>,
}

#[derive(Default)]
pub(crate) struct RateLimits {
    routes: Vec<RouteBlock>,
    /// Every (non-exempt) request answers a global 429 for this window,
    /// started by the first one after it was armed.
    global_block: Option<(Duration, Option<Instant>)>,
    /// The global limit, enforced over arrivals in the trailing second.
    global_limit: Option<usize>,
    arrivals: VecDeque<Instant>,
    buckets: Option<Buckets>,
}

/// Interaction callbacks and webhooks are not bound by the global limit.
fn exempt(req: &RecordedRequest) -> bool {
    let path = req.api_path();
    path.starts_with("/interactions/") || path.starts_with("/webhooks/")
}

fn route_key(req: &RecordedRequest) -> String {
    format!("{} {}", req.method, req.api_path())
}

/// A 429 for `req`, if a limit applies; otherwise counts it (global limit,
/// bucket) and returns `None`.
pub(crate) fn check(shared: &Shared, req: &RecordedRequest) -> Option<Limit> {
    let mut st = shared.lock();
    let limits = &mut st.rate_limits;
    let now = req.at;
    let path = req.api_path().to_owned();

    for block in &mut limits.routes {
        if !block.method.eq_ignore_ascii_case(&req.method) || !path.starts_with(&block.path_prefix) {
            continue;
        }
        let started = *block.started.get_or_insert(now);
        let left = (started + block.window).saturating_duration_since(now);
        if !left.is_zero() {
            let bucket = limits.buckets.as_ref().map(|b| bucket_headers(b.limit, 0, left, &route_key(req)));
            return Some(Limit {
                retry_after: round_ms(left),
                global: false,
                scope: "user",
                bucket: bucket.unwrap_or_default(),
            });
        }
    }
    limits.routes.retain(|b| b.started.is_none_or(|s| now < s + b.window));

    if exempt(req) {
        return None;
    }
    if let Some((window, started)) = &mut limits.global_block {
        let started = *started.get_or_insert(now);
        let left = (started + *window).saturating_duration_since(now);
        if !left.is_zero() {
            return Some(Limit { retry_after: round_ms(left), global: true, scope: "global", bucket: Vec::new() });
        }
        limits.global_block = None;
    }
    if let Some(max) = limits.global_limit {
        while limits.arrivals.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1)) {
            limits.arrivals.pop_front();
        }
        if limits.arrivals.len() >= max {
            let oldest = limits.arrivals[0];
            let left = (oldest + Duration::from_secs(1)).saturating_duration_since(now);
            return Some(Limit { retry_after: round_ms(left), global: true, scope: "global", bucket: Vec::new() });
        }
        limits.arrivals.push_back(now);
    }
    if let Some(buckets) = &mut limits.buckets {
        let (limit, per) = (buckets.limit, buckets.per);
        let key = route_key(req);
        let window = buckets.windows.entry(key.clone()).or_insert((now, 0));
        if now >= window.0 + per {
            *window = (now, 0);
        }
        let left = (window.0 + per).saturating_duration_since(now);
        if window.1 >= limit {
            return Some(Limit {
                retry_after: round_ms(left),
                global: false,
                scope: "user",
                bucket: bucket_headers(limit, 0, left, &key),
            });
        }
        window.1 += 1;
    }
    None
}

/// The `X-RateLimit-*` headers of a routed (not limited) request, when
/// buckets are on. Counted by [`check`] before routing.
pub(crate) fn headers(shared: &Shared, req: &RecordedRequest) -> Vec<(&'static str, String)> {
    let st = shared.lock();
    let Some(buckets) = &st.rate_limits.buckets else { return Vec::new() };
    if exempt(req) {
        return Vec::new();
    }
    let key = route_key(req);
    let Some((start, used)) = buckets.windows.get(&key) else { return Vec::new() };
    let left = (*start + buckets.per).saturating_duration_since(req.at);
    bucket_headers(buckets.limit, buckets.limit.saturating_sub(*used), left, &key)
}

fn bucket_headers(limit: u32, remaining: u32, reset_after: Duration, key: &str) -> Vec<(&'static str, String)> {
    let reset = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default() + reset_after;
    vec![
        ("x-ratelimit-limit", limit.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-reset", format!("{:.3}", reset.as_secs_f64())),
        ("x-ratelimit-reset-after", format!("{:.3}", round_ms(reset_after))),
        // Discord's bucket hashes are opaque; one per route here.
        ("x-ratelimit-bucket", format!("{:016x}", fnv1a(key))),
    ]
}

/// Seconds, rounded up to the millisecond (Discord sends three decimals).
fn round_ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).ceil() / 1000.0
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

impl super::FakeDiscord {
    /// From the first request with `method` whose path (below `/api/v10`)
    /// starts with `path_prefix`, every such request answers 429 for
    /// `window`: `Retry-After` and the JSON `retry_after` say the time left
    /// in the window, `global` is false, `X-RateLimit-Scope` is `user`.
    pub fn rate_limit_route(&self, method: &str, path_prefix: &str, window: Duration) {
        let block = RouteBlock {
            method: method.to_ascii_uppercase(),
            path_prefix: path_prefix.strip_prefix("/api/v10").unwrap_or(path_prefix).to_owned(),
            window,
            started: None,
        };
        self.shared.lock().rate_limits.routes.push(block);
    }

    /// From the next request on, every request but interaction callbacks
    /// and webhooks answers a global 429 (`X-RateLimit-Global: true`,
    /// `"global": true`, scope `global`) for `window`.
    pub fn rate_limit_globally(&self, window: Duration) {
        self.shared.lock().rate_limits.global_block = Some((window, None));
    }

    /// Enforces Discord's global limit: a request (interaction callbacks and
    /// webhooks excepted) that would be the `per_second + 1`-th to arrive
    /// within one second answers a global 429.
    pub fn enforce_global_limit(&self, per_second: usize) {
        self.shared.lock().rate_limits.global_limit = Some(per_second);
    }

    /// Per-route buckets: each route (method and path, ids included) allows
    /// `limit` requests per `per`, a window starting at its first request;
    /// one more answers 429. Every response on a bucketed route carries
    /// `X-RateLimit-Limit`, `-Remaining`, `-Reset`, `-Reset-After` and `-Bucket`.
    pub fn rate_limit_buckets(&self, limit: u32, per: Duration) {
        self.shared.lock().rate_limits.buckets = Some(Buckets { limit, per, windows: HashMap::new() });
    }

    /// The requests answered 429, in arrival order.
    pub fn rate_limited_requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.iter().filter(|r| r.status == 429).cloned().collect()
    }
}
