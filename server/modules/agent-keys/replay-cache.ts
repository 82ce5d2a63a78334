/**
 * The key proofs' `jti`s seen recently, per instance, in memory
 * (docs/decisions/agent-keys.md says why not shared): a proof is accepted
 * while its `iat` is within 60 s of now, so its `jti` is remembered until
 * then and forgotten after. Bounded: a full cache, once lapsed entries are
 * swept, refuses new proofs rather than forgetting live ones, which would
 * let a replay through (fail closed; every route that takes a proof is
 * rate limited per agent, so one agent cannot fill it alone).
 */

export type ProofSighting = "fresh" | "replayed" | "full";

export interface ProofReplayCache {
  /** Notes `jti` of the key `kid` until `until` (epoch ms): "fresh" the first time, "replayed" after. */
  sight(kid: string, jti: string, until: number, now: number): ProofSighting;
  /** Live entries (for tests and the bound's documentation). */
  size(now: number): number;
}

/** Far above the rate limits' steady state (10 registrations and 60 passports or approvals per agent per minute). */
export const DEFAULT_REPLAY_CACHE_ENTRIES = 100_000;

export function createProofReplayCache(maxEntries = DEFAULT_REPLAY_CACHE_ENTRIES): ProofReplayCache {
  // Insertion order is nearly expiry order (`until` is iat + 61 s and iat is within a minute of now),
  // so lapsed entries are dropped from the front, and a full sweep runs only when the cache is full.
  const seen = new Map<string, number>();
  const dropLapsedFront = (now: number) => {
    for (const [key, until] of seen) {
      if (until > now) return;
      seen.delete(key);
    }
  };
  const sweep = (now: number) => {
    for (const [key, until] of seen) if (until <= now) seen.delete(key);
  };
  return {
    sight(kid, jti, until, now) {
      dropLapsedFront(now);
      // A space cannot occur in a thumbprint, so the pair cannot be forged by another key's jti.
      const key = `${kid} ${jti}`;
      const known = seen.get(key);
      if (known !== undefined && known > now) return "replayed";
      if (seen.size >= maxEntries) sweep(now);
      if (seen.size >= maxEntries) return "full";
      seen.set(key, until);
      return "fresh";
    },
    size(now) {
      sweep(now);
      return seen.size;
    },
  };
}
