//! Reaching Discord at start: one clear line instead of a library's stream.
//!
//! Before the gateway client is built, `trellis run` asks Discord for the
//! gateway (`GET /gateway/bot`, which needs the token):
//!
//! - 401: the token is refused. `run` stops with [`TokenRefused`], one line
//!   saying so and where the token was read from. So does a gateway close
//!   with 4004 (Authentication failed) later ([`from_gateway_error`]).
//! - no connection (DNS, refused, timeout), a 5xx or a 429: one warning per
//!   attempt naming the URL and the cause, then a wait that doubles from 1 s
//!   up to 60 s, until Discord answers or the bot is stopped.
//! - another answer (a wrong `DISCORD_API_BASE`): [`Unexpected`], at once.
//!
//! While the bot runs, [`watch_gateway`] reports a lost gateway connection
//! the same way: one line when it has been down for 5 s, then at doubling
//! intervals, naming the cause; one line when it is back.
//!
//! The URL Discord answers with is the gateway the client then connects to:
//! serenity would otherwise fall back to Discord's own gateway when its
//! lookup fails, which behind `DISCORD_API_BASE` is the wrong one.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use poise::serenity_prelude as serenity;

use crate::config::{DiscordSettings, TokenSource};

/// Discord's REST API when `DISCORD_API_BASE` is not set.
const DISCORD: &str = "https://discord.com";
/// First wait after a failed attempt; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// An attempt that has no answer by then counts as failed (a host that drops
/// packets would otherwise hold it for the OS's connect timeout, minutes).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);

/// Discord refused the bot's token: a 401 on a REST call, or the gateway
/// closed with 4004. Retrying cannot help (and 401s count toward Discord's
/// ban of invalid requests), so `trellis run` stops.
#[derive(Debug, thiserror::Error)]
#[error(
    "Discord refused the bot token ({how}); it was read from {read_from}. Copy the token from the Discord \
     Developer Portal (your application → Bot → Reset Token) into {read_from}"
)]
pub struct TokenRefused {
    /// What said so, e.g. `401 Unauthorized on GET https://discord.com/api/v10/gateway/bot`.
    pub how: String,
    pub read_from: TokenSource,
}

/// Discord (or whatever `DISCORD_API_BASE` points at) answered, but not as
/// Discord would: a status other than 401, 429 or 5xx, or a body that is
/// not Discord's.
#[derive(Debug, thiserror::Error)]
#[error("GET {url} answered {answer}; is DISCORD_API_BASE right?")]
pub struct Unexpected {
    pub url: String,
    pub answer: String,
}

/// What one attempt to reach Discord found.
enum Attempt {
    /// The gateway URL to connect to.
    Reached(String),
    Refused(TokenRefused),
    Unexpected(Unexpected),
    /// Worth trying again; the cause, for the log line.
    Unreachable(String),
}

/// The URL of `GET /gateway/bot` for these settings, for people to read.
fn gateway_bot_url(discord: &DiscordSettings) -> String {
    let base = discord.api_base.as_ref().map_or(DISCORD, |b| b.as_str());
    format!("{base}/api/v10/gateway/bot")
}

/// Asks Discord for the gateway until it answers: returns its URL, or the
/// refusal that stops the bot. Cancel it (drop the future) to stop waiting.
///
/// # Errors
/// [`TokenRefused`] on a 401; [`Unexpected`] on an answer that is not
/// Discord's.
pub async fn wait_for_discord(http: &serenity::Http, discord: &DiscordSettings) -> anyhow::Result<String> {
    let url = gateway_bot_url(discord);
    let mut wait = FIRST_BACKOFF;
    for attempt in 1.. {
        match try_once(http, &url, &discord.token_source).await {
            Attempt::Reached(gateway) => {
                if attempt > 1 {
                    tracing::info!(attempt, "Discord is reachable again");
                }
                return Ok(gateway);
            }
            Attempt::Refused(e) => return Err(e.into()),
            Attempt::Unexpected(e) => return Err(e.into()),
            Attempt::Unreachable(cause) => {
                tracing::warn!(
                    "cannot reach Discord at {url} ({cause}); attempt {attempt}, trying again in {}s",
                    wait.as_secs()
                );
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(MAX_BACKOFF);
            }
        }
    }
    unreachable!("the attempts never run out")
}

/// One `GET /gateway/bot`, bounded by [`ATTEMPT_TIMEOUT`].
async fn try_once(http: &serenity::Http, url: &str, source: &TokenSource) -> Attempt {
    match tokio::time::timeout(ATTEMPT_TIMEOUT, http.get_bot_gateway()).await {
        Ok(answer) => classify(answer, url, source),
        Err(_) => Attempt::Unreachable(format!("no answer within {}s", ATTEMPT_TIMEOUT.as_secs())),
    }
}

fn classify(answer: serenity::Result<serenity::BotGateway>, url: &str, source: &TokenSource) -> Attempt {
    use serenity::{Error, HttpError, StatusCode};
    let e = match answer {
        Ok(gateway) => return Attempt::Reached(gateway.url),
        Err(e) => e,
    };
    match &e {
        Error::Http(HttpError::UnsuccessfulRequest(r)) if r.status_code == StatusCode::UNAUTHORIZED => {
            Attempt::Refused(TokenRefused { how: format!("{} on GET {url}", r.status_code), read_from: source.clone() })
        }
        Error::Http(HttpError::UnsuccessfulRequest(r))
            if r.status_code.is_server_error() || r.status_code == StatusCode::TOO_MANY_REQUESTS =>
        {
            Attempt::Unreachable(format!("HTTP {}", r.status_code))
        }
        Error::Http(HttpError::UnsuccessfulRequest(r)) => {
            Attempt::Unexpected(Unexpected { url: url.to_string(), answer: format!("HTTP {}", r.status_code) })
        }
        // A body that is not Discord's gateway object.
        Error::Json(_) => Attempt::Unexpected(Unexpected { url: url.to_string(), answer: root_cause(&e) }),
        _ => Attempt::Unreachable(root_cause(&e)),
    }
}

