import type { SiteStore } from "../../foundation/sites/store.ts";
import { type SiteRow, toSite } from "../sql-rows/sites.ts";
import type { Sql } from "./connection.ts";
import { ownedTokenRowLookups } from "./owned-token-rows.ts";

export function createPostgresSiteStore(sql: Sql): SiteStore {
  const one = (rows: SiteRow[]) => (rows[0] ? toSite(rows[0]) : null);
  return {
    ...ownedTokenRowLookups(sql, "sites", toSite),
    async create(s) {
      await sql`
        INSERT INTO sites (id, owner_id, display_name, origin, token_hash, pow_difficulty, pow_difficulty_max,
          pow_surge_per_minute, status, created_at, updated_at)
        VALUES (${s.id}, ${s.ownerId}, ${s.displayName}, ${s.origin}, ${s.tokenHash}, ${s.powDifficulty},
                ${s.powDifficultyMax}, ${s.powSurgePerMinute}, ${s.status}, ${s.createdAt}, ${s.updatedAt})`;
    },
    async rotateToken(id, ownerId, tokenHash, at) {
      return one(
        await sql`UPDATE sites SET token_hash = ${tokenHash}, updated_at = ${at}
                  WHERE id = ${id} AND owner_id = ${ownerId} RETURNING *`,
      );
    },
    async setStatus(id, ownerId, status, at) {
      return one(
        await sql`UPDATE sites SET status = ${status}, updated_at = ${at}
                  WHERE id = ${id} AND owner_id = ${ownerId} RETURNING *`,
      );
    },
    async update(id, ownerId, patch, at) {
      // A field left out of the patch keeps its value; origin and the policy's optional fields can be set
      // to null, hence the flags.
      return one(
        await sql`UPDATE sites SET
                    display_name = COALESCE(${patch.displayName ?? null}, display_name),
                    origin = CASE WHEN ${patch.origin !== undefined} THEN ${patch.origin ?? null} ELSE origin END,
                    pow_difficulty = COALESCE(${patch.powDifficulty ?? null}, pow_difficulty),
                    pow_difficulty_max = CASE WHEN ${patch.powDifficultyMax !== undefined}
                      THEN ${patch.powDifficultyMax ?? null}::integer ELSE pow_difficulty_max END,
                    pow_surge_per_minute = CASE WHEN ${patch.powSurgePerMinute !== undefined}
                      THEN ${patch.powSurgePerMinute ?? null}::integer ELSE pow_surge_per_minute END,
                    updated_at = ${at}
                  WHERE id = ${id} AND owner_id = ${ownerId} RETURNING *`,
      );
    },
    async delete(id, ownerId) {
      return (await sql`DELETE FROM sites WHERE id = ${id} AND owner_id = ${ownerId}`).count === 1;
    },
  };
}
