//! Which check-ins each member answered: what the cohort status, the
//! digest, the export and the mentoring summary are computed from. Its own
//! module, so that each of those depends on it and none on another.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::domain::{CheckInId, Member, Pause, Reply, UserId};

/// What the cohort view needs of one member: no answer text, only which
/// check-ins they answered. The store fetches this for a whole cohort at once.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberActivity {
    pub member: Member,
    pub pauses: Vec<Pause>,
    /// Ids of the cohort's check-ins the member answered, ascending.
    pub answered: Vec<CheckInId>,
    /// Newest answer (or edit of one).
    pub last_answer: Option<DateTime<Utc>>,
}

impl MemberActivity {
    /// From full reply rows (any members'; each goes to its author).
    pub fn from_replies(members: &[(Member, Vec<Pause>)], replies: &[Reply]) -> Vec<MemberActivity> {
        let mut by_user: BTreeMap<UserId, (Vec<CheckInId>, Option<DateTime<Utc>>)> = BTreeMap::new();
        for r in replies {
            let (ids, last) = by_user.entry(r.user_id).or_default();
            ids.push(r.checkin_id);
            *last = (*last).max(Some(r.updated_at));
        }
        members
            .iter()
            .map(|(member, pauses)| {
                let (mut answered, last_answer) = by_user.get(&member.user_id).cloned().unwrap_or_default();
                answered.sort_unstable();
                MemberActivity { member: member.clone(), pauses: pauses.clone(), answered, last_answer }
            })
            .collect()
    }
}
