//! Posting check-ins exactly once, and reminders.
//!
//! The ledger row is written before the post and marked posted after it. The
//! row's unique key (cohort, occurrence) stops two schedulers from recording
//! twice; the `posting` claim stops them from posting twice; the deterministic
//! nonce (with `enforce_nonce`) makes the platform drop a repeat after a crash
//! between the post and the mark.
//!
//! When a check-in closes, the mentors' digest of it goes to the cohort's
//! digest channel, once: a claim on the check-in row (`digest_claimed_at`) is
//! taken before the send and given back if the send fails. A crash between the
//! claim and the send loses that digest rather than risk sending it twice.
//!
//! A send that fails for now (5xx, timeout, connection) is retried with
//! back-off (`retry.rs`); one Discord refuses for good is recorded against
//! its target and not retried until something changed (`delivery.rs`): a
//! refused channel gets no post, a refused digest channel no digest, and a
//! member whose DM was refused keeps their reminder claim (one try per
//! check-in), and is not reminded at all once they left the server.
//!
//! Scheduled work is not bound to gateway shards: every `trellis run` on a
//! database schedules every cohort, and the claims above make each post,
//! reminder and digest happen once (a post needs no gateway, only REST). A
//! process learns of its own cohort changes at once (`replan`); those made
//! through another process (a `/cohort setup` it handled, a server that
//! removed the bot on its shard) it reads every [`SCHEDULE_POLL`], one query
//! of the cohorts, and plans again when they differ. Anything else another
//! process changed (a refused channel cleared) is read at the full tick of
//! at most every [`MAX_SLEEP`].

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use futures::stream::{self, StreamExt as _};
use tokio::sync::watch;

use super::chat::{DigestPost, UNKNOWN_CHANNEL};
use super::retry::RetryKey;
use super::{ChatError, CheckInPost, Engine, ReminderDm, Result};
use crate::domain::{ChannelId, CheckIn, CheckInId, Cohort, DeliveryTarget, PostedPrompt, UserId};
use crate::store::NewCheckIn;
use crate::summary::digest::Digest;
use crate::summary::mentoring::DigestMentoring;
use crate::telemetry::ErrorChain;

/// A claim older than this is taken to belong to a crashed scheduler.
const POST_LEASE: Duration = Duration::minutes(2);
/// The scheduler re-checks at least this often, whatever the plan says, so a
/// clock jump or a failed post is picked up.
const MAX_SLEEP: Duration = Duration::seconds(60);
/// How often the scheduler reads the cohorts while it sleeps, to notice
/// those another process created, changed or removed: one query of the
/// active cohorts, so a cohort set up through another process is planned
/// here within this (its first check-in is posted on time by whichever
/// process claims it first, also when the one that set it up has died).
const SCHEDULE_POLL: StdDuration = StdDuration::from_secs(10);
/// How soon to look again at a post another scheduler has claimed, or when
/// planning failed.
const RETRY_AFTER: Duration = Duration::seconds(10);
/// A check-in that closed longer ago than this gets no digest: none for the
/// history that predates the digest channel (or the feature), and a digest
/// that failed for a week is news no more.
pub const DIGEST_WINDOW: Duration = Duration::days(7);
/// Reminders claimed in one transaction before they are sent: one commit
/// per batch, and a process that dies while sending loses at most one batch
/// of claimed, unsent nudges (a nudge is never sent twice). 50 is one
/// second of Discord's global limit.
const REMINDER_BATCH: usize = 50;
/// Reminder DMs in flight at once: Discord answers in tens of milliseconds,
/// so one at a time would take seconds for a cohort; the rate limiter (or
/// serenity's) keeps them within Discord's limits.
const REMINDERS_IN_FLIGHT: usize = 10;

/// What one tick did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TickReport {
    /// Nonces of the check-ins posted.
    pub posted: Vec<String>,
    /// Occurrences recorded as missed.
    pub missed: usize,
    /// (check-in, user) reminders sent.
    pub reminded: Vec<(CheckInId, UserId)>,
    /// Check-ins whose digest was posted.
    pub digests: Vec<CheckInId>,
    /// Posts, DMs or digests that failed for now and will be retried (with back-off).
    pub failures: usize,
    /// Posts, DMs or digests Discord refused for good: recorded, not retried.
    pub refused: usize,
}

