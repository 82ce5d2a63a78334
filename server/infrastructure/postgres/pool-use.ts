import type { Sql } from "./connection.ts";

/** What `/metrics` shows of the pool: connections busy now and the size. */
export interface PoolUse {
  inUse: number;
  max: number;
}

/**
 * Bun's client keeps its pool to itself, so the pool's use is counted at the
 * door: each query and each transaction holds one connection from the moment
 * it is issued until it settles. Queued work counts too, so the figure can
 * exceed the pool size, which is what a saturated pool looks like.
 */
export function countPoolUse(sql: Sql, max: number): { sql: Sql; use(): PoolUse } {
  let inUse = 0;
  const track = <T>(work: T): T => {
    if (typeof (work as { then?: unknown } | null)?.then !== "function") return work;
    inUse += 1;
    const done = () => {
      inUse -= 1;
    };
    (work as unknown as Promise<unknown>).then(done, done);
    return work;
  };
  const counted = new Proxy(sql, {
    // sql`…` and sql.unsafe(…) are queries; sql(value) builds a fragment (an identifier, a list), not a query.
    apply(target, thisArg, args: unknown[]) {
      const result = Reflect.apply(target as unknown as (...a: unknown[]) => unknown, thisArg, args);
      const isTemplate = Array.isArray(args[0]) && "raw" in (args[0] as object);
      return isTemplate ? track(result) : result;
    },
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if ((property === "begin" || property === "unsafe") && typeof value === "function") {
        return (...args: unknown[]) => track(value.apply(target, args));
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { sql: counted, use: () => ({ inUse, max }) };
}
