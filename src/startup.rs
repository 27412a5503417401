//! Building and running the whole application; used by `main` and by tests.

use std::sync::Arc;

use anyhow::Context as _;
use poise::serenity_prelude as serenity;
use tokio::sync::watch;

use crate::config::Settings;
use crate::discord::{self, DiscordChat, Pacer};
use crate::engine::{Clock, Engine, SystemClock};
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

        let client =
            serenity::ClientBuilder::new_with_http(http(token, options.api_base.as_deref()), discord::intents())
                .framework(discord::framework(engine.clone()))
                .cache_settings({
                    let mut s = serenity::cache::Settings::default();
                    s.max_messages = 0;
                    s
                })
                .await
                .context("building the Discord client")?;
        Ok(Application { store, engine, client })
    }

    pub fn engine(&self) -> Arc<Engine> {
        self.engine.clone()
    }

    /// Run the gateway connection and the scheduler until `shutdown` resolves
    /// (or the connection fails for good), then stop cleanly.
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
        // Stop taking events, let the scheduler finish its tick, then close the
        // pool (which waits for in-flight writes).
        shards.shutdown_all().await;
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
    app.run_until_stopped(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
