// Guards the live stream against outcomes that arrive out of id order, as they
// do behind several instances (two approvals on two instances within
// milliseconds, fanned out through Redis): the later-arriving lower id must
// still be written, once.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createMemoryOutcomeFanout } from "../../server/infrastructure/memory/outcome-fanout.ts";
import type { OutcomeEvent, OutcomeFanout } from "../../server/modules/agent-login/store.ts";
import type { Provisioned, TestServer } from "../../server/testing.ts";
import { api, SseClient, solvePow, startProvisioned } from "./helpers.ts";

/** A fan-out that holds published outcomes until `release`, then delivers them newest first. */
function reorderingFanout(): OutcomeFanout & { release(): void; held: OutcomeEvent[] } {
  const inner = createMemoryOutcomeFanout();
  const held: OutcomeEvent[] = [];
  return {
    held,
    publish: (event) => held.push(event),
    subscribe: (siteId, listener) => inner.subscribe(siteId, listener),
    release() {
      for (const event of held.splice(0).reverse()) inner.publish(event);
    },
  };
}

const fanout = reorderingFanout();
let t: TestServer;
let p: Provisioned;

beforeAll(async () => {
  ({ t, p } = await startProvisioned({ extra: { fanout } }));
});
afterAll(() => t.stop());

async function approvedRequest(): Promise<string> {
  const created = await api(t.url, "/api/v1/modules/agent-login/requests", {
    method: "POST",
    headers: { "x-site-token": p.siteToken },
    json: {},
  });
  const id = created.body.data.login_request_id as string;
  const challenge = (await api(t.url, `/api/v1/auth/requests/${id}`)).body.data;
  const nonce = await solvePow(challenge.pow_challenge, challenge.pow_difficulty);
  const approved = await api(t.url, `/api/v1/modules/agent-login/requests/${id}/approve`, {
    method: "POST",
    headers: { "x-agent-token": p.agentToken },
    json: { pow_nonce: nonce },
  });
  expect(approved.status).toBe(200);
  return id;
}

test("an outcome with a lower id that arrives after a higher one is still written to the open stream, once", async () => {
  const stream = await SseClient.connect(`${t.url}/api/v1/modules/agent-login/events`, {
    "x-site-token": p.siteToken,
  });
  await stream.waitFor(() => true);
  const first = await approvedRequest();
  const second = await approvedRequest();
  expect(fanout.held.map((event) => event.loginRequestId)).toEqual([first, second]);
  const duplicate = fanout.held[0]!;
  fanout.release(); // second (higher id) first, then first
  const approvedIds = (events: { data: { type: string; login_request_id?: string } }[]) =>
    events.filter((e) => e.data.type === "approved").map((e) => e.data.login_request_id);
  const events = await stream.waitFor((all) => approvedIds(all).length >= 2);
  expect(approvedIds(events).sort()).toEqual([first, second].sort());

  // A repeated notification of an outcome already written is not written again.
  fanout.publish(duplicate);
  fanout.release();
  const keepalivesBefore = stream.events.filter((e) => e.data.type === "keepalive").length;
  await stream.waitFor((all) => all.filter((e) => e.data.type === "keepalive").length > keepalivesBefore + 1);
  expect(approvedIds(stream.events)).toHaveLength(2);
  await stream.close();
});
