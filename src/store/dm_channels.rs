//! Members' DM channels with the bot (`dm_channels`), so a reminder does not
//! open the channel again every time.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::codec::unix;
use super::failure::Result;
use super::handle::Store;
use crate::domain::{ChannelId, CohortId, UserId};

impl Store {
    /// The remembered DM channel of each member of `cohort_id` (current and
    /// former) who has one.
    pub async fn dm_channels_of_cohort(&self, cohort_id: CohortId) -> Result<HashMap<UserId, ChannelId>> {
        let rows: Vec<(UserId, ChannelId)> = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT d.user_id, d.channel_id FROM dm_channels d \
             JOIN members m ON m.user_id = d.user_id WHERE m.cohort_id = $1",
        )
        .bind(cohort_id)
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().collect())
    }

    /// The remembered DM channel of `user_id`, if any.
    pub async fn dm_channel(&self, user_id: UserId) -> Result<Option<ChannelId>> {
        let row: Option<(ChannelId,)> =
            on_db!(&self.db, |pool| sqlx::query_as("SELECT channel_id FROM dm_channels WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(pool)
                .await)?;
        Ok(row.map(|(c,)| c))
    }

    /// Remember (or replace) `user_id`'s DM channel.
    pub async fn remember_dm_channel(&self, user_id: UserId, channel_id: ChannelId, now: DateTime<Utc>) -> Result<()> {
        on_db!(&self.db, |pool| sqlx::query(
            "INSERT INTO dm_channels (user_id, channel_id, opened_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET channel_id = excluded.channel_id, opened_at = excluded.opened_at",
        )
        .bind(user_id)
        .bind(channel_id)
        .bind(unix(now))
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Forget `user_id`'s DM channel if it still is `channel_id` (Discord no
    /// longer knows it). A channel remembered meanwhile stays.
    pub async fn forget_dm_channel(&self, user_id: UserId, channel_id: ChannelId) -> Result<()> {
        on_db!(&self.db, |pool| sqlx::query("DELETE FROM dm_channels WHERE user_id = $1 AND channel_id = $2")
            .bind(user_id)
            .bind(channel_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(())
    }
}
