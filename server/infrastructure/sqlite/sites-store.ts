import type { Database } from "bun:sqlite";
import type { SiteStore } from "../../foundation/sites/store.ts";
import { type SiteRow, toSite } from "../sql-rows/sites.ts";
import { ownedTokenRowLookups } from "./owned-token-rows.ts";

export function createSqliteSiteStore(db: Database): SiteStore {
  const insert = db.query(
    `INSERT INTO sites (id, owner_id, display_name, origin, token_hash, pow_difficulty, pow_difficulty_max,
       pow_surge_per_minute, status, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const rotate = db.query<SiteRow, [string, number, string, string]>(
    "UPDATE sites SET token_hash = ?, updated_at = ? WHERE id = ? AND owner_id = ? RETURNING *",
  );
  const setStatus = db.query<SiteRow, [string, number, string, string]>(
    "UPDATE sites SET status = ?, updated_at = ? WHERE id = ? AND owner_id = ? RETURNING *",
  );
  const update = db.query<
    SiteRow,
    [
      string | null,
      number,
      string | null,
      number | null,
      number,
      string,
      string,
      number,
      number | null,
      number,
      number | null,
    ]
  >(
    `UPDATE sites SET
       display_name = COALESCE(?1, display_name),
       origin = CASE WHEN ?2 = 1 THEN ?3 ELSE origin END,
       pow_difficulty = COALESCE(?4, pow_difficulty),
       pow_difficulty_max = CASE WHEN ?8 = 1 THEN ?9 ELSE pow_difficulty_max END,
       pow_surge_per_minute = CASE WHEN ?10 = 1 THEN ?11 ELSE pow_surge_per_minute END,
       updated_at = ?5
     WHERE id = ?6 AND owner_id = ?7 RETURNING *`,
  );
  const remove = db.query("DELETE FROM sites WHERE id = ? AND owner_id = ?");
  return {
    ...ownedTokenRowLookups(db, "sites", toSite),
    async create(s) {
      insert.run(
        s.id,
        s.ownerId,
        s.displayName,
        s.origin,
        s.tokenHash,
        s.powDifficulty,
        s.powDifficultyMax,
        s.powSurgePerMinute,
        s.status,
        s.createdAt,
        s.updatedAt,
      );
    },
    async rotateToken(id, ownerId, tokenHash, at) {
      const row = rotate.get(tokenHash, at, id, ownerId);
      return row ? toSite(row) : null;
    },
    async setStatus(id, ownerId, status, at) {
      const row = setStatus.get(status, at, id, ownerId);
      return row ? toSite(row) : null;
    },
    async update(id, ownerId, patch, at) {
      const row = update.get(
        patch.displayName ?? null,
        patch.origin === undefined ? 0 : 1,
        patch.origin ?? null,
        patch.powDifficulty ?? null,
        at,
        id,
        ownerId,
        // Like origin, these can be set to null (back to the default), hence the flags.
        patch.powDifficultyMax === undefined ? 0 : 1,
        patch.powDifficultyMax ?? null,
        patch.powSurgePerMinute === undefined ? 0 : 1,
        patch.powSurgePerMinute ?? null,
      );
      return row ? toSite(row) : null;
    },
    async delete(id, ownerId) {
      return remove.run(id, ownerId).changes === 1;
    },
  };
}
