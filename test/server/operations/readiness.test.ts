/**
 * `/ready` (server/observability/readiness.ts): 200 when the database, the
 * signing keys and every injected check answer; otherwise 503 NOT_READY with
 * Retry-After, naming the failing check, and in bounded time when a check
 * hangs. `/health` stays the liveness probe whatever `/ready` says.
 */

import { describe, expect, test } from "bun:test";
import type { ReadinessCheck } from "../../../server/observability/readiness.ts";
import { withTestServer } from "../helpers.ts";
import { capturingLogger } from "../redis/support.ts";

const failing = (name: string, message: string): ReadinessCheck => ({
  name,
  check: async () => {
    throw new Error(message);
  },
});

describe("/ready", () => {
  test("answers 200 with every check ok: the SQLite database and the signing keys", async () => {
    await withTestServer({}, async (t) => {
      const response = await fetch(`${t.url}/ready`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        ok: true,
        data: { status: "ready", checks: { database: "ok", signing_keys: "ok" }, degraded: [] },
      });
    });
  });

  test("a failing check that is not required (Redis) leaves it ready: 200, status degraded, named", async () => {
    const readiness = [{ ...failing("redis", "connect ECONNREFUSED"), required: false }];
    await withTestServer({ extra: { readiness } }, async (t) => {
      const response = await fetch(`${t.url}/ready`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        ok: true,
        data: {
          status: "degraded",
          checks: { database: "ok", signing_keys: "ok", redis: "failed" },
          degraded: ["redis"],
        },
      });
    });
  });

  test("a failing injected check makes it 503 NOT_READY with Retry-After, naming the check but not its error", async () => {
    const logger = capturingLogger();
    const readiness = [
      failing("redis", "connect ECONNREFUSED redis.internal.example:6379"),
      { name: "queue", check: async () => {} },
    ];
    await withTestServer({ logger, extra: { readiness } }, async (t) => {
      const response = await fetch(`${t.url}/ready`);
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("5");
      expect(response.headers.get("content-type")).toStartWith("application/json");
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({
        ok: false,
        error: {
          code: "NOT_READY",
          message: "Not ready: redis failed.",
          detail: { failing: "redis", retry_after_seconds: 5 },
        },
      });
      expect(text).not.toContain("redis.internal.example");
      // The operator learns why from the log.
      const logged = logger.entries.find((entry) => entry.message === "readiness check failed");
      expect(logged?.fields).toMatchObject({ check: "redis" });
      expect(String(logged?.fields?.error)).toContain("ECONNREFUSED");
      // Liveness is not readiness.
      expect((await fetch(`${t.url}/health`)).status).toBe(200);
    });
  });

  test("a check that never settles is cut at the timeout and joined, not restarted, by the next probe", async () => {
    let started = 0;
    const hung: ReadinessCheck = {
      name: "postgres",
      check: () => {
        started += 1;
        return new Promise<void>(() => {});
      },
    };
    await withTestServer({ extra: { readiness: [hung], readinessTimeoutMs: 100 } }, async (t) => {
      for (let probe = 0; probe < 2; probe++) {
        const response = await fetch(`${t.url}/ready`);
        expect(response.status).toBe(503);
        const body = await response.json();
        expect(body.error.detail.failing).toBe("postgres");
        expect(body.error.message).toBe("Not ready: postgres timed out.");
      }
      expect(started).toBe(1);
    });
  });

  test("the built-in database check runs SELECT 1 on the SQLite database: a closed database is not ready", async () => {
    await withTestServer({}, async (t) => {
      t.db.close();
      const response = await fetch(`${t.url}/ready`);
      expect(response.status).toBe(503);
      expect((await response.json()).error.detail.failing).toBe("database");
    });
  });

  test("an injected check named database replaces the SQLite one", async () => {
    let asked = 0;
    const database: ReadinessCheck = {
      name: "database",
      check: async () => {
        asked += 1;
      },
    };
    await withTestServer({ extra: { readiness: [database] } }, async (t) => {
      t.db.close();
      const response = await fetch(`${t.url}/ready`);
      expect(response.status).toBe(200);
      expect((await response.json()).data.checks).toEqual({ signing_keys: "ok", database: "ok" });
      expect(asked).toBe(1);
    });
  });

  test("several failing checks are all named", async () => {
    const readiness = [failing("redis", "down"), failing("postgres", "down")];
    await withTestServer({ extra: { readiness } }, async (t) => {
      const body = await (await fetch(`${t.url}/ready`)).json();
      expect(body.error.detail.failing).toBe("redis,postgres");
    });
  });
});
