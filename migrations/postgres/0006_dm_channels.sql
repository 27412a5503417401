-- A member's DM channel with the bot; see migrations/sqlite/0006_dm_channels.sql.
CREATE TABLE dm_channels (
    user_id    BIGINT PRIMARY KEY,
    channel_id BIGINT NOT NULL,
    opened_at  BIGINT NOT NULL
);
