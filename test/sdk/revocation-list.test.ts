/**
 * The site SDK's revocation checker against a scripted issuer: real RS256
 * keys and signatures, a fake transport. A list is applied only when its JWT
 * verifies against the issuer's JWKS and its digest matches its entries; a
 * forged, tampered, mistyped or older list changes nothing. Polling is
 * bounded (interval, shared fetches, ETag), and so is the body.
 */
import { describe, expect, test } from "bun:test";
import { encodeBase64url } from "@lime-ts/core/encoding";
import { generateSigningKey, type SigningKey } from "@lime-ts/core/keys";
import { signBindingPassport, signJwt } from "@lime-ts/core/passport";
import { PassportVerifier } from "@lime-ts/sdk";
import { createTestIssuer, ISSUER, JWKS_URL, sign, type TestIssuer } from "./helpers/issuer.ts";

const LIST_URL = `${ISSUER}/api/v1/core/revocations`;
const AUDIENCE = "https://shop.test";

interface ListOptions {
  key?: SigningKey;
  typ?: string;
  iat?: number;
  digestOf?: string;
}

async function listBody(issuer: TestIssuer, entries: unknown[], options: ListOptions = {}): Promise<string> {
  const entriesJson = JSON.stringify(entries);
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(options.digestOf ?? entriesJson),
  );
  const iat = options.iat ?? Math.floor(Date.now() / 1000);
  const jwt = await signJwt(
    {
      iss: ISSUER,
      sub: "passport-revocations",
      aud: "lime-revocation-list",
      iat,
      exp: iat + 900,
      jti: crypto.randomUUID(),
      entries_sha256: encodeBase64url(new Uint8Array(digest)),
    },
    options.key ?? issuer.keys[0]!,
    { typ: options.typ ?? "revocation-list+jwt" },
  );
  return JSON.stringify({ ok: true, data: { list_jwt: jwt, entries_json: entriesJson } });
}

/** An issuer whose list is whatever `body` holds; `etag` answers 304 to a matching If-None-Match. */
async function setup(revocation: ConstructorParameters<typeof PassportVerifier>[0]["revocation"] = {}) {
  const issuer = await createTestIssuer();
  const state = { body: await listBody(issuer, []), etag: '"v1"', listRequests: [] as (string | null)[] };
  const verifier = new PassportVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    revocation: { pollIntervalMs: 0, retryAfterFailureMs: 0, ...revocation },
    fetch: async (input, init) => {
      if (String(input) === JWKS_URL) return issuer.fetch(input, init);
      expect(String(input)).toBe(LIST_URL);
      const ifNoneMatch = new Headers(init?.headers).get("if-none-match");
      state.listRequests.push(ifNoneMatch);
      if (ifNoneMatch === state.etag)
        return new Response(null, { status: 304, headers: { etag: state.etag } });
      return new Response(state.body, { status: 200, headers: { etag: state.etag } });
    },
  });
  const publish = async (entries: unknown[], options: ListOptions = {}) => {
    state.body = await listBody(issuer, entries, options);
    state.etag = `"${crypto.randomUUID()}"`;
  };
  return { issuer, state, verifier, publish };
}

