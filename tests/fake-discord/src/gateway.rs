//! The gateway WebSocket at `/ws`: sockets, frames and dispatch. Sessions
//! (several at once on the one token, resume, expiry) are in `sessions.rs`.
//!
//! Every new socket gets HELLO at once, also when the bot reconnects to
//! RESUME (serenity sends RESUME without waiting for HELLO and ignores the
//! extra HELLO). IDENTIFY on a socket starts a new session on it; RESUME
//! moves an existing session onto it (the session's older socket, if still
//! open, is dropped). Frames are plain JSON text; no compression.
//!
//! Dispatches go through [`send_dispatch`], which picks the sessions of the
//! shard that owns the event (`sessions.rs`) and assigns each session's
//! sequence numbers under the state lock, so every session sees events in
//! the order they were issued.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State as AxumState;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde_json::Value;
use tokio::sync::mpsc;

use super::sessions::{Outgoing, PendingEvent, Route};
use super::state::{Shared, State};
use super::{auth, guilds, payloads};

/// `GET /ws`: upgrade and run the connection.
pub(crate) async fn upgrade(AxumState(shared): AxumState<Arc<Shared>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| run_connection(shared, socket))
}

async fn run_connection(shared: Arc<Shared>, mut socket: WebSocket) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let connection_id = {
        let mut st = shared.lock();
        let gw = &mut st.gateway;
        gw.next_connection_id += 1;
        gw.connections += 1;
        let id = gw.next_connection_id;
        let hello = payloads::hello_frame(shared.config.heartbeat_interval.as_millis());
        let _ = tx.send(Outgoing::Text(hello));
        gw.sockets.insert(id, tx);
        id
    };
    shared.notify();

    // The close code the client sent, if it closed with a frame.
    let mut client_close: Option<u16> = None;
    loop {
        tokio::select! {
            outgoing = rx.recv() => match outgoing {
                Some(Outgoing::Text(text)) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(Outgoing::Close { code, reason }) => {
                    let frame = CloseFrame { code, reason: reason.into() };
                    let _ = socket.send(Message::Close(Some(frame))).await;
                    // Give the client a moment to read the frame and answer it.
                    let _ = tokio::time::timeout(Duration::from_secs(1), async {
                        while let Some(Ok(msg)) = socket.recv().await {
                            if matches!(msg, Message::Close(_)) {
                                break;
                            }
                        }
                    })
                    .await;
                    break;
                }
                // Dropped by the fake: its session was resumed elsewhere.
                None => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => handle_frame(&shared, connection_id, text.as_str()),
                Some(Ok(Message::Close(frame))) => {
                    client_close = Some(frame.map_or(1005, |f| f.code));
                    // Let the WebSocket layer flush its close reply before the socket is dropped.
                    let _ = tokio::time::timeout(Duration::from_secs(1), socket.recv()).await;
                    break;
                }
                Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }

    let mut st = shared.lock();
    st.gateway.sockets.remove(&connection_id);
    // Discord ends a session whose client closed with 1000 or 1001 (it
    // logged off); any other end leaves it resumable.
    st.gateway.detach(connection_id, matches!(client_close, Some(1000 | 1001)));
    drop(st);
    shared.notify();
}

fn handle_frame(shared: &Shared, connection_id: u64, text: &str) {
    let mut st = shared.lock();
    let Some(tx) = st.gateway.sockets.get(&connection_id).cloned() else {
        return;
    };
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        close_socket(&mut st, connection_id, 4002, "Error while decoding payload.");
        return;
    };
    let op = frame.get("op").and_then(Value::as_u64);
    let d = frame.get("d").cloned().unwrap_or(Value::Null);
    match op {
        Some(1) => {
            st.gateway.heartbeats += 1;
            let _ = tx.send(Outgoing::Text(payloads::heartbeat_ack_frame()));
        }
        Some(2) => identify(shared, &mut st, connection_id, d),
        Some(6) => resume(&mut st, connection_id, &tx, d),
        // Presence updates, member chunk requests, voice: accepted and ignored.
        _ => {}
    }
    drop(st);
    shared.notify();
}

