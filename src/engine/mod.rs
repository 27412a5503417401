//! The check-in engine: cohorts, membership, answers, the impact ledger and the
//! scheduler. Plain Rust over the store; talks to chat only through [`ChatEdge`].

pub mod chat;
pub mod clock;
mod scheduler;

use std::sync::Arc;

use chrono::Duration;
use tokio::sync::Notify;

pub use chat::{ChatEdge, ChatError, CheckInPost, ReminderDm};
#[cfg(any(test, feature = "test-util"))]
pub use clock::ManualClock;
pub use clock::{Clock, SystemClock};
pub use scheduler::TickReport;

use crate::domain::{
    AnswerInput, ChannelId, CheckIn, Cohort, CohortDraft, CohortSource, CohortSpec, FieldError, GuildId, ImpactEntry,
    ImpactInput, InputError, PromptLibrary, Reply, ReplySource, UserId,
};
use crate::store::{Store, StoreError};

pub const MAX_PAUSE_WEEKS: u32 = 12;

/// Errors the engine reports. Every variant but `Store` and `Chat` is the
/// user's to fix, and its message says how.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{0}")]
    Field(FieldError),
    #[error("This channel is not a cohort's channel. Run the command in your cohort's channel.")]
    NotACohortChannel,
    #[error("You belong to several cohorts on this server. Run the command in the channel of the cohort you mean.")]
    AmbiguousCohort,
    #[error("You are not a member of a cohort here. Use `/cohort join` in a cohort's channel first.")]
    NotAMember,
    #[error("There is no open check-in for this cohort right now. The next one is posted at its scheduled time.")]
    NoOpenCheckIn,
    #[error("This check-in closed when the next one was posted; answers to it can no longer be changed.")]
    CheckInClosed,
    #[error("That check-in does not exist here.")]
    UnknownCheckIn,
    #[error(
        "You have several open check-ins, so a plain reply is ambiguous. Use the Answer button on the check-in you mean."
    )]
    AmbiguousDm,
    #[error("Cohort `{0}` is declared in the config file; change it there (the file wins over edits made in Discord).")]
    FileManaged(String),
    #[error("Pause for 1 to {MAX_PAUSE_WEEKS} weeks.")]
    PauseWeeks,
    #[error("You are not paused.")]
    NotPaused,
    #[error("A cohort named `{0}` already exists in another channel; pick another name.")]
    NameTaken(String),
    #[error(
        "cohort `{cohort}`: channel {channel_id} already belongs to cohort `{owner}`; give `{cohort}` its own channel, or remove `{owner}` (`/cohort remove` in that channel)"
    )]
    ChannelTaken { cohort: String, channel_id: u64, owner: String },
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Chat(#[from] ChatError),
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NameTaken(n) => EngineError::NameTaken(n),
            e => EngineError::Store(e),
        }
    }
}

