use chrono::{DateTime, Utc};

use super::backend::Conn;
use super::codec::{from_unix, unix};
use super::failure::{Result, StoreError};
use super::handle::Store;
use crate::domain::{CheckIn, CheckInId, CheckInStatus, CohortId, MessageId, PostedPrompt, UserId, occurrence_nonce};

/// A ledger row to record.
#[derive(Debug, Clone)]
pub struct NewCheckIn {
    pub cohort_id: CohortId,
    pub occurrence_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    /// `None` records the occurrence as missed.
    pub prompt: Option<PostedPrompt>,
}

/// The columns of a [`CheckInRow`], written once: `checkin_columns!()` for
/// a statement on `checkins` alone, `checkin_columns!(k)` where the table
/// is aliased `k`. A string literal, so statements stay `&'static str`
/// (`concat!("SELECT ", checkin_columns!(), " FROM checkins …")`).
macro_rules! checkin_columns {
    ($($t:ident)?) => {
        $crate::store::codec::columns!(
            $($t:)? id, cohort_id, occurrence_at, closes_at, nonce, status, prompt_id, track, question, message_id
        )
    };
}
pub(super) use checkin_columns;

#[derive(sqlx::FromRow)]
pub(super) struct CheckInRow {
    pub(super) id: CheckInId,
    pub(super) cohort_id: CohortId,
    pub(super) occurrence_at: i64,
    pub(super) closes_at: i64,
    pub(super) nonce: String,
    pub(super) status: String,
    pub(super) prompt_id: Option<String>,
    pub(super) track: Option<String>,
    pub(super) question: Option<String>,
    pub(super) message_id: Option<MessageId>,
}

impl TryFrom<CheckInRow> for CheckIn {
    type Error = StoreError;

    fn try_from(r: CheckInRow) -> Result<Self> {
        let prompt = match (r.prompt_id, r.track, r.question) {
            (Some(id), Some(track), Some(question)) => Some(PostedPrompt {
                id,
                track: track
                    .parse()
                    .map_err(|e: crate::domain::track::UnknownTrack| StoreError::Corrupt(e.to_string()))?,
                question,
            }),
            _ => None,
        };
        Ok(CheckIn {
            id: r.id,
            cohort_id: r.cohort_id,
            occurrence_at: from_unix(r.occurrence_at)?,
            closes_at: from_unix(r.closes_at)?,
            nonce: r.nonce,
            status: CheckInStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Corrupt(format!("check-in status `{}`", r.status)))?,
            prompt,
            message_id: r.message_id,
        })
    }
}

