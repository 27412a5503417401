//! The instance lease (`instances`): which process serves a slot. Each
//! change is one statement that checks what it expects to replace, so two
//! processes racing for a slot cannot both win.

use chrono::{DateTime, Utc};

use super::backend::Conn;
use super::codec::{from_unix, unix};
use super::failure::{Result, StoreError};
use super::handle::Store;
use crate::domain::{Instance, Slot};

/// The columns of an [`InstanceRow`], in its order, written once for every
/// statement that reads one.
macro_rules! instance_columns {
    ($($t:ident)?) => {
        $crate::store::codec::columns!($($t:)? slot, holder, host, host_key, pid, started_at, heartbeat_at)
    };
}

/// Binds `$me`'s holder, host, host_key, pid, started_at and heartbeat_at
/// (seconds, UTC), in that order, to the query `$q`.
macro_rules! bind_holder {
    ($q:expr, $me:expr) => {
        $q.bind(&$me.holder)
            .bind(&$me.host)
            .bind(&$me.host_key)
            .bind(i64::from($me.pid))
            .bind(unix($me.started_at))
            .bind(unix($me.heartbeat_at))
    };
}

#[derive(sqlx::FromRow)]
struct InstanceRow {
    holder: String,
    host: String,
    host_key: String,
    pid: i64,
    started_at: i64,
    heartbeat_at: i64,
}

/// A lease row with its slot's key.
#[derive(sqlx::FromRow)]
struct SlotRow {
    slot: String,
    #[sqlx(flatten)]
    instance: InstanceRow,
}

impl TryFrom<InstanceRow> for Instance {
    type Error = StoreError;

    fn try_from(r: InstanceRow) -> Result<Self> {
        let pid = u32::try_from(r.pid).map_err(|_| StoreError::Corrupt(format!("instance pid {}", r.pid)))?;
        Ok(Instance {
            holder: r.holder,
            host: r.host,
            host_key: r.host_key,
            pid,
            started_at: from_unix(r.started_at)?,
            heartbeat_at: from_unix(r.heartbeat_at)?,
        })
    }
}

