//! Temporary databases on either backend, and raw SQL checks the store has
//! no method for.
//!
//! SQLite: a file in a temporary folder. PostgreSQL: a database of its own
//! (`trellis_t_<pid>_<n>_…`) on the server named by [`POSTGRES_ENV`],
//! created for the test and dropped (`WITH (FORCE)`) when its [`TempDb`]
//! drops. A migrated one is a copy of a template migrated once per test
//! process (`trellis_t_<pid>_template`: a copy takes ~60 ms, migrating
//! ~200 ms). Databases of test processes that are gone (the template of
//! the last run, or those of a killed run) are dropped by the next one.
//! Without the variable the PostgreSQL variants of the tests skip, and each
//! suite says so once on stderr; with `TRELLIS_REQUIRE_POSTGRES=1` (CI) they
//! fail instead, saying why ([`postgres_enabled`]).

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection as _;
use tempfile::TempDir;
pub use trellis::store::Backend;
use trellis::store::Store;

/// The environment variable naming the PostgreSQL server for the tests: a
/// URL whose user may create and drop databases, e.g.
/// `postgres://postgres@127.0.0.1:5432/postgres`.
pub const POSTGRES_ENV: &str = "TRELLIS_TEST_POSTGRES_URL";

/// The environment variable that makes a PostgreSQL variant that cannot run
/// fail instead of skipping (CI sets it to `1`): with runtime SQL, running a
/// statement is its only check, so a run that skipped them proves nothing.
pub const REQUIRE_POSTGRES_ENV: &str = "TRELLIS_REQUIRE_POSTGRES";

/// The PostgreSQL admin URL from [`POSTGRES_ENV`], if set (and not empty).
pub fn postgres_admin_url() -> Option<String> {
    std::env::var(POSTGRES_ENV).ok().filter(|u| !u.trim().is_empty())
}

/// Whether [`REQUIRE_POSTGRES_ENV`] is set to anything but empty, `0` or `false`.
pub fn postgres_required() -> bool {
    std::env::var(REQUIRE_POSTGRES_ENV).is_ok_and(|v| is_required(&v))
}

fn is_required(value: &str) -> bool {
    !matches!(value.trim().to_ascii_lowercase().as_str(), "" | "0" | "false")
}

/// What a PostgreSQL variant does, from the two variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostgresPlan {
    /// The server is named: run (and fail, saying why, if it cannot be used).
    Run,
    /// Not named and not required: pass without running, saying so once per suite.
    Skip,
    /// Not named but required: fail with this reason.
    Fail(String),
}

impl PostgresPlan {
    /// The plan for a server URL (`None` when unset or blank) and whether
    /// [`REQUIRE_POSTGRES_ENV`] is on.
    pub fn of(admin_url: Option<&str>, required: bool) -> Self {
        match (admin_url, required) {
            (Some(_), _) => PostgresPlan::Run,
            (None, false) => PostgresPlan::Skip,
            (None, true) => PostgresPlan::Fail(format!(
                "{REQUIRE_POSTGRES_ENV} is set, so the PostgreSQL variants must run, but {POSTGRES_ENV} is not \
                 set: set it to a server where the user may create databases, e.g. \
                 {POSTGRES_ENV}=postgres://postgres@127.0.0.1:5432/postgres"
            )),
        }
    }
}

/// Whether the PostgreSQL variant of a test should run. When the variable
/// is unset, says once per suite (the first two segments of `module_path`,
/// e.g. `it::store`) that its PostgreSQL tests were skipped, and why; or,
/// with [`REQUIRE_POSTGRES_ENV`] set, panics with the reason. (A server that
/// is named but cannot be used fails the test where it connects.)
pub fn postgres_enabled(module_path: &str) -> bool {
    static TOLD: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    match PostgresPlan::of(postgres_admin_url().as_deref(), postgres_required()) {
        PostgresPlan::Run => return true,
        PostgresPlan::Fail(reason) => panic!("{reason}"),
        PostgresPlan::Skip => {}
    }
    let suite: String = module_path.split("::").take(2).collect::<Vec<_>>().join("::");
    let mut told = TOLD.lock().unwrap_or_else(|p| p.into_inner());
    if told.get_or_insert_with(HashSet::new).insert(suite.clone()) {
        // Straight to stderr: libtest captures `eprintln!` of passing tests.
        let _ = writeln!(
            std::io::stderr(),
            "PostgreSQL tests skipped: {POSTGRES_ENV} is not set (suite {suite}; to run them, set it to a \
             server where the user may create databases, e.g. \
             {POSTGRES_ENV}=postgres://postgres@127.0.0.1:5432/postgres)"
        );
    }
    false
}

