//! Building and running the whole application; used by `main` and by tests.

use std::sync::Arc;

use anyhow::Context as _;
use poise::serenity_prelude as serenity;
use tokio::sync::watch;

use crate::config::Settings;
use crate::discord::{self, DiscordChat, Pacer};
use crate::engine::{Clock, Engine, SystemClock};
use crate::shutdown::{DRAIN_LIMIT, DrainTracked, InFlight};
use crate::store::Store;

/// How to reach Discord and what clock to use.
#[derive(Clone)]
pub struct StartOptions {
    /// Replaces `https://discord.com` for every REST call (an HTTP rate-limit
    /// proxy in production, a fake Discord in tests). serenity honours a proxy
    /// only with its rate limiter off, so Trellis paces and retries itself.
    pub api_base: Option<String>,
    pub clock: Arc<dyn Clock>,
}

impl StartOptions {
    pub fn from_env() -> anyhow::Result<Self> {
        let api_base = std::env::var("DISCORD_API_BASE").ok().filter(|s| !s.trim().is_empty());
        if let Some(base) = &api_base
            && !(base.starts_with("http://") || base.starts_with("https://"))
        {
            anyhow::bail!("DISCORD_API_BASE must be an http:// or https:// URL (got `{base}`)");
        }
        Ok(StartOptions {
            api_base: api_base.map(|b| b.trim_end_matches('/').to_string()),
            clock: Arc::new(SystemClock),
        })
    }
}

/// The running parts: store, engine, Discord client.
pub struct Application {
    store: Store,
    engine: Arc<Engine>,
    client: serenity::Client,
    in_flight: Arc<InFlight>,
}

fn http(token: &str, api_base: Option<&str>) -> serenity::Http {
    let mut builder = serenity::HttpBuilder::new(token);
    if let Some(base) = api_base {
        builder = builder.proxy(base).ratelimiter_disabled(true);
    }
    builder.build()
}

impl Application {
    /// Open and migrate the database, sync file cohorts, build the Discord client.
    pub async fn build(settings: Settings, token: &str, options: StartOptions) -> anyhow::Result<Self> {
        let store = Store::connect(&settings.database_url)
            .await
            .with_context(|| format!("opening the database {}", settings.database_url))?;
        store.migrate().await.context("applying migrations")?;

        let pacer = Arc::new(Pacer::default());
        let chat = DiscordChat::new(Arc::new(http(token, options.api_base.as_deref())), pacer);
        let engine = Arc::new(Engine::new(store.clone(), settings.prompts, options.clock, Arc::new(chat)));
        engine.sync_file_cohorts(&settings.cohorts).await.context("saving the cohorts of the config file")?;

        let in_flight = Arc::new(InFlight::default());
        let framework = DrainTracked { inner: discord::framework(engine.clone()), in_flight: in_flight.clone() };
        let client =
            serenity::ClientBuilder::new_with_http(http(token, options.api_base.as_deref()), discord::intents())
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
        Ok(Application { store, engine, client, in_flight })
    }

    pub fn engine(&self) -> Arc<Engine> {
        self.engine.clone()
    }

    /// Run the gateway connection and the scheduler until `shutdown` resolves
    /// (or the connection fails for good), then stop cleanly (what that
    /// guarantees: [`crate::shutdown`]).
    pub async fn run_until_stopped(mut self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let engine = self.engine.clone();
        let scheduler = tokio::spawn(async move { engine.run_scheduler(stop_rx).await });
        let shards = self.client.shard_manager.clone();
        let result = tokio::select! {
            r = self.client.start() => r.context("Discord connection ended"),
            () = shutdown => {
                tracing::info!("shutting down");
                Ok(())
            }
        };
        // Stop taking events, let those already received finish (a submit
        // racing the signal is saved and confirmed), let the scheduler finish
        // its tick, then close the pool.
        shards.shutdown_all().await;
        if !self.in_flight.drained(DRAIN_LIMIT).await {
            tracing::warn!("events still being handled after {DRAIN_LIMIT:?}; stopping anyway");
        }
        let _ = stop_tx.send(true);
        let _ = scheduler.await;
        self.store.close().await;
        result
    }
}

/// `trellis run`: the bot until SIGINT or SIGTERM.
pub async fn run_until_stopped(settings: Settings, token: String) -> anyhow::Result<()> {
    let options = StartOptions::from_env()?;
    let app = Application::build(settings, &token, options).await?;
    app.run_until_stopped(crate::shutdown::signal()).await
}
