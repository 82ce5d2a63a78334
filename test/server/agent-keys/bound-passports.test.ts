/**
 * Key-bound passports: a DPoP key proof on `POST /api/v1/core/passports` or
 * on a login approval binds the passport to that agent key (`cnf.jkt`, the
 * key's thumbprint as jose computes it). No proof: the passport is exactly
 * as before. A bad proof is refused with its code and never downgraded to
 * an unbound passport; the approval's proof must sign the PoW challenge.
 */

import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { generateAgentKey } from "@lime-ts/core/http-signatures";
import { calculateJwkThumbprint, decodeJwt } from "jose";
import { FakeClock, type Provisioned, startTestServer, type TestServer } from "../../../server/testing.ts";
import { api, solvePow, wrongNonce } from "../helpers.ts";
import { asAgent, KEYS, PASSPORTS, proofFor, registeredKey } from "./support.ts";

const REQUESTS = "/api/v1/modules/agent-login/requests";
const METRICS_TOKEN = "metrics-token-0123456789abcdef0123456789";

let t: TestServer;
let p: Provisioned;

beforeAll(async () => {
  t = await startTestServer({
    clock: new FakeClock(),
    config: { metrics: { token: METRICS_TOKEN, port: null, host: "127.0.0.1" } },
  });
});
beforeEach(async () => {
  p = await t.provision();
});
afterAll(async () => {
  await t.stop();
});

const code = (response: { body: { error?: { code?: string } } }) => response.body?.error?.code;

function passport(ids: Provisioned, proof?: string, json: unknown = {}) {
  const headers: Record<string, string> = { "x-agent-token": ids.agentToken };
  if (proof !== undefined) headers.dpop = proof;
  return api(t.url, PASSPORTS, { method: "POST", headers, json });
}

async function openLogin(ids: Provisioned) {
  const created = await api(t.url, REQUESTS, {
    method: "POST",
    headers: { "x-site-token": ids.siteToken },
    json: {},
  });
  const id = created.body.data.login_request_id as string;
  const challenge = (await api(t.url, `/api/v1/auth/requests/${id}`)).body.data;
  return { id, challenge: challenge.pow_challenge as string, difficulty: challenge.pow_difficulty as number };
}

function approve(ids: Provisioned, id: string, powNonce: string, proof?: string) {
  const headers: Record<string, string> = { "x-agent-token": ids.agentToken };
  if (proof !== undefined) headers.dpop = proof;
  return api(t.url, `${REQUESTS}/${id}/approve`, { method: "POST", headers, json: { pow_nonce: powNonce } });
}

/** The passport the site reads for its request (what the event stream carries too). */
async function sitePassport(ids: Provisioned, id: string) {
  const read = await api(t.url, `${REQUESTS}/${id}`, { headers: { "x-site-token": ids.siteToken } });
  return { status: read.body.data.status as string, jwt: read.body.data.agent_passport_jwt as string | null };
}

