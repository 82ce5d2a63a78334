/**
 * The key directory (draft-meunier-webbotauth-httpsig-directory) at
 * `/.well-known/http-message-signatures-directory/agents/:agent_id`: the
 * agent's ACTIVE keys as a JWKS with kid/alg/use, its media type,
 * `Cache-Control: max-age=60`, ETag/304, and the signatures the agent
 * uploaded, relabelled sig1..N, expired ones left out. Each refusal of an
 * upload has its check. An unknown or revoked agent has no directory.
 */

import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { generateAgentKey, signMessage } from "@lime-ts/core/http-signatures";
import { calculateJwkThumbprint } from "jose";
import { FakeClock, type Provisioned, startTestServer, type TestServer } from "../../../server/testing.ts";
import { api } from "../helpers.ts";
import {
  asAgent,
  asOwner,
  DIRECTORY,
  DIRECTORY_TAG,
  directorySignature,
  KEYS,
  registeredKey,
  seconds,
  uploadSignature,
} from "./support.ts";

const MEDIA_TYPE = "application/http-message-signatures-directory+json";

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
const directory = (agentId: string, headers: Record<string, string> = {}) =>
  api(t.url, `${DIRECTORY}/${agentId}`, { headers });

describe("the directory document", () => {
  test("an agent without keys: 200, its media type, max-age=60, an ETag, {keys: []}, no signature fields", async () => {
    const response = await directory(p.agentId);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe(MEDIA_TYPE);
    expect(response.headers.get("cache-control")).toBe("max-age=60");
    expect(response.headers.get("etag")).toMatch(/^"[\w-]{27}"$/);
    expect(response.body).toEqual({ keys: [] });
    expect(response.headers.get("signature-input")).toBeNull();
    expect(response.headers.get("signature")).toBeNull();
  });

  test("ACTIVE keys only, each a public JWK with kid = its thumbprint (jose), alg and use", async () => {
    const ed = (await registeredKey(t, p.agentToken, "Ed25519")).key;
    clock.advance(1000);
    const ec = (await registeredKey(t, p.agentToken, "P-256")).key;
    const gone = (await registeredKey(t, p.agentToken)).key;
    await asAgent(t, p, "DELETE", `${KEYS}/${gone.kid}`);
    const response = await directory(p.agentId);
    expect(response.body).toEqual({
      keys: [
        { kty: "OKP", crv: "Ed25519", x: ed.publicJwk.x, kid: ed.kid, alg: "EdDSA", use: "sig" },
        {
          kty: "EC",
          crv: "P-256",
          x: ec.publicJwk.x,
          y: ec.publicJwk.y,
          kid: ec.kid,
          alg: "ES256",
          use: "sig",
        },
      ],
    });
    for (const jwk of response.body.keys) expect(jwk.kid).toBe(await calculateJwkThumbprint(jwk, "sha256"));
  });

  test("If-None-Match with the ETag: 304 without a body; a change of keys changes the ETag", async () => {
    const first = await directory(p.agentId);
    const etag = first.headers.get("etag")!;
    const unchanged = await directory(p.agentId, { "if-none-match": `"other", W/${etag}` });
    expect(unchanged.status).toBe(304);
    expect(unchanged.body).toBeNull();
    expect(unchanged.headers.get("cache-control")).toBe("max-age=60");
    await registeredKey(t, p.agentToken);
    const changed = await directory(p.agentId, { "if-none-match": etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
  });

  test("an unknown agent and a revoked one: 404 AGENT_NOT_FOUND (JSON envelope); a malformed id: 400", async () => {
    await registeredKey(t, p.agentToken);
    const unknown = await directory(crypto.randomUUID());
    expect([unknown.status, code(unknown)]).toEqual([404, "AGENT_NOT_FOUND"]);
    expect(unknown.headers.get("content-type")).toStartWith("application/json");
    await asOwner(t, p, "DELETE", `/api/v1/core/agents/${p.agentId}`);
    const revoked = await directory(p.agentId, { accept: "text/html" });
    expect([revoked.status, code(revoked)]).toEqual([404, "AGENT_NOT_FOUND"]);
    expect(code(await directory("not-a-uuid"))).toBe("VALIDATION_FAILED");
  });
});

describe("directory signatures", () => {
  test("uploaded signatures are served relabelled sig1..sigN, in key order, and the key list shows their expiry", async () => {
    const first = (await registeredKey(t, p.agentToken, "Ed25519")).key;
    clock.advance(1000);
    const second = (await registeredKey(t, p.agentToken, "P-256")).key;
    const created = seconds(t);
    const up1 = await directorySignature(t, first, p.agentId, {
      created,
      expires: created + 3600,
      label: "mine",
    });
    const up2 = await directorySignature(t, second, p.agentId, { created, expires: created + 7200 });
    expect((await uploadSignature(t, p, second.kid, up2)).status).toBe(204);
    expect((await uploadSignature(t, p, first.kid, up1)).status).toBe(204);
    const response = await directory(p.agentId);
    const input1 = up1.signature_input.slice("mine=".length);
    const input2 = up2.signature_input.slice("binding0=".length);
    expect(response.headers.get("signature-input")).toBe(`sig1=${input1}, sig2=${input2}`);
    expect(response.headers.get("signature")).toBe(
      `sig1=${up1.signature.slice("mine=".length)}, sig2=${up2.signature.slice("binding0=".length)}`,
    );
    expect(input1).toBe(
      `("@authority";req);created=${created};expires=${created + 3600};keyid="${first.kid}";alg="ed25519";tag="http-message-signatures-directory"`,
    );
    const listed = await asAgent(t, p, "GET", KEYS);
    const expiry = Object.fromEntries(
      listed.body.data.keys.map((k: { kid: string; directory_signature_expires_at: string }) => [
        k.kid,
        k.directory_signature_expires_at,
      ]),
    );
    expect(expiry[first.kid]).toBe(new Date((created + 3600) * 1000).toISOString().replace(".000Z", "Z"));
  });

  test("an expired signature is left out, a new upload replaces it; a revoked key's signature leaves with it", async () => {
    const first = (await registeredKey(t, p.agentToken)).key;
    clock.advance(1000);
    const second = (await registeredKey(t, p.agentToken)).key;
    const created = seconds(t);
    await uploadSignature(
      t,
      p,
      first.kid,
      await directorySignature(t, first, p.agentId, { expires: created + 60 }),
    );
    await uploadSignature(
      t,
      p,
      second.kid,
      await directorySignature(t, second, p.agentId, { expires: created + 600 }),
    );
    expect((await directory(p.agentId)).headers.get("signature-input")).toContain("sig2=");
    clock.advance(61_000);
    const later = await directory(p.agentId);
    expect(later.headers.get("signature-input")).toStartWith("sig1=");
    expect(later.headers.get("signature-input")).not.toContain("sig2=");
    expect(later.headers.get("signature-input")).toContain(second.kid);
    await uploadSignature(t, p, first.kid, await directorySignature(t, first, p.agentId));
    expect((await directory(p.agentId)).headers.get("signature-input")).toContain("sig2=");
    await asAgent(t, p, "DELETE", `${KEYS}/${second.kid}`);
    const after = await directory(p.agentId);
    expect(after.headers.get("signature-input")).not.toContain(second.kid);
    expect(after.body.keys.map((k: { kid: string }) => k.kid)).toEqual([first.kid]);
  });

  test("each refused upload is 400 DIRECTORY_SIGNATURE_INVALID and stores nothing", async () => {
    const { key } = await registeredKey(t, p.agentToken);
    const stranger = await generateAgentKey();
    const now = seconds(t);
    const signed = (options: Parameters<typeof directorySignature>[3]) =>
      directorySignature(t, key, p.agentId, options);
    const good = await signed({});
    // `("@authority")` without `;req`: what a request signature covers, not a response's.
    const requestSigned = async () => {
      const request = new Request(`${t.config.publicUrl}${DIRECTORY}/${p.agentId}`);
      const made = await signMessage(request, key, {
        label: "binding0",
        components: ["@authority"],
        created: now,
        expires: now + 3600,
        tag: DIRECTORY_TAG,
      });
      return { signature_input: made.signatureInput, signature: made.signature };
    };
    const otherKeyid = await directorySignature(t, stranger, p.agentId, {});
    const cases: Array<[string, { signature_input: string; signature: string }]> = [
      ["another tag", await signed({ tag: "web-bot-auth" })],
      ["no tag", await signed({ tag: null })],
      ["@authority of the response", await requestSigned()],
      [
        "more components",
        await signed({ components: [{ name: "@authority", params: { req: true } }, { name: "@status" }] }),
      ],
      ["expired", await signed({ created: now - 7200, expires: now - 1 })],
      ["longer than 7 days", await signed({ created: now, expires: now + 7 * 86_400 + 1 })],
      ["dated in the future", await signed({ created: now + 61, expires: now + 3600 })],
      ["another issuer's authority", await signed({ issuer: "https://evil.example" })],
      ["another key's keyid", otherKeyid],
      [
        "a signature of another key",
        { signature_input: good.signature_input, signature: otherKeyid.signature },
      ],
      [
        "two members",
        {
          signature_input: `${good.signature_input}, ${otherKeyid.signature_input.replace("binding0", "b1")}`,
          signature: `${good.signature}, ${otherKeyid.signature.replace("binding0", "b1")}`,
        },
      ],
      [
        "labels that differ",
        { signature_input: good.signature_input, signature: good.signature.replace("binding0", "other") },
      ],
      [
        "not canonical",
        { signature_input: good.signature_input.replace(";", " ;"), signature: good.signature },
      ],
      ["a line break", { signature_input: `${good.signature_input}\r\nx: y`, signature: good.signature }],
    ];
    const failures: string[] = [];
    for (const [what, body] of cases) {
      const response = await uploadSignature(t, p, key.kid, body);
      if (response.status !== 400 || code(response) !== "DIRECTORY_SIGNATURE_INVALID") {
        failures.push(`${what}: ${response.status} ${JSON.stringify(response.body)}`);
      }
    }
    expect(failures).toEqual([]);
    expect((await directory(p.agentId)).headers.get("signature-input")).toBeNull();
    expect((await uploadSignature(t, p, key.kid, good)).status).toBe(204);
  });

  test("an upload for an unknown, another agent's or a revoked key: 404 AGENT_KEY_NOT_FOUND; a body too large: 400", async () => {
    const { key } = await registeredKey(t, p.agentToken);
    const body = await directorySignature(t, key, p.agentId);
    const other = await t.provision();
    expect(code(await uploadSignature(t, other, key.kid, body))).toBe("AGENT_KEY_NOT_FOUND");
    expect(code(await uploadSignature(t, p, "B".repeat(43), body))).toBe("AGENT_KEY_NOT_FOUND");
    const huge = await uploadSignature(t, p, key.kid, { signature_input: "x".repeat(3000), signature: "y" });
    expect([huge.status, code(huge)]).toEqual([400, "VALIDATION_FAILED"]);
    await asAgent(t, p, "DELETE", `${KEYS}/${key.kid}`);
    expect(code(await uploadSignature(t, p, key.kid, body))).toBe("AGENT_KEY_NOT_FOUND");
  });
});
