//! The REST API under `/api/v10`.
//!
//! One fallback handler reads and records every request, applies injected
//! faults, then routes on `(method, path segments)`. Handlers are plain
//! synchronous functions over the locked state returning a [`Reply`].
//! Unknown routes answer 404 and are listed in `unknown_routes`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State as AxumState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::model::{Attachment, InteractionResponse, MessageSource, RecordedRequest, StoredMessage};
use super::payloads::{self, error_body, now_timestamp};
use super::ratelimits;
use super::state::{FaultKind, Shared, State};
use super::validate::{self, Invalid};
use super::{auth, gateway, guilds};

const MAX_BODY: usize = 64 * 1024 * 1024;
const API_PREFIX: &str = "/api/v10";

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/ws", get(gateway::upgrade))
        .fallback(handle)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared)
}

// ---------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------

/// What a route answers.
pub(crate) struct Reply {
    status: u16,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
    /// Recorded on the request for 4xx answers.
    error: Option<String>,
    /// No route matched: the request is listed in `unknown_routes`.
    unknown_route: bool,
}

impl Reply {
    fn json(body: Value) -> Self {
        Self { status: 200, body: Some(body), headers: Vec::new(), error: None, unknown_route: false }
    }

    fn created(body: Value) -> Self {
        Self { status: 201, ..Self::json(body) }
    }

    fn no_content() -> Self {
        Self { status: 204, body: None, headers: Vec::new(), error: None, unknown_route: false }
    }

    /// A Discord JSON error (`{"code", "message"}`).
    fn error(status: u16, code: u64, message: &str) -> Self {
        Self {
            status,
            body: Some(error_body(code, message)),
            headers: Vec::new(),
            error: Some(format!("{status} {code}: {message}")),
            unknown_route: false,
        }
    }

    fn bad_form(detail: impl Into<String>) -> Self {
        let detail = detail.into();
        let mut reply = Self::error(400, 50035, &format!("Invalid Form Body ({detail})"));
        reply.error = Some(format!("400 50035: {detail}"));
        reply
    }

    fn rate_limited(retry_after: f64) -> Self {
        Self {
            status: 429,
            body: Some(json!({
                "message": "You are being rate limited.",
                "retry_after": retry_after,
                "global": false,
            })),
            headers: vec![
                ("retry-after", format!("{}", retry_after.ceil() as u64)),
                ("x-ratelimit-global", "false".into()),
                ("x-ratelimit-scope", "user".into()),
                ("x-ratelimit-limit", "5".into()),
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset", format!("{:.3}", unix_now_secs() + retry_after)),
                ("x-ratelimit-reset-after", format!("{retry_after:.3}")),
                ("x-ratelimit-bucket", "fake-bucket".into()),
            ],
            error: Some(format!("injected 429 (retry_after {retry_after})")),
            unknown_route: false,
        }
    }

    /// A 429 of Discord's rate limits (see `ratelimits`).
    fn limited(limit: ratelimits::Limit) -> Self {
        let mut reply = Self::rate_limited(limit.retry_after);
        if let Some(body) = reply.body.as_mut() {
            body["global"] = json!(limit.global);
        }
        reply.headers.retain(|(name, _)| !name.starts_with("x-ratelimit-"));
        reply.headers.push(("x-ratelimit-global", limit.global.to_string()));
        reply.headers.push(("x-ratelimit-scope", limit.scope.to_string()));
        reply.headers.extend(limit.bucket);
        let scope = if limit.global { "global" } else { "route" };
        reply.error = Some(format!("{scope} 429 (retry_after {})", limit.retry_after));
        reply
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = match self.body {
            Some(body) => {
                let mut r = Response::new(Body::from(body.to_string()));
                r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                r
            }
            None => Response::new(Body::empty()),
        };
        *response.status_mut() = status;
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

impl From<Invalid> for Reply {
    fn from(invalid: Invalid) -> Self {
        match invalid {
            Invalid::Form(detail) => Reply::bad_form(detail),
            Invalid::EmptyMessage => Reply::error(400, 50006, "Cannot send an empty message"),
        }
    }
}

fn unix_now_secs() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or_default()
}

/// Unwraps a `Result<T, Reply>` inside a route.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(reply) => return reply.into(),
        }
    };
}

// ---------------------------------------------------------------------------
// Entry point: read, record, fault-inject, route
// ---------------------------------------------------------------------------

