-- The DM message that holds a member's answer; see
-- migrations/sqlite/0004_dm_answers.sql.
ALTER TABLE replies ADD COLUMN dm_message_id BIGINT;
CREATE UNIQUE INDEX replies_dm_message ON replies (dm_message_id) WHERE dm_message_id IS NOT NULL;
