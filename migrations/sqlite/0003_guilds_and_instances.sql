-- Servers the bot was removed from, and the running `trellis run` of each
-- slot. Times are Unix seconds (UTC), as in 0001.

-- A guild whose GUILD_DELETE came without `unavailable: true` (the bot was
-- kicked or the server deleted), or that a READY no longer lists. Its
-- cohorts are detached: the scheduler posts, reminds and digests nothing for
-- them. The row goes when the guild is joined again (GUILD_CREATE); the
-- cohorts, their members and their history stay as they were.
CREATE TABLE departed_guilds (
    guild_id    INTEGER PRIMARY KEY,
    departed_at INTEGER NOT NULL
);

-- The instance lease: one row per slot, held by the one process that serves
-- it. `slot` names what is served, "shards FIRST-LAST/TOTAL" (one process for
-- everything is "shards 0-0/1"). `holder` is unique per run, so a process
-- renews or releases only its own lease. The holder renews `heartbeat_at`;
-- a row whose heartbeat is older than the lease (30 s) is stale and may be
-- taken over, and so may one whose process is gone on the same host
-- (`host_key` says where `pid` can be checked). A clean shutdown deletes
-- the row.
CREATE TABLE instances (
    slot         TEXT    PRIMARY KEY,
    holder       TEXT    NOT NULL,
    host         TEXT    NOT NULL,
    host_key     TEXT    NOT NULL,
    pid          INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);