async function code(run: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await run();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

describe("the revocation list in PassportVerifier", () => {
  test("a signed list refuses what it names: every passport of a revoked agent, only pre-rotation ones of a rotated token", async () => {
    const { issuer, verifier, publish } = await setup();
    const now = Math.floor(Date.now() / 1000);
    const old = await sign(issuer.keys[0]!, { sub: "rotated" }, now - 10);
    const fresh = await sign(issuer.keys[0]!, { sub: "rotated" }, now);
    const revoked = await sign(issuer.keys[0]!, { sub: "gone" });
    expect((await verifier.verify(revoked)).agentId).toBe("gone");
    await publish([
      { kind: "agent", agent_id: "gone", at: now },
      { kind: "agent_token", agent_id: "rotated", at: now - 5 },
      { kind: "a-kind-from-the-future", agent_id: "agent-1", at: now },
    ]);
    expect(await code(() => verifier.verify(revoked))).toBe("PASSPORT_REVOKED");
    expect(await code(() => verifier.verify(old))).toBe("PASSPORT_REVOKED");
    expect((await verifier.verify(fresh)).agentId).toBe("rotated");
    // An entry of an unknown kind is skipped, not a reason to refuse everything.
    expect((await verifier.verify(await sign(issuer.keys[0]!))).agentId).toBe("agent-1");
    expect(verifier.revocations!.stats.refused).toBe(2);
  });

  test("a revoked binding refuses that binding's passports only", async () => {
    const { issuer, verifier, publish } = await setup();
    const binding = (id: string) => {
      const iat = Math.floor(Date.now() / 1000);
      return signBindingPassport(
        {
          iss: ISSUER,
          sub: "agent-1",
          aud: "lime-binding",
          iat,
          exp: iat + 60,
          jti: crypto.randomUUID(),
          binding_id: id,
          agent_id: "agent-1",
          user_id: "owner-1",
          site_id: "site-1",
          user_kyc_level: 1,
          agent_reputation: 0,
          passport_version: 1,
        },
        issuer.keys[0]!,
      );
    };
    await publish([{ kind: "binding", binding_id: "b-revoked", at: 1 }]);
    expect(await code(async () => verifier.verifyBinding(await binding("b-revoked")))).toBe(
      "PASSPORT_REVOKED",
    );
    expect((await verifier.verifyBinding(await binding("b-kept"))).bindingId).toBe("b-kept");
  });

  test("a revoked agent key (kind agent_key) refuses the passports bound to it (cnf.jkt) only, from the list and from an event", async () => {
    const { issuer, verifier, publish } = await setup();
    const [revokedKey, keptKey, learnedKey] = ["A", "E", "I"].map((c) => c.repeat(43)) as [
      string,
      string,
      string,
    ];
    const bound = (jkt: string) => sign(issuer.keys[0]!, { cnf: { jkt } });
    await publish([
      { kind: "agent_key", agent_id: "agent-1", jkt: revokedKey, at: 1 },
      { kind: "agent_key", agent_id: "agent-1", at: 1 }, // no jkt: not an entry, skipped
    ]);
    expect(await code(async () => verifier.verify(await bound(revokedKey)))).toBe("PASSPORT_REVOKED");
    expect((await verifier.verify(await bound(keptKey))).boundKeyThumbprint).toBe(keptKey);
    expect((await verifier.verify(await sign(issuer.keys[0]!))).agentId).toBe("agent-1");
    verifier.revocations!.learn({ kind: "agent_key", agentId: "agent-1", jkt: learnedKey, at: 1 });
    expect(await code(async () => verifier.verify(await bound(learnedKey)))).toBe("PASSPORT_REVOKED");
    expect((await verifier.verify(await bound(keptKey))).agentId).toBe("agent-1");
  });

  test("a forged list (a key the JWKS does not publish), a tampered one, a passport posing as one: nothing changes", async () => {
    const { issuer, verifier, publish } = await setup();
    const token = await sign(issuer.keys[0]!);
    const entries = [{ kind: "agent", agent_id: "agent-1", at: 1 }];
    const stranger = await generateSigningKey();
    for (const forged of [
      { key: stranger },
      { digestOf: "[]" },
      { typ: "passport+jwt" },
    ] satisfies ListOptions[]) {
      await publish(entries, forged);
      expect((await verifier.verify(token)).agentId).toBe("agent-1");
    }
    expect(verifier.revocations!.stats.failures).toBe(3);
    await publish(entries);
    expect(await code(() => verifier.verify(token))).toBe("PASSPORT_REVOKED");
  });

  test("a tampered list does not undo what a genuine one said, nor does an older one", async () => {
    const { issuer, verifier, publish } = await setup();
    const token = await sign(issuer.keys[0]!);
    const now = Math.floor(Date.now() / 1000);
    await publish([{ kind: "agent", agent_id: "agent-1", at: now }], { iat: now });
    expect(await code(() => verifier.verify(token))).toBe("PASSPORT_REVOKED");
    await publish([], { digestOf: JSON.stringify([{ kind: "agent", agent_id: "agent-1", at: now }]) });
    expect(await code(() => verifier.verify(token))).toBe("PASSPORT_REVOKED");
    await publish([], { iat: now - 60 });
    expect(await code(() => verifier.verify(token))).toBe("PASSPORT_REVOKED");
    expect(verifier.revocations!.listIssuedAt).toBe(now);
  });

  test("polling: nothing within the interval, then one conditional request (304 keeps the list); concurrent checks share it", async () => {
    let now = Date.now();
    const issuer = await createTestIssuer();
    const requests: (string | null)[] = [];
    const body = await listBody(issuer, [{ kind: "agent", agent_id: "gone", at: 1 }]);
    let release: () => void = () => {};
    let gate: Promise<void> = Promise.resolve();
    const verifier = new PassportVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      now: () => now,
      revocation: { pollIntervalMs: 30_000 },
      fetch: async (input, init) => {
        if (String(input) === JWKS_URL) return issuer.fetch(input, init);
        const ifNoneMatch = new Headers(init?.headers).get("if-none-match");
        requests.push(ifNoneMatch);
        await gate;
        if (ifNoneMatch === '"e1"') return new Response(null, { status: 304, headers: { etag: '"e1"' } });
        return new Response(body, { status: 200, headers: { etag: '"e1"' } });
      },
    });
    const token = await sign(issuer.keys[0]!);
    await verifier.verify(token);
    await verifier.verify(token);
    now += 29_000;
    await verifier.verify(token);
    expect(requests).toEqual([null]);
    now += 2_000;
    gate = new Promise((resolve) => {
      release = resolve;
    });
    const together = Promise.all([verifier.verify(token), verifier.verify(token), verifier.verify(token)]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    release();
    await together;
    expect(requests).toEqual([null, '"e1"']);
    expect(verifier.revocations!.stats.notModified).toBe(1);
  });

  test("a body over maxBytes is refused without being applied; an unreachable list leaves verification working", async () => {
    const { issuer, verifier, publish, state } = await setup({ maxBytes: 2048 });
    const token = await sign(issuer.keys[0]!);
    await publish(Array.from({ length: 100 }, (_, i) => ({ kind: "agent", agent_id: `agent-${i}`, at: 1 })));
    expect(state.body.length).toBeGreaterThan(2048);
    expect((await verifier.verify(token)).agentId).toBe("agent-1");
    expect(verifier.revocations!.stats.failures).toBe(1);
    issuer.mode = "down";
    expect((await verifier.verify(token)).agentId).toBe("agent-1");
  });

  test("a revocation learned from an event refuses at once, and stays until a list holds it", async () => {
    const { issuer, verifier, publish } = await setup();
    const token = await sign(issuer.keys[0]!);
    expect((await verifier.verify(token)).agentId).toBe("agent-1");
    verifier.revocations!.learn({ kind: "agent", agentId: "agent-1", at: 5 });
    expect(await code(() => verifier.verify(token))).toBe("PASSPORT_REVOKED");
    await publish([]);
    expect(await code(() => verifier.verify(token))).toBe("PASSPORT_REVOKED");
    await publish([{ kind: "agent", agent_id: "agent-1", at: 5 }]);
    expect(await code(() => verifier.verify(token))).toBe("PASSPORT_REVOKED");
    await publish([]);
    // The list held it, so the event's copy is gone: the issuer's word (the entry lapsed) now rules.
    expect((await verifier.verify(token)).agentId).toBe("agent-1");
  });

  test("turned off, no list is fetched and nothing is refused", async () => {
    const { issuer, state, publish } = await setup();
    const verifier = new PassportVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      fetch: issuer.fetch,
      revocation: { enabled: false },
    });
    await publish([{ kind: "agent", agent_id: "agent-1", at: 1 }]);
    expect((await verifier.verify(await sign(issuer.keys[0]!))).agentId).toBe("agent-1");
    expect(verifier.revocations).toBeUndefined();
    expect(state.listRequests).toEqual([]);
  });
});
