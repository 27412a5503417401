//! `Settings::load` against TOML files: the shipped example, every validation
//! error (file + key + reason), where the database URL comes from, and the
//! Discord settings from the environment.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::TempDir;
use trellis::config::{ConfigError, DEFAULT_DATABASE_URL, ENVIRONMENT, SecretString, Settings, Sources};
use trellis::domain::{ChannelId, Track};

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A valid cohort table; `i` makes names and ids distinct.
fn cohort(i: u64) -> String {
    format!(
        r#"
[[cohort]]
name = "cohort-{i}"
guild_id = 111111111111111111
channel_id = {channel}
mentor_role_id = 333333333333333333
schedule = "0 0 9 * * Mon"
timezone = "Europe/Berlin"
reminder_after = "48h"
digest_channel_id = 444444444444444444
tracks = ["scope", "communication"]
"#,
        channel = 222_222_222_222_222_220 + i
    )
}

/// Two valid cohorts where `edit` rewrites the text of the second one.
fn two_cohorts_with(edit: impl Fn(String) -> String) -> String {
    format!("{}{}", cohort(0), edit(cohort(1)))
}

struct Written {
    _dir: TempDir,
    path: PathBuf,
}

fn write(name: &str, text: &str) -> Written {
    trellis::telemetry::init_for_tests();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    Written { _dir: dir, path }
}

fn load(path: &Path) -> Result<Settings, ConfigError> {
    Settings::load(Sources { explicit_config: Some(path.to_path_buf()), ..Sources::default() })
}

/// Load `text` from a file called `file`; it must fail naming the file, `key`
/// and every fragment of `reason`.
fn expect_error(file: &str, text: &str, key: &str, reason: &[&str]) -> ConfigError {
    let w = write(file, text);
    let err = load(&w.path).expect_err("config should be rejected");
    let msg = err.to_string();
    assert!(msg.contains(file), "message does not name the file {file}: {msg}");
    assert!(msg.contains(key), "message does not name the key {key}: {msg}");
    for r in reason {
        assert!(msg.contains(r), "message does not say {r:?}: {msg}");
    }
    assert_eq!(err.file, w.path, "{msg}");
    assert!(err.key.contains(key), "key field {:?} should contain {key}", err.key);
    assert!(!msg.contains('\n'), "one line: {msg:?}");
    err
}

#[test]
fn shipped_example_validates() {
    let path = repo_file("config/trellis.example.toml");
    let settings = load(&path).expect("the shipped example is valid");
    assert_eq!(settings.config_file.as_deref(), Some(path.as_path()));
    assert_eq!(settings.cohorts.len(), 2, "the example shows two cohorts");
    assert_eq!(settings.database_url, "sqlite://data/trellis.db");
    let first = &settings.cohorts[0];
    assert_eq!(first.name, "staff-path-2027");
    assert_eq!(first.reminder_after, Some(Duration::from_secs(48 * 3600)));
    assert_eq!(first.digest_channel_id, Some(ChannelId::new(444_444_444_444_444_444)));
    assert_eq!(first.tracks, Track::ALL.to_vec());
    assert_ne!(settings.cohorts[0].channel_id, settings.cohorts[1].channel_id);
    assert_ne!(settings.cohorts[0].schedule.timezone(), settings.cohorts[1].schedule.timezone());

    // Every key of product.md's config section is shown, and the comments
    // tell where the token and the database URL come from.
    let text = std::fs::read_to_string(&path).unwrap();
    for key in [
        "[database]",
        "url =",
        "[[cohort]]",
        "name =",
        "guild_id =",
        "channel_id =",
        "mentor_role_id =",
        "schedule =",
        "timezone =",
        "reminder_after =",
        "digest_channel_id =",
        "tracks =",
    ] {
        assert!(text.contains(key), "example lacks {key}");
    }
    assert!(text.contains("DATABASE_URL"), "example should say DATABASE_URL overrides");
    assert!(text.contains("DISCORD_TOKEN"), "example should say the token never goes in the file");
    assert!(!text.contains("token ="), "no token key in the example");
}

