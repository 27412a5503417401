//! A SQLite file in a temporary folder, and raw SQL checks the store has no
//! method for.

use std::path::{Path, PathBuf};

use tempfile::TempDir;
use trellis::store::Store;

/// A database file in its own temporary folder, deleted on drop: keep it
/// alive as long as the stores and processes that use it.
pub struct TempDb {
    /// The folder: a working directory for the binary, room for backups.
    pub dir: TempDir,
    /// `trellis.db` in `dir`.
    pub path: PathBuf,
    /// `sqlite://…` for [`Store::connect`] and `DATABASE_URL`.
    pub url: String,
}

impl TempDb {
    /// A path for a database that does not exist yet.
    pub fn new() -> Self {
        trellis::telemetry::init_for_tests();
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("trellis.db");
        let url = url_of(&path);
        TempDb { dir, path, url }
    }

    /// A new, independent connection pool to the database (a second process,
    /// as far as SQLite cares), without migrating.
    pub async fn connect(&self) -> Store {
        Store::connect(&self.url).await.expect("connect")
    }

    /// Like [`TempDb::connect`], and migrated.
    pub async fn store(&self) -> Store {
        let store = self.connect().await;
        store.migrate().await.expect("migrate");
        store
    }

    /// A raw connection for checks the store has no method for.
    pub async fn raw(&self) -> sqlx::SqlitePool {
        sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(&self.path))
            .await
            .expect("raw connect")
    }
}

impl Default for TempDb {
    fn default() -> Self {
        Self::new()
    }
}

/// The `sqlite://` URL of a database file.
pub fn url_of(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// A migrated store on a fresh file database.
pub async fn temp_store() -> (TempDb, Store) {
    let db = TempDb::new();
    let store = db.store().await;
    (db, store)
}

/// Every table and every column of the database, with how many rows hold
/// `value` in that column. Only non-zero counts are returned.
pub async fn rows_holding(db: &TempDb, value: i64) -> Vec<(String, String, i64)> {
    rows_holding_in(&db.path, value).await
}

/// [`rows_holding`] for the database file at `path` (a running bot's, say).
pub async fn rows_holding_in(path: &Path, value: i64) -> Vec<(String, String, i64)> {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(path))
        .await
        .expect("raw connect");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let columns = table_columns(&pool, &table).await;
        for column in columns {
            let sql = format!("SELECT COUNT(*) FROM \"{table}\" WHERE \"{column}\" = ?");
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(value).fetch_one(&pool).await.unwrap();
            if n > 0 {
                out.push((table.clone(), column, n));
            }
        }
    }
    pool.close().await;
    out
}

/// The column names of `table`.
pub async fn table_columns(pool: &sqlx::SqlitePool, table: &str) -> Vec<String> {
    let sql = format!("SELECT name FROM pragma_table_info('{table}')");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await.unwrap()
}
