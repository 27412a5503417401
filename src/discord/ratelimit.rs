//! Discord's rate limits, kept by Trellis itself in proxy mode.
//!
//! With `DISCORD_API_BASE` set, serenity's own rate limiter is off (it drops
//! the proxy otherwise: discord-platform.md, "Rate limits and duplicates"),
//! so every request the engine's chat makes goes through a [`RateLimiter`]:
//!
//! - **Global limit**: at most [`GLOBAL_LIMIT`] requests in any
//!   [`GLOBAL_WINDOW`], a window and not an even spacing, so a burst of 50
//!   reminders leaves at once. A request holds its place in the window from
//!   the moment it is sent until one window after its response arrived (the
//!   server counted it somewhere in between), so the server can never see 51
//!   in one second. Several processes behind one proxy share Discord's
//!   limit: each then keeps to its share
//!   ([`RateLimiter::with_global_limit`], `TRELLIS_GLOBAL_RATE_LIMIT`, e.g.
//!   25 each for two), so together they stay under it without talking to
//!   each other.
//! - **Per-route buckets**, keyed like serenity's (route and major
//!   parameter: each channel's messages are a bucket of their own), learned
//!   from the `X-RateLimit-Remaining` and `X-RateLimit-Reset-After` headers
//!   of every response. Requests on one route go one at a time, so what the
//!   headers say is never overtaken by a request in flight.
//! - **429**: the request waits out `retry_after` from the JSON body (or the
//!   `Retry-After` header) on its route, or for every request when the
//!   answer is global (`X-RateLimit-Global: true` or `"global": true`), then
//!   goes again; at most [`MAX_429_RETRIES`] times.
//!
//! A wait longer than [`MAX_WAIT`] is not waited out: the call fails as a
//! temporary error and the scheduler's own retry comes back later.
//!
//! Interaction callbacks and follow-ups (poise, serenity's `Http`) do not
//! pass here: Discord does not count them against the global limit, and a
//! member's confirmation must never queue behind a fan-out of reminder DMs.
//!
//! Without a proxy, serenity's limiter is in charge and [`ChatHttp`] passes
//! every call straight to serenity, so nothing is limited twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poise::serenity_prelude as serenity;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serenity::{CreateMessage, HttpError, LightMethod, Message, PrivateChannel, RatelimitingBucket, Request, Route};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Discord's global limit: requests per [`GLOBAL_WINDOW`] (discord-platform.md).
pub const GLOBAL_LIMIT: usize = 50;
/// The window of the global limit.
pub const GLOBAL_WINDOW: Duration = Duration::from_secs(1);
/// 429s one call waits out before it gives up (as a temporary failure).
pub const MAX_429_RETRIES: u32 = 3;
/// Longest wait before one request; beyond it the call fails as temporary.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// When a 429 says nothing about how long to wait.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// Route buckets kept before those that restrict nothing any more are
/// dropped (a bucket per DM channel adds up over a year).
const MAX_BUCKETS: usize = 10_000;

/// The global window and the route buckets of one process. Shared by every
/// request of the engine's chat.
#[derive(Debug)]
pub struct RateLimiter {
    /// Requests per [`GLOBAL_WINDOW`] this process may send.
    limit: usize,
    state: Mutex<State>,
    /// Wakes waiters when a place in the global window may have freed.
    freed: Notify,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, Default)]
struct State {
    /// Requests of the current window: `None` while in flight, then when
    /// their response arrived.
    window: Vec<(u64, Option<Instant>)>,
    next_id: u64,
    /// A global 429 stops every request until then.
    global_until: Option<Instant>,
    routes: HashMap<RatelimitingBucket, Arc<tokio::sync::Mutex<Bucket>>>,
}

/// What is known of one route's bucket.
#[derive(Debug, Default)]
struct Bucket {
    /// Requests left before `reset_at`, from `X-RateLimit-Remaining`.
    remaining: Option<u64>,
    /// When the bucket refills (now + `X-RateLimit-Reset-After`), or when a
    /// 429 on this route has been waited out.
    reset_at: Option<Instant>,
}

