//! Gateway sessions, kept as Discord keeps them.
//!
//! A session starts with IDENTIFY and gets its own `session_id` and
//! sequence numbers. Several sessions on the bot's one token may be live at
//! once (two processes started with the same token IDENTIFY the same shard,
//! or the processes of a sharded bot each IDENTIFY their own shards).
//!
//! Sharding, as Discord does it: IDENTIFY's `shard` is `[shard_id,
//! num_shards]` (absent means `[0, 1]`). A guild belongs to shard
//! `(guild_id >> 22) % num_shards` ([`shard_for_guild`]); its events
//! (GUILD_CREATE and GUILD_DELETE, interactions in it, its messages) go to
//! the sessions of that shard, and so do its entry in READY and its
//! GUILD_CREATE after READY. Events outside any guild (DMs, DM
//! interactions) go to shard 0. `num_shards` must be the bot's shard count
//! ([`FakeConfig::shards`](super::FakeConfig::shards), what `GET /gateway/bot`
//! reports), and `shard_id` below it: any other IDENTIFY is closed with 4010
//! (Invalid shard). (Discord itself accepts any count that is large enough;
//! the fake holds every process of one test to one count, so a process
//! started with another is caught.) Every session of the owning shard
//! receives a dispatch: unsharded sessions (all `[0, 1]`) all get every
//! event, which is how two copies of a bot both answer every DM and race
//! for every interaction callback.
//!
//! A session lives on its socket. When the socket closes without a close
//! frame, or with any code but 1000/1001, the session stays resumable for
//! [`FakeConfig::session_resume_window`](super::FakeConfig::session_resume_window):
//! it keeps receiving (into its log, not on a socket), and a RESUME on a new
//! socket takes it over, replays what came after the client's `seq`, then
//! says RESUMED. A close with 1000 or 1001 ends the session at once (the bot
//! logged off), and so does op 9 INVALID SESSION `false`; a session not
//! resumed within the window ends too. An ended session receives nothing,
//! and a RESUME of it gets op 9 `false`.
//!
//! Events dispatched while no session of their shard had a socket are also
//! handed to the next session of that shard that IDENTIFYs, after its READY
//! and GUILD_CREATEs: a bot restarted in a test must not lose what a
//! simulated user did meanwhile (Discord would drop them). A RESUME
//! delivers them from the session's own log instead.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::mpsc;

use super::FakeDiscord;

/// A frame for one socket's writer task.
#[derive(Debug)]
pub(crate) enum Outgoing {
    Text(String),
    Close { code: u16, reason: String },
}

/// The shard Discord routes `guild_id`'s events to when the bot runs
/// `num_shards` shards: `(guild_id >> 22) % num_shards` (Discord's
/// "Sharding" docs). `num_shards` 0 counts as 1.
pub fn shard_for_guild(guild_id: u64, num_shards: u64) -> u64 {
    (guild_id >> 22) % num_shards.max(1)
}

/// Where a dispatch belongs: a guild's shard, or shard 0 for what happens
/// outside any guild (DMs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Guild(u64),
    Direct,
}

impl Route {
    /// The route of event `name` with payload `data`: GUILD_CREATE and
    /// GUILD_DELETE carry the guild as `id`, guild events as `guild_id`;
    /// anything without one is direct.
    pub fn of(name: &str, data: &Value) -> Route {
        let field = if matches!(name, "GUILD_CREATE" | "GUILD_DELETE") { "id" } else { "guild_id" };
        let guild = data.get(field).and_then(|v| v.as_str().and_then(|s| s.parse().ok()).or_else(|| v.as_u64()));
        guild.map_or(Route::Direct, Route::Guild)
    }

    /// Whether a session IDENTIFYed as `shard` (`[shard_id, num_shards]`)
    /// receives it.
    pub fn owned_by(self, [id, total]: [u64; 2]) -> bool {
        match self {
            Route::Guild(guild) => shard_for_guild(guild, total) == id,
            Route::Direct => id == 0,
        }
    }
}

/// An event waiting for the next session of its shard to IDENTIFY.
pub(crate) struct PendingEvent {
    pub name: String,
    pub data: Value,
    pub interaction_id: Option<u64>,
    pub route: Route,
}

/// A dispatch as a session received it, kept for replay on RESUME.
pub(crate) struct Logged {
    pub seq: u64,
    pub name: String,
    pub frame: String,
    pub interaction_id: Option<u64>,
}