struct ParsedBody {
    json: Option<Value>,
    files: Vec<Attachment>,
}

async fn handle(AxumState(shared): AxumState<Arc<Shared>>, req: Request) -> Response {
    let method = req.method().as_str().to_ascii_uppercase();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let headers: BTreeMap<String, String> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let at = Instant::now();
    let parsed = read_body(&shared, req).await;

    let mut record = RecordedRequest {
        seq: 0,
        method,
        path,
        query,
        headers,
        body: None,
        attachments: Vec::new(),
        status: 0,
        error: None,
        at,
    };

    let reply = match parsed {
        Err(why) => Reply::bad_form(why),
        Ok(body) => {
            record.body = body.json;
            record.attachments = body.files;
            match take_fault(&shared, &record) {
                Some(reply) => reply,
                None => match ratelimits::check(&shared, &record) {
                    Some(limit) => Reply::limited(limit),
                    None => {
                        let mut reply = refused(&shared, &record).unwrap_or_else(|| route(&shared, &record));
                        reply.headers.extend(ratelimits::headers(&shared, &record));
                        reply
                    }
                },
            }
        }
    };

    record.status = reply.status;
    record.error = reply.error.clone();
    let delay = take_delay(&shared, &record);
    {
        let mut st = shared.lock();
        record.seq = st.requests.len();
        if reply.unknown_route {
            st.unknown_routes.push(record.line());
        }
        st.requests.push(record);
    }
    shared.notify();
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    reply.into_response()
}

/// Response delays (see `FakeDiscord::delay_next_response`).
impl super::FakeDiscord {
    /// The next `times` requests with `method` whose path (below `/api/v10`;
    /// a leading `/api/v10` is accepted too) starts with `path_prefix` are
    /// handled and recorded at once (a message is created, a callback
    /// stored), but their HTTP response is held back for `delay`: Discord did
    /// the work, the bot has not heard yet. Lets a test kill the bot between
    /// an effect and its acknowledgement. Combines with `fail_next*`.
    pub fn delay_next_response(&self, method: &str, path_prefix: &str, times: u32, delay: std::time::Duration) {
        let delay = super::state::Delay {
            method: method.to_ascii_uppercase(),
            path_prefix: path_prefix.strip_prefix(API_PREFIX).unwrap_or(path_prefix).to_owned(),
            remaining: times,
            delay,
        };
        self.shared.lock().delays.push(delay);
    }
}

fn take_delay(shared: &Shared, req: &RecordedRequest) -> Option<std::time::Duration> {
    let mut st = shared.lock();
    let pos = st.delays.iter().position(|d| {
        d.remaining > 0 && d.method.eq_ignore_ascii_case(&req.method) && req.api_path().starts_with(&d.path_prefix)
    })?;
    st.delays[pos].remaining -= 1;
    let delay = st.delays[pos].delay;
    st.delays.retain(|d| d.remaining > 0);
    Some(delay)
}

async fn read_body(shared: &Shared, req: Request) -> Result<ParsedBody, String> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"));

    if !is_multipart {
        let bytes =
            axum::body::to_bytes(req.into_body(), MAX_BODY).await.map_err(|e| format!("could not read body: {e}"))?;
        if bytes.is_empty() {
            return Ok(ParsedBody { json: None, files: Vec::new() });
        }
        let json = serde_json::from_slice(&bytes).map_err(|e| format!("body is not JSON: {e}"))?;
        return Ok(ParsedBody { json: Some(json), files: Vec::new() });
    }

    let mut multipart = Multipart::from_request(req, &()).await.map_err(|e| format!("bad multipart body: {e}"))?;
    let mut json = None;
    let mut files = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(|e| format!("bad multipart field: {e}"))? {
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(str::to_owned);
        let bytes = field.bytes().await.map_err(|e| format!("bad multipart field {name}: {e}"))?;
        if name == "payload_json" {
            let value = serde_json::from_slice(&bytes).map_err(|e| format!("payload_json is not JSON: {e}"))?;
            json = Some(value);
        } else if name.starts_with("files[") || name == "file" {
            let id = shared.lock().ids.next();
            files.push(Attachment {
                id,
                filename: filename.unwrap_or_else(|| name.clone()),
                content_type,
                bytes: bytes.to_vec(),
            });
        } else {
            return Err(format!("unexpected multipart field {name:?}"));
        }
    }
    Ok(ParsedBody { json, files })
}