impl Bucket {
    /// Until when a request on this route must wait, if at all.
    fn blocked_until(&mut self, now: Instant) -> Option<Instant> {
        match self.reset_at {
            Some(at) if at <= now => {
                self.reset_at = None;
                self.remaining = None;
                None
            }
            Some(at) if self.remaining == Some(0) => Some(at),
            _ => None,
        }
    }

    /// What the headers of a response (any status) say about the bucket.
    fn learn(&mut self, headers: &HeaderMap, now: Instant) {
        let remaining = header_number(headers, "x-ratelimit-remaining");
        let reset_after = header_number(headers, "x-ratelimit-reset-after");
        if let (Some(remaining), Some(reset_after)) = (remaining, reset_after) {
            self.remaining = Some(remaining.max(0.0) as u64);
            self.reset_at = Some(now + secs(reset_after));
        }
    }

    fn limited_for(&mut self, wait: Duration, now: Instant) {
        self.remaining = Some(0);
        self.reset_at = Some(now + wait);
    }
}

/// A place in the global window, held while the request is in flight.
struct Place<'a> {
    limiter: &'a RateLimiter,
    id: u64,
}

impl Drop for Place<'_> {
    /// The response arrived (or the request failed or was dropped): the
    /// place stays taken for one more window from now.
    fn drop(&mut self) {
        let now = Instant::now();
        let mut st = self.limiter.lock();
        if let Some(place) = st.window.iter_mut().find(|(id, _)| *id == self.id) {
            place.1 = Some(now);
        }
        drop(st);
        self.limiter.freed.notify_waiters();
    }
}

/// Why the limiter would not send a request.
#[derive(Debug, thiserror::Error)]
#[error("Discord's rate limit would hold this request for {0:?}, longer than Trellis waits; it is retried later")]
pub struct TooLong(pub Duration);

impl RateLimiter {
    /// A limiter allowing Discord's whole global limit ([`GLOBAL_LIMIT`]).
    pub fn new() -> Self {
        Self::with_global_limit(GLOBAL_LIMIT)
    }

    /// A limiter allowing `per_window` requests per [`GLOBAL_WINDOW`] (at
    /// least 1): this process's share of the global limit when several
    /// processes send through one proxy.
    pub fn with_global_limit(per_window: usize) -> Self {
        RateLimiter { limit: per_window.max(1), state: Mutex::default(), freed: Notify::new() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn bucket(&self, key: RatelimitingBucket) -> Arc<tokio::sync::Mutex<Bucket>> {
        let mut st = self.lock();
        if st.routes.len() >= MAX_BUCKETS {
            let now = Instant::now();
            // Unlocked buckets that restrict nothing any more: a fresh one is the same.
            st.routes.retain(|_, b| b.try_lock().map_or(true, |b| b.reset_at.is_some_and(|at| at > now)));
        }
        st.routes.entry(key).or_default().clone()
    }

    /// Waits until a request on `bucket` may go: the global 429 and the
    /// route's bucket are waited out, then a place in the global window is
    /// taken.
    async fn admit(&self, bucket: &mut Bucket) -> Result<Place<'_>, TooLong> {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            // Registered before the check, so a place freed in between still wakes us.
            freed.as_mut().enable();
            let now = Instant::now();
            let until = {
                let mut st = self.lock();
                let global = st.global_until.filter(|at| *at > now);
                match global.or_else(|| bucket.blocked_until(now)) {
                    Some(at) => Some(at),
                    None => {
                        st.window.retain(|(_, done)| done.is_none_or(|at| at + GLOBAL_WINDOW > now));
                        if st.window.len() < self.limit {
                            let id = st.next_id;
                            st.next_id += 1;
                            st.window.push((id, None));
                            if let Some(n) = bucket.remaining.as_mut() {
                                *n = n.saturating_sub(1);
                            }
                            return Ok(Place { limiter: self, id });
                        }
                        // Full: the oldest finished place leaves first; if all
                        // are in flight, the next response frees one.
                        st.window.iter().filter_map(|(_, done)| *done).min().map(|at| at + GLOBAL_WINDOW)
                    }
                }
            };
            match until {
                Some(at) if at - now > MAX_WAIT => return Err(TooLong(at - now)),
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = &mut freed => {}
                    }
                }
                None => freed.await,
            }
        }
    }

    /// Waits until the global window is mostly free: at most a fifth of
    /// the limit in use and no global 429 pending. Low-priority work
    /// (opening DM channels ahead of reminders, one at a time) goes only
    /// then, and still takes its place through [`RateLimiter::admit`], so
    /// it never pushes a post or a reminder burst into a later window by
    /// more than a place or two.
    pub async fn quiet(&self) {
        let spare = (self.limit / 5).max(1);
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            let now = Instant::now();
            let until = {
                let mut st = self.lock();
                match st.global_until.filter(|at| *at > now) {
                    Some(at) => Some(at),
                    None => {
                        st.window.retain(|(_, done)| done.is_none_or(|at| at + GLOBAL_WINDOW > now));
                        if st.window.len() < spare {
                            return;
                        }
                        st.window.iter().filter_map(|(_, done)| *done).min().map(|at| at + GLOBAL_WINDOW)
                    }
                }
            };
            match until {
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = &mut freed => {}
                    }
                }
                None => freed.await,
            }
        }
    }

    /// A 429: nothing on the route (or, when global, nothing at all) until
    /// `wait` has passed.
    fn limited(&self, bucket: &mut Bucket, wait: Duration, global: bool) {
        let now = Instant::now();
        if global {
            let mut st = self.lock();
            let until = now + wait;
            st.global_until = Some(st.global_until.map_or(until, |at| at.max(until)));
        } else {
            bucket.limited_for(wait, now);
        }
    }
}

