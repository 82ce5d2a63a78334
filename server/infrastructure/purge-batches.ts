/**
 * How the periodic purges bound their work (docs/decisions/purge-and-indexes.md):
 * each statement touches at most `PURGE_BATCH` rows found by an index walk,
 * and one maintenance tick runs at most `PURGE_BATCHES_PER_TICK` of them per
 * job, so a backlog (a restart after downtime, a burst) drains over a few
 * ticks instead of holding the database in one long statement. Between two
 * batches the event loop gets a turn, so requests waiting on the same
 * SQLite connection (or pool) go first.
 */

/** Rows one purge statement touches. */
export const PURGE_BATCH = 1000;

/** Statements one job runs per tick: up to 20,000 rows a second, far above what a login rate leaves behind. */
export const PURGE_BATCHES_PER_TICK = 20;

/**
 * Runs a bounded statement until it touches fewer rows than a batch, or
 * `PURGE_BATCHES_PER_TICK` times; returns the rows touched.
 */
export async function inBatches(step: () => number | Promise<number>): Promise<number> {
  let total = 0;
  for (let batch = 0; batch < PURGE_BATCHES_PER_TICK; batch++) {
    if (batch > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const touched = await step();
    total += touched;
    if (touched < PURGE_BATCH) break;
  }
  return total;
}
