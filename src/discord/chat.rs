//! The engine's chat seam, implemented over serenity's HTTP client.

use std::sync::Arc;
use std::time::Duration;

use poise::serenity_prelude as serenity;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::render;
use crate::domain::{MessageId, Track};
use crate::engine::chat::DigestPost;
use crate::engine::{ChatEdge, ChatError, CheckInPost, ReminderDm};
use crate::summary::QUIET_AFTER;
use crate::summary::digest::Digest;

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

fn chat_err(e: serenity::Error) -> ChatError {
    ChatError(e.to_string())
}

#[async_trait::async_trait]
impl ChatEdge for DiscordChat {
    async fn post_checkin(&self, post: &CheckInPost) -> Result<MessageId, ChatError> {
        let channel = serenity::ChannelId::new(post.channel_id);
        let message = self
            .pacer
            .send(|| channel.send_message(&self.http, render::checkin_message(post)))
            .await
            .map_err(chat_err)?;
        Ok(message.id.get())
    }

    async fn send_reminder(&self, dm: &ReminderDm) -> Result<(), ChatError> {
        let user = serenity::UserId::new(dm.user_id);
        let channel = self.pacer.send(|| user.create_dm_channel(&self.http)).await.map_err(chat_err)?;
        self.pacer.send(|| channel.send_message(&self.http, render::reminder_message(dm))).await.map_err(chat_err)?;
        Ok(())
    }

    async fn post_digest(&self, post: &DigestPost) -> Result<(), ChatError> {
        let channel = serenity::ChannelId::new(post.channel_id);
        self.pacer.send(|| channel.send_message(&self.http, digest_message(post))).await.map_err(chat_err)?;
        Ok(())
    }
}

/// Discord caps an embed field's value at 1024 characters.
const FIELD_MAX: usize = 1024;
const DIGEST_COLOUR: u32 = 0x3b5b7d;

/// The digest as one embed. Members appear as `<@id>` (embeds never ping),
/// and the message pings nobody anyway.
pub fn digest_message(post: &DigestPost) -> serenity::CreateMessage {
    let d = &post.digest;
    let track = d.track.map(track_title).unwrap_or_else(|| "Check-in".into());
    let question: String = d.question.chars().take(300).collect();
    let ellipsis = if d.question.chars().count() > 300 { "…" } else { "" };
    let embed = serenity::CreateEmbed::new()
        .title(format!("Check-in digest · {track}"))
        .description(format!(
            "The check-in of <t:{}:D> closed <t:{}:f>. {} members.\n> {}{ellipsis}",
            d.occurrence_at.timestamp(),
            d.closes_at.timestamp(),
            d.members,
            question.replace('\n', "\n> ")
        ))
        .field("Answered", d.answered.to_string(), true)
        .field("Missing", d.missing.to_string(), true)
        .field("Paused", d.paused.to_string(), true)
        .field(format!("Quiet for {QUIET_AFTER}+ check-ins ({})", d.quiet.len()), quiet_list(d), false)
        .field("Track coverage", coverage_lines(d), false)
        .footer(serenity::CreateEmbedFooter::new(format!("{} · answers are not shown here", post.cohort_name)))
        .colour(DIGEST_COLOUR);
    serenity::CreateMessage::new()
        .embed(embed)
        .nonce(serenity::Nonce::String(post.nonce.clone()))
        .enforce_nonce(true)
        .allowed_mentions(render::no_mentions())
}

fn track_title(t: Track) -> String {
    let s = t.as_str();
    s[..1].to_uppercase() + &s[1..]
}

/// As many quiet members as fit in a field, most missed first.
fn quiet_list(d: &Digest) -> String {
    if d.quiet.is_empty() {
        return "Nobody has missed two check-ins in a row.".into();
    }
    let mut out = String::new();
    for (shown, q) in d.quiet.iter().enumerate() {
        let line = format!("<@{}> · {} missed\n", q.user_id, q.missed_in_a_row);
        // Keep room for the "and N more" line.
        if out.len() + line.len() > FIELD_MAX - 40 {
            out.push_str(&format!("… and {} more", d.quiet.len() - shown));
            return out;
        }
        out.push_str(&line);
    }
    out.trim_end().to_string()
}

/// One line per track over the digest's window, answered of expected.
fn coverage_lines(d: &Digest) -> String {
    let plural = |n: u32| if n == 1 { "" } else { "s" };
    let mut lines = vec![format!("Last {} weeks, answered of expected:", d.window_weeks)];
    for (&track, c) in &d.tracks {
        let name = track_title(track);
        lines.push(match (c.checkins, c.rate_percent()) {
            (0, _) => format!("**{name}**: not asked"),
            (n, Some(rate)) => {
                format!("**{name}**: {}/{} ({rate}%) over {n} check-in{}", c.answered, c.offered, plural(n))
            }
            (n, None) => format!("**{name}**: {n} check-in{}, nobody expected to answer", plural(n)),
        });
    }
    lines.join("\n")
}
