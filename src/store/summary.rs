//! The rows behind the summaries, fetched set-based: a member's whole history
//! in two statements, a cohort's activity in two, whatever the number of
//! members and weeks. Each pair runs in one read transaction, so both
//! statements see the same snapshot while answers keep arriving.
//!
//! Child rows that belong to one parent row (a member's pauses, impact
//! entries, answered check-ins) come back aggregated into that row
//! (`json_group_array`, `group_concat`) rather than as a query per member.

use std::collections::HashMap;

use serde::Deserialize;

use super::checkins::CheckInRow;
use super::{Result, Store, StoreError, id, time, uid};
use crate::domain::track::parse_track_list;
use crate::domain::{CheckIn, ImpactEntry, Member, Pause, Reply, UserId};
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

#[derive(sqlx::FromRow)]
struct LedgerRow {
    #[sqlx(flatten)]
    checkin: CheckInRow,
    // The member's reply, when the statement joins one.
    #[sqlx(default)]
    reply_id: Option<i64>,
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
    fn reply(&mut self, user_id: UserId) -> Option<Reply> {
        Some(Reply {
            id: self.reply_id?,
            checkin_id: self.checkin.id,
            user_id,
            answer: self.answer.take().unwrap_or_default(),
            confidence: self.confidence.map(|c| c as u8),
            created_at: time(self.created_at.unwrap_or_default()),
            updated_at: time(self.updated_at.unwrap_or_default()),
        })
    }
}

/// The ledger columns, aliased so [`LedgerRow`] reads them with or without a reply.
const LEDGER: &str = "k.id, k.cohort_id, k.occurrence_at, k.closes_at, k.nonce, k.status, k.prompt_id, k.track, \
     k.question, k.message_id";

/// `[[starts_at, ends_at], …]` of a member's pauses that lasted at all.
const PAUSES_JSON: &str = "(SELECT json_group_array(json_array(p.starts_at, p.ends_at)) FROM pauses p \
     WHERE p.cohort_id = m.cohort_id AND p.user_id = m.user_id AND p.ends_at > p.starts_at)";

#[derive(Deserialize)]
struct ImpactJson {
    id: i64,
    what_changed: String,
    evidence: String,
    who_benefited: String,
    link: Option<String>,
    tracks: String,
    recorded_at: i64,
}

