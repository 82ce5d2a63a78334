/**
 * Interleaved rounds, so a gate judges the code and not the machine.
 *
 * On a shared machine a neighbour can take the CPU for a while; a subject
 * measured in one block can lose a whole measurement to it, and a ratio of two
 * blocks then flips with the neighbour's mood. Here every subject is measured
 * once per round, in an order that rotates between rounds, so the two sides of
 * a ratio are always measured close together in time; and each subject keeps
 * its best round. A neighbour only ever slows a measurement down,
 * so the best round of each is the closest to what the code itself does.
 */

/** One measurement of a subject (a rate, a latency percentile, ...). */
export type Measurement<T = number> = () => T | Promise<T>;

/** Every subject's result in every round, in round order. */
export async function interleavedRounds<K extends string, T = number>(
  rounds: number,
  subjects: Record<K, Measurement<T>>,
): Promise<Record<K, T[]>> {
  const names = Object.keys(subjects) as K[];
  const results = Object.fromEntries(names.map((name) => [name, [] as T[]])) as Record<K, T[]>;
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length]!;
      results[name].push(await subjects[name]());
    }
  }
  return results;
}

/** The best round of a rate (higher is better). */
export function bestRate(results: readonly number[]): number {
  return Math.max(...results);
}

/** The best round of a latency (lower is better). */
export function bestLatency(results: readonly number[]): number {
  return Math.min(...results);
}