#[test]
fn a_minimal_file_gets_defaults() {
    let w = write(
        "minimal.toml",
        r#"
[[cohort]]
name = "solo"
guild_id = 1
channel_id = 2
mentor_role_id = 3
schedule = "0 0 9 * * Mon"
timezone = "UTC"
"#,
    );
    let s = load(&w.path).unwrap();
    assert_eq!(s.database_url, DEFAULT_DATABASE_URL);
    assert_eq!(s.cohorts[0].reminder_after, None);
    assert_eq!(s.cohorts[0].digest_channel_id, None);
    assert_eq!(s.cohorts[0].tracks, Track::ALL.to_vec());

    // An empty file is a valid config with no cohorts.
    let w = write("empty.toml", "");
    let s = load(&w.path).unwrap();
    assert!(s.cohorts.is_empty());
}

#[test]
fn two_valid_cohorts_load() {
    let w = write("two.toml", &two_cohorts_with(|c| c));
    let s = load(&w.path).unwrap();
    assert_eq!(s.cohorts.len(), 2);
    assert_eq!(s.cohorts[1].tracks, vec![Track::Scope, Track::Communication]);
}

#[test]
fn bad_cron_names_the_schedule() {
    expect_error(
        "bad-cron.toml",
        &two_cohorts_with(|c| c.replace("0 0 9 * * Mon", "every monday at nine")),
        "cohort[1].schedule",
        &["every monday at nine", "not a valid cron expression"],
    );
    // Five fields (classic crontab) is not the cron crate's syntax.
    expect_error(
        "five-fields.toml",
        &two_cohorts_with(|c| c.replace("0 0 9 * * Mon", "0 9 * * 1")),
        "cohort[1].schedule",
        &["0 9 * * 1", "6 or 7 fields"],
    );
    // A schedule that never fires again.
    expect_error(
        "past.toml",
        &two_cohorts_with(|c| c.replace("0 0 9 * * Mon", "0 0 9 1 1 * 2001")),
        "cohort[1].schedule",
        &["never fires"],
    );
}

#[test]
fn bad_timezone_names_the_timezone() {
    expect_error(
        "bad-tz.toml",
        &two_cohorts_with(|c| c.replace("Europe/Berlin", "Europe/Springfield")),
        "cohort[1].timezone",
        &["Europe/Springfield", "IANA"],
    );
    // Abbreviations are not zone names.
    expect_error(
        "cest.toml",
        &two_cohorts_with(|c| c.replace("Europe/Berlin", "CEST")),
        "cohort[1].timezone",
        &["CEST", "IANA"],
    );
}

#[test]
fn zero_ids_are_rejected_for_every_id_field() {
    for field in ["guild_id", "channel_id", "mentor_role_id", "digest_channel_id"] {
        let text = two_cohorts_with(|c| {
            c.lines()
                .map(|l| if l.starts_with(&format!("{field} =")) { format!("{field} = 0") } else { l.to_string() })
                .collect::<Vec<_>>()
                .join("\n")
        });
        let e = expect_error("zero.toml", &text, &format!("cohort[1].{field}"), &["`0` is not a Discord id"]);
        assert_eq!(e.key, format!("cohort[1].{field}"));
    }
}

#[test]
fn negative_and_fractional_ids_are_type_errors() {
    expect_error(
        "negative.toml",
        &two_cohorts_with(|c| c.replace("guild_id = 111111111111111111", "guild_id = -5")),
        "guild_id",
        &["-5"],
    );
}

#[test]
fn digest_channel_must_not_be_a_members_channel() {
    expect_error(
        "digest-own.toml",
        &two_cohorts_with(|c| c.replace("444444444444444444", "222222222222222221")),
        "cohort[1].digest_channel_id",
        &["own channel", "mentors-only"],
    );
    expect_error(
        "digest-other.toml",
        &two_cohorts_with(|c| c.replace("444444444444444444", "222222222222222220")),
        "cohort[1].digest_channel_id",
        &["channel of cohort[0]", "mentors-only"],
    );
    // Two cohorts may share one mentors' channel.
    let w = write("digest-shared.toml", &two_cohorts_with(|c| c));
    assert!(load(&w.path).is_ok());
}