fn take_fault(shared: &Shared, req: &RecordedRequest) -> Option<Reply> {
    let mut st = shared.lock();
    let fault = st.faults.iter_mut().find(|f| f.matches(&req.method, req.api_path()))?;
    fault.remaining -= 1;
    let kind = fault.kind.clone();
    st.faults.retain(|f| f.remaining > 0);
    Some(match kind {
        FaultKind::RateLimited { retry_after } => Reply::rate_limited(retry_after),
        FaultKind::Status { status } => {
            let mut reply = Reply::error(status, 0, "Injected failure");
            reply.error = Some(format!("injected {status}"));
            reply
        }
    })
}

/// A refusal in force (closed DMs, a deleted channel, …; see `refusals.rs`).
fn refused(shared: &Shared, req: &RecordedRequest) -> Option<Reply> {
    let r = super::refusals::refusal(&shared.lock(), req)?;
    let mut reply = Reply::error(r.status, r.code, r.message);
    reply.error = Some(format!("refused: {} {} {}", r.status, r.code, r.message));
    Some(reply)
}

fn unknown_route() -> Reply {
    Reply {
        error: Some("route not implemented by the fake".to_owned()),
        unknown_route: true,
        ..Reply::error(404, 0, "404: Not Found")
    }
}

fn route(shared: &Shared, req: &RecordedRequest) -> Reply {
    let Some(rest) = req.path.strip_prefix(API_PREFIX) else {
        return unknown_route();
    };
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let method = req.method.as_str();

    // Interaction callbacks and webhook calls authenticate by token.
    let token_route = matches!(segments.first(), Some(&"interactions") | Some(&"webhooks"));
    if !token_route && !req.header("authorization").is_some_and(|v| v.starts_with("Bot ")) {
        return Reply::error(401, 0, "401: Unauthorized");
    }
    {
        let st = shared.lock();
        if !token_route && auth::rest_token_refused(&st) {
            return Reply::error(401, 0, "401: Unauthorized");
        }
        if let Some((status, code, message)) = guilds::removed_guild_refusal(shared, &st, &segments) {
            return Reply::error(status, code, message);
        }
    }

    match (method, segments.as_slice()) {
        ("GET", ["gateway"]) => Reply::json(json!({ "url": ws_url(shared) })),
        ("GET", ["gateway", "bot"]) => Reply::json(json!({
            "url": ws_url(shared),
            "shards": shared.config.shards,
            "session_start_limit": { "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1 },
        })),
        ("GET", ["users", "@me"]) => Reply::json(payloads::current_user(&shared.config)),
        ("GET", ["oauth2", "applications", "@me"]) | ("GET", ["applications", "@me"]) => {
            Reply::json(payloads::application_info(&shared.config))
        }
        ("POST", ["users", "@me", "channels"]) => create_dm_channel(shared, req),
        ("GET", ["users", user]) => {
            let id = tri!(snowflake(user));
            let name = shared.lock().username(id);
            Reply::json(payloads::user(id, &name, id == shared.config.bot_user_id))
        }

        // Application commands.
        (_, ["applications", app, "commands", ..]) | (_, ["applications", app, "guilds", _, "commands", ..]) => {
            if tri!(snowflake(app)) != shared.config.application_id {
                return Reply::error(404, 10002, "Unknown Application");
            }
            let (scope, tail) = match segments.as_slice() {
                ["applications", _, "guilds", guild, "commands", tail @ ..] => (Some(tri!(snowflake(guild))), tail),
                [_, _, "commands", tail @ ..] => (None, tail),
                _ => return unknown_route(),
            };
            commands(shared, req, scope, tail)
        }

        // Interactions.
        ("POST", ["interactions", id, token, "callback"]) => {
            interaction_callback(shared, req, tri!(snowflake(id)), token)
        }
        ("POST", ["webhooks", app, token]) => create_followup(shared, req, app, token),
        (_, ["webhooks", app, token, "messages", message]) => webhook_message(shared, req, app, token, message),

        // Channels and messages.
        ("GET", ["channels", channel]) => get_channel(shared, tri!(snowflake(channel))),
        ("POST", ["channels", channel, "typing"]) => {
            tri!(known_channel(shared, &shared.lock(), tri!(snowflake(channel))));
            Reply::no_content()
        }
        ("GET", ["channels", channel, "messages"]) => list_messages(shared, req, tri!(snowflake(channel))),
        ("POST", ["channels", channel, "messages"]) => create_channel_message(shared, req, tri!(snowflake(channel))),
        (_, ["channels", channel, "messages", message]) => {
            channel_message(shared, req, tri!(snowflake(channel)), tri!(snowflake(message)))
        }

        // Guilds.
        ("GET", ["guilds", guild]) => {
            let guild = tri!(guild_spec(shared, guild));
            Reply::json(payloads::guild_create(&shared.config, guild))
        }
        ("GET", ["guilds", guild, "roles"]) => {
            let guild = tri!(guild_spec(shared, guild));
            let deleted = shared.lock().refusals.deleted_roles.clone();
            let roles = payloads::guild_roles(&shared.config, guild)
                .into_iter()
                .filter(|r| {
                    !r["id"].as_str().and_then(|id| id.parse().ok()).is_some_and(|id: u64| deleted.contains(&id))
                })
                .collect::<Vec<_>>();
            Reply::json(Value::from(roles))
        }
        ("GET", ["guilds", guild, "channels"]) => {
            let guild = tri!(guild_spec(shared, guild));
            let channels: Vec<Value> =
                guild.channels.iter().enumerate().map(|(i, c)| payloads::guild_channel(guild.id, c, i)).collect();
            Reply::json(Value::from(channels))
        }
        ("GET", ["guilds", guild, "members", user]) => {
            let guild = tri!(guild_spec(shared, guild));
            get_member(shared, guild.id, tri!(snowflake(user)))
        }

        _ => unknown_route(),
    }
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

fn ws_url(shared: &Shared) -> String {
    format!("{}/ws", shared.base.replacen("http://", "ws://", 1))
}

fn snowflake(segment: &str) -> Result<u64, Reply> {
    segment.parse().map_err(|_| Reply::bad_form(format!("{segment:?} is not a snowflake")))
}

fn guild_spec<'a>(shared: &'a Shared, segment: &str) -> Result<&'a super::config::GuildSpec, Reply> {
    let id = snowflake(segment)?;
    shared.config.find_guild(id).ok_or_else(|| Reply::error(404, 10004, "Unknown Guild"))
}

