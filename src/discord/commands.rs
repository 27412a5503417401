//! Slash commands. Each translates the invocation into engine calls and the
//! result into an ephemeral reply.

use chrono::Weekday;
use poise::CreateReply;
use poise::serenity_prelude as serenity;
use serenity::{CreateAttachment, CreateInteractionResponse};

use super::{Context, Data, Error, Invoker, render};
use crate::domain::{Cohort, CohortDraft};
use crate::engine::{EngineError, MAX_PAUSE_WEEKS};
use crate::schedule::{Schedule, format_duration, parse_time_of_day};
use crate::summary::{self, CohortStatus, DEFAULT_WINDOW_WEEKS, MemberProgress, chart};

pub fn all() -> Vec<poise::Command<Data, Error>> {
    vec![checkin(), impact(), progress(), cohort(), packet(), pause(), resume(), forget_me()]
}

/// Send a user-facing engine error as an ephemeral message; pass others up.
async fn outcome(ctx: Context<'_>, result: Result<(), EngineError>) -> Result<(), Error> {
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.is_user_error() => say(ctx, e.to_string()).await,
        Err(e) => Err(e.into()),
    }
}

async fn say(ctx: Context<'_>, text: impl Into<String>) -> Result<(), Error> {
    ctx.send(
        CreateReply::default()
            .content(render::truncate(&text.into(), 2000))
            .ephemeral(true)
            .allowed_mentions(render::no_mentions()),
    )
    .await?;
    Ok(())
}

fn app(ctx: Context<'_>) -> poise::ApplicationContext<'_, Data, Error> {
    match ctx {
        poise::Context::Application(a) => a,
        poise::Context::Prefix(_) => unreachable!("only slash commands are registered"),
    }
}

/// Answer this week's check-in (opens the answer form).
#[poise::command(slash_command, guild_only)]
pub async fn checkin(ctx: Context<'_>) -> Result<(), Error> {
    let who = Invoker::of(ctx)?;
    let engine = &ctx.data().engine;
    let found = async {
        let cohort = engine.cohort_for_member(who.guild_id, who.channel_id, who.user_id).await;
        let cohort = match cohort {
            Err(EngineError::NotAMember) => {
                engine.cohort_of_channel(who.guild_id, who.channel_id).await?.ok_or(EngineError::NotACohortChannel)?
            }
            other => other?,
        };
        let checkin = engine.open_checkin(&cohort).await?;
        let current = engine.store().reply(checkin.id, who.user_id).await?;
        Ok::<_, EngineError>((checkin, current))
    }
    .await;
    match found {
        Ok((checkin, current)) => {
            let modal = render::answer_modal(&checkin, current.as_ref());
            app(ctx).interaction.create_response(ctx.http(), CreateInteractionResponse::Modal(modal)).await?;
            Ok(())
        }
        Err(e) => outcome(ctx, Err(e)).await,
    }
}

/// Log a measurable win in your impact ledger.
#[poise::command(slash_command, guild_only)]
pub async fn impact(ctx: Context<'_>) -> Result<(), Error> {
    let who = Invoker::of(ctx)?;
    let engine = &ctx.data().engine;
    match engine.cohort_for_member(who.guild_id, who.channel_id, who.user_id).await {
        Ok(cohort) => {
            let modal = render::impact_modal(&cohort);
            app(ctx).interaction.create_response(ctx.http(), CreateInteractionResponse::Modal(modal)).await?;
            Ok(())
        }
        Err(e) => outcome(ctx, Err(e)).await,
    }
}

/// What a `/progress` caller may see.
enum Seen {
    Progress(Box<(Cohort, MemberProgress)>),
    /// Not the caller, and not a member the caller mentors.
    Refused,
    /// A mentor named someone who is not in this cohort.
    NotInCohort,
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
    // Discord checks min and max in its client only; a huge window overflows the date maths.
    if let Some(w) = weeks
        && !(1..=520).contains(&w)
    {
        return say(ctx, "`weeks` must be a whole number from 1 to 520.").await;
    }
    let who = Invoker::of(ctx)?;
    let engine = &ctx.data().engine;
    let target = member.as_ref().map(|u| u.id.get()).unwrap_or(who.user_id);
    let name = match &member {
        Some(u) if u.id.get() != who.user_id => display_name(u),
        _ => invoker_name(ctx),
    };
    let result = async {
        let cohort = if target == who.user_id {
            engine.cohort_for_member(who.guild_id, who.channel_id, who.user_id).await?
        } else {
            // Mentors: the member's cohort here that this mentor mentors.
            match engine.cohort_for_member(who.guild_id, who.channel_id, target).await {
                Ok(c) if who.is_mentor_of(&c) => c,
                _ => return Ok(Seen::Refused),
            }
        };
        let Some(h) = engine.store().member_history(cohort.id, target).await? else {
            return if target == who.user_id { Err(EngineError::NotAMember) } else { Ok(Seen::NotInCohort) };
        };
        let window = weeks.unwrap_or(DEFAULT_WINDOW_WEEKS);
        let p = MemberProgress::compute(&h.member, &h.pauses, &h.checkins, &h.replies, &h.impact, window, engine.now());
        Ok(Seen::Progress(Box::new((cohort, p))))
    }
    .await;
    let (cohort, p) = match result {
        Ok(Seen::Progress(found)) => *found,
        Ok(Seen::Refused) => return say(ctx, "Only this member's mentors can see their progress.").await,
        Ok(Seen::NotInCohort) => return say(ctx, format!("{name} is not a member of this cohort.")).await,
        Err(e) => return outcome(ctx, Err(e)).await,
    };
    let tz = summary::time_zone(&cohort);
    let title = format!("{name} · last {} weeks", p.window_weeks);
    let (p, png) = off_thread(p, move |p| chart::progress_png(p, &title, tz)).await;
    let mut embed = render::progress_embed(&cohort, &name, &p);
    let mut reply = CreateReply::default().ephemeral(true).allowed_mentions(render::no_mentions());
    if let Some(png) = png {
        embed = embed.image(format!("attachment://{PROGRESS_PNG}"));
        reply = reply.attachment(CreateAttachment::bytes(png, PROGRESS_PNG));
    }
    ctx.send(reply.embed(embed)).await?;
    Ok(())
}

const PROGRESS_PNG: &str = "progress.png";
const HEATMAP_PNG: &str = "heatmap.png";
const STATUS_CSV: &str = "cohort-status.csv";
const PACKET_MD: &str = "packet.md";

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
            tracing::error!(error = %e, "chart not rendered");
            (value, None)
        }
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

