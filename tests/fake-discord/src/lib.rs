//! A fake Discord for end-to-end tests: a loopback HTTP + WebSocket server
//! speaking the part of Discord API v10 that serenity 0.12.5 and poise 0.7.1
//! use, so the real bot runs against it over the wire.
//!
//! ```ignore
//! let fake = FakeDiscord::start(
//!     FakeConfig::new(BOT_ID, APP_ID).guild(GuildSpec::new(GUILD, "Cohort").channel(CHANNEL, "general")),
//! )
//! .await;
//! let http = HttpBuilder::new("Bot token").proxy(fake.api_base()).ratelimiter_disabled(true).build();
//! // … build a serenity Client with ClientBuilder::new_with_http(http, intents) and start it …
//! fake.wait_ready(Duration::from_secs(10)).await;
//! let ping = fake.slash_command(Actor::in_guild(GUILD, CHANNEL, USER).command("ping"));
//! let response = fake.wait_interaction_response(&ping, Duration::from_secs(3)).await;
//! assert!(response.is_ephemeral());
//! fake.assert_no_unknown_routes();
//! ```
//!
//! What it covers:
//! - REST under `/api/v10`: gateway discovery, current user and application,
//!   application commands (guild and global), interaction callbacks,
//!   follow-ups and `@original`, channel messages (JSON and multipart, with
//!   `nonce` + `enforce_nonce`), DM channel creation, guild roles / channels /
//!   members. Bodies are validated with Discord's limits (400 on violations).
//!   Every request is recorded; unknown routes answer 404 and are listed.
//! - Gateway at `/ws`: HELLO, IDENTIFY → READY + GUILD_CREATE per guild,
//!   heartbeats, RESUME → replay + RESUMED, dropping the socket, op 7 / op 9,
//!   arbitrary dispatches.
//! - Several gateway sessions at once on the one token, as on Discord
//!   (`sessions.rs`): every IDENTIFY starts a session with its own
//!   `session_id`, sequence numbers and `shard`, and every dispatch goes to
//!   every live session of the shard that owns it. Two copies of a bot
//!   started on one token (unsharded) therefore both receive every DM and
//!   every interaction, and race for its callback (the second gets 400
//!   `40060`): whatever keeps a second copy from handling events must keep
//!   it from opening a session at all.
//! - Shards ([`FakeConfig::shards`], default 1): `GET /gateway/bot` reports
//!   the count; a session IDENTIFYed as `[id, N]` gets READY and
//!   GUILD_CREATEs for the guilds with `(guild_id >> 22) % N == id` only
//!   ([`shard_for_guild`]), and only their events; DMs go to shard 0; an
//!   IDENTIFY with another count (or an id past it) is closed with 4010.
//!   [`FakeDiscord::session_count`], [`FakeDiscord::sessions`] (per-session
//!   state, shard and events received) and
//!   [`FakeDiscord::max_concurrent_sessions`] show what happened;
//!   [`GatewayClient`] opens sessions by hand.
//! - Simulated users: slash commands, autocomplete, button clicks (in a
//!   guild or under a DM), modal submits, DMs and edits of DMs
//!   (MESSAGE_UPDATE), with their responses captured. Clicks and modal
//!   submits are held back by [`FakeConfig::user_reaction_delay`] (200 ms)
//!   after the UI appeared, because serenity/poise collectors only start
//!   listening once the HTTP call that showed the UI has returned.
//! - A session whose socket closed (not with 1000/1001) stays resumable for
//!   [`FakeConfig::session_resume_window`] (60 s): events meanwhile are
//!   replayed on RESUME from the client's `seq`. A close with 1000/1001, op 9
//!   `false` or an expired window ends it. Events dispatched while no session
//!   of their shard has a socket also go to the next session of that shard
//!   that IDENTIFYs (after its READY), so a bot restarted in a test does not
//!   lose them.
//! - What real servers do (`refusals.rs`): closed DMs per user, deleted
//!   channels, permissions taken from the bot in a channel (also in
//!   `app_permissions`), members who left, routes down with a 5xx.
//! - The field: the bot removed from a guild and added back, a guild
//!   outage (`guilds.rs`); a refused token, REST 401 and gateway 4004
//!   (`auth.rs`).
//! - Discord's rate limits, off until a test turns them on
//!   (`ratelimits.rs`): a route answering 429 for a window, a global 429,
//!   the global limit of 50 requests per second enforced, per-route buckets
//!   with `X-RateLimit-*` headers on every response.
//!
//! All `wait_*` helpers panic with a diagnostic when the timeout passes.
//! Secrets: the `authorization` header and the gateway token are stored but
//! never printed (the `Debug` impls and diagnostics redact them).

