//! Footprint and start-up of the real (release) binary: 10 cohorts with a
//! year of history, one per guild, `trellis run` against the fake Discord on
//! loopback. Two kinds of guild: a cohort's own small server (one channel, two
//! roles), and a community server (400 more channels, 200 more roles) whose
//! GUILD_CREATE is 100 times larger.
//!
//! `cargo bench --bench footprint` prints, over several runs:
//! - start → READY handled: from spawning the process until the fake receives
//!   the first guild command registration (`PUT …/guilds/{g}/commands`), which
//!   the bot sends on the GUILD_CREATE that follows READY; and until the last
//!   of the 10 guilds is registered;
//! - idle memory 3 s after that: VmRSS (split into anonymous and file-backed
//!   pages) and the peak VmHWM, from `/proc/<pid>/status`, plus the thread
//!   count; the last run of each scenario also 20 s after READY, once the
//!   bot has returned its free memory to the OS (`trellis::memory`).
//!
//! Targets (issue 6): idle RSS ≤ 15 MB, start → READY ≤ 80 ms.

use std::time::{Duration, Instant};

use chrono::{Duration as Span, Utc};
use trellis::domain::schedule::Schedule;
use trellis::domain::{ImpactInput, PostedPrompt, Track, UserId};
use trellis::store::Store;
use trellis::store::bulk::{BulkCheckIn, BulkReply};
use trellis_testkit::process::{self, TrellisProcess, registrations};
use trellis_testkit::{APP, CHANNEL, GUILD, TempDb, USER0, seed_cohort};

const BIN: &str = env!("CARGO_BIN_EXE_trellis");
const COHORTS: u64 = 10;
const MEMBERS: u64 = 25;
const WEEKLY: &str = "0 0 9 * * Mon";
/// (label, extra channels, extra roles) per guild; ids stay below the next
/// guild's 1,000 block.
const SCENARIOS: [(&str, u64, u64); 2] =
    [("small guilds", 0, 0), ("community guilds (400 channels, 200 roles)", 400, 200)];
const RUNS: usize = 7;
const IDLE: Duration = Duration::from_secs(3);
/// The last run of each scenario is also measured this long after READY:
/// past the first return of free memory to the OS (`trellis::memory`).
const LATE_IDLE: Duration = Duration::from_secs(20);

/// xorshift64*: the same data on every run.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// 10 cohorts (one per guild) × 25 members × 52 weekly check-ins, ~80% answered
/// with 200–1,200 characters, 8 impact entries per member. The newest
/// check-in is still open, so the bot has nothing to catch up on at start.
async fn seed(store: &Store) -> (usize, usize) {
    let mut rng = Gen(0x7e11_15ee_d5ee_d001);
    let now = Utc::now();
    let schedule = Schedule::parse(WEEKLY, "UTC").unwrap();
    let occurrences = schedule.between(now - Span::days(365), now);
    let (mut replies, mut checkins) = (0, 0);
    for c in 0..COHORTS {
        let (guild, channel) = (GUILD + c * 1000, CHANNEL + c * 1000);
        let cohort = seed_cohort(store, &format!("cohort-{c}"), guild, channel, WEEKLY).await;
        let users: Vec<(UserId, chrono::DateTime<Utc>)> =
            (0..MEMBERS).map(|m| (UserId::new(USER0 + c * 1000 + m), occurrences[0] - Span::days(1))).collect();
        store.bulk_members(cohort, &users).await.unwrap();
        let rows: Vec<BulkCheckIn> = occurrences
            .iter()
            .enumerate()
            .map(|(i, &at)| BulkCheckIn {
                occurrence_at: at,
                closes_at: schedule.next_after(at).unwrap(),
                prompt: PostedPrompt {
                    id: format!("p{}", i % 18),
                    track: Track::ALL[i % Track::ALL.len()],
                    question: "Which decision did you make this week that someone more senior would have made before?"
                        .into(),
                },
            })
            .collect();
        let ids = store.bulk_checkins(cohort, &rows).await.unwrap();
        checkins += ids.len();
        let mut answers = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            for (user, _) in &users {
                if rng.next().is_multiple_of(5) {
                    continue;
                }
                let len = 200 + (rng.next() % 1000) as usize;
                let answer: String = "Led the design review for the billing migration and wrote down the trade-offs. "
                    .chars()
                    .cycle()
                    .take(len)
                    .collect();
                answers.push(BulkReply {
                    checkin_id: *id,
                    user_id: *user,
                    answer,
                    confidence: Some((rng.next() % 5) as u8 + 1),
                    at: occurrences[i] + Span::hours(20),
                });
            }
        }
        replies += answers.len();
        store.bulk_replies(&answers).await.unwrap();
        for (user, _) in &users {
            let entries: Vec<_> = (0..8)
                .map(|k| {
                    let input = ImpactInput::parse(
                        "Cut p99 checkout latency from 900 ms to 300 ms",
                        "Grafana dashboard, two weeks before/after",
                        "Payments team and on-call",
                        "",
                    )
                    .unwrap();
                    (*user, input, occurrences[k * 6] + Span::hours(3))
                })
                .collect();
            store.bulk_impact(cohort, &entries).await.unwrap();
        }
    }
    (checkins, replies)
}

