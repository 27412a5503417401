//! [`Store`], the handle to the database every table file adds methods to,
//! and the methods about the database as a whole (migrations, backup,
//! tables). Opening one is in `mod.rs`, which also starts its answer writer.

use std::path::Path;
use std::sync::Arc;

use super::backend::{Backend, Db};
use super::failure::{Result, StoreError, is_busy};
use super::queue::AnswerWriter;

/// Handle to the database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pub(super) db: Db,
    /// The one writer of answers (group commit, see `answers.rs`).
    pub(super) answers: AnswerWriter,
}

impl Store {
    /// The backend this store speaks to.
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// Apply the backend's migrations (`migrations/sqlite` or
    /// `migrations/postgres`, both embedded in the binary) that the
    /// database does not have yet. Several processes may call it at once.
    pub async fn migrate(&self) -> Result<()> {
        use sqlx::migrate::MigrateError;
        let result = match &self.db {
            Db::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await,
            // PostgreSQL's migrator takes an advisory lock: processes starting
            // together take turns, for as long as a migration takes (no
            // `lock_timeout` for this wait; it is reset before the
            // connection goes back to the pool).
            Db::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                sqlx::query("SET lock_timeout = 0").execute(&mut *conn).await?;
                let result = sqlx::migrate!("./migrations/postgres").run(&mut *conn).await;
                sqlx::query("RESET lock_timeout").execute(&mut *conn).await?;
                result
            }
        };
        match result {
            Err(MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _)) if is_busy(&e) => {
                Err(StoreError::Locked(Arc::new(e)))
            }
            other => Ok(other?),
        }
    }

    /// `VACUUM INTO`: a consistent copy of the live SQLite database, in a
    /// new file `path` created with mode 0600.
    ///
    /// # Errors
    /// [`StoreError::Create`] when `path` exists or cannot be created.
    /// [`StoreError::Unsupported`] on PostgreSQL, whose own tool (`pg_dump`)
    /// makes consistent copies of a live database.
    pub async fn backup_to(&self, path: &Path) -> Result<()> {
        let Db::Sqlite(pool) = &self.db else {
            return Err(StoreError::Unsupported(
                "trellis backup copies a SQLite database; back up PostgreSQL with pg_dump \
                 (e.g. pg_dump --format=custom --file=trellis.dump DBNAME)",
            ));
        };
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::Url { url: path.display().to_string(), reason: "path is not UTF-8".into() })?;
        // Private from its first byte: SQLite would create the copy with mode
        // 0644 (less the umask). It accepts an existing empty file instead,
        // so the file is made here, 0600 and new (never an existing one);
        // the copy's journal takes the same mode from it.
        crate::private_file::create_new(path)
            .map_err(|source| StoreError::Create { path: path.to_path_buf(), source })?;
        if let Err(e) = sqlx::query("VACUUM INTO $1").bind(target).execute(pool).await {
            // No empty or half-written copy is left to be taken for a backup.
            let _ = std::fs::remove_file(path);
            return Err(e.into());
        }
        Ok(())
    }

    /// Close every connection of the pool (waits for those in use).
    pub async fn close(&self) {
        on_db!(&self.db, |pool| pool.close().await)
    }

    /// Names of all Trellis tables (not the migrator's, nor the search
    /// index, which each database keeps in its own form and rebuilds from
    /// the rows through its triggers), sorted by byte
    /// order: SQLite's catalog, or PostgreSQL's `information_schema` for the
    /// connection's schema.
    pub async fn table_names(&self) -> Result<Vec<String>> {
        let sql = self.backend().pick(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx_%' AND name NOT LIKE 'search%'",
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             AND table_name <> '_sqlx_migrations' AND table_name NOT LIKE 'search%'",
        );
        let mut names: Vec<String> = on_db!(&self.db, |pool| sqlx::query_scalar(sql).fetch_all(pool).await)?;
        names.sort_unstable();
        Ok(names)
    }
}