/// One gateway session.
pub(crate) struct Session {
    /// `fake-session-N`, N counting IDENTIFYs.
    pub id: String,
    /// IDENTIFY's `shard` (`[shard_id, num_shards]`), if it sent one.
    pub shard: Option<[u64; 2]>,
    /// Last sequence number of the session.
    pub seq: u64,
    /// The socket the session is on (its connection id).
    pub socket: Option<u64>,
    /// When it lost its socket; resumable until the window has passed.
    pub disconnected_at: Option<Instant>,
    /// Logged off, invalidated or not resumed in time.
    pub ended: bool,
    /// Every dispatch of the session (READY included, RESUMED not).
    pub log: Vec<Logged>,
    /// Highest sequence number written on one of its sockets.
    pub sent_seq: u64,
    pub resumes: usize,
}

impl Session {
    /// The shard it serves: IDENTIFY's, or `[0, 1]` when it sent none.
    pub fn serves(&self) -> [u64; 2] {
        self.shard.unwrap_or([0, 1])
    }

    fn live(&self, now: Instant, window: Duration) -> bool {
        !self.ended && (self.socket.is_some() || self.disconnected_at.is_some_and(|t| now.duration_since(t) < window))
    }

    fn info(&self, now: Instant, window: Duration) -> SessionInfo {
        let mut received = BTreeMap::new();
        for logged in self.log.iter().filter(|l| l.seq <= self.sent_seq) {
            *received.entry(logged.name.clone()).or_insert(0) += 1;
        }
        let state = if self.socket.is_some() {
            SessionState::Connected
        } else if self.live(now, window) {
            SessionState::Resumable
        } else {
            SessionState::Ended
        };
        SessionInfo {
            session_id: self.id.clone(),
            shard: self.shard,
            state,
            seq: self.seq,
            resumes: self.resumes,
            received,
        }
    }
}

/// The gateway side of the fake's state.
#[derive(Default)]
pub(crate) struct GatewayState {
    /// Open sockets: connection id → the writer of its task. Dropping a
    /// sender ends that socket's task.
    pub sockets: BTreeMap<u64, mpsc::UnboundedSender<Outgoing>>,
    pub next_connection_id: u64,
    /// Sockets accepted so far.
    pub connections: u64,
    /// Every session started, in IDENTIFY order.
    pub sessions: Vec<Session>,
    /// How long a session without a socket stays resumable (from the config).
    pub resume_window: Duration,
    /// Most sessions live at the same time so far.
    pub peak_sessions: usize,
    /// IDENTIFY `d` payloads (token redacted).
    pub identifies: Vec<Value>,
    /// RESUME `d` payloads (token redacted).
    pub resumes: Vec<Value>,
    pub heartbeats: u64,
    /// Events dispatched while no session of their shard had a socket.
    pub undelivered: Vec<PendingEvent>,
}

impl GatewayState {
    /// Whether some session is on a socket (READY or RESUMED was sent on it).
    pub fn is_ready(&self) -> bool {
        self.sessions.iter().any(|s| s.socket.is_some())
    }

    /// Ends the sessions whose resume window has passed.
    pub fn expire(&mut self, now: Instant) {
        let window = self.resume_window;
        for session in &mut self.sessions {
            if !session.ended && !session.live(now, window) {
                session.ended = true;
            }
        }
    }

    /// Sessions that receive dispatches: on a socket or still resumable.
    pub fn live_count(&self, now: Instant) -> usize {
        self.sessions.iter().filter(|s| s.live(now, self.resume_window)).count()
    }

    /// Indexes of the sessions a dispatch on `route` goes to: every live
    /// session of the shard that owns it (module docs). Unsharded sessions
    /// all serve `[0, 1]`, so each of them gets everything.
    pub fn recipients(&mut self, now: Instant, route: Route) -> Vec<usize> {
        self.expire(now);
        (0..self.sessions.len())
            .filter(|i| !self.sessions[*i].ended && route.owned_by(self.sessions[*i].serves()))
            .collect()
    }

    /// The session on socket `connection_id`.
    pub fn session_on(&self, connection_id: u64) -> Option<usize> {
        self.sessions.iter().position(|s| s.socket == Some(connection_id))
    }

    /// A live session by id.
    pub fn live_session(&mut self, session_id: &str, now: Instant) -> Option<usize> {
        self.expire(now);
        self.sessions.iter().position(|s| s.id == session_id && !s.ended)
    }

