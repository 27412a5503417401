//! Settings from the optional TOML file and the environment, validated.
//!
//! [`Sources::from_env`] is the one place Trellis reads its own environment
//! variables (`TRELLIS_CONFIG`, `DATABASE_URL`, `DISCORD_TOKEN`,
//! `DISCORD_API_BASE`, `TRELLIS_GLOBAL_RATE_LIMIT`, `TRELLIS_WEB_ADDR`, `TRELLIS_PUBLIC_URL`); `main` loads `.env` into the environment before it
//! ([`load_dotenv`]), and `RUST_LOG` belongs to the log subscriber.
//! [`Settings::load`] turns the sources into checked [`Settings`].

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use secrecy::SecretString;
use serde::Deserialize;

use crate::domain::prompt::RawLibrary;
use crate::domain::{ChannelId, CohortDraft, CohortSpec, PromptLibrary, Slot};

pub const DEFAULT_CONFIG_PATH: &str = "config/trellis.toml";
pub const DEFAULT_PROMPTS_PATH: &str = "config/prompts.toml";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/trellis.db";

/// A configuration problem: the file, the key and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub file: PathBuf,
    pub key: String,
    pub reason: String,
}

/// What [`ConfigError::file`] says when the value came from an environment
/// variable (or `.env`, which `main` loads into the environment).
pub const ENVIRONMENT: &str = "environment";

impl ConfigError {
    pub fn new(file: &Path, key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError { file: file.to_path_buf(), key: key.into(), reason: reason.into() }
    }

    /// A bad environment variable: `file` is [`ENVIRONMENT`], `key` the variable.
    pub fn in_environment(variable: &str, reason: impl Into<String>) -> Self {
        ConfigError::new(Path::new(ENVIRONMENT), variable, reason)
    }

    pub(crate) fn from_toml(file: &Path, text: &str, err: &serde_path_to_error::Error<toml::de::Error>) -> Self {
        let key = err.path().to_string();
        let key = if key == "." { String::new() } else { key };
        let mut reason = err.inner().message().trim().to_string();
        // Without a key (a syntax error) the line is the only pointer the reader has.
        if let Some(span) = err.inner().span() {
            let (line, column) = line_column(text, span.start);
            reason = format!("{reason} (line {line}, column {column})");
        }
        ConfigError::new(file, key, reason)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.reason)
        } else {
            write!(f, "{}: `{}` {}", self.file.display(), self.key, self.reason)
        }
    }
}

pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(file: &Path, text: &str) -> Result<T, ConfigError> {
    let de = toml::Deserializer::new(text);
    serde_path_to_error::deserialize(de).map_err(|e| ConfigError::from_toml(file, text, &e))
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..text.floor_char_boundary(offset.min(text.len()))];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    /// Path of the prompt library (default `config/prompts.toml`).
    prompts: Option<PathBuf>,
    database: Option<DatabaseSection>,
    web: Option<WebSection>,
    #[serde(default)]
    cohort: Vec<CohortSection>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct WebSection {
    addr: Option<String>,
    public_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DatabaseSection {
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CohortSection {
    name: String,
    guild_id: u64,
    channel_id: u64,
    mentor_role_id: u64,
    schedule: String,
    timezone: String,
    reminder_after: Option<String>,
    digest_channel_id: Option<u64>,
    tracks: Option<Vec<String>>,
}

/// Everything `trellis` needs to run, checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    pub database_url: String,
    pub cohorts: Vec<CohortSpec>,
    pub prompts: PromptLibrary,
    pub discord: DiscordSettings,
    pub web: WebSettings,
}

/// Where the desk listens (port 0: any free port) and the URL people's
/// browsers use for it.
pub const DEFAULT_WEB_ADDR: &str = "127.0.0.1:8080";

/// The desk's settings: `TRELLIS_WEB_ADDR` / `[web] addr` and
/// `TRELLIS_PUBLIC_URL` / `[web] public_url` (the environment wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSettings {
    /// `None`: the desk is off (`off`).
    pub addr: Option<std::net::SocketAddr>,
    /// The base URL links are built from, without a trailing slash;
    /// `None`: `http://` + the address the desk is bound to.
    pub public_url: Option<String>,
}

impl WebSettings {
    /// The desk turned off.
    pub const OFF: WebSettings = WebSettings { addr: None, public_url: None };

