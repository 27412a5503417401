//! DM channels that stop existing, as far as the bot can tell.

impl super::FakeDiscord {
    /// `user_id`'s DM channel, if one is open (unlike
    /// [`Self::dm_channel_for`], this never opens one).
    pub fn dm_channel_of(&self, user_id: u64) -> Option<u64> {
        self.shared.lock().dm_channels.get(&user_id).copied()
    }

    /// Forgets `user_id`'s DM channel: a message to the old channel id now
    /// answers 404 with code 10003 (Unknown Channel), and the next
    /// `POST /users/@me/channels` for the user opens a channel with a new id.
    /// Returns the old channel id, if the user had one.
    pub fn close_dm_channel(&self, user_id: u64) -> Option<u64> {
        let closed = self.shared.lock().dm_channels.remove(&user_id);
        self.shared.notify();
        closed
    }
}
