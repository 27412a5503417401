//! JSON shapes of Discord API v10 objects, with every field serenity 0.12.5
//! requires. Each builder is a pure function of its inputs.
//!
//! Ids are sent as strings and permissions as decimal strings, as Discord does.

use serde_json::{Map, Value, json};

use super::config::{ChannelSpec, FakeConfig, GuildSpec, RoleSpec};
use super::model::{Attachment, MessageSource, StoredMessage};

/// Upload limit announced in interactions (10 MiB, the default for unboosted guilds).
pub const ATTACHMENT_SIZE_LIMIT: u64 = 10 * 1024 * 1024;

/// Current time in RFC 3339 (what Discord sends for timestamps).
pub fn now_timestamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub fn user(id: u64, username: &str, bot: bool) -> Value {
    json!({
        "id": id.to_string(),
        "username": username,
        "discriminator": "0",
        "global_name": if bot { Value::Null } else { Value::from(username) },
        "avatar": null,
        "bot": bot,
        "system": false,
        "public_flags": 0,
        "flags": 0,
        "banner": null,
        "accent_color": null,
    })
}

pub fn bot_user(config: &FakeConfig) -> Value {
    user(config.bot_user_id, &config.bot_username, true)
}

/// `GET /users/@me`: the bot user plus the fields only the owner sees.
pub fn current_user(config: &FakeConfig) -> Value {
    let mut value = bot_user(config);
    if let Some(map) = value.as_object_mut() {
        map.insert("mfa_enabled".into(), Value::Bool(false));
        map.insert("verified".into(), Value::Bool(true));
        map.insert("locale".into(), Value::from("en-US"));
        map.insert("email".into(), Value::Null);
    }
    value
}

/// A role. `bot_id` marks the bot's managed role.
pub fn role(role: &RoleSpec, position: usize, bot_id: Option<u64>) -> Value {
    let tags = match bot_id {
        Some(id) => json!({ "bot_id": id.to_string() }),
        None => json!({}),
    };
    json!({
        "id": role.id.to_string(),
        "name": role.name,
        "color": 0,
        "colors": { "primary_color": 0, "secondary_color": null, "tertiary_color": null },
        "hoist": false,
        "icon": null,
        "unicode_emoji": null,
        "position": position,
        "permissions": role.permissions.to_string(),
        "managed": bot_id.is_some(),
        "mentionable": false,
        "flags": 0,
        "tags": tags,
    })
}

/// All roles of a guild, `@everyone` first (position 0).
pub fn guild_roles(config: &FakeConfig, guild: &GuildSpec) -> Vec<Value> {
    guild
        .all_roles()
        .iter()
        .enumerate()
        .map(|(position, r)| {
            let bot_id = (r.id == guild.bot_role.id).then_some(config.bot_user_id);
            role(r, position, bot_id)
        })
        .collect()
}

pub fn guild_channel(guild_id: u64, channel: &ChannelSpec, position: usize) -> Value {
    json!({
        "id": channel.id.to_string(),
        "type": 0,
        "guild_id": guild_id.to_string(),
        "position": position,
        "permission_overwrites": [],
        "name": channel.name,
        "topic": null,
        "nsfw": false,
        "last_message_id": null,
        "rate_limit_per_user": 0,
        "parent_id": null,
        "last_pin_timestamp": null,
        "flags": 0,
    })
}

/// A DM channel: type 1 with exactly one recipient.
pub fn dm_channel(channel_id: u64, recipient: Value) -> Value {
    json!({
        "id": channel_id.to_string(),
        "type": 1,
        "last_message_id": null,
        "flags": 0,
        "recipients": [recipient],
    })
}

/// A full guild member.
pub fn member(user: Value, roles: &[u64], permissions: Option<u64>) -> Value {
    let mut value = json!({
        "user": user,
        "nick": null,
        "avatar": null,
        "banner": null,
        "roles": roles.iter().map(u64::to_string).collect::<Vec<_>>(),
        "joined_at": "2024-01-01T00:00:00.000000+00:00",
        "premium_since": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
        "communication_disabled_until": null,
    });
    if let (Some(p), Some(map)) = (permissions, value.as_object_mut()) {
        map.insert("permissions".into(), Value::from(p.to_string()));
    }
    value
}

