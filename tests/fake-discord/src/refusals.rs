//! What real servers do to a bot, on demand (`docs/discord-platform.md`,
//! "What real servers do to a bot"): members with closed DMs, deleted
//! channels, channels where the bot lost access or a permission, members
//! who left the server, and routes that fail with a 5xx until told
//! otherwise. Each refusal answers the way Discord does (status and JSON
//! `code`); the request is recorded like any other.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::config::permissions;
use super::model::RecordedRequest;
use super::state::State;

/// The refusals in force.
#[derive(Default)]
pub(crate) struct Refusals {
    /// Users whose DMs are closed to the bot.
    closed_dms: HashSet<u64>,
    deleted_channels: HashSet<u64>,
    /// Channel → permission bits the bot lost there.
    denied: HashMap<u64, u64>,
    /// (guild, user) pairs removed from the guild.
    removed_members: HashSet<(u64, u64)>,
    /// (method, path prefix below /api/v10, status): fails until restored.
    down_routes: Vec<(String, String, u16)>,
    /// Threads archived (or locked and archived) by a moderator.
    archived_threads: HashSet<u64>,
    /// Roles an admin deleted: gone from `GET /guilds/{g}/roles`.
    pub(crate) deleted_roles: HashSet<u64>,
}

/// How the fake refuses a request: Discord's status, JSON code and message.
pub(crate) struct Refusal {
    pub status: u16,
    pub code: u64,
    pub message: &'static str,
}

impl Refusal {
    fn new(status: u16, code: u64, message: &'static str) -> Option<Self> {
        Some(Refusal { status, code, message })
    }
}

/// The refusal in force for `req`, if any. Checked after the `fail_next*`
/// faults and before routing, so a refused request changes nothing.
pub(crate) fn refusal(st: &State, req: &RecordedRequest) -> Option<Refusal> {
    let r = &st.refusals;
    let path = req.api_path();
    if let Some((_, _, status)) =
        r.down_routes.iter().find(|(m, prefix, _)| m.eq_ignore_ascii_case(&req.method) && path.starts_with(prefix))
    {
        return Refusal::new(*status, 0, "Injected outage");
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["channels", channel, rest @ ..] => {
            let channel: u64 = channel.parse().ok()?;
            if r.deleted_channels.contains(&channel) {
                return Refusal::new(404, 10003, "Unknown Channel");
            }
            if req.method == "POST" && rest == ["messages"] && r.archived_threads.contains(&channel) {
                return Refusal::new(400, 50083, "Thread is archived");
            }
            if let Some(denied) = r.denied.get(&channel) {
                if denied & permissions::VIEW_CHANNEL != 0 {
                    return Refusal::new(403, 50001, "Missing Access");
                }
                let posting = permissions::SEND_MESSAGES | permissions::EMBED_LINKS | permissions::ATTACH_FILES;
                if req.method == "POST" && rest == ["messages"] && denied & posting != 0 {
                    return Refusal::new(403, 50013, "Missing Permissions");
                }
            }
            if req.method == "POST"
                && rest == ["messages"]
                && let Some(user) = st.dm_recipient(channel)
                && (r.closed_dms.contains(&user) || shares_no_guild(st, user))
            {
                return Refusal::new(403, 50007, "Cannot send messages to this user");
            }
            None
        }
        ["guilds", guild, "members", user] if req.method == "GET" => {
            let key = (guild.parse().ok()?, user.parse().ok()?);
            // Interacting again (which puts them back in `members`) is coming back.
            if r.removed_members.contains(&key) && !st.members.contains_key(&key) {
                return Refusal::new(404, 10007, "Unknown Member");
            }
            None
        }
        _ => None,
    }
}

/// A user removed from a guild who is in no guild the fake knows them in:
/// Discord refuses DMs when the bot and the user share no server.
fn shares_no_guild(st: &State, user: u64) -> bool {
    let removed = st.refusals.removed_members.iter().any(|(_, u)| *u == user);
    removed && !st.members.keys().any(|(_, u)| *u == user)
}

/// `app_permissions` of an interaction in `channel_id`, less what the bot was
/// denied there.
pub(crate) fn apply_app_permissions(st: &State, channel_id: u64, payload: &mut Value) {
    let Some(denied) = st.refusals.denied.get(&channel_id) else { return };
    let Some(current) = payload.get("app_permissions").and_then(Value::as_str).and_then(|s| s.parse::<u64>().ok())
    else {
        return;
    };
    payload["app_permissions"] = Value::from((current & !denied).to_string());
}

/// Refusals, like a real server's.
impl super::FakeDiscord {
    /// A moderator archives (and with `locked`, also locks) the thread
    /// `thread_id` of `guild_id`: posting there answers 400 with code 50083
    /// (Thread is archived), and THREAD_UPDATE says so.
    pub fn archive_thread(&self, guild_id: u64, thread_id: u64, locked: bool) {
        self.shared.lock().refusals.archived_threads.insert(thread_id);
        self.dispatch("THREAD_UPDATE", thread_payload(guild_id, thread_id, true, locked));
    }

    /// The thread is unarchived and unlocked again; THREAD_UPDATE says so.
    pub fn reopen_thread(&self, guild_id: u64, thread_id: u64) {
        self.shared.lock().refusals.archived_threads.remove(&thread_id);
        self.dispatch("THREAD_UPDATE", thread_payload(guild_id, thread_id, false, false));
    }

