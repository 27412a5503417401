//! Who is asking: the facts of an interaction that access rules need, taken
//! from the interaction itself (no cache, no extra request).

use super::{ChannelId, Cohort, GuildId, RoleId, UserId};

/// The person behind a command, button or form, where they are, and what the
/// server lets them do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub guild_id: GuildId,
    /// The channel the interaction came from.
    pub channel_id: ChannelId,
    pub user_id: UserId,
    /// The member's roles in this guild.
    pub roles: Vec<RoleId>,
    /// Holds the Manage Server (or Administrator) permission here.
    pub can_manage: bool,
}

impl Viewer {
    /// A mentor of the cohort: has its mentor role, in its own guild.
    pub fn is_mentor_of(&self, cohort: &Cohort) -> bool {
        cohort.spec.guild_id == self.guild_id && self.roles.contains(&cohort.spec.mentor_role_id)
    }
}
