import type { SiteRecord, SiteStatus, SiteStore } from "../../foundation/sites/store.ts";
import type { Sql } from "./connection.ts";
import { type BigintColumn, millis } from "./millis.ts";
import { ownedTokenRowLookups } from "./owned-token-rows.ts";

interface SiteRow {
  id: string;
  owner_id: string;
  display_name: string;
  origin: string | null;
  token_hash: string;
  pow_difficulty: number;
  status: string;
  created_at: BigintColumn;
  updated_at: BigintColumn;
}

function toSite(row: SiteRow): SiteRecord {
  return {
    id: row.id,
    ownerId: row.owner_id,
    displayName: row.display_name,
    origin: row.origin,
    tokenHash: row.token_hash,
    powDifficulty: row.pow_difficulty,
    status: row.status as SiteStatus,
    createdAt: millis(row.created_at),
    updatedAt: millis(row.updated_at),
  };
}

export function createPostgresSiteStore(sql: Sql): SiteStore {
  const one = (rows: SiteRow[]) => (rows[0] ? toSite(rows[0]) : null);
  return {
    ...ownedTokenRowLookups(sql, "sites", toSite),
    async create(s) {
      await sql`
        INSERT INTO sites (id, owner_id, display_name, origin, token_hash, pow_difficulty, status, created_at,
          updated_at)
        VALUES (${s.id}, ${s.ownerId}, ${s.displayName}, ${s.origin}, ${s.tokenHash}, ${s.powDifficulty},
                ${s.status}, ${s.createdAt}, ${s.updatedAt})`;
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
      // A field left out of the patch keeps its value; origin alone can be set to null, hence the flag.
      return one(
        await sql`UPDATE sites SET
                    display_name = COALESCE(${patch.displayName ?? null}, display_name),
                    origin = CASE WHEN ${patch.origin !== undefined} THEN ${patch.origin ?? null} ELSE origin END,
                    pow_difficulty = COALESCE(${patch.powDifficulty ?? null}, pow_difficulty),
                    updated_at = ${at}
                  WHERE id = ${id} AND owner_id = ${ownerId} RETURNING *`,
      );
    },
    async delete(id, ownerId) {
      return (await sql`DELETE FROM sites WHERE id = ${id} AND owner_id = ${ownerId}`).count === 1;
    },
  };
}
