-- no-transaction
-- Ids never come to name another row (issue 16, kind 4). Without
-- AUTOINCREMENT SQLite gives a new row the largest rowid + 1, so once the
-- row with the largest id is deleted (/forget-me, forget-user) the next
-- insert takes its id again, and a button or link still carrying the old id
-- (`note:{reply}`, `answer:{checkin}`, `impact:{cohort}`) would name the new
-- row. AUTOINCREMENT keeps the largest id ever used (sqlite_sequence), as
-- PostgreSQL's sequences do. SQLite cannot add it to a table, so every table
-- with a generated id is rebuilt: same columns, keys, foreign keys, indexes
-- and triggers, same rows and ids.
--
-- Run outside sqlx's transaction: foreign keys must be off while a parent
-- table is dropped (with them on, DROP TABLE deletes its rows first and the
-- ON DELETE CASCADE children with them), and that pragma is a no-op inside
-- a transaction. The rebuild itself is one transaction. Re-running it (a
-- crash before sqlx recorded it) rebuilds again and keeps everything.
--
-- AUTOINCREMENT starts from the largest id a table holds now; an id deleted
-- from the top before this upgrade (or every id of a table emptied) would
-- still be handed out again. So in a database in use each counter moves
-- 1,000,000 past its largest id: old buttons naming ids deleted before the
-- upgrade find nothing too.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

DROP TRIGGER IF EXISTS notes_keep_history;
DROP TRIGGER IF EXISTS path_projects_keep_history;
DROP TRIGGER IF EXISTS path_steps_keep_history;
DROP TRIGGER IF EXISTS replies_keep_history;

DROP TABLE IF EXISTS cohorts_new;
CREATE TABLE cohorts_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO cohorts_new (id, name, guild_id, channel_id, mentor_role_id, schedule, timezone, reminder_after_secs, digest_channel_id, tracks, source, active, created_at, updated_at)
    SELECT id, name, guild_id, channel_id, mentor_role_id, schedule, timezone, reminder_after_secs, digest_channel_id, tracks, source, active, created_at, updated_at FROM cohorts;
DROP TABLE cohorts;
ALTER TABLE cohorts_new RENAME TO cohorts;
CREATE INDEX cohorts_guild ON cohorts (guild_id);

DROP TABLE IF EXISTS pauses_new;
CREATE TABLE pauses_new (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    cohort_id INTEGER NOT NULL REFERENCES cohorts (id),
    user_id   INTEGER NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at   INTEGER NOT NULL
);
INSERT INTO pauses_new (id, cohort_id, user_id, starts_at, ends_at)
    SELECT id, cohort_id, user_id, starts_at, ends_at FROM pauses;
DROP TABLE pauses;
ALTER TABLE pauses_new RENAME TO pauses;
CREATE INDEX pauses_member ON pauses (cohort_id, user_id);
CREATE INDEX pauses_user ON pauses (user_id);

DROP TABLE IF EXISTS checkins_new;
CREATE TABLE checkins_new (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO checkins_new (id, cohort_id, occurrence_at, closes_at, nonce, status, prompt_id, track, question, claimed_at, message_id, posted_at, digest_claimed_at)
    SELECT id, cohort_id, occurrence_at, closes_at, nonce, status, prompt_id, track, question, claimed_at, message_id, posted_at, digest_claimed_at FROM checkins;
DROP TABLE checkins;
ALTER TABLE checkins_new RENAME TO checkins;
CREATE INDEX checkins_prompt ON checkins (cohort_id, prompt_id);
CREATE INDEX checkins_status ON checkins (status) WHERE status IN ('recorded', 'posting');

DROP TABLE IF EXISTS replies_new;
CREATE TABLE replies_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    checkin_id  INTEGER NOT NULL REFERENCES checkins (id),
    user_id     INTEGER NOT NULL,
    answer      TEXT    NOT NULL,
    confidence  INTEGER CHECK (confidence BETWEEN 1 AND 5),
    source      TEXT    NOT NULL CHECK (source IN ('modal', 'dm')),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL, dm_message_id INTEGER,
    UNIQUE (checkin_id, user_id)
);
INSERT INTO replies_new (id, checkin_id, user_id, answer, confidence, source, created_at, updated_at, dm_message_id)
    SELECT id, checkin_id, user_id, answer, confidence, source, created_at, updated_at, dm_message_id FROM replies;
DROP TABLE replies;
ALTER TABLE replies_new RENAME TO replies;
CREATE UNIQUE INDEX replies_dm_message ON replies (dm_message_id) WHERE dm_message_id IS NOT NULL;
CREATE INDEX replies_user ON replies (user_id);

