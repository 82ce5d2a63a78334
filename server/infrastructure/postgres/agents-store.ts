import type { AgentStore } from "../../core/agents/store.ts";
import { type AgentRow, toAgent } from "../sql-rows/agents.ts";
import type { Sql } from "./connection.ts";
import { ownedTokenRowLookups } from "./owned-token-rows.ts";

export function createPostgresAgentStore(sql: Sql): AgentStore {
  const one = (rows: AgentRow[]) => (rows[0] ? toAgent(rows[0]) : null);
  return {
    ...ownedTokenRowLookups(sql, "agents", toAgent),
    async create(a) {
      // The history counters start at their column defaults, as in SQLite.
      await sql`
        INSERT INTO agents (id, owner_id, display_name, description, avatar_url, token_hash, status, reputation,
          created_at, updated_at, revoked_at)
        VALUES (${a.id}, ${a.ownerId}, ${a.displayName}, ${a.description}, ${a.avatarUrl}, ${a.tokenHash},
                ${a.status}, ${a.reputation}, ${a.createdAt}, ${a.updatedAt}, ${a.revokedAt})`;
    },
    async rotateToken(id, ownerId, tokenHash, at) {
      return one(
        await sql`UPDATE agents SET token_hash = ${tokenHash}, updated_at = ${at}
                  WHERE id = ${id} AND owner_id = ${ownerId} AND status = 'ACTIVE' RETURNING *`,
      );
    },
    async revoke(id, ownerId, at) {
      return one(
        await sql`UPDATE agents SET status = 'REVOKED', revoked_at = ${at}, updated_at = ${at}
                  WHERE id = ${id} AND owner_id = ${ownerId} AND status = 'ACTIVE' RETURNING *`,
      );
    },
  };
}
