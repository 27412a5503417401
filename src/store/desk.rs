//! The desk's sign-in links and browser sessions. Both are stored by the
//! SHA-256 of their secret (hex), which the web edge computes: the store
//! never sees a secret, and a copy of the database signs nobody in.

use chrono::{DateTime, Utc};

use super::codec::unix;
use super::failure::{Result, StoreError};
use super::handle::Store;
use crate::domain::desk::{join_roles, parse_roles};
use crate::domain::{DeskGrant, GuildId, UserId};

/// The grant columns shared by `desk_links` and `desk_sessions`.
macro_rules! grant_columns {
    () => {
        "guild_id, user_id, user_name, roles, can_manage"
    };
}

#[derive(sqlx::FromRow)]
struct GrantRow {
    guild_id: GuildId,
    user_id: UserId,
    user_name: String,
    roles: String,
    can_manage: bool,
}

impl TryFrom<GrantRow> for DeskGrant {
    type Error = StoreError;

    fn try_from(r: GrantRow) -> Result<Self> {
        let roles = parse_roles(&r.roles).ok_or_else(|| StoreError::Corrupt(format!("desk roles `{}`", r.roles)))?;
        Ok(DeskGrant {
            guild_id: r.guild_id,
            user_id: r.user_id,
            user_name: r.user_name,
            roles,
            can_manage: r.can_manage,
        })
    }
}

/// What a link's hash finds, without using it up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Unused and not expired: the continue page may be shown.
    Usable,
    /// Used already, or past its 10 minutes.
    Spent,
    /// No such link (altered, or erased with its person).
    Unknown,
}

impl Store {
    /// Store a new sign-in link for `grant`, valid until `expires_at`.
    pub async fn insert_desk_link(
        &self,
        token_hash: &str,
        grant: &DeskGrant,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        on_db!(&self.db, |pool| sqlx::query(concat!(
            "INSERT INTO desk_links (token_hash, ",
            grant_columns!(),
            ", created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(token_hash)
        .bind(grant.guild_id)
        .bind(grant.user_id)
        .bind(&grant.user_name)
        .bind(join_roles(&grant.roles))
        .bind(grant.can_manage)
        .bind(unix(now))
        .bind(unix(expires_at))
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Whether the link could sign in at `now`. Reads only.
    pub async fn desk_link_state(&self, token_hash: &str, now: DateTime<Utc>) -> Result<LinkState> {
        let row: Option<(Option<i64>, i64)> = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT used_at, expires_at FROM desk_links WHERE token_hash = $1"
        )
        .bind(token_hash)
        .fetch_optional(pool)
        .await)?;
        Ok(match row {
            None => LinkState::Unknown,
            Some((None, expires_at)) if expires_at > unix(now) => LinkState::Usable,
            Some(_) => LinkState::Spent,
        })
    }

    /// Use the link up and open a session for its grant, in one
    /// transaction: of two sign-ins racing with one link, one wins. `None`
    /// when the link is unknown, used or expired. Expired links and
    /// sessions are cleared on the way.
    pub async fn redeem_desk_link(
        &self,
        token_hash: &str,
        session_hash: &str,
        now: DateTime<Utc>,
        session_expires_at: DateTime<Utc>,
    ) -> Result<Option<DeskGrant>> {
        let now = unix(now);
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            let row: Option<GrantRow> = sqlx::query_as(concat!(
                "UPDATE desk_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
                 RETURNING ",
                grant_columns!()
            ))
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                tx.rollback().await?;
                return Ok(None);
            };
            sqlx::query(concat!(
                "INSERT INTO desk_sessions (id_hash, ",
                grant_columns!(),
                ", created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ))
            .bind(session_hash)
            .bind(row.guild_id)
            .bind(row.user_id)
            .bind(&row.user_name)
            .bind(&row.roles)
            .bind(row.can_manage)
            .bind(now)
            .bind(unix(session_expires_at))
            .execute(&mut *tx)
            .await?;
            // A used link is kept until it expires, so that opening it again
            // says "used" rather than "unknown".
            sqlx::query("DELETE FROM desk_links WHERE expires_at <= $1").bind(now).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM desk_sessions WHERE expires_at <= $1").bind(now).execute(&mut *tx).await?;
            tx.commit().await?;
            DeskGrant::try_from(row).map(Some)
        })
    }

    /// The grant of a live session; `None` when unknown, ended or expired.
    pub async fn desk_session(&self, session_hash: &str, now: DateTime<Utc>) -> Result<Option<DeskGrant>> {
        let row: Option<GrantRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            grant_columns!(),
            " FROM desk_sessions WHERE id_hash = $1 AND expires_at > $2"
        ))
        .bind(session_hash)
        .bind(unix(now))
        .fetch_optional(pool)
        .await)?;
        row.map(DeskGrant::try_from).transpose()
    }

    /// End a session (sign-out). Returns whether there was one.
    pub async fn end_desk_session(&self, session_hash: &str) -> Result<bool> {
        let done = on_db!(&self.db, |pool| sqlx::query("DELETE FROM desk_sessions WHERE id_hash = $1")
            .bind(session_hash)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }
}

impl Store {
    /// Every answer in cohort `cohort_id` to an earlier check-in (before
    /// `before`) that asked prompt `prompt_id`, oldest first: the "then" of
    /// then-and-now for a whole check-in in one statement.
    pub async fn earlier_replies_to_prompt(
        &self,
        cohort_id: crate::domain::CohortId,
        prompt_id: &str,
        before: DateTime<Utc>,
    ) -> Result<Vec<crate::domain::Reply>> {
        let rows: Vec<super::replies::ReplyRow> = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT r.id, r.checkin_id, r.user_id, r.answer, r.confidence, r.created_at, r.updated_at \
             FROM replies r JOIN checkins c ON c.id = r.checkin_id \
             WHERE c.cohort_id = $1 AND c.prompt_id = $2 AND c.occurrence_at < $3 \
             ORDER BY c.occurrence_at, r.id"
        )
        .bind(cohort_id)
        .bind(prompt_id)
        .bind(unix(before))
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(crate::domain::Reply::try_from).collect()
    }
}

impl Store {
    /// Every pause of a cohort's members, as (member, pause): a check-in's
    /// "paused" and "not answered" in one statement, not one per member.
    pub async fn pauses_of_cohort(
        &self,
        cohort_id: crate::domain::CohortId,
    ) -> Result<Vec<(UserId, crate::domain::Pause)>> {
        let rows: Vec<(UserId, i64, i64)> = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT user_id, starts_at, ends_at FROM pauses WHERE cohort_id = $1 ORDER BY user_id, starts_at"
        )
        .bind(cohort_id)
        .fetch_all(pool)
        .await)?;
        rows.into_iter()
            .map(|(user, starts, ends)| {
                Ok((
                    user,
                    crate::domain::Pause {
                        starts_at: super::codec::from_unix(starts)?,
                        ends_at: super::codec::from_unix(ends)?,
                    },
                ))
            })
            .collect()
    }
}
