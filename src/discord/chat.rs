//! The engine's chat seam, implemented over serenity's HTTP client (rate
//! limits: [`super::ratelimit`]), and the classification of Discord's refusals.

use poise::serenity_prelude as serenity;
use serenity::{LightMethod, Request, Route};

use super::ratelimit::ChatHttp;
use super::render;
use crate::domain::delivery::code;
use crate::domain::{ChannelId, GuildId, MessageId, UserId};
use crate::engine::{ChatEdge, ChatError, CheckInPost, DigestPost, DirectMessage, NoteDm, Permanence, ReminderDm};

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
const PERMANENT_CODES: [u32; 7] = [
    code::UNKNOWN_CHANNEL,     // 10003: deleted
    code::UNKNOWN_GUILD,       // 10004: the bot was removed
    code::UNKNOWN_MEMBER,      // 10007: they left the server
    10013,                     // Unknown User
    code::MISSING_ACCESS,      // 50001: the bot cannot see the channel
    code::CANNOT_DM,           // 50007: DMs closed, bot blocked, no shared server
    code::MISSING_PERMISSIONS, // 50013: e.g. Send Messages or Embed Links
];

/// Whether Discord's answer `status` with JSON `code` (0 or none: no code)
/// refuses the request for good for its target.
///
/// Permanent: one of [`PERMANENT_CODES`], or any other 4xx (the same request
/// fails the same way) except 429 (rate limited: wait and retry) and 401
/// (the token was refused: every call fails, whatever its target, and the
/// fix is the operator's, not the target's). Temporary: 5xx and the rest.
pub(crate) fn classify(status: u16, code: Option<u32>) -> Permanence {
    let known = code.is_some_and(|c| PERMANENT_CODES.contains(&c));
    let client_error = (400..500).contains(&status) && status != 429 && status != 401;
    if known || client_error { Permanence::Permanent } else { Permanence::Temporary }
}

/// Classify a serenity error with [`classify`]; transport errors (timeouts,
/// connection refused or reset, DNS) and anything else are temporary. The
/// error itself is kept as the source, Discord's code and message alongside.
pub(crate) fn chat_err(e: serenity::Error) -> ChatError {
    let refusal = match &e {
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(r)) => {
            // serenity writes -1 when the body was no JSON error (a proxy's page).
            let code = u32::try_from(r.error.code).ok().filter(|c| *c != 0);
            Some((r.status_code.as_u16(), code, r.error.message.clone()))
        }
        _ => None,
    };
    match refusal {
        Some((status, code, message)) => ChatError::new(classify(status, code), code, e).with_message(message),
        None => ChatError::new(Permanence::Temporary, None, e),
    }
}

#[async_trait::async_trait]
impl ChatEdge for DiscordChat {
    async fn post_checkin(&self, post: &CheckInPost) -> Result<MessageId, ChatError> {
        let channel = serenity::ChannelId::from(post.channel_id);
        let message = self.api.send_message(channel, render::checkin_message(post)).await.map_err(chat_err)?;
        Ok(MessageId::from(message.id))
    }

    async fn send_reminder(&self, dm: &ReminderDm) -> Result<ChannelId, ChatError> {
        let channel = match dm.dm_channel {
            Some(known) => serenity::ChannelId::from(known),
            None => {
                let user = serenity::UserId::from(dm.user_id);
                self.api.create_dm_channel(user).await.map_err(chat_err)?.id
            }
        };
        self.api.send_message(channel, render::reminder_message(dm)).await.map_err(chat_err)?;
        Ok(ChannelId::from(channel))
    }

    async fn post_digest(&self, post: &DigestPost) -> Result<(), ChatError> {
        let channel = serenity::ChannelId::from(post.channel_id);
        self.api.send_message(channel, render::digest_message(post)).await.map_err(chat_err)?;
        Ok(())
    }

    async fn send_note(&self, dm: &NoteDm) -> Result<(), ChatError> {
        let user = serenity::UserId::from(dm.user_id);
        let channel = self.api.create_dm_channel(user).await.map_err(chat_err)?;
        let message = super::render::mentoring::note_dm(dm);
        self.api.send_message(channel.id, message).await.map_err(chat_err)?;
        Ok(())
    }

    async fn send_dm(&self, dm: &DirectMessage) -> Result<(), ChatError> {
        let channel = match dm.channel_id {
            Some(c) => serenity::ChannelId::from(c),
            None => {
                let user = serenity::UserId::from(dm.user_id);
                self.api.create_dm_channel(user).await.map_err(chat_err)?.id
            }
        };
        self.api.send_message(channel, render::dm_text(&dm.text)).await.map_err(chat_err)?;
        Ok(())
    }

    async fn open_dm_channel(&self, user_id: UserId) -> Result<ChannelId, ChatError> {
        let user = serenity::UserId::from(user_id);
        let channel = self.api.create_dm_channel_quietly(user).await.map_err(chat_err)?;
        Ok(ChannelId::from(channel.id))
    }

    async fn role_exists(&self, guild_id: GuildId, role_id: crate::domain::RoleId) -> Result<bool, ChatError> {
        #[derive(serde::Deserialize)]
        struct Role {
            id: serenity::RoleId,
        }
        let guild_id = serenity::GuildId::from(guild_id);
        let roles: Vec<Role> =
            self.api.fire(Request::new(Route::GuildRoles { guild_id }, LightMethod::Get)).await.map_err(chat_err)?;
        Ok(roles.iter().any(|r| r.id.get() == role_id.get()))
    }

    async fn member_in_guild(&self, guild_id: GuildId, user_id: UserId) -> Result<bool, ChatError> {
        let (guild_id, user_id) = (serenity::GuildId::from(guild_id), serenity::UserId::from(user_id));
        let lookup = Request::new(Route::GuildMember { guild_id, user_id }, LightMethod::Get);
        // Only whether Discord knows the member matters, not the member object.
        match self.api.fire::<serde::de::IgnoredAny>(lookup).await.map_err(chat_err) {
            Ok(_) => Ok(true),
            Err(e) if e.code == Some(code::UNKNOWN_MEMBER) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_for_good_are_permanent_outages_are_temporary() {
        use Permanence::{Permanent, Temporary};
        // discord-platform.md: closed DMs, deleted channel, bot removed,
        // member left, missing access, missing permission.
        for (status, code) in [(403, 50007), (404, 10003), (404, 10004), (404, 10007), (403, 50001), (403, 50013)] {
            assert_eq!(classify(status, Some(code)), Permanent, "{status} {code}");
        }
        // The code decides even on an odd status.
        assert_eq!(classify(500, Some(50001)), Permanent);
        // Other client errors: the same request fails the same way.
        assert_eq!(classify(400, Some(50035)), Permanent, "invalid form body");
        assert_eq!(classify(404, None), Permanent);
        // Outages, rate limits and a refused token are no fault of the target.
        for status in [500, 502, 503, 504] {
            assert_eq!(classify(status, None), Temporary, "{status}");
        }
        assert_eq!(classify(429, None), Temporary);
        assert_eq!(classify(401, None), Temporary);
    }
}
