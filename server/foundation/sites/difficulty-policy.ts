/**
 * A site's proof-of-work policy and the difficulty it assigns: the floor
 * (`pow_difficulty`, as LIME's clients read and set it), plus one bit per
 * doubling of the site's login-request rate above its surge rate, plus bits
 * for the failures of the address the challenge is shown to, never above the
 * ceiling. Pure functions: the signals they read are counted elsewhere
 * (server/modules/adaptive-difficulty/). Why this shape:
 * docs/decisions/adaptive-difficulty.md.
 *
 * @example
 * const policy = difficultyPolicy({ powDifficulty: 15, powDifficultyMax: null, powSurgePerMinute: null });
 * assignDifficulty(policy, 120).difficulty; // 17: 120/min is two doublings above 30/min
 */

import type { SiteRecord } from "./store.ts";

/** The largest difficulty a site may ask for (the API's bound on `pow_difficulty`). */
export const MAX_SITE_POW_DIFFICULTY = 32;

/** A site without its own ceiling may rise this many bits above its floor (16× the work at most). */
export const DEFAULT_CEILING_HEADROOM = 4;

/** A site without its own surge rate keeps its floor up to this many login requests a minute. */
export const DEFAULT_SURGE_PER_MINUTE = 30;

export interface DifficultyPolicy {
  floor: number;
  /** Never below the floor. */
  ceiling: number;
  /** Login requests per minute the site treats as ordinary traffic. */
  surgePerMinute: number;
}

export type PolicyFields = Pick<SiteRecord, "powDifficulty" | "powDifficultyMax" | "powSurgePerMinute">;

/** The ceiling a site gets when it sets none: the floor plus the default headroom, within the API's bound. */
export function defaultCeiling(floor: number): number {
  return Math.max(floor, Math.min(floor + DEFAULT_CEILING_HEADROOM, MAX_SITE_POW_DIFFICULTY));
}

/**
 * The site's policy with its defaults filled in. A floor raised above an
 * explicit ceiling lifts the ceiling with it (LIME's clients set only the
 * floor, and must never be refused for it): such a site stays at its floor.
 */
export function difficultyPolicy(site: PolicyFields): DifficultyPolicy {
  const floor = site.powDifficulty;
  const ceiling =
    site.powDifficultyMax === null ? defaultCeiling(floor) : Math.max(floor, site.powDifficultyMax);
  return { floor, ceiling, surgePerMinute: site.powSurgePerMinute ?? DEFAULT_SURGE_PER_MINUTE };
}

/** Bits for the site's load: none up to the surge rate, then one per doubling above it (so 2× → 1, 4× → 2). */
export function loadRaise(loadPerMinute: number, surgePerMinute: number): number {
  if (!(loadPerMinute > surgePerMinute)) return 0;
  return Math.ceil(Math.log2(loadPerMinute / surgePerMinute));
}

/** Bits for an address's recent failures (a decayed count): 1 failure → 1, 3 → 2, 7 → 3; 0 once they fade below ~0.41. */
export function failureRaise(failures: number): number {
  if (!(failures > 0)) return 0;
  return Math.round(Math.log2(1 + failures));
}

/** The difficulty a new login request of the site gets, from the site's load alone (the agent is not known yet). */
export function assignDifficulty(
  policy: DifficultyPolicy,
  loadPerMinute: number,
): { difficulty: number; raisedBy: number } {
  const difficulty = Math.min(policy.ceiling, policy.floor + loadRaise(loadPerMinute, policy.surgePerMinute));
  return { difficulty, raisedBy: difficulty - policy.floor };
}

/**
 * The difficulty a request's challenge is shown at, the first time it is
 * fetched: its difficulty so far, raised for the fetching address's failures,
 * within the ceiling. Never lower than it was (the ceiling may have been
 * lowered since the request was opened).
 */
export function raiseForFailures(
  policy: DifficultyPolicy,
  current: number,
  failures: number,
): { difficulty: number; raisedBy: number } {
  const difficulty = Math.max(current, Math.min(policy.ceiling, current + failureRaise(failures)));
  return { difficulty, raisedBy: difficulty - current };
}
