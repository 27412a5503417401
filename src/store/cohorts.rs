use std::time::Duration;

use chrono::{DateTime, Utc};

use super::codec::{from_unix, unix};
use super::failure::{Result, StoreError};
use super::handle::Store;
use crate::domain::track::{join_track_list, parse_track_list};
use crate::domain::{ChannelId, Cohort, CohortId, CohortSource, CohortSpec, GuildId, RoleId, Schedule};

/// The columns of a [`CohortRow`], in its order, written once for every
/// statement that reads one.
macro_rules! cohort_columns {
    ($($t:ident)?) => {
        $crate::store::codec::columns!(
            $($t:)? id, name, guild_id, channel_id, mentor_role_id, schedule, timezone, reminder_after_secs,
            digest_channel_id, tracks, source, active, created_at
        )
    };
}

#[derive(sqlx::FromRow)]
struct CohortRow {
    id: CohortId,
    name: String,
    guild_id: GuildId,
    channel_id: ChannelId,
    mentor_role_id: RoleId,
    schedule: String,
    timezone: String,
    reminder_after_secs: Option<i64>,
    digest_channel_id: Option<ChannelId>,
    tracks: String,
    source: String,
    active: bool,
    created_at: i64,
}

impl TryFrom<CohortRow> for Cohort {
    type Error = StoreError;

    fn try_from(r: CohortRow) -> Result<Self> {
        let corrupt = |what: String| StoreError::Corrupt(format!("cohort `{}`: {what}", r.name));
        // Not `Schedule::parse`: a bounded schedule that has ended is still a schedule.
        let schedule = Schedule::parse_stored(&r.schedule, &r.timezone).map_err(|e| corrupt(e.to_string()))?;
        let reminder_after = r
            .reminder_after_secs
            .map(|s| u64::try_from(s).map(Duration::from_secs).map_err(|_| corrupt(format!("reminder_after {s}"))))
            .transpose()?;
        let tracks = parse_track_list(&r.tracks).map_err(|e| corrupt(e.to_string()))?;
        let source = CohortSource::parse(&r.source).ok_or_else(|| corrupt(format!("source `{}`", r.source)))?;
        Ok(Cohort {
            id: r.id,
            spec: CohortSpec {
                name: r.name,
                guild_id: r.guild_id,
                channel_id: r.channel_id,
                mentor_role_id: r.mentor_role_id,
                schedule,
                reminder_after,
                digest_channel_id: r.digest_channel_id,
                tracks,
            },
            source,
            active: r.active,
            created_at: from_unix(r.created_at)?,
        })
    }
}

impl Store {
    pub async fn insert_cohort(&self, spec: &CohortSpec, source: CohortSource, now: DateTime<Utc>) -> Result<Cohort> {
        self.save_cohort(None, spec, source, now).await
    }

    /// Replace a cohort's definition and make it active again.
    pub async fn update_cohort(
        &self,
        cohort_id: CohortId,
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
        cohort_id: Option<CohortId>,
        spec: &CohortSpec,
        source: CohortSource,
        now: DateTime<Utc>,
    ) -> Result<Cohort> {
        // A new cohort's id: SQLite numbers a NULL `INTEGER PRIMARY KEY`;
        // PostgreSQL's identity column must be asked for the next one.
        macro_rules! upsert {
            ($id:literal) => {
                concat!(
                    "INSERT INTO cohorts (id, name, guild_id, channel_id, mentor_role_id, schedule, timezone, \
                     reminder_after_secs, digest_channel_id, tracks, source, active, created_at, updated_at) \
                     VALUES (",
                    $id,
                    ", $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, TRUE, $12, $13) \
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, guild_id = excluded.guild_id, \
                     channel_id = excluded.channel_id, mentor_role_id = excluded.mentor_role_id, \
                     schedule = excluded.schedule, timezone = excluded.timezone, \
                     reminder_after_secs = excluded.reminder_after_secs, digest_channel_id = excluded.digest_channel_id, \
                     tracks = excluded.tracks, source = excluded.source, active = TRUE, updated_at = excluded.updated_at \
                     RETURNING id"
                )
            };
        }
        let sql = self
            .backend()
            .pick(upsert!("$1"), upsert!("COALESCE($1, nextval(pg_get_serial_sequence('cohorts', 'id')))"));
        let (saved_id,): (CohortId,) = on_db!(&self.db, |pool| sqlx::query_as(sql,)
            .bind(cohort_id)
            .bind(&spec.name)
            .bind(spec.guild_id)
            .bind(spec.channel_id)
            .bind(spec.mentor_role_id)
            .bind(spec.schedule.expr())
            .bind(spec.schedule.timezone().name())
            .bind(spec.reminder_after.map(|d| d.as_secs() as i64))
            .bind(spec.digest_channel_id)
            .bind(join_track_list(&spec.tracks))
            .bind(source.as_str())
            .bind(unix(now))
            .bind(unix(now))
            .fetch_one(pool)
            .await)
        .map_err(|e| name_taken(e, &spec.name))?;
        self.cohort(saved_id).await?.ok_or_else(|| StoreError::Corrupt(format!("cohort {saved_id} vanished")))
    }

