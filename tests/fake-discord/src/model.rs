//! Public records the fake keeps (requests, messages, interaction
//! responses) and the inputs tests use to simulate users.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use serde_json::Value;

// ---------------------------------------------------------------------------
// Recorded HTTP traffic
// ---------------------------------------------------------------------------

/// One HTTP request the bot made, as the fake saw it.
///
/// `Debug` redacts the `authorization` header: never print
/// [`RecordedRequest::header`]`("authorization")` yourself either.
#[derive(Clone)]
pub struct RecordedRequest {
    /// Position in [`super::FakeDiscord::requests`] (0-based).
    pub seq: usize,
    /// Upper-case HTTP method, e.g. `POST`.
    pub method: String,
    /// Full path, e.g. `/api/v10/channels/1/messages`.
    pub path: String,
    /// Raw query string without `?`, if any.
    pub query: Option<String>,
    /// Headers with lower-cased names (the secret `authorization` included).
    pub headers: BTreeMap<String, String>,
    /// Parsed JSON body; for multipart, the parsed `payload_json` field.
    pub body: Option<Value>,
    /// Files uploaded as multipart `files[n]` parts.
    pub attachments: Vec<Attachment>,
    /// Status the fake answered with.
    pub status: u16,
    /// Why the fake answered 4xx, if it did (bad JSON, validation, injected fault …).
    pub error: Option<String>,
    /// When the request arrived.
    pub at: Instant,
}

impl RecordedRequest {
    /// A header by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    /// The path below `/api/v10`, e.g. `/channels/1/messages`.
    pub fn api_path(&self) -> &str {
        self.path.strip_prefix("/api/v10").unwrap_or(&self.path)
    }

    /// `"POST /api/v10/channels/1/messages"`.
    pub fn line(&self) -> String {
        match &self.query {
            Some(q) => format!("{} {}?{}", self.method, self.path, q),
            None => format!("{} {}", self.method, self.path),
        }
    }
}

impl fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: BTreeMap<&str, &str> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let shown = if k == "authorization" { "[redacted]" } else { v.as_str() };
                (k.as_str(), shown)
            })
            .collect();
        f.debug_struct("RecordedRequest")
            .field("seq", &self.seq)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &headers)
            .field("body", &self.body)
            .field("attachments", &self.attachments)
            .field("status", &self.status)
            .field("error", &self.error)
            .finish()
    }
}

/// A file sent as a multipart part.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Snowflake the fake assigned.
    pub id: u64,
    pub filename: String,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl Attachment {
    /// The bytes as UTF-8 (lossy), for text attachments.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("id", &self.id)
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

// ---------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------

/// How a stored message came to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageSource {
    /// `POST /channels/{id}/messages` by the bot.
    ChannelPost,
    /// The original response of an interaction (callback type 4, 5 or 7).
    InteractionResponse { interaction_id: u64 },
    /// `POST /webhooks/{app}/{token}` by the bot.
    Followup { interaction_id: u64 },
    /// A user message the test dispatched with [`super::FakeDiscord::dm_message`].
    User,
}

/// A message held by the fake.
#[derive(Clone, Debug)]
pub struct StoredMessage {
    pub id: u64,
    pub channel_id: u64,
    pub guild_id: Option<u64>,
    pub author_id: u64,
    pub source: MessageSource,
    pub content: String,
    pub embeds: Vec<Value>,
    pub components: Vec<Value>,
    /// As sent (string or integer).
    pub nonce: Option<Value>,
    pub allowed_mentions: Option<Value>,
    /// Message flags (64 = EPHEMERAL).
    pub flags: u64,
    pub attachments: Vec<Attachment>,
    /// Number of edits (PATCH) applied.
    pub edits: usize,
    pub deleted: bool,
    /// RFC 3339 creation time.
    pub timestamp: String,
    pub edited_timestamp: Option<String>,
    /// When the fake created or last edited it.
    pub updated_at: Instant,
}

