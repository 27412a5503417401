//! The real binary when an admin deletes a cohort's mentor role (issue 16,
//! kind 7): GUILD_ROLE_DELETE is logged once, naming the cohort.

use std::time::Duration;

use trellis_testkit::process::{self, TrellisProcess, wait_identified};
use trellis_testkit::{GUILD, TempDb, seed_open_checkin};

const BIN: &str = env!("CARGO_BIN_EXE_trellis");
const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_mentor_role_is_logged_once_naming_the_cohort() {
    let _suite = crate::suite(module_path!());
    let db = TempDb::new();
    seed_open_checkin(&db).await;
    let fake = process::fake().await;
    let mut bot = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[]);
    wait_identified(&fake, 1, WAIT).await;
    // Another role first: nothing to say about it.
    fake.delete_role(GUILD, GUILD + 999);
    // `seed_cohort` gives the cohort the mentor role GUILD + 20.
    fake.delete_role(GUILD, GUILD + 20);
    let deadline = tokio::time::Instant::now() + WAIT;
    let said = |logs: &str| logs.lines().filter(|l| l.contains("mentor role was deleted")).count();
    while said(&bot.logs()) == 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let logs = bot.logs();
    let lines: Vec<&str> = logs.lines().filter(|l| l.contains("mentor role was deleted")).collect();
    println!("{lines:?}");
    assert_eq!(lines.len(), 1, "{logs}");
    assert!(lines[0].contains("WARN") && lines[0].contains("cohort=staff-path"), "{logs}");
    assert!(lines[0].contains(&format!("role={}", GUILD + 20)), "{logs}");
    bot.sigterm();
    assert!(bot.wait(WAIT).await.expect("stops").success());
}
