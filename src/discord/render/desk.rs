//! `/desk`: the sign-in link.

use poise::serenity_prelude as serenity;
use serenity::{CreateActionRow, CreateButton};

/// `/desk`'s answer: a link button (style 5) to a one-use sign-in link.
pub fn desk_link(url: &str) -> poise::CreateReply {
    let button = CreateButton::new_link(url).label("Open the desk");
    poise::CreateReply::default()
        .content(
            "Your desk: your record (and, for mentors, your cohort's) in a browser. The link signs you in once, \
             within 10 minutes, and is yours alone: don't share it. Run `/desk` again for a new one.",
        )
        .components(vec![CreateActionRow::Buttons(vec![button])])
        .ephemeral(true)
}