/// Generates, for `async fn name(backend: Backend)` in scope, a module
/// `name` with two tests: `name::sqlite` and `name::postgres` (skipped,
/// with a line on stderr, when [`POSTGRES_ENV`] is unset; failing when it
/// is set and the server cannot be used, or when it is unset and
/// [`REQUIRE_POSTGRES_ENV`] is set). An optional second argument is
/// the arguments of `#[tokio::test]`, e.g. `(flavor = "multi_thread")`.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident $(, $args:tt)?) => {
        mod $name {
            #[tokio::test $($args)?]
            async fn sqlite() {
                super::$name($crate::Backend::Sqlite).await
            }

            #[tokio::test $($args)?]
            async fn postgres() {
                if $crate::db::postgres_enabled(module_path!()) {
                    super::$name($crate::Backend::Postgres).await
                }
            }
        }
    };
}

/// A temporary database, deleted on drop: keep it alive as long as the
/// stores and processes that use it.
pub struct TempDb {
    /// A temporary folder: the SQLite file's, a working directory for the
    /// binary, room for backups and exports (on both backends).
    pub dir: TempDir,
    /// `trellis.db` in `dir` (SQLite; on PostgreSQL nothing is there).
    pub path: PathBuf,
    /// `sqlite://…` or `postgres://…` for [`Store::connect`] and `DATABASE_URL`.
    pub url: String,
    pub backend: Backend,
    /// The PostgreSQL database to drop.
    pg: Option<PgDatabase>,
}

impl TempDb {
    /// A SQLite path for a database that does not exist yet.
    pub fn new() -> Self {
        trellis::telemetry::init_for_tests();
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("trellis.db");
        let url = url_of(&path);
        TempDb { dir, path, url, backend: Backend::Sqlite, pg: None }
    }

    /// An empty database on `backend` (not migrated). PostgreSQL needs
    /// [`POSTGRES_ENV`]; panics without it or when the server refuses.
    pub async fn on(backend: Backend) -> Self {
        Self::make(backend, false).await
    }

    /// A database on `backend` with every migration applied (on PostgreSQL
    /// a copy of a template migrated once per test process: faster than
    /// migrating each).
    pub async fn migrated(backend: Backend) -> Self {
        let db = Self::make(backend, true).await;
        if backend == Backend::Sqlite {
            db.store().await.close().await;
        }
        db
    }

    async fn make(backend: Backend, migrated: bool) -> Self {
        let mut db = TempDb::new();
        if backend == Backend::Postgres {
            let pg = PgDatabase::create(migrated).await;
            db.url = pg.url.clone();
            db.backend = Backend::Postgres;
            db.pg = Some(pg);
        }
        db
    }

    /// A new, independent connection pool to the database (a second process,
    /// as far as the database cares), without migrating.
    pub async fn connect(&self) -> Store {
        Store::connect(&self.url).await.expect("connect")
    }

    /// Like [`TempDb::connect`], and migrated.
    pub async fn store(&self) -> Store {
        let store = self.connect().await;
        store.migrate().await.expect("migrate");
        store
    }