/// `Some(guild)` for a guild channel, `None` for a DM channel; error if unknown.
fn known_channel(shared: &Shared, st: &State, channel_id: u64) -> Result<Option<u64>, Reply> {
    if let Some(guild) = shared.config.guilds.iter().find(|g| g.find_channel(channel_id).is_some()) {
        return Ok(Some(guild.id));
    }
    if st.dm_recipient(channel_id).is_some() {
        return Ok(None);
    }
    Err(Reply::error(404, 10003, "Unknown Channel"))
}

fn body_object(req: &RecordedRequest) -> Result<&serde_json::Map<String, Value>, Reply> {
    req.body.as_ref().and_then(Value::as_object).ok_or_else(|| Reply::bad_form("body must be a JSON object"))
}

fn author_json(shared: &Shared, st: &State, author_id: u64) -> Value {
    if author_id == shared.config.bot_user_id {
        payloads::bot_user(&shared.config)
    } else {
        payloads::user(author_id, &st.username(author_id), false)
    }
}

fn message_json(shared: &Shared, st: &State, msg: &StoredMessage) -> Value {
    payloads::message(msg, author_json(shared, st, msg.author_id), shared.config.application_id)
}

// ---------------------------------------------------------------------------
// Message construction
// ---------------------------------------------------------------------------

fn array_field(body: &serde_json::Map<String, Value>, key: &str) -> Vec<Value> {
    body.get(key).and_then(Value::as_array).cloned().unwrap_or_default()
}

struct NewMessage {
    channel_id: u64,
    guild_id: Option<u64>,
    author_id: u64,
    source: MessageSource,
}

fn build_message(
    st: &mut State,
    new: NewMessage,
    body: &serde_json::Map<String, Value>,
    files: &[Attachment],
) -> StoredMessage {
    StoredMessage {
        id: st.ids.next(),
        channel_id: new.channel_id,
        guild_id: new.guild_id,
        author_id: new.author_id,
        source: new.source,
        content: body.get("content").and_then(Value::as_str).unwrap_or_default().to_owned(),
        embeds: array_field(body, "embeds"),
        components: array_field(body, "components"),
        nonce: body.get("nonce").filter(|n| !n.is_null()).cloned(),
        allowed_mentions: body.get("allowed_mentions").cloned(),
        flags: body.get("flags").and_then(Value::as_u64).unwrap_or(0),
        attachments: files.to_vec(),
        edits: 0,
        deleted: false,
        timestamp: now_timestamp(),
        edited_timestamp: None,
        updated_at: Instant::now(),
    }
}

