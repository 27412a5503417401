//! The one place where domain values meet column types, and the SQL
//! spellings statements share: column lists written once, and the
//! aggregates each backend spells its own way (`ids_joined!`, …).
//!
//! Ids are stored as `INTEGER` (SQLite) / `BIGINT` (PostgreSQL): Discord's
//! snowflakes are `u64` on the wire but fit in 63 bits, so they are stored as
//! `i64` and read back unchanged. Times are stored as whole seconds since the
//! Unix epoch (UTC); a stored time that does not fit a `DateTime` is
//! [`StoreError::Corrupt`], never a silent 1970.

use chrono::{DateTime, Utc};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

use super::failure::StoreError;
use crate::domain::{
    ChannelId, CheckInId, CohortId, GuildId, ImpactId, MessageId, NoteId, PathStepId, ReplyId, RoleId, UserId,
};

/// Binds and reads an id type as its `i64` column, for any backend that has one.
macro_rules! int_column {
    ($($name:ident: $to_i64:expr, $from_i64:expr;)*) => {$(
        impl<DB: Database> Type<DB> for $name
        where
            i64: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <i64 as Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <i64 as Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: Database> Encode<'q, DB> for $name
        where
            i64: Encode<'q, DB>,
        {
            fn encode_by_ref(&self, buf: &mut <DB as Database>::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
                let raw: i64 = $to_i64(*self);
                <i64 as Encode<'q, DB>>::encode(raw, buf)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $name
        where
            i64: Decode<'r, DB>,
        {
            fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let raw = <i64 as Decode<'r, DB>>::decode(value)?;
                Ok($from_i64(raw))
            }
        }
    )*};
}

// Snowflakes: validated below 2^63 where they enter (config, /cohort setup) or
// minted by Discord, which never goes past 63 bits; the casts are lossless.
int_column! {
    GuildId: |v: GuildId| v.get() as i64, |raw: i64| GuildId::new(snowflake(raw));
    ChannelId: |v: ChannelId| v.get() as i64, |raw: i64| ChannelId::new(snowflake(raw));
    UserId: |v: UserId| v.get() as i64, |raw: i64| UserId::new(snowflake(raw));
    RoleId: |v: RoleId| v.get() as i64, |raw: i64| RoleId::new(snowflake(raw));
    MessageId: |v: MessageId| v.get() as i64, |raw: i64| MessageId::new(snowflake(raw));
    CohortId: CohortId::get, CohortId::new;
    CheckInId: CheckInId::get, CheckInId::new;
    ReplyId: ReplyId::get, ReplyId::new;
    ImpactId: ImpactId::get, ImpactId::new;
    NoteId: NoteId::get, NoteId::new;
    PathStepId: PathStepId::get, PathStepId::new;
}

/// A stored snowflake (an `i64` column) back as Discord's `u64`, for a
/// value read outside the id types above (a row's raw column, JSON).
pub(crate) fn snowflake(raw: i64) -> u64 {
    raw as u64
}

/// A member's id written as text by an aggregate (`group_concat`,
/// `string_agg`) back; `Corrupt`, saying `what` it was, when it is no number.
pub(crate) fn user_in_text(what: &str, text: &str) -> Result<UserId, StoreError> {
    let raw = text.parse::<i64>().map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))?;
    Ok(UserId::new(snowflake(raw)))
}

/// A column list as one string literal, so that each table's list is
/// written once (next to its row type) and statements stay `&'static str`:
/// `columns!(a, b)` is `"a, b"`, `columns!(k: a, b)` is `"k.a, k.b"` (the
/// table aliased `k`).
macro_rules! columns {
    ($t:ident: $first:ident $(, $rest:ident)*) => {
        concat!(stringify!($t), ".", stringify!($first) $(, ", ", stringify!($t), ".", stringify!($rest))*)
    };
    ($first:ident $(, $rest:ident)*) => {
        concat!(stringify!($first) $(, ", ", stringify!($rest))*)
    };
}
pub(super) use columns;

/// The values of a column over the rows, comma-separated (NULL over none),
/// as each backend spells it: `ids_joined!(sqlite, "r.user_id")`, with
/// `DISTINCT` before the column to drop repeats. PostgreSQL's `string_agg`
/// takes text, so an id is cast first.
macro_rules! ids_joined {
    (sqlite, DISTINCT $column:literal) => {
        concat!("group_concat(DISTINCT ", $column, ")")
    };
    (sqlite, $column:literal) => {
        concat!("group_concat(", $column, ")")
    };
    (postgres, DISTINCT $column:literal) => {
        concat!("string_agg(DISTINCT CAST(", $column, " AS TEXT), ',')")
    };
    (postgres, $column:literal) => {
        concat!("string_agg(CAST(", $column, " AS TEXT), ',')")
    };
}
pub(super) use ids_joined;

/// [`ids_joined!`] for a text column.
macro_rules! text_joined {
    (sqlite, $column:literal) => {
        concat!("group_concat(", $column, ")")
    };
    (postgres, $column:literal) => {
        concat!("string_agg(", $column, ", ',')")
    };
}
pub(super) use text_joined;

/// The ids of a JSON array parameter (`$2` holding `[1, 2]`), as a subquery
/// for `id IN …`: the ids travel as one value, whatever their number.
macro_rules! ids_in_json {
    (sqlite, $param:literal) => {
        concat!("(SELECT value FROM json_each(", $param, "))")
    };
    (postgres, $param:literal) => {
        concat!("(SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(", $param, " AS JSON)))")
    };
}
pub(super) use ids_in_json;

/// A time as stored: whole seconds since the Unix epoch, UTC.
pub(crate) fn unix(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

/// A stored time back; `Corrupt` when the value is no representable time.
pub(crate) fn from_unix(secs: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp(secs, 0).ok_or_else(|| StoreError::Corrupt(format!("time {secs} is out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_backend_spells_its_aggregates() {
        assert_eq!(ids_joined!(sqlite, DISTINCT "m.u"), "group_concat(DISTINCT m.u)");
        assert_eq!(ids_joined!(postgres, "m.u"), "string_agg(CAST(m.u AS TEXT), ',')");
        assert_eq!(text_joined!(postgres, "step"), "string_agg(step, ',')");
        assert_eq!(ids_in_json!(sqlite, "$2"), "(SELECT value FROM json_each($2))");
        assert_eq!(columns!(k: a, b), "k.a, k.b");
        assert_eq!(columns!(a, b), "a, b");
    }

    #[test]
    fn a_snowflake_reads_back_unchanged_and_a_user_in_text_that_is_no_number_is_corrupt() {
        let big = (1u64 << 62) + 7;
        assert_eq!(snowflake(big as i64), big);
        assert_eq!(user_in_text("replier", &big.to_string()).unwrap(), UserId::new(big));
        let err = user_in_text("replier", "12a").unwrap_err();
        assert!(matches!(&err, StoreError::Corrupt(m) if m.starts_with("replier: ")), "{err}");
    }
}
