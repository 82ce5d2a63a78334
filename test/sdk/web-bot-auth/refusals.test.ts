/**
 * Each refusal of a signed request, with its stable code, in the order the
 * site checks them (docs/web-bot-auth.md): against a live server's
 * passports, JWKS and key directories; signatures made by `AgentClient.fetch`
 * or by hand with the core's `signMessage`, all real.
 */
import { describe, expect, test } from "bun:test";
import {
  AgentClient,
  createPassportGuard,
  generateAgentKey,
  type PassportGuardOptions,
  withAgentPassport,
} from "@lime-ts/sdk";
import { SLOW_TEST_TIMEOUT_MS } from "../../support/slow-test.ts";
import { serverForFile } from "../helpers/server-for-file.ts";
import {
  agentWithKey,
  capturedRequest,
  directoryUrl,
  handSigned,
  outcome,
  SITE,
  siteCapture,
} from "./helpers.ts";

const lime = serverForFile();

/** A fresh guard (its own replay cache); revocations off unless a test turns them on. */
function guard(options: Partial<PassportGuardOptions> = {}) {
  return createPassportGuard({
    issuer: lime.server.url,
    audience: SITE,
    revocation: { enabled: false },
    ...options,
  });
}

/** A registered agent whose requests to SITE are captured, and its key-bound passport for SITE. */
async function signer() {
  const capture = siteCapture();
  const { agent, key } = await agentWithKey(lime.server, lime.ids, { fetch: capture.fetch });
  const passport = await agent.passport({ audience: SITE });
  const signatureAgent = directoryUrl(lime.server, lime.ids.agentId);
  return { agent, key, passport, capture, signatureAgent };
}

function withHeaders(request: Request, change: (headers: Headers) => void): Request {
  const headers = new Headers(request.headers);
  change(headers);
  return new Request(request.url, { method: request.method, headers });
}

describe("what the guard accepts", () => {
  test("AgentClient.fetch's request: the passport and the signature, with what signed it", async () => {
    const { agent, key, capture } = await signer();
    const request = await capturedRequest(capture, agent);
    const verified = await guard()(request);
    expect(verified.agentId).toBe(lime.ids.agentId);
    expect(verified.boundKeyThumbprint).toBe(key.kid);
    expect(verified.signature).toMatchObject({
      keyId: key.kid,
      algorithm: "ed25519",
      components: ["@method", "@authority", "@path", "@query", "signature-agent", "authorization"],
    });
    expect(verified.signature!.expires - verified.signature!.created).toBe(60);
    expect(request.headers.get("signature-agent")).toBe(`"${directoryUrl(lime.server, lime.ids.agentId)}"`);
    expect(request.headers.get("signature-input")).toMatch(
      /^sig1=\(.*\);created=\d+;expires=\d+;keyid=".{43}";alg="ed25519";nonce="[\w-]{43}";tag="web-bot-auth"$/,
    );
  });

  test("LIME compatibility: an unbound passport without a signature passes, unless requireSignature", async () => {
    const agent = new AgentClient({ baseUrl: lime.server.url, agentToken: lime.ids.agentToken });
    const request = new Request(`${SITE}/orders`, {
      headers: { authorization: `AgentPassport ${await agent.passport({ audience: SITE })}` },
    });
    const verified = await guard()(request);
    expect(verified.boundKeyThumbprint).toBeUndefined();
    expect(verified.signature).toBeUndefined();
    expect(await outcome(() => guard({ requireSignature: true })(request))).toBe("SIGNATURE_MISSING");
  });

  test("Signature-Agent may be left out: the key is looked up in the issuer's directory of the passport's agent", async () => {
    const { key, passport } = await signer();
    const request = await handSigned({ passport, key, signatureAgent: null });
    expect(await outcome(() => guard()(request))).toBe("accepted");
  });
});