/// Applies a PATCH body. `attachments` in the body lists the existing
/// attachments to keep (by id); new uploads are added.
fn apply_edit(msg: &mut StoredMessage, body: &serde_json::Map<String, Value>, files: &[Attachment]) {
    if let Some(content) = body.get("content") {
        msg.content = content.as_str().unwrap_or_default().to_owned();
    }
    if body.contains_key("embeds") {
        msg.embeds = array_field(body, "embeds");
    }
    if body.contains_key("components") {
        msg.components = array_field(body, "components");
    }
    if let Some(am) = body.get("allowed_mentions") {
        msg.allowed_mentions = Some(am.clone());
    }
    if let Some(flags) = body.get("flags").and_then(Value::as_u64) {
        // Only SUPPRESS_EMBEDS may change on edit; EPHEMERAL stays as it was.
        msg.flags = (msg.flags & !4) | (flags & 4);
    }
    if let Some(keep) = body.get("attachments").and_then(Value::as_array) {
        let keep_ids: Vec<u64> = keep
            .iter()
            .filter_map(|a| match a.get("id") {
                Some(Value::String(s)) => s.parse().ok(),
                Some(Value::Number(n)) => n.as_u64(),
                _ => None,
            })
            .collect();
        msg.attachments.retain(|a| keep_ids.contains(&a.id));
    }
    msg.attachments.extend(files.iter().cloned());
    msg.edits += 1;
    msg.edited_timestamp = Some(now_timestamp());
    msg.updated_at = Instant::now();
}

// ---------------------------------------------------------------------------
// Channels and messages
// ---------------------------------------------------------------------------

fn get_channel(shared: &Shared, channel_id: u64) -> Reply {
    for guild in &shared.config.guilds {
        if let Some(pos) = guild.channels.iter().position(|c| c.id == channel_id) {
            return Reply::json(payloads::guild_channel(guild.id, &guild.channels[pos], pos));
        }
    }
    let st = shared.lock();
    match st.dm_recipient(channel_id) {
        Some(user_id) => Reply::json(payloads::dm_channel(channel_id, author_json(shared, &st, user_id))),
        None => Reply::error(404, 10003, "Unknown Channel"),
    }
}

fn create_dm_channel(shared: &Shared, req: &RecordedRequest) -> Reply {
    let body = tri!(body_object(req));
    let recipient = match body.get("recipient_id") {
        Some(Value::String(s)) => tri!(snowflake(s)),
        Some(Value::Number(n)) => tri!(n.as_u64().ok_or_else(|| Reply::bad_form("recipient_id"))),
        _ => return Reply::bad_form("recipient_id: required"),
    };
    let mut st = shared.lock();
    let channel_id = match st.dm_channels.get(&recipient) {
        Some(id) => *id,
        None => {
            let id = st.ids.next();
            st.dm_channels.insert(recipient, id);
            id
        }
    };
    Reply::json(payloads::dm_channel(channel_id, author_json(shared, &st, recipient)))
}

fn list_messages(shared: &Shared, req: &RecordedRequest, channel_id: u64) -> Reply {
    let st = shared.lock();
    tri!(known_channel(shared, &st, channel_id));
    let limit = req
        .query
        .as_deref()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("limit=")))
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(50);
    let messages: Vec<Value> = st
        .messages
        .iter()
        .rev()
        .filter(|m| m.channel_id == channel_id && !m.deleted && !m.is_ephemeral())
        .take(limit)
        .map(|m| message_json(shared, &st, m))
        .collect();
    Reply::json(Value::from(messages))
}

