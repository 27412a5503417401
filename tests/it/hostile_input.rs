//! Hostile values fed to the engine (what a modal, a DM or `/cohort setup`
//! hands it): every one is either refused with a message for the user or
//! saved exactly as typed, and afterwards the database holds the safe saves
//! and nothing else.

use trellis::domain::{ChannelId, CheckIn, CheckInId, Cohort, GuildId, InputError, MessageId, ReplySource, UserId};
use trellis::engine::{DmAnswer, EngineError};
use trellis_testkit::typed::{CHANNEL, GUILD, OTHER_CHANNEL};
use trellis_testkit::{Harness, TempDb, draft, table_columns, utc};

const START: &str = "2027-01-01T12:00:00Z";
const FIRST_MONDAY: &str = "2027-01-04T09:00:00Z";

/// Every refused input that has room for it starts with this, so a scan of the
/// whole database can prove no piece of it was stored.
const MARK: &str = "REFUSED-";

/// What the engine must do with one input.
#[derive(Debug)]
enum Expect {
    /// Stored, and read back exactly as this.
    Saved(String),
    /// Refused with this input error.
    Refused(fn(&InputError) -> bool),
}

fn saved(s: &str) -> Expect {
    Expect::Saved(s.to_string())
}

const EMPTY: fn(&InputError) -> bool = |e| matches!(e, InputError::EmptyAnswer);
const TOO_LONG: fn(&InputError) -> bool = |e| matches!(e, InputError::AnswerTooLong(_));
const NUL: fn(&InputError) -> bool = |e| matches!(e, InputError::Nul);
const CONFIDENCE: fn(&InputError) -> bool = |e| matches!(e, InputError::Confidence(_));
const EMPTY_FIELD: fn(&InputError) -> bool = |e| matches!(e, InputError::EmptyField { .. });
const FIELD_TOO_LONG: fn(&InputError) -> bool = |e| matches!(e, InputError::FieldTooLong { .. });
const LINK: fn(&InputError) -> bool = |e| matches!(e, InputError::Link);

fn zalgo(base: &str, marks_per_char: usize) -> String {
    let marks = ['\u{0300}', '\u{0336}', '\u{0353}', '\u{035C}', '\u{0489}', '\u{20DD}'];
    base.chars().flat_map(|c| std::iter::once(c).chain(marks.iter().cycle().take(marks_per_char).copied())).collect()
}

