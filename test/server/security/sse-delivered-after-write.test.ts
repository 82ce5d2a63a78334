/**
 * Regression: an outcome on a site's event stream was marked DELIVERED when
 * it was queued, not when it reached the socket. Across three `kill -9`
 * crashes 30 approved outcomes were marked delivered but never reached the
 * live client, and a client reconnecting without `Last-Event-ID` (LIME's
 * Python SDK does) never got them.
 *
 * Now the stream marks an outcome delivered only when its consumer pulls
 * again (it took the chunk), and the transport pulls again only after the
 * previous chunk was written to the socket. These tests pin both halves
 * (the first two fail on the old stream), then the whole: a server killed
 * with SIGKILL while approving loses nothing. That last one passes on the
 * old stream too, most runs, because the window it had is short on this
 * transport; it guards the end-to-end promise, the others the mechanism.
 * It also caught a shorter window: Bun answers a write's callback before its
 * send buffer reaches the kernel, so the transport waits one more turn of the
 * event loop before it pulls again (transport.ts, `writeChunk`).
 */

import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listenHttp, type Transport } from "../../../server/http/transport.ts";
import { silentLogger } from "../../../server/infrastructure/logger.ts";
import { createMemoryOutcomeFanout } from "../../../server/infrastructure/memory/outcome-fanout.ts";
import { createSqliteAgentLoginStore } from "../../../server/infrastructure/sqlite/agent-login-store.ts";
import { openDatabase } from "../../../server/infrastructure/sqlite/database.ts";
import { createEventStreams, MAX_QUEUED_CHUNKS } from "../../../server/modules/agent-login/event-stream.ts";
import type { TestServer } from "../../../server/testing.ts";
import { api, SseClient, solvePow, startProvisioned } from "../helpers.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function approvedLogin(base: string, siteToken: string, agentToken: string): Promise<string> {
  const created = await api(base, "/api/v1/modules/agent-login/requests", {
    method: "POST",
    headers: { "x-site-token": siteToken },
    json: {},
  });
  const id = created.body.data.login_request_id as string;
  const challenge = await api(base, `/api/v1/auth/requests/${id}`);
  const nonce = await solvePow(challenge.body.data.pow_challenge, challenge.body.data.pow_difficulty);
  const approved = await api(base, `/api/v1/modules/agent-login/requests/${id}/approve`, {
    method: "POST",
    headers: { "x-agent-token": agentToken },
    json: { pow_nonce: nonce },
  });
  if (approved.status !== 200)
    throw new Error(`approve: ${approved.status} ${JSON.stringify(approved.body)}`);
  return id;
}

async function undeliveredIds(t: TestServer, siteId: string): Promise<Array<string | null>> {
  const events = await t.server.context.agentLogin.store.undeliveredEvents(siteId, t.clock.now());
  return events.map((event) => event.loginRequestId);
}

describe("the event stream marks an outcome delivered only once its consumer took it", () => {
  test("queued and read is not delivered; the next pull delivers it", async () => {
    const { t, p } = await startProvisioned({ config: { defaultPowDifficulty: 1, sseKeepaliveMs: 60_000 } });
    cleanups.push(() => t.stop());
    const site = (await t.server.context.sites.sites.findById(p.siteId))!;
    const abort = new AbortController();
    cleanups.push(() => abort.abort());
    const response = t.server.context.eventStreams.open(site, null, abort.signal, async () => null);
    const reader = response.body!.getReader();
    await reader.read(); // the reconnection delay

    const id = await approvedLogin(t.url, p.siteToken, p.agentToken);
    const chunk = await reader.read();
    expect(new TextDecoder().decode(chunk.value)).toContain(id);
    // The consumer holds the chunk but has not asked for more: it may not have written it yet.
    expect(await undeliveredIds(t, p.siteId)).toEqual([id]);

    const next = reader.read();
    await Bun.sleep(0);
    for (let i = 0; i < 50 && (await undeliveredIds(t, p.siteId)).length > 0; i++) await Bun.sleep(10);
    expect(await undeliveredIds(t, p.siteId)).toEqual([]);
    abort.abort();
    await next.catch(() => {});
  });

  test("a reconnect without Last-Event-ID replays what was queued but never taken", async () => {
    const { t, p } = await startProvisioned({ config: { defaultPowDifficulty: 1, sseKeepaliveMs: 60_000 } });
    cleanups.push(() => t.stop());
    const site = (await t.server.context.sites.sites.findById(p.siteId))!;
    const abort = new AbortController();
    const response = t.server.context.eventStreams.open(site, null, abort.signal, async () => null);
    const reader = response.body!.getReader();
    await reader.read();
    const id = await approvedLogin(t.url, p.siteToken, p.agentToken);
    await reader.read(); // taken, never acknowledged by a further pull
    abort.abort(); // the connection dies with it

    const stream = await SseClient.connect(`${t.url}/api/v1/modules/agent-login/events`, {
      "x-site-token": p.siteToken,
    });
    cleanups.push(() => stream.close());
    const events = await stream.waitFor((seen) => seen.some((event) => event.data.login_request_id === id));
    expect(events.filter((event) => event.data.login_request_id === id)).toHaveLength(1);
  });
});

