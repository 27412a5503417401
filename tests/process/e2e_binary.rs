//! The real `trellis` binary against the fake Discord: startup from the
//! environment, logging without the token, graceful shutdown on SIGTERM.

use std::process::Stdio;
use std::time::Duration;

use fake_discord::{Actor, FakeConfig, FakeDiscord, GuildSpec};
use tokio::io::AsyncReadExt;
use trellis_testkit::{APP, BOT, CHANNEL, GUILD};

/// Its own token, whose parts the test looks for in the logs.
const TOKEN: &str = "Bot bin-secret-token.c2VjcmV0LXBhcnQ.dG9rZW4tdGFpbA";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_runs_logs_no_token_and_stops_on_sigterm() {
    let _suite = crate::suite(module_path!());
    let fake = FakeDiscord::start(
        FakeConfig::new(BOT, APP).guild(GuildSpec::new(GUILD, "Staff Path").channel(CHANNEL, "staff-path")),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data").join("trellis.db");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_trellis"))
        .arg("run")
        .current_dir(dir.path())
        .env_clear()
        // Any free port for the desk: test processes run side by side.
        .env("TRELLIS_WEB_ADDR", "127.0.0.1:0")
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DISCORD_TOKEN", TOKEN)
        .env("DISCORD_API_BASE", fake.api_base())
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let logs = tokio::spawn(async move {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf).await;
        String::from_utf8_lossy(&buf).into_owned()
    });

    fake.wait_ready(Duration::from_secs(20)).await;
    fake.wait_until(Duration::from_secs(10), "commands registered", |f| {
        (!f.registered_command_names(GUILD).is_empty()).then_some(())
    })
    .await;
    let h = fake.slash_command(Actor::in_guild(GUILD, CHANNEL, 42).command("cohort").subcommand("join"));
    let r = fake.wait_interaction_response(&h, Duration::from_secs(5)).await;
    assert!(r.is_ephemeral(), "{r:?}");
    // The bot sent the token to Discord, as it must.
    assert!(fake.requests().iter().any(|q| q.header("authorization") == Some(TOKEN)));

    let pid = child.id().unwrap();
    let status = std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status().unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.expect("stops on SIGTERM").unwrap();
    assert!(exit.success(), "{exit:?}");
    let logs = logs.await.unwrap();
    // Trellis's own lines; the libraries' trace lines are capped away
    // (they carry bodies, URLs and frames: see `telemetry::within_caps`).
    assert!(logs.contains("connected to Discord"), "the log was written: {logs}");
    for secret in [TOKEN, "c2VjcmV0LXBhcnQ", "dG9rZW4tdGFpbA"] {
        assert!(!logs.contains(secret), "token leaked into logs");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "database file is private");
    }
}

/// `trellis run` as an operator starts it: no `RUST_LOG` (the default
/// filter), the token from `token_env` (empty: only what `.env` in `dir`
/// holds), Discord at `api_base`. Each stderr line is kept with the time it
/// arrived.
struct Operator {
    child: tokio::process::Child,
    started: std::time::Instant,
    lines: std::sync::Arc<std::sync::Mutex<Vec<(std::time::Instant, String)>>>,
}

impl Operator {
    fn run(dir: &std::path::Path, token_env: Option<&str>, api_base: &str) -> Operator {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_trellis"));
        cmd.arg("run")
            .current_dir(dir)
            .env_clear()
            // Any free port for the desk: test processes run side by side.
            .env("TRELLIS_WEB_ADDR", "127.0.0.1:0")
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DISCORD_API_BASE", api_base)
            .env("DATABASE_URL", format!("sqlite://{}", dir.join("trellis.db").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(token) = token_env {
            cmd.env("DISCORD_TOKEN", token);
        }
        let started = std::time::Instant::now();
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = lines.clone();
        tokio::spawn(async move {
            use tokio::io::AsyncBufReadExt as _;
            let mut reader = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                sink.lock().unwrap().push((std::time::Instant::now(), line));
            }
        });
        Operator { child, started, lines }
    }

    /// Waits until `n` stderr lines satisfy `pick`; returns them.
    async fn wait_lines(&self, n: usize, limit: Duration, pick: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let picked: Vec<String> = self.lines().into_iter().filter(|l| pick(l)).collect();
            if picked.len() >= n {
                return picked;
            }
            assert!(std::time::Instant::now() < deadline, "{n} lines within {limit:?}: {:?}", self.lines());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().iter().map(|(_, l)| l.clone()).filter(|l| !l.trim().is_empty()).collect()
    }

    async fn exit_within(&mut self, limit: Duration) -> std::process::ExitStatus {
        match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(status) => {
                println!("exited {:?} after its start", self.started.elapsed());
                // Let the reader take the last lines.
                tokio::time::sleep(Duration::from_millis(100)).await;
                status.unwrap()
            }
            Err(_) => panic!("still running after {limit:?}: {:?}", self.lines()),
        }
    }
}