fn redact_token(mut d: Value) -> Value {
    if let Some(token) = d.get_mut("token") {
        *token = Value::from("[redacted]");
    }
    d
}

/// IDENTIFY's `shard` as `[shard_id, num_shards]`.
fn shard_of(d: &Value) -> Option<[u64; 2]> {
    let shard = d.get("shard")?.as_array()?;
    match shard.as_slice() {
        [id, n] => Some([id.as_u64()?, n.as_u64()?]),
        _ => None,
    }
}

fn identify(shared: &Shared, st: &mut State, connection_id: u64, d: Value) {
    if auth::gateway_token_refused(st) {
        st.gateway.identifies.push(redact_token(d));
        close_socket(st, connection_id, 4004, "Authentication failed.");
        return;
    }
    if st.gateway.session_on(connection_id).is_some() {
        st.gateway.identifies.push(redact_token(d));
        close_socket(st, connection_id, 4005, "Already authenticated.");
        return;
    }
    let shard = shard_of(&d);
    st.gateway.identifies.push(redact_token(d));
    // Discord's 4010: a shard id past the count, or (the fake's rule, see
    // `sessions.rs`) a count other than the bot's.
    let [shard_id, num_shards] = shard.unwrap_or([0, 1]);
    if num_shards != shared.config.shards || shard_id >= num_shards {
        close_socket(st, connection_id, 4010, "Invalid shard.");
        return;
    }
    let i = st.gateway.start_session(connection_id, shard);
    let session_id = st.gateway.sessions[i].id.clone();
    let serves = st.gateway.sessions[i].serves();
    let owned = |guild: u64| Route::Guild(guild).owned_by(serves);

    let ws_url = format!("{}/ws", shared.base.replacen("http://", "ws://", 1));
    let mut ready = payloads::ready(&shared.config, &session_id, &ws_url);
    if let Some(shard) = shard {
        ready["shard"] = serde_json::json!(shard);
    }
    if let Some(guilds) = ready.get_mut("guilds").and_then(Value::as_array_mut) {
        guilds.retain(|g| g["id"].as_str().and_then(|id| id.parse().ok()).is_some_and(owned));
    }
    guilds::drop_removed_from_ready(st, &mut ready);
    st.gateway.send_to(i, "READY", &ready, None);
    let removed = st.removed_guilds.clone();
    for guild in shared.config.guilds.iter().filter(|g| !removed.contains(&g.id) && owned(g.id)) {
        st.gateway.send_to(i, "GUILD_CREATE", &payloads::guild_create(&shared.config, guild), None);
    }
    let (mine, others) =
        std::mem::take(&mut st.gateway.undelivered).into_iter().partition(|e| e.route.owned_by(serves));
    st.gateway.undelivered = others;
    for event in mine {
        if st.gateway.send_to(i, &event.name, &event.data, event.interaction_id) {
            mark_delivered(st, event.interaction_id);
        }
    }
}

fn resume(st: &mut State, connection_id: u64, tx: &mpsc::UnboundedSender<Outgoing>, d: Value) {
    let now = Instant::now();
    let session = d.get("session_id").and_then(Value::as_str).and_then(|id| st.gateway.live_session(id, now));
    let after = d.get("seq").and_then(Value::as_u64).unwrap_or(0);
    st.gateway.resumes.push(redact_token(d));
    if st.gateway.session_on(connection_id).is_some() {
        close_socket(st, connection_id, 4005, "Already authenticated.");
        return;
    }
    let Some(i) = session else {
        let _ = tx.send(Outgoing::Text(payloads::invalid_session_frame(false)));
        return;
    };
    let gw = &mut st.gateway;
    // The session's older socket, if the fake has not seen it close yet, is
    // dropped: the session lives on the newest one.
    if let Some(old) = gw.sessions[i].socket.replace(connection_id) {
        gw.sockets.remove(&old);
    }
    gw.sessions[i].disconnected_at = None;
    gw.sessions[i].resumes += 1;
    // Discord replays what came after the client's `seq`, then says RESUMED.
    let replayed = gw.replay(i, after);
    // Whatever waited for a session of its shard was dispatched while this
    // one was live, so it is in its log.
    let serves = gw.sessions[i].serves();
    gw.undelivered.retain(|e| !e.route.owned_by(serves));
    let session = &mut gw.sessions[i];
    session.seq += 1;
    let resumed = payloads::dispatch_frame(session.seq, "RESUMED", &serde_json::json!({ "_trace": ["fake-discord"] }));
    let _ = tx.send(Outgoing::Text(resumed));
    for id in replayed {
        mark_delivered(st, Some(id));
    }
}