/// How long a 429 asks to wait, and whether it is global: the JSON body's
/// `retry_after` (float seconds) and `global`, else the `Retry-After` and
/// `X-RateLimit-Global` headers.
fn retry_after(headers: &HeaderMap, body: &[u8]) -> (Duration, bool) {
    #[derive(serde::Deserialize)]
    struct RateLimited {
        retry_after: Option<f64>,
        #[serde(default)]
        global: bool,
    }
    let parsed: Option<RateLimited> = serde_json::from_slice(body).ok();
    let wait = parsed
        .as_ref()
        .and_then(|b| b.retry_after)
        .or_else(|| header_number(headers, "retry-after"))
        .map_or(DEFAULT_RETRY_AFTER, secs);
    let global_header = headers.get("x-ratelimit-global").and_then(|v| v.to_str().ok()) == Some("true");
    (wait, global_header || parsed.is_some_and(|b| b.global))
}

fn header_number(headers: &HeaderMap, name: &str) -> Option<f64> {
    headers.get(name)?.to_str().ok()?.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Seconds as a duration; negative or absurd values are clamped.
fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::MAX)
}

/// How the engine's chat reaches Discord: straight through serenity (its
/// own limiter in charge), or, in proxy mode, through a [`RateLimiter`].
#[derive(Clone)]
pub enum ChatHttp {
    /// No proxy: serenity's `Http`, whose rate limiter paces and retries.
    Serenity(Arc<serenity::Http>),
    /// Proxy mode: requests built with serenity, sent with its reqwest
    /// client, limited and retried here.
    Limited(Arc<Limited>),
}

/// The parts of [`ChatHttp::Limited`].
pub struct Limited {
    /// For the token and the proxy base; its own limiter is off.
    pub http: Arc<serenity::Http>,
    /// The client `http` was built with: one connection pool for both.
    pub client: reqwest::Client,
    pub limiter: Arc<RateLimiter>,
}

impl ChatHttp {
    /// `POST /channels/{channel}/messages` with `message` (no files).
    ///
    /// # Errors
    /// serenity's error for the failure, as serenity's own call returns it,
    /// so [`super::chat::chat_err`] classifies both paths alike.
    pub async fn send_message(
        &self,
        channel: serenity::ChannelId,
        message: CreateMessage,
    ) -> Result<Message, serenity::Error> {
        match self {
            ChatHttp::Serenity(http) => channel.send_message(http, message).await,
            ChatHttp::Limited(_) => {
                let body = serde_json::to_vec(&message)?;
                let route = Route::ChannelMessages { channel_id: channel };
                self.fire(Request::new(route, LightMethod::Post).body(Some(body))).await
            }
        }
    }

