//! Summary latency on a synthetic two-year cohort: 500 members × 104 weekly
//! check-ins and 30,000 impact entries, in a SQLite file like production.
//!
//! `cargo bench --bench summaries` prints the median (and p90) of each step
//! over many runs. A plain binary (`harness = false`): criterion is heavy to
//! build here, and medians are what the targets are about.

use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use trellis::domain::{CohortDraft, CohortId, CohortSource, ImpactInput, Pause, PostedPrompt, Track, UserId};
use trellis::store::Store;
use trellis::store::bulk::{BulkCheckIn, BulkReply};
use trellis::summary::{CohortStatus, DEFAULT_WINDOW_WEEKS, MemberProgress, chart, packet};

const MEMBERS: u64 = 500;
const WEEKS: i64 = 104;
const IMPACT_ENTRIES: usize = 30_000;
const FIRST_USER: u64 = 500_000_000_000_000_000;

/// A small deterministic generator (xorshift64*), so every run builds the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn text(&mut self, words: usize) -> String {
        const WORDS: [&str; 16] = [
            "aligned",
            "the",
            "platform",
            "team",
            "on",
            "a",
            "migration",
            "plan",
            "that",
            "cut",
            "p95",
            "latency",
            "by",
            "40%",
            "across",
            "services",
        ];
        (0..words).map(|_| WORDS[self.below(16) as usize]).collect::<Vec<_>>().join(" ")
    }
}

fn first_checkin() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-01-06T09:00:00Z").unwrap().with_timezone(&Utc)
}

/// Builds the database; returns the store, the cohort id and "now" (a day
/// into the last, still open, check-in).
async fn build(dir: &std::path::Path) -> (Store, CohortId, DateTime<Utc>) {
    let store = Store::connect(&format!("sqlite://{}", dir.join("bench.db").display())).await.unwrap();
    store.migrate().await.unwrap();
    let spec = CohortDraft {
        name: "bench-cohort".into(),
        guild_id: 111_111_111_111_111_111,
        channel_id: 222_222_222_222_222_222,
        mentor_role_id: 333_333_333_333_333_333,
        schedule: "0 0 9 * * Mon".into(),
        timezone: "Europe/Berlin".into(),
        ..Default::default()
    }
    .validate()
    .unwrap();
    let start = first_checkin();
    let cohort = store.insert_cohort(&spec, CohortSource::File, start - Duration::weeks(1)).await.unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);

    let ledger: Vec<BulkCheckIn> = (0..WEEKS)
        .map(|k| {
            let track = Track::ALL[k as usize % 6];
            BulkCheckIn {
                occurrence_at: start + Duration::weeks(k),
                closes_at: start + Duration::weeks(k + 1),
                prompt: PostedPrompt { id: format!("{track}-{k}"), track, question: rng.text(20) },
            }
        })
        .collect();
    let ids = store.bulk_checkins(cohort.id, &ledger).await.unwrap();

    // Most joined before the first check-in; one in ten joined later.
    let members: Vec<(UserId, DateTime<Utc>)> = (0..MEMBERS)
        .map(|i| {
            let late =
                if rng.chance(10) { Duration::weeks(rng.below(WEEKS as u64 / 2) as i64) } else { Duration::zero() };
            (UserId::new(FIRST_USER + i), start - Duration::days(1) + late)
        })
        .collect();
    store.bulk_members(cohort.id, &members).await.unwrap();

    let mut replies = Vec::new();
    let mut pauses = Vec::new();
    for (user, joined) in &members {
        // Each member has their own habit: answers 50–95% of the check-ins.
        let habit = 50 + rng.below(46);
        for (id, c) in ids.iter().zip(&ledger) {
            if c.occurrence_at >= *joined && rng.chance(habit) {
                let at = c.occurrence_at + Duration::hours(1 + rng.below(100) as i64);
                let confidence = rng.chance(80).then(|| 1 + rng.below(5) as u8);
                let words = 40 + rng.below(80) as usize;
                replies.push(BulkReply { checkin_id: *id, user_id: *user, answer: rng.text(words), confidence, at });
            }
        }
        if rng.chance(20) {
            let from = start + Duration::weeks(rng.below(WEEKS as u64) as i64);
            pauses.push((*user, Pause { starts_at: from, ends_at: from + Duration::weeks(2) }));
        }
    }
    store.bulk_replies(&replies).await.unwrap();
    store.bulk_pauses(cohort.id, &pauses).await.unwrap();

    let span = (WEEKS * 7 * 86_400) as u64;
    let impact: Vec<(UserId, ImpactInput, DateTime<Utc>)> = (0..IMPACT_ENTRIES)
        .map(|_| {
            let user = UserId::new(FIRST_USER + rng.below(MEMBERS));
            let input = ImpactInput {
                what_changed: rng.text(25),
                evidence: rng.text(15),
                who_benefited: rng.text(6),
                link: rng.chance(30).then(|| "https://dash.example/p95".to_string()),
                tracks: vec![Track::Impact],
            };
            (user, input, start + Duration::seconds(rng.below(span) as i64))
        })
        .collect();
    store.bulk_impact(cohort.id, &impact).await.unwrap();
    println!(
        "database: {MEMBERS} members, {WEEKS} check-ins, {} replies, {} pauses, {IMPACT_ENTRIES} impact entries",
        replies.len(),
        pauses.len()
    );
    (store, cohort.id, start + Duration::weeks(WEEKS - 1) + Duration::days(1))
}

struct Timing {
    name: &'static str,
    samples: Vec<StdDuration>,
    target: Option<StdDuration>,
}