fn create_channel_message(shared: &Shared, req: &RecordedRequest, channel_id: u64) -> Reply {
    let body = tri!(body_object(req));
    let mut st = shared.lock();
    let guild_id = tri!(known_channel(shared, &st, channel_id));
    tri!(validate::message_create(body, &req.attachments));

    // A repeated nonce with enforce_nonce returns the message it created.
    let enforce = body.get("enforce_nonce").and_then(Value::as_bool).unwrap_or(false);
    if let Some(nonce) = body.get("nonce").filter(|n| enforce && !n.is_null()) {
        let existing = st.messages.iter().find(|m| {
            m.channel_id == channel_id && m.source == MessageSource::ChannelPost && m.nonce.as_ref() == Some(nonce)
        });
        if let Some(existing) = existing {
            return Reply::json(message_json(shared, &st, existing));
        }
    }

    let new =
        NewMessage { channel_id, guild_id, author_id: shared.config.bot_user_id, source: MessageSource::ChannelPost };
    let mut msg = build_message(&mut st, new, body, &req.attachments);
    msg.flags &= !64; // EPHEMERAL is meaningless outside interactions.
    let json = message_json(shared, &st, &msg);
    st.messages.push(msg);
    Reply::json(json)
}

fn channel_message(shared: &Shared, req: &RecordedRequest, channel_id: u64, message_id: u64) -> Reply {
    let mut st = shared.lock();
    tri!(known_channel(shared, &st, channel_id));
    let Some(msg) = st.message(message_id).filter(|m| m.channel_id == channel_id && !m.deleted) else {
        return Reply::error(404, 10008, "Unknown Message");
    };
    let is_own = msg.author_id == shared.config.bot_user_id;
    match req.method.as_str() {
        "GET" => Reply::json(message_json(shared, &st, msg)),
        "PATCH" => {
            if !is_own {
                return Reply::error(403, 50005, "Cannot edit a message authored by another user");
            }
            let body = tri!(body_object(req));
            tri!(validate::message_limits(body));
            let Some(msg) = st.message_mut(message_id) else {
                return Reply::error(404, 10008, "Unknown Message");
            };
            apply_edit(msg, body, &req.attachments);
            let msg = msg.clone();
            Reply::json(message_json(shared, &st, &msg))
        }
        "DELETE" => {
            if let Some(msg) = st.message_mut(message_id) {
                msg.deleted = true;
            }
            Reply::no_content()
        }
        _ => unknown_route(),
    }
}

// ---------------------------------------------------------------------------
// Guild members
// ---------------------------------------------------------------------------

fn get_member(shared: &Shared, guild_id: u64, user_id: u64) -> Reply {
    let config = &shared.config;
    if user_id == config.bot_user_id {
        let guild = config.find_guild(guild_id);
        let roles = guild.map(|g| vec![g.bot_role.id]).unwrap_or_default();
        return Reply::json(payloads::member(payloads::bot_user(config), &roles, None));
    }
    let st = shared.lock();
    match st.members.get(&(guild_id, user_id)) {
        Some(roles) => Reply::json(payloads::member(author_json(shared, &st, user_id), roles, None)),
        None => Reply::error(404, 10007, "Unknown Member"),
    }
}

// ---------------------------------------------------------------------------
// Application commands
// ---------------------------------------------------------------------------

