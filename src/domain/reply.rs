//! Validation of what members type: answers, confidence, impact entries.

use super::Track;

/// Discord's text-input ceiling, and ours.
pub const MAX_ANSWER_CHARS: usize = 4000;
pub const MAX_IMPACT_FIELD_CHARS: usize = 1000;
pub const MAX_LINK_CHARS: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("Your answer is empty. Write at least one character (up to {MAX_ANSWER_CHARS}).")]
    EmptyAnswer,
    #[error("Your answer is {0} characters; the limit is {MAX_ANSWER_CHARS}. Shorten it and submit again.")]
    AnswerTooLong(usize),
    #[error("Confidence must be a whole number from 1 to 5, or left empty (you entered `{0}`).")]
    Confidence(String),
    #[error("`{field}` is empty; describe it in a sentence or two (up to {MAX_IMPACT_FIELD_CHARS} characters).")]
    EmptyField { field: &'static str },
    #[error("`{field}` is {len} characters; the limit is {max}.")]
    FieldTooLong { field: &'static str, len: usize, max: usize },
    #[error("The link must be one http:// or https:// address without spaces (or be left empty).")]
    Link,
    #[error("The text contains a NUL character, which cannot be stored. Remove it and submit again.")]
    Nul,
    /// A required text field with nothing a reader could see in it.
    #[error("`{field}` is empty; write at least a few words (up to {max} characters).")]
    Blank { field: &'static str, max: usize },
}

/// A validated answer to a check-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerInput {
    pub text: String,
    pub confidence: Option<u8>,
}

impl AnswerInput {
    /// Validate raw modal or DM values. The answer is trimmed; length is counted
    /// in characters (what Discord counts), not bytes.
    pub fn parse(answer: &str, confidence: &str) -> Result<Self, InputError> {
        let text = answer.trim();
        if text.contains('\0') {
            return Err(InputError::Nul);
        }
        let len = text.chars().count();
        if is_blank(text) {
            return Err(InputError::EmptyAnswer);
        }
        if len > MAX_ANSWER_CHARS {
            return Err(InputError::AnswerTooLong(len));
        }
        Ok(AnswerInput { text: text.to_string(), confidence: parse_confidence(confidence)? })
    }
}

pub fn parse_confidence(raw: &str) -> Result<Option<u8>, InputError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.parse::<u8>() {
        Ok(n @ 1..=5) => Ok(Some(n)),
        // Echoed back inside a code span: keep it short, printable and unable to close the span.
        _ => Err(InputError::Confidence(raw.chars().filter(|c| !c.is_control() && *c != '`').take(20).collect())),
    }
}

/// Nothing a reader could see: whitespace, and the invisible characters that
/// `trim` keeps (zero-width spaces and joiners, direction marks, word joiner,
/// BOM, Hangul fillers, Braille blank, variation selectors, tag characters).
pub(crate) fn is_blank(s: &str) -> bool {
    s.chars().all(|c| {
        c.is_whitespace()
            || matches!(
                c,
                '\u{00AD}'
                    | '\u{034F}'
                    | '\u{061C}'
                    | '\u{115F}'
                    | '\u{1160}'
                    | '\u{17B4}'
                    | '\u{17B5}'
                    | '\u{180B}'..='\u{180F}'
                    | '\u{200B}'..='\u{200F}'
                    | '\u{202A}'..='\u{202E}'
                    | '\u{2060}'..='\u{206F}'
                    | '\u{2800}'
                    | '\u{3164}'
                    | '\u{FE00}'..='\u{FE0F}'
                    | '\u{FEFF}'
                    | '\u{FFA0}'
                    | '\u{1D173}'..='\u{1D17A}'
                    | '\u{E0000}'..='\u{E0FFF}'
            )
    })
}

/// An optional link: empty is `None`; otherwise one `http://` or `https://`
/// address of at most [`MAX_LINK_CHARS`] characters, without spaces or
/// control characters.
pub fn parse_link(link: &str) -> Result<Option<String>, InputError> {
    let link = link.trim();
    if link.contains('\0') {
        return Err(InputError::Nul);
    }
    if link.is_empty() {
        Ok(None)
    } else if link.chars().count() > MAX_LINK_CHARS {
        Err(InputError::FieldTooLong { field: "link", len: link.chars().count(), max: MAX_LINK_CHARS })
    } else if (link.starts_with("https://") || link.starts_with("http://"))
        && !link.contains(|c: char| c.is_whitespace() || c.is_control())
    {
        Ok(Some(link.to_string()))
    } else {
        Err(InputError::Link)
    }
}