/// The innermost cause of an error: for a failed connection the OS's words
/// (`Connection refused (os error 111)`, `failed to lookup address
/// information: …`), not the layers of wrappers around them.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

/// A gateway error that ended the connection, as Trellis reports it: a
/// 4004 close is [`TokenRefused`]; anything else is kept as it is.
pub fn from_gateway_error(e: serenity::Error, source: &TokenSource) -> anyhow::Error {
    match e {
        serenity::Error::Gateway(serenity::GatewayError::InvalidAuthentication) => TokenRefused {
            how: "the gateway closed the connection with 4004 Authentication failed".into(),
            read_from: source.clone(),
        }
        .into(),
        e => anyhow::Error::new(e).context("Discord connection ended"),
    }
}

/// How long the gateway may be down before it is reported: a resume after a
/// routine reconnect (Discord asks for them) takes a second or two.
const DOWN_GRACE: Duration = Duration::from_secs(5);
/// Reports of one outage are spaced like the start-up attempts, doubling
/// from [`DOWN_GRACE`] up to this.
const MAX_REPORT_INTERVAL: Duration = Duration::from_secs(600);

/// Watches the gateway connection while the bot runs, for the operator:
/// serenity reconnects by itself (its own warnings are filtered out by
/// default, see `telemetry`), and this says so in Trellis's words. When the
/// connection has been down for [`DOWN_GRACE`], one warning names the
/// gateway, how long it has been down and, from one `GET /gateway/bot`,
/// whether Discord can be reached at all and why not; further warnings come
/// at doubling intervals; one line says when it is back. Never returns.
pub async fn watch_gateway(shards: Arc<serenity::ShardManager>, client: WatchedClient) -> ! {
    let WatchedClient { http, ws_url, discord } = client;
    let url = gateway_bot_url(&discord);
    let mut down_since: Option<Instant> = None;
    // The next report is due when the outage is `next_report` old; the one
    // after it `interval` later.
    let (mut next_report, mut interval, mut reports) = (DOWN_GRACE, DOWN_GRACE, 0u32);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        // The shards started so far that are not connected (serenity starts
        // a process's shards 5 s apart; one not started yet is not down).
        let (connected, down_shards) = {
            let runners = shards.runners.lock().await;
            let mut down: Vec<u32> = runners
                .iter()
                .filter(|(_, r)| r.stage != serenity::ConnectionStage::Connected)
                .map(|(id, _)| id.0)
                .collect();
            down.sort_unstable();
            (!runners.is_empty() && down.is_empty(), down)
        };
        match (connected, down_since) {
            (true, None) => {}
            (true, Some(since)) => {
                if reports > 0 {
                    tracing::info!("connected to the Discord gateway again after {}s", since.elapsed().as_secs());
                }
                (down_since, next_report, interval, reports) = (None, DOWN_GRACE, DOWN_GRACE, 0);
            }
            (false, None) => down_since = Some(Instant::now()),
            (false, Some(since)) if since.elapsed() >= next_report => {
                let gateway = format!("{}{}", ws_url.lock().await, which_shards(discord.shards, &down_shards));
                let down = since.elapsed().as_secs();
                let next = interval.as_secs();
                match try_once(&http, &url, &discord.token_source).await {
                    Attempt::Unreachable(cause) => tracing::warn!(
                        "the Discord gateway {gateway} has been disconnected for {down}s: cannot reach Discord at {url} \
                         ({cause}); reconnecting, next report in {next}s"
                    ),
                    Attempt::Refused(e) => {
                        tracing::error!("the Discord gateway {gateway} has been disconnected for {down}s: {e}")
                    }
                    Attempt::Reached(_) | Attempt::Unexpected(_) => tracing::warn!(
                        "the Discord gateway {gateway} has been disconnected for {down}s (Discord's REST API answers); \
                         reconnecting, next report in {next}s"
                    ),
                }
                next_report += interval;
                interval = (interval * 2).min(MAX_REPORT_INTERVAL);
                reports += 1;
            }
            (false, Some(_)) => {}
        }
    }
}

/// For a process of a sharded bot, which of its shards a report is about:
/// ` (shards 2, 3 of 4)`; nothing for a bot of one shard.
fn which_shards(slot: crate::domain::Slot, down: &[u32]) -> String {
    if slot.total() <= 1 || down.is_empty() {
        return String::new();
    }
    let ids: Vec<String> = down.iter().map(u32::to_string).collect();
    let noun = if down.len() == 1 { "shard" } else { "shards" };
    format!(" ({noun} {} of {})", ids.join(", "), slot.total())
}

/// What [`watch_gateway`] needs of the client: its `Http`, the gateway URL
/// it connects to, and the settings it was built from.
pub struct WatchedClient {
    pub http: Arc<serenity::Http>,
    pub ws_url: Arc<tokio::sync::Mutex<String>>,
    pub discord: DiscordSettings,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Slot;

    #[test]
    fn a_report_names_the_down_shards_only_for_a_sharded_bot() {
        assert_eq!(which_shards(Slot::ALL, &[0]), "");
        let slot = Slot::shards(2, 3, 4).unwrap();
        assert_eq!(which_shards(slot, &[3]), " (shard 3 of 4)");
        assert_eq!(which_shards(slot, &[2, 3]), " (shards 2, 3 of 4)");
        assert_eq!(which_shards(slot, &[]), "");
    }
}
