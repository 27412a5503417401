//! The desk: the same records and rules as the Discord commands, read in a
//! browser. Every method takes the [`DeskGrant`] of the session (what
//! Discord said when `/desk` ran) and decides here, at each request, what
//! it may see:
//!
//! - a member sees their own record in the cohorts of that server they
//!   belong to, nobody else's;
//! - a mentor (holds a cohort's mentor role) sees that cohort: its grid, its
//!   check-ins with every answer, each member's record, and writes notes;
//! - nothing of another server, of a removed cohort, or of a cohort the
//!   session neither belongs to nor mentors: refused as unknown.
//!
//! Sign-in: `/desk` makes a one-use link, valid 10 minutes; using it opens a
//! session of at most 12 hours. Link tokens and session ids are 32 bytes
//! from the OS's random source, handed out once and stored as SHA-256.

use std::collections::HashMap;

use sha2::{Digest as _, Sha256};

use super::{Engine, EngineError, NotedAnswer, Result, SavedNote};
use crate::domain::desk::{LINK_LIFETIME, SESSION_LIFETIME};
use crate::domain::{
    CheckIn, CheckInId, CheckInStatus, Cohort, CohortId, DeskGrant, ImpactEntry, Member, Note, Reply, ReplyId,
    StaffPath, UserId,
};
use crate::store::{LinkState, SearchHit, SearchScope};
use crate::summary::{self, CohortStatus, MemberProgress, Outcome};

/// Most search results shown at once.
pub const SEARCH_LIMIT: u32 = 50;
/// Weeks of the cohort grid and of a member's recent figures.
pub const DESK_WEEKS: u32 = 12;

/// A new secret (link token or session id): 32 bytes from the OS's random
/// source, as 64 hex digits.
///
/// # Errors
/// When the OS gives no randomness (then nobody can sign in, which is the
/// safe failure).
fn new_secret() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
    Ok(hex::encode(bytes))
}

/// How a secret is stored and looked up: its SHA-256, as hex.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The cohorts of the session's server it may read: those it mentors, and
/// those it belongs to (its own record only).
#[derive(Debug, Clone, PartialEq)]
pub struct DeskHome {
    pub mentored: Vec<Cohort>,
    pub own: Vec<Cohort>,
}

/// A cohort for its mentors: the grid of recent weeks, who is quiet or
/// unreachable, and every posted check-in, newest first.
#[derive(Debug, Clone)]
pub struct DeskCohort {
    pub cohort: Cohort,
    pub status: CohortStatus,
    pub checkins: Vec<CheckIn>,
}

/// One check-in for its cohort's mentors: every answer with its notes, each
/// answer's "then" (the member's latest earlier answer to the same prompt),
/// and who has not answered.
#[derive(Debug, Clone)]
pub struct DeskCheckIn {
    pub cohort: Cohort,
    pub checkin: CheckIn,
    /// In the order they were first saved.
    pub answers: Vec<NotedAnswer>,
    pub earlier: HashMap<ReplyId, Reply>,
    /// Current members it counts for who have not answered (yet, if open).
    pub not_answered: Vec<UserId>,
    /// Current members who were paused while it was open and did not answer.
    pub paused: Vec<UserId>,
}

/// One member's whole record in one cohort.
#[derive(Debug, Clone)]
pub struct DeskMember {
    pub cohort: Cohort,
    pub member: Member,
    /// The session is the member themself (not a mentor reading it).
    pub own: bool,
    pub progress: MemberProgress,
    /// Every answer, newest first, with the notes on it.
    pub answers: Vec<NotedAnswer>,
    /// Then and now: for an answer, the member's latest earlier answer to the same prompt.
    pub earlier: HashMap<ReplyId, Reply>,
    /// Newest first.
    pub impact: Vec<ImpactEntry>,
    pub path: StaffPath,
    /// Every note on their answers, oldest first.
    pub notes: Vec<Note>,
}

impl Engine {
    /// `/desk`: a sign-in link token for `grant`'s person in its server,
    /// usable once within 10 minutes. Only for someone the desk has
    /// something for: a member or a mentor of an active cohort there.
    #[tracing::instrument(skip_all, fields(guild = %grant.guild_id, user = %grant.user_id))]
    pub async fn desk_link(&self, grant: &DeskGrant) -> Result<String> {
        let home = self.desk_home(grant).await?;
        if home.mentored.is_empty() && home.own.is_empty() {
            return Err(EngineError::NothingOnDesk);
        }
        let token = new_secret().map_err(|e| EngineError::NoRandomness(e.to_string()))?;
        let now = self.now();
        self.store.insert_desk_link(&secret_hash(&token), grant, now, now + LINK_LIFETIME).await?;
        Ok(token)
    }

