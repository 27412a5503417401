-- A member's DM channel with the bot, remembered the first time Discord
-- opens it (POST /users/@me/channels), so that a reminder to a known member
-- is one request instead of two. A row is dropped when Discord answers
-- 10003 (Unknown Channel) for its channel, and with the member's other rows
-- on /forget-me.
CREATE TABLE dm_channels (
    user_id    INTEGER PRIMARY KEY,
    channel_id INTEGER NOT NULL,
    opened_at  INTEGER NOT NULL
) WITHOUT ROWID;
