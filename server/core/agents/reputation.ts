/**
 * An agent's reputation: an integer 0–100 from its own login history, kept
 * on the agent row so a passport carries it without a query
 * (docs/decisions/agent-reputation.md).
 *
 *   logins      2 points per successful site login,          at most 40
 *   sites       6 points per distinct site logged into,       at most 30
 *   age         1 point per full day since registration,      at most 30
 *   rejections −5 points per recent rejected approval, where the count
 *               halves every 7 days
 *   score       logins + sites + age − rejections, rounded, within 0..100
 *
 * The counters move on the events, in the same process that handles them;
 * the score itself is recomputed by the maintenance sweep: at once (its next
 * tick) for an agent an event touched, and once a day for every active agent
 * (age grows, rejections fade), in bounded batches on an index.
 */

import { isoTime } from "../../clock.ts";
import type { DomainErrorCode } from "../../errors.ts";
import type { AgentHistory, AgentRecord } from "./store.ts";

const DAY_MS = 86_400_000;

export const REPUTATION_RULES = {
  pointsPerLogin: 2,
  maxLoginPoints: 40,
  pointsPerSite: 6,
  maxSitePoints: 30,
  pointsPerDay: 1,
  maxAgePoints: 30,
  pointsPerRejection: 5,
  rejectionHalfLifeMs: 7 * DAY_MS,
  /** A score no event touched is recomputed this often (age and fading rejections). */
  refreshEveryMs: DAY_MS,
  /** Agents recomputed per maintenance tick, at most. */
  batchSize: 500,
} as const;

/**
 * Rejections that count against an agent: refused for what the agent sent
 * (a wrong proof of work) or when it sent it (after the request expired). A
 * lost race with another approval or a suspended site is not the agent's
 * doing.
 */
const AGENT_FAULTS: ReadonlySet<DomainErrorCode> = new Set(["INVALID_POW", "REQUEST_EXPIRED"]);

export function countsAgainstAgent(code: DomainErrorCode): boolean {
  return AGENT_FAULTS.has(code);
}

/** Where the counters live; the SQLite one is server/infrastructure/sqlite/agent-reputation-store.ts. */
export interface ReputationStore {
  /** One more successful login; `siteId` joins the agent's distinct sites if new. The score becomes due. */
  recordLogin(agentId: string, siteId: string, at: number): Promise<void>;
  /** Replaces the rejection count with `next(current, countedAt)`, atomically. The score becomes due. */
  recordRejection(
    agentId: string,
    at: number,
    next: (current: number, countedAt: number) => number,
  ): Promise<void>;
  /**
   * Recomputes, atomically, up to `limit` active agents whose score is due at
   * `now` (earliest first) with `score`; returns how many it recomputed.
   */
  refreshDue(
    now: number,
    limit: number,
    score: (agent: AgentRecord) => { reputation: number; dueAt: number },
  ): Promise<number>;
}

/** The rejection count `count`, last changed at `countedAt`, as it has faded by `now`. */
export function fadedRejections(count: number, countedAt: number, now: number): number {
  if (count <= 0) return 0;
  const elapsed = Math.max(0, now - countedAt);
  return count * 0.5 ** (elapsed / REPUTATION_RULES.rejectionHalfLifeMs);
}

export interface ReputationBreakdown {
  score: number;
  ageDays: number;
  recentRejections: number;
  points: { logins: number; sites: number; age: number; rejections: number };
}

/** The formula, as a pure function of the agent's history at `now`. */
export function computeReputation(
  history: AgentHistory,
  createdAt: number,
  now: number,
): ReputationBreakdown {
  const rules = REPUTATION_RULES;
  const ageDays = Math.max(0, Math.floor((now - createdAt) / DAY_MS));
  const recentRejections = fadedRejections(history.recentRejections, history.rejectionsCountedAt, now);
  const points = {
    logins: Math.min(rules.maxLoginPoints, rules.pointsPerLogin * history.successfulLogins),
    sites: Math.min(rules.maxSitePoints, rules.pointsPerSite * history.distinctSites),
    age: Math.min(rules.maxAgePoints, rules.pointsPerDay * ageDays),
    // `0 -` rather than unary minus: no -0 when nothing counts against the agent.
    rejections: 0 - Math.round(rules.pointsPerRejection * recentRejections),
  };
  const total = points.logins + points.sites + points.age + points.rejections;
  return { score: Math.min(100, Math.max(0, total)), ageDays, recentRejections, points };
}

/** Counts one rejected approval against the agent (when `code` is its fault). */
export async function recordApprovalRejected(
  store: ReputationStore,
  agentId: string,
  code: DomainErrorCode,
  now: number,
): Promise<void> {
  if (!countsAgainstAgent(code)) return;
  await store.recordRejection(
    agentId,
    now,
    (current, countedAt) => fadedRejections(current, countedAt, now) + 1,
  );
}

/** The maintenance sweep's step: one bounded batch of due scores. */
export function refreshDueReputations(store: ReputationStore, now: number): Promise<number> {
  return store.refreshDue(now, REPUTATION_RULES.batchSize, (agent) => ({
    reputation: computeReputation(agent.history, agent.createdAt, now).score,
    dueAt: now + REPUTATION_RULES.refreshEveryMs,
  }));
}

/**
 * What the owner's agent list shows: the score passports carry now (as of
 * `computed_at`) and what it is made of at `now`. The two differ only while
 * a recomputation is due (at most a maintenance interval after an event, a
 * day for age and fading).
 */
export function presentReputation(agent: AgentRecord, now: number) {
  const breakdown = computeReputation(agent.history, agent.createdAt, now);
  const computedAt = agent.history.reputationComputedAt;
  return {
    score: agent.reputation,
    computed_at: computedAt === null ? null : isoTime(computedAt),
    successful_logins: agent.history.successfulLogins,
    distinct_sites: agent.history.distinctSites,
    age_days: breakdown.ageDays,
    recent_rejected_approvals: Math.round(breakdown.recentRejections * 100) / 100,
    points: breakdown.points,
  };
}