DROP TABLE IF EXISTS reply_edits_new;
CREATE TABLE reply_edits_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    reply_id    INTEGER NOT NULL REFERENCES replies (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL,
    answer      TEXT    NOT NULL,
    confidence  INTEGER,
    written_at  INTEGER NOT NULL
);
INSERT INTO reply_edits_new (id, reply_id, user_id, answer, confidence, written_at)
    SELECT id, reply_id, user_id, answer, confidence, written_at FROM reply_edits;
DROP TABLE reply_edits;
ALTER TABLE reply_edits_new RENAME TO reply_edits;
CREATE INDEX reply_edits_reply ON reply_edits (reply_id);
CREATE INDEX reply_edits_user ON reply_edits (user_id);

DROP TABLE IF EXISTS impact_entries_new;
CREATE TABLE impact_entries_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    cohort_id     INTEGER NOT NULL REFERENCES cohorts (id),
    user_id       INTEGER NOT NULL,
    what_changed  TEXT    NOT NULL,
    evidence      TEXT    NOT NULL,
    who_benefited TEXT    NOT NULL,
    link          TEXT,
    tracks        TEXT    NOT NULL,
    recorded_at   INTEGER NOT NULL
);
INSERT INTO impact_entries_new (id, cohort_id, user_id, what_changed, evidence, who_benefited, link, tracks, recorded_at)
    SELECT id, cohort_id, user_id, what_changed, evidence, who_benefited, link, tracks, recorded_at FROM impact_entries;
DROP TABLE impact_entries;
ALTER TABLE impact_entries_new RENAME TO impact_entries;
CREATE INDEX impact_member ON impact_entries (cohort_id, user_id, recorded_at);
CREATE INDEX impact_user ON impact_entries (user_id);

DROP TABLE IF EXISTS notes_new;
CREATE TABLE notes_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    reply_id        INTEGER NOT NULL REFERENCES replies (id) ON DELETE CASCADE,
    checkin_id      INTEGER NOT NULL REFERENCES checkins (id),
    cohort_id       INTEGER NOT NULL REFERENCES cohorts (id),
    -- The member who wrote the answer: who the note is for.
    member_user_id  INTEGER NOT NULL,
    -- The mentor who wrote the note, and the name they had on the server then.
    author_user_id  INTEGER NOT NULL,
    author_name     TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    -- When /progress first showed it to the member; NULL until then (and again after an edit).
    seen_at         INTEGER,
    UNIQUE (reply_id, author_user_id)
);
INSERT INTO notes_new (id, reply_id, checkin_id, cohort_id, member_user_id, author_user_id, author_name, body, created_at, updated_at, seen_at)
    SELECT id, reply_id, checkin_id, cohort_id, member_user_id, author_user_id, author_name, body, created_at, updated_at, seen_at FROM notes;
DROP TABLE notes;
ALTER TABLE notes_new RENAME TO notes;
CREATE INDEX notes_author_user ON notes (author_user_id);
CREATE INDEX notes_checkin ON notes (checkin_id);
CREATE INDEX notes_member ON notes (cohort_id, member_user_id);
CREATE INDEX notes_member_user ON notes (member_user_id);
CREATE INDEX notes_noted ON notes (cohort_id, checkin_id, member_user_id);

DROP TABLE IF EXISTS note_edits_new;
CREATE TABLE note_edits_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    note_id         INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    member_user_id  INTEGER NOT NULL,
    author_user_id  INTEGER NOT NULL,
    body            TEXT    NOT NULL,
    written_at      INTEGER NOT NULL
);
INSERT INTO note_edits_new (id, note_id, member_user_id, author_user_id, body, written_at)
    SELECT id, note_id, member_user_id, author_user_id, body, written_at FROM note_edits;
DROP TABLE note_edits;
ALTER TABLE note_edits_new RENAME TO note_edits;
CREATE INDEX note_edits_author_user ON note_edits (author_user_id);
CREATE INDEX note_edits_member_user ON note_edits (member_user_id);
CREATE INDEX note_edits_note ON note_edits (note_id);

DROP TABLE IF EXISTS path_project_edits_new;
CREATE TABLE path_project_edits_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    cohort_id   INTEGER NOT NULL REFERENCES cohorts (id),
    user_id     INTEGER NOT NULL,
    what        TEXT    NOT NULL,
    why         TEXT    NOT NULL,
    teams       TEXT    NOT NULL,
    written_at  INTEGER NOT NULL
);
INSERT INTO path_project_edits_new (id, cohort_id, user_id, what, why, teams, written_at)
    SELECT id, cohort_id, user_id, what, why, teams, written_at FROM path_project_edits;
