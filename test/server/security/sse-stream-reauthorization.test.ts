/**
 * Regression: an event stream outlives the request that opened it. It used to
 * go on receiving outcomes (site-login passports included) after its site
 * token was rotated away, or its site suspended or deleted, so rotating a
 * leaked site token did not cut off the thief's open stream.
 */

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { Provisioned, TestServer } from "../../../server/testing.ts";
import { api, SseClient, solvePow, startProvisioned } from "../helpers.ts";

const REQUESTS = "/api/v1/modules/agent-login/requests";
const EVENTS = "/api/v1/modules/agent-login/events";

let t: TestServer;
let p: Provisioned;

beforeEach(async () => {
  ({ t, p } = await startProvisioned());
});
afterEach(async () => {
  await t.stop();
});

const owner = () => ({ authorization: `Bearer ${p.sessionToken}` });

async function approvedLogin(siteToken: string): Promise<string> {
  const created = await api(t.url, REQUESTS, {
    method: "POST",
    headers: { "x-site-token": siteToken },
    json: {},
  });
  expect(created.status).toBe(201);
  const id = created.body.data.login_request_id as string;
  const challenge = await api(t.url, `/api/v1/auth/requests/${id}`);
  const nonce = await solvePow(challenge.body.data.pow_challenge, challenge.body.data.pow_difficulty);
  const approved = await api(t.url, `${REQUESTS}/${id}/approve`, {
    method: "POST",
    headers: { "x-agent-token": p.agentToken },
    json: { pow_nonce: nonce },
  });
  expect(approved.status).toBe(200);
  return id;
}

async function waitForOpenStreams(count: number): Promise<void> {
  const deadline = Date.now() + 3000;
  while (t.server.context.eventStreams.openCount() !== count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} open streams`);
    await Bun.sleep(10);
  }
}

describe("an open event stream is re-authorized before every write", () => {
  test("a stream opened with a site token that was rotated away receives no passport and is closed", async () => {
    const stolen = await SseClient.connect(t.url + EVENTS, { "x-site-token": p.siteToken });
    expect(stolen.status).toBe(200);
    const rotated = await api(t.url, `/api/v1/foundation/sites/${p.siteId}/token`, {
      method: "POST",
      headers: owner(),
    });
    const freshToken = rotated.body.data.site_token as string;
    const legitimate = await SseClient.connect(t.url + EVENTS, { "x-site-token": freshToken });

    const id = await approvedLogin(freshToken);
    await legitimate.waitFor((events) => events.some((e) => e.data.login_request_id === id));
    await waitForOpenStreams(1);
    // No passport; only the reason it was cut, in LIME's error frame, without an id.
    await stolen.waitFor((events) => events.some((e) => e.data.type === "error"));
    expect(stolen.outcomes()).toEqual([
      {
        id: null,
        data: { type: "error", code: "SITE_TOKEN_INVALID", message: "The site token is no longer valid." },
      },
    ]);
    await Promise.all([stolen.close(), legitimate.close()]);
  });

  for (const change of [
    {
      outcome: "suspended is closed at the next keepalive, with SITE_SUSPENDED",
      method: "POST",
      path: "/suspend",
      status: 200,
      code: "SITE_SUSPENDED",
    },
    {
      outcome: "deleted is closed, with SITE_TOKEN_INVALID",
      method: "DELETE",
      path: "",
      status: 204,
      code: "SITE_TOKEN_INVALID",
    },
  ]) {
    test(`a stream of a site that is then ${change.outcome}`, async () => {
      const stream = await SseClient.connect(t.url + EVENTS, { "x-site-token": p.siteToken });
      await waitForOpenStreams(1);
      const changed = await api(t.url, `/api/v1/foundation/sites/${p.siteId}${change.path}`, {
        method: change.method,
        headers: owner(),
      });
      expect(changed.status).toBe(change.status);
      await waitForOpenStreams(0);
      const events = await stream.waitFor((all) => all.some((e) => e.data.type === "error"));
      expect(events.at(-1)).toEqual({
        id: null,
        data: { type: "error", code: change.code, message: expect.any(String) },
      });
      await stream.close();
    });
  }

  test("server shutdown ends every stream with a SERVER_SHUTDOWN error frame", async () => {
    const stream = await SseClient.connect(t.url + EVENTS, { "x-site-token": p.siteToken });
    await stream.waitFor((events) => events.some((e) => e.data.type === "keepalive"));
    t.server.context.eventStreams.closeAll();
    const events = await stream.waitFor((all) => all.some((e) => e.data.type === "error"));
    expect(events.at(-1)).toEqual({
      id: null,
      data: { type: "error", code: "SERVER_SHUTDOWN", message: "The server is shutting down; reconnect." },
    });
    expect(t.server.context.eventStreams.openCount()).toBe(0);
    await stream.close();
  });

  test("stopping the server with a grace delivers the SERVER_SHUTDOWN frame before the connection closes", async () => {
    const stream = await SseClient.connect(t.url + EVENTS, { "x-site-token": p.siteToken });
    await stream.waitFor((events) => events.some((e) => e.data.type === "keepalive"));
    await t.server.stop({ graceMs: 2000 });
    const events = await stream.waitFor((all) => all.some((e) => e.data.type === "error"));
    expect(events.at(-1)!.data.code).toBe("SERVER_SHUTDOWN");
    await stream.close();
  });

  test("a stream whose credential still holds keeps its keepalives and outcomes", async () => {
    const stream = await SseClient.connect(t.url + EVENTS, { "x-site-token": p.siteToken });
    const id = await approvedLogin(p.siteToken);
    await stream.waitFor((events) => events.some((e) => e.data.login_request_id === id));
    await stream.waitFor((events) => events.some((e) => e.data.type === "keepalive"));
    expect(t.server.context.eventStreams.openCount()).toBe(1);
    await stream.close();
  });
});