    /// From the raw values, each with the key that names it in errors
    /// (`TRELLIS_WEB_ADDR` in [`ENVIRONMENT`], or `web.addr` in `file`).
    fn parse(addr: Option<(&str, Origin<'_>)>, public_url: Option<(&str, Origin<'_>)>) -> Result<Self, ConfigError> {
        let addr = match addr {
            None => Some(DEFAULT_WEB_ADDR.parse().expect("the default address parses")),
            Some((text, _)) if text.trim().eq_ignore_ascii_case("off") => None,
            Some((text, origin)) => Some(text.trim().parse().map_err(|_| {
                origin.error(format!(
                    "`{text}` is not an address to listen on; expected IP:PORT (e.g. 127.0.0.1:8080 or \
                     0.0.0.0:8080), or `off`"
                ))
            })?),
        };
        let public_url = match public_url {
            None => None,
            Some((text, origin)) => {
                let url = text.trim().trim_end_matches('/');
                let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
                if rest.is_none_or(|r| r.is_empty() || r.contains(char::is_whitespace)) {
                    return Err(origin.error(format!(
                        "`{text}` is not a URL people's browsers can open; expected http:// or https:// and a host, \
                         e.g. https://trellis.example.org"
                    )));
                }
                if rest.is_some_and(|r| r.contains(['/', '?', '#'])) {
                    return Err(origin.error(format!(
                        "`{text}` has a path; the desk answers at the root of its address, so give scheme and \
                         host only, e.g. https://desk.example.org"
                    )));
                }
                Some(url.to_string())
            }
        };
        Ok(WebSettings { addr, public_url })
    }

    /// Whether the cookie must be Secure: the public URL is https.
    pub fn is_https(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }
}

/// Where a raw setting came from, for its error.
#[derive(Clone, Copy)]
enum Origin<'a> {
    Environment(&'static str),
    File(&'a Path, &'static str),
}

impl Origin<'_> {
    fn error(self, reason: String) -> ConfigError {
        match self {
            Origin::Environment(variable) => ConfigError::in_environment(variable, reason),
            Origin::File(path, key) => ConfigError::new(path, key, reason),
        }
    }
}

/// How to reach Discord. Both values come from the environment only: the
/// token never sits in the TOML file, which is meant to be committed.
#[derive(Debug, Clone, Default)]
pub struct DiscordSettings {
    /// `DISCORD_TOKEN`, `None` when unset or blank. Only `trellis run` needs
    /// it (see [`DiscordSettings::require_token`]); `Debug` prints it redacted.
    pub token: Option<SecretString>,
    /// `DISCORD_API_BASE`: replaces `https://discord.com` for every REST call.
    pub api_base: Option<ApiBase>,
    /// Where the token was read from, named when Discord refuses it.
    pub token_source: TokenSource,
    /// `TRELLIS_GLOBAL_RATE_LIMIT`: requests per second this process may
    /// send in proxy mode (its share of Discord's global limit when several
    /// processes send through one proxy); `None` is Discord's whole limit.
    /// Only with `api_base` (without a proxy serenity's limiter is in charge).
    pub global_rate_limit: Option<GlobalRateLimit>,
    /// The gateway shards this process runs: `trellis run --shards
    /// FIRST-LAST --total-shards N`, [`Slot::ALL`] without them. Not read
    /// from the environment or the file: each process of a sharded bot has
    /// its own.
    pub shards: Slot,
}

/// Discord's global limit: requests per second for one bot, across all of
/// its processes (discord-platform.md).
pub const DISCORD_GLOBAL_LIMIT: u32 = 50;

/// A process's share of Discord's global limit, in requests per second:
/// 1 to [`DISCORD_GLOBAL_LIMIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobalRateLimit(u32);

impl GlobalRateLimit {
    /// `text` as a whole number of requests per second within Discord's
    /// limit; the error names `TRELLIS_GLOBAL_RATE_LIMIT`.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let text = text.trim();
        match text.parse::<u32>() {
            Ok(n) if (1..=DISCORD_GLOBAL_LIMIT).contains(&n) => Ok(GlobalRateLimit(n)),
            _ => Err(ConfigError::in_environment(
                "TRELLIS_GLOBAL_RATE_LIMIT",
                format!(
                    "must be a whole number of requests per second from 1 to {DISCORD_GLOBAL_LIMIT} \
                     (Discord's global limit; with N processes behind one proxy, {DISCORD_GLOBAL_LIMIT}/N), got `{text}`"
                ),
            )),
        }
    }

    /// Requests per second.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// Where `DISCORD_TOKEN` came from: what an operator must edit when Discord