    /// A raw connection to the SQLite file, for checks the store has no
    /// method for (SQLite only; [`TempDb::count`] works on both).
    pub async fn raw(&self) -> sqlx::SqlitePool {
        assert_eq!(self.backend, Backend::Sqlite, "raw() is the SQLite file; use count() or columns()");
        sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(&self.path))
            .await
            .expect("raw connect")
    }

    /// The result of `sql`, a `SELECT` of one integer (e.g. `COUNT(*)`), on either backend.
    pub async fn count(&self, sql: &'static str) -> i64 {
        match self.backend {
            Backend::Sqlite => {
                let pool = self.raw().await;
                let n = sqlx::query_scalar(sql).fetch_one(&pool).await.expect(sql);
                pool.close().await;
                n
            }
            Backend::Postgres => {
                let pool = pg_pool(&self.url).await;
                let n = sqlx::query_scalar(sql).fetch_one(&pool).await.expect(sql);
                pool.close().await;
                n
            }
        }
    }

    /// The column names of `table`, on either backend.
    pub async fn columns(&self, table: &str) -> Vec<String> {
        match self.backend {
            Backend::Sqlite => {
                let pool = self.raw().await;
                let columns = table_columns(&pool, table).await;
                pool.close().await;
                columns
            }
            Backend::Postgres => {
                let pool = pg_pool(&self.url).await;
                let columns = pg_columns(&pool, table).await.into_iter().map(|(c, _)| c).collect();
                pool.close().await;
                columns
            }
        }
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

/// A migrated store on a fresh SQLite file.
pub async fn temp_store() -> (TempDb, Store) {
    temp_store_on(Backend::Sqlite).await
}

/// A migrated store on a fresh database of `backend`.
pub async fn temp_store_on(backend: Backend) -> (TempDb, Store) {
    let db = TempDb::migrated(backend).await;
    let store = db.store().await;
    (db, store)
}

/// Every table and every column of the database, with how many rows hold
/// `value` in that column. Only non-zero counts are returned.
pub async fn rows_holding(db: &TempDb, value: i64) -> Vec<(String, String, i64)> {
    match db.backend {
        Backend::Sqlite => rows_holding_in(&db.path, value).await,
        Backend::Postgres => pg_rows_holding(&db.url, value).await,
    }
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

/// [`rows_holding`] on PostgreSQL. As SQLite compares a number with a text
/// column as text, a text column is searched for the number's digits.
async fn pg_rows_holding(url: &str, value: i64) -> Vec<(String, String, i64)> {
    let pool = pg_pool(url).await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut out = Vec::new();
    for table in tables {
        for (column, data_type) in pg_columns(&pool, &table).await {
            let sql = format!("SELECT COUNT(*) FROM \"{table}\" WHERE \"{column}\" = $1");
            let query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
            let query = match data_type.as_str() {
                "bigint" | "integer" | "smallint" => query.bind(value),
                "text" | "character varying" => query.bind(value.to_string()),
                _ => continue,
            };
            let n: i64 = query.fetch_one(&pool).await.unwrap();
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

/// The columns of a PostgreSQL table with their `information_schema` data types, in order.
async fn pg_columns(pool: &sqlx::PgPool, table: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT) FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// A one-connection pool on `url`, for raw checks.
pub async fn pg_pool(url: &str) -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL server: {e}"))
}

/// A PostgreSQL database made for one test, dropped with it.
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

/// Prefix of the databases the tests make; the creating process's id follows.
const PG_PREFIX: &str = "trellis_t_";

impl PgDatabase {
    /// A new database; `migrated`: a copy of this process's migrated template.
    async fn create(migrated: bool) -> Self {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let admin_url = postgres_admin_url()
            .unwrap_or_else(|| panic!("{POSTGRES_ENV} is not set; a PostgreSQL test needs a server"));
        // One connection, not a pool: a pool retries until its timeout and
        // then says only that, where this says why at once.
        let mut admin = admin_connection(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_ENV} is set but the PostgreSQL server cannot be used: {e}"));
        drop_databases_of_dead_processes(&mut admin).await;
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos();
        let name = format!("{PG_PREFIX}{}_{}_{nanos}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
        let create = match migrated {
            true => format!("CREATE DATABASE \"{name}\" TEMPLATE \"{}\"", migrated_template(&admin_url)),
            false => format!("CREATE DATABASE \"{name}\""),
        };
        sqlx::query(sqlx::AssertSqlSafe(create))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
        // A test database need not survive a power cut: commits skip the
        // WAL flush (claims and their isolation are unchanged), which
        // roughly halves the PostgreSQL variants' time.
        sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE \"{name}\" SET synchronous_commit = off")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("cannot configure the test database {name}: {e}"));
        let _ = admin.close().await;
        let url = database_url(&admin_url, &name);
        PgDatabase { admin_url, name, url }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on:
        // the statement runs on a thread with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async {
                let mut admin = admin_connection(&admin_url).await?;
                let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut admin).await?;
                admin.close().await?;
                Ok::<_, sqlx::Error>(())
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            let _ = writeln!(std::io::stderr(), "could not drop the test database {}: {e}", self.name);
        }
    }
}

/// The name of this process's migrated template database, made (and
/// migrated with the store's own migrations) by the first caller; the
/// next test process drops it with the other databases of dead processes.
fn migrated_template(admin_url: &str) -> String {
    static TEMPLATE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let admin_url = admin_url.to_string();
            // Called from a test's runtime, which cannot block on another
            // future: the template is made on a thread with its own.
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                runtime.block_on(async {
                    let name = format!("{PG_PREFIX}{}_template", std::process::id());
                    let mut admin = admin_connection(&admin_url).await.expect("connect to the test server");
                    let sql = format!("CREATE DATABASE \"{name}\"");
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&mut admin)
                        .await
                        .unwrap_or_else(|e| panic!("cannot create the template database {name}: {e}"));
                    let _ = admin.close().await;
                    let store =
                        Store::connect(&database_url(&admin_url, &name)).await.expect("connect to the template");
                    store.migrate().await.expect("migrate the template");
                    // CREATE DATABASE … TEMPLATE needs the template without connections.
                    store.close().await;
                    name
                })
            })
            .join()
            .expect("making the template database")
        })
        .clone()
}

