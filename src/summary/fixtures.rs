//! Rows for the summaries' unit tests: a weekly ledger from Monday
//! 2027-01-04 09:00 UTC, members, answers, impact entries and notes.

use chrono::{DateTime, Duration, Utc};

use crate::domain::{
    CheckIn, CheckInId, CheckInStatus, CohortId, ImpactEntry, ImpactId, Member, MessageId, Note, NoteId, PostedPrompt,
    Reply, ReplyId, Track, UserId,
};

pub const ALICE: UserId = UserId::new(11);
pub const BOB: UserId = UserId::new(22);

/// Week `k`'s Monday 09:00 UTC.
pub fn week(k: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2027-01-04T09:00:00Z").unwrap().with_timezone(&Utc) + Duration::weeks(k)
}

/// Check-in `id`, posted at `week(k)` and closing a week later, on `track`
/// with prompt `prompt` (its question `"Q <prompt>?"`).
pub fn checkin(id: i64, k: i64, track: Track, prompt: &str) -> CheckIn {
    CheckIn {
        id: CheckInId::new(id),
        cohort_id: CohortId::new(1),
        occurrence_at: week(k),
        closes_at: week(k + 1),
        nonce: format!("n-{id}"),
        status: CheckInStatus::Posted,
        prompt: Some(PostedPrompt { id: prompt.into(), track, question: format!("Q {prompt}?") }),
        message_id: Some(MessageId::new(1000 + id as u64)),
    }
}

pub fn member(user_id: UserId, joined_at: DateTime<Utc>) -> Member {
    Member { cohort_id: CohortId::new(1), user_id, joined_at, left_at: None }
}

/// `user`'s answer to `c`, written a day after it was posted.
pub fn reply(id: i64, c: &CheckIn, user_id: UserId, confidence: Option<u8>) -> Reply {
    let at = c.occurrence_at + Duration::days(1);
    Reply {
        id: ReplyId::new(id),
        checkin_id: c.id,
        user_id,
        answer: format!("answer {id}"),
        confidence,
        created_at: at,
        updated_at: at,
    }
}

pub fn impact(id: i64, user_id: UserId, recorded_at: DateTime<Utc>) -> ImpactEntry {
    ImpactEntry {
        id: ImpactId::new(id),
        cohort_id: CohortId::new(1),
        user_id,
        what_changed: format!("win {id}"),
        evidence: "e".into(),
        who_benefited: "w".into(),
        link: None,
        tracks: vec![Track::Impact],
        recorded_at,
    }
}

/// A note by Bob on `r`, written at `at`.
pub fn note(id: i64, r: &Reply, at: DateTime<Utc>) -> Note {
    Note {
        id: NoteId::new(id),
        reply_id: r.id,
        checkin_id: r.checkin_id,
        cohort_id: CohortId::new(1),
        member_id: r.user_id,
        author_id: BOB,
        author_name: "Bob".into(),
        text: format!("note {id}"),
        created_at: at,
        updated_at: at,
        seen_at: None,
    }
}
