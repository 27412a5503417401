//! The engine's chat seam, implemented over serenity's HTTP client: pacing,
//! 429 retries, and the classification of Discord's refusals.

use std::sync::Arc;
use std::time::Duration;

use poise::serenity_prelude as serenity;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::render;
use crate::domain::delivery::code;
use crate::domain::{GuildId, MessageId, UserId};
use crate::engine::{ChatEdge, ChatError, CheckInPost, DigestPost, DirectMessage, NoteDm, Permanence, ReminderDm};

/// Discord's global limit is 50 requests/s; stay just under it.
const MIN_INTERVAL: Duration = Duration::from_millis(21);
/// serenity's error drops the 429 body's `retry_after` (it fails to decode the
/// body as a JSON error without `code`), so a 429 waits this long, then retries.
const RETRY_429_AFTER: Duration = Duration::from_secs(1);
const MAX_429_RETRIES: u32 = 3;

/// Spaces outgoing requests and retries 429s. Needed when serenity's own rate
/// limiter is off (proxy mode); harmless otherwise.
#[derive(Debug)]
pub struct Pacer {
    next: Mutex<Instant>,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer { next: Mutex::new(Instant::now()) }
    }
}

impl Pacer {
    async fn slot(&self) {
        let at = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let at = (*next).max(now);
            *next = at + MIN_INTERVAL;
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// Run `call` in a paced slot; on 429 wait and try again (bounded).
    pub async fn send<T, F, Fut>(&self, mut call: F) -> Result<T, serenity::Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, serenity::Error>>,
    {
        let mut attempt = 0;
        loop {
            self.slot().await;
            match call().await {
                Err(e) if is_rate_limited(&e) && attempt < MAX_429_RETRIES => {
                    attempt += 1;
                    tracing::warn!(attempt, "rate limited (429); retrying");
                    tokio::time::sleep(RETRY_429_AFTER).await;
                }
                other => return other,
            }
        }
    }
}

fn is_rate_limited(e: &serenity::Error) -> bool {
    matches!(e, serenity::Error::Http(h) if h.status_code() == Some(serenity::StatusCode::TOO_MANY_REQUESTS))
}

/// Posts check-ins and sends DMs for the engine.
pub struct DiscordChat {
    http: Arc<serenity::Http>,
    pacer: Arc<Pacer>,
}

impl DiscordChat {
    pub fn new(http: Arc<serenity::Http>, pacer: Arc<Pacer>) -> Self {
        DiscordChat { http, pacer }
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
        let channel = serenity::ChannelId::new(post.channel_id.get());
        let message = self
            .pacer
            .send(|| channel.send_message(&self.http, render::checkin_message(post)))
            .await
            .map_err(chat_err)?;
        Ok(MessageId::new(message.id.get()))
    }

    async fn send_reminder(&self, dm: &ReminderDm) -> Result<(), ChatError> {
        let user = serenity::UserId::new(dm.user_id.get());
        let channel = self.pacer.send(|| user.create_dm_channel(&self.http)).await.map_err(chat_err)?;
        self.pacer.send(|| channel.send_message(&self.http, render::reminder_message(dm))).await.map_err(chat_err)?;
        Ok(())
    }

    async fn post_digest(&self, post: &DigestPost) -> Result<(), ChatError> {
        let channel = serenity::ChannelId::new(post.channel_id.get());
        self.pacer.send(|| channel.send_message(&self.http, render::digest_message(post))).await.map_err(chat_err)?;
        Ok(())
    }

    async fn send_note(&self, dm: &NoteDm) -> Result<(), ChatError> {
        let user = serenity::UserId::new(dm.user_id.get());
        let channel = self.pacer.send(|| user.create_dm_channel(&self.http)).await.map_err(chat_err)?;
        let message = super::mentoring_render::note_dm(dm);
        self.pacer.send(|| channel.send_message(&self.http, message.clone())).await.map_err(chat_err)?;
        Ok(())
    }

    async fn send_dm(&self, dm: &DirectMessage) -> Result<(), ChatError> {
        let channel = match dm.channel_id {
            Some(c) => serenity::ChannelId::new(c.get()),
            None => {
                let user = serenity::UserId::new(dm.user_id.get());
                self.pacer.send(|| user.create_dm_channel(&self.http)).await.map_err(chat_err)?.id
            }
        };
        self.pacer.send(|| channel.send_message(&self.http, render::dm_text(&dm.text))).await.map_err(chat_err)?;
        Ok(())
    }

    async fn member_in_guild(&self, guild_id: GuildId, user_id: UserId) -> Result<bool, ChatError> {
        let (guild, user) = (serenity::GuildId::new(guild_id.get()), serenity::UserId::new(user_id.get()));
        match self.pacer.send(|| self.http.get_member(guild, user)).await.map_err(chat_err) {
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