mod auth;
mod channels;
mod client;
mod config;
mod dm_edits;
mod gateway;
mod guilds;
mod interactions;
mod model;
mod payloads;
mod ratelimits;
mod refusals;
mod rest;
mod sessions;
mod state;
mod validate;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub use client::GatewayClient;
pub use config::{ChannelSpec, FakeConfig, GuildSpec, RoleSpec, permissions};
pub use model::{
    Actor, Attachment, InteractionHandle, InteractionResponse, Invocation, MessageSource, OptionValue, RecordedRequest,
    StoredMessage,
};
pub use sessions::{SessionInfo, SessionState, shard_for_guild};

use interactions::InteractionSpec;
use state::{Fault, FaultKind, InteractionRecord, Shared, State};

/// A running fake Discord. Dropping it stops the server.
pub struct FakeDiscord {
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeDiscord {
    // -----------------------------------------------------------------------
    // Lifecycle
    // -----------------------------------------------------------------------

    /// Binds `127.0.0.1:0` and serves REST and the gateway.
    ///
    /// # Panics
    /// If the loopback port cannot be bound.
    pub async fn start(config: FakeConfig) -> FakeDiscord {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("fake discord: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("fake discord: local_addr");
        let shared = Arc::new(Shared::new(config, format!("http://{addr}")));
        let app = rest::router(Arc::clone(&shared));
        // No Nagle: READY and the GUILD_CREATEs behind it are separate small
        // frames, and the second would wait ~40 ms for the bot's delayed ACK,
        // which is the fake's artefact, not the bot's start-up time.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let server = tokio::spawn(async move {
            if let Err(why) = axum::serve(listener, app).await {
                eprintln!("fake discord: server stopped: {why}");
            }
        });
        FakeDiscord { shared, server }
    }

    /// `http://127.0.0.1:PORT`: pass it to `HttpBuilder::proxy` (with
    /// `ratelimiter_disabled(true)`, or serenity ignores the proxy).
    pub fn api_base(&self) -> String {
        self.shared.base.clone()
    }

    /// `ws://127.0.0.1:PORT/ws`, what `GET /gateway` returns.
    pub fn gateway_url(&self) -> String {
        format!("{}/ws", self.shared.base.replacen("http://", "ws://", 1))
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &FakeConfig {
        &self.shared.config
    }

    // -----------------------------------------------------------------------
    // Recorded HTTP traffic
    // -----------------------------------------------------------------------

    /// Every request so far, in arrival order (completed requests only).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Requests with `method` whose path below `/api/v10` starts with `path_prefix`.
    pub fn requests_to(&self, method: &str, path_prefix: &str) -> Vec<RecordedRequest> {
        let prefix = api_relative(path_prefix);
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.api_path().starts_with(prefix))
            .cloned()
            .collect()
    }

    /// `"METHOD /path"` of every request no route matched (each answered 404).
    pub fn unknown_routes(&self) -> Vec<String> {
        self.shared.lock().unknown_routes.clone()
    }