/// (label, answer, confidence, expected answer, expected confidence).
fn answer_corpus() -> Vec<(&'static str, String, String, Expect, Option<u8>)> {
    let ok = |label, a: &str, c: &str, want: &str, conf| (label, a.to_string(), c.to_string(), saved(want), conf);
    let refused = |label, a: String, c: &str, why| (label, a, c.to_string(), Expect::Refused(why), None);
    let over = format!("{MARK}{}", "x".repeat(4001 - MARK.len()));
    let sql = "'); DROP TABLE replies;--";
    vec![
        refused("empty", String::new(), "", EMPTY),
        refused("spaces", "     ".into(), "", EMPTY),
        refused("tabs and newlines", " \t\r\n\t ".into(), "3", EMPTY),
        refused("unicode spaces", "\u{00A0}\u{2003}\u{3000}\u{2028}".into(), "", EMPTY),
        refused("zero-width only", "\u{200B}\u{200C}\u{200D}\u{2060}\u{FEFF}".into(), "", EMPTY),
        refused("hangul filler and braille blank", "\u{3164} \u{2800}".into(), "", EMPTY),
        refused("4001 characters", over.clone(), "", TOO_LONG),
        refused("4001 characters after trimming", format!("  {over}  "), "", TOO_LONG),
        refused("4001 four-byte characters", format!("{MARK}{}", "🚀".repeat(4001 - MARK.len())), "", TOO_LONG),
        refused("zalgo past the limit", format!("{MARK}{}", zalgo("z", 4000)), "", TOO_LONG),
        refused("NUL in the middle", format!("{MARK}before\0after"), "", NUL),
        refused("NUL only", "\0".into(), "", NUL),
        refused("NUL at the end, trimmed text", format!("{MARK} text\0 "), "", NUL),
        refused("valid answer, confidence 0", format!("{MARK}fine answer"), "0", CONFIDENCE),
        refused("valid answer, confidence 6", format!("{MARK}fine answer"), "6", CONFIDENCE),
        refused("confidence -1", format!("{MARK}fine answer"), "-1", CONFIDENCE),
        refused("confidence 3.5", format!("{MARK}fine answer"), "3.5", CONFIDENCE),
        refused("confidence u64 overflow", format!("{MARK}fine answer"), "99999999999999999999999", CONFIDENCE),
        refused("confidence 4000 digits", format!("{MARK}fine answer"), &"5".repeat(4000), CONFIDENCE),
        refused("confidence as SQL", format!("{MARK}fine answer"), "1; DROP TABLE replies", CONFIDENCE),
        refused("confidence with NUL", format!("{MARK}fine answer"), "3\0", CONFIDENCE),
        refused("confidence Arabic-Indic 3", format!("{MARK}fine answer"), "٣", CONFIDENCE),
        refused("confidence zalgo 3", format!("{MARK}fine answer"), &zalgo("3", 200), CONFIDENCE),
        refused("confidence mention", format!("{MARK}fine answer"), "<@&100000000000000021>", CONFIDENCE),
        ok("one character", "a", "", "a", None),
        ok("exactly 4000 characters", &"y".repeat(4000), "5", &"y".repeat(4000), Some(5)),
        ok("4000 after trimming", &format!("\n {} \n", "w".repeat(4000)), "", &"w".repeat(4000), None),
        ok("4000 emoji", &"🚀".repeat(4000), "", &"🚀".repeat(4000), None),
        ok("SQL fragment", sql, "1", sql, Some(1)),
        ok("SQL comment and quotes", "x' OR '1'='1' --; /* */ \"", "", "x' OR '1'='1' --; /* */ \"", None),
        ok("everyone and here", "@everyone @here look", "2", "@everyone @here look", Some(2)),
        ok(
            "role and user mentions",
            "<@&100000000000000021> <@300000000000000004> <@!1>",
            "",
            "<@&100000000000000021> <@300000000000000004> <@!1>",
            None,
        ),
        ok(
            "markdown",
            "**bold** __u__ ~~s~~ ||spoiler|| `code` ```rust\nfn x(){}```\n> quote\n# H1",
            "",
            "**bold** __u__ ~~s~~ ||spoiler|| `code` ```rust\nfn x(){}```\n> quote\n# H1",
            None,
        ),
        ok(
            "masked link",
            "[click](https://evil.test) <https://x.test>",
            "",
            "[click](https://evil.test) <https://x.test>",
            None,
        ),
        ok("zalgo within the limit", &zalgo("Zalgo", 30), "4", &zalgo("Zalgo", 30), Some(4)),
        ok("right-to-left override", "abc\u{202E}cba", "", "abc\u{202E}cba", None),
        ok("zero-width inside text", "\u{200B}visible\u{200B}", "", "\u{200B}visible\u{200B}", None),
        ok("control characters kept as text", "bell\u{7} escape\u{1b}[31m", "", "bell\u{7} escape\u{1b}[31m", None),
        ok("confidence padded", "padded confidence", "  3\t", "padded confidence", Some(3)),
        ok("confidence with plus sign", "plus", "+4", "plus", Some(4)),
        ok("confidence leading zero", "zero", "05", "zero", Some(5)),
        ok("confidence blank", "blank confidence", " \u{3000} ", "blank confidence", None),
        ok("JSON and escapes", "{\"a\":\"\\ud800\"} \\u0000 \\n", "", "{\"a\":\"\\ud800\"} \\u0000 \\n", None),
        ok("very long line of mentions", &"@everyone ".repeat(399), "", "@everyone ".repeat(399).trim(), None),
    ]
}

async fn open_checkin(h: &Harness) -> (Cohort, CheckIn) {
    let cohort = h.engine.setup_cohort(draft("staff-path", CHANNEL, "0 0 9 * * Mon", "UTC")).await.unwrap();
    h.set(utc(FIRST_MONDAY));
    assert_eq!(h.tick().await.posted.len(), 1);
    let checkin = h.engine.open_checkin(&cohort).await.unwrap();
    (cohort, checkin)
}