impl Timing {
    fn percentile(&self, p: usize) -> StdDuration {
        let mut s = self.samples.clone();
        s.sort();
        s[(s.len() * p / 100).min(s.len() - 1)]
    }
    fn print(&self) {
        let ms = |d: StdDuration| d.as_secs_f64() * 1000.0;
        let median = self.percentile(50);
        let verdict = match self.target {
            Some(t) if median <= t => format!("target < {:.0} ms: met", ms(t)),
            Some(t) => format!("target < {:.0} ms: MISSED by {:.2} ms", ms(t), ms(median) - ms(t)),
            None => String::new(),
        };
        println!(
            "{:<44} median {:>8.3} ms   p90 {:>8.3} ms   runs {:>3}   {verdict}",
            self.name,
            ms(median),
            ms(self.percentile(90)),
            self.samples.len()
        );
    }
}

/// Times `runs` calls of `f` after `warmup` untimed ones.
async fn time<F, Fut>(name: &'static str, target_ms: Option<u64>, runs: usize, mut f: F) -> Timing
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for i in 0..3 {
        f(i).await;
    }
    let mut samples = Vec::with_capacity(runs);
    for i in 0..runs {
        let t = Instant::now();
        f(i).await;
        samples.push(t.elapsed());
    }
    Timing { name, samples, target: target_ms.map(StdDuration::from_millis) }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let (store, cohort_id, now) = build(dir.path()).await;
    println!("built in {:.1} s\n", t.elapsed().as_secs_f64());
    let cohort = store.cohort(cohort_id).await.unwrap().unwrap();
    let tz = cohort.timezone();
    let user = |i: usize| UserId::new(FIRST_USER + (i as u64 * 37) % MEMBERS);

    let mut timings = Vec::new();
    timings.push(
        time("member progress (2 queries + compute)", Some(5), 200, |i| {
            let store = &store;
            async move {
                let h = store.member_history(cohort_id, user(i)).await.unwrap().unwrap();
                let p = MemberProgress::compute(
                    &h.member,
                    &h.pauses,
                    &h.checkins,
                    &h.replies,
                    &h.impact,
                    DEFAULT_WINDOW_WEEKS,
                    now,
                );
                std::hint::black_box(p);
            }
        })
        .await,
    );
    timings.push(
        time("cohort status (2 queries + compute)", Some(50), 50, |_| {
            let store = &store;
            async move {
                let a = store.cohort_activity(cohort_id).await.unwrap();
                std::hint::black_box(CohortStatus::from_activity(&a.members, &a.checkins, DEFAULT_WINDOW_WEEKS, now));
            }
        })
        .await,
    );

    // Where the time goes: the statements alone, then the pure computations alone.
    timings.push(
        time("  of which: member history queries", None, 200, |i| {
            let store = &store;
            async move {
                std::hint::black_box(store.member_history(cohort_id, user(i)).await.unwrap());
            }
        })
        .await,
    );
    timings.push(
        time("  of which: cohort activity queries", None, 50, |_| {
            let store = &store;
            async move {
                std::hint::black_box(store.cohort_activity(cohort_id).await.unwrap());
            }
        })
        .await,
    );
    let a = store.cohort_activity(cohort_id).await.unwrap();
    timings.push(
        time("  of which: cohort status compute", None, 50, |_| {
            std::hint::black_box(CohortStatus::from_activity(&a.members, &a.checkins, DEFAULT_WINDOW_WEEKS, now));
            async {}
        })
        .await,
    );

    let h = store.member_history(cohort_id, user(1)).await.unwrap().unwrap();
    let progress = MemberProgress::compute(&h.member, &h.pauses, &h.checkins, &h.replies, &h.impact, 12, now);
    timings.push(
        time("progress chart (800×520 PNG)", Some(30), 50, |_| {
            let png = chart::progress_png(&progress, "bench member · last 12 weeks", tz).unwrap();
            std::hint::black_box(png);
            async {}
        })
        .await,
    );
    let long = MemberProgress::compute(&h.member, &h.pauses, &h.checkins, &h.replies, &h.impact, 104, now);
    timings.push(
        time("progress chart, 104-week window", Some(30), 50, |_| {
            std::hint::black_box(chart::progress_png(&long, "bench member · last 104 weeks", tz).unwrap());
            async {}
        })
        .await,
    );
    let status = CohortStatus::from_activity(&a.members, &a.checkins, DEFAULT_WINDOW_WEEKS, now);
    timings.push(
        time("cohort heatmap (500 × 12 PNG)", Some(30), 30, |_| {
            std::hint::black_box(chart::heatmap_png(&status, "bench-cohort · last 12 weeks", tz).unwrap());
            async {}
        })
        .await,
    );
    timings.push(
        time("cohort table (CSV, 500 rows)", None, 50, |_| {
            std::hint::black_box(status.to_csv(tz));
            async {}
        })
        .await,
    );
    timings.push(
        time("packet (2 queries + Markdown)", None, 100, |i| {
            let (store, cohort) = (&store, &cohort);
            async move {
                let h = store.member_history(cohort_id, user(i)).await.unwrap().unwrap();
                let md = packet::render(cohort, &h.member, "bench member", &h.checkins, &h.replies, &h.impact, now);
                std::hint::black_box(md);
            }
        })
        .await,
    );
    let md = packet::render(&cohort, &h.member, "bench member", &h.checkins, &h.replies, &h.impact, now);
    for t in &timings {
        t.print();
    }
    let png = chart::progress_png(&progress, "bench member · last 12 weeks", tz).unwrap();
    let heatmap = chart::heatmap_png(&status, "bench-cohort · last 12 weeks", tz).unwrap();
    println!(
        "\nsizes: progress.png {} KB, heatmap.png {} KB, cohort-status.csv {} KB, one packet.md {} KB",
        png.len() / 1024,
        heatmap.len() / 1024,
        status.to_csv(tz).len() / 1024,
        md.len() / 1024
    );
    store.close().await;
}
