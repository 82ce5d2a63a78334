/**
 * Credential re-checks shared by the streams that would ask the same thing
 * at the same moment.
 *
 * Every stream re-checks its site token before each write. One outcome to a
 * site with 250 streams, or a keepalive tick, would otherwise ask the
 * database the same question 250 times at once. Streams of one site opened
 * with the same token get the same answer, so they share one check in
 * flight: the first asks, the others wait for its answer.
 *
 * A write only joins a check that started after the write was queued, so
 * the answer is never older than what it guards: a token rotated away before
 * an outcome arrived still ends the stream instead of letting it through on
 * an answer read before the rotation.
 */

export interface SharedChecks<T> {
  /** A ticket for a write queued now: the checks it may join start after it. */
  ticket(): number;
  /** The answer of `check` for `key`, from a check in flight started after `ticket`, or a new one. */
  run(key: string, ticket: number, check: () => Promise<T>): Promise<T>;
  /** Checks in flight (for tests). */
  inFlight(): number;
}

export function createSharedChecks<T>(): SharedChecks<T> {
  const running = new Map<string, { startedAt: number; answer: Promise<T> }>();
  let clock = 0;
  return {
    ticket: () => ++clock,
    run(key, ticket, check) {
      const current = running.get(key);
      if (current !== undefined && current.startedAt > ticket) return current.answer;
      const entry = { startedAt: ++clock, answer: check() };
      running.set(key, entry);
      const forget = () => {
        if (running.get(key) === entry) running.delete(key);
      };
      entry.answer.then(forget, forget);
      return entry.answer;
    },
    inFlight: () => running.size,
  };
}
