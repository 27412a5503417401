//! An in-memory chat platform for the engine: it records what the engine
//! posts and sends, and fails on request.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use trellis::domain::delivery::code;
use trellis::domain::{ChannelId, GuildId, MessageId, UserId};
use trellis::engine::chat::DigestPost;
use trellis::engine::{ChatEdge, ChatError, CheckInPost, Clock, DirectMessage, ManualClock, NoteDm, ReminderDm};

/// One successful post as the platform saw it.
#[derive(Debug, Clone)]
pub struct SeenPost {
    /// What the engine asked to post.
    pub post: CheckInPost,
    /// The id the fake gave the message.
    pub message_id: MessageId,
    /// The fake clock when the post arrived.
    pub at: DateTime<Utc>,
}

#[derive(Default)]
struct FakeState {
    posts: Vec<SeenPost>,
    dms: Vec<ReminderDm>,
    post_attempts: usize,
    attempted_nonces: Vec<String>,
    fail_posts: usize,
    fail_all_posts: bool,
    fail_dms_to: HashMap<UserId, usize>,
    next_message_id: u64,
    digests: Vec<DigestPost>,
    digest_attempts: usize,
    fail_digests: usize,
    /// Users whose DMs Discord refuses (50007).
    closed_dms: HashSet<UserId>,
    /// Users no longer in the guild (lookups say Unknown Member; DMs refused).
    gone: HashSet<UserId>,
    /// Channels that refuse every post, with Discord's code.
    refusing_channels: HashMap<ChannelId, u32>,
    /// Reminder DMs tried per user, failed or not.
    reminder_attempts: HashMap<UserId, usize>,
    /// Member lookups, in order.
    lookups: Vec<UserId>,
    dm_replies: Vec<DirectMessage>,
    /// When each DM reply was tried (real time), failed or not.
    dm_reply_attempts: Vec<std::time::Instant>,
    fail_dm_replies: usize,
    notes: Vec<NoteDm>,
    note_attempts: usize,
}

/// An in-memory chat platform: records posts and DMs, fails on request.
pub struct FakeChat {
    clock: Arc<ManualClock>,
    post_delay: Mutex<StdDuration>,
    state: Mutex<FakeState>,
}

impl FakeChat {
    /// Stamps what arrives with `clock`'s time.
    pub fn new(clock: Arc<ManualClock>) -> Self {
        FakeChat { clock, post_delay: Mutex::new(StdDuration::ZERO), state: Mutex::new(FakeState::default()) }
    }

    /// Successful posts, in order.
    pub fn posts(&self) -> Vec<SeenPost> {
        self.state.lock().unwrap().posts.clone()
    }

    /// Nonces of the successful posts, in order.
    pub fn nonces(&self) -> Vec<String> {
        self.posts().into_iter().map(|p| p.post.nonce).collect()
    }

    /// Delivered reminder DMs, in order.
    pub fn dms(&self) -> Vec<ReminderDm> {
        self.state.lock().unwrap().dms.clone()
    }

    /// Posts tried, failed or not.
    pub fn post_attempts(&self) -> usize {
        self.state.lock().unwrap().post_attempts
    }

    /// Nonces of every post attempt, failed or not.
    pub fn attempted_nonces(&self) -> Vec<String> {
        self.state.lock().unwrap().attempted_nonces.clone()
    }

    /// The next `n` posts fail.
    pub fn fail_next_posts(&self, n: usize) {
        self.state.lock().unwrap().fail_posts = n;
    }

    /// Every post fails until turned off.
    pub fn fail_all_posts(&self, on: bool) {
        self.state.lock().unwrap().fail_all_posts = on;
    }

    /// The next `n` DMs to `user` (reminders and notes) fail.
    pub fn fail_next_dms_to(&self, user: UserId, n: usize) {
        self.state.lock().unwrap().fail_dms_to.insert(user, n);
    }

