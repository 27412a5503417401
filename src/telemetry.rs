use tracing_subscriber::EnvFilter;

/// serenity logs the full text of a gateway frame it cannot decode at WARN,
/// which may hold a member's answer; keep that module to errors by default.
pub const DEFAULT_FILTER: &str = "warn,trellis=info,serenity::gateway::ws=error";

/// Install the global subscriber: `RUST_LOG` filters (default `info` for
/// Trellis, `warn` for dependencies). Logs go to stderr.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
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
/// logs: `tracing::error!(error = %ErrorChain(&e), "…")`.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}
