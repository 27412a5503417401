//! Servers the bot is removed from and added back to.
//!
//! When the bot is removed from a server (kicked, or the server deleted),
//! every call for it fails for good (403 50001, 404 10004). Its cohorts are
//! then *detached*: the scheduler leaves them out, so nothing is posted,
//! reminded or digested, and nothing is retried against Discord. Nothing is
//! deleted: when the bot is added back, the cohorts are attached again and
//! the scheduler catches up as after downtime (the newest occurrence once if
//! it is still open, never a backlog).
//!
//! An outage (GUILD_DELETE with `unavailable: true`) is not a removal and
//! changes nothing.

use std::collections::BTreeSet;

use super::{Engine, Result};
use crate::domain::{Cohort, GuildId};

/// The gateway shard a READY came on: `id` of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardOf {
    pub id: u32,
    pub total: u32,
}

impl ShardOf {
    /// Whether Discord routes `guild`'s events to this shard:
    /// `(guild_id >> 22) % total == id` (Discord's "Sharding" docs).
    pub fn serves(self, guild: GuildId) -> bool {
        self.total <= 1 || (guild.get() >> 22) % u64::from(self.total) == u64::from(self.id)
    }
}

impl Engine {
    /// The bot was removed from `guild_id` (GUILD_DELETE without
    /// `unavailable: true`): detach its cohorts until it is added back.
    /// Returns the cohorts detached now (none when it had already left).
    #[tracing::instrument(skip_all, fields(guild = %guild_id))]
    pub async fn guild_left(&self, guild_id: GuildId) -> Result<Vec<Cohort>> {
        if !self.store.mark_guild_departed(guild_id, self.clock.now()).await? {
            return Ok(Vec::new());
        }
        let cohorts = self.store.active_cohorts_in_guild(guild_id).await?;
        if cohorts.is_empty() {
            tracing::info!(guild = %guild_id, "removed from a server that holds no cohort");
        } else {
            tracing::warn!(
                guild = %guild_id,
                cohorts = %names(&cohorts),
                "removed from the server: its cohorts are detached (nothing is posted, reminded or digested) until the bot is added back"
            );
        }
        self.replan.notify_one();
        Ok(cohorts)
    }

    /// The bot is in `guild_id` (GUILD_CREATE: at start, after an outage,
    /// or added back). If it had been removed, its cohorts are attached
    /// again and the scheduler catches up. Returns the cohorts re-attached.
    #[tracing::instrument(skip_all, fields(guild = %guild_id))]
    pub async fn guild_joined(&self, guild_id: GuildId) -> Result<Vec<Cohort>> {
        let Some(departed_at) = self.store.mark_guild_returned(guild_id).await? else { return Ok(Vec::new()) };
        // What Discord refused while the bot was out of the server (missing
        // access, unknown guild) says nothing about it now: try again.
        self.store.clear_guild_channel_failures(guild_id, None).await?;
        let cohorts = self.store.active_cohorts_in_guild(guild_id).await?;
        if !cohorts.is_empty() {
            tracing::info!(
                guild = %guild_id,
                cohorts = %names(&cohorts),
                %departed_at,
                "added back to the server: its cohorts are attached again"
            );
        }
        self.replan.notify_one();
        Ok(cohorts)
    }

    /// READY on `shard` listed the guilds the bot is in. A cohort's guild
    /// that this shard serves but READY does not list was left while Trellis
    /// was not connected (no GUILD_DELETE came): it is detached now. Returns
    /// the cohorts detached.
    #[tracing::instrument(skip_all, fields(guilds = present.len()))]
    pub async fn guilds_at_ready(&self, present: &[GuildId], shard: ShardOf) -> Result<Vec<Cohort>> {
        let present: BTreeSet<GuildId> = present.iter().copied().collect();
        let gone: BTreeSet<GuildId> = self
            .store
            .scheduled_cohorts()
            .await?
            .iter()
            .map(|c| c.spec.guild_id)
            .filter(|g| shard.serves(*g) && !present.contains(g))
            .collect();
        let mut detached = Vec::new();
        for guild_id in gone {
            detached.extend(self.guild_left(guild_id).await?);
        }
        Ok(detached)
    }
}

/// Cohort names for a log line: `a, b, c`.
fn names(cohorts: &[Cohort]) -> String {
    cohorts.iter().map(|c| c.spec.name.as_str()).collect::<Vec<_>>().join(", ")
}
