-- Deliveries Discord refused for good (a member who cannot receive DMs, a
-- deleted channel, missing access, a member who left the server), one row
-- per cohort and target. A row stops retries for its target until something
-- changes (the cohort is set up again, the member interacts again, a new
-- check-in for DMs); it survives restarts. Times are Unix seconds (UTC).
CREATE TABLE delivery_failures (
    cohort_id     INTEGER NOT NULL REFERENCES cohorts (id),
    target_kind   TEXT    NOT NULL
                  CHECK (target_kind IN ('channel', 'digest_channel', 'member_dm', 'guild_member')),
    -- A channel id for the channel kinds, a user id for the member kinds.
    target_id     INTEGER NOT NULL,
    -- Discord's JSON error code, when it sent one.
    code          INTEGER,
    -- Discord's message (or the error), for the log and the people who fix it.
    reason        TEXT    NOT NULL,
    first_seen_at INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    PRIMARY KEY (cohort_id, target_kind, target_id)
) WITHOUT ROWID;
CREATE INDEX delivery_failures_target ON delivery_failures (target_id);