fn commands(shared: &Shared, req: &RecordedRequest, scope: Option<u64>, tail: &[&str]) -> Reply {
    if let Some(guild) = scope
        && shared.config.find_guild(guild).is_none()
    {
        return Reply::error(403, 50001, "Missing Access");
    }
    let app = shared.config.application_id;
    let mut st = shared.lock();
    match (req.method.as_str(), tail) {
        ("GET", []) => Reply::json(Value::from(st.commands.get(&scope).cloned().unwrap_or_default())),
        ("PUT", []) => {
            let Some(list) = req.body.as_ref().and_then(Value::as_array) else {
                return Reply::bad_form("body must be an array of commands");
            };
            let mut seen = Vec::new();
            for (i, cmd) in list.iter().enumerate() {
                tri!(validate::command(cmd).map_err(|e| Reply::bad_form(format!("{i}.{e}"))));
                let key = command_key(cmd);
                if seen.contains(&key) {
                    return Reply::bad_form(format!("{i}.name: duplicate command {:?}", key.0));
                }
                seen.push(key);
            }
            let old = st.commands.remove(&scope).unwrap_or_default();
            let mut stored = Vec::new();
            for cmd in list {
                let id = old
                    .iter()
                    .find(|o| command_key(o) == command_key(cmd))
                    .and_then(|o| o.get("id")?.as_str()?.parse().ok())
                    .unwrap_or_else(|| st.ids.next());
                let version = st.ids.next();
                stored.push(payloads::stored_command(cmd, id, version, app, scope));
            }
            st.commands.insert(scope, stored.clone());
            Reply::json(Value::from(stored))
        }
        ("POST", []) => {
            let Some(cmd) = req.body.as_ref().filter(|b| b.is_object()) else {
                return Reply::bad_form("body must be a command object");
            };
            tri!(validate::command(cmd).map_err(Reply::bad_form));
            let version = st.ids.next();
            let list = st.commands.entry(scope).or_default();
            match list.iter().position(|o| command_key(o) == command_key(cmd)) {
                Some(pos) => {
                    let id = list[pos].get("id").and_then(Value::as_str).and_then(|s| s.parse().ok()).unwrap_or(0);
                    list[pos] = payloads::stored_command(cmd, id, version, app, scope);
                    Reply::json(list[pos].clone())
                }
                None => {
                    let stored = payloads::stored_command(cmd, version, version, app, scope);
                    list.push(stored.clone());
                    Reply::created(stored)
                }
            }
        }
        (method, [command_id]) => {
            let id = (*command_id).to_owned();
            let version = st.ids.next();
            let list = st.commands.entry(scope).or_default();
            let Some(pos) = list.iter().position(|c| c.get("id").and_then(Value::as_str) == Some(id.as_str())) else {
                return Reply::error(404, 10063, "Unknown application command");
            };
            match method {
                "GET" => Reply::json(list[pos].clone()),
                "DELETE" => {
                    list.remove(pos);
                    Reply::no_content()
                }
                "PATCH" => {
                    let Some(patch) = req.body.as_ref().and_then(Value::as_object) else {
                        return Reply::bad_form("body must be a JSON object");
                    };
                    let mut merged = list[pos].as_object().cloned().unwrap_or_default();
                    merged.extend(patch.clone());
                    let numeric_id = id.parse().unwrap_or(0);
                    list[pos] = payloads::stored_command(&Value::Object(merged), numeric_id, version, app, scope);
                    Reply::json(list[pos].clone())
                }
                _ => unknown_route(),
            }
        }
        _ => unknown_route(),
    }
}

/// Commands are identified by (name, type).
fn command_key(cmd: &Value) -> (String, u64) {
    let name = cmd.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
    (name, cmd.get("type").and_then(Value::as_u64).unwrap_or(1))
}

// ---------------------------------------------------------------------------
// Interactions
// ---------------------------------------------------------------------------

fn interaction_callback(shared: &Shared, req: &RecordedRequest, id: u64, token: &str) -> Reply {
    let body = tri!(body_object(req));
    let mut st = shared.lock();
    let Some(record) = st.interactions.get(&id).filter(|r| r.handle.token == token) else {
        return Reply::error(404, 10062, "Unknown interaction");
    };
    if record.response.is_some() {
        return Reply::error(400, 40060, "Interaction has already been acknowledged.");
    }
    let interaction_kind = record.handle.kind;
    let (channel_id, guild_id, component_message) = (record.channel_id, record.guild_id, record.message_id);
    let delivered_at = record.delivered_at;

    let Some(kind) = body.get("type").and_then(Value::as_u64) else {
        return Reply::bad_form("type: required");
    };
    let data = body.get("data").cloned().unwrap_or(Value::Null);
    let empty = serde_json::Map::new();
    let data_obj = data.as_object().unwrap_or(&empty);

    // Which callback types each interaction type accepts.
    let allowed: &[u64] = match interaction_kind {
        2 => &[4, 5, 9],
        3 => &[4, 5, 6, 7, 9],
        4 => &[8],
        5 => &[4, 5, 6, 7],
        _ => &[],
    };
    if !allowed.contains(&kind) {
        return Reply::error(
            400,
            50035,
            &format!("Invalid Form Body (type: callback {kind} is not valid for interaction type {interaction_kind})"),
        );
    }
    match kind {
        4 => tri!(validate::message_create(data_obj, &req.attachments)),
        7 => tri!(validate::message_limits(data_obj)),
        5 if ["content", "embeds", "components"].iter().any(|k| validate::non_empty(data_obj.get(*k))) => {
            return Reply::bad_form("data: a deferred response may only carry flags");
        }
        8 => {
            let n = data_obj.get("choices").and_then(Value::as_array).map_or(0, Vec::len);
            if n > 25 {
                return Reply::bad_form("data.choices: Must be 25 or fewer in length");
            }
        }
        9 => tri!(validate::modal(data_obj)),
        _ => {}
    }

    let new = |source| NewMessage { channel_id, guild_id, author_id: shared.config.bot_user_id, source };
    let source = MessageSource::InteractionResponse { interaction_id: id };
    let original_id = match kind {
        4 => {
            let msg = build_message(&mut st, new(source), data_obj, &req.attachments);
            let msg_id = msg.id;
            st.messages.push(msg);
            Some(msg_id)
        }
        5 => {
            let flags = json!({ "flags": data_obj.get("flags").cloned().unwrap_or(Value::from(0)) });
            let flags = flags.as_object().cloned().unwrap_or_default();
            let msg = build_message(&mut st, new(source), &flags, &[]);
            let msg_id = msg.id;
            st.messages.push(msg);
            Some(msg_id)
        }
        7 => {
            if let Some(msg) = component_message.and_then(|m| st.message_mut(m)) {
                apply_edit(msg, data_obj, &req.attachments);
            }
            component_message
        }
        6 => component_message,
        _ => None,
    };

    let response = InteractionResponse {
        kind: kind as u8,
        data,
        attachments: req.attachments.clone(),
        elapsed: delivered_at.map(|t| t.elapsed()).unwrap_or_default(),
        at: Instant::now(),
    };
    if let Some(record) = st.interactions.get_mut(&id) {
        record.response = Some(response);
        record.original_id = original_id;
    }
    Reply::no_content()
}