/// refuses the token. `main` loads `.env` with [`load_dotenv`], which
/// remembers whether the token came from the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TokenSource {
    /// The process environment (exported, or set by systemd, Docker, …).
    #[default]
    Environment,
    /// The `.env` file at this path (the environment did not set it).
    DotEnv(PathBuf),
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Environment => f.write_str("the environment variable DISCORD_TOKEN"),
            TokenSource::DotEnv(path) => write!(f, "DISCORD_TOKEN in {}", path.display()),
        }
    }
}

/// The `.env` file that supplied `DISCORD_TOKEN`, when one did.
static DOTENV_TOKEN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Loads a `.env` file (the nearest one, from the working directory up) into
/// the environment; variables already set win. Remembers whether it supplied
/// `DISCORD_TOKEN`, for [`Sources::from_env`]. Call once, first thing in
/// `main`, before anything reads the environment. Returns the file loaded.
///
/// A file that cannot be read is said on stderr (the log is not set up yet),
/// never echoing the faulty line, which may hold the token.
pub fn load_dotenv() -> Option<PathBuf> {
    let token_was_set = std::env::var_os("DISCORD_TOKEN").is_some();
    let path = match dotenvy::dotenv() {
        Ok(path) => path,
        Err(dotenvy::Error::LineParse(..)) => {
            eprintln!(
                "warning: .env has a line that is not KEY=value (a value with spaces needs quotes: KEY=\"a b\"); \
                 that line and those after it are ignored"
            );
            return None;
        }
        Err(e) if e.not_found() => return None,
        Err(e) => {
            eprintln!("warning: .env is ignored: {e}");
            return None;
        }
    };
    if !token_was_set && std::env::var_os("DISCORD_TOKEN").is_some() {
        let _ = DOTENV_TOKEN.set(path.clone());
    }
    Some(path)
}

impl DiscordSettings {
    /// The token, or the error `trellis run` stops with when there is none.
    pub fn require_token(&self) -> Result<&SecretString, MissingToken> {
        self.token.as_ref().ok_or(MissingToken)
    }
}

/// `trellis run` without `DISCORD_TOKEN`. Not a [`ConfigError`]: the other
/// commands work without a token, and `run` exits 1, not 2, for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "DISCORD_TOKEN is not set. Put DISCORD_TOKEN=... in a .env file (copy .env.example) or export it in the environment."
)]
pub struct MissingToken;

/// Where Discord's REST API is reached instead of `https://discord.com`: an
/// HTTP rate-limit proxy in production, a fake Discord in tests. An `http://`
/// or `https://` URL, kept without a trailing `/` (serenity puts
/// `/api/v10/…` after it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiBase(String);

