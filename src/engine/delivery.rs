//! Refusals Discord gives for good: recording them once, finding out
//! whether a member whose DMs fail has left the server, telling mentors, and
//! forgetting a refusal when something changed.
//!
//! The rules:
//! - a permanent refusal is recorded against its target (survives restarts)
//!   and logged once at warn with the cohort, the target and Discord's reason;
//! - the cohort's channel (or digest channel) is not posted to again until
//!   the cohort is set up again, or permissions change in its server;
//! - a member whose DMs are refused gets one try per check-in; when a DM is
//!   refused the member is looked up once, and one who left the server is not
//!   reminded nor counted until they interact again;
//! - any interaction of a member forgets what was recorded about them.

use super::chat::DirectMessage;
use super::{Engine, Result};

/// A DM reply that failed for now, with the tries made so far.
#[derive(Debug)]
pub struct DmRetry {
    dm: DirectMessage,
    attempt: u32,
}
use crate::domain::{Cohort, DeliveryProblems, DeliveryTarget, GuildId, UserId};
use crate::engine::ChatError;
use crate::store::NewDeliveryFailure;
use crate::telemetry::ErrorChain;

impl Engine {
    /// Record a permanent refusal of `target` for `cohort`; logs it at warn
    /// the first time only. Returns whether it was new.
    pub(super) async fn record_refusal(
        &self,
        cohort: &Cohort,
        target: DeliveryTarget,
        err: &ChatError,
    ) -> Result<bool> {
        let reason = err.reason();
        let new = self
            .store
            .record_delivery_failure(&NewDeliveryFailure {
                cohort_id: cohort.id,
                target,
                code: err.code,
                reason: &reason,
                at: self.clock.now(),
            })
            .await?;
        let until = match target {
            DeliveryTarget::Channel(_) | DeliveryTarget::DigestChannel(_) => {
                "until the cohort is set up again or permissions change in its server"
            }
            DeliveryTarget::MemberDm(_) => "until the member interacts with Trellis or the next check-in",
            DeliveryTarget::GuildMember(_) => "until they interact with Trellis again",
        };
        if new {
            tracing::warn!(
                cohort = %cohort.spec.name,
                target = target.kind(),
                target_id = target.id(),
                code = ?err.code,
                reason = %reason,
                "Discord refused this for good; not tried again {until}"
            );
        } else {
            tracing::debug!(cohort = %cohort.spec.name, target = %target, code = ?err.code, "refused again");
        }
        Ok(new)
    }

    /// A DM to `user_id` (a member of `cohort`) was refused for good: record
    /// it, then look the member up once. Discord says "Unknown Member" when
    /// they left the server; no event tells a bot without privileged intents.
    pub(super) async fn dm_refused(&self, cohort: &Cohort, user_id: UserId, err: &ChatError) -> Result<()> {
        self.record_refusal(cohort, DeliveryTarget::MemberDm(user_id), err).await?;
        match self.chat.member_in_guild(cohort.spec.guild_id, user_id).await {
            Ok(true) => {}
            Ok(false) => self.member_left(cohort.spec.guild_id, user_id, err).await?,
            // Not knowing is not evidence: they stay counted.
            Err(e) => {
                tracing::debug!(cohort = %cohort.spec.name, user = %user_id, error = %ErrorChain(&e), "member lookup failed")
            }
        }
        Ok(())
    }

    /// `user_id` is not in `guild_id` any more: recorded for each of the
    /// guild's cohorts they belong to.
    async fn member_left(&self, guild_id: GuildId, user_id: UserId, err: &ChatError) -> Result<()> {
        let memberships = self.store.memberships_of(user_id).await?;
        let gone = ChatError::permanent(Some(crate::domain::delivery::code::UNKNOWN_MEMBER), "member lookup")
            .with_message(format!("left the server (Unknown Member); the DM was refused: {}", err.reason()));
        for cohort in self.store.active_cohorts_in_guild(guild_id).await? {
            if memberships.iter().any(|m| m.cohort_id == cohort.id) {
                self.record_refusal(&cohort, DeliveryTarget::GuildMember(user_id), &gone).await?;
            }
        }
        Ok(())
    }

    /// A member interacted with Trellis (a command, a button, a form, a DM):
    /// forget their refused DMs and that they left, so they are counted and
    /// reminded again. Cheap when nothing was recorded (one read).
    pub async fn member_seen(&self, user_id: UserId) -> Result<()> {
        let cleared = self.store.clear_member_failures(user_id).await?;
        if cleared > 0 {
            tracing::info!(user = %user_id, "member is back; DMs to them will be tried again");
        }
        Ok(())
    }

    /// Permissions changed somewhere in `guild_id` (a channel's overwrites or
    /// a role): try its cohorts' refused channels again.
    pub async fn permissions_changed(&self, guild_id: GuildId) -> Result<()> {
        let cleared = self.store.clear_guild_channel_failures(guild_id, None).await?;
        if cleared > 0 {
            tracing::info!(guild = %guild_id, "permissions changed; refused channels will be tried again");
            self.replan.notify_one();
        }
        Ok(())
    }