    /// Each post takes this long (real time), to widen race windows.
    pub fn set_post_delay(&self, d: StdDuration) {
        *self.post_delay.lock().unwrap() = d;
    }

    /// Delivered digests, in order.
    pub fn digests(&self) -> Vec<DigestPost> {
        self.state.lock().unwrap().digests.clone()
    }

    /// Digest sends tried, failed or not.
    pub fn digest_attempts(&self) -> usize {
        self.state.lock().unwrap().digest_attempts
    }

    /// The next `n` digest sends fail.
    pub fn fail_next_digests(&self, n: usize) {
        self.state.lock().unwrap().fail_digests = n;
    }

    /// Every DM to `user` is refused for good, as Discord does when their
    /// DMs are closed (403, code 50007).
    pub fn close_dms(&self, user: UserId) {
        self.state.lock().unwrap().closed_dms.insert(user);
    }

    /// `user` left the guild: lookups answer Unknown Member (10007) and DMs
    /// are refused (50007: no server shared any more).
    pub fn leave_guild(&self, user: UserId) {
        self.state.lock().unwrap().gone.insert(user);
    }

    /// `user` is back in the guild, DMs open.
    pub fn rejoin_guild(&self, user: UserId) {
        let mut s = self.state.lock().unwrap();
        s.gone.remove(&user);
        s.closed_dms.remove(&user);
    }

    /// Every post to `channel` is refused for good with Discord's `code`
    /// (10003 deleted, 50001 missing access, 50013 missing permissions).
    pub fn refuse_channel(&self, channel: ChannelId, code: u32) {
        self.state.lock().unwrap().refusing_channels.insert(channel, code);
    }

    /// `channel` takes posts again.
    pub fn accept_channel(&self, channel: ChannelId) {
        self.state.lock().unwrap().refusing_channels.remove(&channel);
    }

    /// Reminder DMs tried to `user`, failed or not.
    pub fn reminder_attempts(&self, user: UserId) -> usize {
        self.state.lock().unwrap().reminder_attempts.get(&user).copied().unwrap_or(0)
    }

    /// Member lookups (`GET /guilds/{g}/members/{u}`), in order.
    pub fn lookups(&self) -> Vec<UserId> {
        self.state.lock().unwrap().lookups.clone()
    }

    /// Delivered DM replies, in order.
    pub fn dm_replies(&self) -> Vec<DirectMessage> {
        self.state.lock().unwrap().dm_replies.clone()
    }

    /// When each DM reply was tried (real time), failed or not.
    pub fn dm_reply_attempts(&self) -> Vec<std::time::Instant> {
        self.state.lock().unwrap().dm_reply_attempts.clone()
    }

    /// The next `n` DM replies fail for now (a 5xx).
    pub fn fail_next_dm_replies(&self, n: usize) {
        self.state.lock().unwrap().fail_dm_replies = n;
    }

    /// Delivered note DMs, in order.
    pub fn note_dms(&self) -> Vec<NoteDm> {
        self.state.lock().unwrap().notes.clone()
    }

    /// Note DMs tried, failed or not.
    pub fn note_attempts(&self) -> usize {
        self.state.lock().unwrap().note_attempts
    }

    /// Posts that share a nonce with an earlier successful post.
    pub fn duplicate_nonces(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.nonces().into_iter().filter(|n| !seen.insert(n.clone())).collect()
    }
}

/// The DM channel the fake opens for `user`: the same every time.
pub fn dm_channel_of(user: UserId) -> ChannelId {
    ChannelId::new(user.get() ^ (1 << 62))
}