    /// Whether a link could still sign in; reads only (a preview fetcher's GET).
    pub async fn desk_link_state(&self, token: &str) -> Result<LinkState> {
        Ok(self.store.desk_link_state(&secret_hash(token), self.now()).await?)
    }

    /// Use a link up: a new session id and its grant, or `None` when the
    /// link is unknown, used or expired.
    pub async fn desk_sign_in(&self, token: &str) -> Result<Option<(String, DeskGrant)>> {
        let session = new_secret().map_err(|e| EngineError::NoRandomness(e.to_string()))?;
        let now = self.now();
        let grant = self
            .store
            .redeem_desk_link(&secret_hash(token), &secret_hash(&session), now, now + SESSION_LIFETIME)
            .await?;
        Ok(grant.map(|g| (session, g)))
    }

    /// The grant of a live session, or `None`.
    pub async fn desk_session(&self, session: &str) -> Result<Option<DeskGrant>> {
        Ok(self.store.desk_session(&secret_hash(session), self.now()).await?)
    }

    /// Sign-out: the session ends on the server.
    pub async fn desk_sign_out(&self, session: &str) -> Result<()> {
        self.store.end_desk_session(&secret_hash(session)).await?;
        Ok(())
    }

    /// The cohorts of the grant's server it mentors or belongs to.
    /// Nothing of a server the bot was removed from.
    pub async fn desk_home(&self, grant: &DeskGrant) -> Result<DeskHome> {
        if self.store.guild_departed(grant.guild_id).await? {
            return Ok(DeskHome { mentored: Vec::new(), own: Vec::new() });
        }
        let viewer = grant.viewer();
        let cohorts = self.cohorts_in_guild(grant.guild_id).await?;
        let memberships = self.store.memberships_of(grant.user_id).await?;
        let belongs = |c: &Cohort| memberships.iter().any(|m| m.cohort_id == c.id && m.left_at.is_none());
        Ok(DeskHome {
            mentored: cohorts.iter().filter(|c| viewer.is_mentor_of(c)).cloned().collect(),
            own: cohorts.iter().filter(|c| belongs(c)).cloned().collect(),
        })
    }

    /// An active cohort of the grant's server that it mentors, in a server
    /// the bot is still in; anything else is unknown.
    async fn desk_mentored(&self, grant: &DeskGrant, cohort_id: CohortId) -> Result<Cohort> {
        let cohort = self.store.cohort(cohort_id).await?;
        match cohort.filter(|c| c.active && c.spec.guild_id == grant.guild_id) {
            Some(c) if grant.viewer().is_mentor_of(&c) && !self.store.guild_departed(c.spec.guild_id).await? => Ok(c),
            _ => Err(EngineError::NotOnDesk),
        }
    }

    /// The cohort page (mentors only).
    #[tracing::instrument(skip_all, fields(cohort = %cohort_id, user = %grant.user_id))]
    pub async fn desk_cohort(&self, grant: &DeskGrant, cohort_id: CohortId) -> Result<DeskCohort> {
        let cohort = self.desk_mentored(grant, cohort_id).await?;
        let delivery = self.delivery_problems(&cohort).await?;
        let mut activity = self.store.cohort_activity(cohort.id).await?;
        activity.members.retain(|m| !delivery.left.contains(&m.member.user_id));
        let now = self.now();
        let mut status = CohortStatus::from_activity(&activity.members, &activity.checkins, DESK_WEEKS, now);
        status.delivery = delivery;
        let mentoring = self.store.cohort_mentoring(cohort.id).await?;
        status.mentoring = summary::mentoring::StatusMentoring::compute(
            &activity.members,
            status.current.as_ref().map(|c| c.id),
            &mentoring,
        );
        let mut checkins: Vec<CheckIn> = activity
            .checkins
            .into_iter()
            .filter(|c| {
                c.prompt.is_some()
                    && c.occurrence_at <= now
                    && matches!(c.status, CheckInStatus::Posted | CheckInStatus::Posting)
            })
            .collect();
        checkins.sort_by_key(|c| std::cmp::Reverse(c.occurrence_at));
        Ok(DeskCohort { cohort, status, checkins })
    }

