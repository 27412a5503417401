//! Engine results → Discord messages, one file per surface; this file holds
//! the text helpers they share (truncation at a character boundary, times,
//! mentions that ping nobody, an ephemeral text reply). Nothing here
//! imports a handler: the handlers call in, never the other way round.
//! Anything that echoes user text is sent with mentions that ping nobody.

mod checkin;
mod desk;
mod digest;
mod dm;
mod error;
pub mod kept;
pub mod mentoring;
mod progress;
mod setup;
mod status;

use poise::serenity_prelude as serenity;
use serenity::{CreateAllowedMentions, CreateInteractionResponseMessage};

pub use checkin::*;
pub use desk::*;
pub use digest::*;
pub use dm::*;
pub use error::*;
pub use progress::*;
pub use setup::*;
pub use status::*;

/// What one embed field holds (Discord's limit).
const FIELD_MAX: usize = 1024;
const COLOUR: u32 = 0x2f7d5b;

pub fn no_mentions() -> CreateAllowedMentions {
    CreateAllowedMentions::new().empty_users().empty_roles().everyone(false).replied_user(false)
}

/// `<t:…:F>` renders in each reader's own time zone.
pub(super) fn discord_time(t: chrono::DateTime<chrono::Utc>, style: char) -> String {
    format!("<t:{}:{style}>", t.timestamp())
}

pub fn ephemeral_text(text: impl Into<String>) -> CreateInteractionResponseMessage {
    CreateInteractionResponseMessage::new()
        .content(truncate(&text.into(), 2000))
        .ephemeral(true)
        .allowed_mentions(no_mentions())
}