/// A required text field, trimmed: not blank ([`InputError::Blank`]), at
/// most `max` characters (counted as Discord counts them), no NUL.
pub fn parse_text(field: &'static str, raw: &str, max: usize) -> Result<String, InputError> {
    let text = raw.trim();
    if text.contains('\0') {
        return Err(InputError::Nul);
    }
    if is_blank(text) {
        return Err(InputError::Blank { field, max });
    }
    let len = text.chars().count();
    if len > max {
        return Err(InputError::FieldTooLong { field, len, max });
    }
    Ok(text.to_string())
}

/// A validated measurable win.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImpactInput {
    pub what_changed: String,
    pub evidence: String,
    pub who_benefited: String,
    pub link: Option<String>,
    pub tracks: Vec<Track>,
}

impl ImpactInput {
    pub fn parse(what_changed: &str, evidence: &str, who_benefited: &str, link: &str) -> Result<Self, InputError> {
        let field = |name: &'static str, v: &str| -> Result<String, InputError> {
            let v = v.trim();
            if v.contains('\0') {
                return Err(InputError::Nul);
            }
            let len = v.chars().count();
            if is_blank(v) {
                return Err(InputError::EmptyField { field: name });
            }
            if len > MAX_IMPACT_FIELD_CHARS {
                return Err(InputError::FieldTooLong { field: name, len, max: MAX_IMPACT_FIELD_CHARS });
            }
            Ok(v.to_string())
        };
        let link = parse_link(link)?;
        Ok(ImpactInput {
            what_changed: field("what changed", what_changed)?,
            evidence: field("evidence or metric", evidence)?,
            who_benefited: field("who benefited", who_benefited)?,
            link,
            tracks: vec![Track::Impact],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_lengths() {
        assert_eq!(AnswerInput::parse("", "").unwrap_err(), InputError::EmptyAnswer);
        assert_eq!(AnswerInput::parse("  \n\t ", "").unwrap_err(), InputError::EmptyAnswer);
        assert_eq!(AnswerInput::parse("a", "").unwrap().text, "a");
        assert_eq!(AnswerInput::parse(&"a".repeat(4000), "").unwrap().text.len(), 4000);
        assert_eq!(AnswerInput::parse(&"a".repeat(4001), "").unwrap_err(), InputError::AnswerTooLong(4001));
        // Characters, not bytes: 4000 four-byte emoji fit.
        assert!(AnswerInput::parse(&"🚀".repeat(4000), "").is_ok());
        let rtl = "שלום עולם، مرحبا بالعالم";
        assert_eq!(AnswerInput::parse(rtl, "").unwrap().text, rtl);
        assert_eq!(AnswerInput::parse("a\0b", "").unwrap_err(), InputError::Nul);
        // Invisible-only text is as empty as whitespace: `trim` keeps these.
        for blank in ["\u{200B}", "\u{200B}\u{200D}\u{FEFF}", " \u{2800} ", "\u{3164}\u{E0041}"] {
            assert_eq!(AnswerInput::parse(blank, "").unwrap_err(), InputError::EmptyAnswer, "{blank:?}");
        }
        assert_eq!(AnswerInput::parse("\u{200B}a", "").unwrap().text, "\u{200B}a");
    }

    #[test]
    fn confidence_values() {
        assert_eq!(parse_confidence("").unwrap(), None);
        assert_eq!(parse_confidence(" 3 ").unwrap(), Some(3));
        for bad in ["0", "6", "eleven", "-1", "3.5", "99999999999999999999"] {
            let e = parse_confidence(bad).unwrap_err();
            assert!(e.to_string().contains("from 1 to 5"), "{bad}: {e}");
        }
    }

    #[test]
    fn impact_fields() {
        let ok = ImpactInput::parse("p99 down", "820ms → 310ms", "checkout", "https://x.test/1").unwrap();
        assert_eq!(ok.link.as_deref(), Some("https://x.test/1"));
        assert!(matches!(ImpactInput::parse("", "e", "b", ""), Err(InputError::EmptyField { .. })));
        assert_eq!(ImpactInput::parse("w", "e", "b", "javascript:alert(1)").unwrap_err(), InputError::Link);
        assert_eq!(ImpactInput::parse("w", "e", "b", "").unwrap().link, None);
        assert_eq!(ImpactInput::parse("w", "e", "b", "https://x.test/\0").unwrap_err(), InputError::Nul);
        assert_eq!(ImpactInput::parse("w", "e", "b", "https://x.test/\u{1b}[2J").unwrap_err(), InputError::Link);
        assert!(matches!(ImpactInput::parse("\u{200B}", "e", "b", ""), Err(InputError::EmptyField { .. })));
    }

    #[test]
    fn confidence_echo_is_short_and_inert() {
        let e = parse_confidence(&format!("`@everyone`\0{}", "9".repeat(5000))).unwrap_err();
        let InputError::Confidence(echo) = &e else { panic!("{e:?}") };
        assert!(echo.chars().count() <= 20 && !echo.contains('`') && !echo.contains('\0'), "{echo:?}");
    }
}
