use tracing_subscriber::EnvFilter;

/// The filter when `RUST_LOG` is unset: Trellis at info, dependencies at warn,
/// serenity's gateway off.
///
/// serenity's gateway logs a stream of warnings and errors while it
/// reconnects (one per attempt, every 5 s, with debug dumps of its state),
/// at a refused token, and the full text of a frame it cannot decode, which
/// may hold a member's answer. Trellis reports all of it in its own words
/// instead: one line per attempt with back-off when Discord cannot be
/// reached (`discord::connect`), one line when the token is refused or the
/// connection ends. `RUST_LOG=serenity::gateway=debug` brings it back.
pub const DEFAULT_FILTER: &str = "warn,trellis=info,serenity::gateway=off";

/// Install the global subscriber: `RUST_LOG` filters (default `info` for
/// Trellis, `warn` for dependencies). Logs go to stderr.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        // A log line that cannot be written (the log shipper's pipe closed, a
        // full disk) is dropped: by default the subscriber reports it with
        // `eprintln!`, which panics on that same broken stderr and would
        // take the bot down with its lease held.
        .log_internal_errors(false)
        .try_init();
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
    use super::ErrorChain;

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