/// The permissions the bot has in a guild (everyone ∪ bot role).
pub fn bot_permissions(guild: &GuildSpec) -> u64 {
    guild.everyone_permissions | guild.bot_role.permissions
}

/// The GUILD_CREATE payload: a full guild with roles, channels and the bot member.
pub fn guild_create(config: &FakeConfig, guild: &GuildSpec) -> Value {
    let channels: Vec<Value> = guild.channels.iter().enumerate().map(|(i, c)| guild_channel(guild.id, c, i)).collect();
    let bot_member = member(bot_user(config), &[guild.bot_role.id], None);
    let mut guild_json = json!({
        "id": guild.id.to_string(),
        "name": guild.name,
        "icon": null,
        "icon_hash": null,
        "splash": null,
        "discovery_splash": null,
        "owner_id": guild.owner_id.to_string(),
        "afk_channel_id": null,
        "afk_timeout": 300,
        "widget_enabled": false,
        "widget_channel_id": null,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": guild_roles(config, guild),
        "emojis": [],
        "features": [],
        "mfa_level": 0,
        "application_id": null,
        "system_channel_id": null,
        "system_channel_flags": 0,
        "rules_channel_id": null,
        "max_presences": null,
        "max_members": 500000,
        "vanity_url_code": null,
        "description": null,
        "banner": null,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "public_updates_channel_id": null,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
    });
    // Split in two: one `json!` this large exceeds the macro recursion limit.
    let gateway_extras = json!({
        "nsfw_level": 0,
        "stickers": [],
        "premium_progress_bar_enabled": false,
        "safety_alerts_channel_id": null,
        "incidents_data": null,
        "joined_at": "2024-01-01T00:00:00.000000+00:00",
        "large": false,
        "unavailable": false,
        "lazy": true,
        "member_count": 2,
        "voice_states": [],
        "members": [bot_member],
        "channels": channels,
        "threads": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    });
    if let (Some(map), Value::Object(extras)) = (guild_json.as_object_mut(), gateway_extras) {
        map.extend(extras);
    }
    guild_json
}

pub fn ready(config: &FakeConfig, session_id: &str, resume_gateway_url: &str) -> Value {
    let guilds: Vec<Value> =
        config.guilds.iter().map(|g| json!({ "id": g.id.to_string(), "unavailable": true })).collect();
    json!({
        "v": 10,
        "user": current_user(config),
        "guilds": guilds,
        "session_id": session_id,
        "resume_gateway_url": resume_gateway_url,
        "shard": [0, 1],
        "application": { "id": config.application_id.to_string(), "flags": 0 },
        "private_channels": [],
        "presences": [],
        "relationships": [],
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": [],
        "user_settings": {},
        "_trace": ["fake-discord"],
    })
}

/// `GET /oauth2/applications/@me`.
pub fn application_info(config: &FakeConfig) -> Value {
    json!({
        "id": config.application_id.to_string(),
        "name": config.bot_username,
        "icon": null,
        "description": "",
        "rpc_origins": [],
        "bot_public": true,
        "bot_require_code_grant": false,
        "bot": bot_user(config),
        "owner": user(config.owner_id, "owner", false),
        "verify_key": "0000000000000000000000000000000000000000000000000000000000000000",
        "team": null,
        "flags": 0,
        "tags": [],
        "integration_types_config": { "0": {} },
        "approximate_guild_count": config.guilds.len(),
        "redirect_uris": [],
        "interactions_endpoint_url": null,
    })
}

pub fn attachment(att: &Attachment, channel_id: u64) -> Value {
    let url = format!("https://cdn.discordapp.com/attachments/{channel_id}/{}/{}", att.id, att.filename);
    json!({
        "id": att.id.to_string(),
        "filename": att.filename,
        "size": att.bytes.len(),
        "url": url,
        "proxy_url": url,
        "content_type": att.content_type,
        "height": null,
        "width": null,
    })
}

