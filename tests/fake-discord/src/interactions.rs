//! INTERACTION_CREATE payloads (types 2–5) built from an [`Actor`].

use serde_json::{Map, Value, json};

use super::config::FakeConfig;
use super::model::{Actor, Invocation, OptionValue};
use super::payloads;
use super::state::State;

/// What kind of interaction to build, with its type-specific `data`.
pub(crate) struct InteractionSpec<'a> {
    pub id: u64,
    pub token: &'a str,
    /// 2 command, 3 component, 4 autocomplete, 5 modal submit.
    pub kind: u8,
    pub data: Value,
    /// Component interactions carry the message the component is on.
    pub message: Option<Value>,
}

/// The full interaction object.
pub(crate) fn interaction(config: &FakeConfig, actor: &Actor, spec: InteractionSpec<'_>) -> Value {
    let user = payloads::user(actor.user_id, &actor.username, false);
    let guild = actor.guild_id.and_then(|g| config.find_guild(g));

    let mut map = Map::new();
    map.insert("id".into(), Value::from(spec.id.to_string()));
    map.insert("application_id".into(), Value::from(config.application_id.to_string()));
    map.insert("type".into(), Value::from(spec.kind));
    map.insert("data".into(), spec.data);
    map.insert("channel_id".into(), Value::from(actor.channel_id.to_string()));
    map.insert("token".into(), Value::from(spec.token));
    map.insert("version".into(), Value::from(1));
    map.insert("locale".into(), Value::from(actor.locale.as_str()));
    map.insert("entitlements".into(), json!([]));
    map.insert("attachment_size_limit".into(), Value::from(payloads::ATTACHMENT_SIZE_LIMIT));
    if let Some(message) = spec.message {
        map.insert("message".into(), message);
    }

    match actor.guild_id {
        Some(guild_id) => {
            let channel_name = guild
                .and_then(|g| g.find_channel(actor.channel_id))
                .map_or_else(|| format!("channel-{}", actor.channel_id), |c| c.name.clone());
            let bot_perms = guild.map_or(default_bot_perms(), payloads::bot_permissions);
            map.insert("guild_id".into(), Value::from(guild_id.to_string()));
            map.insert("guild_locale".into(), Value::from("en-US"));
            map.insert("guild".into(), json!({ "id": guild_id.to_string(), "locale": "en-US", "features": [] }));
            map.insert(
                "channel".into(),
                json!({
                    "id": actor.channel_id.to_string(),
                    "type": 0,
                    "guild_id": guild_id.to_string(),
                    "name": channel_name,
                    "position": 0,
                    "permission_overwrites": [],
                    "nsfw": false,
                    "parent_id": null,
                    "flags": 0,
                    "permissions": actor.permissions.to_string(),
                }),
            );
            map.insert("member".into(), payloads::member(user, &actor.roles, Some(actor.permissions)));
            map.insert("app_permissions".into(), Value::from(bot_perms.to_string()));
            map.insert("authorizing_integration_owners".into(), json!({ "0": guild_id.to_string() }));
            map.insert("context".into(), Value::from(0));
        }
        None => {
            map.insert(
                "channel".into(),
                json!({
                    "id": actor.channel_id.to_string(),
                    "type": 1,
                    "flags": 0,
                    "last_message_id": null,
                    "recipients": [user.clone()],
                }),
            );
            map.insert("user".into(), user);
            map.insert("app_permissions".into(), Value::from(default_bot_perms().to_string()));
            map.insert("authorizing_integration_owners".into(), json!({ "0": "0" }));
            map.insert("context".into(), Value::from(1));
        }
    }
    Value::Object(map)
}

fn default_bot_perms() -> u64 {
    super::config::permissions::BOT_DEFAULT | super::config::permissions::USE_APPLICATION_COMMANDS
}