impl ApiBase {
    /// `text` trimmed, without trailing slashes; the error names
    /// `DISCORD_API_BASE`, where the value comes from.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let base = text.trim();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ConfigError::in_environment(
                "DISCORD_API_BASE",
                format!("must be an http:// or https:// URL (got `{base}`)"),
            ));
        }
        Ok(ApiBase(base.trim_end_matches('/').to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The raw values [`Settings::load`] starts from. `from_env` reads them from
/// the process environment; tests fill them in directly. An unset variable is
/// `None`, and so is an empty one (and a blank one, except `DATABASE_URL`).
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// `--config` or `TRELLIS_CONFIG`: must exist.
    pub explicit_config: Option<PathBuf>,
    /// `DATABASE_URL`.
    pub database_url: Option<String>,
    /// `DISCORD_TOKEN`, wrapped as soon as it is read.
    pub discord_token: Option<SecretString>,
    /// Where `DISCORD_TOKEN` was read from.
    pub discord_token_source: TokenSource,
    /// `DISCORD_API_BASE`, not checked yet.
    pub discord_api_base: Option<String>,
    /// `TRELLIS_GLOBAL_RATE_LIMIT`, not checked yet.
    pub global_rate_limit: Option<String>,
    /// `TRELLIS_WEB_ADDR`, not checked yet.
    pub web_addr: Option<String>,
    /// `TRELLIS_PUBLIC_URL`, not checked yet.
    pub public_url: Option<String>,
}

impl Sources {
    /// Reads Trellis's variables; `config_flag` (`--config`) wins over
    /// `TRELLIS_CONFIG`. A value that is not valid UTF-8 counts as unset
    /// (except `TRELLIS_CONFIG`, a path).
    pub fn from_env(config_flag: Option<PathBuf>) -> Self {
        fn non_blank(name: &str) -> Option<String> {
            std::env::var(name).ok().filter(|v| !v.trim().is_empty())
        }
        // Read here, not by clap: clap rejects an empty variable ("a value is
        // required for --config"), where empty means unset.
        let explicit_config = config_flag.or_else(|| {
            std::env::var_os("TRELLIS_CONFIG").filter(|v| !v.to_string_lossy().trim().is_empty()).map(PathBuf::from)
        });
        Sources {
            explicit_config,
            database_url: std::env::var("DATABASE_URL").ok().filter(|s| !s.is_empty()),
            discord_token: non_blank("DISCORD_TOKEN").map(SecretString::new),
            discord_token_source: DOTENV_TOKEN.get().cloned().map_or(TokenSource::Environment, TokenSource::DotEnv),
            discord_api_base: non_blank("DISCORD_API_BASE"),
            global_rate_limit: non_blank("TRELLIS_GLOBAL_RATE_LIMIT"),
            web_addr: non_blank("TRELLIS_WEB_ADDR"),
            public_url: non_blank("TRELLIS_PUBLIC_URL"),
        }
    }
}

impl Settings {
    /// Reads and checks the config file (the explicit one, else
    /// `config/trellis.toml` if it exists), the prompt library and the
    /// environment values in `sources`. The first problem found is the error,
    /// naming the file (or [`ENVIRONMENT`]), the key and what is wrong. A
    /// missing token is not an error here (see [`DiscordSettings::require_token`]).
    pub fn load(sources: Sources) -> Result<Self, ConfigError> {
        let (config_file, file) = match sources.explicit_config {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| ConfigError::new(&path, "", format!("cannot read the config file: {e}")))?;
                let parsed = parse_toml::<FileConfig>(&path, &text)?;
                (Some(path), parsed)
            }
            None => {
                let path = PathBuf::from(DEFAULT_CONFIG_PATH);
                match std::fs::read_to_string(&path) {
                    Ok(text) => {
                        let parsed = parse_toml::<FileConfig>(&path, &text)?;
                        (Some(path), parsed)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, FileConfig::default()),
                    Err(e) => return Err(ConfigError::new(&path, "", format!("cannot read the config file: {e}"))),
                }
            }
        };
        let file_path = config_file.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_PATH));
        let cohorts = validate_cohorts(&file_path, file.cohort)?;

        let prompts = match &file.prompts {
            Some(p) => load_prompts(&resolve(&config_file, p))?,
            None if Path::new(DEFAULT_PROMPTS_PATH).exists() => load_prompts(Path::new(DEFAULT_PROMPTS_PATH))?,
            None => PromptLibrary::builtin(),
        };

        let from_environment = sources.database_url.is_some();
        let database_url = sources
            .database_url
            .or(file.database.and_then(|d| d.url))
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        // The scheme here, so that `check-config` catches a typo; the store
        // checks the rest when it opens the database.
        if crate::store::Backend::of_url(&database_url).is_none() {
            let reason = format!(
                "`{}` is neither a SQLite nor a PostgreSQL URL; expected sqlite://PATH (e.g. sqlite://data/trellis.db) \
                 or postgres://USER@HOST/DATABASE",
                crate::store::redacted_url(&database_url)
            );
            return Err(if from_environment {
                ConfigError::in_environment("DATABASE_URL", reason)
            } else {
                ConfigError::new(&file_path, "database.url", reason)
            });
        }

        let api_base = sources.discord_api_base.as_deref().map(ApiBase::parse).transpose()?;
        let global_rate_limit = sources.global_rate_limit.as_deref().map(GlobalRateLimit::parse).transpose()?;
        if global_rate_limit.is_some() && api_base.is_none() {
            // Without a proxy serenity's own limiter paces every call and the
            // share would silently do nothing.
            return Err(ConfigError::in_environment(
                "TRELLIS_GLOBAL_RATE_LIMIT",
                "applies only behind an HTTP rate-limit proxy (set DISCORD_API_BASE too, or unset it)",
            ));
        }
        let discord = DiscordSettings {
            token: sources.discord_token,
            api_base,
            token_source: sources.discord_token_source,
            global_rate_limit,
            shards: Slot::ALL,
        };

        let web = load_web(&sources.web_addr, &sources.public_url, file.web.unwrap_or_default(), &file_path)?;

        Ok(Settings { config_file, database_url, cohorts, prompts, discord, web })
    }
}