/// Count of rows, across every column of every table, whose text holds `needle`.
async fn rows_containing(db: &TempDb, needle: &str) -> Vec<(String, String, i64)> {
    let pool = db.raw().await;
    // Not sqlx's bookkeeping: a migration's checksum is binary and may hold
    // any byte, NUL included, without any member text in it. Nor FTS5's own
    // shadow tables of the search index (binary pages of tokens); the index
    // table `search_fts` itself, which holds the indexed text, is searched.
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations' AND name NOT LIKE 'search\\_fts\\_%' ESCAPE '\\'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut out = Vec::new();
    for table in tables {
        for column in table_columns(&pool, &table).await {
            let sql = format!("SELECT COUNT(*) FROM \"{table}\" WHERE instr(CAST(\"{column}\" AS TEXT), ?) > 0");
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(needle).fetch_one(&pool).await.unwrap();
            if n > 0 {
                out.push((table.clone(), column, n));
            }
        }
    }
    pool.close().await;
    out
}

async fn count(db: &TempDb, table: &str) -> i64 {
    let pool = db.raw().await;
    let sql = format!("SELECT COUNT(*) FROM \"{table}\"");
    let n = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&pool).await.unwrap();
    pool.close().await;
    n
}

fn user(i: usize) -> UserId {
    UserId::new(700_000_000_000_000_000 + i as u64)
}

#[tokio::test]
async fn modal_answers_are_refused_or_saved_verbatim_and_nothing_else_is_stored() {
    let h = Harness::new(utc(START)).await;
    let (cohort, checkin) = open_checkin(&h).await;
    let corpus = answer_corpus();
    let mut expected_saves = 0;
    for (i, (label, answer, confidence, expect, want_conf)) in corpus.iter().enumerate() {
        let who = user(i);
        let got = h.engine.answer(&checkin, who, answer, confidence, ReplySource::Modal).await;
        match (expect, got) {
            (Expect::Saved(want), Ok(reply)) => {
                expected_saves += 1;
                assert_eq!(&reply.answer, want, "{label}");
                assert_eq!(reply.confidence, *want_conf, "{label}");
                let stored = h.engine.store().reply(checkin.id, who).await.unwrap().expect(label);
                assert_eq!((&stored.answer, stored.confidence), (want, *want_conf), "{label}: read back");
            }
            (Expect::Refused(is), Err(EngineError::Input(e))) => {
                assert!(is(&e), "{label}: wrong refusal {e:?}");
                let message = e.to_string();
                assert!(!message.is_empty() && message.len() < 300, "{label}: {message}");
                assert!(!message.contains('\0') && !message.contains("@everyone"), "{label}: echo {message:?}");
                assert!(h.engine.store().reply(checkin.id, who).await.unwrap().is_none(), "{label}: stored");
                // Refused input does not make anyone a member either.
                assert!(h.engine.store().member(cohort.id, who).await.unwrap().is_none(), "{label}: joined");
            }
            (expect, got) => panic!("{label}: expected {expect:?}, got {got:?}"),
        }
    }
    assert!(expected_saves >= 15 && corpus.len() - expected_saves >= 20, "the corpus covers both sides");

    // The database holds exactly the safe saves: one reply and one membership
    // per saved input, no edits, no piece of any refused input, no NUL.
    assert_eq!(count(&h.db, "replies").await, expected_saves as i64);
    assert_eq!(count(&h.db, "members").await, expected_saves as i64);
    assert_eq!(count(&h.db, "reply_edits").await, 0);
    assert_eq!(rows_containing(&h.db, MARK).await, vec![], "a refused input left a fragment");
    assert_eq!(rows_containing(&h.db, "\0").await, vec![], "a NUL was stored");
    // The SQL fragments were data: every table is still there and still works.
    let tables = h.engine.store().table_names().await.unwrap();
    for t in ["cohorts", "members", "checkins", "replies", "reply_edits", "impact_entries", "pauses", "reminders"] {
        assert!(tables.iter().any(|n| n == t), "table {t} is gone: {tables:?}");
    }
    assert_eq!(h.engine.store().replies_of_cohort(cohort.id).await.unwrap().len(), expected_saves);
}