describe("a client that stops reading", () => {
  test(`is cut after ${MAX_QUEUED_CHUNKS} queued chunks instead of being buffered without bound, and told so last`, async () => {
    const db = openDatabase(":memory:");
    cleanups.push(() => db.close());
    let reportCut = () => {};
    const cut = new Promise<void>((resolve) => {
      reportCut = resolve;
    });
    const streams = createEventStreams({
      clock: { now: () => Date.now() },
      store: createSqliteAgentLoginStore(db),
      fanout: createMemoryOutcomeFanout(),
      logger: { ...silentLogger, warn: () => reportCut() },
      keepaliveMs: 1,
      maxStreamsPerSite: 8,
    });
    const abort = new AbortController();
    cleanups.push(() => abort.abort());
    const site = {
      id: crypto.randomUUID(),
      ownerId: crypto.randomUUID(),
      displayName: "shop",
      origin: null,
      tokenHash: "0".repeat(64),
      powDifficulty: 8,
      powDifficultyMax: null,
      powSurgePerMinute: null,
      status: "ACTIVE" as const,
      createdAt: 0,
      updatedAt: 0,
    };
    const response = streams.open(site, null, abort.signal, async () => null);
    // Keepalives every millisecond pile up unread until the cap, which the stream logs.
    await cut;
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    // Until the client reads, the stream keeps its place in the caps (and its bounded queue).
    expect(streams.openCount()).toBe(1);
    const chunks: string[] = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(decoder.decode(value));
    }
    expect(chunks.length).toBeLessThanOrEqual(MAX_QUEUED_CHUNKS + 2);
    expect(chunks.at(-1)).toBe(
      'data: {"type":"error","code":"SSE_SLOW_CONSUMER","message":"The client stopped reading; reconnect to receive what was missed."}\n\n',
    );
    expect(chunks.slice(1, -1).every((chunk) => chunk === 'data: {"type":"keepalive"}\n\n')).toBe(true);
    expect(streams.openCount()).toBe(0);
  });
});

describe("the transport pulls a streamed body's next chunk only after the last one was written", () => {
  test("a client that stops reading stops the pulls; reading again resumes them", async () => {
    const chunk = new Uint8Array(1024 * 1024).fill(0x61);
    let pulls = 0;
    const transport: Transport = await listenHttp(
      () =>
        new Response(
          new ReadableStream<Uint8Array>(
            {
              pull(controller) {
                pulls += 1;
                if (pulls > 64) controller.close();
                else controller.enqueue(chunk);
              },
            },
            { highWaterMark: 0 },
          ),
          { headers: { "content-type": "text/event-stream" } },
        ),
      {
        port: 0,
        hostname: "127.0.0.1",
        headersTimeoutMs: 5000,
        requestTimeoutMs: 10_000,
        keepAliveTimeoutMs: 5000,
        maxHeaderBytes: 16 * 1024,
        logger: silentLogger,
      },
    );
    cleanups.push(() => transport.close());
    const socket = connect(transport.port, "127.0.0.1");
    cleanups.push(() => {
      socket.destroy();
    });
    socket.pause();
    socket.write("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    // Loopback buffers hold a few MiB; the writer must stall far below 64 MiB.
    let stalledAt = -1;
    for (let i = 0; i < 200; i++) {
      const before = pulls;
      await Bun.sleep(20);
      if (pulls === before && pulls > 0) {
        stalledAt = pulls;
        break;
      }
    }
    expect(stalledAt).toBeGreaterThan(0);
    expect(stalledAt).toBeLessThan(40);
    let received = 0;
    socket.on("data", (data: Buffer) => {
      received += data.byteLength;
    });
    socket.resume();
    for (let i = 0; i < 500 && pulls <= 64; i++) await Bun.sleep(10);
    expect(pulls).toBe(65);
    expect(received).toBeGreaterThan(stalledAt * chunk.byteLength);
  }, 30_000);
});

/** A LIME server in its own process, on a database that outlives it, so it can be killed with SIGKILL. */
async function startServerProcess(databasePath: string, kek: string) {
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "../fixtures/server-process.ts")], {
    env: {
      ...process.env,
      DATABASE_PATH: databasePath,
      LIME_KEY_ENCRYPTION_KEY: kek,
      LIME_LOG_LEVEL: "error",
    },
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = child.stdout.getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the server process exited before it was ready");
    line += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return { child, url: (JSON.parse(line.slice(0, line.indexOf("\n"))) as { url: string }).url };
}

