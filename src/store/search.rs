//! Full-text search over answers, impact entries and path evidence, with
//! each database's own index: SQLite's FTS5 table `search_fts`, PostgreSQL's
//! `search_docs` (a `tsvector` with a GIN index). Triggers keep both in step
//! with every write, edit and delete (migrations `0008_desk.sql`).

use chrono::{DateTime, Utc};

use super::backend::Db;
use super::codec::from_unix;
use super::failure::{Result, StoreError};
use super::handle::Store;
use crate::domain::{CheckInId, CohortId, PathStep, Track, UserId};

/// Marks the start of a matching word in [`SearchHit::snippet`].
pub const MATCH_START: char = '\u{2}';
/// Marks the end of a matching word in [`SearchHit::snippet`].
pub const MATCH_END: char = '\u{3}';

/// Where a search may look: every row of the cohorts in `mentored`, and the
/// viewer's own rows (`user_id`) in the cohorts in `own`.
#[derive(Debug, Clone)]
pub struct SearchScope {
    pub mentored: Vec<CohortId>,
    pub own: Vec<CohortId>,
    pub user_id: UserId,
}

/// What a hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitKind {
    /// An answer to a check-in.
    Answer { checkin_id: CheckInId, track: Option<Track> },
    /// An entry of the impact ledger.
    Impact,
    /// The evidence of a Staff path step.
    Step(PathStep),
}

/// One matching row.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub kind: HitKind,
    /// The row's id in its own table (reply, impact entry, path step).
    pub ref_id: i64,
    pub cohort_id: CohortId,
    pub user_id: UserId,
    /// When: the check-in's occurrence, the entry's recording, the step's doing.
    pub at: DateTime<Utc>,
    /// The matching words in context, each between [`MATCH_START`] and [`MATCH_END`].
    pub snippet: String,
}

#[derive(sqlx::FromRow)]
struct HitRow {
    kind: String,
    ref_id: i64,
    cohort_id: CohortId,
    user_id: UserId,
    snippet: String,
    checkin_id: Option<i64>,
    track: Option<String>,
    step: Option<String>,
    at: Option<i64>,
}

impl TryFrom<HitRow> for SearchHit {
    type Error = StoreError;

    fn try_from(r: HitRow) -> Result<Self> {
        let corrupt = || StoreError::Corrupt(format!("search entry {} {} has no source row", r.kind, r.ref_id));
        let kind = match r.kind.as_str() {
            "answer" => HitKind::Answer {
                checkin_id: CheckInId::new(r.checkin_id.ok_or_else(corrupt)?),
                track: r.track.as_deref().and_then(|t| t.parse().ok()),
            },
            "impact" => HitKind::Impact,
            "step" => HitKind::Step(r.step.as_deref().and_then(|s| s.parse().ok()).ok_or_else(corrupt)?),
            other => return Err(StoreError::Corrupt(format!("search entry kind `{other}`"))),
        };
        Ok(SearchHit {
            kind,
            ref_id: r.ref_id,
            cohort_id: r.cohort_id,
            user_id: r.user_id,
            at: from_unix(r.at.ok_or_else(corrupt)?)?,
            snippet: r.snippet,
        })
    }
}

/// The source rows a hit names, joined for its link and its date.
const SOURCES: &str = "LEFT JOIN replies r ON h.kind = 'answer' AND r.id = h.ref_id \
     LEFT JOIN checkins c ON c.id = r.checkin_id \
     LEFT JOIN impact_entries i ON h.kind = 'impact' AND i.id = h.ref_id \
     LEFT JOIN path_steps p ON h.kind = 'step' AND p.id = h.ref_id";
const HIT_COLUMNS: &str = "h.kind, h.ref_id, h.cohort_id, h.user_id, c.id AS checkin_id, c.track, \
     p.step, COALESCE(c.occurrence_at, i.recorded_at, p.done_at) AS at";

/// The words of what a person typed, as an FTS5 query that matches rows
/// holding all of them: each word quoted, so that no character of theirs
/// is FTS5 syntax. Empty when nothing searchable was typed.
fn fts5_query(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("\"{w}\""))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Store {
    /// Rows in `scope` that hold every word of `text`, at most `limit`, in
    /// the index's own order, descending: by row id, so newest first within
    /// each kind (a word found in every answer then costs no ranking of
    /// them all). Words are matched by
    /// stem (`migrations` finds `migration`).
    pub async fn search(&self, scope: &SearchScope, text: &str, limit: u32) -> Result<Vec<SearchHit>> {
        if fts5_query(text).is_empty() || (scope.mentored.is_empty() && scope.own.is_empty()) {
            return Ok(Vec::new());
        }
        let rows: Vec<HitRow> = match &self.db {
            Db::Sqlite(pool) => {
                let ids = |c: &[CohortId]| serde_json::to_string(&c.iter().map(|c| c.get()).collect::<Vec<_>>());
                let sql = format!(
                    "WITH h AS (SELECT rowid AS doc_id, kind, ref_id, cohort_id, user_id, \
                       snippet(search_fts, 0, char(2), char(3), '…', 24) AS snippet FROM search_fts \
                     WHERE search_fts MATCH $1 AND (cohort_id IN (SELECT value FROM json_each($2)) \
                       OR (user_id = $4 AND cohort_id IN (SELECT value FROM json_each($3)))) \
                     ORDER BY rowid DESC LIMIT $5) \
                     SELECT {HIT_COLUMNS}, h.snippet FROM h {SOURCES} ORDER BY h.doc_id DESC"
                );
                sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(fts5_query(text))
                    .bind(ids(&scope.mentored).map_err(|e| StoreError::Corrupt(e.to_string()))?)
                    .bind(ids(&scope.own).map_err(|e| StoreError::Corrupt(e.to_string()))?)
                    .bind(scope.user_id)
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await?
            }
            Db::Postgres(pool) => {
                let ids = |c: &[CohortId]| c.iter().map(|c| c.get()).collect::<Vec<i64>>();
                let sql = format!(
                    "WITH q AS (SELECT plainto_tsquery('english', $1) AS q), \
                     h AS (SELECT d.kind, d.ref_id, d.cohort_id, d.user_id, \
                       d.doc_id, d.body, q.q \
                     FROM search_docs d, q WHERE d.tsv @@ q.q AND (d.cohort_id = ANY($2) \
                       OR (d.user_id = $4 AND d.cohort_id = ANY($3))) \
                     ORDER BY d.doc_id DESC LIMIT $5) \
                     SELECT {HIT_COLUMNS}, \
                       ts_headline('english', h.body, h.q, 'StartSel=\u{2}, StopSel=\u{3}, MaxWords=30, MinWords=12') \
                         AS snippet \
                     FROM h {SOURCES} ORDER BY h.doc_id DESC"
                );
                sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(text)
                    .bind(ids(&scope.mentored))
                    .bind(ids(&scope.own))
                    .bind(scope.user_id)
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await?
            }
        };
        rows.into_iter().map(SearchHit::try_from).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_text_never_becomes_fts5_syntax() {
        assert_eq!(fts5_query("the migration"), "\"the\" \"migration\"");
        assert_eq!(
            fts5_query("\"a\" OR b* NEAR(c) -d ^e col:f"),
            "\"a\" \"OR\" \"b\" \"NEAR\" \"c\" \"d\" \"e\" \"col\" \"f\""
        );
        assert_eq!(fts5_query("  ** () \" "), "");
        assert_eq!(fts5_query("移行 のこと"), "\"移行\" \"のこと\"");
    }
}