/// `Key:   123 kB` from /proc/<pid>/status, in kB.
fn status_kb(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/<pid>/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
}

/// Resident kB per mapping kind from /proc/<pid>/smaps: the binary's own
/// pages, shared libraries, heap and other anonymous memory, stacks.
fn rss_breakdown(pid: u32) -> Vec<(String, u64)> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).expect("/proc/<pid>/smaps");
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).map(|p| p.display().to_string()).unwrap_or_default();
    let mut totals: std::collections::BTreeMap<String, u64> = Default::default();
    let mut current = String::new();
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or_default();
        if first.contains('-') && first.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            let path = fields.nth(4).unwrap_or_default();
            current = match path {
                "" => "anonymous (heaps of threads, allocator arenas)".into(),
                p if p == exe => "trellis binary (code, read-only data)".into(),
                p if p.ends_with(" (deleted)") && exe.starts_with(p.trim_end_matches(" (deleted)")) => {
                    "trellis binary (code, read-only data)".into()
                }
                "[heap]" => "[heap] (main allocator arena)".into(),
                p if p.starts_with("[stack") => "[stack]".into(),
                p if p.starts_with('[') => "kernel ([vdso], [vvar])".into(),
                _ => "shared libraries (libc, libm, ld.so)".into(),
            };
        } else if first == "Rss:" {
            *totals.entry(current.clone()).or_default() += fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        }
    }
    let mut out: Vec<_> = totals.into_iter().filter(|(_, kb)| *kb > 0).collect();
    out.sort_by_key(|e| std::cmp::Reverse(e.1));
    out
}

struct Run {
    /// Spawn → first HTTP request: config, database open + migrate, client built.
    init: Duration,
    ready: Duration,
    all_registered: Duration,
    rss_kb: u64,
    anon_kb: u64,
    file_kb: u64,
    hwm_kb: u64,
    threads: u64,
    breakdown: Vec<(String, u64)>,
    /// (ms since spawn, request line) of the start-up traffic.
    timeline: Vec<(f64, String)>,
    /// (RSS, anonymous) kB at [`LATE_IDLE`], when asked for.
    late_kb: Option<(u64, u64)>,
}

