//! The engine on a manual clock and a [`FakeChat`], over a fresh database:
//! what the engine, digest, export and hostile-input suites drive.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use trellis::domain::PromptLibrary;
use trellis::engine::{Clock, Engine, ManualClock};

use crate::chat::FakeChat;
use crate::db::{Backend, TempDb, temp_store_on};

/// An engine on a manual clock and a fake chat, over a fresh database.
pub struct Harness {
    /// The database, for more connections and raw checks.
    pub db: TempDb,
    /// The engine's time; see [`Harness::set`].
    pub clock: Arc<ManualClock>,
    /// What the engine posted and sent, and failure injection.
    pub chat: Arc<FakeChat>,
    /// The engine under test (replaced by [`Harness::restart`]).
    pub engine: Engine,
}

impl Harness {
    /// The clock starts at `start`; the database is a SQLite file.
    pub async fn new(start: DateTime<Utc>) -> Self {
        Self::on(Backend::Sqlite, start).await
    }

    /// The clock starts at `start`; the database is a fresh one on `backend`.
    pub async fn on(backend: Backend, start: DateTime<Utc>) -> Self {
        let (db, store) = temp_store_on(backend).await;
        let clock = Arc::new(ManualClock::new(start));
        let chat = Arc::new(FakeChat::new(clock.clone()));
        let engine = Engine::new(store, PromptLibrary::builtin(), clock.clone(), chat.clone());
        Harness { db, clock, chat, engine }
    }

    /// Another engine over the same database (its own connection pool),
    /// sharing the clock and the chat: a second instance, or a restart.
    pub async fn another_engine(&self) -> Engine {
        let store = self.db.connect().await;
        Engine::new(store, PromptLibrary::builtin(), self.clock.clone(), self.chat.clone())
    }

    /// Simulate a crash and restart: the old engine is dropped without any
    /// clean-up, a new one opens the database again.
    pub async fn restart(&mut self) {
        let engine = self.another_engine().await;
        let old = std::mem::replace(&mut self.engine, engine);
        drop(old);
    }

    /// Moves the clock to `t` (backwards too).
    pub fn set(&self, t: DateTime<Utc>) {
        self.clock.set(t);
    }

    /// The clock's time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// One scheduler pass of the engine at the clock's time.
    pub async fn tick(&self) -> trellis::engine::TickReport {
        self.engine.tick().await.expect("tick")
    }
}
