//! Copying a SQLite database into an empty PostgreSQL one (`trellis
//! migrate-to`): every table, in foreign-key order, ids kept, in one
//! PostgreSQL transaction that checks each table's row count before it
//! commits.
//!
//! The tables are named here once ([`TABLES`]) and checked against both
//! databases' catalogs, so a table added by a later migration cannot be
//! forgotten: the copy refuses a database with a table it does not know.
//! Columns are read from the PostgreSQL catalog and must match the SQLite
//! table's; each value is read from SQLite as the PostgreSQL column's type.
//! Table and column names are the only text put into these statements, and
//! they come from this list and the catalogs; every value is bound.

use std::collections::BTreeSet;

use futures::TryStreamExt as _;
use sqlx::postgres::{PgArguments, Postgres};
use sqlx::sqlite::{SqliteRow, SqliteTransaction};
use sqlx::{Arguments as _, Row as _};

use super::backend::{Backend, Db};

use super::failure::StoreError;

use super::handle::Store;

/// Every Trellis table, each after the tables it references.
pub const TABLES: [&str; 20] = [
    "cohorts",
    "members",
    "pauses",
    "checkins",
    "replies",
    "reply_edits",
    "impact_entries",
    "reminders",
    "delivery_failures",
    "departed_guilds",
    "instances",
    "notes",
    "note_edits",
    "path_projects",
    "path_project_edits",
    "path_steps",
    "path_step_edits",
    "dm_channels",
    "desk_links",
    "desk_sessions",
];

/// PostgreSQL's limit on bound values in one statement.
const MAX_BINDS: usize = 65_535;
/// Most rows in one `INSERT`: large enough that a big table is a few
/// hundred statements, small enough to keep each statement's memory modest.
const MAX_ROWS_PER_INSERT: usize = 1_000;

