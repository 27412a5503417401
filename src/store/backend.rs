//! The backend machinery under every store file: which database a URL
//! names ([`Backend`]), the pool and connection of either ([`Db`], [`Conn`]),
//! opening them (the pool options, the timeouts and the reuse check each
//! pool runs when a connection comes back), a URL shown without its
//! password ([`redacted_url`]), and [`on_db!`] / [`on_conn!`], which write a
//! method's body once for both backends (see the module docs of
//! [`crate::store`]).

/// Runs `$body` once per backend with `$pool` bound to the [`Db`]'s pool:
/// the body is written once and type-checked against each backend's types.
///
/// The body looks like a closure but is a `match` arm of the calling
/// method, so a `?` inside it returns from **the method** (not from the
/// body), its error converted by `From` (a `sqlx::Error` becomes a
/// [`StoreError`](super::StoreError)); a transaction begun in the body is
/// then dropped, which rolls it back.
///
/// One convention at every call site: the body evaluates to a `Result`,
/// and the caller takes it like a function's result: `on_db!(…)?`,
/// `on_db!(…).map_err(…)?`, or as the method's last expression (a body
/// that cannot fail, such as `pool.close().await`, is simply its value).
/// A body of one statement is that statement's `Result`; a body of several
/// uses `?` for all but the last (its early return is what the caller's
/// `?` would do) and ends with the last one's `Result`: in a transaction
/// `tx.commit().await.map(|()| value)` (or `Ok(value)` when the macro is the
/// method's last expression, whose type says what `Ok` is). A caller that
/// handles the error itself (`.map_err` after the macro) needs a body
/// without `?`, which would skip that handling.
/// Where the backends differ, the body does not test the backend: the
/// statement is chosen before it with [`Backend::pick`], or a function
/// matches on the [`Conn`].
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::store::backend::Db::Sqlite($pool) => $body,
            $crate::store::backend::Db::Postgres($pool) => $body,
        }
    };
}

/// [`on_db!`] for a [`Conn`]: `$conn` bound to the backend's connection;
/// the same convention, and `?` inside returns from the calling function.
macro_rules! on_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::store::backend::Conn::Sqlite($c) => $body,
            $crate::store::backend::Conn::Postgres($c) => $body,
        }
    };
}

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::failure::{self, BUSY_TIMEOUT, Result, StoreError};
/// Two connections: one writer (SQLite has one at a time) and one reader. Each
/// connection is an OS thread plus its own page cache; the third and fourth
/// measured 0.4 MB of idle memory and no gain under load (docs/benchmarks.md).
const MAX_CONNECTIONS: u32 = 2;
/// PostgreSQL takes writers side by side; eight connections per process keep
/// a burst of answers, reminders and summaries from queueing behind one
/// another while a few processes stay far below the server's default of 100.
const PG_MAX_CONNECTIONS: u32 = 8;
/// How long the first connection to a PostgreSQL server may take at start
/// (a TLS handshake across a network included).
const PG_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a statement waits for a free connection (on PostgreSQL: also
/// for a new one while the server restarts) before failing with
/// [`StoreError::TimedOut`]: below Discord's 3 s interaction deadline and
/// the edge's 2.5 s bound on a save, so a member is told why in time. (A
/// PostgreSQL server that refuses connections while it restarts is retried
/// until then, so a restart reads as "did not answer in time" too.)
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// SQLite's: a little past [`BUSY_TIMEOUT`], so a connection that cannot
/// even open behind another process's lock reports "locked by another
/// process" (its own busy timeout) rather than a pool timeout.
const SQLITE_ACQUIRE_TIMEOUT: Duration = Duration::from_millis(2200);
/// How long a PostgreSQL statement waits for a row lock another transaction
/// holds (`lock_timeout`) before failing with [`StoreError::TimedOut`]: the
/// same bound as SQLite's busy timeout, so a claimer never waits forever.
const PG_LOCK_TIMEOUT: &str = "2s";

/// Which database a [`Store`] speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL selects; `None` for any other scheme.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    /// The statement for this backend, where the dialects differ.
    pub(crate) fn pick(self, sqlite: &'static str, postgres: &'static str) -> &'static str {
        match self {
            Backend::Sqlite => sqlite,
            Backend::Postgres => postgres,
        }
    }

    /// How a read transaction of several statements begins so that they all
    /// see one snapshot: SQLite's deferred transaction takes it at the first
    /// read; PostgreSQL's READ COMMITTED would take one per statement.
    pub(crate) fn read_tx(self) -> &'static str {
        self.pick("BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    }

    /// How a write transaction begins: on SQLite IMMEDIATE takes the write
    /// lock at once (waiting up to the busy timeout) rather than failing
    /// half-way when a read turns into a write; PostgreSQL locks rows as it goes.
    pub(crate) fn write_tx(self) -> &'static str {
        self.pick("BEGIN IMMEDIATE", "BEGIN")
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

/// The connection pool of either backend. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Db {
    /// Which backend this pool speaks to.
    pub(super) fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }
}

