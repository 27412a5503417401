//! The `trellis` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::Utc;
use clap::{Parser, Subcommand};

use crate::config::{ConfigError, Settings, Sources};
use crate::domain::{Slot, SlotError};
use crate::store::{Store, redacted_url};

#[derive(Debug, Parser)]
#[command(name = "trellis", version, about = "A Discord bot that runs a Senior-to-Staff mentoring cohort.")]
pub struct Cli {
    /// Config file (TOML) [env: TRELLIS_CONFIG]. Default: config/trellis.toml when it exists.
    // TRELLIS_CONFIG is read by `config::Sources::from_env`, not by clap.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the bot (the default). Needs DISCORD_TOKEN; applies migrations first.
    Run(RunArgs),
    /// Validate the config and prompt library; print each cohort's next 3 check-ins.
    CheckConfig,
    /// Apply database migrations and exit.
    Migrate,
    /// Write a consistent copy of the SQLite database (safe while the bot
    /// runs) to PATH. For PostgreSQL use pg_dump.
    Backup {
        /// Where to write the copy; must not exist yet.
        path: PathBuf,
    },
    /// Delete every row about a Discord user (what /forget-me does): for
    /// members who left the server and for data-deletion requests. Prints
    /// what it removed, per table. Safe while the bot runs.
    ForgetUser {
        /// The user's Discord id (a snowflake, e.g. 300000000000000003).
        #[arg(value_name = "USER_ID", value_parser = clap::value_parser!(u64).range(1..=i64::MAX as u64))]
        user_id: u64,
    },
    /// Copy the SQLite database (DATABASE_URL) into an empty PostgreSQL
    /// database: every table in one transaction, row counts verified before
    /// it commits. Stop the bot first; the SQLite database is only read.
    MigrateTo {
        /// The PostgreSQL database to fill, e.g. postgres://trellis@db.example/trellis
        /// (it must exist; its schema is created).
        #[arg(value_name = "POSTGRES_URL")]
        url: String,
    },
    /// Export a cohort's answers and impact entries, or a member's promotion
    /// packet (read-only: safe while the bot runs).
    Export {
        /// The cohort's name.
        #[arg(long)]
        cohort: String,
        /// csv or json: one record per member per check-in, then one per impact
        /// entry; markdown: the promotion packet of --member.
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Only this member (Discord user id); required with markdown.
        #[arg(long, value_name = "ID")]
        member: Option<u64>,
        /// Write to this new file (mode 0600; an existing file is never
        /// overwritten) instead of standard output.
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
    },
}

/// The flags of `trellis run`.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct RunArgs {
    /// Run only these gateway shards, FIRST to LAST (e.g. 0-1, or 2 for one);
    /// with --total-shards. Each process on one database runs its own range.
    #[arg(long, value_name = "FIRST-LAST", value_parser = parse_shard_range, requires = "total_shards")]
    pub shards: Option<ShardRange>,
    /// How many shards the bot is split into, across all its processes (the
    /// same in each); with --shards. Without both: one shard, 0 of 1.
    #[arg(long, value_name = "N", requires = "shards")]
    pub total_shards: Option<u32>,
}

/// `--shards FIRST-LAST` as given, not checked against `--total-shards` yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardRange {
    pub first: u32,
    pub last: u32,
}

/// `FIRST-LAST` or a single shard `N`.
fn parse_shard_range(text: &str) -> Result<ShardRange, String> {
    let number = |s: &str| {
        s.trim().parse::<u32>().map_err(|_| format!("`{text}` is not a shard range; expected FIRST-LAST, e.g. 0-1"))
    };
    match text.split_once('-') {
        Some((first, last)) => Ok(ShardRange { first: number(first)?, last: number(last)? }),
        None => number(text).map(|n| ShardRange { first: n, last: n }),
    }
}

impl RunArgs {
    /// The shards to run: [`Slot::ALL`] without the flags.
    ///
    /// # Errors
    /// [`SlotError`] when only one of the flags is given or the range does
    /// not fit the total (`FIRST <= LAST < N`, `1 <= N <= 1024`).
    pub fn slot(&self) -> Result<Slot, SlotError> {
        match (self.shards, self.total_shards) {
            (None, None) => Ok(Slot::ALL),
            (Some(range), Some(total)) => Slot::checked(range.first, range.last, total),
            _ => Err(SlotError::Incomplete),
        }
    }
}

/// `--format` of `trellis export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
    /// One member's promotion packet (needs `--member`).
    Markdown,
}

impl From<ExportFormat> for crate::export::Format {
    fn from(f: ExportFormat) -> Self {
        match f {
            ExportFormat::Csv => Self::Csv,
            ExportFormat::Json => Self::Json,
            ExportFormat::Markdown => Self::Markdown,
        }
    }
}

/// Exit code for invalid configuration (and invalid `run` flags).
pub const EXIT_CONFIG: u8 = 2;