impl StoredMessage {
    /// Whether the EPHEMERAL flag (64) is set.
    pub fn is_ephemeral(&self) -> bool {
        self.flags & 64 != 0
    }
}

// ---------------------------------------------------------------------------
// Interactions
// ---------------------------------------------------------------------------

/// Identifies an interaction the fake dispatched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InteractionHandle {
    pub id: u64,
    pub token: String,
    /// Interaction type: 2 command, 3 component, 4 autocomplete, 5 modal submit.
    pub kind: u8,
}

/// The bot's answer to `POST /interactions/{id}/{token}/callback`.
#[derive(Clone, Debug)]
pub struct InteractionResponse {
    /// Callback type: 4 message, 5 deferred message, 6 deferred update,
    /// 7 update message, 8 autocomplete result, 9 modal.
    pub kind: u8,
    /// The callback's `data` (or `Value::Null`).
    pub data: Value,
    pub attachments: Vec<Attachment>,
    /// Time from delivering INTERACTION_CREATE on the socket to the callback.
    pub elapsed: Duration,
    /// When the callback arrived.
    pub at: Instant,
}

impl InteractionResponse {
    /// `data.flags` (0 when absent).
    pub fn flags(&self) -> u64 {
        self.data.get("flags").and_then(Value::as_u64).unwrap_or(0)
    }

    /// Whether `data.flags` has EPHEMERAL (64).
    pub fn is_ephemeral(&self) -> bool {
        self.flags() & 64 != 0
    }

    /// `data.content` (empty when absent).
    pub fn content(&self) -> &str {
        self.data.get("content").and_then(Value::as_str).unwrap_or("")
    }

    /// `data.custom_id` (modals).
    pub fn custom_id(&self) -> Option<&str> {
        self.data.get("custom_id").and_then(Value::as_str)
    }
}

/// Who acts, and where: the user behind an interaction.
#[derive(Clone, Debug)]
pub struct Actor {
    /// `None` for a DM with the bot.
    pub guild_id: Option<u64>,
    pub channel_id: u64,
    pub user_id: u64,
    pub username: String,
    /// Role ids of the member (guild only; `@everyone` is implicit).
    pub roles: Vec<u64>,
    /// The member's computed permissions in the channel (guild only).
    pub permissions: u64,
    pub locale: String,
}

impl Actor {
    /// A member of `guild_id` acting in `channel_id`, with `@everyone`'s
    /// default permissions and no extra roles.
    pub fn in_guild(guild_id: u64, channel_id: u64, user_id: u64) -> Self {
        Self {
            guild_id: Some(guild_id),
            channel_id,
            user_id,
            username: format!("user{user_id}"),
            roles: Vec::new(),
            permissions: super::permissions::EVERYONE_DEFAULT,
            locale: "en-US".to_owned(),
        }
    }

    /// A user acting in their DM channel with the bot.
    pub fn in_dm(channel_id: u64, user_id: u64) -> Self {
        Self {
            guild_id: None,
            channel_id,
            user_id,
            username: format!("user{user_id}"),
            roles: Vec::new(),
            permissions: super::permissions::EVERYONE_DEFAULT,
            locale: "en-US".to_owned(),
        }
    }

    /// The actor's roles in the guild (none by default).
    pub fn roles(mut self, roles: Vec<u64>) -> Self {
        self.roles = roles;
        self
    }

    /// The actor's resolved permission bits in the channel (by default
    /// [`super::permissions::EVERYONE_DEFAULT`]).
    pub fn permissions(mut self, permissions: u64) -> Self {
        self.permissions = permissions;
        self
    }

    /// The name the fake shows for the actor (by default `user{id}`).
    pub fn username(mut self, username: &str) -> Self {
        self.username = username.to_owned();
        self
    }

    /// The locale interactions carry (by default `en-US`).
    pub fn locale(mut self, locale: &str) -> Self {
        self.locale = locale.to_owned();
        self
    }