/// A connection of either backend (usually inside a transaction), for the
/// statements several methods share.
pub(crate) enum Conn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl Conn<'_> {
    /// The same connection for one more statement, keeping this handle.
    pub(crate) fn reborrow(&mut self) -> Conn<'_> {
        match self {
            Conn::Sqlite(c) => Conn::Sqlite(c),
            Conn::Postgres(c) => Conn::Postgres(c),
        }
    }
}

impl<'c> From<&'c mut SqliteConnection> for Conn<'c> {
    fn from(c: &'c mut SqliteConnection) -> Self {
        Conn::Sqlite(c)
    }
}

impl<'c> From<&'c mut PgConnection> for Conn<'c> {
    fn from(c: &'c mut PgConnection) -> Self {
        Conn::Postgres(c)
    }
}

impl Db {
    /// Open the database at `url` for reading and writing (see
    /// [`Store::connect`](super::Store::connect)).
    pub(super) async fn connect(url: &str) -> Result<Db> {
        match Backend::of_url(url) {
            Some(Backend::Postgres) => Db::connect_postgres(url, false).await,
            _ => Db::connect_sqlite(url).await,
        }
    }

    /// Open an existing database for reading only (see
    /// [`Store::open_read_only`](super::Store::open_read_only)).
    pub(super) async fn open_read_only(url: &str) -> Result<Db> {
        if Backend::of_url(url) == Some(Backend::Postgres) {
            return Db::connect_postgres(url, true).await;
        }
        let options = sqlite_options(url)?;
        let path = options.get_filename().to_path_buf();
        if !url.contains("mode=memory") && !path.is_file() {
            let reason = format!("there is no database at {}; check DATABASE_URL", path.display());
            return Err(StoreError::Url { url: url.to_string(), reason });
        }
        let options = options.read_only(true).create_if_missing(false).busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new().max_connections(2).connect_with(options).await?;
        Ok(Db::Sqlite(pool))
    }

