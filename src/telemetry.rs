use std::borrow::Cow;
use std::io::Write;
use std::sync::RwLock;

use tracing::level_filters::LevelFilter;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The filter when `RUST_LOG` is unset: Trellis at info, dependencies at warn,
/// serenity's gateway off.
///
/// serenity's gateway logs a stream of warnings and errors while it
/// reconnects (one per attempt, every 5 s, with debug dumps of its state),
/// at a refused token, and the full text of a frame it cannot decode, which
/// may hold a member's answer. Trellis reports all of it in its own words
/// instead: one line per attempt with back-off when Discord cannot be
/// reached (`discord::connect`), one line when the token is refused or the
/// connection ends. Whatever `RUST_LOG` says, [`within_caps`] keeps it off.
pub const DEFAULT_FILTER: &str = "warn,trellis=info,serenity::gateway=off";

/// The most a dependency may log, whatever `RUST_LOG` asks for: the log
/// never holds member text, notes, interaction tokens or the bot token.
///
/// - `serenity::gateway`, `tungstenite`, `tokio_tungstenite`: off. They log
///   frames whole (an undecodable one at WARN, every one at TRACE), and
///   serde's messages quote the values they choke on.
/// - the rest of `serenity`: ERROR. Its HTTP client logs every request
///   (body and URL, and interaction tokens are in the URLs) at DEBUG and
///   TRACE, its `#[instrument]` spans record their arguments (printed with
///   every event inside them), and a WARN names the route with its token.
/// - every other dependency (poise, sqlx, hyper, h2, reqwest, rustls, …):
///   WARN. Their DEBUG and TRACE carry headers, frames and bodies.
///
/// Trellis's own events carry ids, never text, at every level.
pub fn within_caps(meta: &tracing::Metadata<'_>) -> bool {
    *meta.level() <= cap_of(meta.target())
}

fn cap_of(target: &str) -> LevelFilter {
    let under = |root: &str| target == root || target.strip_prefix(root).is_some_and(|rest| rest.starts_with("::"));
    if under("trellis") {
        LevelFilter::TRACE
    } else if under("serenity::gateway") || under("tungstenite") || under("tokio_tungstenite") {
        LevelFilter::OFF
    } else if under("serenity") {
        LevelFilter::ERROR
    } else {
        LevelFilter::WARN
    }
}

/// Secrets to blank out of every log line (the bot token, once read).
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// From now on, `secret` is written as `***` wherever a log line holds it.
pub fn keep_secret(secret: &str) {
    if secret.len() >= 8 {
        let mut secrets = SECRETS.write().unwrap_or_else(|p| p.into_inner());
        if !secrets.iter().any(|s| s == secret) {
            secrets.push(secret.to_string());
        }
    }
}

/// `line` with every secret of [`keep_secret`] and every interaction or
/// webhook token (`/interactions/{id}/{token}`, `/webhooks/{app}/{token}`,
/// `"token":"…"`) replaced by `***`: the last guard, for error texts that
/// name a URL (reqwest's errors do).
pub fn scrub(line: &str) -> Cow<'_, str> {
    let secrets = SECRETS.read().unwrap_or_else(|p| p.into_inner());
    let mut out = Cow::Borrowed(line);
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), "***"));
        }
    }
    for marker in ["/interactions/", "/webhooks/", "\"token\":\"", "token=", "\"token\": \""] {
        if out.contains(marker) {
            out = Cow::Owned(blank_after(&out, marker));
        }
    }
    out
}

/// Each token after `marker` (after the id for the URL markers) as `***`.
fn blank_after(text: &str, marker: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let (head, tail) = rest.split_at(at + marker.len());
        out.push_str(head);
        // `/interactions/{id}/` and `/webhooks/{app}/` come before the token.
        let tail = if marker.starts_with('/') {
            let digits = tail.len() - tail.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            match tail[digits..].strip_prefix('/') {
                Some(after) if digits > 0 => {
                    out.push_str(&tail[..=digits]);
                    after
                }
                _ => {
                    rest = tail;
                    continue;
                }
            }
        } else {
            tail
        };
        let end = tail
            .find(|c: char| matches!(c, '/' | '?' | '"' | '\'' | '&' | ')') || c.is_whitespace())
            .unwrap_or(tail.len());
        if end > 0 {
            out.push_str("***");
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// stderr, each write (one log line: the fmt layer writes a line at once)
/// scrubbed by [`scrub`].
struct ScrubbedStderr;

impl Write for ScrubbedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let line = String::from_utf8_lossy(buf);
        std::io::stderr().lock().write_all(scrub(&line).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Install the global subscriber: `RUST_LOG` filters (default
/// [`DEFAULT_FILTER`]) within [`within_caps`]; lines go to stderr through
/// [`scrub`]. Also the panic hook ([`log_panics`]).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(|| ScrubbedStderr)
        // A log line that cannot be written (the log shipper's pipe closed, a
        // full disk) is dropped: by default the subscriber reports it with
        // `eprintln!`, which panics on that same broken stderr and would
        // take the bot down with its lease held.
        .log_internal_errors(false);
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::filter::filter_fn(within_caps))
        .with(fmt)
        .try_init();
    log_panics();
}

/// Replace the default panic hook, which prints the panic's message to
/// stderr: a message can quote what a member typed (a cut at a byte index
/// quotes the whole string). The hook logs one ERROR line with where it
/// happened, inside the current span (an interaction's ids), and no message.
pub fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column())).unwrap_or_default();
        // A backtrace holds code locations only; shown as Rust's own hook does.
        let backtrace = std::backtrace::Backtrace::capture();
        if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
            tracing::error!(%location, %backtrace, "panicked (the message is left out: it may quote what a member typed); answered with an apology if someone was waiting");
        } else {
            tracing::error!(%location, "panicked (the message is left out: it may quote what a member typed); answered with an apology if someone was waiting");
        }
    }));
}