#[tokio::test]
async fn dm_answers_follow_the_same_rules() {
    let h = Harness::new(utc(START)).await;
    let (cohort, checkin) = open_checkin(&h).await;
    let mut saves = 0;
    for (i, (label, answer, _, expect, _)) in answer_corpus().into_iter().enumerate() {
        let who = user(i);
        // A DM answer needs a membership to find the open check-in.
        h.engine.join(&cohort, who).await.unwrap();
        let got = match h.engine.answer_by_dm(who, MessageId::new(900 + i as u64), &answer).await {
            Ok(DmAnswer::Saved { reply, .. }) => Ok(reply),
            Ok(DmAnswer::Choose(choices)) => panic!("{label}: asked instead of saving: {choices:?}"),
            Err(e) => Err(e),
        };
        match (expect, got) {
            (Expect::Saved(want), Ok(reply)) => {
                saves += 1;
                assert_eq!((reply.answer, reply.checkin_id), (want, checkin.id), "{label}");
            }
            (Expect::Saved(want), Err(e)) => panic!("{label}: {want:?} refused: {e:?}"),
            // DMs carry no confidence: a case refused only for it is a save here.
            (Expect::Refused(_), Ok(reply)) => {
                saves += 1;
                assert!(reply.answer.starts_with(MARK) && reply.answer.ends_with("fine answer"), "{label}");
            }
            (Expect::Refused(is), Err(EngineError::Input(e))) => assert!(is(&e), "{label}: {e:?}"),
            (_, Err(e)) => panic!("{label}: not an input error: {e:?}"),
        }
    }
    assert_eq!(count(&h.db, "replies").await, saves);
    let pool = h.db.raw().await;
    let dm_saves: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM replies WHERE source = 'dm'").fetch_one(&pool).await.unwrap();
    assert_eq!(dm_saves, saves);
    // Only the "fine answer" texts of confidence-only refusals may carry the mark.
    let marked: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM replies WHERE instr(answer, ?) > 0 AND answer NOT LIKE '%fine answer'",
    )
    .bind(MARK)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(marked, 0);
    assert_eq!(rows_containing(&h.db, "\0").await, vec![]);
}

#[tokio::test]
async fn hostile_edits_never_replace_a_good_answer() {
    let h = Harness::new(utc(START)).await;
    let (_, checkin) = open_checkin(&h).await;
    let good = h.engine.answer(&checkin, user(0), "the good answer", "3", ReplySource::Modal).await.unwrap();
    let mut refused = 0;
    for (label, answer, confidence, expect, _) in answer_corpus() {
        if let Expect::Refused(_) = expect {
            refused += 1;
            let e = h.engine.answer(&checkin, user(0), &answer, &confidence, ReplySource::Modal).await.unwrap_err();
            assert!(matches!(e, EngineError::Input(_)), "{label}: {e:?}");
        }
    }
    let now = h.engine.store().reply(checkin.id, user(0)).await.unwrap().unwrap();
    assert_eq!((now.answer.as_str(), now.confidence, now.id), ("the good answer", Some(3), good.id));
    assert!(h.engine.store().reply_history(good.id).await.unwrap().is_empty(), "{refused} refusals left history");
}

#[tokio::test]
async fn answers_to_a_closed_or_unknown_checkin_store_nothing() {
    let h = Harness::new(utc(START)).await;
    let (cohort, first) = open_checkin(&h).await;
    // The next Monday's post closes the first check-in.
    h.set(utc(FIRST_MONDAY) + chrono::Duration::weeks(1));
    assert_eq!(h.tick().await.posted.len(), 1);
    let e = h.engine.answer(&first, user(1), "late answer", "", ReplySource::Modal).await.unwrap_err();
    assert!(matches!(e, EngineError::CheckInClosed), "{e:?}");
    // Ids that do not exist, or belong to another guild, are unknown.
    for id in [0, -1, i64::MAX, first.id.get() + 100].map(CheckInId::new) {
        let e = h.engine.checkin_in_guild(id, GUILD).await.unwrap_err();
        assert!(matches!(e, EngineError::UnknownCheckIn), "{id}: {e:?}");
    }
    let e = h.engine.checkin_in_guild(first.id, GuildId::new(GUILD.get() + 1)).await.unwrap_err();
    assert!(matches!(e, EngineError::UnknownCheckIn), "{e:?}");
    // A removed cohort still has its history, and nothing new.
    h.engine.remove_cohort(GUILD, CHANNEL).await.unwrap();
    assert_eq!(count(&h.db, "replies").await, 0);
    assert!(h.engine.store().member(cohort.id, user(1)).await.unwrap().is_none());
}

/// (label, what changed, evidence, who benefited, link, expected link or refusal).
type ImpactCase = (&'static str, String, String, String, String, Result<Option<&'static str>, fn(&InputError) -> bool>);

