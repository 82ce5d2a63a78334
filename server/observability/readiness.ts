/**
 * `/ready`: whether this instance can serve traffic now, as opposed to
 * `/health` (the process is alive). Each dependency is a `ReadinessCheck`;
 * `createApp` adds the database and signing-key checks, `main.ts` passes the
 * others (PostgreSQL, Redis).
 *
 * Every check runs within `timeoutMs`, so a hung dependency makes the probe
 * answer 503 in time instead of hanging it. A check still running from an
 * earlier probe is joined, not started again, so a probe every second
 * against a dead database does not pile up connections.
 *
 * A check that is not `required` (Redis) reports its failure without making
 * the instance unready: 200 with `status: "degraded"`.
 *
 * The answer names the failing checks, never their error (it may hold a host
 * name or a connection string); the error goes to the log.
 *
 * @example
 * const readiness = createReadiness([{ name: "redis", check: () => redis.ping().then(() => {}) }], { logger });
 * const response = await readiness.respond(); // 200 or 503 NOT_READY with Retry-After
 */

import { failure, ok } from "../http/envelope.ts";
import type { Logger } from "../infrastructure/logger.ts";

export interface ReadinessCheck {
  /** Names the check in the answer: "database", "signing_keys", "redis". */
  name: string;
  /** Resolves when the dependency answers; rejects (or throws) when it does not. */
  check(): Promise<void>;
  /**
   * `false` for a dependency the instance degrades without (Redis: counters
   * fall back to memory, fan-out catches up): its failure is reported under
   * `degraded` with a 200, since a balancer that took every instance out of
   * rotation while Redis is down would turn a degradation into an outage.
   * Default true.
   */
  required?: boolean;
}

/** How long one check may take before it counts as failed. */
export const READINESS_TIMEOUT_MS = 2000;

/** What a load balancer is told to wait before probing again. */
export const READINESS_RETRY_AFTER_SECONDS = 5;

export type CheckOutcome = "ok" | "failed" | "timed_out";

export interface Readiness {
  /** Runs every check and answers 200 (`status: "ready"`) or 503 `NOT_READY`. */
  respond(): Promise<Response>;
}

const HEADERS = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
};

export function createReadiness(
  checks: readonly ReadinessCheck[],
  options: { logger: Logger; timeoutMs?: number },
): Readiness {
  const timeoutMs = options.timeoutMs ?? READINESS_TIMEOUT_MS;
  const running = new Map<ReadinessCheck, Promise<void>>();

  const attempt = (check: ReadinessCheck): Promise<void> => {
    let pending = running.get(check);
    if (pending === undefined) {
      pending = Promise.resolve()
        .then(() => check.check())
        .finally(() => running.delete(check));
      running.set(check, pending);
    }
    return pending;
  };

  const run = async (check: ReadinessCheck): Promise<CheckOutcome> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<CheckOutcome>((resolve) => {
      timer = setTimeout(() => resolve("timed_out"), timeoutMs);
    });
    try {
      const outcome = await Promise.race([attempt(check).then((): CheckOutcome => "ok"), timedOut]);
      if (outcome === "timed_out") {
        options.logger.warn("readiness check timed out", { check: check.name, timeout_ms: timeoutMs });
      }
      return outcome;
    } catch (error) {
      options.logger.warn("readiness check failed", { check: check.name, error: String(error) });
      return "failed";
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    async respond() {
      const outcomes = await Promise.all(checks.map(run));
      const results: Record<string, CheckOutcome> = {};
      checks.forEach((check, i) => {
        results[check.name] = outcomes[i]!;
      });
      const failing = checks.filter((check, i) => outcomes[i] !== "ok" && check.required !== false);
      if (failing.length === 0) {
        const degraded = checks.filter((_, i) => outcomes[i] !== "ok").map((check) => check.name);
        const data = { status: degraded.length === 0 ? "ready" : "degraded", checks: results, degraded };
        return new Response(JSON.stringify(ok(data)), { headers: HEADERS });
      }
      const reasons = failing.map((check) => `${check.name} ${results[check.name]!.replace("_", " ")}`);
      const body = failure("NOT_READY", `Not ready: ${reasons.join("; ")}.`, {
        failing: failing.map((check) => check.name).join(","),
        retry_after_seconds: READINESS_RETRY_AFTER_SECONDS,
      });
      return new Response(JSON.stringify(body), {
        status: 503,
        headers: { ...HEADERS, "retry-after": String(READINESS_RETRY_AFTER_SECONDS) },
      });
    },
  };
}
