/**
 * Registering, listing and revoking agent signing keys over HTTP, through
 * the real app: the key is the DPoP proof's (made with core, and once with
 * jose as an independent signer), each refusal has its code, a proof is
 * single use, 5 ACTIVE keys per agent, a thumbprint is registered once ever,
 * revocation by the agent and by its owner is audited and reaches sites.
 */

import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { generateAgentKey } from "@lime-ts/core/http-signatures";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from "jose";
import { FakeClock, type Provisioned, startTestServer, type TestServer } from "../../../server/testing.ts";
import { api } from "../helpers.ts";
import { asAgent, asOwner, KEYS, proofFor, register, registeredKey, seconds } from "./support.ts";

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

const code = (response: { body: { error?: { code?: string } } }) => response.body?.error?.code;

async function auditEvents(ids: Provisioned) {
  const audit = await asOwner(t, ids, "GET", "/api/v1/foundation/audit?limit=200");
  return audit.body.data.events as Array<{
    action: string;
    actor: { type: string; id: string };
    target: { type: string; id: string } | null;
  }>;
}

describe("registration", () => {
  test("an Ed25519 key from the proof: 201 with kid = its RFC 7638 thumbprint (jose), alg, jwk, label, ACTIVE", async () => {
    const key = await generateAgentKey("Ed25519");
    const response = await register(t, p.agentToken, await proofFor(t, key, KEYS), { label: "  laptop  " });
    expect(response.status).toBe(201);
    expect(response.body.data).toEqual({
      kid: await calculateJwkThumbprint(key.publicJwk, "sha256"),
      alg: "ed25519",
      jwk: { kty: "OKP", crv: "Ed25519", x: key.publicJwk.x },
      label: "laptop",
      status: "ACTIVE",
      created_at: new Date(Math.floor(clock.now() / 1000) * 1000).toISOString().replace(".000Z", "Z"),
      revoked_at: null,
      directory_signature_expires_at: null,
    });
    const events = await auditEvents(p);
    expect(events).toContainEqual(
      expect.objectContaining({
        action: "agent_key.registered",
        actor: { type: "agent", id: p.agentId },
        target: { type: "agent_key", id: key.kid },
      }),
    );
  });

  test("a P-256 key is ecdsa-p256-sha256 with x and y; no body and a null label are fine", async () => {
    const key = await generateAgentKey("P-256");
    const response = await api(t.url, KEYS, {
      method: "POST",
      headers: { "x-agent-token": p.agentToken, dpop: await proofFor(t, key, KEYS) },
    });
    expect(response.status).toBe(201);
    expect(response.body.data).toMatchObject({
      kid: key.kid,
      alg: "ecdsa-p256-sha256",
      jwk: { kty: "EC", crv: "P-256", x: key.publicJwk.x, y: key.publicJwk.y },
      label: null,
    });
    const again = await generateAgentKey("P-256");
    expect((await register(t, p.agentToken, await proofFor(t, again, KEYS), { label: null })).status).toBe(
      201,
    );
  });

  test("a proof made by jose (an independent JWS implementation) registers its key", async () => {
    const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const jwk = await exportJWK(publicKey);
    const proof = await new SignJWT({
      htm: "POST",
      htu: `${t.config.publicUrl}${KEYS}`,
      jti: crypto.randomUUID(),
    })
      .setProtectedHeader({ typ: "dpop+jwt", alg: "EdDSA", jwk })
      .setIssuedAt(seconds(t))
      .sign(privateKey);
    const response = await register(t, p.agentToken, proof);
    expect(response.status).toBe(201);
    expect(response.body.data.kid).toBe(await calculateJwkThumbprint(jwk, "sha256"));
  });

  test("without a DPoP header: 400 KEY_PROOF_REQUIRED", async () => {
    const response = await register(t, p.agentToken, null);
    expect(response.status).toBe(400);
    expect(code(response)).toBe("KEY_PROOF_REQUIRED");
  });

  test("a proof for another URL, method or time, a bad signature, two proofs, garbage: 400 KEY_PROOF_INVALID, nothing registered", async () => {
    const key = await generateAgentKey();
    const bad = [
      await proofFor(t, key, "/api/v1/core/passports"),
      await proofFor(t, key, KEYS, { htu: `https://elsewhere.example${KEYS}` }),
      await proofFor(t, key, KEYS, { htm: "PUT" }),
      await proofFor(t, key, KEYS, { iat: seconds(t) - 61 }),
      await proofFor(t, key, KEYS, { iat: seconds(t) + 61 }),
      "not.a.jws",
      "x".repeat(5000),
    ];
    const good = await proofFor(t, key, KEYS);
    const [head, payload, signature] = good.split(".");
    const flipped = `${signature![0] === "A" ? "B" : "A"}${signature!.slice(1)}`;
    bad.push(`${head}.${payload}.${flipped}`, `${good}, ${good}`);
    for (const proof of bad) {
      const response = await register(t, p.agentToken, proof);
      expect([response.status, code(response)]).toEqual([400, "KEY_PROOF_INVALID"]);
    }
    const listed = await asAgent(t, p, "GET", KEYS);
    expect(listed.body.data.keys).toEqual([]);
  });

  test("a proof is single use: sent twice, the second is 400 KEY_PROOF_REPLAYED", async () => {
    const key = await generateAgentKey();
    const proof = await proofFor(t, key, KEYS);
    expect((await register(t, p.agentToken, proof)).status).toBe(201);
    const replayed = await register(t, p.agentToken, proof);
    expect([replayed.status, code(replayed)]).toEqual([400, "KEY_PROOF_REPLAYED"]);
    // Also by another agent: a captured proof registers nothing anywhere.
    const other = await t.provision();
    const stolen = await register(t, other.agentToken, proof);
    expect(code(stolen)).toBe("KEY_PROOF_REPLAYED");
  });

  test("an RSA, a P-384 or a private key: 400 AGENT_KEY_UNSUPPORTED", async () => {
    const proofWith = async (alg: string, options: Record<string, unknown> = {}, withPrivate = false) => {
      const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...options });
      const jwk = await exportJWK(withPrivate ? privateKey : publicKey);
      return new SignJWT({ htm: "POST", htu: `${t.config.publicUrl}${KEYS}`, jti: crypto.randomUUID() })
        .setProtectedHeader({ typ: "dpop+jwt", alg, jwk })
        .setIssuedAt(seconds(t))
        .sign(privateKey);
    };
    for (const proof of [
      await proofWith("RS256", { modulusLength: 2048 }),
      await proofWith("ES384"),
      await proofWith("EdDSA", { crv: "Ed25519" }, true),
    ]) {
      const response = await register(t, p.agentToken, proof);
      expect([response.status, code(response)]).toEqual([400, "AGENT_KEY_UNSUPPORTED"]);
    }
  });

  test("a thumbprint is registered once, ever: again, by another agent, after revocation: 409 AGENT_KEY_EXISTS", async () => {
    const { key } = await registeredKey(t, p.agentToken);
    const again = await register(t, p.agentToken, await proofFor(t, key, KEYS));
    expect([again.status, code(again)]).toEqual([409, "AGENT_KEY_EXISTS"]);
    const other = await t.provision();
    expect(code(await register(t, other.agentToken, await proofFor(t, key, KEYS)))).toBe("AGENT_KEY_EXISTS");
    expect((await asAgent(t, p, "DELETE", `${KEYS}/${key.kid}`)).status).toBe(204);
    expect(code(await register(t, p.agentToken, await proofFor(t, key, KEYS)))).toBe("AGENT_KEY_EXISTS");
  });

  test("5 ACTIVE keys per agent: the 6th is 409 AGENT_KEY_LIMIT; revoking one makes room", async () => {
    const kids: string[] = [];
    for (let i = 0; i < 5; i++) kids.push((await registeredKey(t, p.agentToken)).key.kid);
    const sixth = await generateAgentKey();
    const refused = await register(t, p.agentToken, await proofFor(t, sixth, KEYS));
    expect([refused.status, code(refused)]).toEqual([409, "AGENT_KEY_LIMIT"]);
    expect(refused.body.error.detail).toEqual({ max_active_keys: 5 });
    // Another agent of the same owner has its own five.
    const second = await api(t.url, "/api/v1/core/agents/register", {
      method: "POST",
      headers: { authorization: `Bearer ${p.sessionToken}` },
      json: { display_name: "Second" },
    });
    expect((await register(t, second.body.data.agent_token, await proofFor(t, sixth, KEYS))).status).toBe(
      201,
    );
    expect((await asAgent(t, p, "DELETE", `${KEYS}/${kids[0]}`)).status).toBe(204);
    expect((await registeredKey(t, p.agentToken)).data.status).toBe("ACTIVE");
  });

  test("concurrent registrations of 8 keys for one agent: exactly 5 succeed, the rest are AGENT_KEY_LIMIT", async () => {
    const keys = await Promise.all(Array.from({ length: 8 }, () => generateAgentKey()));
    const proofs = await Promise.all(keys.map((key) => proofFor(t, key, KEYS)));
    const answers = await Promise.all(proofs.map((proof) => register(t, p.agentToken, proof)));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(5);
    expect(answers.filter((a) => code(a) === "AGENT_KEY_LIMIT")).toHaveLength(3);
  });

  test("a label longer than 64 characters or with a control character: 400 VALIDATION_FAILED", async () => {
    const key = await generateAgentKey();
    for (const label of ["x".repeat(65), "bad\nlabel"]) {
      const response = await register(t, p.agentToken, await proofFor(t, key, KEYS), { label });
      expect([response.status, code(response)]).toEqual([400, "VALIDATION_FAILED"]);
    }
  });

  test("the agent token comes first: none, a wrong one, a revoked agent's", async () => {
    const key = await generateAgentKey();
    const proof = await proofFor(t, key, KEYS);
    const none = await api(t.url, KEYS, { method: "POST", headers: { dpop: proof }, json: {} });
    expect([none.status, code(none)]).toEqual([401, "MISSING_AGENT_TOKEN"]);
    expect(code(await register(t, "lime_agent_wrong", proof))).toBe("INVALID_AGENT_TOKEN");
    await asOwner(t, p, "DELETE", `/api/v1/core/agents/${p.agentId}`);
    expect(code(await register(t, p.agentToken, proof))).toBe("AGENT_REVOKED");
  });
});

