//! Every custom_id the bot puts on a button or a form, and the one parser
//! that reads them back. `render` and `parse` sit side by side and are
//! tested as a round trip: only the exact strings `render` writes parse.

use crate::domain::{CheckInId, CohortId, MessageId, PathStep, ReplyId, UserId};

const ANSWER: &str = "answer:";
const ANSWER_DRAFT: &str = "answer-draft:";
const DM_ANSWER: &str = "dm-answer:";
const IMPACT: &str = "impact:";
const FORGET_CONFIRM: &str = "forget:confirm";
const NOTE: &str = "note:";
const WEEK_PAGE: &str = "answers-week:";
const MEMBER_PAGE: &str = "answers-member:";
const PATH_PROJECT: &str = "path-project:";
const PATH_STEP: &str = "path-step:";

/// What a button's or a form's custom_id asks for. Row ids and snowflakes are
/// positive decimals with no sign, no leading zero and nothing after them;
/// pages and weeks may be 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomId {
    /// The "Answer" button under a check-in post, and the answer form.
    Answer(CheckInId),
    /// "Use for this week's check-in" under an answer given back (`Kept`).
    AnswerDraft(CheckInId),
    /// A cohort button under the member's DM `MessageId`.
    DmAnswer(CheckInId, MessageId),
    /// The impact form of a cohort.
    Impact(CohortId),
    /// "Yes, forget me" under `/cohort forget-me`.
    ForgetConfirm,
    /// A mentor's note on one answer: its button and its form.
    Note(ReplyId),
    /// A page of one check-in's answers.
    WeekPage(CheckInId, u32),
    /// A page of one member's answers, `week`s back.
    MemberPage(CohortId, UserId, u32, u32),
    /// The Staff path project form.
    PathProject(CohortId),
    /// The evidence form of one Staff path step.
    PathStep(CohortId, PathStep),
}

impl CustomId {
    /// The string Discord carries (at most 100 characters, Discord's limit).
    pub fn render(self) -> String {
        match self {
            CustomId::Answer(k) => format!("{ANSWER}{k}"),
            CustomId::AnswerDraft(k) => format!("{ANSWER_DRAFT}{k}"),
            CustomId::DmAnswer(k, m) => format!("{DM_ANSWER}{k}:{m}"),
            CustomId::Impact(c) => format!("{IMPACT}{c}"),
            CustomId::ForgetConfirm => FORGET_CONFIRM.to_string(),
            CustomId::Note(r) => format!("{NOTE}{r}"),
            CustomId::WeekPage(k, p) => format!("{WEEK_PAGE}{k}:{p}"),
            CustomId::MemberPage(c, u, w, p) => format!("{MEMBER_PAGE}{c}:{u}:{w}:{p}"),
            CustomId::PathProject(c) => format!("{PATH_PROJECT}{c}"),
            CustomId::PathStep(c, s) => format!("{PATH_STEP}{c}:{s}"),
        }
    }

    /// `None` for anything that is not exactly what [`CustomId::render`] writes.
    pub fn parse(id: &str) -> Option<CustomId> {
        if id == FORGET_CONFIRM {
            return Some(CustomId::ForgetConfirm);
        }
        let (prefix, rest) = id.split_at(id.find(':')? + 1);
        let mut parts = rest.split(':');
        let mut next = || parts.next();
        let parsed = match prefix {
            ANSWER => CustomId::Answer(CheckInId::new(positive(next()?)?)),
            ANSWER_DRAFT => CustomId::AnswerDraft(CheckInId::new(positive(next()?)?)),
            DM_ANSWER => CustomId::DmAnswer(CheckInId::new(positive(next()?)?), MessageId::new(positive(next()?)?)),
            IMPACT => CustomId::Impact(CohortId::new(positive(next()?)?)),
            NOTE => CustomId::Note(ReplyId::new(positive(next()?)?)),
            WEEK_PAGE => CustomId::WeekPage(CheckInId::new(positive(next()?)?), number(next()?)?),
            MEMBER_PAGE => {
                let (c, u) = (positive(next()?)?, positive(next()?)?);
                CustomId::MemberPage(CohortId::new(c), UserId::new(u), number(next()?)?, number(next()?)?)
            }
            PATH_PROJECT => CustomId::PathProject(CohortId::new(positive(next()?)?)),
            PATH_STEP => CustomId::PathStep(CohortId::new(positive(next()?)?), next()?.parse().ok()?),
            _ => return None,
        };
        // Nothing may follow the last part.
        if next().is_some() { None } else { Some(parsed) }
    }

    /// An id of the mentoring loop (notes, answer pages, the Staff path).
    pub fn is_mentoring(self) -> bool {
        matches!(
            self,
            CustomId::Note(_)
                | CustomId::WeekPage(..)
                | CustomId::MemberPage(..)
                | CustomId::PathProject(_)
                | CustomId::PathStep(..)
        )
    }
}