fn corrupt<T, E: std::fmt::Display>(r: std::result::Result<T, E>) -> Result<T> {
    r.map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn pauses(json: &str) -> Result<Vec<Pause>> {
    let mut spans: Vec<(i64, i64)> = corrupt(serde_json::from_str(json))?;
    spans.sort_unstable();
    Ok(spans.into_iter().map(|(s, e)| Pause { starts_at: time(s), ends_at: time(e) }).collect())
}

impl Store {
    /// Everything about one member in one cohort, in two statements; `None`
    /// when they never joined it.
    pub async fn member_history(&self, cohort_id: i64, user_id: u64) -> Result<Option<MemberHistory>> {
        let mut tx = self.pool.begin().await?;
        let impact_json = "(SELECT json_group_array(json_object('id', e.id, 'what_changed', e.what_changed, \
             'evidence', e.evidence, 'who_benefited', e.who_benefited, 'link', e.link, 'tracks', e.tracks, \
             'recorded_at', e.recorded_at)) FROM impact_entries e \
             WHERE e.cohort_id = m.cohort_id AND e.user_id = m.user_id)";
        let sql = format!(
            "SELECT m.joined_at, m.left_at, {PAUSES_JSON}, {impact_json} FROM members m \
             WHERE m.cohort_id = ? AND m.user_id = ?"
        );
        let row: Option<(i64, Option<i64>, String, String)> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(cohort_id).bind(id(user_id)).fetch_optional(&mut *tx).await?;
        let Some((joined_at, left_at, pauses_json, impact_json)) = row else { return Ok(None) };

        let sql = format!(
            "SELECT {LEDGER}, r.id AS reply_id, r.answer, r.confidence, r.created_at, r.updated_at \
             FROM checkins k LEFT JOIN replies r ON r.checkin_id = k.id AND r.user_id = ? \
             WHERE k.cohort_id = ? ORDER BY k.occurrence_at, k.id"
        );
        let rows: Vec<LedgerRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id(user_id)).bind(cohort_id).fetch_all(&mut *tx).await?;
        tx.commit().await?;

        let mut checkins = Vec::with_capacity(rows.len());
        let mut replies = Vec::new();
        for mut row in rows {
            replies.extend(row.reply(user_id));
            checkins.push(CheckIn::try_from(row.checkin)?);
        }
        let entries: Vec<ImpactJson> = corrupt(serde_json::from_str(&impact_json))?;
        let mut impact = entries
            .into_iter()
            .map(|e| {
                Ok(ImpactEntry {
                    id: e.id,
                    cohort_id,
                    user_id,
                    what_changed: e.what_changed,
                    evidence: e.evidence,
                    who_benefited: e.who_benefited,
                    link: e.link,
                    tracks: corrupt(parse_track_list(&e.tracks))?,
                    recorded_at: time(e.recorded_at),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        impact.sort_by_key(|e| (e.recorded_at, e.id));
        Ok(Some(MemberHistory {
            member: Member { cohort_id, user_id, joined_at: time(joined_at), left_at: left_at.map(time) },
            pauses: pauses(&pauses_json)?,
            checkins,
            replies,
            impact,
        }))
    }

    /// A cohort's ledger and, per member, their pauses and which check-ins
    /// they answered (no answer text), in two statements.
    pub async fn cohort_activity(&self, cohort_id: i64) -> Result<CohortActivity> {
        let mut tx = self.pool.begin().await?;
        // Who answered each check-in comes from the (checkin_id, user_id)
        // index alone, in ledger order: no reply row is read and nothing is
        // sorted, which keeps a 500-member, two-year cohort in milliseconds.
        let sql = format!(
            "SELECT {LEDGER}, (SELECT group_concat(r.user_id) FROM replies r WHERE r.checkin_id = k.id) AS repliers \
             FROM checkins k WHERE k.cohort_id = ? ORDER BY k.occurrence_at, k.id"
        );
        let rows: Vec<LedgerRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(cohort_id).fetch_all(&mut *tx).await?;
        // The last answer is the reply to the newest check-in answered: a reply
        // can only change while its check-in is open, before any later one
        // opens. CROSS JOIN keeps check-ins as the outer loop, newest first, so
        // the search stops at the first reply found.
        let sql = format!(
            "SELECT m.user_id, m.joined_at, m.left_at, {PAUSES_JSON}, \
             (SELECT r.updated_at FROM checkins k CROSS JOIN replies r ON r.checkin_id = k.id AND r.user_id = m.user_id \
              WHERE k.cohort_id = m.cohort_id ORDER BY k.occurrence_at DESC LIMIT 1) \
             FROM members m WHERE m.cohort_id = ? ORDER BY m.joined_at, m.user_id"
        );
        type Row = (i64, i64, Option<i64>, String, Option<i64>);
        let members: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(cohort_id).fetch_all(&mut *tx).await?;
        tx.commit().await?;

        let mut answered: HashMap<i64, Vec<i64>> = HashMap::with_capacity(members.len());
        let mut checkins = Vec::with_capacity(rows.len());
        for row in rows {
            for user in row.repliers.as_deref().unwrap_or("").split(',').filter(|s| !s.is_empty()) {
                answered.entry(corrupt(user.parse::<i64>())?).or_default().push(row.checkin.id);
            }
            checkins.push(CheckIn::try_from(row.checkin)?);
        }
        let members = members
            .into_iter()
            .map(|(user, joined_at, left_at, pauses_json, last_answer)| {
                let mut answered = answered.remove(&user).unwrap_or_default();
                answered.sort_unstable();
                Ok(MemberActivity {
                    member: Member {
                        cohort_id,
                        user_id: uid(user),
                        joined_at: time(joined_at),
                        left_at: left_at.map(time),
                    },
                    pauses: pauses(&pauses_json)?,
                    answered,
                    last_answer: last_answer.map(time),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(CohortActivity { checkins, members })
    }
}