/// A connection to the test server's admin database, failing within 10 s.
async fn admin_connection(admin_url: &str) -> Result<sqlx::PgConnection, sqlx::Error> {
    tokio::time::timeout(std::time::Duration::from_secs(10), sqlx::PgConnection::connect(admin_url))
        .await
        .unwrap_or(Err(sqlx::Error::PoolTimedOut))
}

/// `admin_url` with its database replaced by `name`.
fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (admin_url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Test databases whose creating process is gone (killed mid-test) are
/// dropped by the next test process; those of running processes stay.
async fn drop_databases_of_dead_processes(admin: &mut sqlx::PgConnection) {
    static DONE: std::sync::Once = std::sync::Once::new();
    let mut first = false;
    DONE.call_once(|| first = true);
    if !first {
        return;
    }
    let names: Vec<String> = sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'trellis\\_t\\_%'")
        .fetch_all(&mut *admin)
        .await
        .unwrap_or_default();
    for name in names {
        let pid =
            name.strip_prefix(PG_PREFIX).and_then(|rest| rest.split('_').next()).and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
            let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *admin).await;
        }
    }
}

/// A column as [`Schema`] compares it: name, type class, not null.
pub type ColumnShape = (String, String, bool);

/// A database's schema, reduced to what both backends can state alike, to
/// check that `migrations/postgres` mirrors `migrations/sqlite`.
#[derive(Debug, PartialEq, Eq)]
pub struct Schema {
    /// (table, [(column, type class, not null)]), types as `int` (SQLite
    /// INTEGER, PostgreSQL BIGINT or BOOLEAN) or `text`; anything else by name.
    pub tables: Vec<(String, Vec<ColumnShape>)>,
    /// (table, primary key columns).
    pub primary_keys: std::collections::BTreeSet<(String, String)>,
    /// (table, unique columns, partial): UNIQUE constraints and unique indexes.
    pub unique_keys: std::collections::BTreeSet<(String, String, bool)>,
    /// (table, column, referenced table, referenced column, deletes cascade).
    pub foreign_keys: std::collections::BTreeSet<(String, String, String, String, bool)>,
    /// Indexes made by CREATE INDEX, by name.
    pub indexes: std::collections::BTreeSet<String>,
    /// Trigger names.
    pub triggers: std::collections::BTreeSet<String>,
}

/// The [`Schema`] of a migrated database.
pub async fn schema_of(db: &TempDb) -> Schema {
    let mut schema = match db.backend {
        Backend::Sqlite => sqlite_schema(&db.raw().await).await,
        Backend::Postgres => pg_schema(&pg_pool(&db.url).await).await,
    };
    // The search index differs by design (an FTS5 table here, a tsvector
    // with a GIN index there); everything of it is named `search…`.
    let search = |name: &str| name.starts_with("search");
    schema.tables.retain(|(t, _)| !search(t));
    schema.primary_keys.retain(|(t, _)| !search(t));
    schema.unique_keys.retain(|(t, _, _)| !search(t));
    schema.foreign_keys.retain(|fk| !search(&fk.0));
    schema.indexes.retain(|i| !search(i));
    schema.triggers.retain(|t| !search(t));
    schema
}

