//! What `trellis export` and `trellis migrate-to` read: a read-only
//! connection (safe beside the running bot: SQLite's WAL lets readers and
//! the writer work at once; PostgreSQL readers never wait for writers) and
//! the cohort names.

use super::backend::Db;

use super::failure::Result;

use super::handle::Store;

impl Store {
    /// Open an existing database for reading only: never creates, migrates or
    /// writes it. On PostgreSQL every transaction of the connection is
    /// read-only (`default_transaction_read_only`).
    pub async fn open_read_only(url: &str) -> Result<Self> {
        Ok(Store::with_db(Db::open_read_only(url).await?))
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
