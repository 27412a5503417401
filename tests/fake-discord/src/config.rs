//! Static description of the fake Discord world: the bot, its application
//! and the guilds it is a member of.

use std::time::Duration;

/// Discord permission bits used by the fake (and handy in tests).
pub mod permissions {
    pub const CREATE_INSTANT_INVITE: u64 = 1 << 0;
    pub const ADMINISTRATOR: u64 = 1 << 3;
    pub const MANAGE_CHANNELS: u64 = 1 << 4;
    pub const MANAGE_GUILD: u64 = 1 << 5;
    pub const ADD_REACTIONS: u64 = 1 << 6;
    pub const VIEW_CHANNEL: u64 = 1 << 10;
    pub const SEND_MESSAGES: u64 = 1 << 11;
    pub const MANAGE_MESSAGES: u64 = 1 << 13;
    pub const EMBED_LINKS: u64 = 1 << 14;
    pub const ATTACH_FILES: u64 = 1 << 15;
    pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
    pub const MENTION_EVERYONE: u64 = 1 << 17;
    pub const USE_EXTERNAL_EMOJIS: u64 = 1 << 18;
    pub const MANAGE_ROLES: u64 = 1 << 28;
    pub const USE_APPLICATION_COMMANDS: u64 = 1 << 31;
    pub const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;

    /// What `@everyone` may do in a freshly made guild (roughly Discord's default).
    pub const EVERYONE_DEFAULT: u64 = CREATE_INSTANT_INVITE
        | ADD_REACTIONS
        | VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | USE_EXTERNAL_EMOJIS
        | USE_APPLICATION_COMMANDS
        | SEND_MESSAGES_IN_THREADS;

    /// Default permissions of the bot's managed role: send, embed, attach.
    pub const BOT_DEFAULT: u64 = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY;
}

/// Configuration for [`super::FakeDiscord::start`].
#[derive(Clone, Debug)]
pub struct FakeConfig {
    /// The bot's user id (READY `user.id`, `GET /users/@me`).
    pub bot_user_id: u64,
    /// The bot's username.
    pub bot_username: String,
    /// The application id (READY `application.id`, `GET /oauth2/applications/@me`).
    pub application_id: u64,
    /// The application owner (poise treats this user as an owner).
    pub owner_id: u64,
    /// Guilds the bot is in; each gets a GUILD_CREATE after READY.
    pub guilds: Vec<GuildSpec>,
    /// Interval announced in HELLO.
    pub heartbeat_interval: Duration,
    /// Simulated human reaction time: a button click is delivered no sooner
    /// than this after its message was created or edited, a modal submit no
    /// sooner than this after the modal was opened. serenity/poise collectors
    /// are registered only after the HTTP call that showed the UI returns,
    /// so an instant click could arrive before anyone listens for it.
    pub user_reaction_delay: Duration,
    /// How long a gateway session whose socket closed (not with 1000/1001)
    /// stays resumable and keeps receiving dispatches for the replay.
    /// Discord does not publish its figure; the fake's default, 60 s, is
    /// longer than any reconnect in the tests.
    pub session_resume_window: Duration,
    /// The bot's shard count: what `GET /gateway/bot` reports as `shards`,
    /// and the only `num_shards` an IDENTIFY may carry (another one is
    /// closed with 4010, see `sessions.rs`). Default 1.
    pub shards: u64,
}

impl FakeConfig {
    /// A bot with no guilds, username `Trellis`, owner id 1, Discord's
    /// usual 41.25 s heartbeat interval, a 200 ms user reaction delay,
    /// sessions resumable for 60 s and one shard.
    pub fn new(bot_user_id: u64, application_id: u64) -> Self {
        Self {
            bot_user_id,
            bot_username: "Trellis".to_owned(),
            application_id,
            owner_id: 1,
            guilds: Vec::new(),
            heartbeat_interval: Duration::from_millis(41_250),
            user_reaction_delay: Duration::from_millis(200),
            session_resume_window: Duration::from_secs(60),
            shards: 1,
        }
    }

    /// Adds a guild.
    pub fn guild(mut self, guild: GuildSpec) -> Self {
        self.guilds.push(guild);
        self
    }