fn check_webhook<'a>(
    shared: &Shared,
    st: &'a State,
    app: &str,
    token: &str,
) -> Result<&'a super::state::InteractionRecord, Reply> {
    if app.parse::<u64>().ok() != Some(shared.config.application_id) {
        return Err(Reply::error(404, 10015, "Unknown Webhook"));
    }
    st.interaction_by_token(token).ok_or_else(|| Reply::error(401, 50027, "Invalid Webhook Token"))
}

fn create_followup(shared: &Shared, req: &RecordedRequest, app: &str, token: &str) -> Reply {
    let body = tri!(body_object(req));
    let mut st = shared.lock();
    let record = tri!(check_webhook(shared, &st, app, token));
    if record.response.is_none() {
        let mut reply = Reply::error(404, 10015, "Unknown Webhook");
        reply.error = Some("follow-up sent before the initial interaction response".into());
        return reply;
    }
    let (interaction_id, channel_id, guild_id) = (record.handle.id, record.channel_id, record.guild_id);
    tri!(validate::message_create(body, &req.attachments));
    let new = NewMessage {
        channel_id,
        guild_id,
        author_id: shared.config.bot_user_id,
        source: MessageSource::Followup { interaction_id },
    };
    let msg = build_message(&mut st, new, body, &req.attachments);
    let json = message_json(shared, &st, &msg);
    if let Some(record) = st.interactions.get_mut(&interaction_id) {
        record.followup_ids.push(msg.id);
    }
    st.messages.push(msg);
    Reply::json(json)
}

fn webhook_message(shared: &Shared, req: &RecordedRequest, app: &str, token: &str, message: &str) -> Reply {
    let mut st = shared.lock();
    let record = tri!(check_webhook(shared, &st, app, token));
    let message_id = if message == "@original" {
        record.original_id
    } else {
        message.parse().ok().filter(|id| record.original_id == Some(*id) || record.followup_ids.contains(id))
    };
    let Some(message_id) = message_id.filter(|id| st.message(*id).is_some_and(|m| !m.deleted)) else {
        return Reply::error(404, 10008, "Unknown Message");
    };
    match req.method.as_str() {
        "GET" => match st.message(message_id) {
            Some(msg) => Reply::json(message_json(shared, &st, msg)),
            None => Reply::error(404, 10008, "Unknown Message"),
        },
        "PATCH" => {
            let body = tri!(body_object(req));
            tri!(validate::message_limits(body));
            let Some(msg) = st.message_mut(message_id) else {
                return Reply::error(404, 10008, "Unknown Message");
            };
            apply_edit(msg, body, &req.attachments);
            let msg = msg.clone();
            Reply::json(message_json(shared, &st, &msg))
        }
        "DELETE" => {
            if let Some(msg) = st.message_mut(message_id) {
                msg.deleted = true;
            }
            Reply::no_content()
        }
        _ => unknown_route(),
    }
}