fn assert_no_token(lines: &[String]) {
    for secret in [TOKEN, "c2VjcmV0LXBhcnQ", "dG9rZW4tdGFpbA"] {
        assert!(lines.iter().all(|l| !l.contains(secret)), "token leaked: {lines:?}");
    }
}

async fn fake_with_cohort_guild() -> FakeDiscord {
    FakeDiscord::start(
        FakeConfig::new(BOT, APP).guild(GuildSpec::new(GUILD, "Staff Path").channel(CHANNEL, "staff-path")),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_stops_run_with_one_line_saying_where_it_was_read() {
    let _suite = crate::suite(module_path!());
    let fake = fake_with_cohort_guild().await;
    fake.refuse_token();

    // From the environment.
    let dir = tempfile::tempdir().unwrap();
    let mut run = Operator::run(dir.path(), Some(TOKEN), &fake.api_base());
    let status = run.exit_within(Duration::from_secs(10)).await;
    let lines = run.lines();
    println!("exit {status:?}: {lines:?}");
    assert!(!status.success());
    assert_eq!(lines.len(), 1, "one line: {lines:?}");
    assert!(lines[0].starts_with("error: Discord refused the bot token (401 Unauthorized on GET "), "{}", lines[0]);
    assert!(lines[0].contains("read from the environment variable DISCORD_TOKEN"), "{}", lines[0]);
    assert_no_token(&lines);
    // Asked once, never retried (401s count toward Discord's ban), never connected.
    assert_eq!(fake.requests_to("GET", "/gateway/bot").len(), 1);
    assert_eq!(fake.connection_count(), 0);

    // From a .env file, which the line names.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), format!("DISCORD_TOKEN=\"{TOKEN}\"\n")).unwrap();
    let mut run = Operator::run(dir.path(), None, &fake.api_base());
    let status = run.exit_within(Duration::from_secs(10)).await;
    let lines = run.lines();
    println!("exit {status:?}: {lines:?}");
    assert!(!status.success());
    assert_eq!(lines.len(), 1, "one line: {lines:?}");
    let env_file = dir.path().canonicalize().unwrap().join(".env");
    assert!(lines[0].contains(&format!("read from DISCORD_TOKEN in {}", env_file.display())), "{}", lines[0]);
    assert_no_token(&lines);
    assert_eq!(fake.requests_to("GET", "/gateway/bot").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_refused_by_the_gateway_stops_run_with_one_line() {
    let _suite = crate::suite(module_path!());
    let fake = fake_with_cohort_guild().await;
    fake.refuse_token_at_gateway();
    let dir = tempfile::tempdir().unwrap();
    let mut run = Operator::run(dir.path(), Some(TOKEN), &fake.api_base());
    let status = run.exit_within(Duration::from_secs(15)).await;
    let lines = run.lines();
    println!("exit {status:?}: {lines:?}");
    assert!(!status.success());
    assert_eq!(lines.len(), 1, "one line: {lines:?}");
    assert!(
        lines[0].contains("Discord refused the bot token (the gateway closed the connection with 4004"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("the environment variable DISCORD_TOKEN"), "{}", lines[0]);
    assert_no_token(&lines);
    assert_eq!(fake.identify_count(), 1, "IDENTIFY is not retried with a refused token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_discord_gives_one_line_per_attempt_with_back_off_until_sigterm() {
    let _suite = crate::suite(module_path!());
    // A port nothing listens on: connection refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let mut run = Operator::run(dir.path(), Some(TOKEN), &base);
    // Attempts at about 0, 1, 3 and 7 s.
    run.wait_lines(4, Duration::from_secs(20), |_| true).await;
    assert!(run.child.try_wait().unwrap().is_none(), "still running: {:?}", run.lines());
    let timed: Vec<(std::time::Instant, String)> = run.lines.lock().unwrap().clone();
    for (at, line) in &timed {
        println!("{:>6.2}s {line}", at.duration_since(started).as_secs_f64());
    }
    assert_eq!(timed.len(), 4, "one line per attempt, nothing else: {timed:?}");
    let url = format!("{base}/api/v10/gateway/bot");
    for (i, (_, line)) in timed.iter().enumerate() {
        assert!(line.contains("WARN") && line.contains("cannot reach Discord at"), "{line}");
        assert!(line.contains(&url) && line.contains("Connection refused"), "{line}");
        assert!(line.contains(&format!("attempt {}", i + 1)), "{line}");
    }
    let gaps: Vec<f64> = timed.windows(2).map(|w| w[1].0.duration_since(w[0].0).as_secs_f64()).collect();
    println!("gaps between attempts: {gaps:?}");
    for (gap, want) in gaps.iter().zip([1.0, 2.0, 4.0]) {
        assert!((want - 0.2..want + 0.8).contains(gap), "back-off {gaps:?}");
    }

    let pid = run.child.id().unwrap();
    assert!(std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status().unwrap().success());
    let status = run.exit_within(Duration::from_secs(5)).await;
    assert!(status.success(), "a clean exit on SIGTERM: {status:?}");
    assert_no_token(&run.lines());

    // A name that does not resolve: the same, with the resolver's words.
    let dir = tempfile::tempdir().unwrap();
    let mut run = Operator::run(dir.path(), Some(TOKEN), "http://discord.invalid");
    let first = run.wait_lines(1, Duration::from_secs(20), |_| true).await.remove(0);
    println!("{first}");
    assert!(first.contains("cannot reach Discord at http://discord.invalid/api/v10/gateway/bot ("), "{first}");
    assert!(!first.contains("Connection refused"), "{first}");
    let pid = run.child.id().unwrap();
    assert!(std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status().unwrap().success());
    assert!(run.exit_within(Duration::from_secs(5)).await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_lost_while_running_is_reported_in_trellis_lines_with_back_off() {
    let _suite = crate::suite(module_path!());
    let fake = fake_with_cohort_guild().await;
    let base = fake.api_base();
    let dir = tempfile::tempdir().unwrap();
    let mut run = Operator::run(dir.path(), Some(TOKEN), &base);
    fake.wait_ready(Duration::from_secs(20)).await;
    // Discord goes away: the socket closes and nothing listens any more.
    drop(fake);
    let lost_at = std::time::Instant::now();
    run.wait_lines(2, Duration::from_secs(20), |l| l.contains("has been disconnected for")).await;
    println!("two reports {:?} after Discord went away", lost_at.elapsed());
    let lines = run.lines();
    for line in &lines {
        println!("{line}");
    }
    let reports: Vec<&String> = lines.iter().filter(|l| l.contains("has been disconnected for")).collect();
    assert_eq!(reports.len(), 2, "at 5 s and 10 s, the next at 20 s: {lines:?}");
    for report in &reports {
        assert!(
            report.contains(&format!("cannot reach Discord at {base}/api/v10/gateway/bot (Connection refused")),
            "{report}"
        );
    }
    assert!(reports[0].contains("next report in 5s") && reports[1].contains("next report in 10s"), "{reports:?}");
    assert!(lines.iter().all(|l| !l.contains("serenity::gateway")), "no library warnings: {lines:?}");

    let pid = run.child.id().unwrap();
    assert!(std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status().unwrap().success());
    assert!(run.exit_within(Duration::from_secs(15)).await.success());
    assert_no_token(&run.lines());
}