impl Engine {
    /// Do everything that is due now: record and post check-ins, post the
    /// digests of closed ones, send reminders.
    #[tracing::instrument(name = "tick", skip_all)]
    pub async fn tick(&self) -> Result<TickReport> {
        let mut report = TickReport::default();
        self.retries().prune(self.clock.now());
        // Cohorts of a server the bot was removed from are left out: nothing
        // is posted, reminded or digested for them (engine::guilds).
        let cohorts = self.store.scheduled_cohorts().await?;
        // First retire what can no longer be posted, so the rotation below sees
        // only check-ins the cohort was (or is about to be) shown.
        self.expire_unposted(&cohorts, &mut report).await?;
        for cohort in &cohorts {
            self.record_due(cohort, &mut report).await?;
        }
        self.post_recorded(&cohorts, &mut report).await?;
        self.post_digests(&cohorts, &mut report).await?;
        for cohort in &cohorts {
            self.send_reminders(cohort, &mut report).await?;
        }
        Ok(report)
    }

    /// Mark missed the recorded check-ins whose window closed before they could
    /// be posted, and those of cohorts removed meanwhile.
    async fn expire_unposted(&self, cohorts: &[Cohort], report: &mut TickReport) -> Result<()> {
        let now = self.clock.now();
        for checkin in self.store.unposted_checkins().await? {
            let active = cohorts.iter().any(|c| c.id == checkin.cohort_id);
            if !active || checkin.prompt.is_none() || checkin.closes_at <= now {
                self.store.mark_missed(checkin.id).await?;
                report.missed += 1;
            }
        }
        Ok(())
    }

