//! Summary latency on a synthetic two-year cohort: 500 members × 104 weekly
//! check-ins and 30,000 impact entries, mentors' notes on a fifth of the
//! answers and a Staff path for most members, in a SQLite file like production.
//!
//! `cargo bench --bench summaries` prints the median (and p90) of each step
//! over many runs. A plain binary (`harness = false`): criterion is heavy to
//! build here, and medians are what the targets are about.

use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use trellis::domain::{
    CohortDraft, CohortId, CohortSource, EvidenceInput, ImpactInput, PathStep, Pause, PostedPrompt, ProjectInput,
    Track, UserId,
};
use trellis::store::Store;
use trellis::store::bulk::{BulkCheckIn, BulkNote, BulkPath, BulkReply};
use trellis::summary::mentoring::{NOTES_PER_PROGRESS, ProgressMentoring, ShownNote, StatusMentoring};
use trellis::summary::packet::PacketMaterial;
use trellis::summary::{CohortStatus, DEFAULT_WINDOW_WEEKS, MemberProgress, chart, packet};

const MEMBERS: u64 = 500;
const WEEKS: i64 = 104;
const IMPACT_ENTRIES: usize = 30_000;
const FIRST_USER: u64 = 500_000_000_000_000_000;
/// Mentors who write the notes.
const MENTORS: u64 = 5;
const FIRST_MENTOR: u64 = 600_000_000_000_000_000;
/// Share of answers with a mentor's note, in per cent.
const NOTED_PERCENT: u64 = 20;

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

    // Mentors' notes on a fifth of the answers, 20–80 words each; a tenth of
    // those got a second mentor's note.
    let stored = store.replies_of_cohort(cohort.id).await.unwrap();
    let mut notes = Vec::new();
    for r in &stored {
        if rng.chance(NOTED_PERCENT) {
            // One note per mentor per answer: a second note is by the next mentor.
            let first = rng.below(MENTORS);
            for k in 0..if rng.chance(10) { 2 } else { 1 } {
                let words = 20 + rng.below(60) as usize;
                notes.push(BulkNote {
                    reply_id: r.id,
                    checkin_id: r.checkin_id,
                    member_id: r.user_id,
                    author_id: UserId::new(FIRST_MENTOR + (first + k) % MENTORS),
                    text: rng.text(words),
                    at: r.created_at + Duration::days(2),
                });
            }
        }
    }
    store.bulk_notes(cohort.id, &notes).await.unwrap();

    // Four in five members described a project; each has done 0–7 steps.
    let paths: Vec<BulkPath> = members
        .iter()
        .map(|(user, joined)| {
            let project =
                rng.chance(80).then(|| ProjectInput { what: rng.text(30), why: rng.text(30), teams: rng.text(8) });
            let done = rng.below(8) as usize;
            let steps = PathStep::ALL[..done]
                .iter()
                .map(|s| {
                    let link = rng.chance(50).then(|| "https://docs.example/decision".to_string());
                    let words = 40 + rng.below(120) as usize;
                    (*s, EvidenceInput { text: rng.text(words), link })
                })
                .collect();
            BulkPath { user_id: *user, project, steps, at: *joined + Duration::weeks(4) }
        })
        .collect();
    store.bulk_paths(cohort.id, &paths).await.unwrap();
    let steps: usize = paths.iter().map(|p| p.steps.len()).sum();
    println!(
        "database: {MEMBERS} members, {WEEKS} check-ins, {} replies, {} pauses, {IMPACT_ENTRIES} impact entries, \
         {} notes, {} projects, {steps} path steps",
        replies.len(),
        pauses.len(),
        notes.len(),
        paths.iter().filter(|p| p.project.is_some()).count()
    );
    (store, cohort.id, start + Duration::weeks(WEEKS - 1) + Duration::days(1))
}

