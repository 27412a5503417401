//! The bot removed from a guild and added back, and a guild outage.
//!
//! - [`FakeDiscord::remove_bot_from_guild`]: GUILD_DELETE without
//!   `unavailable` (the bot was kicked). Afterwards, as on Discord, every
//!   call for that guild fails: its channels answer 403 `50001` (Missing
//!   Access), its guild routes 404 `10004` (Unknown Guild), command
//!   registration 403 `50001`; READY no longer lists it and no GUILD_CREATE
//!   is sent for it on IDENTIFY.
//!   [`FakeDiscord::remove_bot_from_guild_unannounced`] does the same
//!   without the event (the bot was offline).
//! - [`FakeDiscord::add_bot_to_guild`]: GUILD_CREATE for a guild of the
//!   config (the bot was added back, or the guild is available again) and
//!   the calls work again.
//! - [`FakeDiscord::guild_outage`]: GUILD_DELETE with `unavailable: true`
//!   (an outage; nothing else changes).

use serde_json::{Value, json};

use super::state::{Shared, State};
use super::{FakeDiscord, gateway, payloads};

impl FakeDiscord {
    /// The bot is removed from `guild_id`: GUILD_DELETE `{"id": …}` (no
    /// `unavailable`), then every call for the guild fails (module docs).
    ///
    /// # Panics
    /// If the guild is not in the fake's config.
    pub fn remove_bot_from_guild(&self, guild_id: u64) {
        assert!(self.config().find_guild(guild_id).is_some(), "fake discord: no guild {guild_id}");
        let mut st = self.shared.lock();
        st.removed_guilds.insert(guild_id);
        gateway::send_dispatch(&mut st, "GUILD_DELETE", json!({ "id": guild_id.to_string() }), None);
        drop(st);
        self.shared.notify();
    }

    /// The bot is removed from `guild_id` while it is not connected: no
    /// GUILD_DELETE reaches it; the next READY simply no longer lists the
    /// guild, and every call for it fails (module docs).
    ///
    /// # Panics
    /// If the guild is not in the fake's config.
    pub fn remove_bot_from_guild_unannounced(&self, guild_id: u64) {
        assert!(self.config().find_guild(guild_id).is_some(), "fake discord: no guild {guild_id}");
        self.shared.lock().removed_guilds.insert(guild_id);
        self.shared.notify();
    }

    /// The bot is added back to `guild_id` (or the guild is available again
    /// after an outage): GUILD_CREATE with the full guild; calls for it work
    /// again.
    ///
    /// # Panics
    /// If the guild is not in the fake's config.
    pub fn add_bot_to_guild(&self, guild_id: u64) {
        let guild = self.config().find_guild(guild_id).unwrap_or_else(|| panic!("fake discord: no guild {guild_id}"));
        let payload = payloads::guild_create(self.config(), guild);
        let mut st = self.shared.lock();
        st.removed_guilds.remove(&guild_id);
        gateway::send_dispatch(&mut st, "GUILD_CREATE", payload, None);
        drop(st);
        self.shared.notify();
    }

    /// `guild_id` has an outage: GUILD_DELETE `{"id": …, "unavailable": true}`.
    /// Nothing else changes; [`Self::add_bot_to_guild`] ends it.
    pub fn guild_outage(&self, guild_id: u64) {
        self.dispatch("GUILD_DELETE", json!({ "id": guild_id.to_string(), "unavailable": true }));
    }

    /// Guilds the bot is currently removed from.
    pub fn removed_guilds(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.shared.lock().removed_guilds.iter().copied().collect();
        ids.sort_unstable();
        ids
    }
}

/// REST: the refusal (status, code, message) for a call about a guild the
/// bot was removed from, by path segments below `/api/v10`.
pub(crate) fn removed_guild_refusal(
    shared: &Shared,
    st: &State,
    segments: &[&str],
) -> Option<(u16, u64, &'static str)> {
    if st.removed_guilds.is_empty() {
        return None;
    }
    let id = |s: &str| s.parse::<u64>().ok();
    match segments {
        ["guilds", guild, ..] if id(guild).is_some_and(|g| st.removed_guilds.contains(&g)) => {
            Some((404, 10004, "Unknown Guild"))
        }
        ["applications", _, "guilds", guild, ..] if id(guild).is_some_and(|g| st.removed_guilds.contains(&g)) => {
            Some((403, 50001, "Missing Access"))
        }
        ["channels", channel, ..] => {
            let channel = id(channel)?;
            let guild = shared.config.guilds.iter().find(|g| g.find_channel(channel).is_some())?;
            st.removed_guilds.contains(&guild.id).then_some((403, 50001, "Missing Access"))
        }
        _ => None,
    }
}

/// Gateway: READY's `guilds` without those the bot was removed from.
pub(crate) fn drop_removed_from_ready(st: &State, ready: &mut Value) {
    if let Some(guilds) = ready.get_mut("guilds").and_then(Value::as_array_mut) {
        guilds.retain(|g| {
            let id = g.get("id").and_then(Value::as_str).and_then(|s| s.parse::<u64>().ok());
            !id.is_some_and(|id| st.removed_guilds.contains(&id))
        });
    }
}