impl EngineError {
    /// True when the message is for the user; false for internal failures.
    pub fn is_user_error(&self) -> bool {
        !matches!(self, EngineError::Store(_) | EngineError::Chat(_))
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// The engine. Cheap to share behind an `Arc`.
pub struct Engine {
    store: Store,
    prompts: Arc<PromptLibrary>,
    clock: Arc<dyn Clock>,
    chat: Arc<dyn ChatEdge>,
    replan: Notify,
}

impl Engine {
    pub fn new(store: Store, prompts: PromptLibrary, clock: Arc<dyn Clock>, chat: Arc<dyn ChatEdge>) -> Self {
        Engine { store, prompts: Arc::new(prompts), clock, chat, replan: Notify::new() }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn prompts(&self) -> &PromptLibrary {
        &self.prompts
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    // ---- cohorts -------------------------------------------------------------

    /// Create or update the cohorts declared in the config file; they win over
    /// in-Discord edits of the same name (or channel). A file cohort no longer
    /// in the file is stopped (its history stays; putting it back resumes it):
    /// it cannot be removed in Discord, so the file is the only way to stop it.
    pub async fn sync_file_cohorts(&self, specs: &[CohortSpec]) -> Result<Vec<Cohort>> {
        let now = self.clock.now();
        let mut out = Vec::with_capacity(specs.len());
        for spec in specs {
            let by_name = self.store.cohort_by_name(&spec.name).await?;
            let by_channel = self.store.cohort_by_channel(spec.channel_id).await?;
            if let (Some(named), Some(other)) = (&by_name, &by_channel)
                && named.id != other.id
            {
                return Err(EngineError::ChannelTaken {
                    cohort: spec.name.clone(),
                    channel_id: spec.channel_id,
                    owner: other.spec.name.clone(),
                });
            }
            let existing = by_name.or(by_channel);
            let cohort = match existing {
                Some(c) => {
                    let updated = self.store.update_cohort(c.id, spec, CohortSource::File, now).await?;
                    self.reclose_open_checkin(&c, &updated).await?;
                    updated
                }
                None => self.store.insert_cohort(spec, CohortSource::File, now).await?,
            };
            out.push(cohort);
        }
        for c in self.store.active_cohorts().await? {
            if c.source == CohortSource::File && !out.iter().any(|o| o.id == c.id) {
                self.store.deactivate_cohort(c.id, now).await?;
                tracing::warn!(cohort = %c.spec.name, "cohort is no longer in the config file; stopped (its history stays)");
            }
        }
        self.replan.notify_one();
        Ok(out)
    }

    /// After a schedule change, the open check-in stays open until the new
    /// schedule's next occurrence (a check-in closes when the next one opens).
    async fn reclose_open_checkin(&self, before: &Cohort, after: &Cohort) -> Result<()> {
        if before.spec.schedule == after.spec.schedule && before.spec.timezone == after.spec.timezone {
            return Ok(());
        }
        let now = self.clock.now();
        if let Some(open) = self.store.open_checkin(after.id, now).await?
            && let Some(next) = after.schedule().next_after(now)
        {
            self.store.set_closes_at(open.id, next).await?;
        }
        Ok(())
    }

    /// `/cohort setup`: make the draft's channel a cohort's channel, or update
    /// the cohort already there.
    pub async fn setup_cohort(&self, draft: CohortDraft) -> Result<Cohort> {
        let spec = draft.validate().map_err(EngineError::Field)?;
        self.check_digest_channels(&spec).await?;
        let now = self.clock.now();
        let cohort = match self.store.cohort_by_channel(spec.channel_id).await? {
            // An active file cohort belongs to the file; one removed from the
            // file (stopped) may be taken over from Discord.
            Some(c) if c.source == CohortSource::File && c.active => return Err(EngineError::FileManaged(c.spec.name)),
            Some(c) if c.spec.guild_id != spec.guild_id => return Err(EngineError::NotACohortChannel),
            Some(c) => {
                let updated = self.store.update_cohort(c.id, &spec, CohortSource::Discord, now).await?;
                self.reclose_open_checkin(&c, &updated).await?;
                updated
            }
            None => self.store.insert_cohort(&spec, CohortSource::Discord, now).await?,
        };
        self.replan.notify_one();
        Ok(cohort)
    }

    /// The digest names who has gone quiet: it must not be posted where another
    /// cohort's members read, and a mentors' digest channel is no cohort channel.
    async fn check_digest_channels(&self, spec: &CohortSpec) -> Result<()> {
        for other in self.store.active_cohorts_in_guild(spec.guild_id).await? {
            if other.spec.channel_id == spec.channel_id {
                continue;
            }
            if spec.digest_channel_id == Some(other.spec.channel_id) {
                return Err(EngineError::Field(FieldError::new(
                    "digest_channel_id",
                    format!(
                        "is the channel of cohort `{}`, where its members would see the digest; pick a mentors-only channel",
                        other.spec.name
                    ),
                )));
            }
            if other.spec.digest_channel_id == Some(spec.channel_id) {
                return Err(EngineError::Field(FieldError::new(
                    "channel",
                    format!(
                        "this channel receives the mentors' digest of cohort `{}`; run the setup in a channel for members",
                        other.spec.name
                    ),
                )));
            }
        }
        Ok(())
    }

    /// `/cohort remove`: stop the cohort of this channel; history stays.
    pub async fn remove_cohort(&self, guild_id: GuildId, channel_id: ChannelId) -> Result<Cohort> {
        let cohort = self.cohort_of_channel(guild_id, channel_id).await?.ok_or(EngineError::NotACohortChannel)?;
        if cohort.source == CohortSource::File {
            return Err(EngineError::FileManaged(cohort.spec.name));
        }
        self.store.deactivate_cohort(cohort.id, self.clock.now()).await?;
        self.replan.notify_one();
        Ok(cohort)
    }

    /// The active cohort whose channel this is, if it belongs to this guild.
    pub async fn cohort_of_channel(&self, guild_id: GuildId, channel_id: ChannelId) -> Result<Option<Cohort>> {
        Ok(self.store.cohort_by_channel(channel_id).await?.filter(|c| c.active && c.spec.guild_id == guild_id))
    }

    pub async fn cohorts_in_guild(&self, guild_id: GuildId) -> Result<Vec<Cohort>> {
        Ok(self.store.active_cohorts_in_guild(guild_id).await?)
    }

    /// The cohort a member means: this channel's, else their only cohort in the guild.
    pub async fn cohort_for_member(&self, guild_id: GuildId, channel_id: ChannelId, user_id: UserId) -> Result<Cohort> {
        if let Some(c) = self.cohort_of_channel(guild_id, channel_id).await? {
            return Ok(c);
        }
        let memberships = self.store.memberships_of(user_id).await?;
        let mut mine = Vec::new();
        for c in self.store.active_cohorts_in_guild(guild_id).await? {
            if memberships.iter().any(|m| m.cohort_id == c.id) {
                mine.push(c);
            }
        }
        match mine.len() {
            0 => Err(EngineError::NotAMember),
            1 => Ok(mine.remove(0)),
            _ => Err(EngineError::AmbiguousCohort),
        }
    }

    // ---- membership ------------------------------------------------------------

    /// Returns false when the user was already an active member.
    pub async fn join(&self, cohort: &Cohort, user_id: UserId) -> Result<bool> {
        Ok(self.store.join(cohort.id, user_id, self.clock.now()).await?)
    }

    pub async fn leave(&self, cohort: &Cohort, user_id: UserId) -> Result<()> {
        if !self.store.leave(cohort.id, user_id, self.clock.now()).await? {
            return Err(EngineError::NotAMember);
        }
        Ok(())
    }

    /// Pause for `weeks` weeks from now; returns when the pause ends.
    pub async fn pause(&self, cohort: &Cohort, user_id: UserId, weeks: u32) -> Result<chrono::DateTime<chrono::Utc>> {
        if !(1..=MAX_PAUSE_WEEKS).contains(&weeks) {
            return Err(EngineError::PauseWeeks);
        }
        self.require_member(cohort, user_id).await?;
        let now = self.clock.now();
        let until = now + Duration::weeks(i64::from(weeks));
        self.store.pause(cohort.id, user_id, now, until).await?;
        Ok(until)
    }

    pub async fn resume(&self, cohort: &Cohort, user_id: UserId) -> Result<()> {
        self.require_member(cohort, user_id).await?;
        if !self.store.resume(cohort.id, user_id, self.clock.now()).await? {
            return Err(EngineError::NotPaused);
        }
        Ok(())
    }

    async fn require_member(&self, cohort: &Cohort, user_id: UserId) -> Result<()> {
        match self.store.member(cohort.id, user_id).await? {
            Some(m) if m.left_at.is_none() => Ok(()),
            _ => Err(EngineError::NotAMember),
        }
    }

    // ---- answers ---------------------------------------------------------------

    /// The cohort's open check-in, for `/checkin`.
    pub async fn open_checkin(&self, cohort: &Cohort) -> Result<CheckIn> {
        self.store.open_checkin(cohort.id, self.clock.now()).await?.ok_or(EngineError::NoOpenCheckIn)
    }

    /// A check-in by id, only if its cohort belongs to `guild_id`.
    pub async fn checkin_in_guild(&self, checkin_id: i64, guild_id: GuildId) -> Result<(CheckIn, Cohort)> {
        let checkin = self.store.checkin(checkin_id).await?.ok_or(EngineError::UnknownCheckIn)?;
        let cohort = self.store.cohort(checkin.cohort_id).await?.ok_or(EngineError::UnknownCheckIn)?;
        if cohort.spec.guild_id != guild_id {
            return Err(EngineError::UnknownCheckIn);
        }
        Ok((checkin, cohort))
    }

    /// Submit or edit an answer. Validates first (nothing stored on bad input),
    /// joins the member to the cohort, and returns only after the commit.
    pub async fn answer(
        &self,
        checkin: &CheckIn,
        user_id: UserId,
        answer: &str,
        confidence: &str,
        source: ReplySource,
    ) -> Result<Reply> {
        let input = AnswerInput::parse(answer, confidence)?;
        let now = self.clock.now();
        // Re-read: the caller's copy may predate the close.
        let checkin = self.store.checkin(checkin.id).await?.ok_or(EngineError::UnknownCheckIn)?;
        if !checkin.is_open_at(now) {
            return Err(EngineError::CheckInClosed);
        }
        self.store.join(checkin.cohort_id, user_id, now).await?;
        Ok(self.store.upsert_reply(checkin.id, user_id, &input, source, now).await?)
    }

    /// A plain DM: the answer to the one check-in open for this member.
    pub async fn answer_by_dm(&self, user_id: UserId, text: &str) -> Result<(Reply, CheckIn)> {
        // Validate before looking anything up, so bad input is reported as such.
        AnswerInput::parse(text, "")?;
        let mut open = self.store.open_checkins_for_member(user_id, self.clock.now()).await?;
        let checkin = match open.len() {
            0 => return Err(EngineError::NoOpenCheckIn),
            1 => open.remove(0),
            _ => return Err(EngineError::AmbiguousDm),
        };
        let reply = self.answer(&checkin, user_id, text, "", ReplySource::Dm).await?;
        Ok((reply, checkin))
    }

    // ---- impact ledger -------------------------------------------------------

    pub async fn record_impact(
        &self,
        cohort: &Cohort,
        user_id: UserId,
        what_changed: &str,
        evidence: &str,
        who_benefited: &str,
        link: &str,
    ) -> Result<ImpactEntry> {
        let input = ImpactInput::parse(what_changed, evidence, who_benefited, link)?;
        let now = self.clock.now();
        self.store.join(cohort.id, user_id, now).await?;
        Ok(self.store.insert_impact(cohort.id, user_id, &input, now).await?)
    }

    // ---- privacy ---------------------------------------------------------------

    /// Delete every row about the user. Returns the number of rows deleted.
    pub async fn forget_me(&self, user_id: UserId) -> Result<u64> {
        Ok(self.store.forget_user(user_id).await?)
    }
}
