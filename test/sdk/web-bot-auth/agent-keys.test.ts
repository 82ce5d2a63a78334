/**
 * The agent's key life through `AgentClient`, against a live server:
 * registration (with its proof of possession and the directory signature),
 * listing, revocation, rotation, key-bound passports kept apart from
 * unbound ones, and the directory signature renewed when it runs low.
 */
import { describe, expect, test } from "bun:test";
import { AgentClient, generateAgentKey, LimeApiError } from "@lime-ts/sdk";
import { AgentKeyring } from "../../../sdk/agent/keys.ts";
import { HttpClient } from "../../../sdk/internal/http.ts";
import { peekJwtBoundKey } from "../../../sdk/internal/jwt-peek.ts";
import { serverForFile } from "../helpers/server-for-file.ts";
import { agentWithKey, directoryUrl, SITE } from "./helpers.ts";

const lime = serverForFile();

async function refusal(run: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await run();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

describe("registerKey / listKeys / revokeKey", () => {
  test("registers the signing key by proving possession; listed ACTIVE; a second registration is AGENT_KEY_EXISTS", async () => {
    const key = await generateAgentKey("P-256");
    const agent = new AgentClient({
      baseUrl: lime.server.url,
      agentToken: lime.ids.agentToken,
      signingKey: key,
    });
    const record = await agent.registerKey({ label: "laptop" });
    expect(record).toMatchObject({
      kid: key.kid,
      algorithm: "ecdsa-p256-sha256",
      jwk: key.publicJwk,
      label: "laptop",
      status: "ACTIVE",
      revokedAt: null,
    });
    expect((await agent.listKeys()).map((k) => [k.kid, k.status])).toEqual([[key.kid, "ACTIVE"]]);
    const again = await agent.registerKey().catch((error: unknown) => error);
    expect(again).toBeInstanceOf(LimeApiError);
    expect(again).toMatchObject({ code: "AGENT_KEY_EXISTS", status: 409 });
  });

  test("a private JWK works as the signing key", async () => {
    const pair = await generateAgentKey("Ed25519", { extractable: true });
    const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
    const agent = new AgentClient({
      baseUrl: lime.server.url,
      agentToken: lime.ids.agentToken,
      signingKey: jwk,
    });
    expect((await agent.registerKey()).kid).toBe(pair.kid);
    expect((await agent.signingKey())?.kid).toBe(pair.kid);
  });

  test("key operations without a signing key are the caller's mistake: TypeError, nothing sent", async () => {
    const agent = new AgentClient({ baseUrl: lime.server.url, agentToken: lime.ids.agentToken });
    await expect(agent.registerKey()).rejects.toBeInstanceOf(TypeError);
    await expect(agent.rotateKey()).rejects.toBeInstanceOf(TypeError);
    await expect(agent.uploadDirectorySignature()).rejects.toBeInstanceOf(TypeError);
    expect(
      () => new AgentClient({ baseUrl: lime.server.url, agentToken: "t", signingKey: "k" as never }),
    ).toThrow(TypeError);
  });

  test("a private JWK that is not one fails at first use with the core's KeyError code", async () => {
    const agent = new AgentClient({
      baseUrl: lime.server.url,
      agentToken: lime.ids.agentToken,
      signingKey: { kty: "OKP", crv: "Ed25519", x: "abc" },
    });
    expect(await refusal(() => agent.registerKey())).toBe("KEY_INVALID");
  });

  test("revokeKey: listed REVOKED, gone from the directory, and no longer able to bind a passport", async () => {
    const { agent, key } = await agentWithKey(lime.server, lime.ids);
    await agent.revokeKey(key.kid);
    expect((await agent.listKeys()).find((k) => k.kid === key.kid)).toMatchObject({
      status: "REVOKED",
      revokedAt: expect.any(String),
    });
    const served = await fetch(directoryUrl(lime.server, lime.ids.agentId));
    const kids =
      served.status === 200
        ? ((await served.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid)
        : [];
    expect(kids).not.toContain(key.kid);
    expect(await refusal(() => agent.passport({ audience: SITE }))).toBe("AGENT_KEY_NOT_REGISTERED");
    expect(await refusal(() => agent.revokeKey(key.kid))).toBe("AGENT_KEY_NOT_FOUND");
  });
});

describe("key-bound passports", () => {
  test("with a signing key the passport is bound (cnf.jkt = kid); without, unbound; the two never share a cache slot", async () => {
    const { agent, key } = await agentWithKey(lime.server, lime.ids);
    const plain = new AgentClient({ baseUrl: lime.server.url, agentToken: lime.ids.agentToken });
    const bound = await agent.passport({ audience: SITE });
    expect(peekJwtBoundKey(bound)).toBe(key.kid);
    expect(await agent.passport({ audience: SITE })).toBe(bound);
    expect(peekJwtBoundKey(await plain.passport({ audience: SITE }))).toBeUndefined();
  });

  test("an unregistered key cannot bind a passport: AGENT_KEY_NOT_REGISTERED, never an unbound passport instead", async () => {
    const { agent } = await agentWithKey(lime.server, lime.ids, { register: false });
    expect(await refusal(() => agent.passport({ audience: SITE }))).toBe("AGENT_KEY_NOT_REGISTERED");
  });
});

describe("rotateKey", () => {
  test("registers the next key, signs its directory, switches, revokes the old; passports follow the new key", async () => {
    const { agent, key: old } = await agentWithKey(lime.server, lime.ids);
    const before = await agent.passport({ audience: SITE });
    expect(peekJwtBoundKey(before)).toBe(old.kid);

    const rotation = await agent.rotateKey(undefined, { label: "rotated" });
    expect(rotation.previousKid).toBe(old.kid);
    expect(rotation.key).toMatchObject({ kid: rotation.signingKey.kid, status: "ACTIVE", label: "rotated" });
    expect(rotation.signingKey.algorithm).toBe(old.algorithm);
    expect(rotation.signingKey.privateKey.extractable).toBe(true);
    expect((await agent.signingKey())?.kid).toBe(rotation.signingKey.kid);

    const statuses = Object.fromEntries((await agent.listKeys()).map((k) => [k.kid, k.status]));
    expect(statuses).toEqual({ [old.kid]: "REVOKED", [rotation.signingKey.kid]: "ACTIVE" });
    const served = (await (await fetch(directoryUrl(lime.server, lime.ids.agentId))).json()) as {
      keys: { kid: string }[];
    };
    expect(served.keys.map((k) => k.kid)).toEqual([rotation.signingKey.kid]);
    // The cached passport of the old key is not served any more.
    expect(peekJwtBoundKey(await agent.passport({ audience: SITE }))).toBe(rotation.signingKey.kid);
  });

  test("to a key the caller brings (P-256 from Ed25519)", async () => {
    const { agent } = await agentWithKey(lime.server, lime.ids);
    const next = await generateAgentKey("P-256");
    const rotation = await agent.rotateKey(next);
    expect(rotation.signingKey).toBe(next);
    expect(rotation.key.algorithm).toBe("ecdsa-p256-sha256");
  });
});

describe("the key directory's signature", () => {
  test("uploadDirectorySignature answers the kid and an expiry 24 h out", async () => {
    const { agent, key } = await agentWithKey(lime.server, lime.ids);
    const now = Date.now() / 1000;
    const upload = await agent.uploadDirectorySignature();
    expect(upload.kid).toBe(key.kid);
    expect(upload.expiresAt).toBeGreaterThan(now + 24 * 3600 - 5);
    expect(upload.expiresAt).toBeLessThanOrEqual(now + 24 * 3600 + 1);
  });

  test("renewed in the background when this client never uploaded one, or less than 2 h of it remain", async () => {
    const key = await generateAgentKey();
    const puts: number[] = [];
    let now = 1_700_000_000_000;
    const http = new HttpClient({
      baseUrl: "https://lime.test",
      fetch: async (input, init) => {
        if (init?.method === "PUT") puts.push(now);
        expect(String(input)).toBe(
          `https://lime.test/api/v1/core/agents/me/keys/${key.kid}/directory-signature`,
        );
        return new Response(null, { status: 204 });
      },
    });
    const keyring = new AgentKeyring(
      {
        http,
        agentHeaders: () => ({}),
        issuer: "https://lime.test",
        now: () => now,
        onKeysChanged: () => {},
      },
      key,
    );
    const settle = () => new Promise((resolve) => setTimeout(resolve, 5));
    keyring.renewDirectorySignatureIfDue(key);
    await settle();
    expect(puts).toHaveLength(1);
    now += 22 * 3600 * 1000 - 1000; // 2 h and 1 s left
    keyring.renewDirectorySignatureIfDue(key);
    await settle();
    expect(puts).toHaveLength(1);
    now += 2000; // less than 2 h left
    keyring.renewDirectorySignatureIfDue(key);
    keyring.renewDirectorySignatureIfDue(key); // one at a time
    await settle();
    expect(puts).toHaveLength(2);
  });
});