fn impact_corpus() -> Vec<ImpactCase> {
    let s = |v: &str| v.to_string();
    let long = format!("{MARK}{}", "i".repeat(1001 - MARK.len()));
    vec![
        ("all empty", s(""), s(""), s(""), s(""), Err(EMPTY_FIELD)),
        ("blank evidence", s(&format!("{MARK}w")), s(" \u{200B} "), s("b"), s(""), Err(EMPTY_FIELD)),
        ("1001 characters", long.clone(), s("e"), s("b"), s(""), Err(FIELD_TOO_LONG)),
        ("1001 in who", s(&format!("{MARK}w")), s("e"), long, s(""), Err(FIELD_TOO_LONG)),
        ("NUL in what", s(&format!("{MARK}w\0")), s("e"), s("b"), s(""), Err(NUL)),
        ("NUL in link", s(&format!("{MARK}w")), s("e"), s("b"), s("https://x.test/\0"), Err(NUL)),
        ("javascript link", s(&format!("{MARK}w")), s("e"), s("b"), s("javascript:alert(1)"), Err(LINK)),
        ("data link", s(&format!("{MARK}w")), s("e"), s("b"), s("data:text/html,<script>"), Err(LINK)),
        ("link with spaces", s(&format!("{MARK}w")), s("e"), s("b"), s("https://x.test/a b"), Err(LINK)),
        ("link with escape", s(&format!("{MARK}w")), s("e"), s("b"), s("https://x.test/\u{1b}[2J"), Err(LINK)),
        (
            "link 513 characters",
            s(&format!("{MARK}w")),
            s("e"),
            s("b"),
            format!("https://x.test/{}", "a".repeat(498)),
            Err(FIELD_TOO_LONG),
        ),
        ("mention link", s(&format!("{MARK}w")), s("e"), s("b"), s("<@&100000000000000021>"), Err(LINK)),
        (
            "SQL in every field",
            s("'); DROP TABLE impact_entries;--"),
            s("1=1"),
            s("\"; DELETE FROM members"),
            s(""),
            Ok(None),
        ),
        (
            "mentions and markdown",
            s("@everyone shipped **it**"),
            s("<@&100000000000000021>"),
            s("<@300000000000000004>"),
            s("https://x.test/(a)"),
            Ok(Some("https://x.test/(a)")),
        ),
        ("zalgo", zalgo("win", 20), zalgo("p99", 20), s("users"), s(""), Ok(None)),
        (
            "exactly 1000",
            s(&"m".repeat(1000)),
            s(&"n".repeat(1000)),
            s(&"o".repeat(1000)),
            format!("https://x.test/{}", "a".repeat(497)),
            Ok(None),
        ),
    ]
}

#[tokio::test]
async fn impact_entries_are_refused_or_saved_verbatim() {
    let h = Harness::new(utc(START)).await;
    let cohort = h.engine.setup_cohort(draft("staff-path", CHANNEL, "0 0 9 * * Mon", "UTC")).await.unwrap();
    let mut saves = 0;
    for (i, (label, what, evidence, who, link, expect)) in impact_corpus().into_iter().enumerate() {
        let got = h.engine.record_impact(&cohort, user(i), &what, &evidence, &who, &link).await;
        match (expect, got) {
            (Ok(want_link), Ok(entry)) => {
                saves += 1;
                assert_eq!((entry.what_changed, entry.evidence, entry.who_benefited), (what, evidence, who), "{label}");
                let want_link = want_link.map(str::to_string).or(Some(link).filter(|l| !l.is_empty()));
                assert_eq!(entry.link, want_link, "{label}");
            }
            (Err(is), Err(EngineError::Input(e))) => assert!(is(&e), "{label}: {e:?}"),
            (_, got) => panic!("{label}: {got:?}"),
        }
    }
    assert_eq!(count(&h.db, "impact_entries").await, saves);
    assert_eq!(count(&h.db, "members").await, saves, "only a saved win joins the cohort");
    assert_eq!(rows_containing(&h.db, MARK).await, vec![]);
    assert_eq!(rows_containing(&h.db, "\0").await, vec![]);
}

