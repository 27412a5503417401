//! A running Trellis (the real `Application`, in this process) wired to a
//! fresh fake Discord and a fresh SQLite file: what every end-to-end test
//! starts from.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fake_discord::{Actor, FakeConfig, FakeDiscord, GuildSpec, Invocation, OptionValue, StoredMessage, permissions};
use serde_json::Value;
use tokio::sync::oneshot;
use trellis::config::{ApiBase, DiscordSettings, SecretString, Settings, WebSettings};
pub use trellis::domain::{ChannelId, CheckInId, GuildId, UserId};
use trellis::domain::{CheckInStatus, MessageId, PromptLibrary};
use trellis::engine::{Clock, Engine, SystemClock};
use trellis::startup::Application;

use crate::ids::{ADMIN, APP, BOT, CHANNEL, CHANNEL2, GUILD, GUILD2, MENTOR_ROLE, MENTOR_ROLE2, OTHER_CHANNEL, TOKEN};
use crate::seed::answer_id;

/// How long the end-to-end tests wait for the bot to react.
pub const WAIT: Duration = Duration::from_secs(10);

/// The bot running in this process; stop it with [`Bot::stop`], which also
/// checks that it called no route the fake does not know.
pub struct Bot {
    /// The Discord it talks to: drive users through it, inspect what the bot sent.
    pub fake: FakeDiscord,
    /// The bot's own engine, to look at (or seed) its database.
    pub engine: Arc<Engine>,
    /// The desk's base URL (on a free port of 127.0.0.1).
    pub desk: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Bot {
    /// Starts the bot against a fake with GUILD (CHANNEL, OTHER_CHANNEL,
    /// MENTOR_ROLE, MENTOR_ROLE2) and GUILD2 (CHANNEL2); returns once it is
    /// READY and its commands are registered in both guilds.
    pub async fn start() -> Bot {
        Self::start_with_clock(Arc::new(SystemClock)).await
    }

    /// [`Bot::start`] with the engine on `clock` (e.g. a [`crate::clock::ShiftedClock`]
    /// that runs in real time from a chosen instant).
    pub async fn start_with_clock(clock: Arc<dyn Clock>) -> Bot {
        Self::start_configured(clock, |_| {}).await
    }

    /// [`Bot::start_with_clock`] with the settings changed by `adjust`
    /// first (a rate-limit share, say). A [`Bot::restart`] uses the plain
    /// settings again.
    pub async fn start_configured(clock: Arc<dyn Clock>, adjust: impl FnOnce(&mut Settings)) -> Bot {
        trellis::telemetry::init_for_tests();
        let fake = start_fake().await;
        let dir = tempfile::tempdir().unwrap();
        let mut settings = settings(&fake, dir.path());
        adjust(&mut settings);
        let app = Application::build(settings, clock).await.expect("app builds");
        let engine = app.engine();
        let desk = app.desk_url().unwrap_or_default();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        wait_started(&fake).await;
        Bot { fake, engine, desk, stop: Some(stop), task, _dir: dir }
    }

    /// Graceful shutdown; panics if the bot fails or calls an unknown route.
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(WAIT, self.task).await.expect("bot stops").unwrap().unwrap();
        self.fake.assert_no_unknown_routes();
    }

    /// Stops the bot gracefully and starts it again on the same database and
    /// the same fake Discord (a new gateway session): a restart between two
    /// things a user does. Returns once the new session is ready.
    pub async fn restart(mut self) -> Bot {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(WAIT, self.task).await.expect("bot stops").unwrap().unwrap();
        let identified = self.fake.identify_count();
        let app = Application::build(settings(&self.fake, self._dir.path()), Arc::new(SystemClock))
            .await
            .expect("app builds again");
        let engine = app.engine();
        let desk = app.desk_url().unwrap_or_default();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        self.fake
            .wait_until(WAIT, "a new gateway session", |f| {
                (f.identify_count() > identified && f.connected()).then_some(())
            })
            .await;
        Bot { fake: self.fake, engine, desk, stop: Some(stop), task, _dir: self._dir }
    }

