import type { Sql } from "./connection.ts";

/**
 * The lookups the agents and sites tables share: both hold rows an owner
 * registers that authenticate with a hashed bearer token. Writes stay with
 * each store, since their rules differ (a revoked agent cannot rotate its
 * token; a suspended site can).
 */
export function ownedTokenRowLookups<Row, Entity>(
  sql: Sql,
  table: "agents" | "sites",
  toRecord: (row: Row) => Entity,
) {
  return {
    async findById(id: string): Promise<Entity | null> {
      const [row]: Row[] = await sql`SELECT * FROM ${sql(table)} WHERE id = ${id}`;
      return row ? toRecord(row) : null;
    },
    async findByTokenHash(tokenHash: string): Promise<Entity | null> {
      const [row]: Row[] = await sql`SELECT * FROM ${sql(table)} WHERE token_hash = ${tokenHash}`;
      return row ? toRecord(row) : null;
    },
    async listByOwner(ownerId: string): Promise<Entity[]> {
      // "C" orders the tiebreak by bytes, as SQLite's BINARY collation does, whatever the database's locale.
      const rows: Row[] = await sql`SELECT * FROM ${sql(table)} WHERE owner_id = ${ownerId}
                                    ORDER BY created_at, id COLLATE "C"`;
      return rows.map(toRecord);
    },
  };
}
