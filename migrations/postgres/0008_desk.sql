-- The desk: sign-in links, browser sessions and the full-text index; see
-- migrations/sqlite/0008_desk.sql. Here the index is a table with a
-- tsvector column and a GIN index, kept in step by triggers.
CREATE TABLE desk_links (
    token_hash  TEXT    PRIMARY KEY,
    guild_id    BIGINT  NOT NULL,
    user_id     BIGINT  NOT NULL,
    user_name   TEXT    NOT NULL,
    roles       TEXT    NOT NULL,
    can_manage  BOOLEAN NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    used_at     BIGINT
);
CREATE INDEX desk_links_user ON desk_links (user_id);

CREATE TABLE desk_sessions (
    id_hash     TEXT    PRIMARY KEY,
    guild_id    BIGINT  NOT NULL,
    user_id     BIGINT  NOT NULL,
    user_name   TEXT    NOT NULL,
    roles       TEXT    NOT NULL,
    can_manage  BOOLEAN NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL
);
CREATE INDEX desk_sessions_user ON desk_sessions (user_id);

-- doc_id names the source row: id * 4 + 1 (answer), + 2 (impact), + 3 (step).
CREATE TABLE search_docs (
    doc_id    BIGINT PRIMARY KEY,
    kind      TEXT   NOT NULL,
    ref_id    BIGINT NOT NULL,
    cohort_id BIGINT NOT NULL,
    user_id   BIGINT NOT NULL,
    body      TEXT   NOT NULL,
    tsv       tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED
);
CREATE INDEX search_docs_tsv ON search_docs USING GIN (tsv);
CREATE INDEX search_docs_cohort ON search_docs (cohort_id);

CREATE FUNCTION search_replies() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM search_docs WHERE doc_id = OLD.id * 4 + 1;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO search_docs (doc_id, kind, ref_id, cohort_id, user_id, body)
        SELECT NEW.id * 4 + 1, 'answer', NEW.id, c.cohort_id, NEW.user_id, NEW.answer
        FROM checkins c WHERE c.id = NEW.checkin_id;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER search_replies AFTER INSERT OR DELETE OR UPDATE OF answer ON replies
FOR EACH ROW EXECUTE FUNCTION search_replies();

CREATE FUNCTION search_impact() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM search_docs WHERE doc_id = OLD.id * 4 + 2;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO search_docs (doc_id, kind, ref_id, cohort_id, user_id, body)
        VALUES (NEW.id * 4 + 2, 'impact', NEW.id, NEW.cohort_id, NEW.user_id,
                NEW.what_changed || chr(10) || NEW.evidence || chr(10) || NEW.who_benefited);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER search_impact AFTER INSERT OR DELETE OR UPDATE OF what_changed, evidence, who_benefited
ON impact_entries FOR EACH ROW EXECUTE FUNCTION search_impact();

CREATE FUNCTION search_steps() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM search_docs WHERE doc_id = OLD.id * 4 + 3;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO search_docs (doc_id, kind, ref_id, cohort_id, user_id, body)
        VALUES (NEW.id * 4 + 3, 'step', NEW.id, NEW.cohort_id, NEW.user_id, NEW.evidence);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER search_steps AFTER INSERT OR DELETE OR UPDATE OF evidence ON path_steps
FOR EACH ROW EXECUTE FUNCTION search_steps();

INSERT INTO search_docs (doc_id, kind, ref_id, cohort_id, user_id, body)
SELECT r.id * 4 + 1, 'answer', r.id, c.cohort_id, r.user_id, r.answer
FROM replies r JOIN checkins c ON c.id = r.checkin_id;
INSERT INTO search_docs (doc_id, kind, ref_id, cohort_id, user_id, body)
SELECT id * 4 + 2, 'impact', id, cohort_id, user_id, what_changed || chr(10) || evidence || chr(10) || who_benefited
FROM impact_entries;
INSERT INTO search_docs (doc_id, kind, ref_id, cohort_id, user_id, body)
SELECT id * 4 + 3, 'step', id, cohort_id, user_id, evidence FROM path_steps;
