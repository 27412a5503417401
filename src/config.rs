//! Settings from the optional TOML file and the environment, validated.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::domain::prompt::RawLibrary;
use crate::domain::{ChannelId, CohortDraft, CohortSpec, PromptLibrary};

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

impl ConfigError {
    pub fn new(file: &Path, key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError { file: file.to_path_buf(), key: key.into(), reason: reason.into() }
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
    #[serde(default)]
    cohort: Vec<CohortSection>,
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

/// Everything `trellis` needs apart from the Discord token.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    pub database_url: String,
    pub cohorts: Vec<CohortSpec>,
    pub prompts: PromptLibrary,
}

/// Where the values come from; `from_env` reads the process environment.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// `--config` or `TRELLIS_CONFIG`: must exist.
    pub explicit_config: Option<PathBuf>,
    /// `DATABASE_URL`.
    pub database_url: Option<String>,
}

impl Sources {
    pub fn from_env(explicit_config: Option<PathBuf>) -> Self {
        Sources { explicit_config, database_url: std::env::var("DATABASE_URL").ok().filter(|s| !s.is_empty()) }
    }
}

impl Settings {
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

        let database_url = sources
            .database_url
            .or(file.database.and_then(|d| d.url))
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());

        Ok(Settings { config_file, database_url, cohorts, prompts })
    }
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
