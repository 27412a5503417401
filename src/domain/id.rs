//! Typed ids. Discord's snowflakes are `u64` on the wire; Trellis's own rows
//! are `i64` keys in the database. Each kind of id is its own type, so a guild
//! id passed where a user id belongs does not compile. The store converts them
//! at its boundary, in one place (`store/codec.rs`).

use std::fmt;

macro_rules! snowflake {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u64);

        impl $name {
            /// Wraps a Discord snowflake (a positive integer below 2^63 in practice).
            pub const fn new(raw: u64) -> Self {
                $name(raw)
            }

            /// The snowflake as Discord writes it.
            pub const fn get(self) -> u64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(i64);

        impl $name {
            /// Wraps a database row id (positive once stored).
            pub const fn new(raw: i64) -> Self {
                $name(raw)
            }

            /// The row id as the database holds it.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

snowflake!(
    /// A Discord server.
    GuildId
);
snowflake!(
    /// A Discord channel (text channel, DM channel or thread).
    ChannelId
);
snowflake!(
    /// A Discord user.
    UserId
);
snowflake!(
    /// A Discord role (a cohort's mentor role).
    RoleId
);
snowflake!(
    /// A Discord message (a posted check-in, or a member's DM holding an answer).
    MessageId
);
row_id!(
    /// A cohort's row.
    CohortId
);
row_id!(
    /// A check-in's row: one occurrence of a cohort's schedule.
    CheckInId
);
row_id!(
    /// A reply's row: one member's answer to one check-in.
    ReplyId
);
row_id!(
    /// An impact entry's row.
    ImpactId
);
row_id!(
    /// A mentor's note on an answer.
    NoteId
);
row_id!(
    /// A step of a member's Staff path, done.
    PathStepId
);
