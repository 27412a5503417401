-- Deliveries Discord refused for good, one row per cohort and target; see
-- migrations/sqlite/0002_delivery_failures.sql. Times are Unix seconds (UTC).
CREATE TABLE delivery_failures (
    cohort_id     BIGINT NOT NULL REFERENCES cohorts (id),
    target_kind   TEXT   NOT NULL
                  CHECK (target_kind IN ('channel', 'digest_channel', 'member_dm', 'guild_member')),
    -- A channel id for the channel kinds, a user id for the member kinds.
    target_id     BIGINT NOT NULL,
    -- Discord's JSON error code, when it sent one.
    code          BIGINT,
    -- Discord's message (or the error), for the log and the people who fix it.
    reason        TEXT   NOT NULL,
    first_seen_at BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    PRIMARY KEY (cohort_id, target_kind, target_id)
);
CREATE INDEX delivery_failures_target ON delivery_failures (target_id);
