//! Building and running the whole application; used by `main` and by tests.

use std::sync::{Arc, OnceLock};

use anyhow::Context as _;
use chrono::Utc;
use poise::serenity_prelude as serenity;
use secrecy::ExposeSecret as _;
use tokio::sync::watch;
use tokio::task::JoinError;

use crate::config::{DiscordSettings, Settings};
use crate::discord::ratelimit::Limited;
use crate::discord::{self, ChatHttp, DiscordChat, RateLimiter};
use crate::domain::{ChannelId, GuildId, MessageId, UserId};
use crate::engine::chat::DigestPost;
use crate::engine::{ChatEdge, ChatError, CheckInPost, Clock, DirectMessage, Engine, NoteDm, ReminderDm, SystemClock};
use crate::instance::{HeldLease, Lease, ThisProcess};
use crate::shutdown::{DRAIN_LIMIT, DrainTracked, InFlight};
use crate::store::Store;
use crate::telemetry::ErrorChain;

/// The running parts: store, engine, the instance lease, and what the
/// Discord client is built from once Discord answers.
pub struct Application {
    store: Store,
    engine: Arc<Engine>,
    chat: Arc<ClientChat>,
    http: serenity::Http,
    /// The HTTP connections `http` uses too: in proxy mode the engine's chat
    /// sends through them, under Trellis's own rate limiter.
    http_client: reqwest::Client,
    discord: DiscordSettings,
    lease: HeldLease,
    in_flight: Arc<InFlight>,
    /// The desk, bound and not serving yet; `None` when off or its
    /// address could not be bound.
    desk: Option<crate::web::Desk>,
}

/// Why [`Application::run_until_stopped`] stopped the bot on its own: the
/// scheduler, which posts check-ins, reminders and digests, is gone. Commands
/// would keep answering while nothing is posted any more, so the bot stops
/// and `trellis run` exits non-zero for a supervisor to restart it.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerStopped {
    /// It panicked (or was cancelled); the source carries the panic message.
    #[error("the scheduler task failed")]
    Failed(#[source] JoinError),
    /// It returned although nobody asked it to stop.
    #[error("the scheduler returned while the bot was running")]
    Returned,
}

impl From<Result<(), JoinError>> for SchedulerStopped {
    fn from(joined: Result<(), JoinError>) -> Self {
        match joined {
            Ok(()) => SchedulerStopped::Returned,
            Err(e) => SchedulerStopped::Failed(e),
        }
    }
}

/// The one `Http` of the bot, built from the token, over `client`. This is
/// the only place the token is exposed; serenity keeps it in a secret type
/// of its own.
fn http(discord: &DiscordSettings, client: reqwest::Client) -> anyhow::Result<serenity::Http> {
    let token = discord.require_token()?;
    // Should any text ever carry it into a log line, it is written as `***`.
    crate::telemetry::keep_secret(token.expose_secret());
    let mut builder = serenity::HttpBuilder::new(token.expose_secret()).client(client);
    if let Some(base) = &discord.api_base {
        // serenity honours a proxy only with its rate limiter off, so the
        // engine's chat goes through Trellis's own (`discord::ratelimit`).
        builder = builder.proxy(base.as_str()).ratelimiter_disabled(true);
    }
    Ok(builder.build())
}

/// Idle connections kept per host (Discord's API is one host). A burst of
/// 1,000 interaction callbacks opens one connection each (HTTP/1.1:
/// serenity's build has no HTTP/2); reqwest's default keeps every one of
/// them for 90 s, with its buffers.
const IDLE_CONNECTIONS: usize = 8;
/// How long an idle connection is kept: long enough to be reused between
/// the requests of one burst or one scheduler tick.
const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The HTTP client of everything the bot sends (serenity's, and the rate
/// limiter's in proxy mode): serenity's default (rustls) with a bounded
/// pool of idle connections.
fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .use_rustls_tls()
        .pool_max_idle_per_host(IDLE_CONNECTIONS)
        .pool_idle_timeout(IDLE_TIMEOUT)
        .build()
        .context("building the HTTP client")
}

