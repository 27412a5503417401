//! The engine's chat seam, implemented over serenity's HTTP client: pacing,
//! 429 retries, and the classification of Discord's refusals.

use std::sync::Arc;
use std::time::Duration;

use poise::serenity_prelude as serenity;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::render;
use crate::domain::{ChannelId, MessageId};
use crate::engine::{ChatEdge, ChatError, CheckInPost, DigestPost, Permanence, ReminderDm};

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
        let message = self
            .pacer
            .send(|| channel.send_message(&self.http, render::checkin_message(post)))
            .await
            .map_err(chat_err)?;
        Ok(MessageId::new(message.id.get()))
    }

    async fn send_reminder(&self, dm: &ReminderDm) -> Result<ChannelId, ChatError> {
        let channel = match dm.dm_channel {
            Some(known) => serenity::ChannelId::new(known.get()),
            None => {
                let user = serenity::UserId::new(dm.user_id.get());
                self.pacer.send(|| user.create_dm_channel(&self.http)).await.map_err(chat_err)?.id
            }
        };
        self.pacer.send(|| channel.send_message(&self.http, render::reminder_message(dm))).await.map_err(chat_err)?;
        Ok(ChannelId::new(channel.get()))
    }

    async fn post_digest(&self, post: &DigestPost) -> Result<(), ChatError> {
        let channel = serenity::ChannelId::new(post.channel_id.get());
        self.pacer.send(|| channel.send_message(&self.http, render::digest_message(post))).await.map_err(chat_err)?;
        Ok(())
    }
}
