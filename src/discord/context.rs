//! What every handler shares: [`Data`] (the engine), the [`Viewer`] of an
//! interaction, the deadlines Discord imposes, and one `say`/`respond`.

use std::sync::Arc;

use poise::serenity_prelude as serenity;

use crate::domain::{ChannelId, GuildId, RoleId, UserId, Viewer};
use crate::engine::{Engine, EngineError};
use poise::CreateReply;

use super::render::{self, reply_for};

/// What every command and event handler can reach: the engine, nothing else.
pub struct Data {
    pub engine: Arc<Engine>,
    /// The desk's public base URL (`TRELLIS_PUBLIC_URL`), under which
    /// `/desk` builds sign-in links; `None` when the desk is off.
    pub desk: Option<String>,
}

pub type Error = anyhow::Error;

pub type Context<'a> = poise::Context<'a, Data, Error>;

/// The [`Viewer`] of an interaction, from the interaction itself (no cache, no
/// HTTP); `None` outside a server. Manage Server counts from the member's
/// permissions in the channel, as Discord computed them.
pub fn viewer_of(
    guild_id: Option<serenity::GuildId>,
    channel_id: serenity::ChannelId,
    member: Option<&serenity::Member>,
    user: &serenity::User,
) -> Option<Viewer> {
    let permissions = member.and_then(|m| m.permissions).unwrap_or_else(serenity::Permissions::empty);
    Some(Viewer {
        guild_id: GuildId::from(guild_id?),
        channel_id: ChannelId::from(channel_id),
        user_id: UserId::from(user.id),
        roles: member.map(|m| m.roles.iter().map(RoleId::from).collect()).unwrap_or_default(),
        can_manage: permissions.contains(serenity::Permissions::MANAGE_GUILD)
            || permissions.contains(serenity::Permissions::ADMINISTRATOR),
    })
}

/// The viewer of a slash command (all are guild-only).
pub fn viewer(ctx: Context<'_>) -> Result<Viewer, Error> {
    let poise::Context::Application(app) = ctx else { anyhow::bail!("not an application command") };
    let i = app.interaction;
    viewer_of(i.guild_id, i.channel_id, i.member.as_deref(), &i.user)
        .ok_or_else(|| anyhow::anyhow!("interaction outside a server"))
}

/// Discord fails an interaction that has no response 3 s after it was
/// sent. A read that must come before the response (the form a button
/// opens, the page it turns to) gives up at this bound, and the member is
/// told to try again instead of seeing "This interaction failed".
pub(crate) const READ_DEADLINE: std::time::Duration = std::time::Duration::from_millis(2500);

/// A command whose work is not done by then is deferred (Discord shows
/// "thinking…") and its answer follows, however long the database takes.
/// After the store's own bounds (2 s: busy timeout, `lock_timeout`, pool
/// wait), so one statement that gives up is answered directly.
pub(crate) const DEFER_AFTER: std::time::Duration = std::time::Duration::from_millis(2300);

/// `read` bounded by [`READ_DEADLINE`]: a read only (cancelling it loses
/// nothing), whose late answer is a "did not answer in time" error.
pub(crate) async fn in_time<T>(read: impl Future<Output = Result<T, EngineError>>) -> Result<T, EngineError> {
    tokio::time::timeout(READ_DEADLINE, read).await.unwrap_or_else(|_| {
        let late = crate::store::StoreError::TimedOut(Arc::new(sqlx::Error::PoolTimedOut));
        Err(EngineError::Store(late))
    })
}

/// An ephemeral text reply.
pub async fn say(ctx: Context<'_>, text: impl Into<String>) -> Result<(), Error> {
    ctx.send(CreateReply::default().content(render::truncate(&text.into(), 2000)).ephemeral(true)).await?;
    Ok(())
}

/// The reply for a failed engine call, said: the one place a command turns
/// an [`EngineError`] into what the member reads ([`reply_for`]).
pub async fn say_refused(ctx: Context<'_>, e: &EngineError) -> Result<(), Error> {
    say(ctx, reply_for(e)).await
}

/// Run `call` with the invoker as a viewer and the engine; say the text
/// `done` makes of its result, or the reply for its error.
pub async fn respond<T>(
    ctx: Context<'_>,
    call: impl AsyncFnOnce(&Engine, &Viewer) -> Result<T, EngineError>,
    done: impl FnOnce(T) -> String,
) -> Result<(), Error> {
    let who = viewer(ctx)?;
    match defer_if_slow(ctx, call(&ctx.data().engine, &who)).await? {
        Ok(value) => say(ctx, done(value)).await,
        Err(e) => say_refused(ctx, &e).await,
    }
}

/// `work`, and if it is not done within [`DEFER_AFTER`], an ephemeral
/// deferral first ("thinking…"), so a slow database never leaves the member
/// with "This interaction failed"; the reply that follows edits it.
pub async fn defer_if_slow<T>(ctx: Context<'_>, work: impl Future<Output = T>) -> Result<T, Error> {
    tokio::pin!(work);
    tokio::select! {
        done = &mut work => Ok(done),
        () = tokio::time::sleep(DEFER_AFTER) => {
            ctx.defer_ephemeral().await?;
            Ok(work.await)
        }
    }
}

/// An ephemeral text answer to a button or a form.
pub async fn reply_ephemeral(
    ctx: &serenity::Context,
    respond: impl AsyncFnOnce(&serenity::Http, serenity::CreateInteractionResponse) -> serenity::Result<()>,
    text: String,
) -> Result<(), Error> {
    respond(&ctx.http, serenity::CreateInteractionResponse::Message(render::ephemeral_text(text))).await?;
    Ok(())
}