/// The desk's settings: each environment variable wins over its key in
/// the file's `[web]` section.
fn load_web(
    web_addr: &Option<String>,
    public_url: &Option<String>,
    file: WebSection,
    file_path: &Path,
) -> Result<WebSettings, ConfigError> {
    let addr = web_addr
        .as_deref()
        .map(|t| (t, Origin::Environment("TRELLIS_WEB_ADDR")))
        .or(file.addr.as_deref().map(|t| (t, Origin::File(file_path, "web.addr"))));
    let public_url = public_url
        .as_deref()
        .map(|t| (t, Origin::Environment("TRELLIS_PUBLIC_URL")))
        .or(file.public_url.as_deref().map(|t| (t, Origin::File(file_path, "web.public_url"))));
    WebSettings::parse(addr, public_url)
}

/// Read and validate a prompt library file (`config/prompts.toml`).
///
/// # Errors
/// [`ConfigError`] naming the file, the key (`prompt[3].track`) and the reason:
/// an unreadable file, TOML that does not parse, or a library
/// [`PromptLibrary::from_raw`] refuses.
pub fn load_prompts(path: &Path) -> Result<PromptLibrary, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(path, "", format!("cannot read the prompt library: {e}")))?;
    parse_prompts(path, &text)
}

/// Validate a prompt library's text; `path` only names it in errors.
///
/// # Errors
/// As [`load_prompts`], without the file read.
pub fn parse_prompts(path: &Path, text: &str) -> Result<PromptLibrary, ConfigError> {
    let raw: RawLibrary = parse_toml(path, text)?;
    PromptLibrary::from_raw(raw).map_err(|e| ConfigError::new(path, e.key, e.reason))
}

/// A relative `prompts` path is relative to the config file's folder.
fn resolve(config_file: &Option<PathBuf>, p: &Path) -> PathBuf {
    match config_file.as_ref().and_then(|f| f.parent()) {
        Some(dir) if p.is_relative() => dir.join(p),
        _ => p.to_path_buf(),
    }
}

fn validate_cohorts(file: &Path, sections: Vec<CohortSection>) -> Result<Vec<CohortSpec>, ConfigError> {
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut channels: HashMap<ChannelId, usize> = HashMap::new();
    let mut specs = Vec::with_capacity(sections.len());
    for (i, c) in sections.into_iter().enumerate() {
        let draft = CohortDraft {
            name: c.name,
            guild_id: c.guild_id,
            channel_id: c.channel_id,
            mentor_role_id: c.mentor_role_id,
            schedule: c.schedule,
            timezone: c.timezone,
            reminder_after: c.reminder_after,
            digest_channel_id: c.digest_channel_id,
            tracks: c.tracks,
        };
        let spec =
            draft.validate().map_err(|e| ConfigError::new(file, format!("cohort[{i}].{}", e.field), e.reason))?;
        if let Some(first) = names.insert(spec.name.clone(), i) {
            return Err(ConfigError::new(
                file,
                format!("cohort[{i}].name"),
                format!("`{}` is already the name of cohort[{first}]; cohort names must be unique", spec.name),
            ));
        }
        if let Some(first) = channels.insert(spec.channel_id, i) {
            return Err(ConfigError::new(
                file,
                format!("cohort[{i}].channel_id"),
                format!(
                    "channel {} is already used by cohort[{first}]; each cohort needs its own channel",
                    spec.channel_id
                ),
            ));
        }
        specs.push(spec);
    }
    // The digest names who has gone quiet: it must not land in a members' channel.
    for (i, spec) in specs.iter().enumerate() {
        if let Some(digest) = spec.digest_channel_id
            && let Some(&other) = channels.get(&digest)
            && other != i
        {
            return Err(ConfigError::new(
                file,
                format!("cohort[{i}].digest_channel_id"),
                format!(
                    "channel {digest} is the channel of cohort[{other}], where its members would see the digest; \
                     give a mentors-only channel"
                ),
            ));
        }
    }
    Ok(specs)
}
