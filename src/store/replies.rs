use chrono::{DateTime, Utc};

use super::backend::Conn;
use super::codec::{from_unix, unix};
use super::failure::{Result, StoreError};
use super::handle::Store;
use crate::domain::{AnswerInput, CheckInId, CohortId, MessageId, Reply, ReplyEdit, ReplyId, ReplySource, UserId};

/// The columns of a [`ReplyRow`], in its order, written once for every
/// statement that reads one (`reply_columns!(r)` where the table is aliased `r`).
macro_rules! reply_columns {
    ($($t:ident)?) => {
        $crate::store::codec::columns!($($t:)? id, checkin_id, user_id, answer, confidence, created_at, updated_at)
    };
}
pub(super) use reply_columns;

#[derive(sqlx::FromRow)]
pub(super) struct ReplyRow {
    pub(super) id: ReplyId,
    pub(super) checkin_id: CheckInId,
    pub(super) user_id: UserId,
    pub(super) answer: String,
    pub(super) confidence: Option<i64>,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
}

impl TryFrom<ReplyRow> for Reply {
    type Error = StoreError;

    fn try_from(r: ReplyRow) -> Result<Self> {
        Ok(Reply {
            id: r.id,
            checkin_id: r.checkin_id,
            user_id: r.user_id,
            answer: r.answer,
            confidence: r.confidence.map(confidence).transpose()?,
            created_at: from_unix(r.created_at)?,
            updated_at: from_unix(r.updated_at)?,
        })
    }
}

/// A stored confidence: 1–5 (the table's CHECK constraint says so too).
fn confidence(raw: i64) -> Result<u8> {
    u8::try_from(raw)
        .ok()
        .filter(|c| (1..=5).contains(c))
        .ok_or_else(|| StoreError::Corrupt(format!("confidence {raw} is not 1-5")))
}

#[derive(sqlx::FromRow)]
struct ReplyEditRow {
    answer: String,
    confidence: Option<i64>,
    written_at: i64,
}

impl TryFrom<ReplyEditRow> for ReplyEdit {
    type Error = StoreError;

    fn try_from(r: ReplyEditRow) -> Result<Self> {
        Ok(ReplyEdit {
            answer: r.answer,
            confidence: r.confidence.map(confidence).transpose()?,
            written_at: from_unix(r.written_at)?,
        })
    }
}

impl Store {
    /// Store a member's answer, or replace their earlier one (the trigger keeps
    /// the old version in `reply_edits`). One statement, so two concurrent
    /// submits can never leave two current answers. Returns after commit.
    /// The answer is held by no DM afterwards: an edit of an earlier DM no
    /// longer changes it.
    pub async fn upsert_reply(
        &self,
        checkin_id: CheckInId,
        user_id: UserId,
        input: &AnswerInput,
        source: ReplySource,
        now: DateTime<Utc>,
    ) -> Result<Reply> {
        on_db!(&self.db, |pool| {
            let mut conn = pool.acquire().await?;
            upsert_reply_on(Conn::from(&mut *conn), checkin_id, user_id, input, source, None, now).await
        })
    }