    /// `POST /users/@me/channels`: the DM channel with `user` (Discord
    /// returns the existing one if there is one).
    ///
    /// # Errors
    /// As [`ChatHttp::send_message`].
    pub async fn create_dm_channel(&self, user: serenity::UserId) -> Result<PrivateChannel, serenity::Error> {
        match self {
            ChatHttp::Serenity(http) => user.create_dm_channel(http).await,
            ChatHttp::Limited(_) => {
                let body = serde_json::to_vec(&serde_json::json!({ "recipient_id": user }))?;
                self.fire(Request::new(Route::UserMeDmChannels, LightMethod::Post).body(Some(body))).await
            }
        }
    }

    /// [`ChatHttp::create_dm_channel`] at low priority: in proxy mode it
    /// first waits for a mostly free window ([`RateLimiter::quiet`]);
    /// without a proxy serenity's limiter paces it like any request.
    ///
    /// # Errors
    /// As [`ChatHttp::send_message`].
    pub async fn create_dm_channel_quietly(&self, user: serenity::UserId) -> Result<PrivateChannel, serenity::Error> {
        if let ChatHttp::Limited(limited) = self {
            limited.limiter.quiet().await;
        }
        self.create_dm_channel(user).await
    }

    /// Any request, decoded from JSON: for calls serenity has no builder
    /// for here. In proxy mode it is limited like the others.
    ///
    /// # Errors
    /// As [`ChatHttp::send_message`].
    pub async fn fire<T: DeserializeOwned>(&self, request: Request<'_>) -> Result<T, serenity::Error> {
        match self {
            ChatHttp::Serenity(http) => http.fire(request).await,
            ChatHttp::Limited(limited) => limited.fire(request).await,
        }
    }
}