/// A message object. `author` is the full user JSON; `application_id` is
/// set for interaction messages (which Discord marks with `webhook_id` too).
pub fn message(msg: &StoredMessage, author: Value, application_id: u64) -> Value {
    let mut map = Map::new();
    map.insert("id".into(), Value::from(msg.id.to_string()));
    map.insert("channel_id".into(), Value::from(msg.channel_id.to_string()));
    if let Some(g) = msg.guild_id {
        map.insert("guild_id".into(), Value::from(g.to_string()));
    }
    map.insert("author".into(), author);
    map.insert("content".into(), Value::from(msg.content.as_str()));
    map.insert("timestamp".into(), Value::from(msg.timestamp.as_str()));
    map.insert("edited_timestamp".into(), msg.edited_timestamp.clone().map_or(Value::Null, Value::from));
    map.insert("tts".into(), Value::Bool(false));
    map.insert("mention_everyone".into(), Value::Bool(false));
    map.insert("mentions".into(), json!([]));
    map.insert("mention_roles".into(), json!([]));
    map.insert("mention_channels".into(), json!([]));
    let attachments: Vec<Value> = msg.attachments.iter().map(|a| attachment(a, msg.channel_id)).collect();
    map.insert("attachments".into(), Value::from(attachments));
    map.insert("embeds".into(), Value::from(msg.embeds.clone()));
    map.insert("reactions".into(), json!([]));
    if let Some(nonce) = &msg.nonce {
        map.insert("nonce".into(), nonce.clone());
    }
    map.insert("pinned".into(), Value::Bool(false));
    map.insert("flags".into(), Value::from(msg.flags));
    map.insert("components".into(), Value::from(msg.components.clone()));
    let kind = match msg.source {
        MessageSource::InteractionResponse { .. } => 20,
        _ => 0,
    };
    map.insert("type".into(), Value::from(kind));
    if matches!(msg.source, MessageSource::InteractionResponse { .. } | MessageSource::Followup { .. }) {
        map.insert("webhook_id".into(), Value::from(application_id.to_string()));
        map.insert("application_id".into(), Value::from(application_id.to_string()));
    }
    Value::Object(map)
}

/// A stored application command: the bot's payload plus what Discord adds.
pub fn stored_command(payload: &Value, id: u64, version: u64, application_id: u64, guild_id: Option<u64>) -> Value {
    let mut map = payload.as_object().cloned().unwrap_or_default();
    map.insert("id".into(), Value::from(id.to_string()));
    map.insert("application_id".into(), Value::from(application_id.to_string()));
    map.insert("version".into(), Value::from(version.to_string()));
    if let Some(g) = guild_id {
        map.insert("guild_id".into(), Value::from(g.to_string()));
    }
    map.entry("type").or_insert(Value::from(1));
    map.entry("description").or_insert(Value::from(""));
    map.entry("default_member_permissions").or_insert(Value::Null);
    map.entry("nsfw").or_insert(Value::Bool(false));
    if guild_id.is_none() {
        map.entry("integration_types").or_insert(json!([0]));
        map.entry("contexts").or_insert(Value::Null);
    }
    Value::Object(map)
}

/// Wraps a gateway dispatch.
pub fn dispatch_frame(seq: u64, event: &str, data: &Value) -> String {
    json!({ "op": 0, "s": seq, "t": event, "d": data }).to_string()
}

pub fn hello_frame(heartbeat_interval_ms: u128) -> String {
    json!({ "op": 10, "s": null, "t": null, "d": { "heartbeat_interval": heartbeat_interval_ms } }).to_string()
}

pub fn heartbeat_ack_frame() -> String {
    json!({ "op": 11, "s": null, "t": null, "d": null }).to_string()
}

pub fn invalid_session_frame(resumable: bool) -> String {
    json!({ "op": 9, "s": null, "t": null, "d": resumable }).to_string()
}

pub fn reconnect_frame() -> String {
    json!({ "op": 7, "s": null, "t": null, "d": null }).to_string()
}

/// A Discord JSON error body.
pub fn error_body(code: u64, message: &str) -> Value {
    json!({ "code": code, "message": message })
}
