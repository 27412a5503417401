-- The desk (src/web): sign-in links, browser sessions, and the full-text
-- index behind its search.
--
-- Links and sessions hold a SHA-256 of their secret, never the secret: a
-- copy of the database signs nobody in. Each carries what Discord said about
-- the person when they ran /desk (guild, roles, Manage Server), which the
-- engine's access rules read at every request.
CREATE TABLE desk_links (
    token_hash  TEXT    PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    user_name   TEXT    NOT NULL,
    -- Comma-separated role ids.
    roles       TEXT    NOT NULL,
    can_manage  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    -- Set once, by the sign-in that used the link up.
    used_at     INTEGER
) WITHOUT ROWID;
CREATE INDEX desk_links_user ON desk_links (user_id);

CREATE TABLE desk_sessions (
    id_hash     TEXT    PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    user_name   TEXT    NOT NULL,
    roles       TEXT    NOT NULL,
    can_manage  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX desk_sessions_user ON desk_sessions (user_id);

-- Full text over answers, impact entries and path evidence. The rowid names
-- the source row: id * 4 + 1 (answer), + 2 (impact entry), + 3 (path step),
-- so that a trigger finds its row by key. Kept in step by the triggers
-- below on every write, edit and delete (forget-me included). The search
-- index differs between SQLite and PostgreSQL by design (FTS5 here, a
-- tsvector with a GIN index there); it is not a table `trellis migrate-to`
-- copies: PostgreSQL's triggers rebuild it as the rows arrive.
CREATE VIRTUAL TABLE search_fts USING fts5 (
    body,
    kind UNINDEXED,
    ref_id UNINDEXED,
    cohort_id UNINDEXED,
    user_id UNINDEXED,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER search_replies_insert AFTER INSERT ON replies BEGIN
    INSERT INTO search_fts (rowid, body, kind, ref_id, cohort_id, user_id)
    SELECT NEW.id * 4 + 1, NEW.answer, 'answer', NEW.id, c.cohort_id, NEW.user_id
    FROM checkins c WHERE c.id = NEW.checkin_id;
END;
CREATE TRIGGER search_replies_update AFTER UPDATE OF answer ON replies BEGIN
    UPDATE search_fts SET body = NEW.answer WHERE rowid = NEW.id * 4 + 1;
END;
CREATE TRIGGER search_replies_delete AFTER DELETE ON replies BEGIN
    DELETE FROM search_fts WHERE rowid = OLD.id * 4 + 1;
END;

CREATE TRIGGER search_impact_insert AFTER INSERT ON impact_entries BEGIN
    INSERT INTO search_fts (rowid, body, kind, ref_id, cohort_id, user_id)
    VALUES (NEW.id * 4 + 2, NEW.what_changed || char(10) || NEW.evidence || char(10) || NEW.who_benefited,
            'impact', NEW.id, NEW.cohort_id, NEW.user_id);
END;
CREATE TRIGGER search_impact_update AFTER UPDATE OF what_changed, evidence, who_benefited ON impact_entries BEGIN
    UPDATE search_fts SET body = NEW.what_changed || char(10) || NEW.evidence || char(10) || NEW.who_benefited
    WHERE rowid = NEW.id * 4 + 2;
END;
CREATE TRIGGER search_impact_delete AFTER DELETE ON impact_entries BEGIN
    DELETE FROM search_fts WHERE rowid = OLD.id * 4 + 2;
END;

CREATE TRIGGER search_steps_insert AFTER INSERT ON path_steps BEGIN
    INSERT INTO search_fts (rowid, body, kind, ref_id, cohort_id, user_id)
    VALUES (NEW.id * 4 + 3, NEW.evidence, 'step', NEW.id, NEW.cohort_id, NEW.user_id);
END;
CREATE TRIGGER search_steps_update AFTER UPDATE OF evidence ON path_steps BEGIN
    UPDATE search_fts SET body = NEW.evidence WHERE rowid = NEW.id * 4 + 3;
END;
CREATE TRIGGER search_steps_delete AFTER DELETE ON path_steps BEGIN
    DELETE FROM search_fts WHERE rowid = OLD.id * 4 + 3;
END;

-- What was written before this migration.
INSERT INTO search_fts (rowid, body, kind, ref_id, cohort_id, user_id)
SELECT r.id * 4 + 1, r.answer, 'answer', r.id, c.cohort_id, r.user_id
FROM replies r JOIN checkins c ON c.id = r.checkin_id;
INSERT INTO search_fts (rowid, body, kind, ref_id, cohort_id, user_id)
SELECT id * 4 + 2, what_changed || char(10) || evidence || char(10) || who_benefited, 'impact', id, cohort_id, user_id
FROM impact_entries;
INSERT INTO search_fts (rowid, body, kind, ref_id, cohort_id, user_id)
SELECT id * 4 + 3, evidence, 'step', id, cohort_id, user_id FROM path_steps;
