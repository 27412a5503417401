-- The mentoring loop: mentors' notes on answers, and each member's Staff path
-- (their cross-team project and the seven steps with dated evidence).
-- Times are Unix seconds (UTC); user ids are Discord snowflakes. Every column
-- that holds a user id is named `user_id` or `*_user_id`, so forgetting a
-- user (and the test that checks it) finds them all.

-- A mentor's note on one answer: one per mentor per answer; writing it again
-- edits it (the old text goes to note_edits).
CREATE TABLE notes (
    id              INTEGER PRIMARY KEY,
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
CREATE INDEX notes_member ON notes (cohort_id, member_user_id);
-- Which answers of a cohort have a note, from the index alone (`/cohort status`, the digest).
CREATE INDEX notes_noted ON notes (cohort_id, checkin_id, member_user_id);
CREATE INDEX notes_member_user ON notes (member_user_id);
CREATE INDEX notes_author_user ON notes (author_user_id);
CREATE INDEX notes_checkin ON notes (checkin_id);

CREATE TABLE note_edits (
    id              INTEGER PRIMARY KEY,
    note_id         INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    member_user_id  INTEGER NOT NULL,
    author_user_id  INTEGER NOT NULL,
    body            TEXT    NOT NULL,
    written_at      INTEGER NOT NULL
);
CREATE INDEX note_edits_note ON note_edits (note_id);
CREATE INDEX note_edits_member_user ON note_edits (member_user_id);
CREATE INDEX note_edits_author_user ON note_edits (author_user_id);

CREATE TRIGGER notes_keep_history
BEFORE UPDATE OF body ON notes
WHEN OLD.body IS NOT NEW.body
BEGIN
    INSERT INTO note_edits (note_id, member_user_id, author_user_id, body, written_at)
    VALUES (OLD.id, OLD.member_user_id, OLD.author_user_id, OLD.body, OLD.updated_at);
END;

-- The problem a member chose for their Staff path, one per member per cohort.
CREATE TABLE path_projects (
    cohort_id   INTEGER NOT NULL REFERENCES cohorts (id),
    user_id     INTEGER NOT NULL,
    what        TEXT    NOT NULL,
    why         TEXT    NOT NULL,
    teams       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (cohort_id, user_id)
) WITHOUT ROWID;
CREATE INDEX path_projects_user ON path_projects (user_id);

CREATE TABLE path_project_edits (
    id          INTEGER PRIMARY KEY,
    cohort_id   INTEGER NOT NULL REFERENCES cohorts (id),
    user_id     INTEGER NOT NULL,
    what        TEXT    NOT NULL,
    why         TEXT    NOT NULL,
    teams       TEXT    NOT NULL,
    written_at  INTEGER NOT NULL
);
CREATE INDEX path_project_edits_member ON path_project_edits (cohort_id, user_id);
CREATE INDEX path_project_edits_user ON path_project_edits (user_id);

CREATE TRIGGER path_projects_keep_history
BEFORE UPDATE OF what, why, teams ON path_projects
WHEN OLD.what IS NOT NEW.what OR OLD.why IS NOT NEW.why OR OLD.teams IS NOT NEW.teams
BEGIN
    INSERT INTO path_project_edits (cohort_id, user_id, what, why, teams, written_at)
    VALUES (OLD.cohort_id, OLD.user_id, OLD.what, OLD.why, OLD.teams, OLD.updated_at);
END;

-- A step of the Staff path done, with its evidence. Doing a step again edits
-- it (the old evidence goes to path_step_edits); done_at stays the first time.
CREATE TABLE path_steps (
    id          INTEGER PRIMARY KEY,
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
CREATE INDEX path_steps_user ON path_steps (user_id);

CREATE TABLE path_step_edits (
    id          INTEGER PRIMARY KEY,
    step_id     INTEGER NOT NULL REFERENCES path_steps (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL,
    evidence    TEXT    NOT NULL,
    link        TEXT,
    written_at  INTEGER NOT NULL
);
CREATE INDEX path_step_edits_step ON path_step_edits (step_id);
CREATE INDEX path_step_edits_user ON path_step_edits (user_id);

CREATE TRIGGER path_steps_keep_history
BEFORE UPDATE OF evidence, link ON path_steps
WHEN OLD.evidence IS NOT NEW.evidence OR OLD.link IS NOT NEW.link
BEGIN
    INSERT INTO path_step_edits (step_id, user_id, evidence, link, written_at)
    VALUES (OLD.id, OLD.user_id, OLD.evidence, OLD.link, OLD.updated_at);
END;

-- Then and now: a member's earlier answer to the same prompt is found by prompt id.
CREATE INDEX checkins_prompt ON checkins (cohort_id, prompt_id);