    /// Starts a session on `connection_id`; returns its index.
    pub fn start_session(&mut self, connection_id: u64, shard: Option<[u64; 2]>) -> usize {
        let now = Instant::now();
        self.expire(now);
        self.sessions.push(Session {
            id: format!("fake-session-{}", self.identifies.len()),
            shard,
            seq: 0,
            socket: Some(connection_id),
            disconnected_at: None,
            ended: false,
            log: Vec::new(),
            sent_seq: 0,
            resumes: 0,
        });
        self.peak_sessions = self.peak_sessions.max(self.live_count(now));
        self.sessions.len() - 1
    }

    /// The socket `connection_id` is gone (or no longer the session's): its
    /// session, if any, stays resumable, or ends when `logged_off` (the client
    /// closed with 1000 or 1001).
    pub fn detach(&mut self, connection_id: u64, logged_off: bool) {
        if let Some(i) = self.session_on(connection_id) {
            let session = &mut self.sessions[i];
            session.socket = None;
            session.disconnected_at = Some(Instant::now());
            session.ended |= logged_off;
        }
    }

    /// Logs the next dispatch of session `i` and writes it on its socket.
    /// Returns whether it was written.
    pub fn send_to(&mut self, i: usize, name: &str, data: &Value, interaction_id: Option<u64>) -> bool {
        let session = &mut self.sessions[i];
        session.seq += 1;
        let frame = super::payloads::dispatch_frame(session.seq, name, data);
        let tx = session.socket.and_then(|id| self.sockets.get(&id));
        let written = tx.is_some_and(|tx| tx.send(Outgoing::Text(frame.clone())).is_ok());
        if written {
            session.sent_seq = session.seq;
        }
        session.log.push(Logged { seq: session.seq, name: name.to_owned(), frame, interaction_id });
        written
    }

    /// Writes the dispatches of session `i` after `after` on its socket
    /// again (a RESUME); returns the interactions among them.
    pub fn replay(&mut self, i: usize, after: u64) -> Vec<u64> {
        let session = &mut self.sessions[i];
        let Some(tx) = session.socket.and_then(|id| self.sockets.get(&id)) else {
            return Vec::new();
        };
        let mut interactions = Vec::new();
        for logged in session.log.iter().filter(|l| l.seq > after) {
            if tx.send(Outgoing::Text(logged.frame.clone())).is_err() {
                break;
            }
            session.sent_seq = session.sent_seq.max(logged.seq);
            interactions.extend(logged.interaction_id);
        }
        interactions
    }
}

/// Where a session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionState {
    /// On an open socket: dispatches are written to it.
    Connected,
    /// Its socket is gone but a RESUME may still take it over: dispatches
    /// are kept for the replay.
    Resumable,
    /// Logged off (close 1000/1001), invalidated (op 9 `false`) or not
    /// resumed within the window: it receives nothing more.
    Ended,
}

/// A snapshot of one gateway session ([`FakeDiscord::sessions`]).
#[derive(Clone, Debug)]
pub struct SessionInfo {
    /// The `session_id` READY gave it.
    pub session_id: String,
    /// `shard` of its IDENTIFY (`[shard_id, num_shards]`), if any.
    pub shard: Option<[u64; 2]>,
    /// Whether it is on a socket, resumable or ended.
    pub state: SessionState,
    /// Its last sequence number.
    pub seq: u64,
    /// Successful RESUMEs of it.
    pub resumes: usize,
    /// Dispatches written to one of its sockets, by event name (`READY`,
    /// `GUILD_CREATE`, `MESSAGE_CREATE`, …; RESUMED not counted). A replayed
    /// event counts once.
    pub received: BTreeMap<String, u64>,
}

impl SessionInfo {
    /// How many `event` dispatches it received.
    pub fn received(&self, event: &str) -> u64 {
        self.received.get(event).copied().unwrap_or(0)
    }
}

impl FakeDiscord {
    /// Sessions that receive dispatches now: on a socket, or resumable (see
    /// the module docs of `sessions.rs`). Two copies of a bot on one token
    /// make this 2.
    pub fn session_count(&self) -> usize {
        let mut st = self.shared.lock();
        let now = Instant::now();
        st.gateway.expire(now);
        st.gateway.live_count(now)
    }

    /// Every session started so far, in IDENTIFY order (ended ones included).
    pub fn sessions(&self) -> Vec<SessionInfo> {
        let mut st = self.shared.lock();
        let now = Instant::now();
        st.gateway.expire(now);
        let window = st.gateway.resume_window;
        st.gateway.sessions.iter().map(|s| s.info(now, window)).collect()
    }

    /// The most sessions that were live at the same time since the fake
    /// started: 1 means no two copies of the bot ever received events at once.
    pub fn max_concurrent_sessions(&self) -> usize {
        self.shared.lock().gateway.peak_sessions
    }
}
