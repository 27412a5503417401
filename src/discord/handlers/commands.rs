//! Slash commands. Each turns the invocation into a [`Viewer`](crate::domain::Viewer)
//! and engine calls, and the result into an ephemeral reply. Replies ping
//! nobody: `allowed_mentions` is set once for the framework.

use chrono::Weekday;
use poise::CreateReply;
use poise::serenity_prelude as serenity;
use serenity::{CreateAttachment, CreateInteractionResponse};

use crate::discord::context::{Context, Data, Error, defer_if_slow, in_time, respond, say, say_refused, viewer};
use crate::discord::custom_id::CustomId;
use crate::discord::render::{self, reply_for};
use crate::domain::schedule::{Schedule, parse_time_of_day};
use crate::domain::{ChannelPermissions, CohortDraft};
use crate::domain::{UserId, Viewer, timezone};
use crate::engine::{Engine, EngineError};
use crate::summary::DEFAULT_WINDOW_WEEKS;
use crate::summary::chart::{self, MAX_CHART_WEEKS};

pub fn all() -> Vec<poise::Command<Data, Error>> {
    vec![
        checkin(),
        impact(),
        progress(),
        cohort(),
        super::mentoring::path(),
        packet(),
        pause(),
        resume(),
        forget_me(),
        desk(),
    ]
}

// poise's `#[max]` takes a literal only: the options below repeat these two
// numbers, and `registered_limits_match_the_guards` keeps them equal.
/// Widest `/progress` window, in weeks: as far back as a chart can draw.
const MAX_PROGRESS_WEEKS: u32 = MAX_CHART_WEEKS;
/// Widest `/cohort status` window, in weeks: two years fit a readable heatmap.
const MAX_STATUS_WEEKS: u32 = 104;

const PROGRESS_PNG: &str = "progress.png";
const HEATMAP_PNG: &str = "heatmap.png";
const STATUS_CSV: &str = "cohort-status.csv";
const PACKET_MD: &str = "packet.md";

