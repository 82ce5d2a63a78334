/**
 * Times are BIGINT milliseconds, and Bun's client returns BIGINT as a string
 * (so a value above 2^53 never loses digits silently); the stores convert
 * with these. Milliseconds since the epoch stay exact in a double.
 */

/** A BIGINT column as it arrives from the client. */
export type BigintColumn = string | number;

export function millis(value: BigintColumn): number {
  return Number(value);
}

export function millisOrNull(value: BigintColumn | null): number | null {
  return value === null ? null : Number(value);
}