    /// # Panics
    /// If any request hit an unknown route; the message lists them.
    pub fn assert_no_unknown_routes(&self) {
        let unknown = self.unknown_routes();
        assert!(
            unknown.is_empty(),
            "fake discord: the bot called {} route(s) the fake does not implement:\n  {}",
            unknown.len(),
            unknown.join("\n  ")
        );
    }

    // -----------------------------------------------------------------------
    // Fault injection
    // -----------------------------------------------------------------------

    /// The next `times` requests with `method` whose path (below `/api/v10`;
    /// a leading `/api/v10` is accepted too) starts with `path_prefix` answer
    /// 429 with `Retry-After`, `X-RateLimit-Global: false`,
    /// `X-RateLimit-Scope: user` and Discord's JSON body. They are recorded
    /// but have no effect.
    pub fn fail_next(&self, method: &str, path_prefix: &str, times: u32, retry_after_secs: f64) {
        self.add_fault(method, path_prefix, times, FaultKind::RateLimited { retry_after: retry_after_secs });
    }

    /// Like [`Self::fail_next`], answering `status` with `{"code":0,"message":"Injected failure"}`.
    pub fn fail_next_status(&self, method: &str, path_prefix: &str, times: u32, status: u16) {
        self.add_fault(method, path_prefix, times, FaultKind::Status { status });
    }

    fn add_fault(&self, method: &str, path_prefix: &str, times: u32, kind: FaultKind) {
        let fault = Fault {
            method: method.to_ascii_uppercase(),
            path_prefix: api_relative(path_prefix).to_owned(),
            remaining: times,
            kind,
        };
        self.shared.lock().faults.push(fault);
    }

    // -----------------------------------------------------------------------
    // Gateway
    // -----------------------------------------------------------------------

    /// A session is on an open socket (READY or RESUMED has been sent on it).
    pub fn connected(&self) -> bool {
        self.shared.lock().gateway.is_ready()
    }

    /// Number of IDENTIFYs received.
    pub fn identify_count(&self) -> usize {
        self.shared.lock().gateway.identifies.len()
    }

    /// Number of RESUMEs received (including rejected ones).
    pub fn resume_count(&self) -> usize {
        self.shared.lock().gateway.resumes.len()
    }

    /// Number of WebSocket connections accepted.
    pub fn connection_count(&self) -> u64 {
        self.shared.lock().gateway.connections
    }

    /// Number of heartbeats (op 1) received.
    pub fn heartbeat_count(&self) -> u64 {
        self.shared.lock().gateway.heartbeats
    }

    /// IDENTIFY `d` payloads, token redacted.
    pub fn identify_payloads(&self) -> Vec<Value> {
        self.shared.lock().gateway.identifies.clone()
    }

    /// `intents` of the latest IDENTIFY.
    pub fn last_identify_intents(&self) -> Option<u64> {
        self.shared.lock().gateway.identifies.last()?.get("intents")?.as_u64()
    }

    /// Waits until the bot is connected and READY + GUILD_CREATEs (or
    /// RESUMED) went out.
    pub async fn wait_ready(&self, timeout: Duration) {
        self.wait_until(timeout, "the gateway to be ready", |f| f.connected().then_some(())).await
    }

    /// Waits until `count` RESUMEs have arrived and the connection is ready again.
    pub async fn wait_resumed(&self, count: usize, timeout: Duration) {
        let what = format!("{count} RESUME(s) and a ready connection");
        self.wait_until(timeout, &what, |f| (f.resume_count() >= count && f.connected()).then_some(())).await
    }

    /// Closes every open socket with code 4000 (unknown error). serenity
    /// reconnects and RESUMEs. Events dispatched meanwhile are kept for the
    /// replay. Returns whether a socket was open.
    pub fn drop_gateway(&self) -> bool {
        let closed = gateway::close_connection(&mut self.shared.lock(), 4000, "fake discord: dropped");
        self.shared.notify();
        closed
    }