    /// `/cohort setup` by an admin in CHANNEL; returns the response text.
    pub async fn setup(&self, cron: &str, reminder_after: Option<&str>) -> String {
        let mut inv = setup_in_channel(cron);
        if let Some(r) = reminder_after {
            inv = inv.option("reminder_after", r);
        }
        self.run_setup(inv).await
    }

    /// `/cohort setup` by an admin in CHANNEL with a `digest_channel`; returns the response text.
    pub async fn setup_with_digest(&self, cron: &str, digest_channel: u64) -> String {
        self.run_setup(setup_in_channel(cron).option("digest_channel", OptionValue::Channel(digest_channel))).await
    }

    async fn run_setup(&self, inv: Invocation) -> String {
        let h = self.fake.slash_command(inv);
        let r = self.fake.wait_interaction_response(&h, WAIT).await;
        assert!(r.is_ephemeral(), "{r:?}");
        r.content().to_string()
    }

    /// `/cohort setup` by an admin in `channel` with `mentor_role`; returns the response text.
    pub async fn setup_in(&self, channel: u64, mentor_role: u64, cron: &str, name: &str) -> String {
        let inv = admin(GUILD, channel)
            .command("cohort")
            .subcommand("setup")
            .option("timezone", "UTC")
            .option("mentor_role", OptionValue::Role(mentor_role))
            .option("cron", cron)
            .option("name", name);
        let h = self.fake.slash_command(inv);
        let r = self.fake.wait_interaction_response(&h, WAIT).await;
        assert!(r.is_ephemeral() && r.content().contains("is set up"), "{r:?}");
        r.content().to_string()
    }

    /// Puts an open, posted check-in in the ledger of `channel`'s cohort
    /// without waiting for its schedule: it occurred a minute ago and closes
    /// in an hour. Returns it and the custom_id of its Answer button.
    pub async fn open_checkin(&self, channel: u64) -> (trellis::domain::CheckIn, String) {
        self.open_checkin_closing(channel, Duration::from_secs(3600)).await
    }

