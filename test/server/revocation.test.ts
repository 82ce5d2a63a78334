/**
 * Revocation that reaches sites, over HTTP: the signed revocation list
 * (signed with the passport keys, cacheable, public, bounded by time) and
 * the `revoked` event on the streams of the sites that have seen the agent
 * or hold the binding (stored with an id, replayed with Last-Event-ID,
 * ignored by LIME's Python site SDK), for agents, agent tokens, bindings
 * and agent signing keys.
 */

import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { encodeBase64url } from "@lime-ts/core/encoding";
import { createKeyProof } from "@lime-ts/core/http-signatures";
import { verifyJwt } from "@lime-ts/core/passport";
import { coverMs } from "../../server/modules/revocation/service.ts";
import { FakeClock, type Provisioned, startTestServer, type TestServer } from "../../server/testing.ts";
import { SiteSdkClient, SiteSdkEventStream } from "../compat/lime-python-sdk.ts";
import { callbackParams, pickAgent, setSiteOrigin } from "../support/bindings.ts";
import { registeredKey } from "./agent-keys/support.ts";
import { api, SseClient, type SseEvent, solvePow } from "./helpers.ts";

const LIST = "/api/v1/core/revocations";
const EVENTS = "/api/v1/modules/agent-login/events";
const REQUESTS = "/api/v1/modules/agent-login/requests";

let t: TestServer;
let clock: FakeClock;
let p: Provisioned;

beforeAll(async () => {
  clock = new FakeClock();
  t = await startTestServer({ clock });
});
beforeEach(async () => {
  p = await t.provision();
});
afterAll(async () => {
  await t.stop();
});

async function loginOnce(ids: Provisioned) {
  const created = await api(t.url, REQUESTS, {
    method: "POST",
    headers: { "x-site-token": ids.siteToken },
    json: {},
  });
  const id = created.body.data.login_request_id as string;
  const challenge = await api(t.url, `/api/v1/auth/requests/${id}`);
  const nonce = await solvePow(challenge.body.data.pow_challenge, challenge.body.data.pow_difficulty);
  const approved = await api(t.url, `${REQUESTS}/${id}/approve`, {
    method: "POST",
    headers: { "x-agent-token": ids.agentToken },
    json: { pow_nonce: nonce },
  });
  expect(approved.status).toBe(200);
  return id;
}

function asOwner(ids: Provisioned, method: string, path: string) {
  return api(t.url, path, { method, headers: { authorization: `Bearer ${ids.sessionToken}` } });
}

/** The list, its signature and digest checked against the served JWKS; its entries. */
async function verifiedList(headers: Record<string, string> = {}) {
  const response = await api(t.url, LIST, { headers });
  expect(response.status).toBe(200);
  const jwks = (await api(t.url, "/.well-known/jwks.json")).body;
  const { list_jwt: jwt, entries_json: entriesJson } = response.body.data;
  const { header, claims } = await verifyJwt(jwt, jwks, {
    issuer: t.config.publicUrl,
    audience: "lime-revocation-list",
    typ: "revocation-list+jwt",
    now: clock.now() / 1000,
  });
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(entriesJson));
  expect(claims.entries_sha256).toBe(encodeBase64url(new Uint8Array(digest)));
  return { response, header, claims, entries: JSON.parse(entriesJson) as Array<Record<string, unknown>> };
}

function stream(ids: Provisioned, lastEventId?: string) {
  const headers: Record<string, string> = { "x-site-token": ids.siteToken };
  if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
  return SseClient.connect(t.url + EVENTS, headers);
}

const revokedIn = (events: SseEvent[]) => events.filter((e) => e.data.type === "revoked");

