//! The engine's chat seam, implemented over serenity's HTTP client (rate
//! limits: [`super::ratelimit`]), and the classification of Discord's refusals.

use poise::serenity_prelude as serenity;

use super::ratelimit::ChatHttp;
use super::render;
use crate::domain::{ChannelId, MessageId};
use crate::engine::{ChatEdge, ChatError, CheckInPost, DigestPost, Permanence, ReminderDm};

/// Posts check-ins and sends DMs for the engine.
pub struct DiscordChat {
    /// Every request goes through here: rate-limited by Trellis in proxy
    /// mode, by serenity otherwise ([`super::ratelimit`]).
    api: ChatHttp,
}

impl DiscordChat {
    pub fn new(api: ChatHttp) -> Self {
        DiscordChat { api }
    }
}

/// Discord's JSON error codes that refuse a request for good for its target
/// (discord-platform.md, "What real servers do to a bot"; Discord's API docs,
/// "JSON Error Codes").
const PERMANENT_CODES: [isize; 6] = [
    10003, // Unknown Channel: deleted
    10004, // Unknown Guild: the bot was removed
    10007, // Unknown Member: they left the server
    10013, // Unknown User
    50001, // Missing Access: the bot cannot see the channel
    50007, // Cannot send messages to this user: DMs closed or bot blocked
];

/// Classify a serenity error: permanent for its target (a refusal with one of
/// [`PERMANENT_CODES`], a 403 or 404, or any 4xx but 429: the same request
/// fails the same way), else temporary (5xx, 429, timeouts, connection
/// errors). The error itself is kept as the source.
pub(crate) fn chat_err(e: serenity::Error) -> ChatError {
    let refusal = match &e {
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(r)) => Some((r.status_code, r.error.code)),
        _ => None,
    };
    let (permanence, code) = match refusal {
        Some((status, code)) => {
            let known = PERMANENT_CODES.contains(&code);
            let permanent = known || (status.is_client_error() && status != serenity::StatusCode::TOO_MANY_REQUESTS);
            let permanence = if permanent { Permanence::Permanent } else { Permanence::Temporary };
            (permanence, u32::try_from(code).ok())
        }
        None => (Permanence::Temporary, None),
    };
    ChatError::new(permanence, code, e)
}

#[async_trait::async_trait]
impl ChatEdge for DiscordChat {
    async fn post_checkin(&self, post: &CheckInPost) -> Result<MessageId, ChatError> {
        let channel = serenity::ChannelId::new(post.channel_id.get());
        let message = self.api.send_message(channel, render::checkin_message(post)).await.map_err(chat_err)?;
        Ok(MessageId::new(message.id.get()))
    }

    async fn send_reminder(&self, dm: &ReminderDm) -> Result<ChannelId, ChatError> {
        let channel = match dm.dm_channel {
            Some(known) => serenity::ChannelId::new(known.get()),
            None => {
                let user = serenity::UserId::new(dm.user_id.get());
                self.api.create_dm_channel(user).await.map_err(chat_err)?.id
            }
        };
        self.api.send_message(channel, render::reminder_message(dm)).await.map_err(chat_err)?;
        Ok(ChannelId::new(channel.get()))
    }

    async fn post_digest(&self, post: &DigestPost) -> Result<(), ChatError> {
        let channel = serenity::ChannelId::new(post.channel_id.get());
        self.api.send_message(channel, render::digest_message(post)).await.map_err(chat_err)?;
        Ok(())
    }
}