/// `data` of an APPLICATION_COMMAND (or autocomplete, with `focused` set).
pub(crate) fn command_data(
    config: &FakeConfig,
    st: &State,
    inv: &Invocation,
    focused: Option<&str>,
    fallback_command_id: u64,
) -> Value {
    let leaf: Vec<Value> = inv
        .options
        .iter()
        .map(|(name, value)| {
            let mut opt = json!({ "name": name, "type": value.kind(), "value": value.json() });
            if focused == Some(name.as_str()) {
                opt["focused"] = Value::Bool(true);
            }
            opt
        })
        .collect();

    // Wrap the leaf options in subcommand / group levels. A subcommand
    // option must carry `options` even when empty.
    let options = match inv.subcommand.as_deref().map(str::split_whitespace) {
        None => leaf,
        Some(mut parts) => match (parts.next(), parts.next()) {
            (Some(sub), None) => vec![json!({ "name": sub, "type": 1, "options": leaf })],
            (Some(group), Some(sub)) => vec![json!({
                "name": group,
                "type": 2,
                "options": [{ "name": sub, "type": 1, "options": leaf }],
            })],
            _ => leaf,
        },
    };

    let command_id = registered_command_id(st, inv.actor.guild_id, &inv.name).unwrap_or(fallback_command_id);
    let mut data = json!({
        "id": command_id.to_string(),
        "name": inv.name,
        "type": 1,
        "options": options,
    });
    if let Some(g) = inv.actor.guild_id {
        data["guild_id"] = Value::from(g.to_string());
    }
    let resolved = resolved(config, st, inv);
    if !resolved.is_empty() {
        data["resolved"] = Value::Object(resolved);
    }
    data
}

/// Id of a registered command (guild first, then global), like Discord sends.
fn registered_command_id(st: &State, guild_id: Option<u64>, name: &str) -> Option<u64> {
    [guild_id, None].iter().find_map(|scope| {
        let command = st.commands.get(scope)?.iter().find(|c| c["name"] == name)?;
        command.get("id")?.as_str()?.parse().ok()
    })
}

/// `data.resolved` for user, role and channel options.
fn resolved(config: &FakeConfig, st: &State, inv: &Invocation) -> Map<String, Value> {
    let guild = inv.actor.guild_id.and_then(|g| config.find_guild(g));
    let mut users = Map::new();
    let mut members = Map::new();
    let mut roles = Map::new();
    let mut channels = Map::new();
    for (_, value) in &inv.options {
        match value {
            OptionValue::User(id) => {
                let name = if *id == config.bot_user_id { config.bot_username.clone() } else { st.username(*id) };
                users.insert(id.to_string(), payloads::user(*id, &name, *id == config.bot_user_id));
                if let Some(g) = inv.actor.guild_id {
                    let role_ids = st.members.get(&(g, *id)).cloned().unwrap_or_default();
                    members.insert(
                        id.to_string(),
                        json!({
                            "roles": role_ids.iter().map(u64::to_string).collect::<Vec<_>>(),
                            "joined_at": "2024-01-01T00:00:00.000000+00:00",
                            "premium_since": null,
                            "nick": null,
                            "avatar": null,
                            "pending": false,
                            "flags": 0,
                            "permissions": super::config::permissions::EVERYONE_DEFAULT.to_string(),
                            "communication_disabled_until": null,
                        }),
                    );
                }
            }
            OptionValue::Role(id) => {
                let spec = guild
                    .and_then(|g| g.find_role(*id))
                    .unwrap_or_else(|| super::config::RoleSpec::new(*id, &format!("role{id}"), 0));
                roles.insert(id.to_string(), payloads::role(&spec, 1, None));
            }
            OptionValue::Channel(id) => {
                let name =
                    guild.and_then(|g| g.find_channel(*id)).map_or_else(|| format!("channel-{id}"), |c| c.name.clone());
                channels.insert(
                    id.to_string(),
                    json!({
                        "id": id.to_string(),
                        "name": name,
                        "type": 0,
                        "permissions": inv.actor.permissions.to_string(),
                    }),
                );
            }
            _ => {}
        }
    }
    let mut out = Map::new();
    for (key, map) in [("users", users), ("members", members), ("roles", roles), ("channels", channels)] {
        if !map.is_empty() {
            out.insert(key.into(), Value::Object(map));
        }
    }
    out
}

/// `data` of a button click.
pub(crate) fn button_data(custom_id: &str) -> Value {
    json!({ "custom_id": custom_id, "component_type": 2 })
}

/// `data` of a modal submit: one action row per text input.
pub(crate) fn modal_data(custom_id: &str, fields: &[(String, String)]) -> Value {
    let rows: Vec<Value> = fields
        .iter()
        .map(|(id, value)| json!({ "type": 1, "components": [{ "type": 4, "custom_id": id, "value": value }] }))
        .collect();
    json!({ "custom_id": custom_id, "components": rows })
}