describe("a server killed with SIGKILL while approving", () => {
  test("loses no approved outcome: a reconnect without Last-Event-ID gets every one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lime-kill-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const databasePath = join(dir, "lime.sqlite");
    const kek = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
    let server = await startServerProcess(databasePath, kek);
    cleanups.push(() => {
      server.child.kill("SIGKILL");
    });
    const owner = await provisionOver(server.url);
    const received = new Set<string>();
    const approved = new Set<string>();

    for (let round = 0; round < 3; round++) {
      const stream = await rawEventStream(server.url, owner.siteToken);
      // Approvals run until the kill lands, at a different point each round.
      const killAfterMs = 150 + round * 120;
      const killer = Bun.sleep(killAfterMs).then(() => server.child.kill("SIGKILL"));
      for (;;) {
        try {
          approved.add(await approvedLogin(server.url, owner.siteToken, owner.agentToken));
        } catch {
          break;
        }
      }
      await killer;
      await server.child.exited;
      // A client reads until the connection ends: the last frames the server wrote may still be in flight.
      await stream.ended;
      for (const id of stream.outcomeIds()) received.add(id);
      server = await startServerProcess(databasePath, kek);
    }

    // LIME's Python SDK reconnects without Last-Event-ID: it must get every outcome it has not seen.
    const last = await SseClient.connect(`${server.url}/api/v1/modules/agent-login/events`, {
      "x-site-token": owner.siteToken,
    });
    cleanups.push(() => last.close());
    const missing = () => [...approved].filter((id) => !received.has(id));
    for (let i = 0; i < 100 && missing().length > 0; i++) {
      for (const event of last.outcomes()) received.add(event.data.login_request_id);
      await Bun.sleep(20);
    }
    expect(approved.size).toBeGreaterThan(3);
    expect(missing()).toEqual([]);
  }, 60_000);
});

/**
 * A site's event stream read off the raw socket, so what it holds is what the
 * dead server had written. Bun's fetch (SseClient) drops the last chunk of a
 * chunked body that a dying server cut short: 7 of 30 runs of this test under
 * load missed the final outcome that way, while a raw socket beside it had
 * it. That loss is the client's; the site SDK resumes with Last-Event-ID,
 * which replays it.
 */
async function rawEventStream(base: string, siteToken: string) {
  const { hostname, port, host } = new URL(base);
  const socket = connect(Number(port), hostname);
  let text = "";
  socket.on("error", () => {});
  const ended = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  cleanups.push(() => {
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    socket.on("data", (data: Buffer) => {
      text += data.toString("latin1");
      if (text.includes("\r\n\r\n")) {
        if (text.startsWith("HTTP/1.1 200")) resolve();
        else reject(new Error(`the stream did not open: ${text.slice(0, 200)}`));
      }
    });
    socket.write(
      `GET /api/v1/modules/agent-login/events HTTP/1.1\r\nHost: ${host}\r\nAccept: text/event-stream\r\nX-Site-Token: ${siteToken}\r\n\r\n`,
    );
  });
  return {
    ended,
    /** The login request ids of the outcome frames received (the body is chunked; each frame is one chunk). */
    outcomeIds: () => [...text.matchAll(/"login_request_id":"([0-9a-f-]{36})"/g)].map((match) => match[1]!),
  };
}

async function provisionOver(url: string): Promise<{ siteToken: string; agentToken: string }> {
  const email = `owner-${crypto.randomUUID()}@example.test`;
  const password = "correct horse battery staple";
  await api(url, "/api/v1/foundation/users/register", { method: "POST", json: { email, password } });
  const session = await api(url, "/api/v1/foundation/users/login", {
    method: "POST",
    json: { email, password },
  });
  const auth = { authorization: `Bearer ${session.body.data.session_token}` };
  const site = await api(url, "/api/v1/foundation/sites/register", {
    method: "POST",
    headers: auth,
    json: { display_name: "Crash shop", pow_difficulty: 1 },
  });
  const agent = await api(url, "/api/v1/core/agents/register", {
    method: "POST",
    headers: auth,
    json: { display_name: "Crash agent" },
  });
  return { siteToken: site.body.data.site_token, agentToken: agent.body.data.agent_token };
}