    /// Sets the heartbeat interval announced in HELLO.
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat_interval = interval;
        self
    }

    /// Sets the simulated reaction time (see [`FakeConfig::user_reaction_delay`]).
    pub fn user_reaction_delay(mut self, delay: Duration) -> Self {
        self.user_reaction_delay = delay;
        self
    }

    /// Sets how long a disconnected session stays resumable (see
    /// [`FakeConfig::session_resume_window`]).
    pub fn session_resume_window(mut self, window: Duration) -> Self {
        self.session_resume_window = window;
        self
    }

    /// Sets the bot's shard count (see [`FakeConfig::shards`]).
    ///
    /// # Panics
    /// If `shards` is 0.
    pub fn shards(mut self, shards: u64) -> Self {
        assert!(shards >= 1, "fake discord: a bot has at least one shard");
        self.shards = shards;
        self
    }

    /// Sets the application owner.
    pub fn owner(mut self, owner_id: u64) -> Self {
        self.owner_id = owner_id;
        self
    }

    pub(crate) fn find_guild(&self, guild_id: u64) -> Option<&GuildSpec> {
        self.guilds.iter().find(|g| g.id == guild_id)
    }
}

/// A guild the bot is a member of.
#[derive(Clone, Debug)]
pub struct GuildSpec {
    pub id: u64,
    pub name: String,
    pub owner_id: u64,
    /// Text channels (type 0).
    pub channels: Vec<ChannelSpec>,
    /// Extra roles (besides `@everyone` and the bot's role).
    pub roles: Vec<RoleSpec>,
    /// The bot's own (managed) role; the bot member holds it.
    pub bot_role: RoleSpec,
    /// Permissions of the `@everyone` role (whose id is the guild id).
    pub everyone_permissions: u64,
}

impl GuildSpec {
    /// A guild with no channels, owner id 1, `@everyone` at
    /// [`permissions::EVERYONE_DEFAULT`] and a bot role with id `id + 1`
    /// holding [`permissions::BOT_DEFAULT`].
    pub fn new(id: u64, name: &str) -> Self {
        Self {
            id,
            name: name.to_owned(),
            owner_id: 1,
            channels: Vec::new(),
            roles: Vec::new(),
            bot_role: RoleSpec::new(id + 1, "Trellis", permissions::BOT_DEFAULT),
            everyone_permissions: permissions::EVERYONE_DEFAULT,
        }
    }

    /// Adds a text channel.
    pub fn channel(mut self, id: u64, name: &str) -> Self {
        self.channels.push(ChannelSpec { id, name: name.to_owned() });
        self
    }

    /// Adds a role.
    pub fn role(mut self, id: u64, name: &str, permissions: u64) -> Self {
        self.roles.push(RoleSpec::new(id, name, permissions));
        self
    }

    /// Replaces the bot's role.
    pub fn bot_role(mut self, role: RoleSpec) -> Self {
        self.bot_role = role;
        self
    }

    /// Sets the `@everyone` permissions.
    pub fn everyone_permissions(mut self, permissions: u64) -> Self {
        self.everyone_permissions = permissions;
        self
    }

    /// All roles as the guild has them: `@everyone`, the bot role, the rest.
    pub(crate) fn all_roles(&self) -> Vec<RoleSpec> {
        let mut roles = vec![RoleSpec::new(self.id, "@everyone", self.everyone_permissions)];
        roles.push(self.bot_role.clone());
        roles.extend(self.roles.iter().cloned());
        roles
    }

    pub(crate) fn find_role(&self, role_id: u64) -> Option<RoleSpec> {
        self.all_roles().into_iter().find(|r| r.id == role_id)
    }

    pub(crate) fn find_channel(&self, channel_id: u64) -> Option<&ChannelSpec> {
        self.channels.iter().find(|c| c.id == channel_id)
    }
}

/// A guild text channel.
#[derive(Clone, Debug)]
pub struct ChannelSpec {
    pub id: u64,
    pub name: String,
}

/// A guild role.
#[derive(Clone, Debug)]
pub struct RoleSpec {
    pub id: u64,
    pub name: String,
    pub permissions: u64,
}

impl RoleSpec {
    /// A role with these [`permissions`] bits.
    pub fn new(id: u64, name: &str, permissions: u64) -> Self {
        Self { id, name: name.to_owned(), permissions }
    }
}
