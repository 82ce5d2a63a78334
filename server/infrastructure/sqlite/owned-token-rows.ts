import type { Database } from "bun:sqlite";

/**
 * The lookups the agents and sites tables share: both hold rows an owner
 * registers that authenticate with a hashed bearer token. Writes stay with
 * each store, since their rules differ (a revoked agent cannot rotate its
 * token; a suspended site can).
 */
export function ownedTokenRowLookups<Row, Entity>(
  db: Database,
  table: "agents" | "sites",
  toRecord: (row: Row) => Entity,
) {
  const byId = db.query<Row, [string]>(`SELECT * FROM ${table} WHERE id = ?`);
  const byHash = db.query<Row, [string]>(`SELECT * FROM ${table} WHERE token_hash = ?`);
  const byOwner = db.query<Row, [string]>(
    `SELECT * FROM ${table} WHERE owner_id = ? ORDER BY created_at, id`,
  );
  return {
    async findById(id: string): Promise<Entity | null> {
      const row = byId.get(id);
      return row ? toRecord(row) : null;
    },
    async findByTokenHash(tokenHash: string): Promise<Entity | null> {
      const row = byHash.get(tokenHash);
      return row ? toRecord(row) : null;
    },
    async listByOwner(ownerId: string): Promise<Entity[]> {
      return byOwner.all(ownerId).map(toRecord);
    },
  };
}
