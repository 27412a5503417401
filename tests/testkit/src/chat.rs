//! An in-memory chat platform for the engine: it records what the engine
//! posts and sends, and fails on request.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use trellis::domain::{ChannelId, MessageId, UserId};
use trellis::engine::chat::DigestPost;
use trellis::engine::{ChatEdge, ChatError, CheckInPost, Clock, ManualClock, ReminderDm};

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

    /// The next `n` DMs to `user` fail.
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
        if s.fail_digests > 0 {
            s.fail_digests -= 1;
            return Err(ChatError::temporary("injected: digest channel unavailable"));
        }
        s.digests.push(digest.clone());
        Ok(())
    }
}
