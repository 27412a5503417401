//! Stopping without losing what a member already sent.
//!
//! What a clean stop guarantees (the order is `Application::run_until_stopped`'s):
//!
//! 1. No new gateway event is taken once shutdown starts (the shards close).
//! 2. Every event already received is handled to the end, so a submit that
//!    raced the signal is saved *and* confirmed to the member, provided it
//!    finishes within [`DRAIN_LIMIT`]; after that the stop goes on anyway.
//! 3. The scheduler finishes the tick it is in (its claims and ledger rows
//!    stay consistent) and then the database pool is closed.
//!
//! A crash or SIGKILL skips all of this; `engine::scheduler` says what a
//! restart recovers and what it may cost.
//!
//! `DrainTracked` wraps poise's framework to count the events in flight,
//! `InFlight::drained` waits for them, and [`signal`] is what `trellis run`
//! stops on.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use poise::serenity_prelude as serenity;
use tokio::sync::Notify;

/// How long shutdown waits for events already received (a member's submit
/// being saved) before closing the database. Discord gives up on an
/// interaction after 3 s, so anything slower has no one left to answer.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// How long the count must stay at zero before the drain counts as done: an
/// event registers only once its task runs (serenity spawns one per event).
const QUIET: Duration = Duration::from_millis(50);

/// Events being handled right now, so shutdown can let them finish.
#[derive(Default)]
pub(crate) struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

impl InFlight {
    fn enter(self: &Arc<Self>) -> InFlightGuard {
        self.count.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(self.clone())
    }

    /// Waits until no event has been in flight for [`QUIET`]; `false` if
    /// events were still running after `limit`.
    pub(crate) async fn drained(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let idle = self.idle.notified();
            if self.count.load(Ordering::SeqCst) == 0 {
                tokio::time::sleep(QUIET).await;
                if self.count.load(Ordering::SeqCst) == 0 {
                    return true;
                }
                continue;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return false;
            }
        }
    }
}

/// One event in flight; leaving (dropping) it wakes a waiting drain.
struct InFlightGuard(Arc<InFlight>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// A serenity framework (poise's) whose every dispatched event is counted in
/// `in_flight` until its handler returns.
pub(crate) struct DrainTracked<F> {
    pub(crate) inner: F,
    pub(crate) in_flight: Arc<InFlight>,
}

#[serenity::async_trait]
impl<F: serenity::Framework> serenity::Framework for DrainTracked<F> {
    async fn init(&mut self, client: &serenity::Client) {
        self.inner.init(client).await;
    }

    async fn dispatch(&self, ctx: serenity::Context, event: serenity::FullEvent) {
        use tracing::Instrument as _;
        let _guard = self.in_flight.enter();
        // Every log line of this event, down to the engine and the store,
        // carries the interaction's ids.
        let span = crate::discord::event_span(&event);
        // A panic anywhere in the handling is answered, not left to Discord's
        // "This interaction failed" (see `discord::panics`).
        let http = ctx.http.clone();
        let waiting = crate::discord::panics::Waiting::of(&event);
        crate::discord::panics::caught(&http, waiting, self.inner.dispatch(ctx, event)).instrument(span).await;
    }
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM (what systemd and
/// `docker stop` send). If a handler cannot be installed, that signal is
/// simply not waited for.
pub async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