/// The one number parser of custom_ids: a canonical decimal (no sign, no
/// leading zero, ASCII digits only) that fits `T`.
fn number<T: std::str::FromStr>(digits: &str) -> Option<T> {
    let canonical =
        !digits.is_empty() && (digits == "0" || !digits.starts_with('0')) && digits.bytes().all(|b| b.is_ascii_digit());
    if canonical { digits.parse().ok() } else { None }
}

/// A positive row id or snowflake.
fn positive<T: std::str::FromStr + PartialOrd + Default>(digits: &str) -> Option<T> {
    number::<T>(digits).filter(|n| *n > T::default())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn every_shape(n: i64, m: u64, p: u32) -> Vec<CustomId> {
        let mut ids = vec![
            CustomId::Answer(CheckInId::new(n)),
            CustomId::AnswerDraft(CheckInId::new(n)),
            CustomId::DmAnswer(CheckInId::new(n), MessageId::new(m)),
            CustomId::Impact(CohortId::new(n)),
            CustomId::ForgetConfirm,
            CustomId::Note(ReplyId::new(n)),
            CustomId::WeekPage(CheckInId::new(n), p),
            CustomId::MemberPage(CohortId::new(n), UserId::new(m), p, p),
            CustomId::PathProject(CohortId::new(n)),
        ];
        ids.extend(PathStep::ALL.iter().map(|s| CustomId::PathStep(CohortId::new(n), *s)));
        ids
    }

    #[test]
    fn every_shape_round_trips_within_discords_limit() {
        for (n, m, p) in [(1, 1, 0), (42, 1_234_567_890_123_456_789, 7), (i64::MAX, u64::MAX, u32::MAX)] {
            for id in every_shape(n, m, p) {
                assert_eq!(CustomId::parse(&id.render()), Some(id), "{}", id.render());
                assert!(id.render().len() <= 100, "Discord's custom_id limit: {}", id.render());
            }
        }
        assert_eq!(CustomId::parse("answer:42"), Some(CustomId::Answer(CheckInId::new(42))));
        assert_eq!(CustomId::parse("forget:confirm"), Some(CustomId::ForgetConfirm));
        assert_eq!(CustomId::parse("answers-week:7:0"), Some(CustomId::WeekPage(CheckInId::new(7), 0)));
    }

    #[test]
    fn only_what_render_writes_is_known() {
        for bad in [
            "",
            "answer:",
            "answer:0",
            "answer:-1",
            "answer:+1",
            "answer:01",
            "answer: 1",
            "answer:1 ",
            "answer:1\0",
            "answer:١",
            "answer:9223372036854775808",
            "answer:99999999999999999999",
            "Answer:1",
            "answer:answer:1",
            "answer:1:2",
            "impact:",
            "forget:confirm ",
            "forget:",
            "answer-draft:09",
            "answer-draft:",
            "dm-answer:",
            "dm-answer:1",
            "dm-answer:1:",
            "dm-answer::1",
            "dm-answer:0:1",
            "dm-answer:1:0",
            "dm-answer:1:01",
            "dm-answer:1:2:3",
            "dm-answer:1:-2",
            "dm-answer:1:2 ",
            "dm-answer:9223372036854775808:1",
            "dm-answer:1:18446744073709551616",
            "note:",
            "note:0",
            "note:-1",
            "note:01",
            "note:1 ",
            "note:1:2",
            "answers-week:1",
            "answers-week:1:",
            "answers-week:1:01",
            "answers-week:0:1",
            "answers-week:1:2:3",
            "answers-member:1:2:3",
            "answers-member:1:0:0:0",
            "answers-member:1:2:3:4:5",
            "path-project:",
            "path-step:1",
            "path-step:1:Plan",
            "path-step:1:plan ",
        ] {
            assert_eq!(CustomId::parse(bad), None, "{bad:?}");
        }
    }

    fn config() -> ProptestConfig {
        ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn any_string_is_unknown_or_canonical(s in any::<String>()) {
            if let Some(id) = CustomId::parse(&s) {
                prop_assert_eq!(id.render(), s);
            }
        }

        #[test]
        fn prefixed_noise_is_unknown_or_canonical(
            prefix in prop_oneof![
                Just("answer:"), Just("impact:"), Just("forget:"), Just("dm-answer:"), Just("answer-draft:"),
                Just("note:"), Just("answers-week:"), Just("answers-member:"), Just("path-project:"),
                Just("path-step:"), Just("")
            ],
            tail in "[-+0-9: a-z\\x00\\u{660}-\\u{669}]{0,48}",
        ) {
            let s = format!("{prefix}{tail}");
            if let Some(id) = CustomId::parse(&s) {
                prop_assert_eq!(id.render(), s);
            }
        }

        #[test]
        fn every_id_round_trips(n in 1..=i64::MAX, m in 1..=u64::MAX, p in any::<u32>()) {
            for id in every_shape(n, m, p) {
                prop_assert_eq!(CustomId::parse(&id.render()), Some(id));
            }
        }
    }
}