async fn sqlite_schema(pool: &sqlx::SqlitePool) -> Schema {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut schema = Schema {
        tables: Vec::new(),
        primary_keys: Default::default(),
        unique_keys: Default::default(),
        foreign_keys: Default::default(),
        indexes: Default::default(),
        triggers: sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            .fetch_all(pool)
            .await
            .unwrap()
            .into_iter()
            .collect(),
    };
    for table in names {
        let columns: Vec<(String, String, bool, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info('{table}') ORDER BY cid"
        )))
        .fetch_all(pool)
        .await
        .unwrap();
        let mut pk: Vec<(i64, String)> =
            columns.iter().filter(|c| c.3 > 0).map(|(name, _, _, pk)| (*pk, name.clone())).collect();
        pk.sort();
        schema.primary_keys.insert((table.clone(), pk.into_iter().map(|(_, n)| n).collect::<Vec<_>>().join(",")));
        let columns = columns
            .into_iter()
            .map(|(name, ty, not_null, pk)| {
                let class = match ty.as_str() {
                    "INTEGER" => "int".to_string(),
                    "TEXT" => "text".to_string(),
                    other => other.to_string(),
                };
                (name, class, not_null || pk > 0)
            })
            .collect();
        schema.tables.push((table.clone(), columns));
        let indexes: Vec<(String, bool, String, bool)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT name, \"unique\", origin, partial FROM pragma_index_list('{table}')"
        )))
        .fetch_all(pool)
        .await
        .unwrap();
        for (index, unique, origin, partial) in indexes {
            if origin == "c" {
                schema.indexes.insert(index.clone());
            }
            if unique && origin != "pk" {
                let cols: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT name FROM pragma_index_info('{index}') ORDER BY seqno"
                )))
                .fetch_all(pool)
                .await
                .unwrap();
                schema.unique_keys.insert((table.clone(), cols.join(","), partial));
            }
        }
        let fks: Vec<(String, String, String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT \"from\", \"table\", \"to\", on_delete FROM pragma_foreign_key_list('{table}')"
        )))
        .fetch_all(pool)
        .await
        .unwrap();
        for (from, to_table, to, on_delete) in fks {
            schema.foreign_keys.insert((table.clone(), from, to_table, to, on_delete == "CASCADE"));
        }
    }
    schema
}

async fn pg_schema(pool: &sqlx::PgPool) -> Schema {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_schema = current_schema() \
         AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations' ORDER BY table_name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut tables = Vec::new();
    for table in names {
        let columns: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT), CAST(is_nullable AS TEXT) \
             FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 \
             ORDER BY ordinal_position",
        )
        .bind(&table)
        .fetch_all(pool)
        .await
        .unwrap();
        let columns = columns
            .into_iter()
            .map(|(name, ty, nullable)| {
                let class = match ty.as_str() {
                    "bigint" | "boolean" => "int".to_string(),
                    "text" => "text".to_string(),
                    other => other.to_string(),
                };
                (name, class, nullable == "NO")
            })
            .collect();
        tables.push((table, columns));
    }
    let keys: Vec<(String, String, bool, bool)> = sqlx::query_as(
        "SELECT CAST(t.relname AS TEXT), string_agg(CAST(a.attname AS TEXT), ',' ORDER BY k.ord), \
         ix.indisprimary, ix.indpred IS NOT NULL \
         FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid \
         CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord) \
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
         WHERE t.relnamespace = CAST(current_schema() AS regnamespace) AND ix.indisunique \
         AND t.relname <> '_sqlx_migrations' \
         GROUP BY t.relname, ix.indexrelid, ix.indisprimary, ix.indpred",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut primary_keys = std::collections::BTreeSet::new();
    let mut unique_keys = std::collections::BTreeSet::new();
    for (table, cols, primary, partial) in keys {
        if primary {
            primary_keys.insert((table, cols));
        } else {
            unique_keys.insert((table, cols, partial));
        }
    }
    let fks: Vec<(String, String, String, String, bool)> = sqlx::query_as(
        "SELECT CAST(cl.relname AS TEXT), CAST(a.attname AS TEXT), CAST(fcl.relname AS TEXT), \
         CAST(fa.attname AS TEXT), c.confdeltype = 'c' \
         FROM pg_constraint c JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_class fcl ON fcl.oid = c.confrelid \
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
         JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1] \
         WHERE c.contype = 'f' AND cl.relnamespace = CAST(current_schema() AS regnamespace)",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    // Indexes of their own, not those behind a PRIMARY KEY or UNIQUE constraint.
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(indexname AS TEXT) FROM pg_indexes WHERE schemaname = current_schema() \
         AND tablename <> '_sqlx_migrations' \
         AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let triggers: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT CAST(trigger_name AS TEXT) FROM information_schema.triggers \
         WHERE trigger_schema = current_schema()",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    Schema {
        tables,
        primary_keys,
        unique_keys,
        foreign_keys: fks.into_iter().collect(),
        indexes: indexes.into_iter().collect(),
        triggers: triggers.into_iter().collect(),
    }
}
