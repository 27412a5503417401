//! The one place where domain values meet column types.
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

use super::StoreError;
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
    GuildId: |v: GuildId| v.get() as i64, |raw: i64| GuildId::new(raw as u64);
    ChannelId: |v: ChannelId| v.get() as i64, |raw: i64| ChannelId::new(raw as u64);
    UserId: |v: UserId| v.get() as i64, |raw: i64| UserId::new(raw as u64);
    RoleId: |v: RoleId| v.get() as i64, |raw: i64| RoleId::new(raw as u64);
    MessageId: |v: MessageId| v.get() as i64, |raw: i64| MessageId::new(raw as u64);
    CohortId: CohortId::get, CohortId::new;
    CheckInId: CheckInId::get, CheckInId::new;
    ReplyId: ReplyId::get, ReplyId::new;
    ImpactId: ImpactId::get, ImpactId::new;
    NoteId: NoteId::get, NoteId::new;
    PathStepId: PathStepId::get, PathStepId::new;
}

/// A time as stored: whole seconds since the Unix epoch, UTC.
pub(crate) fn unix(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

/// A stored time back; `Corrupt` when the value is no representable time.
pub(crate) fn from_unix(secs: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp(secs, 0).ok_or_else(|| StoreError::Corrupt(format!("time {secs} is out of range")))
}