    /// [`Store::upsert_reply`] for an answer sent as the DM `dm_message_id`,
    /// which then holds it: [`Store::edit_dm_reply`] with that id edits it.
    /// A DM holds one answer at most, so if this member's DM held another
    /// answer (the same DM sent to a second check-in with its cohort button),
    /// that one keeps its text and is no longer held by the DM. One
    /// transaction; returns after commit.
    pub async fn upsert_dm_reply(
        &self,
        checkin_id: CheckInId,
        user_id: UserId,
        input: &AnswerInput,
        dm_message_id: MessageId,
        now: DateTime<Utc>,
    ) -> Result<Reply> {
        let dm = Some(dm_message_id);
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            release_dm_on(Conn::from(&mut *tx), checkin_id, user_id, dm_message_id).await?;
            let reply =
                upsert_reply_on(Conn::from(&mut *tx), checkin_id, user_id, input, ReplySource::Dm, dm, now).await?;
            tx.commit().await?;
            Ok(reply)
        })
    }

    /// The answer `user_id`'s DM `dm_message_id` currently holds, if any.
    pub async fn dm_reply(&self, user_id: UserId, dm_message_id: MessageId) -> Result<Option<Reply>> {
        let row: Option<ReplyRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            reply_columns!(),
            " FROM replies WHERE user_id = $1 AND dm_message_id = $2"
        ))
        .bind(user_id)
        .bind(dm_message_id)
        .fetch_optional(pool)
        .await)?;
        row.map(Reply::try_from).transpose()
    }

    /// Replace the text of answer `reply_id`, only while the DM
    /// `dm_message_id` still holds it (a newer DM or a form may have taken
    /// over since it was read). The trigger keeps the old text in
    /// `reply_edits`. `None` when the DM no longer holds it.
    pub async fn edit_dm_reply(
        &self,
        reply_id: ReplyId,
        dm_message_id: MessageId,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Reply>> {
        let row: Option<ReplyRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "UPDATE replies SET answer = $1, updated_at = $2 WHERE id = $3 AND dm_message_id = $4 \
             RETURNING ",
            reply_columns!()
        ))
        .bind(text)
        .bind(unix(now))
        .bind(reply_id)
        .bind(dm_message_id)
        .fetch_optional(pool)
        .await)?;
        row.map(Reply::try_from).transpose()
    }

    pub async fn reply(&self, checkin_id: CheckInId, user_id: UserId) -> Result<Option<Reply>> {
        let row: Option<ReplyRow> = on_db!(&self.db, |pool| {
            sqlx::query_as(concat!("SELECT ", reply_columns!(), " FROM replies WHERE checkin_id = $1 AND user_id = $2"))
                .bind(checkin_id)
                .bind(user_id)
                .fetch_optional(pool)
                .await
        })?;
        row.map(Reply::try_from).transpose()
    }

    /// Earlier versions of a reply, oldest first.
    #[cfg(any(test, feature = "test-util"))]
    pub async fn reply_history(&self, reply_id: ReplyId) -> Result<Vec<ReplyEdit>> {
        let rows: Vec<ReplyEditRow> = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT answer, confidence, written_at FROM reply_edits WHERE reply_id = $1 ORDER BY id"
        )
        .bind(reply_id)
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(ReplyEdit::try_from).collect()
    }

    /// All current replies to a cohort's check-ins, by check-in then member.
    pub async fn replies_of_cohort(&self, cohort_id: CohortId) -> Result<Vec<Reply>> {
        let rows: Vec<ReplyRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            reply_columns!(r),
            " FROM replies r JOIN checkins k ON k.id = r.checkin_id \
             WHERE k.cohort_id = $1 ORDER BY k.occurrence_at, r.user_id"
        ))
        .bind(cohort_id)
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(Reply::try_from).collect()
    }

    /// A member's replies in one cohort, oldest first.
    #[cfg(any(test, feature = "test-util"))]
    pub async fn replies_of_member(&self, cohort_id: CohortId, user_id: UserId) -> Result<Vec<Reply>> {
        let rows: Vec<ReplyRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            reply_columns!(r),
            " FROM replies r JOIN checkins k ON k.id = r.checkin_id \
             WHERE k.cohort_id = $1 AND r.user_id = $2 ORDER BY k.occurrence_at"
        ))
        .bind(cohort_id)
        .bind(user_id)
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(Reply::try_from).collect()
    }
}

/// A DM holds one answer at most: before DM `dm_message_id` takes
/// `checkin_id`'s answer, this member's other answer it held lets go of it
/// (its text stays). Only the member's own rows: another member's row holding
/// the id (impossible from Discord) makes the upsert fail on the unique index
/// rather than being released.
pub(super) async fn release_dm_on(
    conn: Conn<'_>,
    checkin_id: CheckInId,
    user_id: UserId,
    dm_message_id: MessageId,
) -> Result<()> {
    on_conn!(conn, |conn| sqlx::query(
        "UPDATE replies SET dm_message_id = NULL WHERE dm_message_id = $1 AND user_id = $2 AND checkin_id <> $3"
    )
    .bind(dm_message_id)
    .bind(user_id)
    .bind(checkin_id)
    .execute(conn)
    .await
    .map(drop))?;
    Ok(())
}

/// The one upsert of a reply, on a connection that may be inside a
/// transaction (an answer joins and saves in one); `dm_message_id` is the DM
/// that holds it now (`None`: no DM does).
pub(super) async fn upsert_reply_on(
    conn: Conn<'_>,
    checkin_id: CheckInId,
    user_id: UserId,
    input: &AnswerInput,
    source: ReplySource,
    dm_message_id: Option<MessageId>,
    now: DateTime<Utc>,
) -> Result<Reply> {
    let row: ReplyRow = on_conn!(conn, |conn| {
        sqlx::query_as(concat!(
            "INSERT INTO replies (checkin_id, user_id, answer, confidence, source, dm_message_id, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (checkin_id, user_id) DO UPDATE SET answer = excluded.answer, \
             confidence = excluded.confidence, source = excluded.source, dm_message_id = excluded.dm_message_id, \
             updated_at = excluded.updated_at RETURNING ",
            reply_columns!()
        ))
        .bind(checkin_id)
        .bind(user_id)
        .bind(&input.text)
        .bind(input.confidence.map(i64::from))
        .bind(source.as_str())
        .bind(dm_message_id)
        .bind(unix(now))
        .bind(unix(now))
        .fetch_one(conn)
        .await
    })?;
    Reply::try_from(row)
}
