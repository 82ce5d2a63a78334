import type { Database } from "bun:sqlite";
import type { AgentKeyStore } from "../../modules/agent-keys/store.ts";
import { type AgentKeyRow, jwkJson, toAgentKey } from "../sql-rows/agent-keys.ts";

export function createSqliteAgentKeyStore(db: Database): AgentKeyStore {
  // One statement: SQLite runs it under the write lock, so the count and the insert cannot interleave
  // with another registration, in this process or another sharing the file.
  const insert = db.query(
    `INSERT INTO agent_keys (kid, agent_id, owner_id, alg, jwk_json, label, created_at)
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7
     WHERE (SELECT COUNT(*) FROM agent_keys WHERE agent_id = ?2 AND revoked_at IS NULL) < ?8
     ON CONFLICT (kid) DO NOTHING`,
  );
  const byKid = db.query<AgentKeyRow, [string]>("SELECT * FROM agent_keys WHERE kid = ?");
  const active = db.query<AgentKeyRow, [string]>(
    "SELECT * FROM agent_keys WHERE agent_id = ? AND revoked_at IS NULL ORDER BY created_at, kid",
  );
  const byAgent = db.query<AgentKeyRow, [string, number]>(
    `SELECT * FROM agent_keys WHERE agent_id = ?
     ORDER BY revoked_at IS NOT NULL, created_at DESC, kid LIMIT ?`,
  );
  const revoke = db.query<AgentKeyRow, [number, string, string]>(
    "UPDATE agent_keys SET revoked_at = ? WHERE kid = ? AND agent_id = ? AND revoked_at IS NULL RETURNING *",
  );
  const sign = db.query(
    `UPDATE agent_keys SET directory_signature_input = ?, directory_signature = ?, directory_signature_expires_at = ?
     WHERE kid = ? AND agent_id = ? AND revoked_at IS NULL`,
  );
  return {
    async register(key, maxActive) {
      const { changes } = insert.run(
        key.kid,
        key.agentId,
        key.ownerId,
        key.alg,
        jwkJson(key.jwk),
        key.label,
        key.createdAt,
        maxActive,
      );
      if (changes === 1) return "registered";
      return byKid.get(key.kid) ? "exists" : "limit";
    },
    async findByKid(kid) {
      const row = byKid.get(kid);
      return row ? toAgentKey(row) : null;
    },
    async listActive(agentId) {
      return active.all(agentId).map(toAgentKey);
    },
    async listByAgent(agentId, limit) {
      return byAgent.all(agentId, limit).map(toAgentKey);
    },
    async revoke(kid, agentId, at) {
      const row = revoke.get(at, kid, agentId);
      return row ? toAgentKey(row) : null;
    },
    async setDirectorySignature(kid, agentId, s) {
      return sign.run(s.signatureInput, s.signature, s.expiresAt, kid, agentId).changes === 1;
    },
  };
}