    /// Starts a slash command invocation by this actor.
    pub fn command(&self, name: &str) -> Invocation {
        Invocation::new(self.clone(), name)
    }
}

/// The value of a slash-command option.
#[derive(Clone, Debug, PartialEq)]
pub enum OptionValue {
    String(String),
    Integer(i64),
    Number(f64),
    Boolean(bool),
    /// A user id; the fake adds `resolved.users` (and `resolved.members` in a guild).
    User(u64),
    /// A channel id; the fake adds `resolved.channels`.
    Channel(u64),
    /// A role id; the fake adds `resolved.roles`.
    Role(u64),
    /// Anything else: the raw option `type` and `value`.
    Raw {
        kind: u8,
        value: Value,
    },
}

impl OptionValue {
    /// The Discord option type number.
    pub fn kind(&self) -> u8 {
        match self {
            Self::String(_) => 3,
            Self::Integer(_) => 4,
            Self::Boolean(_) => 5,
            Self::User(_) => 6,
            Self::Channel(_) => 7,
            Self::Role(_) => 8,
            Self::Number(_) => 10,
            Self::Raw { kind, .. } => *kind,
        }
    }

    /// The option `value` as Discord sends it (ids as strings).
    pub fn json(&self) -> Value {
        match self {
            Self::String(s) => Value::from(s.as_str()),
            Self::Integer(i) => Value::from(*i),
            Self::Number(n) => Value::from(*n),
            Self::Boolean(b) => Value::from(*b),
            Self::User(id) | Self::Channel(id) | Self::Role(id) => Value::from(id.to_string()),
            Self::Raw { value, .. } => value.clone(),
        }
    }
}

impl From<&str> for OptionValue {
    fn from(v: &str) -> Self {
        Self::String(v.to_owned())
    }
}
impl From<String> for OptionValue {
    fn from(v: String) -> Self {
        Self::String(v)
    }
}
impl From<i64> for OptionValue {
    fn from(v: i64) -> Self {
        Self::Integer(v)
    }
}
impl From<i32> for OptionValue {
    fn from(v: i32) -> Self {
        Self::Integer(v.into())
    }
}
impl From<f64> for OptionValue {
    fn from(v: f64) -> Self {
        Self::Number(v)
    }
}
impl From<bool> for OptionValue {
    fn from(v: bool) -> Self {
        Self::Boolean(v)
    }
}
/// Strings, integers, floats and booleans map to their option types; anything
/// else becomes a string option holding the JSON text.
impl From<Value> for OptionValue {
    fn from(v: Value) -> Self {
        match v {
            Value::String(s) => Self::String(s),
            Value::Bool(b) => Self::Boolean(b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Self::Integer(i),
                None => Self::Number(n.as_f64().unwrap_or_default()),
            },
            other => Self::String(other.to_string()),
        }
    }
}

/// A slash command (or autocomplete) invocation.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub actor: Actor,
    /// Top-level command name.
    pub name: String,
    /// `"sub"` or `"group sub"`; options then go to the leaf.
    pub subcommand: Option<String>,
    /// Options of the leaf command, in order.
    pub options: Vec<(String, OptionValue)>,
}

impl Invocation {
    /// `/name` by `actor`, without options; [`Actor::command`] is the short form.
    pub fn new(actor: Actor, name: &str) -> Self {
        Self { actor, name: name.to_owned(), subcommand: None, options: Vec::new() }
    }

    /// Invokes a subcommand (`"sub"`) or a subcommand in a group (`"group sub"`).
    pub fn subcommand(mut self, path: &str) -> Self {
        self.subcommand = Some(path.to_owned());
        self
    }

    /// Adds an option.
    pub fn option(mut self, name: &str, value: impl Into<OptionValue>) -> Self {
        self.options.push((name.to_owned(), value.into()));
        self
    }
}
