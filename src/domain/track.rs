use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A growth track: one of the skills that change between Senior and Staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Track {
    Scope,
    Communication,
    Influence,
    Mentoring,
    Impact,
    Judgment,
}

impl Track {
    pub const ALL: [Track; 6] =
        [Track::Scope, Track::Communication, Track::Influence, Track::Mentoring, Track::Impact, Track::Judgment];

    /// The name as stored and typed (lowercase).
    pub fn as_str(self) -> &'static str {
        match self {
            Track::Scope => "scope",
            Track::Communication => "communication",
            Track::Influence => "influence",
            Track::Mentoring => "mentoring",
            Track::Impact => "impact",
            Track::Judgment => "judgment",
        }
    }

    /// The name as people read it in titles: "Scope", "Communication", …
    pub fn title(self) -> &'static str {
        match self {
            Track::Scope => "Scope",
            Track::Communication => "Communication",
            Track::Influence => "Influence",
            Track::Mentoring => "Mentoring",
            Track::Impact => "Impact",
            Track::Judgment => "Judgment",
        }
    }

    /// The accepted names, for error messages.
    pub fn names() -> String {
        Track::ALL.map(Track::as_str).join(", ")
    }
}

impl fmt::Display for Track {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown track `{0}` (expected one of: {names})", names = Track::names())]
pub struct UnknownTrack(pub String);

impl FromStr for Track {
    type Err = UnknownTrack;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Track::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| UnknownTrack(s.to_string()))
    }
}

/// Parse a comma-separated list of tracks as stored in the database.
pub fn parse_track_list(s: &str) -> Result<Vec<Track>, UnknownTrack> {
    s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::parse).collect()
}

pub fn join_track_list(tracks: &[Track]) -> String {
    tracks.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(",")
}