/// The engine's chat, sending through the gateway client's own `Http`: one
/// connection pool and one rate limiter for everything the bot sends. The
/// engine must exist before the client (poise's framework holds it), and the
/// client is built only once Discord answers, so the chat is connected right
/// after the client is built, before any event or scheduler tick can run.
#[derive(Default)]
struct ClientChat(OnceLock<DiscordChat>);

impl ClientChat {
    fn connect(&self, chat: DiscordChat) {
        // Only `Application::run_until_stopped` connects it, once.
        let _ = self.0.set(chat);
    }

    fn chat(&self) -> Result<&DiscordChat, ChatError> {
        self.0.get().ok_or_else(|| ChatError::temporary("the Discord client is not built yet"))
    }
}

#[async_trait::async_trait]
impl ChatEdge for ClientChat {
    async fn post_checkin(&self, post: &CheckInPost) -> Result<MessageId, ChatError> {
        self.chat()?.post_checkin(post).await
    }

    async fn send_reminder(&self, dm: &ReminderDm) -> Result<ChannelId, ChatError> {
        self.chat()?.send_reminder(dm).await
    }

    async fn post_digest(&self, digest: &DigestPost) -> Result<(), ChatError> {
        self.chat()?.post_digest(digest).await
    }

    async fn send_dm(&self, dm: &DirectMessage) -> Result<(), ChatError> {
        self.chat()?.send_dm(dm).await
    }

    async fn member_in_guild(&self, guild_id: GuildId, user_id: UserId) -> Result<bool, ChatError> {
        self.chat()?.member_in_guild(guild_id, user_id).await
    }

    async fn send_note(&self, dm: &NoteDm) -> Result<(), ChatError> {
        self.chat()?.send_note(dm).await
    }

    async fn open_dm_channel(&self, user_id: UserId) -> Result<ChannelId, ChatError> {
        self.chat()?.open_dm_channel(user_id).await
    }

    async fn role_exists(&self, guild_id: GuildId, role_id: crate::domain::RoleId) -> Result<bool, ChatError> {
        self.chat()?.role_exists(guild_id, role_id).await
    }
}

impl Application {
    /// Open and migrate the database, take this process's instance lease,
    /// sync file cohorts. Nothing connects to Discord and no scheduler runs
    /// yet; the lease is renewed from here on.
    ///
    /// # Errors
    /// A missing token (`settings.discord.token`, checked before the
    /// database is touched), a database that cannot be opened or migrated,
    /// another `trellis run` holding the database
    /// ([`LeaseError::Held`](crate::instance::LeaseError::Held)), or file
    /// cohorts that cannot be saved.
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let http_client = http_client()?;
        let http = http(&settings.discord, http_client.clone())?;
        // Errors name the database; a PostgreSQL password never reaches the log.
        let shown_url = crate::store::redacted_url(&settings.database_url);
        let store = Store::connect(&settings.database_url)
            .await
            .with_context(|| format!("opening the database {shown_url}"))?;
        store.migrate().await.context("applying migrations")?;
        // Before anything is written: a second copy changes nothing.
        let shards = settings.discord.shards;
        let lease = Lease::take(&store, &shown_url, shards, &ThisProcess::detect(), Utc::now()).await?.keep();
        // Said only for a sharded bot: an unsharded one runs everything, and
        // an operator's failing start stays one line.
        if shards.total() > 1 {
            tracing::info!(
                "this process runs gateway shards {} to {} of {} (shard ids from 0); scheduled posts, reminders \
                 and digests of every cohort",
                shards.first(),
                shards.last(),
                shards.total()
            );
        }

