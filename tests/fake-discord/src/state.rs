//! Shared mutable state of the fake, behind one mutex, plus the change
//! signal every `wait_*` helper listens to.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use serde_json::Value;
use tokio::sync::watch;

use super::config::FakeConfig;
use super::model::{InteractionHandle, InteractionResponse, RecordedRequest, StoredMessage};
use super::sessions::GatewayState;

/// Everything the HTTP handlers, the gateway task and the test-facing API share.
pub(crate) struct Shared {
    pub config: FakeConfig,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    state: Mutex<State>,
    /// Bumped after every change; `wait_*` helpers re-check on each bump.
    changes: watch::Sender<u64>,
}

impl Shared {
    pub fn new(config: FakeConfig, base: String) -> Self {
        let (changes, _) = watch::channel(0);
        let mut state = State::default();
        state.gateway.resume_window = config.session_resume_window;
        Self { config, base, state: Mutex::new(state), changes }
    }

    /// Locks the state. A panic while locked (only possible in a test
    /// closure) must not wedge the server, so poisoning is ignored.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Wakes every waiter.
    pub fn notify(&self) {
        self.changes.send_modify(|v| *v = v.wrapping_add(1));
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

#[derive(Default)]
pub(crate) struct State {
    pub ids: Snowflakes,
    pub requests: Vec<RecordedRequest>,
    /// `"METHOD /path"` of requests no route matched.
    pub unknown_routes: Vec<String>,
    pub faults: Vec<Fault>,
    /// Armed with `delay_next_response`: matching requests take effect at
    /// once but are answered late.
    pub delays: Vec<Delay>,
    /// Registered commands: key `None` = global, `Some(guild)` = guild commands.
    pub commands: BTreeMap<Option<u64>, Vec<Value>>,
    /// Every message the fake knows, in creation order.
    pub messages: Vec<StoredMessage>,
    /// DM channel id per user id.
    pub dm_channels: HashMap<u64, u64>,
    /// Users seen (from interactions or DMs): id → username.
    pub users: HashMap<u64, String>,
    /// Guild members seen in interactions: (guild, user) → role ids.
    pub members: HashMap<(u64, u64), Vec<u64>>,
    pub interactions: HashMap<u64, InteractionRecord>,
    pub gateway: GatewayState,
    /// Closed DMs, deleted channels, members who left, …
    pub refusals: super::refusals::Refusals,
    /// Guilds the bot was removed from (`FakeDiscord::remove_bot_from_guild`).
    pub removed_guilds: HashSet<u64>,
    /// Whether the bot's token is refused (`FakeDiscord::refuse_token`).
    pub token_refusal: super::auth::TokenRefusal,
    /// Discord's rate limits, when a test turns them on.
    pub rate_limits: super::ratelimits::RateLimits,
}

impl State {
    pub fn message(&self, id: u64) -> Option<&StoredMessage> {
        self.messages.iter().find(|m| m.id == id)
    }

    pub fn message_mut(&mut self, id: u64) -> Option<&mut StoredMessage> {
        self.messages.iter_mut().find(|m| m.id == id)
    }

    pub fn interaction_by_token(&self, token: &str) -> Option<&InteractionRecord> {
        self.interactions.values().find(|r| r.handle.token == token)
    }

    /// The user id behind a DM channel, if `channel_id` is one.
    pub fn dm_recipient(&self, channel_id: u64) -> Option<u64> {
        self.dm_channels.iter().find(|(_, c)| **c == channel_id).map(|(u, _)| *u)
    }

    pub fn username(&self, user_id: u64) -> String {
        self.users.get(&user_id).cloned().unwrap_or_else(|| format!("user{user_id}"))
    }
}

/// Snowflake generator: real-looking ids (timestamp since the Discord epoch
/// in the high bits), strictly increasing.
#[derive(Default)]
pub(crate) struct Snowflakes {
    last: u64,
}

impl Snowflakes {
    const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

    pub fn next(&mut self) -> u64 {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(Self::DISCORD_EPOCH_MS);
        let candidate = now_ms.saturating_sub(Self::DISCORD_EPOCH_MS) << 22;
        self.last = candidate.max(self.last + 1);
        self.last
    }
}

/// What an injected fault answers with.
#[derive(Clone, Debug)]
pub(crate) enum FaultKind {
    RateLimited { retry_after: f64 },
    Status { status: u16 },
}

/// A fault armed with `fail_next*`: matches `method` + path prefix.
#[derive(Clone, Debug)]
pub(crate) struct Fault {
    pub method: String,
    /// Prefix of the path below `/api/v10`.
    pub path_prefix: String,
    pub remaining: u32,
    pub kind: FaultKind,
}

impl Fault {
    pub fn matches(&self, method: &str, api_path: &str) -> bool {
        self.remaining > 0 && self.method.eq_ignore_ascii_case(method) && api_path.starts_with(&self.path_prefix)
    }
}

/// A response delay armed with `delay_next_response`.
#[derive(Clone, Debug)]
pub(crate) struct Delay {
    pub method: String,
    /// Prefix of the path below `/api/v10`.
    pub path_prefix: String,
    pub remaining: u32,
    pub delay: std::time::Duration,
}

/// Bookkeeping for one dispatched interaction.
pub(crate) struct InteractionRecord {
    pub handle: InteractionHandle,
    pub guild_id: Option<u64>,
    pub channel_id: u64,
    /// For component interactions: the message the component sits on.
    pub message_id: Option<u64>,
    /// When INTERACTION_CREATE first went out on a socket (None while queued).
    pub delivered_at: Option<Instant>,
    pub response: Option<InteractionResponse>,
    /// Id of the original response message, once there is one.
    pub original_id: Option<u64>,
    pub followup_ids: Vec<u64>,
}