async fn one_run(db: &TempDb, channels: u64, roles: u64, late: bool) -> Run {
    let fake = process::fake_with_busy_guilds(COHORTS, channels, roles).await;
    // The desk listens on a free port, as in production; TRELLIS_BENCH_DESK=off
    // measures the same binary without it.
    let desk = if std::env::var("TRELLIS_BENCH_DESK").is_ok_and(|v| v == "off") { "off" } else { "127.0.0.1:0" };
    let mut bot = TrellisProcess::spawn(BIN, db.dir.path(), &db.url, &fake.api_base(), &[("TRELLIS_WEB_ADDR", desk)]);
    fake.wait_until(Duration::from_secs(30), "all guilds registered", |f| {
        (registrations(f) >= COHORTS as usize).then_some(())
    })
    .await;
    let puts: Vec<Instant> =
        fake.requests_to("PUT", &format!("/applications/{APP}/guilds/")).iter().map(|r| r.at).collect();
    let init = fake.requests().first().expect("a request").at.duration_since(bot.spawned_at);
    let ready = puts.iter().min().unwrap().duration_since(bot.spawned_at);
    let all_registered = puts.iter().max().unwrap().duration_since(bot.spawned_at);
    tokio::time::sleep(IDLE).await;
    let pid = bot.pid;
    let mut run = Run {
        init,
        ready,
        all_registered,
        rss_kb: status_kb(pid, "VmRSS"),
        anon_kb: status_kb(pid, "RssAnon"),
        file_kb: status_kb(pid, "RssFile"),
        hwm_kb: status_kb(pid, "VmHWM"),
        threads: status_kb(pid, "Threads"),
        breakdown: rss_breakdown(pid),
        timeline: fake
            .requests()
            .iter()
            .take(6)
            .map(|r| (r.at.duration_since(bot.spawned_at).as_secs_f64() * 1e3, r.line()))
            .collect(),
        late_kb: None,
    };
    if late {
        tokio::time::sleep(LATE_IDLE - IDLE).await;
        run.late_kb = Some((status_kb(pid, "VmRSS"), status_kb(pid, "RssAnon")));
    }
    bot.sigterm();
    let exit = bot.wait(Duration::from_secs(10)).await.expect("stops on SIGTERM");
    assert!(exit.success(), "{exit:?}\n{}", bot.logs());
    fake.assert_no_unknown_routes();
    run
}

fn median<T: Copy + Ord>(mut v: Vec<T>) -> T {
    v.sort();
    v[v.len() / 2]
}

fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let db = TempDb::new();
        let store = db.store().await;
        let t = Instant::now();
        let (checkins, replies) = seed(&store).await;
        store.close().await;
        let size = std::fs::metadata(&db.path).map(|m| m.len()).unwrap_or(0);
        println!(
            "seeded {COHORTS} cohorts × {MEMBERS} members: {checkins} check-ins, {replies} answers, \
             {} impact entries; database {:.1} MB (in {:.1?})",
            COHORTS * MEMBERS * 8,
            size as f64 / 1e6,
            t.elapsed()
        );
        println!("binary: {BIN}");
        for (label, channels, roles) in SCENARIOS {
            println!("\n== {label}");
            let mut runs = Vec::new();
            for i in 0..RUNS {
                let r = one_run(&db, channels, roles, i == RUNS - 1).await;
                println!(
                    "run {i}: first request {:>5.1} ms, start→READY handled {:>5.1} ms, all {COHORTS} guilds registered \
                     {:>5.1} ms; idle RSS {} (anon {}, file {}), peak {}, {} threads",
                    r.init.as_secs_f64() * 1e3,
                    r.ready.as_secs_f64() * 1e3,
                    r.all_registered.as_secs_f64() * 1e3,
                    mb(r.rss_kb),
                    mb(r.anon_kb),
                    mb(r.file_kb),
                    mb(r.hwm_kb),
                    r.threads
                );
                runs.push(r);
            }
            let last = runs.last().unwrap();
            println!("start-up requests (last run):");
            for (ms, line) in &last.timeline {
                println!("  +{ms:>5.1} ms  {line}");
            }
            if let Some((rss, anon)) = last.late_kb {
                println!(
                    "last run, {} s after READY (after the first memory trim): RSS {} (anon {})",
                    LATE_IDLE.as_secs(),
                    mb(rss),
                    mb(anon)
                );
            }
            println!("resident memory by mapping (last run):");
            for (what, kb) in &last.breakdown {
                println!("  {:>9}  {what}", mb(*kb));
            }
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            println!(
                "median of {RUNS}, {label}: start→READY handled {:.1} ms (target ≤ 80), all guilds {:.1} ms; \
                 idle RSS {} (target ≤ 15 MB; anon {}, file {}), peak {}",
                ms(median(runs.iter().map(|r| r.ready).collect())),
                ms(median(runs.iter().map(|r| r.all_registered).collect())),
                mb(median(runs.iter().map(|r| r.rss_kb).collect())),
                mb(median(runs.iter().map(|r| r.anon_kb).collect())),
                mb(median(runs.iter().map(|r| r.file_kb).collect())),
                mb(median(runs.iter().map(|r| r.hwm_kb).collect()))
            );
        }
    });
}