/// For tests: silent unless `TEST_LOG` is set.
#[cfg(any(test, feature = "test-util"))]
pub fn init_for_tests() {
    if std::env::var_os("TEST_LOG").is_some() {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("debug"));
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    }
}

/// An error and every cause under it on one line (`outer: cause: root`), for
/// logs, `tracing::error!(error = %ErrorChain(&e), "…")`, and the CLI's
/// `error: …` line. A cause whose text the line already holds is left out:
/// sqlx's errors (and the database's under them) repeat their source in
/// their own message, which printed "refused: refused" otherwise.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut line = self.0.to_string();
        let mut cause = self.0.source();
        while let Some(e) = cause {
            let text = e.to_string();
            if !line.contains(&text) {
                line.push_str(": ");
                line.push_str(&text);
            }
            cause = e.source();
        }
        f.write_str(&line)
    }
}

#[cfg(test)]
mod tests {
    use super::{ErrorChain, cap_of, keep_secret, scrub};
    use tracing::level_filters::LevelFilter;

    #[test]
    fn tokens_in_a_line_are_written_as_stars() {
        keep_secret("Bot s3cr3t-t0ken.abc");
        let line = "error sending request for url (https://discord.com/api/v10/interactions/123/aW50ZXJhY3Rpb24.xyz/callback): \
                    timed out; POST /webhooks/456/dG9rZW4?wait=true; {\"token\":\"abc.def\"}; auth Bot s3cr3t-t0ken.abc; \
                    /interactions/notanid/keep";
        assert_eq!(
            scrub(line),
            "error sending request for url (https://discord.com/api/v10/interactions/123/***/callback): \
             timed out; POST /webhooks/456/***?wait=true; {\"token\":\"***\"}; auth ***; /interactions/notanid/keep"
        );
        let plain = "answer saved: checkin=4 user=300000000000000003";
        assert!(matches!(scrub(plain), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn dependencies_are_capped_and_trellis_is_not() {
        assert_eq!(cap_of("trellis"), LevelFilter::TRACE);
        assert_eq!(cap_of("trellis::discord::interactions"), LevelFilter::TRACE);
        assert_eq!(cap_of("serenity::gateway::ws"), LevelFilter::OFF);
        assert_eq!(cap_of("tokio_tungstenite"), LevelFilter::OFF);
        assert_eq!(cap_of("serenity::http::client"), LevelFilter::ERROR);
        assert_eq!(cap_of("serenity_extra"), LevelFilter::WARN);
        assert_eq!(cap_of("trellisx"), LevelFilter::WARN);
        for other in ["poise", "sqlx::query", "hyper", "h2", "reqwest", "rustls"] {
            assert_eq!(cap_of(other), LevelFilter::WARN, "{other}");
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("{text}")]
    struct Layer {
        text: &'static str,
        #[source]
        source: Option<Box<Layer>>,
    }

    fn layer(text: &'static str, source: Option<Layer>) -> Layer {
        Layer { text, source: source.map(Box::new) }
    }

    #[test]
    fn a_cause_is_said_once_even_when_its_parent_repeats_it() {
        let root = layer("Connection refused (os error 111)", None);
        let io = layer("error communicating with database: Connection refused (os error 111)", Some(root));
        let top = layer("cannot connect to the PostgreSQL database postgres://db/x", Some(io));
        assert_eq!(
            ErrorChain(&top).to_string(),
            "cannot connect to the PostgreSQL database postgres://db/x: \
             error communicating with database: Connection refused (os error 111)"
        );
        let distinct = layer("opening the database", Some(layer("locked", Some(layer("busy", None)))));
        assert_eq!(ErrorChain(&distinct).to_string(), "opening the database: locked: busy");
    }
}
