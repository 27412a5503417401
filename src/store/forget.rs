//! What `/forget-me` and `trellis forget-user` delete: every row about one
//! person, table by table, and (for the tests) the count of such rows left.

use super::failure::Result;

use super::handle::Store;
use crate::domain::UserId;

impl Store {
    /// Deletes every row about `user_id`, in one transaction: what
    /// `/forget-me` and `trellis forget-user` do: their answers, ledger,
    /// memberships, Staff path, recorded refusals of their DMs, and every note
    /// written by or about them (with the history of each). Returns the rows
    /// deleted per table, in the order deleted (every table is listed, 0 included).
    pub async fn forget_user(&self, user_id: UserId) -> Result<Vec<(&'static str, u64)>> {
        // Notes before the replies they hang on; `$1` is the user's id.
        const DELETES: [(&str, &str); 16] = [
            ("note_edits", "DELETE FROM note_edits WHERE member_user_id = $1 OR author_user_id = $1"),
            ("notes", "DELETE FROM notes WHERE member_user_id = $1 OR author_user_id = $1"),
            ("path_step_edits", "DELETE FROM path_step_edits WHERE user_id = $1"),
            ("path_steps", "DELETE FROM path_steps WHERE user_id = $1"),
            ("path_project_edits", "DELETE FROM path_project_edits WHERE user_id = $1"),
            ("path_projects", "DELETE FROM path_projects WHERE user_id = $1"),
            ("reply_edits", "DELETE FROM reply_edits WHERE user_id = $1"),
            ("replies", "DELETE FROM replies WHERE user_id = $1"),
            ("impact_entries", "DELETE FROM impact_entries WHERE user_id = $1"),
            ("reminders", "DELETE FROM reminders WHERE user_id = $1"),
            ("pauses", "DELETE FROM pauses WHERE user_id = $1"),
            ("members", "DELETE FROM members WHERE user_id = $1"),
            ("dm_channels", "DELETE FROM dm_channels WHERE user_id = $1"),
            (
                "delivery_failures",
                "DELETE FROM delivery_failures WHERE target_kind IN ('member_dm', 'guild_member') AND target_id = $1",
            ),
            // Their desk: signed out everywhere, links dead. (The search
            // index follows the rows above through its triggers.)
            ("desk_sessions", "DELETE FROM desk_sessions WHERE user_id = $1"),
            ("desk_links", "DELETE FROM desk_links WHERE user_id = $1"),
        ];
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            let mut deleted = Vec::with_capacity(DELETES.len());
            for (table, sql) in DELETES {
                deleted.push((table, sqlx::query(sql).bind(user_id).execute(&mut *tx).await?.rows_affected()));
            }
            tx.commit().await?;
            Ok(deleted)
        })
    }

    /// Rows in each table that mention `user_id` (for forget-me checks).
    #[cfg(any(test, feature = "test-util"))]
    pub async fn rows_mentioning_user(&self, user_id: UserId) -> Result<Vec<(&'static str, i64)>> {
        const COUNTS: [(&str, &str); 16] = [
            ("members", "SELECT COUNT(*) FROM members WHERE user_id = $1"),
            ("pauses", "SELECT COUNT(*) FROM pauses WHERE user_id = $1"),
            ("replies", "SELECT COUNT(*) FROM replies WHERE user_id = $1"),
            ("reply_edits", "SELECT COUNT(*) FROM reply_edits WHERE user_id = $1"),
            ("impact_entries", "SELECT COUNT(*) FROM impact_entries WHERE user_id = $1"),
            ("reminders", "SELECT COUNT(*) FROM reminders WHERE user_id = $1"),
            (
                "delivery_failures",
                "SELECT COUNT(*) FROM delivery_failures WHERE target_kind IN ('member_dm', 'guild_member') \
                 AND target_id = $1",
            ),
            ("path_projects", "SELECT COUNT(*) FROM path_projects WHERE user_id = $1"),
            ("path_project_edits", "SELECT COUNT(*) FROM path_project_edits WHERE user_id = $1"),
            ("path_steps", "SELECT COUNT(*) FROM path_steps WHERE user_id = $1"),
            ("path_step_edits", "SELECT COUNT(*) FROM path_step_edits WHERE user_id = $1"),
            ("dm_channels", "SELECT COUNT(*) FROM dm_channels WHERE user_id = $1"),
            // Notes name two users: the member they are about and the mentor who wrote them.
            ("notes", "SELECT COUNT(*) FROM notes WHERE member_user_id = $1 OR author_user_id = $1"),
            ("note_edits", "SELECT COUNT(*) FROM note_edits WHERE member_user_id = $1 OR author_user_id = $1"),
            ("desk_sessions", "SELECT COUNT(*) FROM desk_sessions WHERE user_id = $1"),
            ("desk_links", "SELECT COUNT(*) FROM desk_links WHERE user_id = $1"),
        ];
        on_db!(&self.db, |pool| {
            let mut out = Vec::with_capacity(COUNTS.len());
            for (table, sql) in COUNTS {
                let (count,): (i64,) = sqlx::query_as(sql).bind(user_id).fetch_one(pool).await?;
                out.push((table, count));
            }
            // The search index, whichever form it has here.
            let sql = self.backend().pick(
                "SELECT COUNT(*) FROM search_fts WHERE user_id = $1",
                "SELECT COUNT(*) FROM search_docs WHERE user_id = $1",
            );
            let (count,): (i64,) = sqlx::query_as(sql).bind(user_id).fetch_one(pool).await?;
            out.push(("search index", count));
            Ok(out)
        })
    }
}
