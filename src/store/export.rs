//! What `trellis export` reads: a read-only connection (safe beside the
//! running bot: WAL lets readers and the writer work at once), the cohort
//! names, and a cohort's whole impact ledger.

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use super::{BUSY_TIMEOUT, Result, Store, StoreError, time, uid};
use crate::domain::ImpactEntry;
use crate::domain::track::parse_track_list;

impl Store {
    /// Open an existing database for reading only: never creates, migrates or
    /// writes it.
    pub async fn open_read_only(url: &str) -> Result<Self> {
        let bad = |reason: String| StoreError::Url { url: url.to_string(), reason };
        if !url.starts_with("sqlite:") {
            return Err(bad("Trellis stores its data in SQLite; expected a URL like sqlite://data/trellis.db".into()));
        }
        let options = SqliteConnectOptions::from_str(url).map_err(|e| bad(e.to_string()))?;
        let path = options.get_filename().to_path_buf();
        if !url.contains("mode=memory") && !path.is_file() {
            return Err(bad(format!("there is no database at {}; check DATABASE_URL", path.display())));
        }
        let options = options.read_only(true).create_if_missing(false).busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new().max_connections(2).connect_with(options).await?;
        Ok(Store { pool })
    }

    /// Names of every cohort, removed ones included, sorted.
    pub async fn cohort_names(&self) -> Result<Vec<String>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT name FROM cohorts ORDER BY name").fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|(n,)| n).collect())
    }

    /// Every impact entry of a cohort, oldest first.
    pub async fn impact_of_cohort(&self, cohort_id: i64) -> Result<Vec<ImpactEntry>> {
        type Row = (i64, i64, String, String, String, Option<String>, String, i64);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, user_id, what_changed, evidence, who_benefited, link, tracks, recorded_at \
             FROM impact_entries WHERE cohort_id = ? ORDER BY recorded_at, id",
        )
        .bind(cohort_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, user, what_changed, evidence, who_benefited, link, tracks, at)| {
                Ok(ImpactEntry {
                    id,
                    cohort_id,
                    user_id: uid(user),
                    what_changed,
                    evidence,
                    who_benefited,
                    link,
                    tracks: parse_track_list(&tracks).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    recorded_at: time(at),
                })
            })
            .collect()
    }
}