/// Dispatches an event to every live session of the shard that owns it
/// (written now to those on a socket, kept for the RESUME of the others).
/// If none of them is on a socket, it is also kept for the next session of
/// that shard that IDENTIFYs. Marks the interaction (if any) as delivered
/// when it first goes out on a socket.
pub(crate) fn send_dispatch(st: &mut State, name: &str, data: Value, interaction_id: Option<u64>) {
    let gw = &mut st.gateway;
    let route = Route::of(name, &data);
    let recipients = gw.recipients(Instant::now(), route);
    let on_socket = recipients.iter().any(|i| gw.sessions[*i].socket.is_some());
    let mut written = false;
    for i in recipients {
        written |= gw.send_to(i, name, &data, interaction_id);
    }
    if !on_socket {
        gw.undelivered.push(PendingEvent { name: name.to_owned(), data, interaction_id, route });
    }
    if written {
        mark_delivered(st, interaction_id);
    }
}

fn mark_delivered(st: &mut State, interaction_id: Option<u64>) {
    if let Some(record) = interaction_id.and_then(|id| st.interactions.get_mut(&id)) {
        record.delivered_at.get_or_insert_with(Instant::now);
    }
}

/// Closes socket `connection_id` with `code`; its session (if any) stays
/// resumable. Returns whether the socket was open.
fn close_socket(st: &mut State, connection_id: u64, code: u16, reason: &str) -> bool {
    st.gateway.detach(connection_id, false);
    match st.gateway.sockets.remove(&connection_id) {
        Some(tx) => {
            // The task still reads this frame: a channel's queued items
            // outlive its dropped sender.
            let _ = tx.send(Outgoing::Close { code, reason: reason.to_owned() });
            true
        }
        None => false,
    }
}

/// Closes every open socket with `code` (the bot then reconnects and
/// RESUMEs). Returns whether there was one.
pub(crate) fn close_connection(st: &mut State, code: u16, reason: &str) -> bool {
    let open: Vec<u64> = st.gateway.sockets.keys().copied().collect();
    let mut closed = false;
    for id in open {
        closed |= close_socket(st, id, code, reason);
    }
    closed
}

/// Sends a raw opcode frame (op 7 / op 9) to every session on a socket.
/// Returns whether there was one.
pub(crate) fn send_raw(st: &mut State, frame: &str) -> bool {
    let gw = &st.gateway;
    let mut sent = false;
    for id in gw.sessions.iter().filter_map(|s| s.socket) {
        sent |= gw.sockets.get(&id).is_some_and(|tx| tx.send(Outgoing::Text(frame.to_owned())).is_ok());
    }
    sent
}

/// Sends op 9 INVALID SESSION to every session on a socket. With
/// `resumable == false` Discord has ended those sessions: they receive
/// nothing more and cannot be resumed (the socket stays open for a new
/// IDENTIFY). Returns whether there was one.
pub(crate) fn invalidate_sessions(st: &mut State, resumable: bool) -> bool {
    let sent = send_raw(st, &payloads::invalid_session_frame(resumable));
    if !resumable {
        for session in st.gateway.sessions.iter_mut().filter(|s| s.socket.is_some()) {
            session.socket = None;
            session.disconnected_at = Some(Instant::now());
            session.ended = true;
        }
    }
    sent
}