fn display_name(user: &serenity::User) -> String {
    user.global_name.clone().unwrap_or_else(|| user.name.clone())
}

/// The caller's name on this server (nickname first).
fn invoker_name(ctx: Context<'_>) -> String {
    app(ctx).interaction.member.as_ref().and_then(|m| m.nick.clone()).unwrap_or_else(|| display_name(ctx.author()))
}

/// Cohort membership, status and setup.
#[poise::command(
    slash_command,
    guild_only,
    subcommands("status", "join", "leave", "setup", "remove"),
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
    // Discord checks min and max in its client only.
    if let Some(w) = weeks
        && !(1..=104).contains(&w)
    {
        return say(ctx, "`weeks` must be a whole number from 1 to 104.").await;
    }
    let who = Invoker::of(ctx)?;
    let engine = &ctx.data().engine;
    let cohorts = engine.cohorts_in_guild(who.guild_id).await?;
    // This channel's cohort, else the only one here this mentor mentors.
    let here = cohorts.iter().find(|c| c.spec.channel_id == who.channel_id);
    let mine: Vec<&Cohort> = cohorts.iter().filter(|c| who.is_mentor_of(c)).collect();
    let cohort = match (here, mine.as_slice()) {
        (Some(c), _) if who.is_mentor_of(c) => c,
        (Some(_), _) => return say(ctx, "Only this cohort's mentors can see its status.").await,
        (None, [only]) => *only,
        (None, []) => return say(ctx, "Only a cohort's mentors can see its status.").await,
        (None, _) => return say(ctx, "You mentor several cohorts here; run this in the cohort's channel.").await,
    };
    let activity = engine.store().cohort_activity(cohort.id).await?;
    let window = weeks.unwrap_or(DEFAULT_WINDOW_WEEKS);
    let s = CohortStatus::from_activity(&activity.members, &activity.checkins, window, engine.now());
    let tz = summary::time_zone(cohort);
    let table = s.to_csv(tz);
    let title = format!("{} · last {} weeks", cohort.spec.name, s.window_weeks);
    let (s, png) = off_thread(s, move |s| chart::heatmap_png(s, &title, tz)).await;
    let mut embed = render::cohort_status_embed(cohort, &s, STATUS_CSV);
    let mut reply = CreateReply::default()
        .ephemeral(true)
        .allowed_mentions(render::no_mentions())
        .attachment(CreateAttachment::bytes(table.into_bytes(), STATUS_CSV));
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
    let who = Invoker::of(ctx)?;
    let engine = &ctx.data().engine;
    let result = async {
        let cohort =
            engine.cohort_of_channel(who.guild_id, who.channel_id).await?.ok_or(EngineError::NotACohortChannel)?;
        let new = engine.join(&cohort, who.user_id).await?;
        Ok::<_, EngineError>((cohort, new))
    }
    .await;
    match result {
        Ok((c, true)) => {
            say(ctx, format!("Welcome to **{}**! Check-ins are posted in this channel.", c.spec.name)).await
        }
        Ok((c, false)) => say(ctx, format!("You are already a member of **{}**.", c.spec.name)).await,
        Err(e) => outcome(ctx, Err(e)).await,
    }
}