describe("refusals, in the order checked", () => {
  test("1. a bound passport without a signature: SIGNATURE_MISSING (401 with WWW-Authenticate)", async () => {
    const { agent, capture } = await signer();
    const request = await capturedRequest(capture, agent);
    const bare = withHeaders(request, (h) => {
      h.delete("signature");
      h.delete("signature-input");
      h.delete("signature-agent");
    });
    expect(await outcome(() => guard()(bare))).toBe("SIGNATURE_MISSING");
    // A signature with another tag is no Web Bot Auth signature either.
    const { key, passport } = await signer();
    const otherTag = await handSigned({ passport, key, tag: "something-else" });
    expect(await outcome(() => guard()(otherTag))).toBe("SIGNATURE_MISSING");

    const handler = withAgentPassport(
      { issuer: lime.server.url, audience: SITE, revocation: { enabled: false } },
      () => Response.json({ ok: true }),
    );
    const answer = await handler(bare);
    expect(answer.status).toBe(401);
    expect(answer.headers.get("www-authenticate")).toBe(
      `AgentPassport realm="${SITE}", error="invalid_token", error_description="SIGNATURE_MISSING"`,
    );
    expect(await answer.json()).toMatchObject({ ok: false, error: { code: "SIGNATURE_MISSING" } });
  });

  test("2. malformed Signature-Input or Signature: SIGNATURE_MALFORMED", async () => {
    const { agent, capture } = await signer();
    const request = await capturedRequest(capture, agent);
    for (const change of [
      (h: Headers) => h.set("signature-input", "sig1=not a list"),
      (h: Headers) => h.set("signature", 'sig1="text, not bytes"'),
      (h: Headers) => h.delete("signature"),
    ]) {
      expect(await outcome(() => guard()(withHeaders(request, change)))).toBe("SIGNATURE_MALFORMED");
    }
  });

  test("3. a signature that does not cover @authority and authorization: SIGNATURE_INCOMPLETE", async () => {
    const { key, passport, signatureAgent } = await signer();
    for (const components of [
      ["@method", "@path", "signature-agent", "authorization"],
      ["@method", "@authority", "@path", "signature-agent"],
    ]) {
      const request = await handSigned({ passport, key, signatureAgent, components });
      expect(await outcome(() => guard()(request))).toBe("SIGNATURE_INCOMPLETE");
    }
  });

  test("4. Signature-Agent naming another directory than the issuer's for this agent: SIGNATURE_AGENT_UNTRUSTED", async () => {
    const { key, passport, signatureAgent } = await signer();
    for (const elsewhere of [
      "https://attacker.test/.well-known/http-message-signatures-directory",
      signatureAgent.replace(lime.ids.agentId, "agt_someone_else"),
    ]) {
      const request = await handSigned({ passport, key, signatureAgent: elsewhere });
      expect(await outcome(() => guard()(request))).toBe("SIGNATURE_AGENT_UNTRUSTED");
    }
  });

  test("5. a keyid the agent's directory does not list: SIGNATURE_KEY_UNKNOWN", async () => {
    const { passport, signatureAgent } = await signer();
    const stranger = await generateAgentKey();
    const request = await handSigned({ passport, key: stranger, signatureAgent });
    expect(await outcome(() => guard()(request))).toBe("SIGNATURE_KEY_UNKNOWN");
  });

  test("6. a signature that does not verify: SIGNATURE_INVALID", async () => {
    const { agent, capture } = await signer();
    const request = await capturedRequest(capture, agent);
    // Another path than the one signed.
    const moved = new Request(request.url.replace("/orders", "/admin"), { headers: request.headers });
    expect(await outcome(() => guard()(moved))).toBe("SIGNATURE_INVALID");
    // A flipped bit in the signature.
    const flipped = withHeaders(request, (h) => {
      const value = h.get("signature")!;
      const at = value.indexOf(":") + 5;
      h.set("signature", value.slice(0, at) + (value[at] === "A" ? "B" : "A") + value.slice(at + 1));
    });
    expect(await outcome(() => guard()(flipped))).toBe("SIGNATURE_INVALID");
  });

  test("7. signed by another registered key of the agent than the passport is bound to: SIGNATURE_KEY_NOT_BOUND", async () => {
    const { passport, signatureAgent } = await signer();
    const { key: second } = await agentWithKey(lime.server, lime.ids);
    const request = await handSigned({ passport, key: second, signatureAgent });
    expect(await outcome(() => guard()(request))).toBe("SIGNATURE_KEY_NOT_BOUND");
    // An unbound passport with a signature is not bound to that key either.
    const unbound = await new AgentClient({
      baseUrl: lime.server.url,
      agentToken: lime.ids.agentToken,
    }).passport({
      audience: SITE,
    });
    const withUnbound = await handSigned({ passport: unbound, key: second, signatureAgent });
    expect(await outcome(() => guard()(withUnbound))).toBe("SIGNATURE_KEY_NOT_BOUND");
  });

  test("8. expired, not yet valid, living longer than 300 s: SIGNATURE_EXPIRED / SIGNATURE_NOT_YET_VALID", async () => {
    const { key, passport, signatureAgent } = await signer();
    const now = Math.floor(Date.now() / 1000);
    const cases: [Parameters<typeof handSigned>[0], string][] = [
      [{ passport, key, signatureAgent, created: now - 120, expires: now - 60 }, "SIGNATURE_EXPIRED"],
      [{ passport, key, signatureAgent, created: now + 120, expires: now + 180 }, "SIGNATURE_NOT_YET_VALID"],
      [{ passport, key, signatureAgent, created: now, expires: now + 301 }, "SIGNATURE_EXPIRED"],
    ];
    for (const [signing, code] of cases) {
      expect(await outcome(async () => guard()(await handSigned(signing)))).toBe(code);
    }
    // Within the clock tolerance (30 s) a signature from a clock slightly ahead is fine.
    const ahead = await handSigned({ passport, key, signatureAgent, created: now + 10, expires: now + 70 });
    expect(await outcome(() => guard()(ahead))).toBe("accepted");
  });

  test("9. the same signature twice, or none with no nonce: SIGNATURE_REPLAYED", async () => {
    const { agent, capture, key, passport, signatureAgent } = await signer();
    const request = await capturedRequest(capture, agent);
    const site = guard();
    expect(await outcome(() => site(request.clone()))).toBe("accepted");
    expect(await outcome(() => site(request.clone()))).toBe("SIGNATURE_REPLAYED");
    // Each guard holds its own nonces (docs/decisions/web-bot-auth.md).
    expect(await outcome(() => guard()(request.clone()))).toBe("accepted");
    const noNonce = await handSigned({ passport, key, signatureAgent, nonce: null });
    expect(await outcome(() => site(noNonce))).toBe("SIGNATURE_REPLAYED");
  });

  test("the order: a fault found earlier wins over one found later", async () => {
    const { key, passport, signatureAgent } = await signer();
    const stranger = await generateAgentKey();
    const now = Math.floor(Date.now() / 1000);
    const old = { created: now - 120, expires: now - 60 };
    // Unknown key and expired: the key is checked first.
    expect(
      await outcome(async () =>
        guard()(await handSigned({ passport, key: stranger, signatureAgent, ...old })),
      ),
    ).toBe("SIGNATURE_KEY_UNKNOWN");
    // Untrusted Signature-Agent and incomplete: completeness first.
    const both = await handSigned({
      passport,
      key,
      signatureAgent: "https://attacker.test/",
      components: ["@authority"],
    });
    expect(await outcome(() => guard()(both))).toBe("SIGNATURE_INCOMPLETE");
    // Another key of the agent, and expired: binding before freshness.
    const { key: second } = await agentWithKey(lime.server, lime.ids);
    expect(
      await outcome(async () => guard()(await handSigned({ passport, key: second, signatureAgent, ...old }))),
    ).toBe("SIGNATURE_KEY_NOT_BOUND");
    // A refused passport is refused before its signature is looked at.
    const foreign = await handSigned({ passport, key, signatureAgent });
    expect(await outcome(() => guard({ audience: "https://other.test" })(foreign))).toBe(
      "PASSPORT_WRONG_AUDIENCE",
    );
  });
});

describe("revoked keys", () => {
  test(
    "10. a revoked key's bound passport is refused PASSPORT_REVOKED, learned from the revocation list",
    async () => {
      const { agent, key, capture } = await signer();
      const polling = guard({ revocation: { pollIntervalMs: 0, retryAfterFailureMs: 0 } });
      expect(await outcome(async () => polling(await capturedRequest(capture, agent)))).toBe("accepted");
      const request = await capturedRequest(capture, agent);
      await agent.revokeKey(key.kid);
      expect(await outcome(() => polling(request))).toBe("PASSPORT_REVOKED");
      expect(polling.verifier.revocations!.stats.refused).toBe(1);
    },
    SLOW_TEST_TIMEOUT_MS,
  );
});