impl Limited {
    async fn fire<T: DeserializeOwned>(&self, request: Request<'_>) -> Result<T, serenity::Error> {
        let method = request.method_ref().reqwest_method();
        let bucket = self.limiter.bucket(request.route_ref().ratelimiting_bucket());
        let mut limited = 0;
        let response = loop {
            // One request per route at a time: the next one reads what this one's headers said.
            let mut route = bucket.lock().await;
            let place = self.limiter.admit(&mut route).await.map_err(|e| {
                tracing::warn!(error = %e, "rate limited; giving up for now");
                serenity::Error::Other("rate limited by Discord for longer than Trellis waits")
            })?;
            let built = request.clone().build(&self.client, self.http.token(), self.http.proxy.as_deref())?.build()?;
            let sent = self.client.execute(built).await;
            drop(place);
            let response = sent?;
            let now = Instant::now();
            route.learn(response.headers(), now);
            if response.status() != serenity::StatusCode::TOO_MANY_REQUESTS {
                break response;
            }
            let headers = response.headers().clone();
            let body = response.bytes().await?;
            let (wait, global) = retry_after(&headers, &body);
            self.limiter.limited(&mut route, wait, global);
            limited += 1;
            tracing::warn!(attempt = limited, wait_ms = wait.as_millis() as u64, global, "rate limited (429)");
            if limited > MAX_429_RETRIES {
                return Err(serenity::Error::Other("rate limited by Discord (429) on every attempt"));
            }
        };
        if !response.status().is_success() {
            let error = serenity::ErrorResponse::from_response(response, method).await;
            return Err(HttpError::UnsuccessfulRequest(error).into());
        }
        let body = response.bytes().await?;
        Ok(serde_json::from_slice(&body)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn a_429_is_read_from_the_body_first_then_the_headers() {
        let body = br#"{"message": "You are being rate limited.", "retry_after": 5.25, "global": false}"#;
        assert_eq!(retry_after(&headers(&[("retry-after", "6")]), body), (Duration::from_millis(5250), false));
        assert_eq!(retry_after(&headers(&[("retry-after", "6")]), b""), (Duration::from_secs(6), false));
        let global = br#"{"retry_after": 0.5, "global": true}"#;
        assert_eq!(retry_after(&HeaderMap::new(), global), (Duration::from_millis(500), true));
        let by_header = headers(&[("retry-after", "2"), ("x-ratelimit-global", "true")]);
        assert_eq!(retry_after(&by_header, b"not json"), (Duration::from_secs(2), true));
        assert_eq!(retry_after(&HeaderMap::new(), b""), (DEFAULT_RETRY_AFTER, false));
        assert_eq!(retry_after(&headers(&[("retry-after", "-3")]), b""), (Duration::ZERO, false));
    }

    #[test]
    fn a_bucket_blocks_only_when_it_is_empty_and_until_its_reset() {
        let now = Instant::now();
        let mut b = Bucket::default();
        assert_eq!(b.blocked_until(now), None, "unknown: go");
        b.learn(&headers(&[("x-ratelimit-remaining", "1"), ("x-ratelimit-reset-after", "2.5")]), now);
        assert_eq!(b.blocked_until(now), None, "one left");
        b.learn(&headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset-after", "2.5")]), now);
        assert_eq!(b.blocked_until(now), Some(now + Duration::from_millis(2500)));
        assert_eq!(b.blocked_until(now + Duration::from_secs(3)), None, "reset");
        assert_eq!(b.remaining, None);
    }

    /// Real time, short waits: bounds are generous below, exact above.
    fn between(elapsed: Duration, at_least_ms: u64, below_ms: u64) -> bool {
        elapsed >= Duration::from_millis(at_least_ms) && elapsed < Duration::from_millis(below_ms)
    }

    #[tokio::test]
    async fn fifty_go_at_once_and_the_fifty_first_waits_one_window_after_the_first_response() {
        let limiter = RateLimiter::new();
        let mut bucket = Bucket::default();
        let start = Instant::now();
        let mut places = Vec::new();
        for _ in 0..GLOBAL_LIMIT {
            places.push(limiter.admit(&mut bucket).await.unwrap());
        }
        assert!(between(start.elapsed(), 0, 50), "a burst inside the window: {:?}", start.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(places.remove(0)); // its response arrives at +100 ms
        drop(places);
        let _next = limiter.admit(&mut bucket).await.unwrap();
        assert!(between(start.elapsed(), 1100, 1300), "{:?}", start.elapsed());
    }

    #[tokio::test]
    async fn a_global_429_holds_every_route_and_a_route_429_only_its_own() {
        let limiter = RateLimiter::new();
        let (mut a, mut b) = (Bucket::default(), Bucket::default());
        let start = Instant::now();
        limiter.limited(&mut a, Duration::from_millis(300), false);
        drop(limiter.admit(&mut b).await.unwrap());
        assert!(between(start.elapsed(), 0, 50), "another route is not held: {:?}", start.elapsed());
        drop(limiter.admit(&mut a).await.unwrap());
        assert!(between(start.elapsed(), 300, 400), "{:?}", start.elapsed());
        limiter.limited(&mut a, Duration::from_millis(200), true);
        drop(limiter.admit(&mut b).await.unwrap());
        assert!(between(start.elapsed(), 500, 600), "global: every route waits: {:?}", start.elapsed());
    }

    #[tokio::test]
    async fn a_share_of_the_global_limit_admits_that_many_per_window_and_no_more() {
        use futures::FutureExt as _;
        let limiter = RateLimiter::with_global_limit(10);
        let mut bucket = Bucket::default();
        let mut places = Vec::new();
        for i in 0..10 {
            let place = limiter.admit(&mut bucket).now_or_never();
            places.push(place.unwrap_or_else(|| panic!("place {i} of the share waited")).unwrap());
        }
        assert!(limiter.admit(&mut bucket).now_or_never().is_none(), "the 11th waits while 10 are in flight");
        // A response arrived: its place stays taken for a window from now.
        drop(places.remove(0));
        assert!(limiter.admit(&mut bucket).now_or_never().is_none(), "and for a window after a response");
        // No share below one request per window.
        let one = RateLimiter::with_global_limit(0);
        let _first = one.admit(&mut bucket).now_or_never().expect("one goes").unwrap();
        assert!(one.admit(&mut bucket).now_or_never().is_none());
        assert_eq!(RateLimiter::new().limit, GLOBAL_LIMIT);
    }

    #[tokio::test]
    async fn a_wait_past_the_limit_is_refused_at_once() {
        let limiter = RateLimiter::new();
        let mut a = Bucket::default();
        limiter.limited(&mut a, MAX_WAIT + Duration::from_secs(1), false);
        let start = Instant::now();
        assert!(limiter.admit(&mut a).await.is_err());
        assert!(between(start.elapsed(), 0, 50));
    }
}
