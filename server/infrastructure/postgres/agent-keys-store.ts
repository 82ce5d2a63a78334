import type { AgentKeyStore } from "../../modules/agent-keys/store.ts";
import { type AgentKeyRow, jwkJson, toAgentKey } from "../sql-rows/agent-keys.ts";
import type { Sql } from "./connection.ts";

/** Agent keys on PostgreSQL, behaving as the SQLite store does (sqlite/agent-keys-store.ts). */
export function createPostgresAgentKeyStore(sql: Sql): AgentKeyStore {
  const one = (rows: AgentKeyRow[]) => (rows[0] ? toAgentKey(rows[0]) : null);
  return {
    async register(key, maxActive) {
      return sql.begin(async (tx) => {
        // Registrations of one agent queue on its row, so two of them cannot both see room for one more
        // key (READ COMMITTED would let both count 4 and insert).
        await tx`SELECT id FROM agents WHERE id = ${key.agentId} FOR UPDATE`;
        const taken: unknown[] = await tx`SELECT 1 FROM agent_keys WHERE kid = ${key.kid}`;
        if (taken.length > 0) return "exists" as const;
        const [counted] = (await tx`
          SELECT COUNT(*)::int AS n FROM agent_keys
          WHERE agent_id = ${key.agentId} AND revoked_at IS NULL`) as Array<{ n: number }>;
        if (Number(counted?.n ?? 0) >= maxActive) return "limit" as const;
        // Another agent may register the same key at the same moment: the primary key settles it.
        const inserted: unknown[] = await tx`
          INSERT INTO agent_keys (kid, agent_id, owner_id, alg, jwk_json, label, created_at)
          VALUES (${key.kid}, ${key.agentId}, ${key.ownerId}, ${key.alg}, ${jwkJson(key.jwk)}, ${key.label},
                  ${key.createdAt})
          ON CONFLICT (kid) DO NOTHING RETURNING kid`;
        return inserted.length === 1 ? ("registered" as const) : ("exists" as const);
      });
    },
    async findByKid(kid) {
      return one(await sql`SELECT * FROM agent_keys WHERE kid = ${kid}`);
    },
    async listActive(agentId) {
      const rows: AgentKeyRow[] = await sql`
        SELECT * FROM agent_keys WHERE agent_id = ${agentId} AND revoked_at IS NULL
        ORDER BY created_at, kid COLLATE "C"`;
      return rows.map(toAgentKey);
    },
    async listByAgent(agentId, limit) {
      const rows: AgentKeyRow[] = await sql`
        SELECT * FROM agent_keys WHERE agent_id = ${agentId}
        ORDER BY revoked_at IS NOT NULL, created_at DESC, kid COLLATE "C" LIMIT ${limit}`;
      return rows.map(toAgentKey);
    },
    async revoke(kid, agentId, at) {
      return one(
        await sql`UPDATE agent_keys SET revoked_at = ${at}
                  WHERE kid = ${kid} AND agent_id = ${agentId} AND revoked_at IS NULL RETURNING *`,
      );
    },
    async setDirectorySignature(kid, agentId, s) {
      const rows: unknown[] = await sql`
        UPDATE agent_keys SET directory_signature_input = ${s.signatureInput},
          directory_signature = ${s.signature}, directory_signature_expires_at = ${s.expiresAt}
        WHERE kid = ${kid} AND agent_id = ${agentId} AND revoked_at IS NULL RETURNING kid`;
      return rows.length === 1;
    },
  };
}