#[async_trait::async_trait]
impl ChatEdge for FakeChat {
    async fn post_checkin(&self, post: &CheckInPost) -> Result<MessageId, ChatError> {
        let delay = *self.post_delay.lock().unwrap();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut s = self.state.lock().unwrap();
        s.post_attempts += 1;
        s.attempted_nonces.push(post.nonce.clone());
        if let Some(&code) = s.refusing_channels.get(&post.channel_id) {
            return Err(refused(code));
        }
        if s.fail_all_posts {
            return Err(ChatError::temporary("injected: the platform is down"));
        }
        if s.fail_posts > 0 {
            s.fail_posts -= 1;
            return Err(ChatError::temporary("injected: post failed"));
        }
        s.next_message_id += 1;
        let message_id = MessageId::new(500_000_000_000_000_000 + s.next_message_id);
        let at = self.clock.now();
        s.posts.push(SeenPost { post: post.clone(), message_id, at });
        Ok(message_id)
    }

    async fn send_reminder(&self, dm: &ReminderDm) -> Result<ChannelId, ChatError> {
        let mut s = self.state.lock().unwrap();
        *s.reminder_attempts.entry(dm.user_id).or_default() += 1;
        if s.closed_dms.contains(&dm.user_id) || s.gone.contains(&dm.user_id) {
            return Err(refused(code::CANNOT_DM));
        }
        if let Some(n) = s.fail_dms_to.get_mut(&dm.user_id)
            && *n > 0
        {
            *n -= 1;
            return Err(ChatError::temporary("injected: the DM did not go through"));
        }
        s.dms.push(dm.clone());
        Ok(dm.dm_channel.unwrap_or_else(|| dm_channel_of(dm.user_id)))
    }

    async fn post_digest(&self, digest: &DigestPost) -> Result<(), ChatError> {
        let mut s = self.state.lock().unwrap();
        s.digest_attempts += 1;
        if let Some(&code) = s.refusing_channels.get(&digest.channel_id) {
            return Err(refused(code));
        }
        if s.fail_digests > 0 {
            s.fail_digests -= 1;
            return Err(ChatError::temporary("injected: digest channel unavailable"));
        }
        s.digests.push(digest.clone());
        Ok(())
    }

    async fn send_note(&self, dm: &NoteDm) -> Result<(), ChatError> {
        let mut s = self.state.lock().unwrap();
        s.note_attempts += 1;
        if s.closed_dms.contains(&dm.user_id) || s.gone.contains(&dm.user_id) {
            return Err(refused(code::CANNOT_DM));
        }
        if let Some(n) = s.fail_dms_to.get_mut(&dm.user_id)
            && *n > 0
        {
            *n -= 1;
            return Err(ChatError::permanent(Some(50007), "injected: the member's DMs are closed"));
        }
        s.notes.push(dm.clone());
        Ok(())
    }

    async fn send_dm(&self, dm: &DirectMessage) -> Result<(), ChatError> {
        let mut s = self.state.lock().unwrap();
        s.dm_reply_attempts.push(std::time::Instant::now());
        if s.closed_dms.contains(&dm.user_id) || s.gone.contains(&dm.user_id) {
            return Err(refused(code::CANNOT_DM));
        }
        if s.fail_dm_replies > 0 {
            s.fail_dm_replies -= 1;
            return Err(ChatError::temporary("injected: 503 Service Unavailable"));
        }
        s.dm_replies.push(dm.clone());
        Ok(())
    }

    async fn member_in_guild(&self, _guild_id: GuildId, user_id: UserId) -> Result<bool, ChatError> {
        let mut s = self.state.lock().unwrap();
        s.lookups.push(user_id);
        Ok(!s.gone.contains(&user_id))
    }
}

/// A refusal for good with Discord's `code` and its words for it.
fn refused(code: u32) -> ChatError {
    let message = match code {
        code::CANNOT_DM => "Cannot send messages to this user",
        code::UNKNOWN_CHANNEL => "Unknown Channel",
        code::MISSING_ACCESS => "Missing Access",
        code::MISSING_PERMISSIONS => "Missing Permissions",
        _ => "Refused",
    };
    ChatError::permanent(Some(code), format!("injected: {message}")).with_message(message)
}
