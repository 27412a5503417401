//! Deliveries Discord refused for good, and what the bot may do in a channel.
//!
//! A refusal that retrying cannot change (a member who cannot receive DMs, a
//! deleted channel, missing access) is recorded against its target and shown
//! to whoever can fix it; it is tried again only when something changed.
//! Discord's facts behind this (codes and permission bits):
//! `docs/discord-platform.md`, "What real servers do to a bot".

use std::fmt;

use chrono::{DateTime, Utc};

use super::{ChannelId, Cohort, CohortId, UserId};

/// Discord's JSON error codes this module names (Discord's API docs, "JSON
/// Error Codes").
pub mod code {
    /// Unknown Channel: the channel was deleted.
    pub const UNKNOWN_CHANNEL: u32 = 10003;
    /// Unknown Guild: the bot is no longer in the server.
    pub const UNKNOWN_GUILD: u32 = 10004;
    /// Unknown Member: the user is not (any more) in the server.
    pub const UNKNOWN_MEMBER: u32 = 10007;
    /// Missing Access: the bot cannot see the channel.
    pub const MISSING_ACCESS: u32 = 50001;
    /// Cannot send messages to this user: DMs closed, bot blocked, or no
    /// server shared any more.
    pub const CANNOT_DM: u32 = 50007;
    /// Missing Permissions: e.g. Send Messages, Embed Links or Attach Files.
    pub const MISSING_PERMISSIONS: u32 = 50013;
    /// The thread is archived (a locked thread is archived too): nothing
    /// can be posted until a moderator reopens it.
    pub const THREAD_ARCHIVED: u32 = 50083;
}

/// What a cohort sends something to, as recorded when Discord refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryTarget {
    /// The cohort's channel, where check-ins are posted.
    Channel(ChannelId),
    /// The mentors' channel, where digests are posted.
    DigestChannel(ChannelId),
    /// DMs to a member: reminders and replies to their DMs.
    MemberDm(UserId),
    /// The member's place in the cohort's server: refused (Unknown Member)
    /// once they left it.
    GuildMember(UserId),
}

impl DeliveryTarget {
    /// The name stored in the `target_kind` column.
    pub fn kind(self) -> &'static str {
        match self {
            DeliveryTarget::Channel(_) => "channel",
            DeliveryTarget::DigestChannel(_) => "digest_channel",
            DeliveryTarget::MemberDm(_) => "member_dm",
            DeliveryTarget::GuildMember(_) => "guild_member",
        }
    }

    /// The Discord id of the target (a channel or a user).
    pub fn id(self) -> u64 {
        match self {
            DeliveryTarget::Channel(c) | DeliveryTarget::DigestChannel(c) => c.get(),
            DeliveryTarget::MemberDm(u) | DeliveryTarget::GuildMember(u) => u.get(),
        }
    }

    /// The target of a stored `(target_kind, target_id)`; `None` for an unknown kind.
    pub fn from_parts(kind: &str, id: u64) -> Option<Self> {
        Some(match kind {
            "channel" => DeliveryTarget::Channel(ChannelId::new(id)),
            "digest_channel" => DeliveryTarget::DigestChannel(ChannelId::new(id)),
            "member_dm" => DeliveryTarget::MemberDm(UserId::new(id)),
            "guild_member" => DeliveryTarget::GuildMember(UserId::new(id)),
            _ => return None,
        })
    }
}

impl fmt::Display for DeliveryTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind(), self.id())
    }
}

/// A refusal Discord gave for good for one target of one cohort.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryFailure {
    pub cohort_id: CohortId,
    pub target: DeliveryTarget,
    /// Discord's JSON error code, when it sent one.
    pub code: Option<u32>,
    /// Discord's own words (its JSON `message`), or the error, for the log and the people who can fix it.
    pub reason: String,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// Why a channel refuses the bot, in an admin's words.
pub fn channel_reason(code: Option<u32>, discord_says: &str) -> String {
    match code {
        Some(code::UNKNOWN_CHANNEL) => "the channel was deleted".into(),
        Some(code::MISSING_ACCESS) => "missing access (Trellis cannot see the channel)".into(),
        Some(code::MISSING_PERMISSIONS) => {
            "missing permissions (Trellis needs Send Messages, Embed Links and Attach Files there)".into()
        }
        Some(code::UNKNOWN_GUILD) => "Trellis is no longer in this server".into(),
        Some(code::THREAD_ARCHIVED) => "the thread is archived or locked (reopen it and the check-in is posted)".into(),
        _ if discord_says.is_empty() => "Discord refused the post".into(),
        _ => format!("Discord refused the post: {discord_says}"),
    }
}

/// A channel of a cohort that refuses the bot.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelProblem {
    pub channel_id: ChannelId,
    pub code: Option<u32>,
    /// Discord's own message.
    pub reason: String,
    pub since: DateTime<Utc>,
}

impl ChannelProblem {
    /// Why, in an admin's words ("missing access …").
    pub fn describe(&self) -> String {
        channel_reason(self.code, &self.reason)
    }

    /// The channel no longer exists: fixing permissions cannot help.
    pub fn is_gone(&self) -> bool {
        self.code == Some(code::UNKNOWN_CHANNEL)
    }
}

