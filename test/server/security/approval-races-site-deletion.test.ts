/**
 * Regression: an approval that lost its atomic consume to the deletion of
 * the request's site was answered `410 REQUEST_EXPIRED` (46 of 100 in
 * a race), for a request that never expired. A request that vanished is
 * `404 SITE_LOGIN_REQUEST_NOT_FOUND`. The race is made deterministic here: the
 * store deletes the site (through the owner API) just before the consume.
 */

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createSqliteAgentLoginStore } from "../../../server/infrastructure/sqlite/agent-login-store.ts";
import type { AgentLoginStore } from "../../../server/modules/agent-login/store.ts";
import type { Provisioned, TestServer } from "../../../server/testing.ts";
import { FakeClock, startTestServer } from "../../../server/testing.ts";
import { api, solvePow } from "../helpers.ts";

let t: TestServer;
let clock: FakeClock;
let p: Provisioned;
let inner: AgentLoginStore;
/** Set by a test: runs inside `approve`, after the service's checks and before the consume. */
let beforeConsume: (() => Promise<void>) | null = null;

/** The real store, with a hook between the service's checks and its atomic consume. */
const racingStore = new Proxy({} as AgentLoginStore, {
  get(_, name: keyof AgentLoginStore) {
    if (name === "approve") {
      return async (input: Parameters<AgentLoginStore["approve"]>[0]) => {
        await beforeConsume?.();
        return inner.approve(input);
      };
    }
    return (inner[name] as (...args: unknown[]) => unknown).bind(inner);
  },
});

beforeEach(async () => {
  beforeConsume = null;
  clock = new FakeClock();
  t = await startTestServer({ clock, extra: { stores: { agentLogin: racingStore } } });
  inner = createSqliteAgentLoginStore(t.db);
  p = await t.provision();
});

afterEach(async () => {
  await t.stop();
});

async function solvedRequest(): Promise<{ id: string; nonce: string }> {
  const created = await api(t.url, "/api/v1/modules/agent-login/requests", {
    method: "POST",
    headers: { "x-site-token": p.siteToken },
    json: {},
  });
  const id = created.body.data.login_request_id as string;
  const challenge = await api(t.url, `/api/v1/auth/requests/${id}`);
  return { id, nonce: await solvePow(challenge.body.data.pow_challenge, challenge.body.data.pow_difficulty) };
}

function approve(id: string, nonce: string) {
  return api(t.url, `/api/v1/modules/agent-login/requests/${id}/approve`, {
    method: "POST",
    headers: { "x-agent-token": p.agentToken },
    json: { pow_nonce: nonce },
  });
}

describe("an approval racing its site's deletion", () => {
  test("is 404 SITE_LOGIN_REQUEST_NOT_FOUND, not 410 REQUEST_EXPIRED", async () => {
    const { id, nonce } = await solvedRequest();
    beforeConsume = async () => {
      const deleted = await api(t.url, `/api/v1/foundation/sites/${p.siteId}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${p.sessionToken}` },
      });
      expect(deleted.status).toBe(204);
    };
    const answer = await approve(id, nonce);
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe("SITE_LOGIN_REQUEST_NOT_FOUND");
  });

  test("a request that really expired meanwhile (the sweep ran) is still 410", async () => {
    const { id, nonce } = await solvedRequest();
    beforeConsume = async () => {
      clock.advance(t.config.lifetimes.loginRequestMs + 1);
      await t.server.maintain();
    };
    const answer = await approve(id, nonce);
    expect(answer.status).toBe(410);
    expect(answer.body.error.code).toBe("REQUEST_EXPIRED");
  });
});
