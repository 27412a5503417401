//! The gateway WebSocket at `/ws`.
//!
//! One connection is live at a time (the bot runs one shard). Every new
//! socket gets HELLO at once, also when the bot reconnects to RESUME (serenity
//! sends RESUME without waiting for HELLO and ignores the extra HELLO).
//! Frames are plain JSON text; no compression.
//!
//! Dispatches go through [`send_dispatch`], which assigns sequence numbers
//! under the state lock, so events are ordered exactly as they were issued.
//! While no connection is ready (between a drop and the RESUME) events are
//! queued and sent after the next RESUMED / READY.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State as AxumState;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde_json::Value;
use tokio::sync::mpsc;

use super::state::{Connection, Outgoing, PendingEvent, Shared, State};
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
        // Replacing an older connection drops its sender, which ends its task.
        gw.connection = Some(Connection { id, tx, ready: false });
        id
    };
    shared.notify();

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
                // Superseded by a newer connection.
                None => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => handle_frame(&shared, connection_id, text.as_str()),
                Some(Ok(Message::Close(_))) => {
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
    if st.gateway.connection.as_ref().is_some_and(|c| c.id == connection_id) {
        st.gateway.connection = None;
    }
    drop(st);
    shared.notify();
}

fn handle_frame(shared: &Shared, connection_id: u64, text: &str) {
    let mut st = shared.lock();
    let Some(tx) = st.gateway.connection.as_ref().filter(|c| c.id == connection_id).map(|c| c.tx.clone()) else {
        return;
    };
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        let _ = tx.send(Outgoing::Close { code: 4002, reason: "Error while decoding payload.".into() });
        return;
    };
    let op = frame.get("op").and_then(Value::as_u64);
    let d = frame.get("d").cloned().unwrap_or(Value::Null);
    match op {
        Some(1) => {
            st.gateway.heartbeats += 1;
            let _ = tx.send(Outgoing::Text(payloads::heartbeat_ack_frame()));
        }
        Some(2) => identify(shared, &mut st, d),
        Some(6) => resume(&mut st, &tx, d),
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

fn identify(shared: &Shared, st: &mut State, d: Value) {
    if auth::gateway_token_refused(st) {
        st.gateway.identifies.push(redact_token(d));
        close_connection(st, 4004, "Authentication failed.");
        return;
    }
    let gw = &mut st.gateway;
    gw.identifies.push(redact_token(d));
    let session_id = format!("fake-session-{}", gw.identifies.len());
    gw.session_id = Some(session_id.clone());
    gw.seq = 0;

    let ws_url = format!("{}/ws", shared.base.replacen("http://", "ws://", 1));
    let mut ready = payloads::ready(&shared.config, &session_id, &ws_url);
    guilds::drop_removed_from_ready(st, &mut ready);
    send_now(st, "READY", &ready);
    let removed = st.removed_guilds.clone();
    for guild in shared.config.guilds.iter().filter(|g| !removed.contains(&g.id)) {
        send_now(st, "GUILD_CREATE", &payloads::guild_create(&shared.config, guild));
    }
    if let Some(conn) = st.gateway.connection.as_mut() {
        conn.ready = true;
    }
    flush_pending(st);
}

fn resume(st: &mut State, tx: &mpsc::UnboundedSender<Outgoing>, d: Value) {
    let session_matches = st.gateway.session_id.is_some()
        && d.get("session_id").and_then(Value::as_str) == st.gateway.session_id.as_deref();
    st.gateway.resumes.push(redact_token(d));
    if !session_matches {
        let _ = tx.send(Outgoing::Text(payloads::invalid_session_frame(false)));
        return;
    }
    if let Some(conn) = st.gateway.connection.as_mut() {
        conn.ready = true;
    }
    // Discord replays what was missed, then says RESUMED.
    flush_pending(st);
    send_now(st, "RESUMED", &serde_json::json!({ "_trace": ["fake-discord"] }));
}

/// Sends a dispatch on the live connection regardless of readiness.
fn send_now(st: &mut State, name: &str, data: &Value) -> bool {
    let Some(conn) = st.gateway.connection.as_ref() else {
        return false;
    };
    st.gateway.seq += 1;
    let frame = payloads::dispatch_frame(st.gateway.seq, name, data);
    conn.tx.send(Outgoing::Text(frame)).is_ok()
}

/// Sends a dispatch if a connection is ready, else queues it. Marks the
/// interaction (if any) as delivered when it goes out.
pub(crate) fn send_dispatch(st: &mut State, name: &str, data: Value, interaction_id: Option<u64>) {
    if st.gateway.is_ready() && st.gateway.pending.is_empty() && send_now(st, name, &data) {
        mark_delivered(st, interaction_id);
    } else {
        st.gateway.pending.push(PendingEvent { name: name.to_owned(), data, interaction_id });
    }
}

fn flush_pending(st: &mut State) {
    let pending = std::mem::take(&mut st.gateway.pending);
    let mut rest = pending.into_iter();
    while let Some(event) = rest.next() {
        if send_now(st, &event.name, &event.data) {
            mark_delivered(st, event.interaction_id);
        } else {
            st.gateway.pending.push(event);
            st.gateway.pending.extend(rest);
            break;
        }
    }
}

fn mark_delivered(st: &mut State, interaction_id: Option<u64>) {
    if let Some(record) = interaction_id.and_then(|id| st.interactions.get_mut(&id)) {
        record.delivered_at = Some(Instant::now());
    }
}

/// Closes the live connection with `code` (the bot then reconnects).
/// Returns whether there was a connection.
pub(crate) fn close_connection(st: &mut State, code: u16, reason: &str) -> bool {
    match st.gateway.connection.take() {
        Some(conn) => {
            let _ = conn.tx.send(Outgoing::Close { code, reason: reason.to_owned() });
            true
        }
        None => false,
    }
}

/// Sends a raw opcode frame (op 7 / op 9) on the live connection.
pub(crate) fn send_raw(st: &mut State, frame: String) -> bool {
    match st.gateway.connection.as_ref() {
        Some(conn) => conn.tx.send(Outgoing::Text(frame)).is_ok(),
        None => false,
    }
}