    /// One check-in with every answer in full (mentors of its cohort only).
    /// Reads the check-in's own rows, not the cohort's whole history.
    #[tracing::instrument(skip_all, fields(checkin = %checkin_id, user = %grant.user_id))]
    pub async fn desk_checkin(&self, grant: &DeskGrant, checkin_id: CheckInId) -> Result<DeskCheckIn> {
        let checkin = self.store.checkin(checkin_id).await?.ok_or(EngineError::NotOnDesk)?;
        let cohort = self.desk_mentored(grant, checkin.cohort_id).await?;
        let now = self.now();
        let posted = matches!(checkin.status, CheckInStatus::Posted | CheckInStatus::Posting);
        if !posted || checkin.prompt.is_none() || checkin.occurrence_at > now {
            return Err(EngineError::NotOnDesk);
        }
        let replies = self.store.replies_to_checkin(checkin.id).await?;
        let mut notes = by_reply(self.store.notes_of_checkin(checkin.id).await?);
        let members = self.store.members(cohort.id).await?;
        let mut pauses: HashMap<UserId, Vec<crate::domain::Pause>> = HashMap::new();
        for (user, pause) in self.store.pauses_of_cohort(cohort.id).await? {
            pauses.entry(user).or_default().push(pause);
        }
        let answered: Vec<UserId> = replies.iter().map(|r| r.user_id).collect();
        let (not_answered, paused) = unanswered(&checkin, &members, &pauses, &answered, now);
        let earlier = self.earlier_replies(&cohort, &checkin, &replies).await?;
        let answers = replies
            .into_iter()
            .map(|reply| NotedAnswer {
                notes: notes.remove(&reply.id).unwrap_or_default(),
                checkin: checkin.clone(),
                reply,
            })
            .collect();
        Ok(DeskCheckIn { cohort, checkin, answers, earlier, not_answered, paused })
    }

    /// Then and now for a whole check-in: each answer's member's latest
    /// earlier answer to the same prompt, by answer.
    async fn earlier_replies(
        &self,
        cohort: &Cohort,
        checkin: &CheckIn,
        replies: &[Reply],
    ) -> Result<HashMap<ReplyId, Reply>> {
        let Some(prompt) = &checkin.prompt else { return Ok(HashMap::new()) };
        let then = self.store.earlier_replies_to_prompt(cohort.id, &prompt.id, checkin.occurrence_at).await?;
        let latest: HashMap<UserId, Reply> = then.into_iter().map(|r| (r.user_id, r)).collect();
        Ok(replies.iter().filter_map(|r| Some((r.id, latest.get(&r.user_id)?.clone()))).collect())
    }

    /// The cohort `cohort_id` if the grant may read `member`'s record there:
    /// their own membership, or a cohort they mentor.
    async fn desk_record_cohort(&self, grant: &DeskGrant, cohort_id: CohortId, member: UserId) -> Result<Cohort> {
        if member != grant.user_id {
            return self.desk_mentored(grant, cohort_id).await;
        }
        let home = self.desk_home(grant).await?;
        home.own.into_iter().chain(home.mentored).find(|c| c.id == cohort_id).ok_or(EngineError::NotOnDesk)
    }

    /// A member's whole record. Read by the member themself, the notes
    /// shown count as read.
    #[tracing::instrument(skip_all, fields(cohort = %cohort_id, user = %grant.user_id, member = %member))]
    pub async fn desk_member(&self, grant: &DeskGrant, cohort_id: CohortId, member: UserId) -> Result<DeskMember> {
        let cohort = self.desk_record_cohort(grant, cohort_id, member).await?;
        let h = self.store.member_history(cohort.id, member).await?.ok_or(EngineError::NotOnDesk)?;
        let own = member == grant.user_id;
        let now = self.now();
        let progress =
            MemberProgress::compute(&h.member, &h.pauses, &h.checkins, &h.replies, &h.impact, DESK_WEEKS, now);
        let notes = self.store.notes_of_member(cohort.id, member).await?;
        if own {
            let unseen: Vec<_> = notes.iter().filter(|n| n.seen_at.is_none()).map(|n| n.id).collect();
            self.store.mark_notes_seen(&unseen, now, now).await?;
        }
        let (answers, earlier) = answers_with_notes(&h.checkins, &h.replies, &notes, member);
        let mut impact: Vec<ImpactEntry> = h.impact.iter().filter(|i| i.user_id == member).cloned().collect();
        impact.sort_by(|a, b| b.recorded_at.cmp(&a.recorded_at).then(b.id.cmp(&a.id)));
        let path = self.store.staff_path(cohort.id, member).await?;
        Ok(DeskMember { cohort, member: h.member, own, progress, answers, earlier, impact, path, notes })
    }