impl Store {
    /// Who holds `slot`, if anyone.
    pub async fn instance(&self, slot: Slot) -> Result<Option<Instance>> {
        let row: Option<InstanceRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            instance_columns!(),
            " FROM instances WHERE slot = $1"
        ))
        .bind(slot.to_string())
        .fetch_optional(pool)
        .await)?;
        row.map(Instance::try_from).transpose()
    }

    /// Takes `slot` for `me` if nobody holds it; false if someone does.
    #[cfg(any(test, feature = "test-util"))]
    pub async fn insert_instance(&self, slot: Slot, me: &Instance) -> Result<bool> {
        on_db!(&self.db, |pool| insert_lease_on(Conn::from(&mut *pool.acquire().await?), slot, me).await)
    }

    /// Takes `slot` over from `previous` for `me`, only if the row is still
    /// exactly `previous`'s (same holder, not renewed since it was read).
    #[cfg(any(test, feature = "test-util"))]
    pub async fn replace_instance(&self, slot: Slot, previous: &Instance, me: &Instance) -> Result<bool> {
        let update = "UPDATE instances \
             SET holder = $1, host = $2, host_key = $3, pid = $4, started_at = $5, heartbeat_at = $6 \
             WHERE slot = $7 AND holder = $8 AND heartbeat_at = $9";
        let done = on_db!(&self.db, |pool| bind_holder!(sqlx::query(update), me)
            .bind(slot.to_string())
            .bind(&previous.holder)
            .bind(unix(previous.heartbeat_at))
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Renews `holder`'s lease on `slot` at `now`; false if it no longer
    /// holds it (another process took it over, or the row is gone).
    #[cfg(any(test, feature = "test-util"))]
    pub async fn renew_instance(&self, slot: Slot, holder: &str, now: DateTime<Utc>) -> Result<bool> {
        let done = on_db!(&self.db, |pool| sqlx::query(
            "UPDATE instances SET heartbeat_at = $1 WHERE slot = $2 AND holder = $3"
        )
        .bind(unix(now))
        .bind(slot.to_string())
        .bind(holder)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Gives `slot` up if `holder` still holds it; returns whether it did.
    #[cfg(any(test, feature = "test-util"))]
    pub async fn release_instance(&self, slot: Slot, holder: &str) -> Result<bool> {
        let done = on_db!(&self.db, |pool| sqlx::query("DELETE FROM instances WHERE slot = $1 AND holder = $2")
            .bind(slot.to_string())
            .bind(holder)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Every lease row, by slot: which processes serve (or served, if
    /// stale) this database.
    pub async fn all_instances(&self) -> Result<Vec<(String, Instance)>> {
        let rows: Vec<SlotRow> = on_db!(&self.db, |pool| sqlx::query_as(concat!(
            "SELECT ",
            instance_columns!(),
            " FROM instances ORDER BY slot"
        ))
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(|r| Ok((r.slot, Instance::try_from(r.instance)?))).collect()
    }

    /// Takes the lease rows `shards` (one-shard slots of one total) for
    /// `me`, in one transaction: every row of the table is shown to
    /// `judge`, which keeps it, has it replaced (deleted) or refuses; then
    /// `me` gets one row per shard.
    ///
    /// Two takers never decide on the same picture: the transaction first
    /// writes the row [`SHARD_LEASE_LOCK`], which holds the next taker
    /// until this one commits (SQLite: the write lock, within the busy
    /// timeout; PostgreSQL: the conflicting insert waits for this
    /// transaction, and under READ COMMITTED its later reads see what this
    /// one wrote). That is what refuses a second process with another
    /// total, whose rows have other keys; a second holder of the same shard
    /// is refused by the primary key as well. The lock row is deleted
    /// before the commit, so the table holds only leases.
    ///
    /// Nothing is written unless every shard is taken: a refusal or a race
    /// (a row to replace was renewed meanwhile, or a shard's row appeared
    /// from a taker that skipped the lock) rolls it all back.
    pub async fn take_shards(
        &self,
        shards: &[Slot],
        me: &Instance,
        judge: impl Fn(Slot, &Instance) -> crate::domain::LeaseVerdict,
    ) -> Result<crate::domain::ShardClaim> {
        use crate::domain::{LeaseVerdict, ShardClaim};

        // A refusal or a race returns from inside: the transaction is
        // dropped, which rolls it back.
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO instances (slot, holder, host, host_key, pid, started_at, heartbeat_at) \
                 VALUES ($1, '', '', '', 0, $2, $2) ON CONFLICT (slot) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
            )
            .bind(SHARD_LEASE_LOCK)
            .bind(unix(me.heartbeat_at))
            .execute(&mut *tx)
            .await?;
            let rows: Vec<SlotRow> = sqlx::query_as(concat!(
                "SELECT ",
                instance_columns!(),
                " FROM instances \
                 WHERE slot <> $1 ORDER BY slot"
            ))
            .bind(SHARD_LEASE_LOCK)
            .fetch_all(&mut *tx)
            .await?;
            let mut replaced = Vec::new();
            for row in rows {
                // Not a lease row this version knows: not in the way.
                let Some(slot) = Slot::from_key(&row.slot) else { continue };
                let holder = Instance::try_from(row.instance)?;
                match judge(slot, &holder) {
                    LeaseVerdict::Keep => {}
                    LeaseVerdict::Replace => replaced.push((slot, holder)),
                    LeaseVerdict::Refuse => return Ok(ShardClaim::Refused { slot, holder }),
                }
            }
            for (slot, holder) in &replaced {
                let done = sqlx::query("DELETE FROM instances WHERE slot = $1 AND holder = $2 AND heartbeat_at = $3")
                    .bind(slot.to_string())
                    .bind(&holder.holder)
                    .bind(unix(holder.heartbeat_at))
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() != 1 {
                    return Ok(ShardClaim::Raced);
                }
            }
            for shard in shards {
                if !insert_lease_on(Conn::from(&mut *tx), *shard, me).await? {
                    return Ok(ShardClaim::Raced);
                }
            }
            sqlx::query("DELETE FROM instances WHERE slot = $1").bind(SHARD_LEASE_LOCK).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(ShardClaim::Taken { replaced })
        })
    }

    /// Renews every lease row `holder` holds at `now`, in one statement;
    /// returns how many it renewed (fewer than the holder took means
    /// another process took some over).
    pub async fn renew_leases(&self, holder: &str, now: DateTime<Utc>) -> Result<u64> {
        let done = on_db!(&self.db, |pool| sqlx::query("UPDATE instances SET heartbeat_at = $1 WHERE holder = $2")
            .bind(unix(now))
            .bind(holder)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done)
    }

    /// Gives up every lease row `holder` still holds; returns how many.
    pub async fn release_leases(&self, holder: &str) -> Result<u64> {
        let done = on_db!(&self.db, |pool| sqlx::query("DELETE FROM instances WHERE holder = $1")
            .bind(holder)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done)
    }
}

/// Takes `slot` for `me` if nobody holds it; false (and nothing written)
/// when the slot is held: the unique key decides between racing takers.
async fn insert_lease_on(conn: Conn<'_>, slot: Slot, me: &Instance) -> Result<bool> {
    // `bind_holder!` binds $1 to $6; the slot is $7.
    let insert = "INSERT INTO instances (slot, holder, host, host_key, pid, started_at, heartbeat_at) \
         VALUES ($7, $1, $2, $3, $4, $5, $6) ON CONFLICT (slot) DO NOTHING";
    let done = on_conn!(conn, |conn| bind_holder!(sqlx::query(insert), me)
        .bind(slot.to_string())
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(done == 1)
}

/// The key of the row [`Store::take_shards`] writes first and deletes
/// before it commits: not a slot key ([`Slot::from_key`] reads it as none).
const SHARD_LEASE_LOCK: &str = "lock: taking shards";
