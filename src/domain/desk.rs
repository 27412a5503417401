//! The desk's sign-in: what Discord said about a person when they ran
//! `/desk`, carried by their link and then by their browser session.

use super::{ChannelId, GuildId, RoleId, UserId, Viewer};

/// How long a `/desk` link can be used, from the moment `/desk` ran (the
/// product contract: 10 minutes).
pub const LINK_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::minutes(10);
/// How long a desk session lasts from sign-in, at most (12 hours): a mentor
/// who lost the mentor role loses the desk at the latest then.
pub const SESSION_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::hours(12);

/// Who a link or a session is for, in which server, with the roles and the
/// Manage Server permission Discord reported when `/desk` ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskGrant {
    pub guild_id: GuildId,
    pub user_id: UserId,
    /// Their name on the server then, shown as the author of notes they write.
    pub user_name: String,
    pub roles: Vec<RoleId>,
    pub can_manage: bool,
}

impl DeskGrant {
    /// The same person as a [`Viewer`] of the engine's access rules. A web
    /// page is in no channel: `channel_id` is 0, which no cohort's channel
    /// is, so every rule reads as it does outside any cohort's channel.
    pub fn viewer(&self) -> Viewer {
        Viewer {
            guild_id: self.guild_id,
            channel_id: ChannelId::new(0),
            user_id: self.user_id,
            roles: self.roles.clone(),
            can_manage: self.can_manage,
        }
    }
}

/// Roles as stored: comma-separated ids.
pub fn join_roles(roles: &[RoleId]) -> String {
    roles.iter().map(|r| r.get().to_string()).collect::<Vec<_>>().join(",")
}

/// Roles read back from [`join_roles`]; `None` if a part is not an id.
pub fn parse_roles(text: &str) -> Option<Vec<RoleId>> {
    text.split(',').filter(|s| !s.is_empty()).map(|s| s.parse().ok().map(RoleId::new)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip() {
        let roles = vec![RoleId::new(1), RoleId::new(333_333_333_333_333_333)];
        assert_eq!(parse_roles(&join_roles(&roles)), Some(roles));
        assert_eq!(parse_roles(""), Some(vec![]));
        assert_eq!(parse_roles("1,x"), None);
    }

    #[test]
    fn a_desk_viewer_is_in_no_cohort_channel() {
        let grant = DeskGrant {
            guild_id: GuildId::new(1),
            user_id: UserId::new(2),
            user_name: "ana".into(),
            roles: vec![RoleId::new(3)],
            can_manage: false,
        };
        let v = grant.viewer();
        assert_eq!((v.guild_id, v.user_id, v.channel_id.get()), (GuildId::new(1), UserId::new(2), 0));
    }
}
