-- The DM message that holds a member's answer, so that editing that DM
-- (MESSAGE_UPDATE) edits the answer. NULL for answers given in the form, and
-- cleared when a form or a newer DM replaces a DM answer: only the DM that
-- currently holds the answer may change it. Discord message ids are unique
-- across channels, so one DM holds at most one answer.
ALTER TABLE replies ADD COLUMN dm_message_id INTEGER;
CREATE UNIQUE INDEX replies_dm_message ON replies (dm_message_id) WHERE dm_message_id IS NOT NULL;