    /// [`Bot::open_checkin`] closing `closes_in` from now, for tests that
    /// watch a check-in close.
    pub async fn open_checkin_closing(&self, channel: u64, closes_in: Duration) -> (trellis::domain::CheckIn, String) {
        let store = self.engine.store();
        let cohort = store.cohort_by_channel(ChannelId::new(channel)).await.unwrap().expect("a cohort in this channel");
        let now = chrono::Utc::now();
        let p = &self.engine.prompts().prompts()[0];
        let new = trellis::store::NewCheckIn {
            cohort_id: cohort.id,
            occurrence_at: now - chrono::Duration::minutes(1),
            closes_at: now + chrono::Duration::from_std(closes_in).expect("a short delay"),
            prompt: Some(trellis::domain::PostedPrompt {
                id: p.id.clone(),
                track: p.track,
                question: p.question.clone(),
            }),
        };
        let checkin = store.record_checkin(&new).await.unwrap().expect("a new occurrence");
        if store.claim_post(checkin.id, now, now).await.unwrap() {
            let message_id = MessageId::new(555_000_000_000_000_000 + checkin.id.get() as u64);
            store.mark_posted(checkin.id, message_id, now).await.unwrap();
        } else {
            // The scheduler (woken by a cohort change) saw the new row first
            // and posts it itself: the same check-in, posted for real.
            let posted = async {
                while store.checkin(checkin.id).await.unwrap().unwrap().status != CheckInStatus::Posted {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            };
            tokio::time::timeout(WAIT, posted).await.expect("the scheduler posts the check-in");
        }
        let checkin = store.checkin(checkin.id).await.unwrap().unwrap();
        let custom_id = answer_id(checkin.id);
        (checkin, custom_id)
    }

    /// The bot's SQLite file, for raw checks such as [`crate::db::rows_holding_in`].
    pub fn database_path(&self) -> std::path::PathBuf {
        self._dir.path().join("trellis.db")
    }

    /// The messages in CHANNEL: the check-in posts of its cohort.
    pub fn checkin_posts(&self) -> Vec<StoredMessage> {
        self.fake.messages_in(CHANNEL)
    }
}

/// The fake Discord every bot starts against: GUILD with CHANNEL,
/// OTHER_CHANNEL and both mentor roles, and GUILD2 with CHANNEL2.
pub async fn start_fake() -> FakeDiscord {
    let config = FakeConfig::new(BOT, APP)
        .guild(
            GuildSpec::new(GUILD, "Staff Path")
                .channel(CHANNEL, "staff-path")
                .channel(OTHER_CHANNEL, "general")
                .role(MENTOR_ROLE, "mentors", 0)
                .role(MENTOR_ROLE2, "mentors-b", 0),
        )
        .guild(GuildSpec::new(GUILD2, "Elsewhere").channel(CHANNEL2, "elsewhere"));
    FakeDiscord::start(config).await
}

/// Waits until the bot behind `fake` is connected and has registered its
/// commands in both guilds (which it does on GUILD_CREATE).
pub async fn wait_started(fake: &FakeDiscord) {
    fake.wait_ready(WAIT).await;
    fake.wait_until(WAIT, "commands registered", |fake| {
        (fake.registered_command_names(GUILD).len() >= 8 && fake.registered_command_names(GUILD2).len() >= 8)
            .then_some(())
    })
    .await;
}

/// Settings for a bot on a new database in `dir`, talking to `fake` with TOKEN.
pub fn settings(fake: &FakeDiscord, dir: &Path) -> Settings {
    Settings {
        config_file: None,
        database_url: format!("sqlite://{}", dir.join("trellis.db").display()),
        cohorts: vec![],
        prompts: PromptLibrary::builtin(),
        discord: DiscordSettings {
            token: Some(SecretString::new(TOKEN.into())),
            api_base: Some(ApiBase::parse(&fake.api_base()).expect("the fake's URL")),
            ..DiscordSettings::default()
        },
        // Any free port: several bots run side by side in one test process.
        web: WebSettings { addr: Some("127.0.0.1:0".parse().expect("an address")), public_url: None },
    }
}

/// ADMIN (who has Manage Server) acting in `guild`/`channel`.
pub fn admin(guild: u64, channel: u64) -> Actor {
    Actor::in_guild(guild, channel, ADMIN).permissions(permissions::EVERYONE_DEFAULT | permissions::MANAGE_GUILD)
}

/// `/cohort setup` by ADMIN in CHANNEL, in UTC, mentored by MENTOR_ROLE.
pub fn setup_in_channel(cron: &str) -> Invocation {
    admin(GUILD, CHANNEL)
        .command("cohort")
        .subcommand("setup")
        .option("timezone", "UTC")
        .option("mentor_role", OptionValue::Role(MENTOR_ROLE))
        .option("cron", cron)
}

/// Every interaction callback and every message the bot sent that echoes
/// mention syntax (`@everyone`, `@here`, `<@…>`) pings nobody. Returns how
/// many such bodies were checked.
pub fn assert_echoes_ping_nobody(fake: &FakeDiscord) -> usize {
    let mut checked = 0;
    for req in fake.requests() {
        let Some(body) = req.body.as_ref() else { continue };
        // Callbacks carry the message in `data`; messages and follow-ups at the top.
        let message = if req.api_path().starts_with("/interactions/") { &body["data"] } else { body };
        let text = serde_json::json!([message.get("content"), message.get("embeds")]).to_string();
        if text.contains("@everyone") || text.contains("@here") || text.contains("<@") {
            checked += 1;
            let allowed = message.get("allowed_mentions").unwrap_or_else(|| panic!("no allowed_mentions: {req:?}"));
            pings_nobody(allowed);
        }
    }
    checked
}

/// `user` acting in GUILD/CHANNEL, without any role.
pub fn member(user: u64) -> Actor {
    Actor::in_guild(GUILD, CHANNEL, user)
}

/// The custom_id of the first button on `message`.
pub fn button_custom_id(message: &StoredMessage) -> String {
    message.components[0]["components"][0]["custom_id"].as_str().unwrap().to_string()
}

/// Asserts that an `allowed_mentions` object lets nothing ping.
pub fn pings_nobody(allowed_mentions: &Value) {
    assert_eq!(allowed_mentions["parse"], serde_json::json!([]), "{allowed_mentions}");
    for key in ["users", "roles"] {
        if let Some(v) = allowed_mentions.get(key) {
            assert_eq!(v, &serde_json::json!([]), "{allowed_mentions}");
        }
    }
}
