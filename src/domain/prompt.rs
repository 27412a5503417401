//! The prompt library (`config/prompts.toml`) and the weekly rotation.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use super::Track;
use crate::config::ConfigError;

/// Discord embed descriptions hold 4096 characters; a question stays well under
/// so the post keeps room for the how-to-answer lines.
pub const MAX_QUESTION_CHARS: usize = 1000;
/// Shown as a modal text-input placeholder, which Discord caps at 100.
pub const MAX_HINT_CHARS: usize = 100;

/// One weekly question.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prompt {
    pub id: String,
    pub track: String,
    pub question: String,
    /// Impact prompts only: guiding questions for the fields a measurable win needs.
    pub what_changed: Option<String>,
    pub evidence: Option<String>,
    pub who_benefited: Option<String>,
}

impl Prompt {
    pub fn track(&self) -> Track {
        // Validated at load.
        self.track.parse().expect("validated track")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PromptFile {
    #[serde(default)]
    prompt: Vec<Prompt>,
}

/// A validated prompt library: every track has at least one prompt.
#[derive(Debug, Clone)]
pub struct PromptLibrary {
    prompts: Vec<Prompt>,
}

impl PromptLibrary {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(path, "", format!("cannot read the prompt library: {e}")))?;
        Self::parse(path, &text)
    }

    /// The library shipped with Trellis, compiled in.
    pub fn builtin() -> Self {
        Self::parse(Path::new("config/prompts.toml"), include_str!("../../config/prompts.toml"))
            .expect("the shipped prompt library is valid")
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let file: PromptFile = crate::config::parse_toml(path, text)?;
        let mut seen = HashSet::new();
        for (i, p) in file.prompt.iter().enumerate() {
            let key = |field: &str| format!("prompt[{i}].{field}");
            if p.id.trim().is_empty() {
                return Err(ConfigError::new(path, key("id"), "is empty; give a stable id such as \"scope-07\""));
            }
            if !seen.insert(p.id.as_str()) {
                return Err(ConfigError::new(
                    path,
                    key("id"),
                    format!("duplicate id `{}`; every prompt needs its own id", p.id),
                ));
            }
            let track: Track = p
                .track
                .parse()
                .map_err(|e: super::track::UnknownTrack| ConfigError::new(path, key("track"), e.to_string()))?;
            let len = p.question.trim().chars().count();
            if len == 0 {
                return Err(ConfigError::new(path, key("question"), "is empty; write the question"));
            }
            if len > MAX_QUESTION_CHARS {
                return Err(ConfigError::new(
                    path,
                    key("question"),
                    format!("is {len} characters; at most {MAX_QUESTION_CHARS} fit a Discord post"),
                ));
            }
            let hints =
                [("what_changed", &p.what_changed), ("evidence", &p.evidence), ("who_benefited", &p.who_benefited)];
            for (field, hint) in hints {
                match (track, hint) {
                    (Track::Impact, None) => {
                        return Err(ConfigError::new(
                            path,
                            key(field),
                            "is missing; impact prompts need what_changed, evidence and who_benefited",
                        ));
                    }
                    (Track::Impact, Some(h)) => {
                        let n = h.trim().chars().count();
                        if n == 0 || n > MAX_HINT_CHARS {
                            return Err(ConfigError::new(
                                path,
                                key(field),
                                format!("must be 1..={MAX_HINT_CHARS} characters (it is {n})"),
                            ));
                        }
                    }
                    (_, Some(_)) => {
                        return Err(ConfigError::new(path, key(field), "is only allowed on impact prompts"));
                    }
                    (_, None) => {}
                }
            }
        }
        for track in Track::ALL {
            if !file.prompt.iter().any(|p| p.track == track.as_str()) {
                return Err(ConfigError::new(
                    path,
                    "prompt",
                    format!("has no prompt for track `{track}`; every track needs at least one"),
                ));
            }
        }
        Ok(PromptLibrary { prompts: file.prompt })
    }

    pub fn prompts(&self) -> &[Prompt] {
        &self.prompts
    }

    pub fn get(&self, id: &str) -> Option<&Prompt> {
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
            .filter(|p| p.track == track.as_str())
            .min_by_key(|p| last_used.get(p.id.as_str()).copied().unwrap_or(0))
            .expect("every track has a prompt")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_library_is_valid_and_rich() {
        let lib = PromptLibrary::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config/prompts.toml"))).unwrap();
        for t in Track::ALL {
            let n = lib.prompts().iter().filter(|p| p.track() == t).count();
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
            tracks.push(p.track());
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
        let scope: Vec<_> = lib.prompts().iter().filter(|p| p.track() == Track::Scope).collect();
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

    fn err(text: &str) -> String {
        PromptLibrary::parse(Path::new("prompts.toml"), text).unwrap_err().to_string()
    }

    #[test]
    fn library_errors_name_key_and_reason() {
        assert!(PromptLibrary::parse(Path::new("p.toml"), &one_per_track()).is_ok());

        let e = err(&format!("{}[[prompt]]\nid = \"x\"\ntrack = \"vibes\"\nquestion = \"q\"\n", one_per_track()));
        assert!(
            e.contains("prompts.toml") && e.contains("prompt[6].track") && e.contains("unknown track `vibes`"),
            "{e}"
        );

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