    /// Sends op 7 RECONNECT to every session on a socket (serenity answers
    /// by resuming on a new socket).
    pub fn request_reconnect(&self) -> bool {
        gateway::send_raw(&mut self.shared.lock(), &payloads::reconnect_frame())
    }

    /// Sends op 9 INVALID SESSION to every session on a socket. `false`
    /// ends those sessions (serenity IDENTIFYs again); `true` leaves them
    /// resumable (serenity RESUMEs).
    pub fn invalidate_session(&self, resumable: bool) -> bool {
        let sent = gateway::invalidate_sessions(&mut self.shared.lock(), resumable);
        self.shared.notify();
        sent
    }

    /// Dispatches any event (`t` = `event`, `d` = `data`) to every session
    /// of the shard that owns it (the guild in `d.guild_id`, or `d.id` for
    /// GUILD_CREATE/GUILD_DELETE; shard 0 without one), with each session's
    /// next sequence number.
    pub fn dispatch(&self, event: &str, data: Value) {
        gateway::send_dispatch(&mut self.shared.lock(), event, data, None);
        self.shared.notify();
    }

    // -----------------------------------------------------------------------
    // Simulated users
    // -----------------------------------------------------------------------

    /// Dispatches an APPLICATION_COMMAND interaction (type 2).
    pub fn slash_command(&self, invocation: Invocation) -> InteractionHandle {
        let config = &self.shared.config;
        self.dispatch_interaction(&invocation.actor, 2, None, None, |st, id| {
            interactions::command_data(config, st, &invocation, None, id)
        })
    }

    /// Dispatches an APPLICATION_COMMAND_AUTOCOMPLETE interaction (type 4)
    /// with option `focused` marked as focused. Expect a type 8 callback.
    pub fn autocomplete(&self, invocation: Invocation, focused: &str) -> InteractionHandle {
        let config = &self.shared.config;
        self.dispatch_interaction(&invocation.actor, 4, None, None, |st, id| {
            interactions::command_data(config, st, &invocation, Some(focused), id)
        })
    }

    /// Dispatches a button click (type 3, component_type 2) on `message_id`.
    /// The interaction carries the stored message if the fake knows it,
    /// else a minimal bot message with that id. Delivery waits until
    /// [`FakeConfig::user_reaction_delay`] has passed since the message was
    /// created or last edited.
    pub fn button_click(&self, actor: &Actor, custom_id: &str, message_id: u64) -> InteractionHandle {
        let shown_at = self.shared.lock().message(message_id).map(|m| m.updated_at);
        self.dispatch_interaction(actor, 3, Some(message_id), shown_at, |_, _| interactions::button_data(custom_id))
    }

    /// Dispatches a MODAL_SUBMIT (type 5) with one text input per field
    /// (`(custom_id, value)`), each in its own action row. Delivery waits
    /// until [`FakeConfig::user_reaction_delay`] has passed since the modal
    /// with that `custom_id` was opened (if the fake saw it).
    pub fn modal_submit(&self, actor: &Actor, custom_id: &str, fields: &[(&str, &str)]) -> InteractionHandle {
        let fields: Vec<(String, String)> =
            fields.iter().map(|(id, value)| ((*id).to_owned(), (*value).to_owned())).collect();
        let opened_at = self
            .shared
            .lock()
            .interactions
            .values()
            .filter_map(|r| r.response.as_ref())
            .filter(|r| r.kind == 9 && r.custom_id() == Some(custom_id))
            .map(|r| r.at)
            .max();
        self.dispatch_interaction(actor, 5, None, opened_at, |_, _| interactions::modal_data(custom_id, &fields))
    }

    /// The DM channel id the fake uses for `user_id` (created if needed; the
    /// same one `POST /users/@me/channels` returns).
    pub fn dm_channel_for(&self, user_id: u64) -> u64 {
        let mut st = self.shared.lock();
        if let Some(id) = st.dm_channels.get(&user_id) {
            return *id;
        }
        let id = st.ids.next();
        st.dm_channels.insert(user_id, id);
        id
    }

