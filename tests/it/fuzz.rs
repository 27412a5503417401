//! Property-based fuzzing (proptest, 256 cases per property) of what members
//! and operators type: the modal parsers, the config loader and the prompt
//! library parser. Arbitrary input must never panic; accepted input keeps the
//! invariants the rest of Trellis relies on; refused input says which key and
//! why. (The custom_id parser is fuzzed beside it, in
//! `src/discord/custom_id.rs`, where it is visible.)

use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::Config;
use trellis::config::{ConfigError, Settings, Sources, parse_prompts};
use trellis::domain::{AnswerInput, ImpactInput, InputError};

fn config() -> Config {
    // No regression files in the tree; a failure prints its minimal input.
    Config { cases: 256, failure_persistence: None, ..Config::default() }
}

/// Text that lives near the edges: whitespace of every kind, invisible
/// characters, NUL and control bytes, combining marks, astral characters,
/// mention and SQL syntax, in runs long enough to cross 4000 characters.
fn edgy_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(" ".to_string()),
        Just("\t\r\n".to_string()),
        Just("\u{00A0}\u{3000}\u{2028}".to_string()),
        Just("\u{200B}\u{200D}\u{FEFF}\u{2060}".to_string()),
        Just("\u{3164}\u{2800}".to_string()),
        Just("\0".to_string()),
        Just("\u{1b}[2J\u{7}".to_string()),
        Just("\u{0336}\u{0489}".to_string()),
        Just("🚀".to_string()),
        Just("@everyone <@&1> <@2>".to_string()),
        Just("'); DROP TABLE replies;--".to_string()),
        Just("\u{202E}".to_string()),
        "[a-z0-9 ]{1,8}",
        any::<String>(),
    ];
    (prop::collection::vec(piece, 0..12), 0usize..4200, prop::sample::select(vec!['x', ' ', '\u{200B}', '🚀']))
        .prop_map(|(pieces, pad, c)| {
            let mut s: String = pieces.concat();
            s.extend(std::iter::repeat_n(c, pad));
            s
        })
}

fn confidence_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[0-9]{1,3}",
        "[ +\\-]?[0-9]{1,25}[ .]?",
        "\\PC{0,30}",
        any::<String>(),
        "[1-5]".prop_map(|d| format!(" {d}\t")),
    ]
}

fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{3164}' | '\u{2800}')
}

fn message_is_short_and_inert(e: &InputError) -> Result<(), TestCaseError> {
    let m = e.to_string();
    prop_assert!(!m.is_empty() && m.chars().count() < 300, "{m:?}");
    prop_assert!(!m.contains('\0'), "{m:?}");
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn answer_parse_never_panics_and_keeps_its_promises(answer in edgy_text(), confidence in confidence_text()) {
        match AnswerInput::parse(&answer, &confidence) {
            Ok(input) => {
                prop_assert_eq!(input.text.as_str(), answer.trim());
                let n = input.text.chars().count();
                prop_assert!((1..=4000).contains(&n), "{n} characters accepted");
                prop_assert!(!input.text.contains('\0'));
                prop_assert!(!input.text.chars().all(is_invisible), "blank answer accepted: {:?}", input.text);
                prop_assert!(input.confidence.is_none_or(|c| (1..=5).contains(&c)));
                prop_assert_eq!(input.confidence.is_none(), confidence.trim().is_empty());
            }
            Err(e) => message_is_short_and_inert(&e)?,
        }
    }

    #[test]
    fn answer_of_any_strings(answer in any::<String>(), confidence in any::<String>()) {
        match AnswerInput::parse(&answer, &confidence) {
            Ok(input) => prop_assert_eq!(input.text.as_str(), answer.trim()),
            Err(e) => message_is_short_and_inert(&e)?,
        }
    }

    #[test]
    fn impact_parse_never_panics_and_keeps_its_promises(
        what in edgy_text(),
        evidence in edgy_text(),
        who in "\\PC{0,40}",
        link in prop_oneof![Just(String::new()), "https?://[a-z./()\\[\\]%?=&-]{0,40}", "\\PC{0,20}", any::<String>()],
    ) {
        match ImpactInput::parse(&what, &evidence, &who, &link) {
            Ok(i) => {
                for (field, raw) in [(&i.what_changed, &what), (&i.evidence, &evidence), (&i.who_benefited, &who)] {
                    prop_assert_eq!(field.as_str(), raw.trim());
                    prop_assert!((1..=1000).contains(&field.chars().count()));
                    prop_assert!(!field.contains('\0') && !field.chars().all(is_invisible));
                }
                if let Some(l) = &i.link {
                    prop_assert!(l.starts_with("https://") || l.starts_with("http://"), "{l:?}");
                    prop_assert!(!l.contains(|c: char| c.is_whitespace() || c.is_control()), "{l:?}");
                    prop_assert!(l.chars().count() <= 512);
                } else {
                    prop_assert!(link.trim().is_empty());
                }
            }
            Err(e) => message_is_short_and_inert(&e)?,
        }
    }
}