#[test]
fn duplicate_cohort_name() {
    let e = expect_error(
        "dup-name.toml",
        &two_cohorts_with(|c| c.replace("cohort-1", "cohort-0")),
        "cohort[1].name",
        &["cohort-0", "already the name of cohort[0]", "unique"],
    );
    assert_eq!(e.key, "cohort[1].name");
}

#[test]
fn duplicate_name_after_trimming() {
    expect_error(
        "dup-trim.toml",
        &two_cohorts_with(|c| c.replace("\"cohort-1\"", "\" cohort-0 \"")),
        "cohort[1].name",
        &["already the name"],
    );
}

#[test]
fn empty_name() {
    expect_error(
        "empty-name.toml",
        &two_cohorts_with(|c| c.replace("\"cohort-1\"", "\"   \"")),
        "cohort[1].name",
        &["1..=64 characters"],
    );
}

#[test]
fn channel_shared_by_two_cohorts() {
    let e = expect_error(
        "shared-channel.toml",
        &two_cohorts_with(|c| c.replace("222222222222222221", "222222222222222220")),
        "cohort[1].channel_id",
        &["222222222222222220", "already used by cohort[0]"],
    );
    assert_eq!(e.key, "cohort[1].channel_id");
}

#[test]
fn bad_duration() {
    expect_error(
        "bad-duration.toml",
        &two_cohorts_with(|c| c.replace("\"48h\"", "\"2 days\"")),
        "cohort[1].reminder_after",
        &["2 days", "not a duration", "48h"],
    );
    expect_error(
        "zero-duration.toml",
        &two_cohorts_with(|c| c.replace("\"48h\"", "\"0h\"")),
        "cohort[1].reminder_after",
        &["0h"],
    );
}

#[test]
fn unknown_track() {
    expect_error(
        "bad-track.toml",
        &two_cohorts_with(|c| c.replace("\"communication\"]", "\"leadership\"]")),
        "cohort[1].tracks",
        &["unknown track `leadership`", "scope, communication"],
    );
    expect_error(
        "no-tracks.toml",
        &two_cohorts_with(|c| c.replace("tracks = [\"scope\", \"communication\"]", "tracks = []")),
        "cohort[1].tracks",
        &["empty"],
    );
}

#[test]
fn unknown_key_is_named() {
    let text = two_cohorts_with(|c| c.replace("schedule =", "shedule ="));
    let e = expect_error("typo.toml", &text, "cohort[1]", &["shedule"]);
    assert!(e.reason.contains("unknown field"), "{e}");

    // At the top level and in [database] too.
    let e = expect_error("typo-top.toml", &format!("databse = 1\n{}", cohort(0)), "", &["databse"]);
    assert!(e.reason.contains("unknown field"), "{e}");
    let e = expect_error("typo-db.toml", "[database]\nurl = \"sqlite://x.db\"\npath = \"x\"\n", "database", &["path"]);
    assert!(e.reason.contains("unknown field"), "{e}");
    // The token never belongs in the file.
    expect_error("token.toml", "token = \"abc\"\n", "", &["token"]);
}

#[test]
fn wrong_type_is_named() {
    expect_error(
        "wrong-type.toml",
        &two_cohorts_with(|c| c.replace("channel_id = 222222222222222221", "channel_id = \"general\"")),
        "cohort[1].channel_id",
        &["invalid type", "string"],
    );
    expect_error(
        "wrong-type-2.toml",
        &two_cohorts_with(|c| c.replace("\"48h\"", "48")),
        "cohort[1].reminder_after",
        &["invalid type"],
    );
    expect_error(
        "wrong-type-3.toml",
        &two_cohorts_with(|c| c.replace("tracks = [\"scope\", \"communication\"]", "tracks = \"scope\"")),
        "cohort[1].tracks",
        &["invalid type"],
    );
}

#[test]
fn missing_required_key_is_named() {
    let text = two_cohorts_with(|c| c.lines().filter(|l| !l.starts_with("timezone")).collect::<Vec<_>>().join("\n"));
    expect_error("missing.toml", &text, "cohort[1]", &["timezone"]);
}

#[test]
fn toml_syntax_error_names_the_file_and_where() {
    let w = write("syntax.toml", "[[cohort]]\nname = \"unterminated\n");
    let e = load(&w.path).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("syntax.toml"), "{msg}");
    assert!(msg.contains("line 2"), "the reader needs to know where: {msg}");
}