    /// A role of `guild_id` was deleted: a cohort whose mentor role it was
    /// has no mentors until it names another one. Logged once per cohort
    /// (the event comes once). Permissions may have changed too.
    pub async fn role_deleted(&self, guild_id: GuildId, role_id: crate::domain::RoleId) -> Result<()> {
        for cohort in self.store.active_cohorts_in_guild(guild_id).await? {
            if cohort.spec.mentor_role_id == role_id {
                tracing::warn!(
                    cohort = %cohort.spec.name,
                    role = %role_id,
                    "the cohort's mentor role was deleted; its mentors cannot use mentor commands until \
                     /cohort setup (or the config file) names another role"
                );
            }
        }
        self.permissions_changed(guild_id).await
    }

    /// The bot is in `guild_id` (GUILD_CREATE, at start or on joining):
    /// refusals that said it was not (Unknown Guild) are stale. Others stay,
    /// so a restart alone retries nothing.
    pub async fn guild_available(&self, guild_id: GuildId) -> Result<()> {
        let unknown_guild = Some(crate::domain::delivery::code::UNKNOWN_GUILD);
        if self.store.clear_guild_channel_failures(guild_id, unknown_guild).await? > 0 {
            tracing::info!(guild = %guild_id, "back in the server; its channels will be tried again");
            self.replan.notify_one();
        }
        Ok(())
    }

    /// What Discord refuses for this cohort now, for mentors and admins,
    /// and whether its mentor role still exists (one look at the server's
    /// roles; not knowing is not evidence).
    pub async fn delivery_problems(&self, cohort: &Cohort) -> Result<DeliveryProblems> {
        let mut problems = self.refusals_of(cohort).await?;
        let role = cohort.spec.mentor_role_id;
        match self.chat.role_exists(cohort.spec.guild_id, role).await {
            Ok(false) => problems.mentor_role_gone = Some(role),
            Ok(true) => {}
            Err(e) => tracing::debug!(cohort = %cohort.spec.name, error = %ErrorChain(&e), "could not read the roles"),
        }
        Ok(problems)
    }

    async fn refusals_of(&self, cohort: &Cohort) -> Result<DeliveryProblems> {
        let failures = self.store.delivery_failures(cohort.id).await?;
        if failures.is_empty() {
            return Ok(DeliveryProblems::default());
        }
        let members: Vec<UserId> = self
            .store
            .members(cohort.id)
            .await?
            .into_iter()
            .filter(|m| m.left_at.is_none())
            .map(|m| m.user_id)
            .collect();
        Ok(DeliveryProblems::from_failures(cohort, &failures, &members))
    }

    /// Answer a member's DM by DM: the first try. `None` when that settled
    /// it (sent, or refused for good and recorded for each cohort the member
    /// belongs to); `Some` when it failed for now: hand it to
    /// [`Engine::retry_dm_reply`], which backs off, off the event's path.
    /// Never fails: the member's answer is saved whether or not this reaches them.
    pub async fn reply_by_dm(&self, dm: DirectMessage) -> Option<DmRetry> {
        self.try_dm_reply(DmRetry { dm, attempt: 0 }).await
    }

    /// Try a DM reply again with back-off until it is sent, refused for
    /// good, or the policy's `dm_reply_attempts` tries are used up.
    pub async fn retry_dm_reply(&self, mut retry: DmRetry) {
        loop {
            let wait = self.retries().policy().delay(retry.attempt);
            tokio::time::sleep(wait).await;
            match self.try_dm_reply(retry).await {
                Some(again) => retry = again,
                None => return,
            }
        }
    }

    async fn try_dm_reply(&self, mut retry: DmRetry) -> Option<DmRetry> {
        retry.attempt += 1;
        let err = match self.chat.send_dm(&retry.dm).await {
            Ok(()) => return None,
            Err(e) => e,
        };
        let user = retry.dm.user_id;
        if err.is_permanent() {
            if let Err(e) = self.dm_reply_refused(user, &err).await {
                tracing::error!(error = %ErrorChain(&e), "could not record a refused DM");
            }
            return None;
        }
        let attempt = retry.attempt;
        if attempt >= self.retries().policy().dm_reply_attempts {
            tracing::warn!(user = %user, attempt, error = %ErrorChain(&err), "DM reply failed; given up");
            return None;
        }
        let retry_in = self.retries().policy().delay(attempt);
        tracing::warn!(user = %user, attempt, ?retry_in, error = %ErrorChain(&err), "DM reply failed; will retry");
        Some(retry)
    }

    async fn dm_reply_refused(&self, user_id: UserId, err: &ChatError) -> Result<()> {
        let memberships = self.store.memberships_of(user_id).await?;
        if memberships.is_empty() {
            tracing::warn!(user = %user_id, code = ?err.code, reason = %err.reason(), "Discord refused a DM reply");
        }
        for m in memberships {
            if let Some(cohort) = self.store.cohort(m.cohort_id).await? {
                self.record_refusal(&cohort, DeliveryTarget::MemberDm(user_id), err).await?;
            }
        }
        Ok(())
    }
}