    async fn connect_sqlite(url: &str) -> Result<Db> {
        let options = sqlite_options(url)?;
        // `sqlite://` with no path would open a throw-away temporary database.
        if options.get_filename().as_os_str().is_empty() && !url.contains("mode=memory") {
            return Err(StoreError::Url {
                url: url.to_string(),
                reason: "the URL names no database file; expected e.g. sqlite://data/trellis.db".into(),
            });
        }
        if let Some(path) = file_path(&options) {
            create_private_file(&path)?;
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: in WAL mode NORMAL may lose the last commits on power loss; FULL
            // syncs the WAL on every commit, so a confirmed answer is on disk.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .min_connections(1)
            .acquire_timeout(SQLITE_ACQUIRE_TIMEOUT)
            .after_release(|conn, _| Box::pin(failure::fit_for_reuse(conn)))
            .connect_with(options)
            .await?;
        Ok(Db::Sqlite(pool))
    }

    /// `read_only`: every transaction of the pool is read-only (the export).
    async fn connect_postgres(url: &str, read_only: bool) -> Result<Db> {
        let shown = redacted_url(url);
        let mut options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Url { url: shown.clone(), reason: e.to_string() })?
            .application_name("trellis");
        // Without a name the server picks the database named after the
        // user (often the `postgres` maintenance database): never that.
        if options.get_database().is_none_or(str::is_empty) {
            return Err(StoreError::Url {
                url: shown,
                reason: "the URL names no database; expected e.g. postgres://trellis@db.example/trellis".into(),
            });
        }
        options = options.options([("lock_timeout", PG_LOCK_TIMEOUT)]);
        if read_only {
            options = options.options([("default_transaction_read_only", "on")]);
        }
        let unreachable = |e| StoreError::Connect { url: shown.clone(), source: Arc::new(e) };
        // One connection first: the pool retries until its timeout and then
        // reports only that, where this says why (refused, authentication,
        // no such database).
        use sqlx::Connection as _;
        let first = tokio::time::timeout(PG_CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .unwrap_or(Err(sqlx::Error::PoolTimedOut))
            .map_err(unreachable)?;
        let _ = first.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(PG_MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_release(|conn, _| Box::pin(failure::fit_for_reuse(conn)))
            .connect_with(options)
            .await
            .map_err(unreachable)?;
        Ok(Db::Postgres(pool))
    }
}

/// `url` as it may be shown and logged: without its password
/// (`postgres://trellis:***@db/trellis`, `…?password=***`), whatever the
/// scheme; a SQLite URL (a file path) unchanged.
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    if Backend::of_url(url) == Some(Backend::Sqlite) {
        return url.to_string();
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{user_info}@{host}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => pair.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// What a refused URL is told: the two forms Trellis accepts.
const ACCEPTED_URLS: &str =
    "expected sqlite://PATH (e.g. sqlite://data/trellis.db) or postgres://USER@HOST/DATABASE (PostgreSQL)";

/// The options of a `sqlite:` URL.
fn sqlite_options(url: &str) -> Result<SqliteConnectOptions> {
    let bad = |reason: String| StoreError::Url { url: redacted_url(url), reason };
    // sqlx reads anything without a `sqlite:` prefix as a file name, so
    // `mysql://host/db` would quietly create a folder named `mysql:`.
    if !url.starts_with("sqlite:") {
        return Err(bad(format!("not a SQLite or PostgreSQL URL; {ACCEPTED_URLS}")));
    }
    SqliteConnectOptions::from_str(url).map_err(|e| bad(e.to_string()))
}

/// The file a SQLite URL names; `None` for an in-memory or `file:` URI database.
fn file_path(options: &SqliteConnectOptions) -> Option<PathBuf> {
    let path = options.get_filename();
    let s = path.to_string_lossy();
    if s.is_empty() || s == ":memory:" || s.starts_with("file:") { None } else { Some(path.to_path_buf()) }
}

/// Create the folder and an empty database file readable by its owner only;
/// SQLite gives the -wal and -shm files the same mode.
fn create_private_file(path: &Path) -> Result<()> {
    let err = |source| StoreError::Create { path: path.to_path_buf(), source };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    match crate::private_file::create_new(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_url_has_no_password() {
        for (url, shown) in [
            ("postgres://trellis:s3cret@db.example:5432/trellis", "postgres://trellis:***@db.example:5432/trellis"),
            ("postgresql://u:p%40ss@h/d?sslmode=require", "postgresql://u:***@h/d?sslmode=require"),
            ("postgres://u@h/d?password=s3cret&sslmode=disable", "postgres://u@h/d?password=***&sslmode=disable"),
            ("postgres://h/d", "postgres://h/d"),
            ("postgres://u:p@h", "postgres://u:***@h"),
            ("mysql://root:hunter2@db/trellis", "mysql://root:***@db/trellis"),
            ("sqlite://data/trellis.db", "sqlite://data/trellis.db"),
            ("sqlite://data/a:b@c.db", "sqlite://data/a:b@c.db"),
        ] {
            assert_eq!(redacted_url(url), shown);
        }
    }
}