    /// The member's own packet, as `/packet` attaches it (Markdown).
    pub async fn desk_packet(&self, grant: &DeskGrant, cohort_id: CohortId) -> Result<(Cohort, String)> {
        let cohort = self.desk_record_cohort(grant, cohort_id, grant.user_id).await?;
        let text = self.packet(&cohort, grant.user_id, &grant.user_name).await?.ok_or(EngineError::NotOnDesk)?;
        Ok((cohort, text))
    }

    /// Full-text search: a mentor's cohorts whole, a member's own rows.
    #[tracing::instrument(skip_all, fields(guild = %grant.guild_id, user = %grant.user_id))]
    pub async fn desk_search(&self, grant: &DeskGrant, text: &str) -> Result<Vec<SearchHit>> {
        let home = self.desk_home(grant).await?;
        let scope = SearchScope {
            mentored: home.mentored.iter().map(|c| c.id).collect(),
            own: home.own.iter().map(|c| c.id).collect(),
            user_id: grant.user_id,
        };
        Ok(self.store.search(&scope, text, SEARCH_LIMIT).await?)
    }

    /// A note written on the desk: exactly a note written in Discord
    /// (stored, DMed to the member pinging nobody, shown in `/progress`).
    pub async fn desk_note(&self, grant: &DeskGrant, reply_id: ReplyId, text: &str) -> Result<SavedNote> {
        match self.submit_note(&grant.viewer(), reply_id, &grant.user_name, text).await {
            Err(EngineError::AnswersMentorsOnly | EngineError::UnknownAnswer) => Err(EngineError::NotOnDesk),
            other => other,
        }
    }
}

/// Notes grouped by the answer they are on.
fn by_reply(notes: Vec<Note>) -> HashMap<ReplyId, Vec<Note>> {
    let mut out: HashMap<ReplyId, Vec<Note>> = HashMap::new();
    for n in notes {
        out.entry(n.reply_id).or_default().push(n);
    }
    out
}

/// Of a check-in's current members who did not answer: those it counts
/// against (not answered, or open), and those paused while it was open.
fn unanswered(
    checkin: &CheckIn,
    members: &[Member],
    pauses: &HashMap<UserId, Vec<crate::domain::Pause>>,
    answered: &[UserId],
    now: chrono::DateTime<chrono::Utc>,
) -> (Vec<UserId>, Vec<UserId>) {
    let (mut not_answered, mut paused) = (Vec::new(), Vec::new());
    for m in members.iter().filter(|m| m.left_at.is_none() && !answered.contains(&m.user_id)) {
        let theirs = pauses.get(&m.user_id).map_or(&[][..], Vec::as_slice);
        match Outcome::of(checkin, m, theirs, false, now) {
            Outcome::Missed | Outcome::Open => not_answered.push(m.user_id),
            Outcome::Paused => paused.push(m.user_id),
            Outcome::Answered | Outcome::NotOffered => {}
        }
    }
    (not_answered, paused)
}

/// A member's answers, newest first, each with its notes, and each one's
/// "then" (their latest earlier answer to the same prompt).
fn answers_with_notes(
    checkins: &[CheckIn],
    replies: &[Reply],
    notes: &[Note],
    member: UserId,
) -> (Vec<NotedAnswer>, HashMap<ReplyId, Reply>) {
    let by_id: HashMap<CheckInId, &CheckIn> = checkins.iter().map(|c| (c.id, c)).collect();
    let mut answers: Vec<NotedAnswer> = replies
        .iter()
        .filter(|r| r.user_id == member)
        .filter_map(|r| {
            let checkin = (*by_id.get(&r.checkin_id)?).clone();
            let notes = notes.iter().filter(|n| n.reply_id == r.id).cloned().collect();
            Some(NotedAnswer { checkin, reply: r.clone(), notes })
        })
        .collect();
    answers.sort_by_key(|a| a.checkin.occurrence_at);
    let mut earlier = HashMap::new();
    let mut last_by_prompt: HashMap<String, Reply> = HashMap::new();
    for a in &answers {
        let Some(prompt) = &a.checkin.prompt else { continue };
        if let Some(then) = last_by_prompt.insert(prompt.id.clone(), a.reply.clone()) {
            earlier.insert(a.reply.id, then);
        }
    }
    answers.reverse();
    (answers, earlier)
}