// ---- config loader -------------------------------------------------------------

fn load_text(text: &str) -> Result<Settings, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trellis.toml");
    std::fs::write(&path, text).unwrap();
    Settings::load(Sources { explicit_config: Some(path), ..Sources::default() })
}

fn explains(e: &ConfigError) -> Result<(), TestCaseError> {
    prop_assert!(!e.reason.trim().is_empty(), "no reason: {e:?}");
    prop_assert!(e.file.ends_with("trellis.toml"), "{e:?}");
    prop_assert!(!e.to_string().is_empty());
    Ok(())
}

const VALID_COHORT: [(&str, &str); 9] = [
    ("name", "\"cohort-a\""),
    ("guild_id", "111111111111111111"),
    ("channel_id", "222222222222222222"),
    ("mentor_role_id", "333333333333333333"),
    ("schedule", "\"0 0 9 * * Mon\""),
    ("timezone", "\"Europe/Berlin\""),
    ("reminder_after", "\"48h\""),
    ("digest_channel_id", "444444444444444444"),
    ("tracks", "[\"scope\", \"impact\"]"),
];

/// A TOML value of any type, including wrong ones for every key.
fn any_toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("18446744073709551615".to_string()),
        Just("9223372036854775808".to_string()),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| format!("{f:?}")),
        any::<bool>().prop_map(|b| b.to_string()),
        Just("1979-05-27T07:32:00Z".to_string()),
        Just("[]".to_string()),
        Just("[1, \"two\"]".to_string()),
        Just("{ a = 1 }".to_string()),
        "\\PC{0,30}".prop_map(|s| toml_string(&s)),
        prop::sample::select(vec!["* * * * *", "0 0 9 31 2 *", "0 0 9 * * Mon 1999", "Mars/Olympus", "48", "0s", ""])
            .prop_map(toml_string),
    ]
}

fn toml_string(s: &str) -> String {
    // A TOML basic string: escape what TOML requires.
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One thing wrong with an otherwise valid cohort.
#[derive(Debug, Clone)]
enum Mutation {
    Drop(usize),
    Retype(usize, String),
    Unknown(String, String),
    TopLevelUnknown(String),
    DuplicateName,
    DigestIsChannel,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0usize..6).prop_map(Mutation::Drop),
        (0usize..9, any_toml_value()).prop_map(|(i, v)| Mutation::Retype(i, v)),
        ("[a-z_]{1,12}", any_toml_value()).prop_map(|(k, v)| Mutation::Unknown(k, v)),
        "[a-z_]{1,12}".prop_map(Mutation::TopLevelUnknown),
        Just(Mutation::DuplicateName),
        Just(Mutation::DigestIsChannel),
    ]
}