pub async fn main(cli: Cli) -> ExitCode {
    let command = cli.command.unwrap_or(Command::Run(RunArgs::default()));
    // The flags before the files: a wrong range is the command line's fault.
    let shards = match &command {
        Command::Run(args) => match args.slot() {
            Ok(slot) => slot,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_CONFIG);
            }
        },
        _ => Slot::ALL,
    };
    let mut settings = match Settings::load(Sources::from_env(cli.config)) {
        Ok(s) => s,
        Err(e) => return config_failure(&e),
    };
    settings.discord.shards = shards;
    let result = match command {
        Command::CheckConfig => {
            print!("{}", check_config_report(&settings));
            Ok(())
        }
        Command::Migrate => migrate(&settings).await,
        Command::Backup { path } => backup(&settings, &path).await,
        Command::MigrateTo { url } => migrate_to(&settings, &url).await,
        Command::ForgetUser { user_id } => forget_user(&settings, crate::domain::UserId::new(user_id)).await,
        Command::Export { cohort, format, member, out } => {
            export(
                &settings,
                crate::export::Request {
                    cohort,
                    format: format.into(),
                    member: member.map(crate::domain::UserId::new),
                },
                out.as_deref(),
            )
            .await
        }
        Command::Run(_) => {
            // Before anything is opened: no database without a token.
            if let Err(e) = settings.discord.require_token() {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
            crate::startup::run(settings).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", crate::telemetry::ErrorChain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

fn config_failure(e: &ConfigError) -> ExitCode {
    eprintln!("error: invalid configuration: {e}");
    ExitCode::from(EXIT_CONFIG)
}

async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let store = Store::connect(&settings.database_url).await?;
    store.migrate().await?;
    store.close().await;
    println!("migrations applied to {}", redacted_url(&settings.database_url));
    Ok(())
}

/// `trellis migrate-to`: see [`crate::migrate_to`].
async fn migrate_to(settings: &Settings, url: &str) -> anyhow::Result<()> {
    let copied = crate::migrate_to::run(&settings.database_url, url, Utc::now()).await?;
    print!("{}", crate::migrate_to::report(url, &copied));
    Ok(())
}

/// `trellis forget-user`: the store's `forget_user`, the one `/forget-me` uses.
async fn forget_user(settings: &Settings, user_id: crate::domain::UserId) -> anyhow::Result<()> {
    let store = Store::connect(&settings.database_url).await?;
    // A database of an older Trellis may lack a table that holds user ids.
    store.migrate().await?;
    let deleted = store.forget_user(user_id).await;
    store.close().await;
    print!("{}", forget_user_report(user_id, &deleted?));
    Ok(())
}

/// What `forget-user` prints: rows deleted per table, then the total.
pub fn forget_user_report(user_id: crate::domain::UserId, deleted: &[(&str, u64)]) -> String {
    use std::fmt::Write;
    let total: u64 = deleted.iter().map(|(_, n)| n).sum();
    let mut out = if total == 0 {
        format!("nothing was stored about user {user_id}; rows deleted per table:\n")
    } else {
        format!("forgot user {user_id}; rows deleted per table:\n")
    };
    for (table, n) in deleted {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "  {table:<18} {n}");
    }
    let _ = writeln!(out, "  {:<18} {total}", "total");
    out
}

async fn backup(settings: &Settings, path: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context as _;
    if path.exists() {
        anyhow::bail!("{} already exists; give a new file name", path.display());
    }
    let store = Store::connect(&settings.database_url).await?;
    store.backup_to(path).await.with_context(|| format!("backing up to {}", path.display()))?;
    store.close().await;
    println!("backup written to {} (restore: point DATABASE_URL at it)", path.display());
    Ok(())
}

async fn export(
    settings: &Settings,
    request: crate::export::Request,
    out: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use std::io::Write as _;
    if let Some(path) = out
        && path.exists()
    {
        // Checked before reading too, so a long export does not end in this error.
        return Err(crate::export::ExportError::OutExists(path.into()).into());
    }
    let store = Store::open_read_only(&settings.database_url).await?;
    let rendered = crate::export::render(&store, &request, Utc::now()).await;
    store.close().await;
    let text = rendered?;
    match out {
        Some(path) => {
            crate::export::write_new_file(path, &text)?;
            eprintln!("{} export of cohort `{}` written to {}", request.format, request.cohort, path.display());
        }
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(())
}

/// What `check-config` prints: the files read and each cohort's next 3 check-ins.
pub fn check_config_report(settings: &Settings) -> String {
    use std::fmt::Write;
    // Writing to a String cannot fail.
    let mut out = String::new();
    let _ = match &settings.config_file {
        Some(f) => writeln!(out, "config: {} (valid)", f.display()),
        None => writeln!(out, "config: none (cohorts come from the database, created with /cohort setup)"),
    };
    let _ = writeln!(out, "prompts: {} prompts (valid)", settings.prompts.prompts().len());
    let _ = writeln!(out, "database: {}", redacted_url(&settings.database_url));
    let now = Utc::now();
    for spec in &settings.cohorts {
        let schedule = &spec.schedule;
        let _ = writeln!(out, "\ncohort {} (schedule \"{}\", {}):", spec.name, schedule.expr(), schedule.timezone());
        for t in schedule.upcoming(now, 3) {
            let local = t.format("%a %Y-%m-%d %H:%M %Z");
            let _ = writeln!(out, "  {local}  ({})", t.with_timezone(&Utc).format("%Y-%m-%d %H:%M UTC"));
        }
        for (missing, at) in schedule.moved_by_dst(now, chrono::Duration::days(366)) {
            let _ = writeln!(
                out,
                "  note: {} does not exist in {} (the clocks spring forward); that check-in is posted at {}",
                missing.format("%a %Y-%m-%d %H:%M"),
                schedule.timezone(),
                at.format("%H:%M %Z"),
            );
        }
    }
    out
}
