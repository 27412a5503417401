//! The one set of Discord ids (and the token) that every test and bench uses.
//!
//! The fake Discord of [`crate::bot::Bot`] knows GUILD (with CHANNEL,
//! OTHER_CHANNEL, MENTOR_ROLE and MENTOR_ROLE2) and GUILD2 (with CHANNEL2);
//! [`crate::process::fake`] knows GUILD with CHANNEL and MENTOR_ROLE. Users
//! are known by id only: who is a member or a mentor is up to each test.

/// What the bot under test authenticates with; the fake takes any `Bot …` token.
pub const TOKEN: &str = "Bot e2e-secret-token.Zm9vYmFy.c2VjcmV0";
/// The bot's own user.
pub const BOT: u64 = 900_000_000_000_000_001;
/// The bot's application: command registrations go to `/applications/{APP}/…`.
pub const APP: u64 = 900_000_000_000_000_002;

/// The guild the cohorts under test live in.
pub const GUILD: u64 = 100_000_000_000_000_001;
/// The cohort's channel in GUILD.
pub const CHANNEL: u64 = 100_000_000_000_000_011;
/// A second channel in GUILD: a second cohort's, or a digest channel.
pub const OTHER_CHANNEL: u64 = 100_000_000_000_000_012;
/// The mentors of the cohort in CHANNEL.
pub const MENTOR_ROLE: u64 = 100_000_000_000_000_021;
/// The mentors of a second cohort in GUILD (in OTHER_CHANNEL).
pub const MENTOR_ROLE2: u64 = 100_000_000_000_000_022;
/// Another guild, which holds none of the cohorts.
pub const GUILD2: u64 = 200_000_000_000_000_001;
/// A channel in GUILD2.
pub const CHANNEL2: u64 = 200_000_000_000_000_011;

/// Four guilds, one per shard of a bot with 4 shards: `SHARD_GUILDS[i]`
/// belongs to shard `i` of 4 (`(id >> 22) % 4 == i`), so also to shard
/// `i % 2` of 2. (GUILD belongs to shard 2 of 4, GUILD2 to shard 0.)
pub const SHARD_GUILDS: [u64; 4] = [shard_guild(0), shard_guild(1), shard_guild(2), shard_guild(3)];
/// The cohort channel of `SHARD_GUILDS[i]` is `SHARD_GUILDS[i] + SHARD_CHANNEL`
/// (the low 22 bits of an id do not change its shard).
pub const SHARD_CHANNEL: u64 = 11;
/// The mentor role of `SHARD_GUILDS[i]` is `SHARD_GUILDS[i] + SHARD_MENTOR_ROLE`.
pub const SHARD_MENTOR_ROLE: u64 = 21;

/// A guild id on shard `shard` of 4 (and of 2), about 5 × 10^17 like real
/// snowflakes of 2027.
const fn shard_guild(shard: u64) -> u64 {
    // 119_209_289_552 is a multiple of 4; shifted by 22 bits it is
    // 500_000_000_005_111_808.
    (119_209_289_552 + shard) << 22
}

/// Has Manage Server in GUILD (see [`crate::bot::admin`]).
pub const ADMIN: u64 = 300_000_000_000_000_001;
/// Holds MENTOR_ROLE when a test says so.
pub const MENTOR: u64 = 300_000_000_000_000_002;
/// A user; a member of whichever cohort the test joins them to.
pub const ALICE: u64 = 300_000_000_000_000_003;
/// A user; a member of whichever cohort the test joins them to.
pub const BOB: u64 = 300_000_000_000_000_004;
/// A user in no cohort: the outsider of the access checks.
pub const STRANGER: u64 = 300_000_000_000_000_005;
/// Holds MENTOR_ROLE2 when a test says so.
pub const MENTOR2: u64 = 300_000_000_000_000_006;
/// A user; a member of whichever cohort the test joins them to.
pub const CAROL: u64 = 300_000_000_000_000_007;
/// Another holder of MENTOR_ROLE2.
pub const MENTOR3: u64 = 300_000_000_000_000_008;
/// A user; a member of whichever cohort the test joins them to.
pub const DAVE: u64 = 300_000_000_000_000_009;

/// First of a numbered range (`USER0 + i`), for tests with hundreds of members.
pub const USER0: u64 = 400_000_000_000_000_000;

/// The same ids, typed, for the suites that call the engine and the store
/// directly (the wire-level suites speak plain snowflakes to the fake).
pub mod typed {
    use trellis::domain::{ChannelId, GuildId, RoleId, UserId};

    pub const GUILD: GuildId = GuildId::new(super::GUILD);
    pub const CHANNEL: ChannelId = ChannelId::new(super::CHANNEL);
    pub const OTHER_CHANNEL: ChannelId = ChannelId::new(super::OTHER_CHANNEL);
    pub const MENTOR_ROLE: RoleId = RoleId::new(super::MENTOR_ROLE);
    pub const MENTOR_ROLE2: RoleId = RoleId::new(super::MENTOR_ROLE2);
    pub const GUILD2: GuildId = GuildId::new(super::GUILD2);
    pub const CHANNEL2: ChannelId = ChannelId::new(super::CHANNEL2);
    pub const ADMIN: UserId = UserId::new(super::ADMIN);
    pub const MENTOR: UserId = UserId::new(super::MENTOR);
    pub const MENTOR2: UserId = UserId::new(super::MENTOR2);
    pub const MENTOR3: UserId = UserId::new(super::MENTOR3);
    pub const STRANGER: UserId = UserId::new(super::STRANGER);
    pub const ALICE: UserId = UserId::new(super::ALICE);
    pub const BOB: UserId = UserId::new(super::BOB);
    pub const CAROL: UserId = UserId::new(super::CAROL);
    pub const DAVE: UserId = UserId::new(super::DAVE);
}