#[test]
fn explicit_missing_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.toml");
    let e = load(&path).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("nope.toml"), "{msg}");
    assert!(msg.contains("cannot read"), "{msg}");
}

#[test]
fn database_url_from_env_wins_over_the_file() {
    let w = write("db.toml", &format!("[database]\nurl = \"sqlite://from-file.db\"\n{}", cohort(0)));
    let s = load(&w.path).unwrap();
    assert_eq!(s.database_url, "sqlite://from-file.db");

    let s = Settings::load(Sources {
        explicit_config: Some(w.path.clone()),
        database_url: Some("sqlite://from-env.db".into()),
        ..Sources::default()
    })
    .unwrap();
    assert_eq!(s.database_url, "sqlite://from-env.db");
}

#[test]
fn prompts_path_is_relative_to_the_config_file() {
    let w = write("with-prompts.toml", "prompts = \"my-prompts.toml\"\n");
    let dir = w.path.parent().unwrap();
    // A library that lacks tracks is rejected, naming *its* file.
    std::fs::write(dir.join("my-prompts.toml"), "[[prompt]]\nid = \"a\"\ntrack = \"scope\"\nquestion = \"q\"\n")
        .unwrap();
    let e = load(&w.path).unwrap_err();
    assert!(e.to_string().contains("my-prompts.toml"), "{e}");
    assert!(e.to_string().contains("no prompt for track"), "{e}");

    std::fs::copy(repo_file("config/prompts.toml"), dir.join("my-prompts.toml")).unwrap();
    let s = load(&w.path).unwrap();
    assert!(s.prompts.prompts().len() >= 30);

    // A missing prompts file named in the config is an error.
    let w = write("missing-prompts.toml", "prompts = \"absent.toml\"\n");
    let e = load(&w.path).unwrap_err();
    assert!(e.to_string().contains("absent.toml"), "{e}");
}

/// `Settings::load` of an empty config file with these Discord variables.
fn load_discord(token: Option<&str>, api_base: Option<&str>) -> Result<Settings, ConfigError> {
    let w = write("empty.toml", "");
    Settings::load(Sources {
        explicit_config: Some(w.path.clone()),
        discord_token: token.map(|t| SecretString::new(t.into())),
        discord_api_base: api_base.map(Into::into),
        ..Sources::default()
    })
}

#[test]
fn discord_api_base_must_be_an_http_url_and_is_kept_without_a_trailing_slash() {
    for bad in ["ftp://proxy.example", "proxy.example:8080", "discord.com"] {
        let e = load_discord(None, Some(bad)).expect_err(bad);
        assert_eq!(e.file, Path::new(ENVIRONMENT), "{e}");
        assert_eq!(e.key, "DISCORD_API_BASE", "{e}");
        assert!(e.reason.contains("http://") && e.reason.contains(bad), "{e}");
        assert_eq!(e.to_string(), format!("environment: `DISCORD_API_BASE` {}", e.reason));
    }
    let s = load_discord(None, Some("http://127.0.0.1:8080/")).unwrap();
    assert_eq!(s.discord.api_base.unwrap().as_str(), "http://127.0.0.1:8080");
    let s = load_discord(None, Some("https://proxy.example/discord")).unwrap();
    assert_eq!(s.discord.api_base.unwrap().as_str(), "https://proxy.example/discord");
    assert!(load_discord(None, None).unwrap().discord.api_base.is_none());
}

#[test]
fn the_token_is_optional_to_load_and_never_printed() {
    const TOKEN: &str = "Bot config-secret.dG9rZW4tdGFpbA";
    let s = load_discord(None, None).unwrap();
    let missing = s.discord.require_token().unwrap_err().to_string();
    assert!(missing.contains("DISCORD_TOKEN") && missing.contains(".env"), "{missing}");

    let s = load_discord(Some(TOKEN), None).unwrap();
    assert!(s.discord.require_token().is_ok());
    let printed = format!("{s:?} {s:#?} {:?}", s.discord);
    assert!(!printed.contains("config-secret") && !printed.contains("dG9rZW4tdGFpbA"), "{printed}");
}

