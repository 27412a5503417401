//! Members editing their DMs: MESSAGE_UPDATE for a DM a simulated user sent
//! with [`FakeDiscord::dm_message`], delivered on the socket like any
//! dispatch (Discord sends it to bots with the DIRECT_MESSAGES intent).

use std::time::Instant;

use serde_json::{Value, json};

use super::model::MessageSource;
use super::{FakeDiscord, gateway, payloads};

impl FakeDiscord {
    /// The user edits their DM `message_id` to `content`: the stored message
    /// takes the new text and an `edited_timestamp`, and MESSAGE_UPDATE
    /// carrying the full message (no `guild_id`, as for any DM) is
    /// dispatched.
    ///
    /// # Panics
    /// If `message_id` is not a user's DM the fake holds.
    pub fn edit_dm_message(&self, message_id: u64, content: &str) {
        let mut st = self.shared.lock();
        let Some(msg) = st.message_mut(message_id).filter(|m| m.source == MessageSource::User) else {
            panic!("fake discord: message {message_id} is not a user's DM");
        };
        msg.content = content.to_owned();
        msg.edits += 1;
        msg.edited_timestamp = Some(payloads::now_timestamp());
        msg.updated_at = Instant::now();
        let msg = msg.clone();
        let author = payloads::user(msg.author_id, &st.username(msg.author_id), false);
        let json = payloads::message(&msg, author, self.shared.config.application_id);
        gateway::send_dispatch(&mut st, "MESSAGE_UPDATE", json, None);
        drop(st);
        self.shared.notify();
    }

    /// A link preview appears under the user's DM `message_id`: Discord then
    /// sends a partial MESSAGE_UPDATE with `id`, `channel_id` and `embeds`
    /// only (no `content`, no `author`). The stored text does not change.
    ///
    /// # Panics
    /// If `message_id` is not a user's DM the fake holds.
    pub fn dm_embeds_resolved(&self, message_id: u64, embeds: Vec<Value>) {
        let mut st = self.shared.lock();
        let Some(msg) = st.message_mut(message_id).filter(|m| m.source == MessageSource::User) else {
            panic!("fake discord: message {message_id} is not a user's DM");
        };
        msg.embeds = embeds.clone();
        let partial = json!({
            "id": msg.id.to_string(),
            "channel_id": msg.channel_id.to_string(),
            "embeds": embeds,
        });
        gateway::send_dispatch(&mut st, "MESSAGE_UPDATE", partial, None);
        drop(st);
        self.shared.notify();
    }
}
