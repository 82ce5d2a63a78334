/**
 * Times are integer milliseconds (INTEGER in SQLite, BIGINT in PostgreSQL).
 * bun:sqlite returns them as numbers; Bun's PostgreSQL client returns BIGINT
 * as a string (so a value above 2^53 never loses digits silently). The row
 * mappers, shared by both stores, convert with these. Milliseconds since the
 * epoch stay exact in a double.
 */

/** An integer column as it arrives from either client. */
export type BigintColumn = string | number;

export function millis(value: BigintColumn): number {
  return Number(value);
}

export function millisOrNull(value: BigintColumn | null): number | null {
  return value === null ? null : Number(value);
}