/// Leave the cohort of this channel (your history stays until `/forget-me`).
#[poise::command(slash_command, guild_only)]
pub async fn leave(ctx: Context<'_>) -> Result<(), Error> {
    let who = Invoker::of(ctx)?;
    let engine = &ctx.data().engine;
    let result = async {
        let cohort = engine.cohort_for_member(who.guild_id, who.channel_id, who.user_id).await?;
        engine.leave(&cohort, who.user_id).await?;
        Ok::<_, EngineError>(cohort)
    }
    .await;
    match result {
        Ok(c) => {
            say(ctx, format!("You left **{}**. Your history is kept; `/forget-me` deletes it.", c.spec.name)).await
        }
        Err(e) => outcome(ctx, Err(e)).await,
    }
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

async fn autocomplete_timezone(_ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let needle = partial.to_lowercase();
    let choices = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name())
        .filter(|name| name.to_lowercase().contains(&needle))
        .take(25)
        .map(serenity::AutocompleteChoice::from)
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

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
    let who = Invoker::of(ctx)?;
    if !who.can_manage_guild() {
        return say(ctx, "Only members with the Manage Server permission can set up a cohort.").await;
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
    let engine = &ctx.data().engine;
    let existing = engine.cohort_of_channel(who.guild_id, who.channel_id).await?;
    let channel_name = app(ctx).interaction.channel.as_ref().and_then(|c| c.name.clone());
    let name = name
        .or_else(|| existing.as_ref().map(|c| c.spec.name.clone()))
        .or(channel_name)
        .unwrap_or_else(|| format!("cohort-{}", who.channel_id));
    let draft = CohortDraft {
        name,
        guild_id: who.guild_id,
        channel_id: who.channel_id,
        mentor_role_id: mentor_role.id.get(),
        schedule,
        timezone,
        reminder_after,
        digest_channel_id: digest_channel.map(|c| c.id.get()),
        tracks: existing.map(|c| c.spec.tracks.iter().map(|t| t.to_string()).collect()),
    };
    match engine.setup_cohort(draft).await {
        Ok(cohort) => {
            let schedule = cohort.schedule();
            let next = schedule
                .upcoming(engine.now(), 3)
                .iter()
                .map(|t| format!("• {} (<t:{}:F> your time)", t.format("%a %Y-%m-%d %H:%M %Z"), t.timestamp()))
                .collect::<Vec<_>>()
                .join("\n");
            let reminder = cohort
                .spec
                .reminder_after
                .map(|d| format!("Reminders after {}.", format_duration(d)))
                .unwrap_or_else(|| "No reminders.".into());
            say(
                ctx,
                format!(
                    "**{}** is set up in this channel (schedule `{}`, {}). {reminder}\nNext check-ins:\n{next}",
                    cohort.spec.name, cohort.spec.schedule, cohort.spec.timezone
                ),
            )
            .await
        }
        Err(EngineError::Field(f)) => say(ctx, format!("`{}`: {}", option_name(f.field), f.reason)).await,
        Err(e) => outcome(ctx, Err(e)).await,
    }
}

/// Map a domain field to the option the admin typed.
fn option_name(field: &str) -> &str {
    match field {
        "schedule" => "cron",
        "mentor_role_id" => "mentor_role",
        "digest_channel_id" => "digest_channel",
        other => other,
    }
}

/// Admins: stop this channel's cohort (its history is kept).
#[poise::command(slash_command, guild_only)]
pub async fn remove(ctx: Context<'_>) -> Result<(), Error> {
    let who = Invoker::of(ctx)?;
    if !who.can_manage_guild() {
        return say(ctx, "Only members with the Manage Server permission can remove a cohort.").await;
    }
    match ctx.data().engine.remove_cohort(who.guild_id, who.channel_id).await {
        Ok(c) => {
            say(ctx, format!("**{}** is removed: no more check-ins here. Its history is kept.", c.spec.name)).await
        }
        Err(e) => outcome(ctx, Err(e)).await,
    }
}

/// Your promotion-evidence packet (Markdown): impact ledger and answers by track.
#[poise::command(slash_command, guild_only)]
pub async fn packet(ctx: Context<'_>) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let who = Invoker::of(ctx)?;
    let engine = &ctx.data().engine;
    let name = invoker_name(ctx);
    let result = async {
        let cohort = engine.cohort_for_member(who.guild_id, who.channel_id, who.user_id).await?;
        let h = engine.store().member_history(cohort.id, who.user_id).await?.ok_or(EngineError::NotAMember)?;
        Ok::<_, EngineError>(summary::packet::render(
            &cohort,
            &h.member,
            &name,
            &h.checkins,
            &h.replies,
            &h.impact,
            engine.now(),
        ))
    }
    .await;
    match result {
        Ok(markdown) => {
            ctx.send(
                CreateReply::default()
                    .content(
                        "Your promotion-evidence packet is attached: your impact ledger and your answers by track.",
                    )
                    .attachment(CreateAttachment::bytes(markdown.into_bytes(), PACKET_MD))
                    .ephemeral(true)
                    .allowed_mentions(render::no_mentions()),
            )
            .await?;
            Ok(())
        }
        Err(e) => outcome(ctx, Err(e)).await,
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
    let who = Invoker::of(ctx)?;
    let engine = &ctx.data().engine;
    let weeks = weeks.unwrap_or(1);
    let result = async {
        let cohort = engine.cohort_for_member(who.guild_id, who.channel_id, who.user_id).await?;
        engine.pause(&cohort, who.user_id, weeks).await
    }
    .await;
    match result {
        Ok(until) => {
            say(
                ctx,
                format!(
                    "Paused until <t:{}:F>. Paused weeks do not count against you; `/resume` ends it early.",
                    until.timestamp()
                ),
            )
            .await
        }
        Err(EngineError::PauseWeeks) => say(ctx, format!("Pause for 1 to {MAX_PAUSE_WEEKS} weeks.")).await,
        Err(e) => outcome(ctx, Err(e)).await,
    }
}

/// End your pause now.
#[poise::command(slash_command, guild_only)]
pub async fn resume(ctx: Context<'_>) -> Result<(), Error> {
    let who = Invoker::of(ctx)?;
    let engine = &ctx.data().engine;
    let result = async {
        let cohort = engine.cohort_for_member(who.guild_id, who.channel_id, who.user_id).await?;
        engine.resume(&cohort, who.user_id).await
    }
    .await;
    match result {
        Ok(()) => say(ctx, "Welcome back! You will get check-ins and reminders again.").await,
        Err(e) => outcome(ctx, Err(e)).await,
    }
}

/// Delete everything Trellis stores about you (asks to confirm).
#[poise::command(slash_command, guild_only, rename = "forget-me")]
pub async fn forget_me(ctx: Context<'_>) -> Result<(), Error> {
    ctx.send(
        CreateReply::default()
            .content(
                "This deletes **all** your answers, their history, your impact ledger, memberships and pauses, in every cohort. It cannot be undone.",
            )
            .components(vec![serenity::CreateActionRow::Buttons(vec![
                serenity::CreateButton::new(render::FORGET_CONFIRM)
                    .label("Delete my data")
                    .style(serenity::ButtonStyle::Danger),
            ])])
            .ephemeral(true)
            .allowed_mentions(render::no_mentions()),
    )
    .await?;
    Ok(())
}