    /// Dispatches MESSAGE_CREATE for a user's DM to the bot (no `guild_id`)
    /// and returns the message id. `channel_id` becomes the user's DM channel.
    pub fn dm_message(&self, user_id: u64, channel_id: u64, content: &str) -> u64 {
        let mut st = self.shared.lock();
        st.dm_channels.insert(user_id, channel_id);
        let name = st.username(user_id);
        let msg = StoredMessage {
            id: st.ids.next(),
            channel_id,
            guild_id: None,
            author_id: user_id,
            source: MessageSource::User,
            content: content.to_owned(),
            embeds: Vec::new(),
            components: Vec::new(),
            nonce: None,
            allowed_mentions: None,
            flags: 0,
            attachments: Vec::new(),
            edits: 0,
            deleted: false,
            timestamp: payloads::now_timestamp(),
            edited_timestamp: None,
            updated_at: Instant::now(),
        };
        let id = msg.id;
        let json = payloads::message(&msg, payloads::user(user_id, &name, false), self.shared.config.application_id);
        st.messages.push(msg);
        gateway::send_dispatch(&mut st, "MESSAGE_CREATE", json, None);
        drop(st);
        self.shared.notify();
        id
    }

    /// Builds, records and dispatches an interaction. `shown_at` is when the
    /// UI the user reacts to appeared; delivery is held back until
    /// `user_reaction_delay` after it.
    fn dispatch_interaction(
        &self,
        actor: &Actor,
        kind: u8,
        message_id: Option<u64>,
        shown_at: Option<Instant>,
        data: impl FnOnce(&State, u64) -> Value,
    ) -> InteractionHandle {
        let config = &self.shared.config;
        let mut st = self.shared.lock();
        st.users.insert(actor.user_id, actor.username.clone());
        match actor.guild_id {
            Some(guild_id) => {
                st.members.insert((guild_id, actor.user_id), actor.roles.clone());
            }
            None => {
                st.dm_channels.insert(actor.user_id, actor.channel_id);
            }
        }

        let id = st.ids.next();
        let handle = InteractionHandle { id, token: format!("fake-interaction-token-{id}"), kind };
        let data = data(&st, id);
        let message = message_id.map(|mid| component_message(&self.shared, &st, actor, mid));
        let spec = InteractionSpec { id, token: &handle.token, kind, data, message };
        let mut payload = interactions::interaction(config, actor, spec);
        refusals::apply_app_permissions(&st, actor.channel_id, &mut payload);
        st.interactions.insert(
            id,
            InteractionRecord {
                handle: handle.clone(),
                guild_id: actor.guild_id,
                channel_id: actor.channel_id,
                message_id,
                delivered_at: None,
                response: None,
                original_id: None,
                followup_ids: Vec::new(),
            },
        );
        drop(st);

        let deliver_at = shown_at.map(|t| t + config.user_reaction_delay).filter(|t| *t > Instant::now());
        let shared = Arc::clone(&self.shared);
        let deliver = move || {
            gateway::send_dispatch(&mut shared.lock(), "INTERACTION_CREATE", payload, Some(id));
            shared.notify();
        };
        match deliver_at {
            Some(at) => {
                tokio::spawn(async move {
                    tokio::time::sleep_until(at.into()).await;
                    deliver();
                });
            }
            None => deliver(),
        }
        handle
    }

    // -----------------------------------------------------------------------
    // Interaction responses
    // -----------------------------------------------------------------------

    /// The callback the bot sent for `handle`, if any.
    pub fn interaction_response(&self, handle: &InteractionHandle) -> Option<InteractionResponse> {
        self.shared.lock().interactions.get(&handle.id)?.response.clone()
    }