    /// Put the cohort's due occurrences in the ledger: the newest to be posted,
    /// older ones (downtime) as missed, so there is never a backlog of posts.
    #[tracing::instrument(skip_all, fields(cohort = %cohort.id))]
    async fn record_due(&self, cohort: &Cohort, report: &mut TickReport) -> Result<()> {
        let now = self.clock.now();
        let schedule = cohort.schedule();
        let since = match self.store.latest_occurrence(cohort.id).await? {
            Some(t) => t.max(cohort.created_at - Duration::seconds(1)),
            None => cohort.created_at - Duration::seconds(1),
        };
        let due = schedule.between(since, now);
        let Some((&newest, older)) = due.split_last() else { return Ok(()) };
        for &occurrence_at in older {
            let closes_at = schedule.next_after(occurrence_at).unwrap_or(newest);
            let row = NewCheckIn { cohort_id: cohort.id, occurrence_at, closes_at, prompt: None };
            if self.store.record_checkin(&row).await?.is_some() {
                report.missed += 1;
            }
        }
        // The last occurrence of a bounded schedule (a year field) has no next
        // one; it still gets its check-in, open for a week.
        let closes_at = schedule.next_after(newest).unwrap_or(newest + Duration::weeks(1));
        let history = self.store.prompt_history(cohort.id).await?;
        let prompt = self.prompts.choose(&cohort.spec.tracks, &history);
        let row = NewCheckIn {
            cohort_id: cohort.id,
            occurrence_at: newest,
            closes_at,
            prompt: Some(PostedPrompt {
                id: prompt.id.clone(),
                track: prompt.track,
                question: prompt.question.clone(),
            }),
        };
        self.store.record_checkin(&row).await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn post_recorded(&self, cohorts: &[Cohort], report: &mut TickReport) -> Result<()> {
        for checkin in self.store.unposted_checkins().await? {
            let now = self.clock.now();
            let cohort = cohorts.iter().find(|c| c.id == checkin.cohort_id);
            let (Some(cohort), Some(prompt)) = (cohort, checkin.prompt.as_ref()) else {
                // Cohort removed meanwhile: the check-in will never be posted.
                self.store.mark_missed(checkin.id).await?;
                report.missed += 1;
                continue;
            };
            if checkin.closes_at <= now {
                self.store.mark_missed(checkin.id).await?;
                report.missed += 1;
                continue;
            }
            let key = RetryKey::Post(checkin.id);
            if !self.retries().is_due(key, now) {
                continue;
            }
            let channel = DeliveryTarget::Channel(cohort.spec.channel_id);
            if self.store.delivery_failure(cohort.id, channel).await?.is_some() {
                // Refused for good: shown to mentors; the check-in waits in
                // the ledger until the cohort is set up again.
                continue;
            }
            if !self.store.claim_post(checkin.id, now, now - POST_LEASE).await? {
                continue;
            }
            // Another scheduler (a tick of this process, or another process)
            // may have been refused between the look above and this claim: it
            // recorded the refusal before it gave the claim back.
            if self.store.delivery_failure(cohort.id, channel).await?.is_some() {
                self.store.release_post(checkin.id).await?;
                continue;
            }
            let post = CheckInPost {
                checkin_id: checkin.id,
                cohort_name: cohort.spec.name.clone(),
                channel_id: cohort.spec.channel_id,
                nonce: checkin.nonce.clone(),
                track: prompt.track,
                question: prompt.question.clone(),
                // The library may have changed since the check-in was recorded.
                hints: self.prompts.by_id(&prompt.id).and_then(|p| p.hints.clone()),
                closes_at: checkin.closes_at,
                timezone: cohort.timezone(),
            };
            match self.chat.post_checkin(&post).await {
                Ok(message_id) => {
                    self.retries().done(key);
                    self.store.mark_posted(checkin.id, message_id, self.clock.now()).await?;
                    tracing::info!(cohort = %cohort.spec.name, nonce = %checkin.nonce, "check-in posted");
                    report.posted.push(checkin.nonce.clone());
                }
                Err(e) if e.is_permanent() => {
                    self.retries().done(key);
                    // Recorded before the claim is given back, so no other
                    // scheduler tries the refused channel in between.
                    self.record_refusal(cohort, channel, &e).await?;
                    self.store.release_post(checkin.id).await?;
                    report.refused += 1;
                }
                Err(e) => {
                    self.store.release_post(checkin.id).await?;
                    let (attempt, next) = self.retries().failed(key, self.clock.now());
                    tracing::warn!(cohort = %cohort.spec.name, nonce = %checkin.nonce, attempt, next_try = %next, error = %ErrorChain(&e), "check-in post failed; will retry");
                    report.failures += 1;
                }
            }
        }
        Ok(())
    }

    /// Post the digest of each cohort's newest closed check-in, once.
    #[tracing::instrument(skip_all)]
    async fn post_digests(&self, cohorts: &[Cohort], report: &mut TickReport) -> Result<()> {
        let now = self.clock.now();
        for checkin_id in self.store.due_digests(now, now - DIGEST_WINDOW).await? {
            let Some(checkin) = self.store.checkin(checkin_id).await? else { continue };
            let Some(cohort) = cohorts.iter().find(|c| c.id == checkin.cohort_id) else { continue };
            let Some(channel_id) = cohort.spec.digest_channel_id else { continue };
            let key = RetryKey::Digest(checkin.id);
            if !self.retries().is_due(key, now) {
                continue;
            }
            let target = DeliveryTarget::DigestChannel(channel_id);
            if self.store.delivery_failure(cohort.id, target).await?.is_some() {
                continue;
            }
            // Computed before the claim: a failure here leaves nothing to undo.
            let delivery = self.delivery_problems(cohort).await?;
            let digest = self.digest_of(&checkin, &delivery.left).await?;
            if !self.store.claim_digest(checkin.id, now).await? {
                continue;
            }
            // As for posts: a refusal recorded since the look above.
            if self.store.delivery_failure(cohort.id, target).await?.is_some() {
                self.store.release_digest(checkin.id).await?;
                continue;
            }
            let post = DigestPost {
                cohort_name: cohort.spec.name.clone(),
                channel_id,
                nonce: digest_nonce(&checkin),
                digest,
                delivery,
            };
            match self.chat.post_digest(&post).await {
                Ok(()) => {
                    self.retries().done(key);
                    tracing::info!(cohort = %cohort.spec.name, nonce = %checkin.nonce, "digest posted");
                    report.digests.push(checkin.id);
                }
                Err(e) if e.is_permanent() => {
                    self.retries().done(key);
                    self.record_refusal(cohort, target, &e).await?;
                    self.store.release_digest(checkin.id).await?;
                    report.refused += 1;
                }
                Err(e) => {
                    self.store.release_digest(checkin.id).await?;
                    let (attempt, next) = self.retries().failed(key, self.clock.now());
                    tracing::warn!(cohort = %cohort.spec.name, nonce = %checkin.nonce, attempt, next_try = %next, error = %ErrorChain(&e), "digest failed; will retry");
                    report.failures += 1;
                }
            }
        }
        Ok(())
    }

    /// The digest of a closed check-in, from one read of the cohort's
    /// activity; members who left the server (`left`) are not counted.
    async fn digest_of(&self, checkin: &CheckIn, left: &[UserId]) -> Result<Digest> {
        let mut activity = self.store.cohort_activity(checkin.cohort_id).await?;
        activity.members.retain(|m| !left.contains(&m.member.user_id));
        let mut digest = Digest::compute(checkin, &activity.members, &activity.checkins);
        let mentoring = self.store.cohort_mentoring(checkin.cohort_id).await?;
        digest.mentoring = DigestMentoring::compute(checkin.id, &activity.members, &mentoring);
        Ok(digest)
    }

    /// Remind the members who have not answered the open check-in, once
    /// each. Reminders are claimed [`REMINDER_BATCH`] at a time in one
    /// transaction, then sent [`REMINDERS_IN_FLIGHT`] at a time; a member
    /// whose DM channel is remembered costs one request.
    #[tracing::instrument(skip_all, fields(cohort = %cohort.id))]
    async fn send_reminders(&self, cohort: &Cohort, report: &mut TickReport) -> Result<()> {
        let Some(after) = cohort.spec.reminder_after else { return Ok(()) };
        let now = self.clock.now();
        let Some(checkin) = self.store.open_checkin(cohort.id, now).await? else { return Ok(()) };
        if now < self.remind_at(&checkin, after).await? {
            return Ok(());
        }
        let due = self.store.members_to_remind(cohort.id, checkin.id, now).await?;
        if due.is_empty() {
            return Ok(());
        }
        let known = self.store.dm_channels_of_cohort(cohort.id).await?;
        let question = checkin.prompt.as_ref().map(|p| p.question.clone()).unwrap_or_default();
        // Members backing off after a failure for now wait their turn.
        let due: Vec<UserId> =
            due.into_iter().filter(|u| self.retries().is_due(RetryKey::Reminder(checkin.id, *u), now)).collect();
        for batch in due.chunks(REMINDER_BATCH) {
            let dms: Vec<ReminderDm> = self
                .store
                .claim_reminders(checkin.id, batch, now)
                .await?
                .into_iter()
                .map(|user_id| ReminderDm {
                    user_id,
                    checkin_id: checkin.id,
                    cohort_name: cohort.spec.name.clone(),
                    question: question.clone(),
                    closes_at: checkin.closes_at,
                    dm_channel: known.get(&user_id).copied(),
                })
                .collect();
            // Made up front, not in a lazy `map` inside the stream: a closure
            // there would have to be general over lifetimes for the
            // scheduler's future to be `Send`.
            let sends: Vec<_> = dms.iter().map(|dm| self.deliver_reminder(dm)).collect();
            let outcomes: Vec<Result<Result<ChannelId, ChatError>>> =
                stream::iter(sends).buffered(REMINDERS_IN_FLIGHT).collect().await;
            for (dm, outcome) in dms.iter().zip(outcomes) {
                let user_id = dm.user_id;
                let key = RetryKey::Reminder(checkin.id, user_id);
                match outcome? {
                    Ok(channel) => {
                        self.retries().done(key);
                        if dm.dm_channel != Some(channel) {
                            self.store.remember_dm_channel(user_id, channel, self.clock.now()).await?;
                        }
                        report.reminded.push((checkin.id, user_id));
                    }
                    // Retrying cannot help (the member's DMs are closed): the claim
                    // stays, so this member is not tried again for this check-in.
                    Err(e) if e.is_permanent() => {
                        self.retries().done(key);
                        self.dm_refused(cohort, user_id, &e).await?;
                        report.refused += 1;
                    }
                    Err(e) => {
                        self.store.release_reminder(checkin.id, user_id).await?;
                        let (attempt, next) = self.retries().failed(key, self.clock.now());
                        tracing::warn!(cohort = %cohort.spec.name, checkin = %checkin.id, user = %user_id, attempt, next_try = %next, error = %ErrorChain(&e), "reminder DM failed; will retry");
                        report.failures += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// One reminder. A remembered DM channel Discord no longer knows
    /// ([`UNKNOWN_CHANNEL`]) is forgotten and the reminder goes once more,
    /// through a channel opened for it.
    async fn deliver_reminder(&self, dm: &ReminderDm) -> Result<Result<ChannelId, ChatError>> {
        let sent = self.chat.send_reminder(dm).await;
        match (sent, dm.dm_channel) {
            (Err(e), Some(stale)) if e.code == Some(UNKNOWN_CHANNEL) => {
                tracing::info!(user = %dm.user_id, "remembered DM channel is gone; opening a new one");
                self.store.forget_dm_channel(dm.user_id, stale).await?;
                let fresh = ReminderDm { dm_channel: None, ..dm.clone() };
                Ok(self.chat.send_reminder(&fresh).await)
            }
            (sent, _) => Ok(sent),
        }
    }

    /// When the next thing is due: an occurrence, a close (its digest), a
    /// reminder, or the retry of a send that failed for now. Nothing is
    /// planned for a channel Discord refused for good.
    pub async fn next_wake(&self) -> Result<DateTime<Utc>> {
        Ok(self.plan().await?.0)
    }

    /// [`Engine::next_wake`], with the cohorts the plan was made from.
    async fn plan(&self) -> Result<(DateTime<Utc>, Vec<Cohort>)> {
        let now = self.clock.now();
        let mut wake = now + MAX_SLEEP;
        let cohorts = self.store.scheduled_cohorts().await?;
        for checkin in self.store.unposted_checkins().await? {
            let Some(cohort) = cohorts.iter().find(|c| c.id == checkin.cohort_id) else { continue };
            let channel = DeliveryTarget::Channel(cohort.spec.channel_id);
            if self.store.delivery_failure(cohort.id, channel).await?.is_some() {
                continue;
            }
            // Due but not posted by the tick just before: another scheduler
            // holds its claim. One backing off is planned below.
            if self.retries().is_due(RetryKey::Post(checkin.id), now) {
                wake = wake.min(now + RETRY_AFTER);
            }
        }
        if let Some(retry) = self.retries().next_after(now) {
            wake = wake.min(retry);
        }
        for cohort in &cohorts {
            if let Some(next) = cohort.schedule().next_after(now) {
                wake = wake.min(next);
            }
            if cohort.spec.reminder_after.is_none() && cohort.spec.digest_channel_id.is_none() {
                continue;
            }
            let Some(open) = self.store.open_checkin(cohort.id, now).await? else { continue };
            if cohort.spec.digest_channel_id.is_some() {
                // Usually the next occurrence; not when the schedule changed or ended.
                wake = wake.min(open.closes_at);
            }
            if let Some(after) = cohort.spec.reminder_after {
                let at = self.remind_at(&open, after).await?;
                wake = wake.min(if at > now { at } else { now + MAX_SLEEP });
            }
        }
        Ok((wake.max(now), cohorts))
    }

    /// Run until `shutdown` turns true: tick, sleep until the next wake, and
    /// re-plan at once when cohorts change here, or within
    /// [`SCHEDULE_POLL`] when they changed through another process.
    pub async fn run_scheduler(&self, mut shutdown: watch::Receiver<bool>) {
        // Ticks failed in a row (the database refused a write or a read).
        let mut failed_ticks = 0u32;
        loop {
            if *shutdown.borrow() {
                break;
            }
            match self.tick().await {
                // Each failure logged its own line; this is the tick's tally.
                Ok(r) => {
                    if failed_ticks > 0 {
                        tracing::info!(failed_ticks, "scheduler works again; catching up");
                        failed_ticks = 0;
                    }
                    if r.failures + r.refused > 0 {
                        tracing::debug!(failures = r.failures, refused = r.refused, "scheduler tick had failures");
                    }
                }
                Err(e) => {
                    failed_ticks += 1;
                    self.back_off(failed_ticks, &e, &mut shutdown).await;
                    continue;
                }
            }
            let (wake, planned) = match self.plan().await {
                Ok(plan) => plan,
                Err(e) => {
                    tracing::error!(error = %ErrorChain(&e), "scheduler could not plan");
                    (self.clock.now() + RETRY_AFTER, Vec::new())
                }
            };
            self.sleep_until(wake, &planned, &mut shutdown).await;
        }
    }

    /// After the `failed_ticks`-th failed tick in a row: the same back-off
    /// as a failed send (`retry.rs`), so a full disk or a restarting server
    /// is not hammered. What fell due meanwhile is recorded and posted by
    /// the first tick that works (only a tick writes the ledger).
    async fn back_off(&self, failed_ticks: u32, e: &super::EngineError, shutdown: &mut watch::Receiver<bool>) {
        let wait = self.retries().policy().delay(failed_ticks);
        let next = self.clock.now() + Duration::from_std(wait).unwrap_or(MAX_SLEEP);
        tracing::warn!(attempt = failed_ticks, next_try = %next, error = %ErrorChain(e), "scheduler tick failed; will retry");
        // A cohort changed here means the database took a write: try now.
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = self.replan.notified() => {}
            _ = shutdown.changed() => {}
        }
    }

    /// Sleeps until `wake` (a few ms past it, so `now` is surely at or after
    /// the due second), a re-plan here, shutdown, or until the cohorts read
    /// every [`SCHEDULE_POLL`] differ from `planned`.
    async fn sleep_until(&self, wake: DateTime<Utc>, planned: &[Cohort], shutdown: &mut watch::Receiver<bool>) {
        loop {
            let left = (wake - self.clock.now()).to_std().unwrap_or_default() + StdDuration::from_millis(5);
            let polled = left > SCHEDULE_POLL;
            tokio::select! {
                _ = tokio::time::sleep(left.min(SCHEDULE_POLL)) => {}
                _ = self.replan.notified() => return,
                _ = shutdown.changed() => return,
            }
            if !polled {
                return;
            }
            match self.store.scheduled_cohorts().await {
                Ok(cohorts) if cohorts == planned => {}
                Ok(_) => {
                    tracing::debug!("cohorts changed through another process; planning again");
                    return;
                }
                // Not worth a line of its own: the tick this leads to says
                // what is wrong with the database.
                Err(_) => return,
            }
        }
    }
}

/// The digest's message nonce: the check-in's identity with its own prefix
/// ("t…" is the check-in post), within Discord's 25 characters likewise.
fn digest_nonce(checkin: &CheckIn) -> String {
    format!("d{}-{}", checkin.cohort_id, checkin.occurrence_at.timestamp())
}

impl Engine {
    /// `reminder_after` counts from the post: a check-in posted late (the bot
    /// was down at its time) gives members the full delay before the nudge.
    async fn remind_at(&self, checkin: &CheckIn, after: StdDuration) -> Result<DateTime<Utc>> {
        let posted = self.store.posted_at(checkin.id).await?.unwrap_or(checkin.occurrence_at);
        let start = checkin.occurrence_at.max(posted);
        Ok(start
            .checked_add_signed(Duration::from_std(after).unwrap_or(Duration::MAX))
            .unwrap_or(DateTime::<Utc>::MAX_UTC))
    }
}