fn app(ctx: Context<'_>) -> Result<poise::ApplicationContext<'_, Data, Error>, Error> {
    match ctx {
        poise::Context::Application(a) => Ok(a),
        poise::Context::Prefix(_) => anyhow::bail!("prefix commands are not registered"),
    }
}

/// Discord checks an option's min and max in its client only; a hand-made
/// request can send any number.
fn weeks_in_range(weeks: Option<u32>, max: u32) -> Result<u32, String> {
    match weeks {
        None => Ok(DEFAULT_WINDOW_WEEKS),
        Some(w) if (1..=max).contains(&w) => Ok(w),
        Some(_) => Err(format!("`weeks` must be a whole number from 1 to {max}.")),
    }
}

/// Answer this week's check-in (opens the answer form).
#[poise::command(slash_command, guild_only)]
pub async fn checkin(ctx: Context<'_>) -> Result<(), Error> {
    let who = viewer(ctx)?;
    match in_time(ctx.data().engine.answer_form(&who)).await {
        Ok(form) => {
            let modal = render::answer_modal(&form.checkin, form.current.as_ref());
            app(ctx)?.interaction.create_response(ctx.http(), CreateInteractionResponse::Modal(modal)).await?;
            Ok(())
        }
        Err(e) => say_refused(ctx, &e).await,
    }
}

/// Log a measurable win in your impact ledger.
#[poise::command(slash_command, guild_only)]
pub async fn impact(ctx: Context<'_>) -> Result<(), Error> {
    let who = viewer(ctx)?;
    match in_time(ctx.data().engine.impact_form(&who)).await {
        Ok(cohort) => {
            let modal = render::impact_modal(&cohort);
            app(ctx)?.interaction.create_response(ctx.http(), CreateInteractionResponse::Modal(modal)).await?;
            Ok(())
        }
        Err(e) => say_refused(ctx, &e).await,
    }
}

/// Your progress (or, for mentors, a member's): answers, streaks, tracks, wins, and a chart.
#[poise::command(slash_command, guild_only)]
pub async fn progress(
    ctx: Context<'_>,
    #[description = "Mentors: the member to look at (default: you)"] member: Option<serenity::User>,
    #[description = "Recent window in weeks (default 12); all-time figures are shown too"]
    #[min = 1]
    #[max = 520]
    weeks: Option<u32>,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let weeks = match weeks_in_range(weeks, MAX_PROGRESS_WEEKS) {
        Ok(w) => w,
        Err(text) => return say(ctx, text).await,
    };
    let who = viewer(ctx)?;
    let target = member.as_ref().map_or(who.user_id, |u| UserId::from(u.id));
    let name = match &member {
        Some(u) if u.id.get() != who.user_id.get() => display_name(u),
        _ => invoker_name(ctx)?,
    };
    let (cohort, p) = match ctx.data().engine.progress_for(&who, target, weeks).await {
        Ok(found) => found,
        Err(e) => return say_refused(ctx, &e).await,
    };
    let tz = cohort.timezone();
    let title = format!("{name} · last {} weeks", p.window_weeks);
    let (p, png) = off_thread(p, move |p| chart::progress_png(p, &title, tz)).await;
    let mut embed = render::progress_embed(&cohort, &name, &p);
    let mut reply = CreateReply::default().ephemeral(true);
    if let Some(png) = png {
        embed = embed.image(format!("attachment://{PROGRESS_PNG}"));
        reply = reply.attachment(CreateAttachment::bytes(png, PROGRESS_PNG));
    }
    reply = reply.embed(embed);
    if let Some(notes) = render::mentoring::progress_notes_embed(&p.mentoring, target == who.user_id) {
        reply = reply.embed(notes);
    }
    ctx.send(reply).await?;
    Ok(())
}

/// A chart takes milliseconds of CPU: draw it on the blocking pool, not on an
/// async worker. A chart that fails is logged and left out; the figures still go.
async fn off_thread<T: Send + 'static>(
    value: T,
    draw: impl FnOnce(&T) -> Result<Vec<u8>, chart::ChartError> + Send + 'static,
) -> (T, Option<Vec<u8>>) {
    let drawn = tokio::task::spawn_blocking(move || {
        let png = draw(&value);
        (value, png)
    })
    .await;
    match drawn {
        Ok((value, Ok(png))) => (value, Some(png)),
        Ok((value, Err(e))) => {
            tracing::error!(error = %crate::telemetry::ErrorChain(&e), "chart not rendered");
            (value, None)
        }
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

fn display_name(user: &serenity::User) -> String {
    user.global_name.clone().unwrap_or_else(|| user.name.clone())
}

/// The caller's name on this server (nickname first).
fn invoker_name(ctx: Context<'_>) -> Result<String, Error> {
    let nick = app(ctx)?.interaction.member.as_ref().and_then(|m| m.nick.clone());
    Ok(nick.unwrap_or_else(|| display_name(ctx.author())))
}

/// Cohort membership, status and setup.
#[poise::command(
    slash_command,
    guild_only,
    subcommands("status", "super::mentoring::answers", "join", "leave", "setup", "remove"),
    subcommand_required
)]
pub async fn cohort(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Mentors: this week's answers, streaks, quiet members, track coverage and a heatmap.
#[poise::command(slash_command, guild_only)]
pub async fn status(
    ctx: Context<'_>,
    #[description = "Weeks shown in the heatmap and track coverage (default 12)"]
    #[min = 1]
    #[max = 104]
    weeks: Option<u32>,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let weeks = match weeks_in_range(weeks, MAX_STATUS_WEEKS) {
        Ok(w) => w,
        Err(text) => return say(ctx, text).await,
    };
    let who = viewer(ctx)?;
    let (cohort, s) = match ctx.data().engine.cohort_status_for(&who, weeks).await {
        Ok(found) => found,
        Err(e) => return say_refused(ctx, &e).await,
    };
    let tz = cohort.timezone();
    let table = s.to_csv(tz);
    let title = format!("{} · last {} weeks", cohort.spec.name, s.window_weeks);
    let (s, png) = off_thread(s, move |s| chart::heatmap_png(s, &title, tz)).await;
    let mut embed = render::cohort_status_embed(&cohort, &s, STATUS_CSV);
    let mut reply =
        CreateReply::default().ephemeral(true).attachment(CreateAttachment::bytes(table.into_bytes(), STATUS_CSV));
    if let Some(png) = png {
        embed = embed.image(format!("attachment://{HEATMAP_PNG}"));
        reply = reply.attachment(CreateAttachment::bytes(png, HEATMAP_PNG));
    }
    ctx.send(reply.embed(embed)).await?;
    Ok(())
}

/// Join the cohort of this channel.
#[poise::command(slash_command, guild_only)]
pub async fn join(ctx: Context<'_>) -> Result<(), Error> {
    respond(
        ctx,
        async |engine, who| {
            let cohort = engine.cohort_here(who).await?;
            let new = engine.join(&cohort, who.user_id).await?;
            Ok((cohort, new))
        },
        |(c, new)| {
            if new {
                format!("Welcome to **{}**! Check-ins are posted in this channel.", c.spec.name)
            } else {
                format!("You are already a member of **{}**.", c.spec.name)
            }
        },
    )
    .await
}

/// Leave the cohort of this channel (your history stays until `/forget-me`).
#[poise::command(slash_command, guild_only)]
pub async fn leave(ctx: Context<'_>) -> Result<(), Error> {
    respond(
        ctx,
        async |engine, who| {
            let cohort = engine.cohort_for(who).await?;
            engine.leave(&cohort, who.user_id).await?;
            Ok(cohort)
        },
        |c| format!("You left **{}**. Your history is kept; `/forget-me` deletes it.", c.spec.name),
    )
    .await
}

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum Day {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl From<Day> for Weekday {
    fn from(d: Day) -> Self {
        match d {
            Day::Monday => Weekday::Mon,
            Day::Tuesday => Weekday::Tue,
            Day::Wednesday => Weekday::Wed,
            Day::Thursday => Weekday::Thu,
            Day::Friday => Weekday::Fri,
            Day::Saturday => Weekday::Sat,
            Day::Sunday => Weekday::Sun,
        }
    }
}

/// Zones matching what the admin typed, each labelled with its UTC offset now.
async fn autocomplete_timezone(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let choices = timezone::suggest(partial, ctx.data().engine.now(), MAX_CHOICES)
        .into_iter()
        .map(|z| serenity::AutocompleteChoice::new(z.label, z.name))
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

/// Discord shows at most 25 autocomplete choices.
const MAX_CHOICES: usize = 25;

/// Admins: make this channel a cohort's channel (or update its cohort).
#[poise::command(slash_command, guild_only)]
#[allow(clippy::too_many_arguments)]
pub async fn setup(
    ctx: Context<'_>,
    #[description = "IANA time zone the schedule is in, e.g. Europe/Berlin"]
    #[autocomplete = "autocomplete_timezone"]
    timezone: String,
    #[description = "Members with this role can see the cohort's status and progress"] mentor_role: serenity::Role,
    #[description = "Day of the weekly check-in"] day: Option<Day>,
    #[description = "Time of the check-in, HH:MM (24 h)"] time: Option<String>,
    #[description = "Advanced: a cron expression (sec min hour day month weekday), instead of day and time"]
    cron: Option<String>,
    #[description = "DM members who have not answered after this long, e.g. 48h"] reminder_after: Option<String>,
    #[description = "Mentors-only channel for the weekly digest"] digest_channel: Option<serenity::GuildChannel>,
    #[description = "Cohort name (default: the channel's name)"] name: Option<String>,
) -> Result<(), Error> {
    let who = viewer(ctx)?;
    // Refused before the options are checked (the engine's rule, asked first).
    if let Err(e) = Engine::may_set_up(&who) {
        return say_refused(ctx, &e).await;
    }
    // These are echoed in error messages; an overlong one would push the reason
    // out of Discord's 2000 characters. No valid value comes near the limits.
    for (option, value, max) in [
        ("timezone", Some(&timezone), 64),
        ("time", time.as_ref(), 16),
        ("cron", cron.as_ref(), 256),
        ("reminder_after", reminder_after.as_ref(), 32),
    ] {
        let len = value.map_or(0, |v| v.chars().count());
        if len > max {
            return say(ctx, format!("`{option}` is {len} characters long; a valid value has at most {max}.")).await;
        }
    }
    if let Err(text) = named_here(ctx, &who, &mentor_role, digest_channel.as_ref()).await {
        return say(ctx, text).await;
    }
    let schedule = match (cron, day, time) {
        (Some(c), None, None) => c,
        (None, Some(d), Some(t)) => match parse_time_of_day(&t) {
            Ok(t) => Schedule::weekly_expr(d.into(), t),
            Err(e) => return say(ctx, format!("time: {e}")).await,
        },
        _ => {
            return say(ctx, "Give either `day` and `time` (e.g. Monday, 09:00), or an advanced `cron` expression.")
                .await;
        }
    };
    let draft =
        SetupOptions { mentor_role: mentor_role.id.get(), schedule, timezone, reminder_after, digest_channel, name };
    let text = defer_if_slow(ctx, set_up(ctx, &who, draft)).await??;
    say(ctx, text).await
}

/// The options of `/cohort setup` once checked.
struct SetupOptions {
    mentor_role: u64,
    schedule: String,
    timezone: String,
    reminder_after: Option<String>,
    digest_channel: Option<serenity::GuildChannel>,
    name: Option<String>,
}

/// `/cohort setup`'s work: the cohort set up (or updated) and the reply.
async fn set_up(ctx: Context<'_>, who: &Viewer, o: SetupOptions) -> Result<String, Error> {
    let engine = &ctx.data().engine;
    let existing = match engine.cohort_of_channel(who.guild_id, who.channel_id).await {
        Ok(c) => c,
        Err(e) => return Ok(reply_for(&e)),
    };
    let interaction = app(ctx)?.interaction;
    let channel_name = interaction.channel.as_ref().and_then(|c| c.name.clone());
    // What the bot may do here, as Discord computed it: no extra request.
    let bot = interaction.app_permissions.map(|p| ChannelPermissions(p.bits()));
    let name = o
        .name
        .or_else(|| existing.as_ref().map(|c| c.spec.name.clone()))
        .or(channel_name)
        .unwrap_or_else(|| format!("cohort-{}", who.channel_id));
    let draft = CohortDraft {
        name,
        guild_id: who.guild_id.get(),
        channel_id: who.channel_id.get(),
        mentor_role_id: o.mentor_role,
        schedule: o.schedule,
        timezone: o.timezone,
        reminder_after: o.reminder_after,
        digest_channel_id: o.digest_channel.map(|c| c.id.get()),
        tracks: existing.map(|c| c.spec.tracks.iter().map(|t| t.to_string()).collect()),
    };
    Ok(match engine.setup_cohort_for(who, draft, bot).await {
        Ok(cohort) => render::cohort_set_up(&cohort, engine.now()),
        Err(EngineError::Field(f)) => render::setup_field_refused(&f),
        Err(e) => reply_for(&e),
    })
}

/// What the options name must be of this server: the digest channel as
/// Discord returned it (poise fetched it by id; its `guild_id` is Discord's,
/// not the client's), and the mentor role among the server's roles (a
/// resolved role carries no server of its own: serenity stamps the
/// interaction's on it). Otherwise digests would go to, or mentors be
/// chosen by, a channel or role of another server.
async fn named_here(
    ctx: Context<'_>,
    who: &Viewer,
    mentor_role: &serenity::Role,
    digest_channel: Option<&serenity::GuildChannel>,
) -> Result<(), String> {
    if digest_channel.is_some_and(|c| c.guild_id.get() != who.guild_id.get()) {
        return Err("`digest_channel` is not a channel of this server; pick one of this server's channels.".into());
    }
    match ctx.http().get_guild_roles(serenity::GuildId::from(who.guild_id)).await {
        Ok(roles) if roles.iter().any(|r| r.id == mentor_role.id) => Ok(()),
        Ok(_) => Err("`mentor_role` is not a role of this server; pick one of this server's roles.".into()),
        Err(e) => {
            let e = crate::discord::chat::chat_err(e);
            tracing::warn!(error = %crate::telemetry::ErrorChain(&e), "the server's roles could not be read");
            Err("Trellis could not check `mentor_role` with Discord just now; nothing was saved. Please try again in a minute.".into())
        }
    }
}

/// Admins: stop this channel's cohort (its history is kept).
#[poise::command(slash_command, guild_only)]
pub async fn remove(ctx: Context<'_>) -> Result<(), Error> {
    respond(
        ctx,
        async |engine, who| engine.remove_cohort_for(who).await,
        |c| format!("**{}** is removed: no more check-ins here. Its history is kept.", c.spec.name),
    )
    .await
}

/// Your promotion-evidence packet (Markdown): Staff path, wins, answers and mentors' notes.
#[poise::command(slash_command, guild_only)]
pub async fn packet(ctx: Context<'_>) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let who = viewer(ctx)?;
    let name = invoker_name(ctx)?;
    match ctx.data().engine.packet_for(&who, &name).await {
        Ok(markdown) => {
            ctx.send(
                CreateReply::default()
                    .content(
                        "Your promotion-evidence packet is attached: your Staff path, impact ledger, and answers by \
                         track with your mentors' notes.",
                    )
                    .attachment(CreateAttachment::bytes(markdown.into_bytes(), PACKET_MD))
                    .ephemeral(true),
            )
            .await?;
            Ok(())
        }
        Err(e) => say_refused(ctx, &e).await,
    }
}

/// Pause your check-ins and reminders (vacation, leave).
#[poise::command(slash_command, guild_only)]
pub async fn pause(
    ctx: Context<'_>,
    #[description = "How many weeks (default 1)"]
    #[min = 1]
    #[max = 12]
    weeks: Option<u32>,
) -> Result<(), Error> {
    let weeks = weeks.unwrap_or(1);
    respond(
        ctx,
        async |engine, who| {
            let cohort = engine.cohort_for(who).await?;
            engine.pause(&cohort, who.user_id, weeks).await
        },
        |until| {
            format!(
                "Paused until <t:{}:F>. Paused weeks do not count against you; `/resume` ends it early.",
                until.timestamp()
            )
        },
    )
    .await
}

/// End your pause now.
#[poise::command(slash_command, guild_only)]
pub async fn resume(ctx: Context<'_>) -> Result<(), Error> {
    respond(
        ctx,
        async |engine, who| {
            let cohort = engine.cohort_for(who).await?;
            engine.resume(&cohort, who.user_id).await
        },
        |()| "Welcome back! You will get check-ins and reminders again.".to_string(),
    )
    .await
}

/// Delete everything Trellis stores about you (asks to confirm).
#[poise::command(slash_command, guild_only, rename = "forget-me")]
pub async fn forget_me(ctx: Context<'_>) -> Result<(), Error> {
    ctx.send(
        CreateReply::default()
            .content(
                "This deletes **all** your answers, their history, your impact ledger, your Staff path, mentors' notes on your answers and notes you wrote as a mentor, memberships and pauses, in every cohort. It cannot be undone.",
            )
            .components(vec![serenity::CreateActionRow::Buttons(vec![
                serenity::CreateButton::new(CustomId::ForgetConfirm.render())
                    .label("Delete my data")
                    .style(serenity::ButtonStyle::Danger),
            ])])
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::MAX_PAUSE_WEEKS;

    /// The `max_value` Discord's client enforces for `option` of `command`.
    fn registered_max(command: poise::Command<Data, Error>, option: &str) -> Option<f64> {
        let json = serde_json::to_value(command.create_as_slash_command()?).ok()?;
        json["options"].as_array()?.iter().find(|o| o["name"] == option)?["max_value"].as_f64()
    }

    #[test]
    fn registered_limits_match_the_guards() {
        assert_eq!(registered_max(progress(), "weeks"), Some(f64::from(MAX_PROGRESS_WEEKS)));
        assert_eq!(registered_max(status(), "weeks"), Some(f64::from(MAX_STATUS_WEEKS)));
        assert_eq!(registered_max(pause(), "weeks"), Some(f64::from(MAX_PAUSE_WEEKS)));
    }
}

/// Open your record (mentors: your cohort's) on the desk, in a browser.
#[poise::command(slash_command, guild_only)]
pub async fn desk(ctx: Context<'_>) -> Result<(), Error> {
    let Some(base) = ctx.data().desk.clone() else {
        return say(ctx, "The desk is turned off on this Trellis (its operator set TRELLIS_WEB_ADDR=off).").await;
    };
    let who = viewer(ctx)?;
    let grant = crate::domain::DeskGrant {
        guild_id: who.guild_id,
        user_id: who.user_id,
        user_name: invoker_name(ctx)?,
        roles: who.roles,
        can_manage: who.can_manage,
    };
    match ctx.data().engine.desk_link(&grant).await {
        Ok(token) => {
            let url = format!("{}/signin/{token}", base.trim_end_matches('/'));
            ctx.send(render::desk_link(&url)).await?;
            Ok(())
        }
        Err(e) => say_refused(ctx, &e).await,
    }
}