    /// An admin deletes the role `role_id` of `guild_id`: GUILD_ROLE_DELETE.
    pub fn delete_role(&self, guild_id: u64, role_id: u64) {
        self.shared.lock().refusals.deleted_roles.insert(role_id);
        let data = serde_json::json!({ "guild_id": guild_id.to_string(), "role_id": role_id.to_string() });
        self.dispatch("GUILD_ROLE_DELETE", data);
    }

    /// The admin gave the bot its permissions in `channel_id` of `guild_id`
    /// back, and CHANNEL_UPDATE says the channel changed, as Discord does.
    pub fn restore_bot_in_channel(&self, guild_id: u64, channel_id: u64) {
        self.allow_bot_in_channel(channel_id);
        let spec = super::config::ChannelSpec { id: channel_id, name: "cohort".into() };
        self.dispatch("CHANNEL_UPDATE", super::payloads::guild_channel(guild_id, &spec, 0));
    }

    /// `user` closed their DMs to the bot (or blocked it): every message to
    /// their DM channel answers 403 with code 50007. Opening the DM channel
    /// still works, as on Discord.
    pub fn close_dms(&self, user_id: u64) {
        self.shared.lock().refusals.closed_dms.insert(user_id);
    }

    /// `user` opened their DMs again.
    pub fn open_dms(&self, user_id: u64) {
        self.shared.lock().refusals.closed_dms.remove(&user_id);
    }

    /// The channel is deleted: every route under `/channels/{id}` answers
    /// 404 with code 10003 (Unknown Channel).
    pub fn delete_channel(&self, channel_id: u64) {
        self.shared.lock().refusals.deleted_channels.insert(channel_id);
    }

    /// An admin took `denied` (permission bits, see
    /// [`permissions`](crate::permissions)) from the bot in `channel_id`:
    /// without VIEW_CHANNEL every route there answers 403 with code 50001
    /// (Missing Access); without SEND_MESSAGES, EMBED_LINKS or ATTACH_FILES,
    /// posting answers 403 with code 50013 (Missing Permissions). The bits
    /// are also gone from `app_permissions` of interactions in that channel.
    pub fn deny_bot_in_channel(&self, channel_id: u64, denied: u64) {
        self.shared.lock().refusals.denied.insert(channel_id, denied);
    }

    /// The admin gave the bot its permissions in `channel_id` back.
    pub fn allow_bot_in_channel(&self, channel_id: u64) {
        self.shared.lock().refusals.denied.remove(&channel_id);
    }

    /// `user` left (or was kicked from) `guild`: `GET
    /// /guilds/{guild}/members/{user}` answers 404 with code 10007 (Unknown
    /// Member), and, sharing no server with the bot, their DMs are refused
    /// (403, 50007). They are back once they interact in the guild again, or
    /// with [`Self::add_member`].
    pub fn remove_member(&self, guild_id: u64, user_id: u64) {
        let mut st = self.shared.lock();
        st.members.remove(&(guild_id, user_id));
        st.refusals.removed_members.insert((guild_id, user_id));
    }

    /// `user` is (again) a member of `guild`, without roles unless they
    /// had some: `GET /guilds/{guild}/members/{user}` answers 200.
    pub fn add_member(&self, guild_id: u64, user_id: u64) {
        let mut st = self.shared.lock();
        st.refusals.removed_members.remove(&(guild_id, user_id));
        st.members.entry((guild_id, user_id)).or_default();
    }

    /// Every request with `method` whose path (below `/api/v10`; a leading
    /// `/api/v10` is accepted too) starts with `path_prefix` answers `status`
    /// (e.g. 500, 503) with `{"code": 0, "message": "Injected outage"}`
    /// until [`Self::restore_route`]. Recorded, no effect.
    pub fn fail_route(&self, method: &str, path_prefix: &str, status: u16) {
        let prefix = path_prefix.strip_prefix("/api/v10").unwrap_or(path_prefix).to_owned();
        self.shared.lock().refusals.down_routes.push((method.to_ascii_uppercase(), prefix, status));
    }

    /// Ends [`Self::fail_route`] for `method` and `path_prefix`.
    pub fn restore_route(&self, method: &str, path_prefix: &str) {
        let prefix = path_prefix.strip_prefix("/api/v10").unwrap_or(path_prefix);
        self.shared.lock().refusals.down_routes.retain(|(m, p, _)| !(m.eq_ignore_ascii_case(method) && p == prefix));
    }
}

/// A public thread (type 11) as THREAD_UPDATE carries it.
fn thread_payload(guild_id: u64, thread_id: u64, archived: bool, locked: bool) -> Value {
    serde_json::json!({
        "id": thread_id.to_string(),
        "type": 11,
        "guild_id": guild_id.to_string(),
        "parent_id": null,
        "owner_id": "1",
        "name": "cohort thread",
        "last_message_id": null,
        "rate_limit_per_user": 0,
        "flags": 0,
        "message_count": 1,
        "member_count": 1,
        "thread_metadata": {
            "archived": archived,
            "locked": locked,
            "auto_archive_duration": 1440,
            "archive_timestamp": super::payloads::now_timestamp(),
        },
    })
}
