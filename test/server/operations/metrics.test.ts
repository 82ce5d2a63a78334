/**
 * `/metrics` (server/observability/): off the public port unless
 * METRICS_TOKEN is set, then behind that Bearer token; on the operations
 * listener (METRICS_PORT) with `/ready` and nothing else. The counters move
 * with a real agent login over HTTP, and each app counts in its own registry.
 */

import { describe, expect, test } from "bun:test";
import { FakeClock } from "../../../server/testing.ts";
import { api, SseClient, startProvisioned, withTestServer } from "../helpers.ts";
import { createLoginRequest, loginWithOneWrongNonce, METRICS_TOKEN, sample, scrape } from "./support.ts";

const WITH_TOKEN = { metrics: { token: METRICS_TOKEN, port: null, host: "127.0.0.1" } };

describe("who may read /metrics", () => {
  test("without METRICS_TOKEN or METRICS_PORT it does not exist: 404 NOT_FOUND, as an unknown route", async () => {
    await withTestServer({}, async (t) => {
      const asked: Record<string, string>[] = [{}, { authorization: `Bearer ${METRICS_TOKEN}` }];
      for (const headers of asked) {
        const response = await fetch(`${t.url}/metrics`, { headers });
        expect(response.status).toBe(404);
        expect((await response.json()).error.code).toBe("NOT_FOUND");
      }
    });
  });

  test("with METRICS_TOKEN: 401 without it or with a wrong one, 200 Prometheus text with it", async () => {
    await withTestServer({ config: WITH_TOKEN }, async (t) => {
      for (const authorization of [
        null,
        `Bearer ${"x".repeat(40)}`,
        `Bearer ${METRICS_TOKEN}x`,
        METRICS_TOKEN,
      ]) {
        const response = await fetch(`${t.url}/metrics`, {
          headers: authorization === null ? {} : { authorization },
        });
        expect(response.status).toBe(401);
        expect(response.headers.get("www-authenticate")).toBe('Bearer realm="lime-metrics"');
        expect((await response.json()).error.code).toBe("METRICS_TOKEN_INVALID");
      }
      const response = await fetch(`${t.url}/metrics`, {
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
      const text = await response.text();
      expect(text).toContain("# TYPE lime_http_request_duration_seconds histogram");
      expect(sample(text, "lime_login_requests_created_total")).toBe(0);
      // Process metrics ride along in the same scrape.
      expect(sample(text, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
      // No pool supplier on SQLite: no pool series.
      expect(text).not.toContain("lime_database_pool");
    });
  });
});

describe("the operations listener (METRICS_PORT)", () => {
  test("serves /metrics and /ready only, while the public port keeps /metrics hidden; stop() closes it", async () => {
    const { t } = await startProvisioned({
      config: { metrics: { token: null, port: 0, host: "127.0.0.1" } },
    });
    const operations = t.metricsUrl!;
    try {
      expect(operations).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(operations).not.toBe(t.url);
      expect(sample(await scrape(operations, null), "lime_signing_key_age_seconds")).toBeDefined();
      expect((await fetch(`${operations}/ready`)).status).toBe(200);
      expect((await fetch(`${operations}/health`)).status).toBe(404);
      expect((await fetch(`${operations}/api/v1/foundation/sites`)).status).toBe(404);
      expect((await fetch(`${t.url}/metrics`)).status).toBe(404);
    } finally {
      await t.stop();
    }
    await expect(fetch(`${operations}/metrics`)).rejects.toThrow();
  });

  test("asks for METRICS_TOKEN there too once it is set", async () => {
    const metrics = { token: METRICS_TOKEN, port: 0, host: "127.0.0.1" };
    await withTestServer({ config: { metrics } }, async (t) => {
      expect((await fetch(`${t.metricsUrl}/metrics`)).status).toBe(401);
      await scrape(t.metricsUrl!);
      await scrape(t.url);
    });
  });

  test("is not started without METRICS_PORT", async () => {
    await withTestServer({}, async (t) => {
      expect(t.metricsUrl).toBeNull();
    });
  });
});

describe("what the counters count", () => {
  test("a real login moves created, approved, PoW failures and passports; the HTTP series use route templates", async () => {
    const { t, p } = await startProvisioned({ config: WITH_TOKEN });
    try {
      const before = await scrape(t.url);
      const id = await loginWithOneWrongNonce(t, p);
      const after = await scrape(t.url);
      const moved = (name: string, labels?: Record<string, string>) =>
        (sample(after, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
      expect(moved("lime_login_requests_created_total")).toBe(1);
      expect(moved("lime_login_requests_approved_total")).toBe(1);
      expect(moved("lime_pow_failures_total", { flow: "agent_login" })).toBe(1);
      expect(moved("lime_passports_issued_total", { kind: "site_login" })).toBe(1);
      expect(moved("lime_passports_issued_total", { kind: "self_service" })).toBe(0);
      expect(moved("lime_login_requests_expired_total")).toBe(0);
      const approveRoute = {
        method: "POST",
        route: "/api/v1/modules/agent-login/requests/:id/approve",
      };
      expect(moved("lime_http_requests_total", { ...approveRoute, status: "400" })).toBe(1);
      expect(moved("lime_http_requests_total", { ...approveRoute, status: "200" })).toBe(1);
      expect(moved("lime_http_request_duration_seconds_count", { ...approveRoute, status: "200" })).toBe(1);
      // The id is in the URL, never in a label.
      expect(after).not.toContain(id);
      expect(sample(after, "lime_http_requests_total", { route: "/api/v1/auth/requests/:id" })).toBe(1);
    } finally {
      await t.stop();
    }
  });

  test("requests no route matched count as one 'unmatched' series, whatever their path", async () => {
    await withTestServer({ config: WITH_TOKEN }, async (t) => {
      for (const path of ["/no/such/thing", "/another-one", `/${crypto.randomUUID()}`]) {
        expect((await fetch(t.url + path)).status).toBe(404);
      }
      const text = await scrape(t.url);
      expect(sample(text, "lime_http_requests_total", { route: "unmatched", status: "404" })).toBe(3);
      expect(text).not.toContain("no/such/thing");
    });
  });

  test("expired login requests are counted when the sweep expires them", async () => {
    const clock = new FakeClock();
    const { t, p } = await startProvisioned({ clock, config: WITH_TOKEN });
    try {
      await createLoginRequest(t, p);
      await createLoginRequest(t, p);
      clock.advance(t.config.lifetimes.loginRequestMs + 1000);
      await t.server.maintain();
      expect(sample(await scrape(t.url), "lime_login_requests_expired_total")).toBe(2);
    } finally {
      await t.stop();
    }
  });

  test("a self-service passport is counted under its own kind", async () => {
    const { t, p } = await startProvisioned({ config: WITH_TOKEN });
    try {
      const issued = await api(t.url, "/api/v1/core/passports", {
        method: "POST",
        headers: { "x-agent-token": p.agentToken },
        json: {},
      });
      expect(issued.status).toBe(201);
      expect(sample(await scrape(t.url), "lime_passports_issued_total", { kind: "self_service" })).toBe(1);
    } finally {
      await t.stop();
    }
  });

  test("the open-streams gauge follows a stream opening and closing", async () => {
    const { t, p } = await startProvisioned({ config: WITH_TOKEN });
    try {
      expect(sample(await scrape(t.url), "lime_event_streams_open")).toBe(0);
      const stream = await SseClient.connect(`${t.url}/api/v1/modules/agent-login/events`, {
        "x-site-token": p.siteToken,
      });
      expect(stream.status).toBe(200);
      expect(sample(await scrape(t.url), "lime_event_streams_open")).toBe(1);
      await stream.close();
      // The server learns of the close from the socket: wait for it rather than for a fixed time.
      const deadline = Date.now() + 10_000;
      while (sample(await scrape(t.url), "lime_event_streams_open") !== 0) {
        if (Date.now() > deadline) throw new Error("the stream was never counted as closed");
        await Bun.sleep(20);
      }
    } finally {
      await t.stop();
    }
  });

  test("the signing key's age follows the clock", async () => {
    const clock = new FakeClock();
    await withTestServer({ clock, config: WITH_TOKEN }, async (t) => {
      const first = sample(await scrape(t.url), "lime_signing_key_age_seconds")!;
      expect(first).toBeGreaterThanOrEqual(0);
      clock.advance(3600_000);
      expect(sample(await scrape(t.url), "lime_signing_key_age_seconds")).toBeCloseTo(first + 3600, 3);
    });
  });

  test("a database pool supplier is exposed as gauges", async () => {
    const extra = { databasePool: () => ({ inUse: 3, max: 10 }) };
    await withTestServer({ config: WITH_TOKEN, extra }, async (t) => {
      const text = await scrape(t.url);
      expect(sample(text, "lime_database_pool_connections_in_use")).toBe(3);
      expect(sample(text, "lime_database_pool_connections_max")).toBe(10);
    });
  });

  test("each app counts in its own registry: two servers in one process do not add up", async () => {
    const a = await startProvisioned({ config: WITH_TOKEN });
    const b = await startProvisioned({ config: WITH_TOKEN });
    try {
      await createLoginRequest(a.t, a.p);
      expect(sample(await scrape(a.t.url), "lime_login_requests_created_total")).toBe(1);
      expect(sample(await scrape(b.t.url), "lime_login_requests_created_total")).toBe(0);
    } finally {
      await a.t.stop();
      await b.t.stop();
    }
  });
});