#[tokio::test]
async fn hostile_cohort_setup_values_are_refused_with_the_field_named() {
    let h = Harness::new(utc(START)).await;
    let long = "z".repeat(4001);
    type Edit = Box<dyn Fn(&mut trellis::domain::CohortDraft)>;
    let cases: Vec<(&str, &str, Edit)> = vec![
        ("empty name", "name", Box::new(|d| d.name = String::new())),
        ("blank name", "name", Box::new(|d| d.name = " \t ".into())),
        ("65-character name", "name", Box::new(|d| d.name = "n".repeat(65))),
        ("empty schedule", "schedule", Box::new(|d| d.schedule = String::new())),
        ("SQL schedule", "schedule", Box::new(|d| d.schedule = "0 0 9 * * Mon'); DROP TABLE cohorts;--".into())),
        ("4001-character schedule", "schedule", Box::new(move |d| d.schedule = long.clone())),
        ("never fires", "schedule", Box::new(|d| d.schedule = "0 0 9 * * Mon 2001".into())),
        ("NUL schedule", "schedule", Box::new(|d| d.schedule = "0 0 9 * * Mon\0".into())),
        ("empty timezone", "timezone", Box::new(|d| d.timezone = String::new())),
        ("path timezone", "timezone", Box::new(|d| d.timezone = "../../etc/passwd".into())),
        ("NUL timezone", "timezone", Box::new(|d| d.timezone = "UTC\0".into())),
        ("mention timezone", "timezone", Box::new(|d| d.timezone = "@everyone".into())),
        ("negative reminder", "reminder_after", Box::new(|d| d.reminder_after = Some("-1h".into()))),
        (
            "overflowing reminder",
            "reminder_after",
            Box::new(|d| d.reminder_after = Some("99999999999999999999d".into())),
        ),
        (
            "multiplying past u64",
            "reminder_after",
            Box::new(|d| d.reminder_after = Some("18446744073709551615d".into())),
        ),
        ("zero reminder", "reminder_after", Box::new(|d| d.reminder_after = Some("0s".into()))),
        ("unknown track", "tracks", Box::new(|d| d.tracks = Some(vec!["scope".into(), "'; DROP".into()]))),
        ("no tracks", "tracks", Box::new(|d| d.tracks = Some(vec![]))),
        ("zero channel", "channel_id", Box::new(|d| d.channel_id = 0)),
        ("u64::MAX role", "mentor_role_id", Box::new(|d| d.mentor_role_id = u64::MAX)),
        ("digest is own channel", "digest_channel_id", Box::new(|d| d.digest_channel_id = Some(OTHER_CHANNEL.get()))),
    ];
    for (label, field, edit) in &cases {
        let mut d = draft("staff-path", OTHER_CHANNEL, "0 0 9 * * Mon", "UTC");
        edit(&mut d);
        match h.engine.setup_cohort(d).await {
            Err(EngineError::Field(f)) => {
                assert_eq!(f.field, *field, "{label}: {f}");
                assert!(!f.reason.is_empty(), "{label}");
            }
            other => panic!("{label}: expected a field error, got {other:?}"),
        }
    }
    assert_eq!(count(&h.db, "cohorts").await, 0, "no refused setup stored a cohort");

    // Names are shown in posts and replies: hostile ones are stored verbatim
    // (and sent with mentions disabled, see tests/it/e2e_hostile.rs).
    let names = ["'); DROP TABLE cohorts;--", "@everyone", "<@&100000000000000021> **x**", &zalgo("cohort", 9)];
    for (i, name) in names.iter().enumerate() {
        let mut d = draft(name, ChannelId::new(CHANNEL.get() + 10 + i as u64), "0 0 9 * * Mon", "UTC");
        d.guild_id = GUILD.get();
        let c = h.engine.setup_cohort(d).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(c.spec.name, *name);
        assert_eq!(h.engine.store().cohort(c.id).await.unwrap().unwrap().spec.name, *name);
    }
    assert_eq!(count(&h.db, "cohorts").await, names.len() as i64);
}

#[tokio::test]
async fn pause_weeks_out_of_range_are_refused() {
    let h = Harness::new(utc(START)).await;
    let cohort = h.engine.setup_cohort(draft("staff-path", CHANNEL, "0 0 9 * * Mon", "UTC")).await.unwrap();
    h.engine.join(&cohort, user(1)).await.unwrap();
    for weeks in [0, 13, 520, u32::MAX] {
        let e = h.engine.pause(&cohort, user(1), weeks).await.unwrap_err();
        assert!(matches!(e, EngineError::PauseWeeks), "{weeks}: {e:?}");
    }
    assert!(h.engine.store().pauses(cohort.id, user(1)).await.unwrap().is_empty());
    // A stranger cannot pause (or be enrolled by pausing).
    assert!(matches!(h.engine.pause(&cohort, user(2), 1).await.unwrap_err(), EngineError::NotAMember));
    assert!(h.engine.store().member(cohort.id, user(2)).await.unwrap().is_none());
}
