//! Cohorts: the config file's, and those set up and removed in Discord.

use super::{Engine, EngineError, Result};
use crate::domain::{
    ChannelId, ChannelPermissions, Cohort, CohortDraft, CohortSource, CohortSpec, FieldError, GuildId, UserId, Viewer,
};

impl Engine {
    /// Create or update the cohorts declared in the config file; they win over
    /// in-Discord edits of the same name (or channel). A file cohort no longer
    /// in the file is stopped (its history stays; putting it back resumes it):
    /// it cannot be removed in Discord, so the file is the only way to stop it.
    #[tracing::instrument(skip_all, fields(cohorts = specs.len()))]
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
                    // An edited declaration is a file cohort set up again; a
                    // restart with the same file is not.
                    if c.spec != updated.spec {
                        self.store.clear_channel_failures(c.id).await?;
                    }
                    updated
                }
                None => match self.store.insert_cohort(spec, CohortSource::File, now).await {
                    Ok(inserted) => inserted,
                    // Processes started together with one config file all
                    // sync it: another one inserted it between our read and
                    // our insert (the unique name or channel refused ours).
                    // Its row is the file's cohort; ours would be the same.
                    Err(refused) => match self.store.cohort_by_name(&spec.name).await? {
                        Some(c) => self.store.update_cohort(c.id, spec, CohortSource::File, now).await?,
                        None => return Err(refused.into()),
                    },
                },
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
        if before.spec.schedule == after.spec.schedule {
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

    /// `/cohort setup` by `viewer`: needs the Manage Server permission, the
    /// draft names the viewer's own guild and channel, and the bot may post
    /// check-ins there (`bot`: its permissions in the channel, as Discord
    /// sent them with the interaction; `None` when Discord sent none).
    #[tracing::instrument(skip_all, fields(guild = %viewer.guild_id, channel = %viewer.channel_id, user = %viewer.user_id))]
    pub async fn setup_cohort_for(
        &self,
        viewer: &Viewer,
        draft: CohortDraft,
        bot: Option<ChannelPermissions>,
    ) -> Result<Cohort> {
        Self::may_set_up(viewer)?;
        if draft.guild_id != viewer.guild_id.get() || draft.channel_id != viewer.channel_id.get() {
            return Err(EngineError::NotACohortChannel);
        }
        let missing = bot.map(ChannelPermissions::missing_for_posting).unwrap_or_default();
        if !missing.is_empty() {
            return Err(EngineError::BotCannotPost { missing });
        }
        self.setup_cohort(draft).await
    }

    /// Whether `viewer` may set up a cohort (Manage Server): the rule of
    /// [`Engine::setup_cohort_for`], which an edge may ask first, before it
    /// checks the rest of a long form.
    pub fn may_set_up(viewer: &Viewer) -> Result<()> {
        if viewer.can_manage { Ok(()) } else { Err(EngineError::NeedsManageServer { action: "set up a cohort" }) }
    }

    /// `/cohort remove` by `viewer`: needs the Manage Server permission.
    #[tracing::instrument(skip_all, fields(guild = %viewer.guild_id, channel = %viewer.channel_id, user = %viewer.user_id))]
    pub async fn remove_cohort_for(&self, viewer: &Viewer) -> Result<Cohort> {
        if !viewer.can_manage {
            return Err(EngineError::NeedsManageServer { action: "remove a cohort" });
        }
        self.remove_cohort(viewer.guild_id, viewer.channel_id).await
    }

    /// Make the draft's channel a cohort's channel, or update the cohort
    /// already there. No permission check: for the config file and tests;
    /// Discord goes through [`Engine::setup_cohort_for`].
    #[tracing::instrument(skip_all, fields(guild = draft.guild_id, channel = draft.channel_id))]
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
                // Set up again: whatever was refused is tried once more.
                if self.store.clear_channel_failures(c.id).await? > 0 {
                    tracing::info!(cohort = %c.spec.name, "cohort set up again; its channels will be tried again");
                }
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

    /// Stop the cohort of this channel; history stays.
    #[tracing::instrument(skip_all, fields(guild = %guild_id, channel = %channel_id))]
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

    /// The cohort `viewer` means: this channel's, else their only cohort in the guild.
    pub async fn cohort_for(&self, viewer: &Viewer) -> Result<Cohort> {
        self.cohort_for_member(viewer.guild_id, viewer.channel_id, viewer.user_id).await
    }

    /// The cohort of the channel `viewer` is in.
    pub async fn cohort_here(&self, viewer: &Viewer) -> Result<Cohort> {
        self.cohort_of_channel(viewer.guild_id, viewer.channel_id).await?.ok_or(EngineError::NotACohortChannel)
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
}