impl Store {
    /// Record an occurrence in the ledger. `None` when it is already there: the
    /// unique key on (cohort, occurrence) is what makes posting exactly-once.
    ///
    /// A new occurrence closes the cohort's earlier check-ins (a check-in is
    /// open until the next occurrence, even when the schedule changed in
    /// between), in the same transaction, so a cohort never has two open.
    pub async fn record_checkin(&self, new: &NewCheckIn) -> Result<Option<CheckIn>> {
        let status = if new.prompt.is_some() { CheckInStatus::Recorded } else { CheckInStatus::Missed };
        let row = on_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            recordings_take_turns(Conn::from(&mut *tx), new.cohort_id).await?;
            let row: Option<CheckInRow> = sqlx::query_as(concat!(
                "INSERT INTO checkins (cohort_id, occurrence_at, closes_at, nonce, status, prompt_id, track, question) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING ",
                checkin_columns!()
            ))
            .bind(new.cohort_id)
            .bind(unix(new.occurrence_at))
            .bind(unix(new.closes_at))
            .bind(occurrence_nonce(new.cohort_id, new.occurrence_at))
            .bind(status.as_str())
            .bind(new.prompt.as_ref().map(|p| p.id.as_str()))
            .bind(new.prompt.as_ref().map(|p| p.track.as_str()))
            .bind(new.prompt.as_ref().map(|p| p.question.as_str()))
            .fetch_optional(&mut *tx)
            .await?;
            if row.is_some() {
                sqlx::query(
                    "UPDATE checkins SET closes_at = $1 WHERE cohort_id = $2 AND occurrence_at < $3 AND closes_at > $4",
                )
                .bind(unix(new.occurrence_at))
                .bind(new.cohort_id)
                .bind(unix(new.occurrence_at))
                .bind(unix(new.occurrence_at))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await.map(|()| row)
        })?;
        row.map(CheckIn::try_from).transpose()
    }

    /// When the check-in was posted, if it was.
    pub async fn posted_at(&self, checkin_id: CheckInId) -> Result<Option<DateTime<Utc>>> {
        let row: Option<(Option<i64>,)> =
            on_db!(&self.db, |pool| sqlx::query_as("SELECT posted_at FROM checkins WHERE id = $1")
                .bind(checkin_id)
                .fetch_optional(pool)
                .await)?;
        row.and_then(|(t,)| t).map(from_unix).transpose()
    }

    /// Move a check-in's close (its cohort's schedule changed).
    pub async fn set_closes_at(&self, checkin_id: CheckInId, closes_at: DateTime<Utc>) -> Result<()> {
        on_db!(&self.db, |pool| sqlx::query("UPDATE checkins SET closes_at = $1 WHERE id = $2")
            .bind(unix(closes_at))
            .bind(checkin_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// The newest occurrence in the ledger for a cohort.
    pub async fn latest_occurrence(&self, cohort_id: CohortId) -> Result<Option<DateTime<Utc>>> {
        let row: (Option<i64>,) =
            on_db!(&self.db, |pool| sqlx::query_as("SELECT MAX(occurrence_at) FROM checkins WHERE cohort_id = $1")
                .bind(cohort_id)
                .fetch_one(pool)
                .await)?;
        row.0.map(from_unix).transpose()
    }

    /// Prompt ids of the cohort's check-ins that were (or are being) posted, oldest first.
    /// A check-in that was never shown (missed) does not count, so the rotation
    /// does not skip a track the cohort never saw.
    pub async fn prompt_history(&self, cohort_id: CohortId) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT prompt_id FROM checkins WHERE cohort_id = $1 AND prompt_id IS NOT NULL \
             AND status IN ('recorded', 'posting', 'posted') ORDER BY occurrence_at",
        )
        .bind(cohort_id)
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().map(|(p,)| p).collect())
    }

    /// Check-ins recorded but not yet posted (including claims left by a crash).
    pub async fn unposted_checkins(&self) -> Result<Vec<CheckIn>> {
        let rows: Vec<CheckInRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            checkin_columns!(),
            " FROM checkins WHERE status IN ('recorded', 'posting') ORDER BY occurrence_at"
        ))
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(CheckIn::try_from).collect()
    }

    /// Claim a check-in for posting. Only one caller wins; a claim older than
    /// `stale_before` (its owner crashed) may be taken over.
    pub async fn claim_post(
        &self,
        checkin_id: CheckInId,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<bool> {
        let done = on_db!(&self.db, |pool| sqlx::query(
            "UPDATE checkins SET status = 'posting', claimed_at = $1 WHERE id = $2 \
             AND (status = 'recorded' OR (status = 'posting' AND claimed_at < $3))",
        )
        .bind(unix(now))
        .bind(checkin_id)
        .bind(unix(stale_before))
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Give a claim back after a failed post, so the next tick retries.
    pub async fn release_post(&self, checkin_id: CheckInId) -> Result<()> {
        on_db!(&self.db, |pool| sqlx::query(
            "UPDATE checkins SET status = 'recorded', claimed_at = NULL WHERE id = $1 AND status = 'posting'"
        )
        .bind(checkin_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    pub async fn mark_posted(&self, checkin_id: CheckInId, message_id: MessageId, now: DateTime<Utc>) -> Result<()> {
        on_db!(&self.db, |pool| sqlx::query(
            "UPDATE checkins SET status = 'posted', message_id = $1, posted_at = $2 WHERE id = $3"
        )
        .bind(message_id)
        .bind(unix(now))
        .bind(checkin_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// A recorded check-in whose window closed before it could be posted.
    pub async fn mark_missed(&self, checkin_id: CheckInId) -> Result<()> {
        on_db!(&self.db, |pool| sqlx::query(
            "UPDATE checkins SET status = 'missed' WHERE id = $1 AND status IN ('recorded', 'posting')"
        )
        .bind(checkin_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    pub async fn checkin(&self, checkin_id: CheckInId) -> Result<Option<CheckIn>> {
        let row: Option<CheckInRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            checkin_columns!(),
            " FROM checkins WHERE id = $1"
        ))
        .bind(checkin_id)
        .fetch_optional(pool)
        .await)?;
        row.map(CheckIn::try_from).transpose()
    }

    /// The posted check-in of a cohort that is open at `at`.
    pub async fn open_checkin(&self, cohort_id: CohortId, at: DateTime<Utc>) -> Result<Option<CheckIn>> {
        let row: Option<CheckInRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            checkin_columns!(),
            " FROM checkins WHERE cohort_id = $1 AND status IN ('posting', 'posted') \
             AND occurrence_at <= $2 AND $3 < closes_at ORDER BY occurrence_at DESC LIMIT 1"
        ))
        .bind(cohort_id)
        .bind(unix(at))
        .bind(unix(at))
        .fetch_optional(pool)
        .await)?;
        row.map(CheckIn::try_from).transpose()
    }

    /// Open check-ins of active cohorts the user is an active member of, in
    /// servers the bot has not been removed from.
    pub async fn open_checkins_for_member(&self, user_id: UserId, at: DateTime<Utc>) -> Result<Vec<CheckIn>> {
        let rows: Vec<CheckInRow> = on_db!(&self.db, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                checkin_columns!(k),
                " FROM checkins k \
             JOIN cohorts c ON c.id = k.cohort_id AND c.active = TRUE \
             JOIN members m ON m.cohort_id = k.cohort_id AND m.user_id = $1 AND m.left_at IS NULL \
             WHERE c.guild_id NOT IN (SELECT guild_id FROM departed_guilds) \
               AND k.status IN ('posting', 'posted') AND k.occurrence_at <= $2 AND $3 < k.closes_at \
             ORDER BY k.occurrence_at"
            ))
            .bind(user_id)
            .bind(unix(at))
            .bind(unix(at))
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter().map(CheckIn::try_from).collect()
    }

    /// All ledger rows of a cohort, oldest first.
    #[cfg(any(test, feature = "test-util"))]
    pub async fn checkins_of_cohort(&self, cohort_id: CohortId) -> Result<Vec<CheckIn>> {
        let rows: Vec<CheckInRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            checkin_columns!(),
            " FROM checkins WHERE cohort_id = $1 ORDER BY occurrence_at"
        ))
        .bind(cohort_id)
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(CheckIn::try_from).collect()
    }
}

/// Makes recordings of one cohort take turns (module docs), so that
/// [`Store::record_checkin`]'s update sees a concurrent recording's row.
/// PostgreSQL: locks the cohort's row until the transaction ends. SQLite:
/// nothing to do, its one writer already makes them take turns (and a read
/// first would start the transaction as a reader).
async fn recordings_take_turns(conn: Conn<'_>, cohort_id: CohortId) -> Result<()> {
    if let Conn::Postgres(conn) = conn {
        sqlx::query("SELECT id FROM cohorts WHERE id = $1 FOR UPDATE").bind(cohort_id).execute(conn).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_column_list_is_written_once_with_or_without_an_alias() {
        assert_eq!(
            checkin_columns!(),
            "id, cohort_id, occurrence_at, closes_at, nonce, status, prompt_id, track, question, message_id"
        );
        assert_eq!(
            checkin_columns!(k),
            "k.id, k.cohort_id, k.occurrence_at, k.closes_at, k.nonce, k.status, k.prompt_id, k.track, k.question, \
             k.message_id"
        );
    }
}