/// A member's packet as `/packet` makes it: history, path and notes, then Markdown.
async fn packet_of(store: &Store, cohort: &trellis::domain::Cohort, user: UserId, now: DateTime<Utc>) -> String {
    let h = store.member_history(cohort.id, user).await.unwrap().unwrap();
    let path = store.staff_path(cohort.id, user).await.unwrap();
    let notes = store.notes_of_member(cohort.id, user).await.unwrap();
    let material =
        PacketMaterial { checkins: &h.checkins, replies: &h.replies, impact: &h.impact, path: &path, notes: &notes };
    packet::render(cohort, &h.member, "bench member", &material, now)
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
        time("member progress (4 queries + compute)", Some(5), 200, |i| {
            let store = &store;
            async move {
                let h = store.member_history(cohort_id, user(i)).await.unwrap().unwrap();
                let mut p = MemberProgress::compute(
                    &h.member,
                    &h.pauses,
                    &h.checkins,
                    &h.replies,
                    &h.impact,
                    DEFAULT_WINDOW_WEEKS,
                    now,
                );
                // As the engine adds it (reading only: marking notes read is a write, done once per note).
                let mut unseen = store.unseen_notes(cohort_id, user(i)).await.unwrap();
                let more_notes = unseen.len().saturating_sub(NOTES_PER_PROGRESS);
                unseen.truncate(NOTES_PER_PROGRESS);
                p.mentoring = ProgressMentoring {
                    new_notes: ShownNote::with_questions(unseen, &h.checkins),
                    more_notes,
                    path: store.staff_path(cohort_id, user(i)).await.unwrap(),
                };
                std::hint::black_box(p);
            }
        })
        .await,
    );
    timings.push(
        time("cohort status (4 queries + compute)", Some(50), 50, |_| {
            let store = &store;
            async move {
                let a = store.cohort_activity(cohort_id).await.unwrap();
                let mut s = CohortStatus::from_activity(&a.members, &a.checkins, DEFAULT_WINDOW_WEEKS, now);
                let m = store.cohort_mentoring(cohort_id).await.unwrap();
                s.mentoring = StatusMentoring::compute(&a.members, s.current.as_ref().map(|c| c.id), &m);
                std::hint::black_box(s);
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
    timings.push(
        time("  of which: mentoring queries (notes, paths)", None, 50, |_| {
            let store = &store;
            async move {
                std::hint::black_box(store.cohort_mentoring(cohort_id).await.unwrap());
            }
        })
        .await,
    );
    let a = store.cohort_activity(cohort_id).await.unwrap();
    let m = store.cohort_mentoring(cohort_id).await.unwrap();
    timings.push(
        time("  of which: cohort status compute", None, 50, |_| {
            let mut s = CohortStatus::from_activity(&a.members, &a.checkins, DEFAULT_WINDOW_WEEKS, now);
            s.mentoring = StatusMentoring::compute(&a.members, s.current.as_ref().map(|c| c.id), &m);
            std::hint::black_box(s);
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
    let mut status = CohortStatus::from_activity(&a.members, &a.checkins, DEFAULT_WINDOW_WEEKS, now);
    status.mentoring = StatusMentoring::compute(&a.members, status.current.as_ref().map(|c| c.id), &m);
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
        time("packet (4 queries + Markdown)", None, 100, |i| {
            let (store, cohort) = (&store, &cohort);
            async move {
                std::hint::black_box(packet_of(store, cohort, user(i), now).await);
            }
        })
        .await,
    );
    let md = packet_of(&store, &cohort, user(1), now).await;
    for t in &timings {
        t.print();
    }
    desk(&store, &cohort, now).await;
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

/// The desk's pages over HTTP on loopback, as a mentor of the cohort: the
/// whole request (session look-up, engine, template) from a client's view.
/// The targets are on p99.
async fn desk(store: &Store, cohort: &trellis::domain::Cohort, now: DateTime<Utc>) {
    use std::sync::Arc;
    use trellis::config::WebSettings;
    use trellis::domain::{DeskGrant, GuildId, PromptLibrary, RoleId};
    use trellis::engine::{Engine, ManualClock};

    let clock = Arc::new(ManualClock::new(now));
    let chat = Arc::new(trellis_testkit::FakeChat::new(clock.clone()));
    let engine = Arc::new(Engine::new(store.clone(), PromptLibrary::builtin(), clock, chat));
    let grant = DeskGrant {
        guild_id: GuildId::new(111_111_111_111_111_111),
        user_id: UserId::new(FIRST_MENTOR),
        user_name: "bench mentor".into(),
        roles: vec![RoleId::new(333_333_333_333_333_333)],
        can_manage: false,
    };
    let token = engine.desk_link(&grant).await.unwrap();
    let (session, _) = engine.desk_sign_in(&token).await.unwrap().unwrap();
    let web = WebSettings { addr: Some("127.0.0.1:0".parse().unwrap()), public_url: None };
    let desk = trellis::web::Desk::bind(&web).await.expect("the desk binds");
    let base = desk.public_url().to_string();
    let _serving = desk.serve(engine.clone(), std::future::pending());
    let client = reqwest::Client::new();
    let activity = store.cohort_activity(cohort.id).await.unwrap();
    let checkins: Vec<_> = activity.checkins.iter().filter(|c| c.occurrence_at <= now).map(|c| c.id).collect();
    let cookie = format!("trellis_desk={session}");
    let get = |path: String| {
        let (client, cookie, url) = (&client, &cookie, format!("{base}{path}"));
        async move {
            let r = client.get(url).header("cookie", cookie.as_str()).send().await.unwrap();
            assert_eq!(r.status(), 200, "{}", r.url());
            std::hint::black_box(r.text().await.unwrap());
        }
    };
    let id = cohort.id;
    let pages = [
        ("desk: cohort page (500 × 12 grid)", 50, 100, time("", None, 100, |_| get(format!("/cohorts/{id}"))).await),
        (
            "desk: member page (104 answers, chart)",
            20,
            200,
            time("", None, 200, |i| get(format!("/cohorts/{id}/members/{}", FIRST_USER + (i as u64 * 37) % MEMBERS)))
                .await,
        ),
        (
            "desk: check-in page (500 answers)",
            20,
            200,
            time("", None, 200, |i| get(format!("/checkins/{}", checkins[i % checkins.len()]))).await,
        ),
        (
            "desk: search, a word in most answers",
            20,
            200,
            time("", None, 200, |i| get(format!("/search?q={}", ["migration", "latency", "platform+team"][i % 3])))
                .await,
        ),
        ("desk: search, no match", 20, 200, time("", None, 200, |_| get("/search?q=kubernetes".into())).await),
    ];
    println!();
    for (name, target, runs, t) in pages {
        let (median, p99) = (t.percentile(50), t.percentile(99));
        let ms = |d: StdDuration| d.as_secs_f64() * 1000.0;
        let verdict = if ms(p99) <= target as f64 { "met" } else { "MISSED" };
        println!(
            "{name:<44} median {:>8.3} ms   p99 {:>8.3} ms   runs {runs:>3}   target p99 ≤ {target} ms: {verdict}",
            ms(median),
            ms(p99)
        );
    }
}
