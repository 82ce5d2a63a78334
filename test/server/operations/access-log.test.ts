/**
 * Request ids and the access log (server/http/access-log.ts): every answer
 * carries `X-Request-Id` (the caller's when well-formed, else a fresh UUID),
 * error envelopes and the transport's own 4xx included; one JSON line per
 * request with the route template, never the query string or a credential.
 */

import { describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { api, SseClient, startProvisioned, withTestServer } from "../helpers.ts";
import { type CapturingLogger, capturingLogger } from "../redis/support.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function accessLines(logger: CapturingLogger) {
  return logger.entries.filter((entry) => entry.message === "request");
}

/** The head of the answer to raw bytes on a fresh connection (read until the server closes it). */
function rawHead(url: string, bytes: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), "127.0.0.1", () => socket.write(bytes));
    let text = "";
    socket.on("data", (chunk) => {
      text += chunk.toString("latin1");
    });
    socket.on("close", () => resolve(text.split("\r\n\r\n")[0]!));
    socket.on("error", reject);
  });
}

describe("X-Request-Id", () => {
  test("a well-formed incoming id is returned as it is", async () => {
    await withTestServer({}, async (t) => {
      for (const id of ["abc", "req-2026.11.26_0001", "A".repeat(128)]) {
        const response = await fetch(`${t.url}/health`, { headers: { "x-request-id": id } });
        expect(response.headers.get("x-request-id")).toBe(id);
      }
    });
  });

  test("without one, a fresh UUID is generated for each request", async () => {
    await withTestServer({}, async (t) => {
      const first = (await fetch(`${t.url}/health`)).headers.get("x-request-id");
      const second = (await fetch(`${t.url}/health`)).headers.get("x-request-id");
      expect(first).toMatch(UUID);
      expect(second).toMatch(UUID);
      expect(first).not.toBe(second);
    });
  });

  test("a malformed incoming id is replaced, never echoed", async () => {
    await withTestServer({}, async (t) => {
      for (const id of ["", "A".repeat(129), "has space", 'quote"d', "semi;colon", "slash/ed", "ünï"]) {
        const response = await fetch(`${t.url}/health`, { headers: { "x-request-id": id } });
        expect(response.headers.get("x-request-id")).toMatch(UUID);
      }
    });
  });

  test("error envelopes carry it too: unknown route, validation failure, refused credential", async () => {
    await withTestServer({}, async (t) => {
      const answers = await Promise.all([
        api(t.url, "/no/such/route", { headers: { "x-request-id": "r-404" } }),
        api(t.url, "/api/v1/auth/requests/not-a-uuid", { headers: { "x-request-id": "r-400" } }),
        api(t.url, "/api/v1/core/agents/me/profile", { headers: { "x-request-id": "r-401" } }),
      ]);
      const seen = answers.map((answer) => [
        answer.status,
        answer.body.error.code,
        answer.headers.get("x-request-id"),
      ]);
      expect(seen).toEqual([
        [404, "NOT_FOUND", "r-404"],
        [400, "VALIDATION_FAILED", "r-400"],
        [401, "MISSING_AGENT_TOKEN", "r-401"],
      ]);
    });
  });

  test("the transport's own 400 for a malformed request has one", async () => {
    await withTestServer({}, async (t) => {
      const head = await rawHead(t.url, "GET /health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n");
      expect(head).toStartWith("HTTP/1.1 400 ");
      expect(head.toLowerCase()).toMatch(
        /\r\nx-request-id: [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\r\n/,
      );
    });
  });
});

describe("the access log", () => {
  test("one line per request: method, route template, status, duration, bytes, id, client; no query string", async () => {
    const logger = capturingLogger();
    await withTestServer({ logger }, async (t) => {
      const id = crypto.randomUUID();
      const response = await fetch(`${t.url}/api/v1/auth/requests/${id}?code=123456&token=lime_site_secret`, {
        headers: { "x-request-id": "trace-1" },
      });
      const body = await response.text();
      expect(response.status).toBe(404);
      const lines = accessLines(logger);
      expect(lines).toHaveLength(1);
      expect(lines[0]!.level).toBe("info");
      expect(lines[0]!.fields).toEqual({
        request_id: "trace-1",
        method: "GET",
        route: "/api/v1/auth/requests/:id",
        status: 404,
        duration_ms: expect.any(Number),
        bytes: Buffer.byteLength(body),
        client: "127.0.0.1",
      });
      const logged = JSON.stringify(logger.entries);
      for (const secret of ["123456", "lime_site_secret", "code=", id]) expect(logged).not.toContain(secret);
    });
  });

  test("n requests, n lines, each with its own id; unmatched paths are not logged", async () => {
    const logger = capturingLogger();
    await withTestServer({ logger }, async (t) => {
      const ids: string[] = [];
      for (const path of ["/health", "/ready", "/nothing/here/abc", "/.well-known/jwks.json"]) {
        ids.push((await fetch(t.url + path)).headers.get("x-request-id")!);
      }
      const lines = accessLines(logger);
      expect(lines.map((line) => line.fields?.request_id)).toEqual(ids);
      expect(lines.map((line) => [line.fields?.route, line.fields?.status])).toEqual([
        ["/health", 200],
        ["/ready", 200],
        ["unmatched", 404],
        ["/.well-known/jwks.json", 200],
      ]);
      expect(JSON.stringify(logger.entries)).not.toContain("nothing/here");
    });
  });

  test("credentials in headers are never logged", async () => {
    const logger = capturingLogger();
    const { t, p } = await startProvisioned({ logger });
    try {
      await api(t.url, "/api/v1/core/agents/me/profile", { headers: { "x-agent-token": p.agentToken } });
      await api(t.url, "/api/v1/foundation/users/me", {
        headers: { authorization: `Bearer ${p.sessionToken}` },
      });
      const logged = JSON.stringify(logger.entries);
      for (const secret of [p.agentToken, p.sessionToken, p.siteToken]) expect(logged).not.toContain(secret);
      expect(accessLines(logger).length).toBeGreaterThan(2);
    } finally {
      await t.stop();
    }
  });

  test("an event stream is logged once, when its headers go out, marked stream: true", async () => {
    const logger = capturingLogger();
    const { t, p } = await startProvisioned({ logger });
    const events = "/api/v1/modules/agent-login/events";
    const streamLines = () => accessLines(logger).filter((line) => line.fields?.route === events);
    try {
      const stream = await SseClient.connect(t.url + events, { "x-site-token": p.siteToken });
      expect(stream.status).toBe(200);
      expect(streamLines()).toHaveLength(1);
      expect(streamLines()[0]!.fields).toMatchObject({ status: 200, stream: true });
      expect(streamLines()[0]!.fields).not.toHaveProperty("bytes");
      await stream.close();
    } finally {
      await t.stop();
    }
    expect(streamLines()).toHaveLength(1);
  });

  test("ACCESS_LOG=off: no lines, ids still returned", async () => {
    const logger = capturingLogger();
    await withTestServer({ logger, config: { accessLog: false } }, async (t) => {
      const response = await fetch(`${t.url}/health`, { headers: { "x-request-id": "quiet" } });
      expect(response.headers.get("x-request-id")).toBe("quiet");
      expect(accessLines(logger)).toEqual([]);
    });
  });
});
