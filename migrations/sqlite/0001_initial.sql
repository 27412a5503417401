-- Trellis schema. Times are Unix seconds (UTC); Discord ids are snowflakes
-- stored as INTEGER (they fit in 63 bits).

CREATE TABLE cohorts (
    id                  INTEGER PRIMARY KEY,
    name                TEXT    NOT NULL UNIQUE,
    guild_id            INTEGER NOT NULL,
    channel_id          INTEGER NOT NULL UNIQUE,
    mentor_role_id      INTEGER NOT NULL,
    schedule            TEXT    NOT NULL,
    timezone            TEXT    NOT NULL,
    reminder_after_secs INTEGER,
    digest_channel_id   INTEGER,
    tracks              TEXT    NOT NULL,
    source              TEXT    NOT NULL CHECK (source IN ('file', 'discord')),
    active              INTEGER NOT NULL DEFAULT 1,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX cohorts_guild ON cohorts (guild_id);

CREATE TABLE members (
    cohort_id  INTEGER NOT NULL REFERENCES cohorts (id),
    user_id    INTEGER NOT NULL,
    joined_at  INTEGER NOT NULL,
    left_at    INTEGER,
    PRIMARY KEY (cohort_id, user_id)
) WITHOUT ROWID;
CREATE INDEX members_user ON members (user_id);

-- A pause covers [starts_at, ends_at); /resume cuts ends_at short.
CREATE TABLE pauses (
    id        INTEGER PRIMARY KEY,
    cohort_id INTEGER NOT NULL REFERENCES cohorts (id),
    user_id   INTEGER NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at   INTEGER NOT NULL
);
CREATE INDEX pauses_member ON pauses (cohort_id, user_id);
CREATE INDEX pauses_user ON pauses (user_id);

-- The delivery ledger: one row per cohort occurrence, ever.
CREATE TABLE checkins (
    id             INTEGER PRIMARY KEY,
    cohort_id      INTEGER NOT NULL REFERENCES cohorts (id),
    occurrence_at  INTEGER NOT NULL,
    closes_at      INTEGER NOT NULL,
    nonce          TEXT    NOT NULL UNIQUE,
    -- recorded → posting (claimed by one scheduler) → posted; or missed.
    status         TEXT    NOT NULL CHECK (status IN ('recorded', 'posting', 'posted', 'missed')),
    prompt_id      TEXT,
    track          TEXT,
    question       TEXT,
    claimed_at     INTEGER,
    message_id     INTEGER,
    posted_at      INTEGER,
    digest_claimed_at INTEGER,
    UNIQUE (cohort_id, occurrence_at)
);
CREATE INDEX checkins_status ON checkins (status) WHERE status IN ('recorded', 'posting');

-- The current answer of a member to a check-in.
CREATE TABLE replies (
    id          INTEGER PRIMARY KEY,
    checkin_id  INTEGER NOT NULL REFERENCES checkins (id),
    user_id     INTEGER NOT NULL,
    answer      TEXT    NOT NULL,
    confidence  INTEGER CHECK (confidence BETWEEN 1 AND 5),
    source      TEXT    NOT NULL CHECK (source IN ('modal', 'dm')),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (checkin_id, user_id)
);
CREATE INDEX replies_user ON replies (user_id);

-- Earlier versions of an edited reply.
CREATE TABLE reply_edits (
    id          INTEGER PRIMARY KEY,
    reply_id    INTEGER NOT NULL REFERENCES replies (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL,
    answer      TEXT    NOT NULL,
    confidence  INTEGER,
    written_at  INTEGER NOT NULL
);
CREATE INDEX reply_edits_reply ON reply_edits (reply_id);
CREATE INDEX reply_edits_user ON reply_edits (user_id);

-- Keeping history in a trigger makes an edit one atomic statement.
CREATE TRIGGER replies_keep_history
BEFORE UPDATE OF answer, confidence ON replies
WHEN OLD.answer IS NOT NEW.answer OR OLD.confidence IS NOT NEW.confidence
BEGIN
    INSERT INTO reply_edits (reply_id, user_id, answer, confidence, written_at)
    VALUES (OLD.id, OLD.user_id, OLD.answer, OLD.confidence, OLD.updated_at);
END;

CREATE TABLE impact_entries (
    id            INTEGER PRIMARY KEY,
    cohort_id     INTEGER NOT NULL REFERENCES cohorts (id),
    user_id       INTEGER NOT NULL,
    what_changed  TEXT    NOT NULL,
    evidence      TEXT    NOT NULL,
    who_benefited TEXT    NOT NULL,
    link          TEXT,
    tracks        TEXT    NOT NULL,
    recorded_at   INTEGER NOT NULL
);
CREATE INDEX impact_member ON impact_entries (cohort_id, user_id, recorded_at);
CREATE INDEX impact_user ON impact_entries (user_id);

-- One DM nudge per member per check-in.
CREATE TABLE reminders (
    checkin_id INTEGER NOT NULL REFERENCES checkins (id),
    user_id    INTEGER NOT NULL,
    sent_at    INTEGER NOT NULL,
    PRIMARY KEY (checkin_id, user_id)
) WITHOUT ROWID;
CREATE INDEX reminders_user ON reminders (user_id);
