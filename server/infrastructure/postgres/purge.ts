import { inBatches, PURGE_BATCH } from "../purge-batches.ts";
import type { Sql } from "./connection.ts";

// Rows per statement and statements per tick are shared with SQLite (../purge-batches.ts).
export { inBatches, PURGE_BATCH };

/** The tables purged by expiry, and the key each batch's rows are found by (`ctid` for a composite key). */
type Lapsing =
  | ["login_outcomes", "id"]
  | ["oauth_authorization_requests", "id"]
  | ["oauth_codes", "code_hash"]
  | ["oauth_access_tokens", "jti"]
  | ["oauth_refresh_tokens", "token_hash"]
  | ["oauth_assertion_ids", "ctid"];

/**
 * Deletes the rows of a table whose `expires_at` is at or before `now`,
 * oldest first, a batch per statement. Each batch takes its keys from a walk
 * of the table's expiry index, and `= ANY(ARRAY(…))` makes the delete itself
 * a key lookup rather than a join the planner may turn into a scan of the
 * table (a `ctid` is read and used within one statement, so it is stable).
 */
export async function deleteLapsed(sql: Sql, [table, key]: Lapsing, now: number): Promise<number> {
  return inBatches(async () => {
    const result = await sql`
      DELETE FROM ${sql(table)}
      WHERE ${sql(key)} = ANY(ARRAY(SELECT ${sql(key)} FROM ${sql(table)} WHERE expires_at <= ${now}
                                    ORDER BY expires_at LIMIT ${PURGE_BATCH}))`;
    return result.count;
  });
}
