use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Result, Store, StoreError, id, time, ts, uid};
use crate::domain::track::{join_track_list, parse_track_list};
use crate::domain::{Cohort, CohortSource, CohortSpec};

#[derive(sqlx::FromRow)]
struct CohortRow {
    id: i64,
    name: String,
    guild_id: i64,
    channel_id: i64,
    mentor_role_id: i64,
    schedule: String,
    timezone: String,
    reminder_after_secs: Option<i64>,
    digest_channel_id: Option<i64>,
    tracks: String,
    source: String,
    active: bool,
    created_at: i64,
}

impl TryFrom<CohortRow> for Cohort {
    type Error = StoreError;

    fn try_from(r: CohortRow) -> Result<Self> {
        Ok(Cohort {
            id: r.id,
            spec: CohortSpec {
                name: r.name,
                guild_id: uid(r.guild_id),
                channel_id: uid(r.channel_id),
                mentor_role_id: uid(r.mentor_role_id),
                schedule: r.schedule,
                timezone: r.timezone,
                reminder_after: r.reminder_after_secs.map(|s| Duration::from_secs(s as u64)),
                digest_channel_id: r.digest_channel_id.map(uid),
                tracks: parse_track_list(&r.tracks).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            },
            source: match r.source.as_str() {
                "file" => CohortSource::File,
                _ => CohortSource::Discord,
            },
            active: r.active,
            created_at: time(r.created_at),
        })
    }
}

const COLUMNS: &str = "id, name, guild_id, channel_id, mentor_role_id, schedule, timezone, \
     reminder_after_secs, digest_channel_id, tracks, source, active, created_at";

impl Store {
    pub async fn insert_cohort(&self, spec: &CohortSpec, source: CohortSource, now: DateTime<Utc>) -> Result<Cohort> {
        self.save_cohort(None, spec, source, now).await
    }

    /// Replace a cohort's definition and make it active again.
    pub async fn update_cohort(
        &self,
        cohort_id: i64,
        spec: &CohortSpec,
        source: CohortSource,
        now: DateTime<Utc>,
    ) -> Result<Cohort> {
        self.save_cohort(Some(cohort_id), spec, source, now).await
    }

    /// Insert (no id) or replace (an existing id) a cohort in one statement;
    /// `created_at` is kept on replace.
    async fn save_cohort(
        &self,
        cohort_id: Option<i64>,
        spec: &CohortSpec,
        source: CohortSource,
        now: DateTime<Utc>,
    ) -> Result<Cohort> {
        let (saved_id,): (i64,) = sqlx::query_as(
            "INSERT INTO cohorts (id, name, guild_id, channel_id, mentor_role_id, schedule, timezone, \
             reminder_after_secs, digest_channel_id, tracks, source, active, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, guild_id = excluded.guild_id, \
             channel_id = excluded.channel_id, mentor_role_id = excluded.mentor_role_id, \
             schedule = excluded.schedule, timezone = excluded.timezone, \
             reminder_after_secs = excluded.reminder_after_secs, digest_channel_id = excluded.digest_channel_id, \
             tracks = excluded.tracks, source = excluded.source, active = 1, updated_at = excluded.updated_at \
             RETURNING id",
        )
        .bind(cohort_id)
        .bind(&spec.name)
        .bind(id(spec.guild_id))
        .bind(id(spec.channel_id))
        .bind(id(spec.mentor_role_id))
        .bind(&spec.schedule)
        .bind(&spec.timezone)
        .bind(spec.reminder_after.map(|d| d.as_secs() as i64))
        .bind(spec.digest_channel_id.map(id))
        .bind(join_track_list(&spec.tracks))
        .bind(source.as_str())
        .bind(ts(now))
        .bind(ts(now))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| name_taken(e, &spec.name))?;
        self.cohort(saved_id).await?.ok_or_else(|| StoreError::Corrupt("saved cohort vanished".into()))
    }

    /// Stop scheduling a cohort; its history stays.
    pub async fn deactivate_cohort(&self, cohort_id: i64, now: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query("UPDATE cohorts SET active = 0, updated_at = ? WHERE id = ? AND active = 1")
            .bind(ts(now))
            .bind(cohort_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn cohort(&self, cohort_id: i64) -> Result<Option<Cohort>> {
        let sql = format!("SELECT {COLUMNS} FROM cohorts WHERE id = ?");
        let row: Option<CohortRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(cohort_id).fetch_optional(&self.pool).await?;
        row.map(Cohort::try_from).transpose()
    }

    /// The cohort (active or not) whose channel this is.
    pub async fn cohort_by_channel(&self, channel_id: u64) -> Result<Option<Cohort>> {
        let sql = format!("SELECT {COLUMNS} FROM cohorts WHERE channel_id = ?");
        let row: Option<CohortRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id(channel_id)).fetch_optional(&self.pool).await?;
        row.map(Cohort::try_from).transpose()
    }

    pub async fn cohort_by_name(&self, name: &str) -> Result<Option<Cohort>> {
        let sql = format!("SELECT {COLUMNS} FROM cohorts WHERE name = ?");
        let row: Option<CohortRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(name).fetch_optional(&self.pool).await?;
        row.map(Cohort::try_from).transpose()
    }

    pub async fn active_cohorts(&self) -> Result<Vec<Cohort>> {
        let sql = format!("SELECT {COLUMNS} FROM cohorts WHERE active = 1 ORDER BY id");
        let rows: Vec<CohortRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?;
        rows.into_iter().map(Cohort::try_from).collect()
    }

    pub async fn active_cohorts_in_guild(&self, guild_id: u64) -> Result<Vec<Cohort>> {
        let sql = format!("SELECT {COLUMNS} FROM cohorts WHERE active = 1 AND guild_id = ? ORDER BY id");
        let rows: Vec<CohortRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id(guild_id)).fetch_all(&self.pool).await?;
        rows.into_iter().map(Cohort::try_from).collect()
    }
}

fn name_taken(e: sqlx::Error, name: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.message().contains("cohorts.name") => StoreError::NameTaken(name.to_string()),
        _ => StoreError::Sqlx(e),
    }
}