    /// Waits for the callback (`POST /interactions/{id}/{token}/callback`).
    /// Its `elapsed` is measured from delivery of INTERACTION_CREATE.
    pub async fn wait_interaction_response(
        &self,
        handle: &InteractionHandle,
        timeout: Duration,
    ) -> InteractionResponse {
        let what = format!("the callback of interaction {}", handle.id);
        self.wait_until(timeout, &what, |f| f.interaction_response(handle)).await
    }

    /// The original response message (type 4 or 5 callback, then edits).
    pub fn original_response(&self, handle: &InteractionHandle) -> Option<StoredMessage> {
        let st = self.shared.lock();
        let id = st.interactions.get(&handle.id)?.original_id?;
        st.message(id).cloned()
    }

    /// Waits until the original response has been edited (`PATCH …/@original`) at least once.
    pub async fn wait_original_edit(&self, handle: &InteractionHandle, timeout: Duration) -> StoredMessage {
        let what = format!("an edit of the original response of interaction {}", handle.id);
        self.wait_until(timeout, &what, |f| f.original_response(handle).filter(|m| m.edits > 0)).await
    }

    /// Follow-up messages (`POST /webhooks/{app}/{token}`), oldest first.
    pub fn followups(&self, handle: &InteractionHandle) -> Vec<StoredMessage> {
        let st = self.shared.lock();
        let Some(record) = st.interactions.get(&handle.id) else {
            return Vec::new();
        };
        record.followup_ids.iter().filter_map(|id| st.message(*id).cloned()).collect()
    }

    /// Waits for the first follow-up and returns it.
    pub async fn wait_followup(&self, handle: &InteractionHandle, timeout: Duration) -> StoredMessage {
        let mut all = self.wait_followups(handle, 1, timeout).await;
        all.swap_remove(0)
    }

    /// Waits until there are at least `n` follow-ups and returns them all.
    pub async fn wait_followups(&self, handle: &InteractionHandle, n: usize, timeout: Duration) -> Vec<StoredMessage> {
        let what = format!("{n} follow-up(s) of interaction {}", handle.id);
        self.wait_until(timeout, &what, |f| Some(f.followups(handle)).filter(|v| v.len() >= n)).await
    }

    // -----------------------------------------------------------------------
    // Channel messages
    // -----------------------------------------------------------------------

    /// Messages the bot posted with `POST /channels/{channel_id}/messages`
    /// (interaction responses are reached through their handle).
    pub fn messages_in(&self, channel_id: u64) -> Vec<StoredMessage> {
        self.shared
            .lock()
            .messages
            .iter()
            .filter(|m| m.channel_id == channel_id && m.source == MessageSource::ChannelPost)
            .cloned()
            .collect()
    }

    /// Waits until `channel_id` holds at least `n` bot-posted messages.
    pub async fn wait_messages(&self, channel_id: u64, n: usize, timeout: Duration) -> Vec<StoredMessage> {
        let what = format!("{n} message(s) in channel {channel_id}");
        self.wait_until(timeout, &what, |f| Some(f.messages_in(channel_id)).filter(|v| v.len() >= n)).await
    }

    /// Every message the fake holds (channel posts, interaction responses,
    /// follow-ups, simulated user DMs), oldest first.
    pub fn all_messages(&self) -> Vec<StoredMessage> {
        self.shared.lock().messages.clone()
    }

    /// A message by id.
    pub fn message(&self, message_id: u64) -> Option<StoredMessage> {
        self.shared.lock().message(message_id).cloned()
    }

    // -----------------------------------------------------------------------
    // Application commands
    // -----------------------------------------------------------------------

    /// Commands registered for `guild_id`, as stored (with `id`, `version`, `application_id`).
    pub fn registered_commands(&self, guild_id: u64) -> Vec<Value> {
        self.shared.lock().commands.get(&Some(guild_id)).cloned().unwrap_or_default()
    }

