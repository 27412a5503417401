//! The prompt library and the weekly rotation. The library's text format
//! (TOML) is read by `config`; this module turns the raw entries into a
//! validated [`PromptLibrary`].

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use super::Track;

/// Discord embed descriptions hold 4096 characters; a question stays well under
/// so the post keeps room for the how-to-answer lines.
pub const MAX_QUESTION_CHARS: usize = 1000;
/// A hint is shown as one line under an impact question; Discord caps a text
/// input's placeholder at 100 characters, and the hints stay usable there too.
pub const MAX_HINT_CHARS: usize = 100;

/// One weekly question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// Stable id, e.g. `scope-07`: the rotation remembers which were asked.
    pub id: String,
    pub track: Track,
    pub question: String,
    /// Impact prompts only (always present there): what a measurable answer names.
    pub hints: Option<ImpactHints>,
}

/// Guiding questions of an impact prompt, one per part of a measurable win.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImpactHints {
    pub what_changed: String,
    pub evidence: String,
    pub who_benefited: String,
}

/// A library as written, before validation: `[[prompt]]` entries.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLibrary {
    #[serde(default)]
    pub prompt: Vec<RawPrompt>,
}

/// One `[[prompt]]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrompt {
    pub id: String,
    pub track: String,
    pub question: String,
    pub what_changed: Option<String>,
    pub evidence: Option<String>,
    pub who_benefited: Option<String>,
}

/// What is wrong with a library: the key (`prompt[3].track`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct PromptError {
    pub key: String,
    pub reason: String,
}

impl PromptError {
    fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        PromptError { key: key.into(), reason: reason.into() }
    }
}

/// A validated prompt library: ids are unique and every track has at least one prompt.
#[derive(Debug, Clone)]
pub struct PromptLibrary {
    prompts: Vec<Prompt>,
}

/// The library shipped with Trellis (`config/prompts.toml`), compiled in.
const BUILTIN: &str = include_str!("../../config/prompts.toml");

impl PromptLibrary {
    /// The library shipped with Trellis; a unit test keeps it valid.
    pub fn builtin() -> Self {
        let raw: RawLibrary = toml::from_str(BUILTIN).expect("the shipped prompt library is valid TOML");
        Self::from_raw(raw).expect("the shipped prompt library is valid")
    }

    /// Validate raw entries.
    ///
    /// # Errors
    /// [`PromptError`] naming the first bad entry's key: an empty or duplicate
    /// id, an unknown track, an empty or overlong question (over
    /// [`MAX_QUESTION_CHARS`] characters), hints missing from an impact prompt
    /// or present on another, or a track with no prompt at all.
    pub fn from_raw(raw: RawLibrary) -> Result<Self, PromptError> {
        let mut seen = HashSet::new();
        let mut prompts = Vec::with_capacity(raw.prompt.len());
        for (i, p) in raw.prompt.into_iter().enumerate() {
            let key = |field: &str| format!("prompt[{i}].{field}");
            if p.id.trim().is_empty() {
                return Err(PromptError::new(key("id"), "is empty; give a stable id such as \"scope-07\""));
            }
            if !seen.insert(p.id.clone()) {
                return Err(PromptError::new(
                    key("id"),
                    format!("duplicate id `{}`; every prompt needs its own id", p.id),
                ));
            }
            let track: Track = p
                .track
                .parse()
                .map_err(|e: super::track::UnknownTrack| PromptError::new(key("track"), e.to_string()))?;
            let len = p.question.trim().chars().count();
            if len == 0 {
                return Err(PromptError::new(key("question"), "is empty; write the question"));
            }
            if len > MAX_QUESTION_CHARS {
                return Err(PromptError::new(
                    key("question"),
                    format!("is {len} characters; at most {MAX_QUESTION_CHARS} fit a Discord post"),
                ));
            }
            let hints =
                [("what_changed", p.what_changed), ("evidence", p.evidence), ("who_benefited", p.who_benefited)];
            let mut given = Vec::with_capacity(3);
            for (field, hint) in hints {
                match (track, hint) {
                    (Track::Impact, None) => {
                        return Err(PromptError::new(
                            key(field),
                            "is missing; impact prompts need what_changed, evidence and who_benefited",
                        ));
                    }
                    (Track::Impact, Some(h)) => {
                        let n = h.trim().chars().count();
                        if n == 0 || n > MAX_HINT_CHARS {
                            return Err(PromptError::new(
                                key(field),
                                format!("must be 1..={MAX_HINT_CHARS} characters (it is {n})"),
                            ));
                        }
                        given.push(h.trim().to_string());
                    }
                    (_, Some(_)) => {
                        return Err(PromptError::new(key(field), "is only allowed on impact prompts"));
                    }
                    (_, None) => {}
                }
            }
            let hints = match <[String; 3]>::try_from(given) {
                Ok([what_changed, evidence, who_benefited]) => {
                    Some(ImpactHints { what_changed, evidence, who_benefited })
                }
                Err(_) => None,
            };
            prompts.push(Prompt { id: p.id, track, question: p.question, hints });
        }
        for track in Track::ALL {
            if !prompts.iter().any(|p| p.track == track) {
                return Err(PromptError::new(
                    "prompt",
                    format!("has no prompt for track `{track}`; every track needs at least one"),
                ));
            }
        }
        Ok(PromptLibrary { prompts })
    }