#[test]
fn the_global_rate_limit_share_is_1_to_50_per_second_and_needs_a_proxy() {
    let load = |share: &str, api_base: Option<&str>| {
        let w = write("empty.toml", "");
        Settings::load(Sources {
            explicit_config: Some(w.path.clone()),
            discord_api_base: api_base.map(Into::into),
            global_rate_limit: Some(share.into()),
            ..Sources::default()
        })
    };
    let proxy = Some("http://127.0.0.1:3000");
    assert_eq!(load("25", proxy).unwrap().discord.global_rate_limit.map(|l| l.get()), Some(25));
    assert_eq!(load(" 50 ", proxy).unwrap().discord.global_rate_limit.map(|l| l.get()), Some(50));
    assert!(load_discord(None, proxy).unwrap().discord.global_rate_limit.is_none(), "unset: Discord's 50");
    for bad in ["0", "51", "12.5", "-1", "fast"] {
        let e = load(bad, proxy).expect_err(bad);
        assert_eq!((e.file.as_path(), e.key.as_str()), (Path::new(ENVIRONMENT), "TRELLIS_GLOBAL_RATE_LIMIT"), "{e}");
        assert!(e.reason.contains("from 1 to 50") && e.reason.contains(&format!("`{bad}`")), "{e}");
    }
    let e = load("25", None).unwrap_err();
    assert_eq!(e.key, "TRELLIS_GLOBAL_RATE_LIMIT");
    assert!(e.reason.contains("DISCORD_API_BASE"), "{e}");
}

/// The desk's settings from `[web]` and the environment (which wins).
fn load_web(file: &str, addr: Option<&str>, public_url: Option<&str>) -> Result<Settings, ConfigError> {
    let w = write("web.toml", file);
    Settings::load(Sources {
        explicit_config: Some(w.path.clone()),
        web_addr: addr.map(Into::into),
        public_url: public_url.map(Into::into),
        ..Sources::default()
    })
}

#[test]
fn the_desk_listens_on_loopback_by_default_and_the_environment_wins_over_the_file() {
    let s = load_web("", None, None).unwrap();
    assert_eq!(s.web.addr, Some("127.0.0.1:8080".parse().unwrap()));
    assert_eq!(s.web.public_url, None);
    let file = "[web]\naddr = \"0.0.0.0:9000\"\npublic_url = \"https://desk.example.org/\"\n";
    let s = load_web(file, None, None).unwrap();
    assert_eq!(s.web.addr, Some("0.0.0.0:9000".parse().unwrap()));
    assert_eq!(s.web.public_url.as_deref(), Some("https://desk.example.org"));
    assert!(s.web.is_https());
    let s = load_web(file, Some("off"), Some("http://10.0.0.5:9000")).unwrap();
    assert_eq!((s.web.addr, s.web.public_url.as_deref()), (None, Some("http://10.0.0.5:9000")));
    assert!(!s.web.is_https());
}

#[test]
fn a_bad_desk_setting_names_the_variable_or_the_key() {
    for bad in ["8080", "localhost:8080", "127.0.0.1", "127.0.0.1:99999"] {
        let e = load_web("", Some(bad), None).expect_err(bad);
        assert_eq!((e.file.as_path(), e.key.as_str()), (Path::new(ENVIRONMENT), "TRELLIS_WEB_ADDR"), "{e}");
        assert!(e.reason.contains(bad) && e.reason.contains("off"), "{e}");
    }
    for bad in ["desk.example.org", "ftp://desk.example.org", "https://", "https://desk.example.org/desk"] {
        let e = load_web("", None, Some(bad)).expect_err(bad);
        assert_eq!(e.key, "TRELLIS_PUBLIC_URL", "{e}");
        assert!(e.reason.contains(bad), "{e}");
    }
    let e = load_web("[web]\naddr = \"nowhere\"\n", None, None).unwrap_err();
    assert_eq!(e.key, "web.addr", "{e}");
    assert!(e.file.ends_with("web.toml"), "{e}");
    let e = load_web("[web]\nport = 8080\n", None, None).unwrap_err();
    assert!(e.to_string().contains("port"), "unknown keys are errors: {e}");
}
