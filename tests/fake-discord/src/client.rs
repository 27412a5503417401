//! A raw gateway client for tests that open sessions by hand: what a second
//! process on the bot's token does, without a second bot. It speaks just
//! enough of the protocol to IDENTIFY, RESUME, read dispatches and close
//! (with a code, or by dropping the connection as a crashed process does).
//! It never heartbeats; the fake does not require it.
//!
//! ```ignore
//! let mut a = GatewayClient::connect(&fake.gateway_url()).await;
//! let ready = a.identify("token", 1 << 12, [0, 1]).await;
//! fake.dm_message(USER, DM, "hi");
//! let frame = a.wait_dispatch("MESSAGE_CREATE", Duration::from_secs(5)).await;
//! ```

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// One gateway socket. Every method panics (with what it waited for) when
/// the fake does not answer in time or the socket fails: it is test code.
pub struct GatewayClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    session_id: Option<String>,
    seq: Option<u64>,
}

impl GatewayClient {
    /// Opens a socket to `url` ([`crate::FakeDiscord::gateway_url`]) and
    /// reads HELLO.
    ///
    /// # Panics
    /// If the connection fails or HELLO does not come within 5 s.
    pub async fn connect(url: &str) -> GatewayClient {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .unwrap_or_else(|e| panic!("fake discord client: cannot connect to {url}: {e}"));
        let mut client = GatewayClient { ws, session_id: None, seq: None };
        let hello = client.next_frame(Duration::from_secs(5)).await.expect("fake discord client: closed before HELLO");
        assert_eq!(hello["op"], 10, "fake discord client: expected HELLO, got {hello}");
        client
    }

    /// Sends IDENTIFY with `token`, `intents` and `shard` (`[shard_id,
    /// num_shards]`), waits for READY and returns its `d`.
    ///
    /// # Panics
    /// If READY does not come within 5 s (the socket closed, e.g. 4004).
    pub async fn identify(&mut self, token: &str, intents: u64, shard: [u64; 2]) -> Value {
        self.send_identify(token, intents, shard).await;
        let ready = self.wait_dispatch("READY", Duration::from_secs(5)).await;
        self.session_id = ready["d"]["session_id"].as_str().map(str::to_owned);
        ready["d"].clone()
    }

    /// Sends IDENTIFY (as [`Self::identify`]) without waiting for anything:
    /// for an IDENTIFY the fake refuses (then [`Self::wait_close`]).
    pub async fn send_identify(&mut self, token: &str, intents: u64, shard: [u64; 2]) {
        let properties = json!({ "os": "linux", "browser": "fake-discord-client", "device": "fake-discord-client" });
        self.send(json!({
            "op": 2,
            "d": { "token": token, "intents": intents, "shard": shard, "properties": properties },
        }))
        .await;
    }

    /// Reads (and drops) frames until the socket closes; returns the code of
    /// the fake's close frame, or `None` when it closed without one.
    ///
    /// # Panics
    /// If the socket is still open after `timeout`.
    pub async fn wait_close(&mut self, timeout: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("fake discord client: still open after {timeout:?}"));
            match next {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Err(_)) | None => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// Sends RESUME of `session_id` from `seq` (the last sequence number
    /// the client saw). What follows is the replay and RESUMED, or op 9
    /// INVALID SESSION when the session cannot be resumed.
    pub async fn resume(&mut self, token: &str, session_id: &str, seq: u64) {
        self.session_id = Some(session_id.to_owned());
        self.send(json!({ "op": 6, "d": { "token": token, "session_id": session_id, "seq": seq } })).await;
    }

    /// The `session_id` of this socket's READY (or the one it RESUMEd).
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// The last sequence number received (what a RESUME sends).
    pub fn seq(&self) -> Option<u64> {
        self.seq
    }

    /// Sends one JSON frame.
    ///
    /// # Panics
    /// If the socket is closed.
    pub async fn send(&mut self, frame: Value) {
        let text = frame.to_string();
        self.ws.send(Message::Text(text.into())).await.expect("fake discord client: send");
    }

    /// The next frame (any opcode), or `None` once the socket is closed.
    /// A dispatch's `s` becomes [`Self::seq`].
    ///
    /// # Panics
    /// If nothing arrives within `timeout`.
    pub async fn next_frame(&mut self, timeout: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("fake discord client: no frame within {timeout:?}"));
            match next {
                Some(Ok(Message::Text(text))) => {
                    let frame: Value = serde_json::from_str(text.as_str()).expect("fake discord client: a JSON frame");
                    if let Some(s) = frame["s"].as_u64() {
                        self.seq = Some(s);
                    }
                    return Some(frame);
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// The next dispatch (op 0 frame: `s`, `t`, `d`), skipping other
    /// opcodes (heartbeat ACKs).
    ///
    /// # Panics
    /// If the socket closes first or nothing comes within `timeout`.
    pub async fn next_dispatch(&mut self, timeout: Duration) -> Value {
        loop {
            let frame =
                self.next_frame(timeout).await.expect("fake discord client: closed while waiting for a dispatch");
            if frame["op"] == 0 {
                return frame;
            }
        }
    }

    /// Reads until the dispatch `event` and returns its frame (`s`, `t`,
    /// `d`); dispatches of other names on the way are skipped.
    ///
    /// # Panics
    /// If the socket closes first or `event` does not come within `timeout`.
    pub async fn wait_dispatch(&mut self, event: &str, timeout: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame =
                self.next_frame(left).await.unwrap_or_else(|| panic!("fake discord client: closed before {event}"));
            if frame["op"] == 0 && frame["t"] == event {
                return frame;
            }
        }
    }

    /// Closes with `code` and waits (up to 2 s) for the fake's answer. On
    /// Discord, 1000 and 1001 log the session off; other codes leave it
    /// resumable.
    pub async fn close(mut self, code: u16) {
        let frame = CloseFrame { code: CloseCode::from(code), reason: "".into() };
        let _ = self.ws.close(Some(frame)).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), async { while self.ws.next().await.is_some() {} }).await;
    }

    /// Drops the connection without a close frame, as a crashed process
    /// does: the session stays resumable.
    pub fn crash(self) {
        drop(self);
    }
}