    /// Every prompt, in library order.
    pub fn prompts(&self) -> &[Prompt] {
        &self.prompts
    }

    /// The prompt with this id, if the library still has it.
    pub fn by_id(&self, id: &str) -> Option<&Prompt> {
        self.prompts.iter().find(|p| p.id == id)
    }

    /// The prompt for a cohort's next check-in.
    ///
    /// `history` lists the prompt ids of the cohort's earlier posted check-ins,
    /// oldest first. Check-in k (k = history length) takes track
    /// `rotation[k % len]`; within that track, the prompt the cohort has gone
    /// longest without (never used first, then library order).
    pub fn choose(&self, rotation: &[Track], history: &[String]) -> &Prompt {
        let rotation = if rotation.is_empty() { &Track::ALL[..] } else { rotation };
        let track = rotation[history.len() % rotation.len()];
        let last_used: HashMap<&str, usize> = history.iter().enumerate().map(|(i, id)| (id.as_str(), i + 1)).collect();
        self.prompts
            .iter()
            .filter(|p| p.track == track)
            .min_by_key(|p| last_used.get(p.id.as_str()).copied().unwrap_or(0))
            // `from_raw` refuses a library with a track that has no prompt.
            .expect("every track has a prompt")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_library_is_valid_and_rich() {
        let lib = PromptLibrary::builtin();
        for t in Track::ALL {
            let n = lib.prompts().iter().filter(|p| p.track == t).count();
            assert!(n >= 5, "track {t} has only {n} prompts");
        }
    }

    #[test]
    fn rotation_covers_every_track_before_repeating_and_is_deterministic() {
        let lib = PromptLibrary::builtin();
        let mut history = Vec::new();
        let mut tracks = Vec::new();
        for _ in 0..6 {
            let p = lib.choose(&Track::ALL, &history);
            tracks.push(p.track);
            history.push(p.id.clone());
        }
        let unique: HashSet<_> = tracks.iter().collect();
        assert_eq!(unique.len(), 6, "{tracks:?}");
        assert_eq!(tracks, Track::ALL.to_vec());

        // Same history, same answer.
        let again: Vec<_> = (0..6).map(|k| lib.choose(&Track::ALL, &history[..k]).id.clone()).collect();
        assert_eq!(again, history);
    }

    #[test]
    fn within_a_track_the_longest_unused_prompt_comes_next() {
        let lib = PromptLibrary::builtin();
        let rotation = [Track::Scope];
        let scope: Vec<_> = lib.prompts().iter().filter(|p| p.track == Track::Scope).collect();
        let mut history = Vec::new();
        for _ in 0..scope.len() {
            history.push(lib.choose(&rotation, &history).id.clone());
        }
        // Every scope prompt once, in library order, then the first again.
        let ids: Vec<_> = scope.iter().map(|p| p.id.clone()).collect();
        assert_eq!(history, ids);
        assert_eq!(lib.choose(&rotation, &history).id, ids[0]);
    }

    fn one_per_track() -> String {
        Track::ALL
            .iter()
            .map(|t| {
                let extra = if *t == Track::Impact {
                    "what_changed = \"w\"\nevidence = \"e\"\nwho_benefited = \"b\"\n"
                } else {
                    ""
                };
                format!("[[prompt]]\nid = \"{t}-1\"\ntrack = \"{t}\"\nquestion = \"q\"\n{extra}\n")
            })
            .collect()
    }

    fn parse(text: &str) -> Result<PromptLibrary, PromptError> {
        PromptLibrary::from_raw(toml::from_str(text).map_err(|e| PromptError::new("", e.to_string()))?)
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn library_errors_name_key_and_reason() {
        assert!(parse(&one_per_track()).is_ok());

        let e = err(&format!("{}[[prompt]]\nid = \"x\"\ntrack = \"vibes\"\nquestion = \"q\"\n", one_per_track()));
        assert!(e.contains("prompt[6].track") && e.contains("unknown track `vibes`"), "{e}");

        let e = err(&format!("{}[[prompt]]\nid = \"scope-1\"\ntrack = \"scope\"\nquestion = \"q\"\n", one_per_track()));
        assert!(e.contains("prompt[6].id") && e.contains("duplicate id `scope-1`"), "{e}");

        let e = err(&format!("{}[[prompt]]\nid = \"y\"\ntrack = \"scope\"\nquestion = \"  \"\n", one_per_track()));
        assert!(e.contains("prompt[6].question") && e.contains("empty"), "{e}");

        let long = "a".repeat(MAX_QUESTION_CHARS + 1);
        let e = err(&format!("{}[[prompt]]\nid = \"y\"\ntrack = \"scope\"\nquestion = \"{long}\"\n", one_per_track()));
        assert!(e.contains("prompt[6].question") && e.contains("1001 characters"), "{e}");

        let e = err(&format!(
            "{}[[prompt]]\nid = \"y\"\ntrack = \"scope\"\nquestion = \"q\"\ncolour = 1\n",
            one_per_track()
        ));
        assert!(e.contains("colour"), "{e}");

        let e = err("[[prompt]]\nid = \"a\"\ntrack = \"scope\"\nquestion = \"q\"\n");
        assert!(e.contains("no prompt for track `communication`"), "{e}");
    }
}
