//! The rows behind the summaries, fetched set-based: a member's whole history
//! in two statements, a cohort's activity in two, whatever the number of
//! members and weeks. Each pair runs in one read transaction, so both
//! statements see the same snapshot while answers keep arriving.
//!
//! Child rows that belong to one parent row (a member's pauses, impact
//! entries, answered check-ins) come back aggregated into that row
//! (`json_group_array`, `group_concat`; PostgreSQL's `json_agg`,
//! `string_agg`) rather than as a query per member. On PostgreSQL the read
//! transaction is REPEATABLE READ, which gives both statements one snapshot.

use std::collections::HashMap;

use super::checkins::{CheckInRow, checkin_columns};
use super::codec::{from_unix, ids_joined, user_in_text};
use super::failure::{Result, StoreError};
use super::handle::Store;
use super::impact::ImpactRow;
use super::replies::ReplyRow;
use crate::domain::{CheckIn, CheckInId, CohortId, ImpactEntry, Member, Pause, Reply, ReplyId, UserId};
use crate::summary::MemberActivity;

/// One member's rows in one cohort: what `/progress` and `/packet` read.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberHistory {
    pub member: Member,
    /// Oldest first.
    pub pauses: Vec<Pause>,
    /// The cohort's whole ledger, oldest first.
    pub checkins: Vec<CheckIn>,
    /// The member's replies (with their text), in ledger order.
    pub replies: Vec<Reply>,
    /// The member's impact ledger, oldest first.
    pub impact: Vec<ImpactEntry>,
}

/// A cohort's ledger and every member's activity: what `/cohort status` reads.
#[derive(Debug, Clone, PartialEq)]
pub struct CohortActivity {
    /// Oldest first.
    pub checkins: Vec<CheckIn>,
    /// Current and former members, in the order they joined.
    pub members: Vec<MemberActivity>,
}

/// A check-in of the ledger, with the member's reply when the statement joins one.
#[derive(sqlx::FromRow)]
struct LedgerRow {
    #[sqlx(flatten)]
    checkin: CheckInRow,
    #[sqlx(default)]
    reply_id: Option<ReplyId>,
    #[sqlx(default)]
    answer: Option<String>,
    #[sqlx(default)]
    confidence: Option<i64>,
    #[sqlx(default)]
    created_at: Option<i64>,
    #[sqlx(default)]
    updated_at: Option<i64>,
    /// Comma-separated ids of the members who answered, when the statement asks.
    #[sqlx(default)]
    repliers: Option<String>,
}

impl LedgerRow {
    /// The joined reply, if there is one; its columns are all set when `reply_id` is.
    fn reply(&mut self, user_id: UserId) -> Result<Option<Reply>> {
        let Some(id) = self.reply_id else { return Ok(None) };
        let missing = || StoreError::Corrupt(format!("reply {id} has no time"));
        let row = ReplyRow {
            id,
            checkin_id: self.checkin.id,
            user_id,
            answer: self.answer.take().unwrap_or_default(),
            confidence: self.confidence,
            created_at: self.created_at.ok_or_else(missing)?,
            updated_at: self.updated_at.ok_or_else(missing)?,
        };
        Reply::try_from(row).map(Some)
    }
}

/// A member's row with their pauses (and, for a history, impact entries) as JSON.
#[derive(sqlx::FromRow)]
struct MemberJsonRow {
    #[sqlx(default)]
    user_id: Option<UserId>,
    joined_at: i64,
    left_at: Option<i64>,
    /// `[[starts_at, ends_at], …]` of the pauses that lasted at all.
    pauses: String,
    /// `[{id, cohort_id, …}, …]`: the member's impact rows.
    #[sqlx(default)]
    impact: Option<String>,
    /// When the member last answered or edited an answer.
    #[sqlx(default)]
    last_answer: Option<i64>,
}

impl MemberJsonRow {
    /// The membership this row describes.
    fn member(&self, cohort_id: CohortId, user_id: UserId) -> Result<Member> {
        Ok(Member {
            cohort_id,
            user_id,
            joined_at: from_unix(self.joined_at)?,
            left_at: self.left_at.map(from_unix).transpose()?,
        })
    }
}

