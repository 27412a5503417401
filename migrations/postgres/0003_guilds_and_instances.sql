-- Servers the bot was removed from, and the running `trellis run` of each
-- slot; see migrations/sqlite/0003_guilds_and_instances.sql.
CREATE TABLE departed_guilds (
    guild_id    BIGINT PRIMARY KEY,
    departed_at BIGINT NOT NULL
);

-- The instance lease: one row per slot, held by the one process that serves it.
CREATE TABLE instances (
    slot         TEXT   PRIMARY KEY,
    holder       TEXT   NOT NULL,
    host         TEXT   NOT NULL,
    host_key     TEXT   NOT NULL,
    pid          BIGINT NOT NULL,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);
