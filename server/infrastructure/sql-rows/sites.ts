import type { SiteRecord, SiteStatus } from "../../foundation/sites/store.ts";
import { type BigintColumn, millis } from "./millis.ts";

/** A `sites` row, as the SQLite and PostgreSQL stores read it. */
export interface SiteRow {
  id: string;
  owner_id: string;
  display_name: string;
  origin: string | null;
  token_hash: string;
  pow_difficulty: number;
  pow_difficulty_max: number | null;
  pow_surge_per_minute: number | null;
  status: string;
  created_at: BigintColumn;
  updated_at: BigintColumn;
}

export function toSite(row: SiteRow): SiteRecord {
  return {
    id: row.id,
    ownerId: row.owner_id,
    displayName: row.display_name,
    origin: row.origin,
    tokenHash: row.token_hash,
    powDifficulty: row.pow_difficulty,
    powDifficultyMax: row.pow_difficulty_max,
    powSurgePerMinute: row.pow_surge_per_minute,
    status: row.status as SiteStatus,
    createdAt: millis(row.created_at),
    updatedAt: millis(row.updated_at),
  };
}