fn cohort_text(fields: &[(String, String)]) -> String {
    let mut s = String::from("[[cohort]]\n");
    for (k, v) in fields {
        s.push_str(&format!("{k} = {v}\n"));
    }
    s
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn config_of_any_text_loads_or_explains(text in prop_oneof![any::<String>(), "[\\[\\]a-z_=\"0-9 \n.#{},-]{0,200}"]) {
        if let Err(e) = load_text(&text) {
            explains(&e)?;
        }
    }

    #[test]
    fn structured_but_wrong_config_is_refused_with_its_key(m in mutation()) {
        let mut fields: Vec<(String, String)> =
            VALID_COHORT.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut prefix = String::new();
        let mut second = None;
        // The key (or text) the error must point at.
        let blame: String;
        let mut may_pass = false;
        match &m {
            Mutation::Drop(i) => {
                blame = fields.remove(*i).0;
            }
            Mutation::Retype(i, v) => {
                blame = fields[*i].0.clone();
                // Some values are also valid for their key (a string for a string key).
                may_pass = true;
                fields[*i].1 = v.clone();
            }
            Mutation::Unknown(k, v) => {
                may_pass = VALID_COHORT.iter().any(|(key, _)| key == k);
                blame = k.clone();
                fields.push((k.clone(), v.clone()));
            }
            Mutation::TopLevelUnknown(k) => {
                may_pass = ["prompts", "database", "cohort"].contains(&k.as_str());
                blame = k.clone();
                prefix = format!("{k} = 1\n");
            }
            Mutation::DuplicateName => {
                blame = "name".into();
                let mut other = fields.clone();
                other[2].1 = "222222222222222223".into();
                other[7].1 = "444444444444444445".into();
                second = Some(other);
            }
            Mutation::DigestIsChannel => {
                blame = "digest_channel_id".into();
                fields[7].1 = fields[2].1.clone();
            }
        }
        let mut text = prefix + &cohort_text(&fields);
        if let Some(other) = second {
            text.push_str(&cohort_text(&other));
        }
        match load_text(&text) {
            Ok(_) => prop_assert!(may_pass, "accepted {m:?}:\n{text}"),
            Err(e) => {
                explains(&e)?;
                let said = format!("{} {}", e.key, e.reason);
                // A TOML-level error (an integer past i64) has no key yet: it points at the line.
                prop_assert!(said.contains(&blame) || !e.key.is_empty() || e.reason.contains("(line "), "{m:?}: {e}");
                match m {
                    Mutation::Retype(..) => {}
                    Mutation::Unknown(..) => {
                        prop_assert!(said.contains(&blame) || e.reason.contains("(line "), "{m:?} not named: {e}")
                    }
                    _ => prop_assert!(said.contains(&blame), "{m:?} not named: {e}"),
                }
            }
        }
    }
}

// ---- prompt library ------------------------------------------------------------

const TRACKS: [&str; 6] = ["scope", "communication", "influence", "mentoring", "impact", "judgment"];

fn prompt_text(id: &str, track: &str, question: &str, hints: bool) -> String {
    let mut s = format!(
        "[[prompt]]\nid = {}\ntrack = {}\nquestion = {}\n",
        toml_string(id),
        toml_string(track),
        toml_string(question)
    );
    if hints {
        s.push_str("what_changed = \"w\"\nevidence = \"e\"\nwho_benefited = \"b\"\n");
    }
    s
}

fn valid_library() -> Vec<(String, String, String, bool)> {
    TRACKS
        .iter()
        .map(|t| (format!("{t}-01"), t.to_string(), format!("A question about {t}?"), *t == "impact"))
        .collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn prompt_library_of_any_text_loads_or_explains(text in prop_oneof![any::<String>(), "[\\[\\]a-z_=\"0-9 \n.]{0,200}"]) {
        if let Err(e) = parse_prompts(Path::new("prompts.toml"), &text) {
            prop_assert!(!e.reason.trim().is_empty(), "{e:?}");
        }
    }

    #[test]
    fn one_bad_prompt_is_named(
        which in 0usize..6,
        field in 0usize..4,
        value in prop_oneof![Just(String::new()), Just(" \t".to_string()), "\\PC{0,12}", Just("x".repeat(1001))],
    ) {
        let mut library = valid_library();
        let key = match field {
            0 => { library[which].0 = value.clone(); "id" }
            1 => { library[which].1 = value.clone(); "track" }
            2 => { library[which].2 = value.clone(); "question" }
            // A duplicate id.
            _ => { library[which].0 = library[(which + 1) % 6].0.clone(); "id" }
        };
        let text: String = library.iter().map(|(i, t, q, h)| prompt_text(i, t, q, *h)).collect();
        match parse_prompts(Path::new("prompts.toml"), &text) {
            Ok(lib) => {
                // Only a value that is itself valid may pass, and then it is kept.
                prop_assert!(field < 3, "duplicate accepted");
                prop_assert_eq!(lib.prompts().len(), 6);
            }
            Err(e) => {
                prop_assert!(e.key.starts_with("prompt") && !e.reason.is_empty(), "{e:?}");
                // A changed track may instead leave another track empty or misplace hints.
                if field != 1 {
                    prop_assert!(format!("{} {}", e.key, e.reason).contains(key), "{key}: {e}");
                }
            }
        }
    }
}
