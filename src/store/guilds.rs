//! Guilds the bot was removed from (`departed_guilds`).

use chrono::{DateTime, Utc};

use super::codec::{from_unix, unix};
use super::failure::Result;
use super::handle::Store;
use crate::domain::GuildId;

impl Store {
    /// Records that the bot left `guild_id` at `now`. Returns false when it
    /// was already recorded (the first departure time is kept).
    pub async fn mark_guild_departed(&self, guild_id: GuildId, now: DateTime<Utc>) -> Result<bool> {
        let done = on_db!(&self.db, |pool| sqlx::query(
            "INSERT INTO departed_guilds (guild_id, departed_at) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        )
        .bind(guild_id)
        .bind(unix(now))
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Forgets the departure of `guild_id`: the bot is in it again. Returns
    /// when it had left, `None` if it had not.
    pub async fn mark_guild_returned(&self, guild_id: GuildId) -> Result<Option<DateTime<Utc>>> {
        let departed: Option<(i64,)> = on_db!(&self.db, |pool| sqlx::query_as(
            "DELETE FROM departed_guilds WHERE guild_id = $1 RETURNING departed_at"
        )
        .bind(guild_id)
        .fetch_optional(pool)
        .await)?;
        departed.map(|(at,)| from_unix(at)).transpose()
    }

    /// Whether the bot has left `guild_id` (and not come back).
    pub async fn guild_departed(&self, guild_id: GuildId) -> Result<bool> {
        let (departed,): (bool,) = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM departed_guilds WHERE guild_id = $1)"
        )
        .bind(guild_id)
        .fetch_one(pool)
        .await)?;
        Ok(departed)
    }
}