        let chat = Arc::new(ClientChat::default());
        let engine = Arc::new(Engine::new(store.clone(), settings.prompts, clock, chat.clone()));
        if let Err(e) = engine.sync_file_cohorts(&settings.cohorts).await {
            lease.release().await;
            // A cohort made in Discord holding the file's channel is the
            // operator's to fix, in Discord's terms; anything else keeps its chain.
            let e = match e.is_user_error() {
                true => anyhow::anyhow!(discord::user_error_text(&e)),
                false => anyhow::Error::new(e),
            };
            return Err(e.context("saving the cohorts of the config file"));
        }
        let in_flight = Arc::new(InFlight::default());
        // A port that cannot be bound is one line; the bot runs on without the desk.
        let desk = crate::web::Desk::bind(&settings.web).await;
        Ok(Application { store, engine, chat, http, http_client, discord: settings.discord, lease, in_flight, desk })
    }

    pub fn engine(&self) -> Arc<Engine> {
        self.engine.clone()
    }

    /// The desk's public base URL, when it is on.
    pub fn desk_url(&self) -> Option<String> {
        self.desk.as_ref().map(|d| d.public_url().to_string())
    }

    /// Wait until Discord answers (and accepts the token), then run the
    /// gateway connection and the scheduler until `shutdown` resolves, the
    /// connection fails for good, the scheduler stops, or the instance lease
    /// is lost; then stop cleanly (what that guarantees: [`crate::shutdown`])
    /// and release the lease.
    ///
    /// # Errors
    /// [`TokenRefused`](discord::connect::TokenRefused) (a 401, or a gateway
    /// close 4004), an answer that is not Discord's, the connection's error,
    /// a lost lease, or [`SchedulerStopped`] (logged at error with its
    /// cause) when the scheduler ended or panicked, also while stopping.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let Application { store, engine, chat, http, http_client, discord, mut lease, in_flight, desk } = self;
        tokio::pin!(shutdown);
        let (desk_url, desk) = ServingDesk::start(desk, &engine);
        let connected = tokio::select! {
            client = client(http, &discord, engine.clone(), in_flight.clone(), desk_url) => client.map(Some),
            lost = lease.lost() => Err(lost.into()),
            () = &mut shutdown => {
                tracing::info!("shutting down");
                Ok(None)
            }
        };
        let mut client = match connected {
            Ok(Some(client)) => client,
            stopped => {
                desk.stop().await;
                lease.release().await;
                store.close().await;
                return stopped.map(|_| ());
            }
        };
        chat.connect(DiscordChat::new(chat_http(&discord, client.http.clone(), http_client)));

        let (stop_tx, stop_rx) = watch::channel(false);
        let scheduling = engine.clone();
        let mut scheduler = tokio::spawn(async move { scheduling.run_scheduler(stop_rx).await });
        let mut scheduler_running = true;
        let shards = client.shard_manager.clone();
        let watcher = watch_gateway(&client, &discord);
        // Whether the connection ended by itself (its shards are gone already).
        let mut ended = false;
        let slot = discord.shards;
        let mut result = tokio::select! {
            // serenity counts the range's end in: `first..last` starts shards
            // first to last (0..0 of 1 is what `start` runs).
            r = client.start_shard_range(slot.first()..slot.last(), slot.total()) => {
                ended = true;
                r.map_err(|e| discord::connect::from_gateway_error(e, &discord.token_source))
            }
            joined = &mut scheduler => {
                scheduler_running = false;
                let e = anyhow::Error::new(SchedulerStopped::from(joined));
                tracing::error!(error = ?e, "the scheduler stopped while the bot was running; stopping the bot");
                Err(e)
            }
            lost = lease.lost() => {
                tracing::error!(error = %ErrorChain(&lost), "the instance lease is lost; stopping the bot");
                Err(lost.into())
            }
            () = &mut shutdown => {
                tracing::info!("shutting down");
                Ok(())
            }
        };
        // Stop taking events, let those already received finish (a submit
        // racing the signal is saved and confirmed), let the scheduler finish
        // its tick, then give the lease up and close the pool.
        watcher.abort();
        if !ended {
            // (After the connection ended, this would wait 5 s for a shard
            // runner that is gone.)
            shards.shutdown_all().await;
        }
        if !in_flight.drained(DRAIN_LIMIT).await {
            tracing::warn!("events still being handled after {DRAIN_LIMIT:?}; stopping anyway");
        }
        let _ = stop_tx.send(true);
        if scheduler_running && let Err(joined) = scheduler.await {
            let e = anyhow::Error::new(SchedulerStopped::Failed(joined));
            tracing::error!(error = ?e, "the scheduler failed while stopping");
            result = result.and(Err(e));
        }
        desk.stop().await;
        lease.release().await;
        store.close().await;
        result
    }
}