    /// Stop scheduling a cohort; its history stays.
    pub async fn deactivate_cohort(&self, cohort_id: CohortId, now: DateTime<Utc>) -> Result<bool> {
        let done = on_db!(&self.db, |pool| sqlx::query(
            "UPDATE cohorts SET active = FALSE, updated_at = $1 WHERE id = $2 AND active = TRUE"
        )
        .bind(unix(now))
        .bind(cohort_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    pub async fn cohort(&self, cohort_id: CohortId) -> Result<Option<Cohort>> {
        let row: Option<CohortRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            cohort_columns!(),
            " FROM cohorts WHERE id = $1"
        ))
        .bind(cohort_id)
        .fetch_optional(pool)
        .await)?;
        row.map(Cohort::try_from).transpose()
    }

    /// The cohort (active or not) whose channel this is.
    pub async fn cohort_by_channel(&self, channel_id: ChannelId) -> Result<Option<Cohort>> {
        let row: Option<CohortRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            cohort_columns!(),
            " FROM cohorts WHERE channel_id = $1"
        ))
        .bind(channel_id)
        .fetch_optional(pool)
        .await)?;
        row.map(Cohort::try_from).transpose()
    }

    pub async fn cohort_by_name(&self, name: &str) -> Result<Option<Cohort>> {
        let row: Option<CohortRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            cohort_columns!(),
            " FROM cohorts WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(pool)
        .await)?;
        row.map(Cohort::try_from).transpose()
    }

    pub async fn active_cohorts(&self) -> Result<Vec<Cohort>> {
        let rows: Vec<CohortRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            cohort_columns!(),
            " FROM cohorts WHERE active = TRUE ORDER BY id"
        ))
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(Cohort::try_from).collect()
    }

    /// The active cohorts the scheduler serves: those of guilds the bot has
    /// not left (see `departed_guilds`).
    pub async fn scheduled_cohorts(&self) -> Result<Vec<Cohort>> {
        let rows: Vec<CohortRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            cohort_columns!(),
            " FROM cohorts WHERE active = TRUE \
             AND guild_id NOT IN (SELECT guild_id FROM departed_guilds) ORDER BY id"
        ))
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(Cohort::try_from).collect()
    }

    pub async fn active_cohorts_in_guild(&self, guild_id: GuildId) -> Result<Vec<Cohort>> {
        let rows: Vec<CohortRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            cohort_columns!(),
            " FROM cohorts WHERE active = TRUE AND guild_id = $1 ORDER BY id"
        ))
        .bind(guild_id)
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(Cohort::try_from).collect()
    }
}

/// The unique index on cohort names refused `name` (SQLite names the
/// column, PostgreSQL the constraint); any other error as it is.
fn name_taken(e: sqlx::Error, name: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(d)
            if d.message().contains("cohorts.name") || d.constraint() == Some("cohorts_name_key") =>
        {
            StoreError::NameTaken { name: name.to_string() }
        }
        _ => StoreError::Sqlx(e.into()),
    }
}