DROP TABLE path_project_edits;
ALTER TABLE path_project_edits_new RENAME TO path_project_edits;
CREATE INDEX path_project_edits_member ON path_project_edits (cohort_id, user_id);
CREATE INDEX path_project_edits_user ON path_project_edits (user_id);

DROP TABLE IF EXISTS path_steps_new;
CREATE TABLE path_steps_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    cohort_id   INTEGER NOT NULL REFERENCES cohorts (id),
    user_id     INTEGER NOT NULL,
    step        TEXT    NOT NULL CHECK (step IN
                    ('expectations', 'problem', 'plan', 'stakeholders', 'mentoring', 'outcomes', 'story')),
    evidence    TEXT    NOT NULL,
    link        TEXT,
    done_at     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (cohort_id, user_id, step)
);
INSERT INTO path_steps_new (id, cohort_id, user_id, step, evidence, link, done_at, updated_at)
    SELECT id, cohort_id, user_id, step, evidence, link, done_at, updated_at FROM path_steps;
DROP TABLE path_steps;
ALTER TABLE path_steps_new RENAME TO path_steps;
CREATE INDEX path_steps_user ON path_steps (user_id);

DROP TABLE IF EXISTS path_step_edits_new;
CREATE TABLE path_step_edits_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    step_id     INTEGER NOT NULL REFERENCES path_steps (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL,
    evidence    TEXT    NOT NULL,
    link        TEXT,
    written_at  INTEGER NOT NULL
);
INSERT INTO path_step_edits_new (id, step_id, user_id, evidence, link, written_at)
    SELECT id, step_id, user_id, evidence, link, written_at FROM path_step_edits;
DROP TABLE path_step_edits;
ALTER TABLE path_step_edits_new RENAME TO path_step_edits;
CREATE INDEX path_step_edits_step ON path_step_edits (step_id);
CREATE INDEX path_step_edits_user ON path_step_edits (user_id);

CREATE TRIGGER notes_keep_history
BEFORE UPDATE OF body ON notes
WHEN OLD.body IS NOT NEW.body
BEGIN
    INSERT INTO note_edits (note_id, member_user_id, author_user_id, body, written_at)
    VALUES (OLD.id, OLD.member_user_id, OLD.author_user_id, OLD.body, OLD.updated_at);
END;

CREATE TRIGGER path_projects_keep_history
BEFORE UPDATE OF what, why, teams ON path_projects
WHEN OLD.what IS NOT NEW.what OR OLD.why IS NOT NEW.why OR OLD.teams IS NOT NEW.teams
BEGIN
    INSERT INTO path_project_edits (cohort_id, user_id, what, why, teams, written_at)
    VALUES (OLD.cohort_id, OLD.user_id, OLD.what, OLD.why, OLD.teams, OLD.updated_at);
END;

CREATE TRIGGER path_steps_keep_history
BEFORE UPDATE OF evidence, link ON path_steps
WHEN OLD.evidence IS NOT NEW.evidence OR OLD.link IS NOT NEW.link
BEGIN
    INSERT INTO path_step_edits (step_id, user_id, evidence, link, written_at)
    VALUES (OLD.id, OLD.user_id, OLD.evidence, OLD.link, OLD.updated_at);
END;

CREATE TRIGGER replies_keep_history
BEFORE UPDATE OF answer, confidence ON replies
WHEN OLD.answer IS NOT NEW.answer OR OLD.confidence IS NOT NEW.confidence
BEGIN
    INSERT INTO reply_edits (reply_id, user_id, answer, confidence, written_at)
    VALUES (OLD.id, OLD.user_id, OLD.answer, OLD.confidence, OLD.updated_at);
END;

INSERT INTO sqlite_sequence (name, seq)
    SELECT column1, 0 FROM (VALUES ('cohorts'), ('pauses'), ('checkins'), ('replies'), ('reply_edits'),
        ('impact_entries'), ('notes'), ('note_edits'), ('path_project_edits'), ('path_steps'), ('path_step_edits'))
    WHERE column1 NOT IN (SELECT name FROM sqlite_sequence);
-- Only a database in use (it has a cohort): a new one starts at 1.
UPDATE sqlite_sequence SET seq = seq + 1000000
    WHERE name IN ('cohorts', 'pauses', 'checkins', 'replies', 'reply_edits', 'impact_entries', 'notes',
        'note_edits', 'path_project_edits', 'path_steps', 'path_step_edits')
    AND EXISTS (SELECT 1 FROM cohorts);

COMMIT;
PRAGMA foreign_keys = ON;
