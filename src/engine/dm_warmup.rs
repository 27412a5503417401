//! Opening a member's DM channel ahead of their first reminder.
//!
//! A reminder to a member whose DM channel Trellis has never opened costs
//! two requests (`POST /users/@me/channels`, then the message), so in a
//! cohort's first week a burst of 50 reminders needed 100 requests: two
//! windows of Discord's global limit. When a member joins or answers, the
//! channel is opened in the background instead and remembered, so their
//! reminders are one request each and 50 of them leave in the first window.
//!
//! Low priority: one opening at a time per process, and in proxy mode only
//! while the global window is mostly free ([`ChatEdge::open_dm_channel`]),
//! so a warm-up never takes a place a post or a reminder burst needs. A
//! failure costs nothing: the reminder opens the channel itself, as before.

use super::Engine;
use crate::domain::UserId;
use crate::telemetry::ErrorChain;

impl Engine {
    /// Opens `user_id`'s DM channel in the background if none is
    /// remembered; returns at once.
    pub(super) fn open_dm_channel_ahead(&self, user_id: UserId) {
        let (store, chat, clock, turn) =
            (self.store.clone(), self.chat.clone(), self.clock.clone(), self.warmup.clone());
        tokio::spawn(async move {
            let Ok(_turn) = turn.acquire_owned().await else { return };
            if !matches!(store.dm_channel(user_id).await, Ok(None)) {
                return;
            }
            match chat.open_dm_channel(user_id).await {
                Ok(channel) => {
                    if let Err(e) = store.remember_dm_channel(user_id, channel, clock.now()).await {
                        tracing::debug!(user = %user_id, error = %ErrorChain(&e), "could not remember a DM channel");
                    }
                }
                // The reminder opens it itself; nothing to tell anyone.
                Err(e) => tracing::debug!(user = %user_id, error = %ErrorChain(&e), "DM channel not opened ahead"),
            }
        });
    }
}