describe("rate limit", () => {
  test("key writes are limited per agent (RATE_LIMIT_AGENT_KEY_WRITES_PER_MINUTE): 429 with Retry-After", async () => {
    const local = await startTestServer({
      clock: new FakeClock(),
      config: { rateLimits: { agentKeyWritesPerMinute: 2 } },
    });
    try {
      const ids = await local.provision();
      const answers = [];
      for (let i = 0; i < 3; i++) {
        const key = await generateAgentKey();
        answers.push(await register(local, ids.agentToken, await proofFor(local, key, KEYS)));
      }
      expect(answers.map((a) => a.status)).toEqual([201, 201, 429]);
      expect(code(answers[2]!)).toBe("RATE_LIMIT_EXCEEDED");
      expect(Number(answers[2]!.headers.get("retry-after"))).toBeGreaterThan(0);
    } finally {
      await local.stop();
    }
  });
});

describe("listing and revoking", () => {
  test("the agent lists its keys: active first, revoked ones with status REVOKED and revoked_at", async () => {
    const first = await registeredKey(t, p.agentToken, "Ed25519", "first");
    clock.advance(1000);
    const second = await registeredKey(t, p.agentToken, "P-256", "second");
    clock.advance(1000);
    expect((await asAgent(t, p, "DELETE", `${KEYS}/${second.key.kid}`)).status).toBe(204);
    const listed = await asAgent(t, p, "GET", KEYS);
    expect(listed.status).toBe(200);
    const keys = listed.body.data.keys as Array<Record<string, unknown>>;
    expect(keys.map((k) => [k.kid, k.status])).toEqual([
      [first.key.kid, "ACTIVE"],
      [second.key.kid, "REVOKED"],
    ]);
    expect(keys[1]!.revoked_at).toBe(
      new Date(Math.floor(clock.now() / 1000) * 1000).toISOString().replace(".000Z", "Z"),
    );
  });

  test("revoking a key twice, another agent's key or an unknown kid: 404 AGENT_KEY_NOT_FOUND; a malformed kid 400", async () => {
    const { key } = await registeredKey(t, p.agentToken);
    const other = await t.provision();
    const theirs = await asAgent(t, other, "DELETE", `${KEYS}/${key.kid}`);
    expect([theirs.status, code(theirs)]).toEqual([404, "AGENT_KEY_NOT_FOUND"]);
    expect((await asAgent(t, p, "DELETE", `${KEYS}/${key.kid}`)).status).toBe(204);
    expect(code(await asAgent(t, p, "DELETE", `${KEYS}/${key.kid}`))).toBe("AGENT_KEY_NOT_FOUND");
    expect(code(await asAgent(t, p, "DELETE", `${KEYS}/${"A".repeat(43)}`))).toBe("AGENT_KEY_NOT_FOUND");
    const malformed = await asAgent(t, p, "DELETE", `${KEYS}/not-a-kid`);
    expect([malformed.status, code(malformed)]).toEqual([400, "VALIDATION_FAILED"]);
  });

  test("the owner lists and revokes an agent's keys; the audit names the owner as the actor", async () => {
    const { key } = await registeredKey(t, p.agentToken, "Ed25519", "owner-test");
    const listed = await asOwner(t, p, "GET", `/api/v1/core/agents/${p.agentId}/keys`);
    expect(listed.status).toBe(200);
    expect(listed.body.data.keys.map((k: { kid: string }) => k.kid)).toEqual([key.kid]);
    expect((await asOwner(t, p, "DELETE", `/api/v1/core/agents/${p.agentId}/keys/${key.kid}`)).status).toBe(
      204,
    );
    const after = await asAgent(t, p, "GET", KEYS);
    expect(after.body.data.keys[0].status).toBe("REVOKED");
    expect(await auditEvents(p)).toContainEqual(
      expect.objectContaining({
        action: "agent_key.revoked",
        actor: { type: "owner", id: p.ownerId },
        target: { type: "agent_key", id: key.kid },
      }),
    );
  });

  test("another owner: AGENT_NOT_FOUND for the list, AGENT_KEY_NOT_FOUND for a revocation, and the key stays", async () => {
    const { key } = await registeredKey(t, p.agentToken);
    const other = await t.provision();
    const list = await asOwner(t, other, "GET", `/api/v1/core/agents/${p.agentId}/keys`);
    expect([list.status, code(list)]).toEqual([404, "AGENT_NOT_FOUND"]);
    const revoke = await asOwner(t, other, "DELETE", `/api/v1/core/agents/${p.agentId}/keys/${key.kid}`);
    expect([revoke.status, code(revoke)]).toEqual([404, "AGENT_KEY_NOT_FOUND"]);
    expect((await asAgent(t, p, "GET", KEYS)).body.data.keys[0].status).toBe("ACTIVE");
  });

  test("the agent revoking its key is audited with the agent as the actor", async () => {
    const { key } = await registeredKey(t, p.agentToken);
    await asAgent(t, p, "DELETE", `${KEYS}/${key.kid}`);
    expect(await auditEvents(p)).toContainEqual(
      expect.objectContaining({
        action: "agent_key.revoked",
        actor: { type: "agent", id: p.agentId },
        target: { type: "agent_key", id: key.kid },
      }),
    );
  });

  test("a revoked agent's keys all show as REVOKED at the agent's revocation time, and cannot be revoked again", async () => {
    const { key } = await registeredKey(t, p.agentToken);
    clock.advance(5000);
    await asOwner(t, p, "DELETE", `/api/v1/core/agents/${p.agentId}`);
    const listed = await asOwner(t, p, "GET", `/api/v1/core/agents/${p.agentId}/keys`);
    const agents = await asOwner(t, p, "GET", "/api/v1/core/agents");
    const revokedAt = agents.body.data.agents.find(
      (a: { agent_id: string }) => a.agent_id === p.agentId,
    ).revoked_at;
    expect(listed.body.data.keys).toEqual([
      expect.objectContaining({ kid: key.kid, status: "REVOKED", revoked_at: revokedAt }),
    ]);
    expect(code(await asOwner(t, p, "DELETE", `/api/v1/core/agents/${p.agentId}/keys/${key.kid}`))).toBe(
      "AGENT_KEY_NOT_FOUND",
    );
  });
});