describe("self-service passports", () => {
  test("with a proof made with an active key: cnf.jkt is the key's RFC 7638 thumbprint", async () => {
    const { key } = await registeredKey(t, p.agentToken, "P-256");
    const response = await passport(p, await proofFor(t, key, PASSPORTS));
    expect(response.status).toBe(201);
    const claims = decodeJwt(response.body.data.passport);
    expect(claims.cnf).toEqual({ jkt: await calculateJwkThumbprint(key.publicJwk, "sha256") });
    expect(claims.sub).toBe(p.agentId);
  });

  test("without a proof: no cnf claim, as before (LIME's clients send none)", async () => {
    await registeredKey(t, p.agentToken);
    const response = await passport(p);
    expect(response.status).toBe(201);
    expect(decodeJwt(response.body.data.passport)).not.toHaveProperty("cnf");
  });

  test("a proof for another route, a replayed one, an unsigned one: refused with their codes, never an unbound passport", async () => {
    const { key } = await registeredKey(t, p.agentToken);
    const wrongRoute = await passport(p, await proofFor(t, key, KEYS));
    expect([wrongRoute.status, code(wrongRoute)]).toEqual([400, "KEY_PROOF_INVALID"]);
    const proof = await proofFor(t, key, PASSPORTS);
    expect((await passport(p, proof)).status).toBe(201);
    const replayed = await passport(p, proof);
    expect([replayed.status, code(replayed)]).toEqual([400, "KEY_PROOF_REPLAYED"]);
    const garbage = await passport(p, "eyJhbGciOiJub25lIn0.e30.");
    expect([garbage.status, code(garbage)]).toEqual([400, "KEY_PROOF_INVALID"]);
  });

  test("a key never registered, another agent's, or revoked: 403 AGENT_KEY_NOT_REGISTERED", async () => {
    const unregistered = await generateAgentKey();
    const other = await t.provision();
    const theirs = (await registeredKey(t, other.agentToken)).key;
    const revoked = (await registeredKey(t, p.agentToken)).key;
    expect((await asAgent(t, p, "DELETE", `${KEYS}/${revoked.kid}`)).status).toBe(204);
    for (const key of [unregistered, theirs, revoked]) {
      const response = await passport(p, await proofFor(t, key, PASSPORTS));
      expect([response.status, code(response)]).toEqual([403, "AGENT_KEY_NOT_REGISTERED"]);
    }
  });

  test("the audience is checked before the proof: a reserved audience does not spend the proof", async () => {
    const { key } = await registeredKey(t, p.agentToken);
    const proof = await proofFor(t, key, PASSPORTS);
    const reserved = await passport(p, proof, { audience: "lime-site-login" });
    expect(code(reserved)).toBe("AUDIENCE_RESERVED");
    expect((await passport(p, proof)).status).toBe(201);
  });

  test("bound passports are counted in lime_bound_passports_issued_total{kind}", async () => {
    const scrape = async () =>
      (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    const sample = (text: string, kind: string) =>
      Number(
        new RegExp(`^lime_bound_passports_issued_total\\{kind="${kind}"\\} (\\d+)`, "m").exec(text)?.[1],
      );
    const before = sample(await scrape(), "self_service");
    const { key } = await registeredKey(t, p.agentToken);
    await passport(p, await proofFor(t, key, PASSPORTS));
    await passport(p);
    const text = await scrape();
    expect(sample(text, "self_service")).toBe(before + 1);
    expect(text).toMatch(/^lime_agent_keys_registered_total\{alg="ed25519"\} [1-9]/m);
  });
});

describe("login approvals", () => {
  test("a proof whose nonce is the PoW challenge binds the site's passport to the key", async () => {
    const { key } = await registeredKey(t, p.agentToken);
    const login = await openLogin(p);
    const proof = await proofFor(t, key, `${REQUESTS}/${login.id}/approve`, { nonce: login.challenge });
    const approved = await approve(p, login.id, await solvePow(login.challenge, login.difficulty), proof);
    expect(approved.status).toBe(200);
    const { jwt } = await sitePassport(p, login.id);
    const claims = decodeJwt(jwt!);
    expect(claims.cnf).toEqual({ jkt: await calculateJwkThumbprint(key.publicJwk, "sha256") });
    expect(claims).toMatchObject({ aud: "lime-site-login", request_id: login.id, site_id: p.siteId });
  });

  test("without a proof the site's passport is unbound, as LIME's SDKs expect", async () => {
    await registeredKey(t, p.agentToken);
    const login = await openLogin(p);
    expect((await approve(p, login.id, await solvePow(login.challenge, login.difficulty))).status).toBe(200);
    expect(decodeJwt((await sitePassport(p, login.id)).jwt!)).not.toHaveProperty("cnf");
  });

  test("a proof with a wrong nonce or for another request: KEY_PROOF_INVALID, the request stays PENDING", async () => {
    const { key } = await registeredKey(t, p.agentToken);
    const login = await openLogin(p);
    const other = await openLogin(p);
    const nonce = await solvePow(login.challenge, login.difficulty);
    const approvePath = `${REQUESTS}/${login.id}/approve`;
    for (const proof of [
      await proofFor(t, key, approvePath, { nonce: "0".repeat(64) }),
      await proofFor(t, key, approvePath),
      await proofFor(t, key, `${REQUESTS}/${other.id}/approve`, { nonce: login.challenge }),
    ]) {
      const refused = await approve(p, login.id, nonce, proof);
      expect([refused.status, code(refused)]).toEqual([400, "KEY_PROOF_INVALID"]);
    }
    expect((await sitePassport(p, login.id)).status).toBe("PENDING");
    const retry = await approve(
      p,
      login.id,
      nonce,
      await proofFor(t, key, approvePath, { nonce: login.challenge }),
    );
    expect(retry.status).toBe(200);
  });

  test("the proof is checked before the proof of work: a good proof with a wrong PoW nonce is INVALID_POW", async () => {
    const { key } = await registeredKey(t, p.agentToken);
    const login = await openLogin(p);
    const approvePath = `${REQUESTS}/${login.id}/approve`;
    const unregistered = await generateAgentKey();
    const notRegistered = await approve(
      p,
      login.id,
      wrongNonce(login.challenge, login.difficulty),
      await proofFor(t, unregistered, approvePath, { nonce: login.challenge }),
    );
    expect([notRegistered.status, code(notRegistered)]).toEqual([403, "AGENT_KEY_NOT_REGISTERED"]);
    const badPow = await approve(
      p,
      login.id,
      wrongNonce(login.challenge, login.difficulty),
      await proofFor(t, key, approvePath, { nonce: login.challenge }),
    );
    expect([badPow.status, code(badPow)]).toEqual([400, "INVALID_POW"]);
  });

  test("a refused proof is audited as a rejected approval with its code", async () => {
    const { key } = await registeredKey(t, p.agentToken);
    const login = await openLogin(p);
    await approve(
      p,
      login.id,
      await solvePow(login.challenge, login.difficulty),
      await proofFor(t, key, KEYS),
    );
    const audit = await api(t.url, "/api/v1/foundation/audit?limit=50", {
      headers: { authorization: `Bearer ${p.sessionToken}` },
    });
    expect(audit.body.data.events).toContainEqual(
      expect.objectContaining({ action: "login_request.approval_rejected", reason: "KEY_PROOF_INVALID" }),
    );
  });
});