    /// Names of the commands registered for `guild_id`.
    pub fn registered_command_names(&self, guild_id: u64) -> Vec<String> {
        let commands = self.registered_commands(guild_id);
        commands.iter().filter_map(|c| c.get("name")?.as_str().map(str::to_owned)).collect()
    }

    /// Global commands.
    pub fn global_commands(&self) -> Vec<Value> {
        self.shared.lock().commands.get(&None).cloned().unwrap_or_default()
    }

    // -----------------------------------------------------------------------
    // Waiting
    // -----------------------------------------------------------------------

    /// Re-runs `check` after every change in the fake until it returns
    /// `Some`, and returns that.
    ///
    /// # Panics
    /// When `timeout` passes; the message names `what` and shows recent traffic.
    pub async fn wait_until<T>(
        &self,
        timeout: Duration,
        what: &str,
        mut check: impl FnMut(&FakeDiscord) -> Option<T>,
    ) -> T {
        let mut changes = self.shared.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(value) = check(self) {
                return value;
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                // The sender lives in `shared`; if it is gone, fall back to polling.
                Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(20)).await,
                Err(_) => {
                    if let Some(value) = check(self) {
                        return value;
                    }
                    panic!("fake discord: timed out after {timeout:?} waiting for {what}\n{}", self.diagnostics());
                }
            }
        }
    }

    /// A summary of the fake's state for failure messages (no secrets).
    pub fn diagnostics(&self) -> String {
        let st = self.shared.lock();
        let gw = &st.gateway;
        let mut out = format!(
            "gateway: connected={} connections={} identifies={} resumes={} undelivered_events={}\n",
            gw.is_ready(),
            gw.connections,
            gw.identifies.len(),
            gw.resumes.len(),
            gw.undelivered.len()
        );
        for session in &gw.sessions {
            let state = match (session.socket, session.ended) {
                (Some(_), _) => "on a socket",
                (None, false) => "without a socket",
                (None, true) => "ended",
            };
            out.push_str(&format!(
                "  session {} shard {:?}: {state}, seq {}\n",
                session.id, session.shard, session.seq
            ));
        }
        let skip = st.requests.len().saturating_sub(20);
        out.push_str(&format!("last {} request(s):\n", st.requests.len() - skip));
        for r in &st.requests[skip..] {
            out.push_str(&format!("  {} -> {}", r.line(), r.status));
            if let Some(e) = &r.error {
                out.push_str(&format!(" ({e})"));
            }
            out.push('\n');
        }
        if !st.unknown_routes.is_empty() {
            out.push_str(&format!("unknown routes: {:?}\n", st.unknown_routes));
        }
        out
    }
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        gateway::close_connection(&mut self.shared.lock(), 1001, "fake discord: shutting down");
        self.server.abort();
    }
}

/// Strips a leading `/api/v10` so prefixes can be given either way.
fn api_relative(path: &str) -> &str {
    path.strip_prefix("/api/v10").unwrap_or(path)
}

/// The message a component interaction is attached to.
fn component_message(shared: &Shared, st: &State, actor: &Actor, message_id: u64) -> Value {
    let config = &shared.config;
    let msg = st.message(message_id).cloned().unwrap_or_else(|| StoredMessage {
        id: message_id,
        channel_id: actor.channel_id,
        guild_id: actor.guild_id,
        author_id: config.bot_user_id,
        source: MessageSource::ChannelPost,
        content: String::new(),
        embeds: Vec::new(),
        components: Vec::new(),
        nonce: None,
        allowed_mentions: None,
        flags: 0,
        attachments: Vec::new(),
        edits: 0,
        deleted: false,
        timestamp: payloads::now_timestamp(),
        edited_timestamp: None,
        updated_at: Instant::now(),
    });
    let author = if msg.author_id == config.bot_user_id {
        payloads::bot_user(config)
    } else {
        payloads::user(msg.author_id, &st.username(msg.author_id), false)
    };
    payloads::message(&msg, author, config.application_id)
}
