//! The mentoring loop at the edge: `/cohort answers`, `/path`, the Note and
//! page buttons and the note and path forms. Like the rest of the edge, each
//! turns an interaction into a [`Viewer`](crate::domain::Viewer) and one
//! engine call, and the result into a message (`render::mentoring`).
//!
//! Buttons and forms carry everything they need in their custom_id
//! (stateless, like the Answer button), so they keep working across restarts:
//!
//! | custom_id | what |
//! | --- | --- |
//! | `note:{reply_id}` | the Note button of an answer, and the note form it opens |
//! | `answers-week:{checkin_id}:{page}` | a page of a check-in's answers |
//! | `answers-member:{cohort_id}:{user_id}:{week}:{page}` | a page of one member's answers |
//! | `path-project:{cohort_id}` | the project form |
//! | `path-step:{cohort_id}:{step}` | the evidence form of a step |

use poise::CreateReply;
use poise::serenity_prelude as serenity;
use serenity::{CreateInteractionResponse, CreateInteractionResponseFollowup, CreateInteractionResponseMessage};

use crate::discord::context::{Context, Data, Error, defer_if_slow, in_time, say, say_refused, viewer, viewer_of};
use crate::discord::custom_id::CustomId;
use crate::discord::forms::{self, field, save_reply};
use crate::discord::render::kept::Kept;
use crate::discord::render::mentoring as view;
use crate::discord::render::{self, reply_for};
use crate::domain::path::UnknownStep;
use crate::domain::{PathStep, UserId};
use crate::engine::{AnswersView, EngineError};

/// Widest `week` of `/cohort answers`: ten years of weekly check-ins.
const MAX_WEEKS_BACK: u32 = 520;

// ---- commands -------------------------------------------------------------

/// Mentors: read a check-in's answers (or one member's) and leave notes on them.
#[poise::command(slash_command, guild_only)]
pub async fn answers(
    ctx: Context<'_>,
    #[description = "Check-ins back: 0 = the open or latest one (default), 1 = the one before, …"]
    #[min = 0]
    #[max = 520]
    week: Option<u32>,
    #[description = "Only this member's answers, newest first"] member: Option<serenity::User>,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let week = week.unwrap_or(0);
    // Discord checks min and max in its client only.
    if week > MAX_WEEKS_BACK {
        return say(ctx, format!("`week` must be a whole number from 0 to {MAX_WEEKS_BACK}.")).await;
    }
    let who = viewer(ctx)?;
    let engine = &ctx.data().engine;
    let member = member.map(|u| UserId::from(u.id));
    let (page, file) = match engine.cohort_answers(&who, week, member).await {
        Ok(AnswersView::Week(v)) => {
            (view::week_page(&v, who.user_id, 0, engine.now()), view::week_file(&v, engine.now()))
        }
        Ok(AnswersView::Member(v)) => (view::member_page(&v, who.user_id, 0), view::member_file(&v, engine.now())),
        Err(e) => return say_refused(ctx, &e).await,
    };
    let mut reply = CreateReply::default().ephemeral(true).components(page.components).attachment(file);
    for embed in page.embeds {
        reply = reply.embed(embed);
    }
    ctx.send(reply).await?;
    Ok(())
}