describe("the revocation list", () => {
  test("public, signed with the passport keys (typ revocation-list+jwt), cacheable with a strong ETag and 304", async () => {
    const { response, header, claims } = await verifiedList();
    expect(header.kid).toBe((await api(t.url, "/.well-known/jwks.json")).body.keys[0].kid);
    expect(claims).toMatchObject({ sub: "passport-revocations", exp: claims.iat + 900 });
    expect(response.headers.get("cache-control")).toBe("public, max-age=5");
    const etag = response.headers.get("etag")!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await api(t.url, LIST, { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    expect(again.body).toBeNull();
    expect((await api(t.url, LIST, { headers: { "if-none-match": `"other", W/${etag}` } })).status).toBe(304);
  });

  test("an agent revoked by its owner is listed at once; the ETag changes", async () => {
    const before = await verifiedList();
    expect(before.entries.some((e) => e.agent_id === p.agentId)).toBe(false);
    expect((await asOwner(p, "DELETE", `/api/v1/core/agents/${p.agentId}`)).status).toBe(204);
    const after = await verifiedList({ "if-none-match": before.response.headers.get("etag")! });
    expect(after.entries).toContainEqual({
      kind: "agent",
      agent_id: p.agentId,
      at: Math.floor(clock.now() / 1000),
    });
    expect(after.response.headers.get("etag")).not.toBe(before.response.headers.get("etag"));
  });

  test("another owner cannot revoke the agent, and adds no entry", async () => {
    const other = await t.provision();
    expect((await asOwner(other, "DELETE", `/api/v1/core/agents/${p.agentId}`)).status).toBe(404);
    expect((await verifiedList()).entries.some((e) => e.agent_id === p.agentId)).toBe(false);
  });

  test("token rotation lists a cut-off; a later rotation moves it forward", async () => {
    await asOwner(p, "POST", `/api/v1/core/agents/${p.agentId}/token`);
    const first = Math.floor(clock.now() / 1000);
    clock.advance(5_000);
    await asOwner(p, "POST", `/api/v1/core/agents/${p.agentId}/token`);
    const { entries } = await verifiedList();
    expect(entries.filter((e) => e.agent_id === p.agentId)).toEqual([
      { kind: "agent_token", agent_id: p.agentId, at: first + 5 },
    ]);
  });

  test("bounded: an entry leaves once every passport it covers has expired, and maintenance purges it", async () => {
    await asOwner(p, "DELETE", `/api/v1/core/agents/${p.agentId}`);
    const cover = coverMs("agent", t.config.lifetimes);
    expect(cover).toBe(t.config.lifetimes.passportMs + 5 * 60_000);
    clock.advance(cover - 1_000);
    expect((await verifiedList()).entries.some((e) => e.agent_id === p.agentId)).toBe(true);
    clock.advance(2_000);
    expect((await verifiedList()).entries.some((e) => e.agent_id === p.agentId)).toBe(false);
    await t.server.maintain();
    const rows = t.db
      .query("SELECT COUNT(*) AS n FROM passport_revocations WHERE subject_id = ?")
      .get(p.agentId);
    expect(rows).toEqual({ n: 0 });
  });

  test("an unchanged list is not signed again per request (the same bytes and ETag)", async () => {
    const first = await api(t.url, LIST);
    const second = await api(t.url, LIST);
    expect(second.body.data.list_jwt).toBe(first.body.data.list_jwt);
    expect(second.headers.get("etag")).toBe(first.headers.get("etag"));
  });
});

describe("the revoked event", () => {
  test("reaches the stream of a site the agent logged in to, with an id; not another site's", async () => {
    await loginOnce(p);
    const other = await t.provision();
    const mine = await stream(p);
    const theirs = await stream(other);
    try {
      await mine.waitFor((events) => events.some((e) => e.data.type === "approved"));
      await asOwner(p, "DELETE", `/api/v1/core/agents/${p.agentId}`);
      const [event] = revokedIn(await mine.waitFor((events) => revokedIn(events).length > 0));
      expect(event!.id).toMatch(/^\d+$/);
      expect(event!.data).toEqual({
        type: "revoked",
        kind: "agent",
        agent_id: p.agentId,
        at: Math.floor(clock.now() / 1000),
      });
      expect(revokedIn(theirs.events)).toEqual([]);
    } finally {
      await mine.close();
      await theirs.close();
    }
  });

  test("replayed to a reconnect with Last-Event-ID, and delivered once to a site that was offline", async () => {
    await loginOnce(p);
    const first = await stream(p);
    const [approved] = (
      await first.waitFor((events) => events.some((e) => e.data.type === "approved"))
    ).filter((e) => e.data.type === "approved");
    await first.close();
    await asOwner(p, "POST", `/api/v1/core/agents/${p.agentId}/token`);

    const offline = await stream(p);
    const [delivered] = revokedIn(await offline.waitFor((events) => revokedIn(events).length > 0));
    expect(delivered!.data).toMatchObject({ kind: "agent_token", agent_id: p.agentId });
    await offline.close();

    const replay = await stream(p, approved!.id!);
    const [replayed] = revokedIn(await replay.waitFor((events) => revokedIn(events).length > 0));
    expect(replayed!.id).toBe(delivered!.id);
    await replay.close();
  });

  test("a binding revoked reaches its site once, even when the owner revokes it again", async () => {
    await setSiteOrigin(t, p, "https://shop.example");
    const created = await api(t.url, "/api/v1/modules/bindings/requests", {
      method: "POST",
      headers: { "x-site-token": p.siteToken },
      json: { redirect_uri: "https://shop.example/cb" },
    });
    const bindingId = created.body.data.binding_id as string;
    const { redirectUrl } = await pickAgent(t, bindingId, p);
    expect(callbackParams(redirectUrl).passport).toBeString();
    const events = await stream(p);
    try {
      expect((await asOwner(p, "POST", `/api/v1/modules/bindings/${bindingId}/revoke`)).status).toBe(200);
      expect((await asOwner(p, "POST", `/api/v1/modules/bindings/${bindingId}/revoke`)).status).toBe(200);
      await events.waitFor((all) => revokedIn(all).length > 0);
      await asOwner(p, "DELETE", `/api/v1/core/agents/${p.agentId}`);
      // The agent's own event (the site holds a binding to it) comes after; the binding's came once.
      const all = revokedIn(
        await events.waitFor((got) => revokedIn(got).some((e) => e.data.kind === "agent")),
      );
      expect(all.map((e) => e.data.kind)).toEqual(["binding", "agent"]);
      expect(all[0]!.data).toMatchObject({ binding_id: bindingId });
      expect((await verifiedList()).entries).toContainEqual({
        kind: "binding",
        binding_id: bindingId,
        at: expect.any(Number),
      });
    } finally {
      await events.close();
    }
  });

  test("LIME's Python site SDK ignores it: no handler runs, no failure, the stream goes on", async () => {
    await loginOnce(p);
    const python = new SiteSdkEventStream();
    const calls: Array<[string, string | null]> = [];
    python.onLogin((id, passport) => calls.push([id, passport]));
    await python.connect(new SiteSdkClient(`${t.url}/api/v1`, p.siteToken));
    try {
      await python.waitFor(() => calls.length === 1);
      await asOwner(p, "DELETE", `/api/v1/core/agents/${p.agentId}`);
      await python.waitFor(() => python.frames.some((f) => f.payload.type === "revoked"));
      expect(python.frames.find((f) => f.payload.type === "revoked")!.kind).toBe("ignore");
      expect(calls).toHaveLength(1);
      expect(python.failure).toBeNull();
    } finally {
      await python.close();
    }
  });
});

describe("agent keys", () => {
  test("a key the agent revokes is listed as {kind: agent_key, agent_id, jkt, at} and sent to its sites as a revoked event", async () => {
    const { key } = await registeredKey(t, p.agentToken);
    await loginOnce(p);
    const other = await t.provision();
    const mine = await stream(p);
    const theirs = await stream(other);
    try {
      await mine.waitFor((events) => events.some((e) => e.data.type === "approved"));
      const revoked = await api(t.url, `/api/v1/core/agents/me/keys/${key.kid}`, {
        method: "DELETE",
        headers: { "x-agent-token": p.agentToken },
      });
      expect(revoked.status).toBe(204);
      const entry = {
        kind: "agent_key",
        agent_id: p.agentId,
        jkt: key.kid,
        at: Math.floor(clock.now() / 1000),
      };
      expect((await verifiedList()).entries).toContainEqual(entry);
      const [event] = revokedIn(await mine.waitFor((events) => revokedIn(events).length > 0));
      expect(event!.id).toMatch(/^\d+$/);
      expect(event!.data).toEqual({ type: "revoked", ...entry });
      expect(revokedIn(theirs.events)).toEqual([]);
    } finally {
      await mine.close();
      await theirs.close();
    }
  });

  test("a key its owner revokes gets the same entry, kept as long as an agent's (every passport it can bind)", async () => {
    const { key } = await registeredKey(t, p.agentToken);
    expect((await asOwner(p, "DELETE", `/api/v1/core/agents/${p.agentId}/keys/${key.kid}`)).status).toBe(204);
    const isEntry = (e: Record<string, unknown>) => e.kind === "agent_key" && e.jkt === key.kid;
    expect((await verifiedList()).entries.filter(isEntry)).toEqual([
      { kind: "agent_key", agent_id: p.agentId, jkt: key.kid, at: Math.floor(clock.now() / 1000) },
    ]);
    const cover = coverMs("agent_key", t.config.lifetimes);
    expect(cover).toBe(coverMs("agent", t.config.lifetimes));
    clock.advance(cover + 1_000);
    expect((await verifiedList()).entries.some(isEntry)).toBe(false);
  });

  test("a refused revocation (another agent's key) adds no entry", async () => {
    const { key } = await registeredKey(t, p.agentToken);
    const other = await t.provision();
    const refused = await api(t.url, `/api/v1/core/agents/me/keys/${key.kid}`, {
      method: "DELETE",
      headers: { "x-agent-token": other.agentToken },
    });
    expect(refused.status).toBe(404);
    expect((await verifiedList()).entries.some((e) => e.jkt === key.kid)).toBe(false);
  });

  test("an agent revoked takes its keys with it: one agent entry, no directory, no bound passport", async () => {
    const { key } = await registeredKey(t, p.agentToken);
    await asOwner(p, "DELETE", `/api/v1/core/agents/${p.agentId}`);
    const { entries } = await verifiedList();
    expect(entries.filter((e) => e.agent_id === p.agentId).map((e) => e.kind)).toEqual(["agent"]);
    const directory = await api(t.url, `/.well-known/http-message-signatures-directory/agents/${p.agentId}`);
    expect(directory.status).toBe(404);
    const proof = await createKeyProof(key, {
      htm: "POST",
      htu: `${t.config.publicUrl}/api/v1/core/passports`,
      iat: Math.floor(clock.now() / 1000),
    });
    const bound = await api(t.url, "/api/v1/core/passports", {
      method: "POST",
      headers: { "x-agent-token": p.agentToken, dpop: proof },
      json: {},
    });
    expect([bound.status, bound.body.error.code]).toEqual([401, "AGENT_REVOKED"]);
  });
});