/// A decode error of aggregated JSON or text, as `Corrupt`.
fn or_corrupt<T, E: std::fmt::Display>(r: std::result::Result<T, E>) -> Result<T> {
    r.map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn pauses(json: &str) -> Result<Vec<Pause>> {
    let mut spans: Vec<(i64, i64)> = or_corrupt(serde_json::from_str(json))?;
    spans.sort_unstable();
    spans.into_iter().map(|(s, e)| Ok(Pause { starts_at: from_unix(s)?, ends_at: from_unix(e)? })).collect()
}

// The statements below differ between the backends only in how they
// aggregate (JSON arrays, comma-separated ids) and in one join hint; each is
// written once, with the backend's spelling picked by these macros
// (`sqlite` or `postgres`). String literals, so each statement is one
// `&'static str` per backend, built at compile time.

/// A JSON array of `$item` over the rows, as text; `[]` over no rows
/// (PostgreSQL's `json_agg` is NULL there, SQLite's `json_group_array` is `[]`).
macro_rules! json_array_of {
    (sqlite, $($item:tt)*) => { concat!("json_group_array(", $($item)*, ")") };
    (postgres, $($item:tt)*) => { concat!("CAST(COALESCE(json_agg(", $($item)*, "), '[]') AS TEXT)") };
}

/// The function building one JSON array (`json_array!(db)`) or object (`json_object!(db)`).
macro_rules! json_array {
    (sqlite) => {
        "json_array"
    };
    (postgres) => {
        "json_build_array"
    };
}
macro_rules! json_object {
    (sqlite) => {
        "json_object"
    };
    (postgres) => {
        "json_build_object"
    };
}

/// Member `m`'s pauses that lasted at all, `[[starts_at, ends_at], …]`.
macro_rules! pauses_of_m {
    ($db:ident) => {
        concat!(
            "(SELECT ",
            json_array_of!($db, json_array!($db), "(p.starts_at, p.ends_at)"),
            " FROM pauses p WHERE p.cohort_id = m.cohort_id AND p.user_id = m.user_id AND p.ends_at > p.starts_at) \
             AS pauses"
        )
    };
}

/// [`Store::member_history`]'s membership row: the member `$2` of cohort `$1`
/// with their pauses and their impact entries (as [`ImpactRow`]s in JSON).
macro_rules! member_history_sql {
    ($db:ident) => {
        concat!(
            "SELECT m.joined_at, m.left_at, ",
            pauses_of_m!($db),
            ", (SELECT ",
            json_array_of!(
                $db,
                json_object!($db),
                "('id', e.id, 'cohort_id', e.cohort_id, 'user_id', e.user_id, 'what_changed', e.what_changed, \
                 'evidence', e.evidence, 'who_benefited', e.who_benefited, 'link', e.link, 'tracks', e.tracks, \
                 'recorded_at', e.recorded_at)"
            ),
            " FROM impact_entries e WHERE e.cohort_id = m.cohort_id AND e.user_id = m.user_id) AS impact \
             FROM members m WHERE m.cohort_id = $1 AND m.user_id = $2"
        )
    };
}

/// [`Store::cohort_activity`]'s ledger: the check-ins of cohort `$1`, each
/// with who answered it.
macro_rules! activity_ledger_sql {
    ($db:ident) => {
        concat!(
            "SELECT ",
            checkin_columns!(k),
            ", (SELECT ",
            ids_joined!($db, "r.user_id"),
            " FROM replies r WHERE r.checkin_id = k.id) AS repliers \
             FROM checkins k WHERE k.cohort_id = $1 ORDER BY k.occurrence_at, k.id"
        )
    };
}

/// [`Store::cohort_activity`]'s members of cohort `$1`, with pauses and
/// their last answer. `$join`: `CROSS JOIN` on SQLite keeps check-ins as the
/// outer loop (see there); PostgreSQL has no such hint and takes `JOIN`.
macro_rules! activity_members_sql {
    ($db:ident, $join:literal) => {
        concat!(
            "SELECT m.user_id, m.joined_at, m.left_at, ",
            pauses_of_m!($db),
            ", (SELECT r.updated_at FROM checkins k ",
            $join,
            " replies r ON r.checkin_id = k.id AND r.user_id = m.user_id \
              WHERE k.cohort_id = m.cohort_id ORDER BY k.occurrence_at DESC LIMIT 1) AS last_answer \
             FROM members m WHERE m.cohort_id = $1 ORDER BY m.joined_at, m.user_id"
        )
    };
}

impl Store {
    /// Everything about one member in one cohort, in two statements; `None`
    /// when they never joined it.
    pub async fn member_history(&self, cohort_id: CohortId, user_id: UserId) -> Result<Option<MemberHistory>> {
        let backend = self.backend();
        let member_sql = backend.pick(member_history_sql!(sqlite), member_history_sql!(postgres));
        let (row, rows) = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_with(backend.read_tx()).await?;
            let row: Option<MemberJsonRow> =
                sqlx::query_as(member_sql).bind(cohort_id).bind(user_id).fetch_optional(&mut *tx).await?;
            let mut rows: Vec<LedgerRow> = Vec::new();
            if row.is_some() {
                rows = sqlx::query_as(concat!(
                    "SELECT ",
                    checkin_columns!(k),
                    ", r.id AS reply_id, r.answer, r.confidence, r.created_at, r.updated_at \
                     FROM checkins k LEFT JOIN replies r ON r.checkin_id = k.id AND r.user_id = $1 \
                     WHERE k.cohort_id = $2 ORDER BY k.occurrence_at, k.id"
                ))
                .bind(user_id)
                .bind(cohort_id)
                .fetch_all(&mut *tx)
                .await?;
            }
            tx.commit().await.map(|()| (row, rows))
        })?;
        let Some(member) = row else { return Ok(None) };

        let mut checkins = Vec::with_capacity(rows.len());
        let mut replies = Vec::new();
        for mut row in rows {
            replies.extend(row.reply(user_id)?);
            checkins.push(CheckIn::try_from(row.checkin)?);
        }
        let entries: Vec<ImpactRow> = or_corrupt(serde_json::from_str(member.impact.as_deref().unwrap_or("[]")))?;
        let mut impact = entries.into_iter().map(ImpactEntry::try_from).collect::<Result<Vec<_>>>()?;
        impact.sort_by_key(|e| (e.recorded_at, e.id));
        Ok(Some(MemberHistory {
            member: member.member(cohort_id, user_id)?,
            pauses: pauses(&member.pauses)?,
            checkins,
            replies,
            impact,
        }))
    }

    /// A cohort's ledger and, per member, their pauses and which check-ins
    /// they answered (no answer text), in two statements.
    pub async fn cohort_activity(&self, cohort_id: CohortId) -> Result<CohortActivity> {
        let backend = self.backend();
        // Who answered each check-in comes from the (checkin_id, user_id)
        // index alone, in ledger order: no reply row is read and nothing is
        // sorted, which keeps a 500-member, two-year cohort in milliseconds.
        let ledger_sql = backend.pick(activity_ledger_sql!(sqlite), activity_ledger_sql!(postgres));
        // The last answer is the reply to the newest check-in answered: a reply
        // can only change while its check-in is open, before any later one
        // opens. On SQLite, CROSS JOIN keeps check-ins as the outer loop,
        // newest first, so the search stops at the first reply found;
        // PostgreSQL has no such hint (and no CROSS JOIN … ON) and plans it itself.
        let members_sql =
            backend.pick(activity_members_sql!(sqlite, "CROSS JOIN"), activity_members_sql!(postgres, "JOIN"));
        let (rows, members) = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_with(backend.read_tx()).await?;
            let rows: Vec<LedgerRow> = sqlx::query_as(ledger_sql).bind(cohort_id).fetch_all(&mut *tx).await?;
            let members: Vec<MemberJsonRow> = sqlx::query_as(members_sql).bind(cohort_id).fetch_all(&mut *tx).await?;
            tx.commit().await.map(|()| (rows, members))
        })?;

        let mut answered: HashMap<UserId, Vec<CheckInId>> = HashMap::with_capacity(members.len());
        let mut checkins = Vec::with_capacity(rows.len());
        for row in rows {
            for user in row.repliers.as_deref().unwrap_or("").split(',').filter(|s| !s.is_empty()) {
                let user = user_in_text("replier", user)?;
                answered.entry(user).or_default().push(row.checkin.id);
            }
            checkins.push(CheckIn::try_from(row.checkin)?);
        }
        let members = members
            .into_iter()
            .map(|m| {
                let user_id = m.user_id.ok_or_else(|| StoreError::Corrupt("member without user id".into()))?;
                let mut answered = answered.remove(&user_id).unwrap_or_default();
                answered.sort_unstable();
                Ok(MemberActivity {
                    member: m.member(cohort_id, user_id)?,
                    pauses: pauses(&m.pauses)?,
                    answered,
                    last_answer: m.last_answer.map(from_unix).transpose()?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(CohortActivity { checkins, members })
    }
}