/// Why a copy was refused or failed. Nothing is written to the target
/// unless the copy succeeded as a whole.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("migrate-to copies a SQLite database into a PostgreSQL one; this is {from} into {to}")]
    Backends { from: Backend, to: Backend },
    #[error(
        "the SQLite database has a table `{0}` that this version of Trellis does not know; \
         copy it with the version of Trellis that made it"
    )]
    UnknownTable(String),
    #[error(
        "the {backend} database has no table `{table}`: it is not migrated to this version of Trellis \
         (run `trellis migrate` on it first)"
    )]
    MissingTable { backend: Backend, table: &'static str },
    #[error("the PostgreSQL database is not empty: table `{0}` holds rows; migrate-to copies into an empty database")]
    TargetNotEmpty(&'static str),
    #[error("table `{table}` has columns {sqlite:?} in SQLite but {postgres:?} in PostgreSQL")]
    Columns { table: &'static str, sqlite: Vec<String>, postgres: Vec<String> },
    #[error("column `{table}.{column}` has PostgreSQL type `{data_type}`, which the copy cannot fill")]
    ColumnType { table: &'static str, column: String, data_type: String },
    #[error("table `{table}`: {copied} rows copied but the SQLite database holds {expected}; nothing was committed")]
    Count { table: &'static str, expected: i64, copied: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for TransferError {
    fn from(e: sqlx::Error) -> Self {
        TransferError::Store(e.into())
    }
}

/// How a PostgreSQL column is filled from SQLite.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Int,
    Bool,
    Text,
}

impl Store {
    /// Copy every table of this SQLite database into `target`, an empty,
    /// migrated PostgreSQL database, in one transaction of each (a snapshot
    /// of the source; all or nothing in the target). Ids are kept and each
    /// identity sequence is moved past the largest id. Returns the rows
    /// copied per table, in [`TABLES`] order, each checked against the
    /// source's count before the commit.
    ///
    /// # Errors
    /// [`TransferError`]: the wrong backends, a table either database lacks
    /// or this version does not know, a target that holds rows (naming the
    /// table), columns that differ, a count that does not match, or the
    /// databases' own errors. The target is unchanged after any of them.
    pub async fn copy_to(&self, target: &Store) -> Result<Vec<(&'static str, u64)>, TransferError> {
        let (Db::Sqlite(source), Db::Postgres(pg)) = (&self.db, &target.db) else {
            return Err(TransferError::Backends { from: self.backend(), to: target.backend() });
        };
        let known: BTreeSet<&str> = TABLES.into_iter().collect();
        let source_tables = self.table_names().await?;
        if let Some(unknown) = source_tables.iter().find(|t| !known.contains(t.as_str())) {
            return Err(TransferError::UnknownTable(unknown.clone()));
        }
        let target_tables = target.table_names().await?;
        for (backend, tables) in [(Backend::Sqlite, &source_tables), (Backend::Postgres, &target_tables)] {
            if let Some(&table) = TABLES.iter().find(|t| !tables.iter().any(|n| n == *t)) {
                return Err(TransferError::MissingTable { backend, table });
            }
        }

        // One snapshot of the source for every table and count.
        let mut from = source.begin().await?;
        let mut to = pg.begin().await?;
        // Nobody writes to the target while it is checked and filled.
        let lock = format!("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", TABLES.map(quoted).join(", "));
        sqlx::query(sqlx::AssertSqlSafe(lock)).execute(&mut *to).await?;
        for table in TABLES {
            let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", quoted(table));
            let (any,): (bool,) = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_one(&mut *to).await?;
            if any {
                return Err(TransferError::TargetNotEmpty(table));
            }
        }

        let mut copied = Vec::with_capacity(TABLES.len());
        for table in TABLES {
            let columns = columns_of(&mut from, &mut to, table).await?;
            let rows = copy_table(&mut from, &mut to, table, &columns).await?;
            let expected: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {}", quoted(table))))
                    .fetch_one(&mut *from)
                    .await?;
            let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {}", quoted(table))))
                .fetch_one(&mut *to)
                .await?;
            if count != expected || u64::try_from(count).ok() != Some(rows) {
                return Err(TransferError::Count { table, expected, copied: count });
            }
            copied.push((table, rows));
        }
        // The largest id SQLite ever handed out per table (AUTOINCREMENT,
        // migration 0007), which may be past the largest one left.
        let (counted,): (bool,) =
            sqlx::query_as("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence')")
                .fetch_one(&mut *from)
                .await?;
        let used: Vec<(String, i64)> = if counted {
            sqlx::query_as("SELECT name, seq FROM sqlite_sequence").fetch_all(&mut *from).await?
        } else {
            Vec::new()
        };
        reset_identities(&mut to, &used.into_iter().collect()).await?;
        to.commit().await?;
        from.commit().await?;
        Ok(copied)
    }
}

/// `"name"`: an identifier from [`TABLES`] or a catalog, quoted.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The target table's columns (in order) with how each is filled, after
/// checking that the SQLite table has the same ones.
async fn columns_of(
    from: &mut SqliteTransaction<'static>,
    to: &mut sqlx::Transaction<'static, Postgres>,
    table: &'static str,
) -> Result<Vec<(String, Kind)>, TransferError> {
    let pg: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT) FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(&mut **to)
    .await?;
    let lite: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
        .bind(table)
        .fetch_all(&mut **from)
        .await?;
    let mut sorted_pg: Vec<String> = pg.iter().map(|(c, _)| c.clone()).collect();
    let mut sorted_lite = lite.clone();
    sorted_pg.sort();
    sorted_lite.sort();
    if sorted_pg != sorted_lite {
        return Err(TransferError::Columns { table, sqlite: lite, postgres: pg.into_iter().map(|(c, _)| c).collect() });
    }
    pg.into_iter()
        .map(|(column, data_type)| {
            let kind = match data_type.as_str() {
                "bigint" => Kind::Int,
                "boolean" => Kind::Bool,
                "text" => Kind::Text,
                _ => return Err(TransferError::ColumnType { table, column, data_type }),
            };
            Ok((column, kind))
        })
        .collect()
}

/// Streams `table`'s rows from SQLite into PostgreSQL, many rows per
/// `INSERT`; returns how many rows were inserted.
async fn copy_table(
    from: &mut SqliteTransaction<'static>,
    to: &mut sqlx::Transaction<'static, Postgres>,
    table: &'static str,
    columns: &[(String, Kind)],
) -> Result<u64, TransferError> {
    let names = columns.iter().map(|(c, _)| quoted(c)).collect::<Vec<_>>().join(", ");
    let select = format!("SELECT {names} FROM {}", quoted(table));
    let per_insert = (MAX_BINDS / columns.len().max(1)).clamp(1, MAX_ROWS_PER_INSERT);
    let mut inserted = 0;
    let mut batch: Vec<SqliteRow> = Vec::with_capacity(per_insert);
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(&mut **from);
    loop {
        let row = rows.try_next().await?;
        let done = row.is_none();
        batch.extend(row);
        if batch.len() == per_insert || (done && !batch.is_empty()) {
            inserted += insert_rows(to, table, &names, columns, &batch).await?;
            batch.clear();
        }
        if done {
            return Ok(inserted);
        }
    }
}

/// One multi-row `INSERT` of `rows` into `table`; returns the rows inserted.
async fn insert_rows(
    to: &mut sqlx::Transaction<'static, Postgres>,
    table: &'static str,
    names: &str,
    columns: &[(String, Kind)],
    rows: &[SqliteRow],
) -> Result<u64, TransferError> {
    let mut args = PgArguments::default();
    let mut tuples = Vec::with_capacity(rows.len());
    let mut n = 0;
    for row in rows {
        let mut tuple = Vec::with_capacity(columns.len());
        for (i, (_, kind)) in columns.iter().enumerate() {
            let bound = match kind {
                Kind::Int => args.add(row.try_get::<Option<i64>, _>(i)?),
                Kind::Bool => args.add(row.try_get::<Option<bool>, _>(i)?),
                Kind::Text => args.add(row.try_get::<Option<String>, _>(i)?),
            };
            bound.map_err(|e| TransferError::Store(StoreError::from(sqlx::Error::Encode(e))))?;
            n += 1;
            tuple.push(format!("${n}"));
        }
        tuples.push(format!("({})", tuple.join(", ")));
    }
    let sql = format!("INSERT INTO {} ({names}) VALUES {}", quoted(table), tuples.join(", "));
    let done = sqlx::query_with(sqlx::AssertSqlSafe(sql), args).execute(&mut **to).await?;
    Ok(done.rows_affected())
}

/// Moves every identity column's sequence past the largest id copied, and
/// past the largest SQLite ever handed out (`used`, per table), so the next
/// row PostgreSQL numbers neither collides with a copied one nor takes the
/// id of a row deleted before the copy (an old button may still name it).
async fn reset_identities(
    to: &mut sqlx::Transaction<'static, Postgres>,
    used: &std::collections::BTreeMap<String, i64>,
) -> Result<(), TransferError> {
    let identities: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) FROM information_schema.columns \
         WHERE table_schema = current_schema() AND is_identity = 'YES'",
    )
    .fetch_all(&mut **to)
    .await?;
    for (table, column) in identities {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), GREATEST(COALESCE(MAX({col}), 0), $3) + 1, false) \
             FROM {table}",
            col = quoted(&column),
            table = quoted(&table),
        );
        let used = used.get(&table).copied().unwrap_or(0);
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&table).bind(&column).bind(used).execute(&mut **to).await?;
    }
    Ok(())
}
