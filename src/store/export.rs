//! What `trellis export` and `trellis migrate-to` read: a read-only
//! connection (safe beside the running bot: SQLite's WAL lets readers and
//! the writer work at once; PostgreSQL readers never wait for writers) and
//! the cohort names.

use sqlx::sqlite::SqlitePoolOptions;

use super::{BUSY_TIMEOUT, Backend, Db, Result, Store, StoreError};

impl Store {
    /// Open an existing database for reading only: never creates, migrates or
    /// writes it. On PostgreSQL every transaction of the connection is
    /// read-only (`default_transaction_read_only`).
    pub async fn open_read_only(url: &str) -> Result<Self> {
        if Backend::of_url(url) == Some(Backend::Postgres) {
            return Self::connect_postgres(url, true).await;
        }
        let options = super::sqlite_options(url)?;
        let path = options.get_filename().to_path_buf();
        if !url.contains("mode=memory") && !path.is_file() {
            let reason = format!("there is no database at {}; check DATABASE_URL", path.display());
            return Err(StoreError::Url { url: url.to_string(), reason });
        }
        let options = options.read_only(true).create_if_missing(false).busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new().max_connections(2).connect_with(options).await?;
        Ok(Store::with_db(Db::Sqlite(pool)))
    }

    /// Names of every cohort, removed ones included, sorted by byte order
    /// (the same on both backends, whatever PostgreSQL's collation).
    pub async fn cohort_names(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> =
            on_db!(&self.db, |pool| sqlx::query_scalar("SELECT name FROM cohorts").fetch_all(pool).await)?;
        names.sort_unstable();
        Ok(names)
    }
}