/// The desk serving beside the bot, and how to stop it.
struct ServingDesk(Option<(tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>)>);

impl ServingDesk {
    /// Serve `desk` (if it is on); returns its public URL for `/desk` links.
    fn start(desk: Option<crate::web::Desk>, engine: &Arc<Engine>) -> (Option<String>, ServingDesk) {
        let Some(desk) = desk else { return (None, ServingDesk(None)) };
        let url = desk.public_url().to_string();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = desk.serve(engine.clone(), async move { stopped.await.unwrap_or(()) });
        (Some(url), ServingDesk(Some((stop, task))))
    }

    /// No new connections; requests in progress finish (up to the drain
    /// limit) before the pool closes under them.
    async fn stop(self) {
        let Some((stop, mut task)) = self.0 else { return };
        let _ = stop.send(());
        if tokio::time::timeout(DRAIN_LIMIT, &mut task).await.is_err() {
            task.abort();
        }
    }
}

/// Watch the gateway's shards, saying when they are down and back.
fn watch_gateway(client: &serenity::Client, discord: &DiscordSettings) -> tokio::task::AbortHandle {
    let watched = discord::connect::WatchedClient {
        http: client.http.clone(),
        ws_url: client.ws_url.clone(),
        discord: discord.clone(),
    };
    tokio::spawn(discord::connect::watch_gateway(client.shard_manager.clone(), watched)).abort_handle()
}

/// How the engine's chat sends. Behind a proxy serenity's limiter is off:
/// the engine's sends go through Trellis's own (interaction callbacks never
/// wait behind them).
fn chat_http(discord: &DiscordSettings, http: Arc<serenity::Http>, http_client: reqwest::Client) -> ChatHttp {
    if discord.api_base.is_none() {
        return ChatHttp::Serenity(http);
    }
    // This process's share of the global limit when several send through
    // one proxy (`TRELLIS_GLOBAL_RATE_LIMIT`), else all of it.
    let per_second = discord.global_rate_limit.map_or(discord::ratelimit::GLOBAL_LIMIT, |l| l.get() as usize);
    let limiter = Arc::new(RateLimiter::with_global_limit(per_second));
    ChatHttp::Limited(Arc::new(Limited { http, client: http_client, limiter }))
}

/// The gateway client over `http`, with the engine behind poise's framework,
/// once Discord answers and accepts the token ([`discord::connect`]).
async fn client(
    http: serenity::Http,
    settings: &DiscordSettings,
    engine: Arc<Engine>,
    in_flight: Arc<InFlight>,
    desk_url: Option<String>,
) -> anyhow::Result<serenity::Client> {
    let gateway = discord::connect::wait_for_discord(&http, settings).await?;
    let framework = DrainTracked { inner: discord::framework(engine, desk_url), in_flight };
    let client = serenity::ClientBuilder::new_with_http(http, discord::intents())
        .framework(framework)
        .cache_settings({
            // Trellis reads everything it needs from the interaction
            // itself and never from serenity's cache (poise's guild_only
            // check does not consult it either). Caching each guild's
            // channels, roles and users from GUILD_CREATE measured 3.4 MB
            // for 10 community-sized guilds (benches/footprint.rs).
            let mut s = serenity::cache::Settings::default();
            s.max_messages = 0;
            s.cache_guilds = false;
            s.cache_channels = false;
            s.cache_users = false;
            s
        })
        .await
        .context("building the Discord client")?;
    // The gateway Discord named, not the one serenity looked up (or its
    // fallback to Discord's own when that lookup failed).
    *client.ws_url.lock().await = gateway;
    Ok(client)
}

/// `trellis run`: the bot on the system clock until SIGINT or SIGTERM.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings, Arc::new(SystemClock)).await?;
    let trimmer = crate::memory::spawn_trimmer();
    let stopped = app.run_until_stopped(crate::shutdown::signal()).await;
    trimmer.abort();
    stopped
}