/// Your Staff path: one cross-team problem, seven steps, dated evidence.
#[poise::command(slash_command, guild_only, subcommands("show", "project", "done"), subcommand_required)]
pub async fn path(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Your Staff path (or, for mentors, a member's): the problem and the seven steps.
#[poise::command(slash_command, guild_only)]
pub async fn show(
    ctx: Context<'_>,
    #[description = "Mentors: the member to look at (default: you)"] member: Option<serenity::User>,
) -> Result<(), Error> {
    let who = viewer(ctx)?;
    let target = member.as_ref().map_or(who.user_id, |u| UserId::from(u.id));
    match defer_if_slow(ctx, ctx.data().engine.path_for(&who, target)).await? {
        Ok((cohort, path)) => {
            ctx.send(CreateReply::default().embed(view::path_embed(&cohort, target, &path)).ephemeral(true)).await?;
            Ok(())
        }
        Err(e) => say_refused(ctx, &e).await,
    }
}

/// Describe the problem you carry along the Staff path (opens a form).
#[poise::command(slash_command, guild_only)]
pub async fn project(ctx: Context<'_>) -> Result<(), Error> {
    let who = viewer(ctx)?;
    match in_time(ctx.data().engine.path_form(&who)).await {
        Ok(form) => open_modal(ctx, view::project_modal(&form)).await,
        Err(e) => say_refused(ctx, &e).await,
    }
}

/// Mark a step of the Staff path done, with its evidence (opens a form).
#[poise::command(slash_command, guild_only)]
pub async fn done(ctx: Context<'_>, #[description = "The step you did"] step: StepOption) -> Result<(), Error> {
    let step = match step.0 {
        Ok(step) => step,
        Err(e) => return say(ctx, format!("{e}.")).await,
    };
    let who = viewer(ctx)?;
    match in_time(ctx.data().engine.path_form(&who)).await {
        Ok(form) => open_modal(ctx, view::step_modal(&form, step)).await,
        Err(e) => say_refused(ctx, &e).await,
    }
}

async fn open_modal(ctx: Context<'_>, modal: serenity::CreateModal) -> Result<(), Error> {
    let poise::Context::Application(app) = ctx else { anyhow::bail!("not an application command") };
    app.interaction.create_response(ctx.http(), CreateInteractionResponse::Modal(modal)).await?;
    Ok(())
}

/// The `step` option of `/path done`: a string choice whose values are the
/// step names (`expectations` … `story`), the contract's values. poise's own
/// choice parameters send an index instead, hence this type. A value that is
/// no step (a hand-made request) is kept as the error to show.
pub struct StepOption(Result<PathStep, UnknownStep>);

#[async_trait::async_trait]
impl poise::SlashArgument for StepOption {
    async fn extract(
        _: &serenity::Context,
        _: &serenity::CommandInteraction,
        value: &serenity::ResolvedValue<'_>,
    ) -> Result<Self, poise::SlashArgError> {
        Ok(StepOption(match value {
            serenity::ResolvedValue::String(s) => s.parse(),
            other => Err(UnknownStep(format!("{other:?}").chars().take(40).collect())),
        }))
    }

    fn create(builder: serenity::CreateCommandOption) -> serenity::CreateCommandOption {
        PathStep::ALL.into_iter().fold(builder.kind(serenity::CommandOptionType::String), |b, s| {
            b.add_string_choice(format!("{}. {}", s.number(), s.title()), s.as_str())
        })
    }
}

// ---- buttons and forms ----------------------------------------------------

/// A click on a button of the mentoring loop.
pub async fn on_click(
    ctx: &serenity::Context,
    data: &Data,
    click: &serenity::ComponentInteraction,
    id: CustomId,
) -> Result<(), Error> {
    let engine = &data.engine;
    let refuse = async |e: EngineError| {
        let r = CreateInteractionResponse::Message(render::ephemeral_text(reply_for(&e)));
        click.create_response(&ctx.http, r).await
    };
    let Some(who) = viewer_of(click.guild_id, click.channel_id, click.member.as_ref(), &click.user) else {
        refuse(EngineError::UnknownAnswer).await?;
        return Ok(());
    };
    let response = match id {
        CustomId::Note(reply_id) => match in_time(engine.note_form(&who, reply_id)).await {
            Ok(form) => CreateInteractionResponse::Modal(view::note_modal(&form)),
            Err(e) => return Ok(refuse(e).await?),
        },
        CustomId::WeekPage(checkin_id, page) => match in_time(engine.week_answers_of(&who, checkin_id)).await {
            Ok(v) => {
                let page = view::week_page(&v, who.user_id, page as usize, engine.now());
                update(page, view::week_file(&v, engine.now()))
            }
            Err(e) => return Ok(refuse(e).await?),
        },
        CustomId::MemberPage(cohort_id, member, week, page) => {
            match in_time(engine.member_answers_of(&who, cohort_id, member, week)).await {
                Ok(v) => update(view::member_page(&v, who.user_id, page as usize), view::member_file(&v, engine.now())),
                Err(e) => return Ok(refuse(e).await?),
            }
        }
        _ => {
            tracing::warn!(custom_id = %render::truncate(&id.render(), 100), "a form's id on a button");
            let r = render::ephemeral_text("This button is no longer in use.");
            CreateInteractionResponse::Message(r)
        }
    };
    click.create_response(&ctx.http, response).await?;
    Ok(())
}

/// The message a page button turns into: the new page, `answers.md` again
/// (an update without it would drop the file).
fn update(page: view::Page, file: serenity::CreateAttachment) -> CreateInteractionResponse {
    let message = CreateInteractionResponseMessage::new()
        .embeds(page.embeds)
        .components(page.components)
        .add_file(file)
        .allowed_mentions(render::no_mentions());
    CreateInteractionResponse::UpdateMessage(message)
}

/// The submitter's name on the server: nickname, else display name, else user name.
fn name_of(submit: &serenity::ModalInteraction) -> String {
    let nick = submit.member.as_ref().and_then(|m| m.nick.clone());
    nick.or_else(|| submit.user.global_name.clone()).unwrap_or_else(|| submit.user.name.clone())
}

/// A submitted form of the mentoring loop.
pub async fn on_modal(
    ctx: &serenity::Context,
    data: &Data,
    submit: &serenity::ModalInteraction,
    id: CustomId,
) -> Result<(), Error> {
    let engine = &data.engine;
    let Some(who) = viewer_of(submit.guild_id, submit.channel_id, submit.member.as_ref(), &submit.user) else {
        let r = Kept::of_form("Use this form from your cohort's server.", submit).message();
        submit.create_response(&ctx.http, CreateInteractionResponse::Message(r)).await?;
        return Ok(());
    };
    let response = match id {
        CustomId::Note(reply_id) => {
            // Saving sends a DM, which may wait on Discord: acknowledge first,
            // confirm once the note is committed and the DM tried.
            submit.defer_ephemeral(&ctx.http).await?;
            let followup =
                match engine.submit_note(&who, reply_id, &name_of(submit), field(submit, forms::FIELD_NOTE)).await {
                    Ok(saved) => {
                        let (text, embed) = view::note_saved(&saved);
                        CreateInteractionResponseFollowup::new().content(text).embed(embed)
                    }
                    Err(e) => {
                        let typed = field(submit, forms::FIELD_NOTE);
                        Kept::new(&reply_for(&e), &[("Your note", typed)]).followup()
                    }
                };
            let followup = followup.ephemeral(true).allowed_mentions(render::no_mentions());
            submit.create_followup(&ctx.http, followup).await?;
            return Ok(());
        }
        CustomId::PathProject(cohort_id) => {
            // Saving again after a timeout is an idempotent upsert.
            let typed = [
                ("The problem", field(submit, forms::FIELD_PROJECT_WHAT)),
                ("Why it matters", field(submit, forms::FIELD_PROJECT_WHY)),
                ("Teams affected", field(submit, forms::FIELD_PROJECT_TEAMS)),
            ];
            let save = engine.submit_project(&who, cohort_id, typed[0].1, typed[1].1, typed[2].1);
            save_reply(save, |saved| embed_reply(view::project_saved(&saved)), &typed).await
        }
        CustomId::PathStep(cohort_id, step) => {
            let typed = [
                ("Evidence", field(submit, forms::FIELD_STEP_EVIDENCE)),
                ("Link", field(submit, forms::FIELD_STEP_LINK)),
            ];
            let save = engine.submit_step(&who, cohort_id, step, typed[0].1, typed[1].1);
            save_reply(save, |saved| embed_reply(view::step_saved(&saved)), &typed).await
        }
        _ => {
            tracing::warn!(custom_id = %render::truncate(&id.render(), 100), "a button's id on a form");
            Kept::of_form("This form is no longer in use.", submit).message()
        }
    };
    submit.create_response(&ctx.http, CreateInteractionResponse::Message(response)).await?;
    Ok(())
}

fn embed_reply(embed: serenity::CreateEmbed) -> CreateInteractionResponseMessage {
    CreateInteractionResponseMessage::new().embed(embed).ephemeral(true).allowed_mentions(render::no_mentions())
}