/// Lines joined with newlines, as many as fit in `max` characters; the rest
/// are counted in a last line made by `more`.
fn lines_within(lines: &[String], max: usize, more: impl Fn(usize) -> String) -> String {
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let rest = lines.len() - i;
        let tail = if rest > 1 { more(rest - 1).chars().count() + 1 } else { 0 };
        if out.chars().count() + line.chars().count() + 1 + tail > max {
            out.push_str(&more(rest));
            return out;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// `s` cut to at most `max` characters, ending in `…` when cut.
/// The cut is [`prefix`]'s: never inside a character or between a letter
/// and its accent, nor inside an emoji sequence.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out = prefix(s, max.saturating_sub(1)).to_string();
    out.push('…');
    out
}

/// The longest start of `s` of at most `max` characters that does not
/// split what a reader sees as one character: the cut is moved back before
/// a combining mark, a variation selector, an emoji skin tone or tag that
/// would be left behind, and before a zero-width joiner (ZWJ) that would end
/// the text. Always a char boundary, so slicing never panics.
pub fn prefix(s: &str, max: usize) -> &str {
    let mut ends = s.char_indices().map(|(i, _)| i).chain(std::iter::once(s.len())).skip(max);
    let Some(mut end) = ends.next() else { return s };
    loop {
        let before = s[..end].chars().next_back();
        let after = s[end..].chars().next();
        let splits = after.is_some_and(continues_cluster) || before == Some('\u{200D}');
        if !splits || end == 0 {
            return &s[..end];
        }
        end -= before.map_or(0, char::len_utf8);
    }
}

/// A character that belongs to the one before it.
fn continues_cluster(c: char) -> bool {
    unicode_normalization::char::is_combining_mark(c)
        || c == '\u{200D}'
        || ('\u{FE00}'..='\u{FE0F}').contains(&c)
        || ('\u{1F3FB}'..='\u{1F3FF}').contains(&c)
        || ('\u{E0020}'..='\u{E007F}').contains(&c)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::domain::{ChannelId, ChannelProblem, CheckInId, DeliveryProblems, UserId};
    use crate::engine::DigestPost;
    use crate::summary::digest::Digest;

    #[test]
    fn a_cut_never_splits_what_reads_as_one_character() {
        let family = "👩\u{200D}👩\u{200D}👧";
        assert_eq!(prefix(family, 2), "");
        assert_eq!(prefix(&format!("ab{family}"), 3), "ab");
        assert_eq!(prefix("cafe\u{301}!", 4), "caf");
        assert_eq!(prefix("👍🏽x", 1), "");
        assert_eq!(prefix("漢字かな", 2), "漢字");
        assert_eq!(prefix("abc", 10), "abc");
        assert_eq!(truncate("漢字かなカナ", 4), "漢字か…");
    }

    fn hard_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let c = prop_oneof![any::<char>(), Just('\u{200D}'), Just('\u{301}'), Just('\u{FE0F}'), Just('\u{1F3FD}')];
        proptest::collection::vec(c, 0..40).prop_map(|v| v.into_iter().collect())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        #[test]
        fn a_prefix_is_a_start_of_at_most_max_chars(s in hard_text(), max in 0usize..50) {
            let p = prefix(&s, max);
            proptest::prop_assert!(s.starts_with(p));
            proptest::prop_assert!(p.chars().count() <= max);
            // What is cut off (if anything) starts a new character.
            if !p.is_empty() && p.len() < s.len() {
                let ends_in_joiner = p.ends_with('\u{200D}');
                proptest::prop_assert!(!ends_in_joiner);
                proptest::prop_assert!(!continues_cluster(s[p.len()..].chars().next().unwrap()));
            }
        }
    }

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn problems() -> DeliveryProblems {
        DeliveryProblems {
            mentor_role_gone: None,
            channel: Some(ChannelProblem {
                channel_id: ChannelId::new(11),
                code: Some(50001),
                reason: "Missing Access".into(),
                since: at(),
            }),
            digest_channel: Some(ChannelProblem {
                channel_id: ChannelId::new(12),
                code: Some(10003),
                reason: "Unknown Channel".into(),
                since: at(),
            }),
            no_dms: (1..=12).map(UserId::new).collect(),
            left: vec![UserId::new(99)],
        }
    }

    #[test]
    fn delivery_problems_say_what_is_refused_and_what_fixes_it() {
        let text = delivery_lines(&problems(), true);
        assert!(text.contains("Trellis can't post in <#11>: missing access"), "{text}");
        assert!(text.contains("run `/cohort setup` there again"), "{text}");
        assert!(text.contains("The digest can't be posted in <#12>: the channel was deleted"), "{text}");
        assert!(text.contains("12 members can't receive DMs") && text.contains("<@10> and 2 more"), "{text}");
        assert!(text.contains("another `digest_channel`"), "a deleted channel cannot be fixed: {text}");
        assert!(!text.contains("<@11>"), "ten named at most: {text}");
        assert!(text.contains("Left the server") && text.contains("<@99>"), "{text}");
        assert!(text.chars().count() <= FIELD_MAX);
        assert!(!delivery_lines(&problems(), false).contains("digest"), "not inside the digest itself");
    }

    #[test]
    fn the_digest_names_what_discord_refuses_only_when_something_is() {
        let digest = Digest {
            checkin_id: CheckInId::new(1),
            occurrence_at: at(),
            closes_at: at(),
            track: None,
            question: "Q?".into(),
            answered: 1,
            missing: 1,
            paused: 0,
            quiet: vec![],
            tracks: Default::default(),
            window_weeks: 12,
            members: 2,
            mentoring: Default::default(),
        };
        let post = |delivery| DigestPost {
            cohort_name: "c".into(),
            channel_id: ChannelId::new(12),
            nonce: "d1-1".into(),
            digest: digest.clone(),
            delivery,
        };
        let json = serde_json::to_string(&digest_message(&post(problems()))).unwrap();
        assert!(json.contains("Discord refuses") && json.contains("can't receive DMs"), "{json}");
        let json = serde_json::to_string(&digest_message(&post(DeliveryProblems::default()))).unwrap();
        assert!(!json.contains("Discord refuses"), "{json}");
    }
}