/// What the people who can fix it are told about a cohort's refused
/// deliveries: mentors in `/cohort status` and the digest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeliveryProblems {
    /// The cohort's channel refuses check-ins.
    pub channel: Option<ChannelProblem>,
    /// The digest channel refuses digests.
    pub digest_channel: Option<ChannelProblem>,
    /// Members Discord will not let the bot DM (still in the server), by id.
    pub no_dms: Vec<UserId>,
    /// Members who left the server, by id: not reminded, not counted.
    pub left: Vec<UserId>,
    /// The cohort's mentor role no longer exists in the server (deleted):
    /// nobody can use the mentor commands until another role is named.
    pub mentor_role_gone: Option<crate::domain::RoleId>,
}

impl DeliveryProblems {
    /// The problems among `failures` (the cohort's recorded refusals) that
    /// still apply: a channel refusal only while it is still the cohort's
    /// channel, and only members still in the cohort (`members`).
    pub fn from_failures(cohort: &Cohort, failures: &[DeliveryFailure], members: &[UserId]) -> Self {
        let mut out = DeliveryProblems::default();
        let problem = |f: &DeliveryFailure, channel_id| ChannelProblem {
            channel_id,
            code: f.code,
            reason: f.reason.clone(),
            since: f.first_seen,
        };
        for f in failures.iter().filter(|f| f.cohort_id == cohort.id) {
            match f.target {
                DeliveryTarget::Channel(c) if c == cohort.spec.channel_id => out.channel = Some(problem(f, c)),
                DeliveryTarget::DigestChannel(c) if Some(c) == cohort.spec.digest_channel_id => {
                    out.digest_channel = Some(problem(f, c))
                }
                DeliveryTarget::GuildMember(u) if members.contains(&u) => out.left.push(u),
                DeliveryTarget::MemberDm(u) if members.contains(&u) => out.no_dms.push(u),
                _ => {}
            }
        }
        // Someone who left cannot be DMed either; they are listed as gone only.
        let left = out.left.clone();
        out.no_dms.retain(|u| !left.contains(u));
        out.no_dms.sort_unstable();
        out.left.sort_unstable();
        out
    }

    pub fn is_empty(&self) -> bool {
        self.channel.is_none()
            && self.digest_channel.is_none()
            && self.no_dms.is_empty()
            && self.left.is_empty()
            && self.mentor_role_gone.is_none()
    }
}

/// Discord's permission bits the bot needs in a cohort's channel (Discord's
/// API docs, "Permissions"; `docs/discord-platform.md`).
pub mod permission {
    pub const ADMINISTRATOR: u64 = 1 << 3;
    pub const VIEW_CHANNEL: u64 = 1 << 10;
    pub const SEND_MESSAGES: u64 = 1 << 11;
    pub const EMBED_LINKS: u64 = 1 << 14;
    pub const ATTACH_FILES: u64 = 1 << 15;
}

/// The bot's computed permissions in a channel, as Discord sends them with
/// every interaction (`app_permissions`, a bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelPermissions(pub u64);

impl ChannelPermissions {
    /// What posting a check-in needs: see the channel, send, embed (the
    /// check-in is an embed), attach (status tables and charts), by name.
    const NEEDED: [(u64, &'static str); 4] = [
        (permission::VIEW_CHANNEL, "View Channel"),
        (permission::SEND_MESSAGES, "Send Messages"),
        (permission::EMBED_LINKS, "Embed Links"),
        (permission::ATTACH_FILES, "Attach Files"),
    ];

    /// Everything a cohort's channel needs, for tests and callers that know the bot may post.
    pub const ENOUGH: ChannelPermissions = ChannelPermissions(
        permission::VIEW_CHANNEL | permission::SEND_MESSAGES | permission::EMBED_LINKS | permission::ATTACH_FILES,
    );

    /// The names of the permissions the bot lacks to post check-ins here
    /// (none with Administrator, which grants all).
    pub fn missing_for_posting(self) -> Vec<&'static str> {
        if self.0 & permission::ADMINISTRATOR != 0 {
            return Vec::new();
        }
        Self::NEEDED.iter().filter(|(bit, _)| self.0 & bit == 0).map(|(_, name)| *name).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_round_trip_through_their_stored_parts() {
        for t in [
            DeliveryTarget::Channel(ChannelId::new(1)),
            DeliveryTarget::DigestChannel(ChannelId::new(2)),
            DeliveryTarget::MemberDm(UserId::new(3)),
            DeliveryTarget::GuildMember(UserId::new(4)),
        ] {
            assert_eq!(DeliveryTarget::from_parts(t.kind(), t.id()), Some(t));
        }
        assert_eq!(DeliveryTarget::from_parts("guild", 1), None);
    }

    #[test]
    fn posting_needs_view_send_embed_and_attach() {
        assert!(ChannelPermissions::ENOUGH.missing_for_posting().is_empty());
        assert!(ChannelPermissions(permission::ADMINISTRATOR).missing_for_posting().is_empty());
        assert_eq!(
            ChannelPermissions(0).missing_for_posting(),
            ["View Channel", "Send Messages", "Embed Links", "Attach Files"]
        );
        let no_embeds = ChannelPermissions(ChannelPermissions::ENOUGH.0 & !permission::EMBED_LINKS);
        assert_eq!(no_embeds.missing_for_posting(), ["Embed Links"]);
    }

    #[test]
    fn channel_reasons_name_what_an_admin_can_fix() {
        assert!(channel_reason(Some(code::MISSING_ACCESS), "Missing Access").contains("missing access"));
        assert!(channel_reason(Some(code::UNKNOWN_CHANNEL), "Unknown Channel").contains("deleted"));
        assert!(channel_reason(Some(code::MISSING_PERMISSIONS), "").contains("Embed Links"));
        assert_eq!(channel_reason(Some(40_000), "Odd"), "Discord refused the post: Odd");
    }
}
