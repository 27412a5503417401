-- Ids never come to name another row (issue 16, kind 4). On SQLite this
-- migration rebuilds every table with a generated id with AUTOINCREMENT, so
-- a deleted row's id is never handed out again. PostgreSQL's identity
-- sequences never hand out a value twice already: nothing to change here;
-- the migration exists so both backends keep the same numbers.
SELECT 1;
