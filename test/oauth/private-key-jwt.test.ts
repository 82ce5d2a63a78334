import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import {
  call,
  OAUTH,
  type ProvisionedServer,
  peekClaims,
  registerAgent,
  registerClient,
  revokeAgent,
  startProvisionedServer,
  tokenRequest,
} from "./helpers.ts";

const RESOURCE = "https://tools.example/mcp";
const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

describe("client credentials with private_key_jwt (RFC 7523 §2.2) for agents", () => {
  let t: ProvisionedServer;
  let rsa: KeyPair;
  let ec: KeyPair;

  const putKeys = (keys: unknown[], token = t.agent.agentToken) =>
    call(t.url, `${OAUTH}/agents/me/jwks`, {
      method: "PUT",
      headers: { "x-agent-token": token },
      json: { keys },
    });

  /** A client assertion signed by the test (jose), claims overridable. */
  const assertion = async (
    claims: Record<string, unknown> = {},
    options: { key?: KeyPair; alg?: string; clientId?: string; lifetime?: number } = {},
  ) => {
    const clientId = options.clientId ?? t.agent.agentId;
    const now = Math.floor(t.clock.now() / 1000);
    const alg = options.alg ?? "RS256";
    return new SignJWT({ jti: crypto.randomUUID(), ...claims })
      .setProtectedHeader({ alg, typ: "JWT" })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience((claims.aud as string | undefined) ?? t.issuer)
      .setIssuedAt(now)
      .setExpirationTime(now + (options.lifetime ?? 60))
      .sign((options.key ?? (alg === "ES256" ? ec : rsa)).privateKey);
  };
  const credentials = async (jwt: string, extra: Record<string, string> = {}) =>
    tokenRequest(t.url, {
      grant_type: "client_credentials",
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: jwt,
      resource: RESOURCE,
      ...extra,
    });

  beforeAll(async () => {
    t = await startProvisionedServer(RESOURCE, { scopes: ["mcp:tools", "files:read"] });
    rsa = await generateKeyPair("RS256", { extractable: true });
    ec = await generateKeyPair("ES256", { extractable: true });
    const registered = await putKeys([
      { ...(await exportJWK(rsa.publicKey)), kid: "rsa-1" },
      { ...(await exportJWK(ec.publicKey)), kid: "ec-1" },
    ]);
    expect(registered.status).toBe(200);
    expect(registered.body.data.client_id).toBe(t.agent.agentId);
    expect(registered.body.data.token_endpoint_auth_method).toBe("private_key_jwt");
  });
  afterAll(async () => {
    await t.stop();
  });

  test("an RS256 or ES256 assertion → an access token for the resource, sub = client_id = agent id, no refresh token", async () => {
    for (const alg of ["RS256", "ES256"]) {
      const answer = await credentials(await assertion({}, { alg }));
      expect(answer.status).toBe(200);
      expect(answer.headers.get("cache-control")).toBe("no-store");
      expect(answer.body.refresh_token).toBeUndefined();
      expect(answer.body.scope).toBe("mcp:tools files:read");
      const claims = peekClaims(answer.body.access_token);
      expect(claims.sub).toBe(t.agent.agentId);
      expect(claims.client_id).toBe(t.agent.agentId);
      expect(claims.aud).toBe(RESOURCE);
      expect(claims.lime_principal).toBe("agent");
    }
  });

  test("the token endpoint URL is accepted as audience too; a scope subset narrows the token", async () => {
    const answer = await credentials(await assertion({ aud: `${t.issuer}${OAUTH}/token` }), {
      scope: "files:read",
    });
    expect(answer.status).toBe(200);
    expect(answer.body.scope).toBe("files:read");
  });

  test("a replayed assertion (same jti) → invalid_client (RFC 7523 §3 item 7)", async () => {
    const jwt = await assertion();
    expect((await credentials(jwt)).status).toBe(200);
    const replay = await credentials(jwt);
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe("invalid_client");
  });

  test("expired, long-lived, wrong-audience, wrong-key, unregistered-client and unsigned assertions → invalid_client", async () => {
    const stranger = await generateKeyPair("RS256");
    const expired = await assertion();
    t.clock.advance(120_000);
    try {
      expect((await credentials(expired)).body.error).toBe("invalid_client");
    } finally {
      t.clock.advance(-120_000);
    }
    const other = await registerAgent(t.url, t.owner);
    for (const jwt of [
      await assertion({}, { lifetime: 3600 }),
      await assertion({ aud: "https://elsewhere.example" }),
      await assertion({}, { key: stranger }),
      await assertion({}, { clientId: other.agentId }),
      `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(
        JSON.stringify({ iss: t.agent.agentId, sub: t.agent.agentId, aud: t.issuer, exp: 9e9, jti: "x" }),
      ).toString("base64url")}.`,
      "not-a-jwt",
    ]) {
      const answer = await credentials(jwt);
      expect(answer.status).toBe(401);
      expect(answer.body.error).toBe("invalid_client");
    }
    const wrongType = await tokenRequest(t.url, {
      grant_type: "client_credentials",
      client_assertion_type: "urn:example:other",
      client_assertion: await assertion(),
      resource: RESOURCE,
    });
    expect(wrongType.body.error).toBe("invalid_client");
  });

  test("no resource or an unknown one → invalid_target; an undeclared scope → invalid_scope", async () => {
    const missing = await tokenRequest(t.url, {
      grant_type: "client_credentials",
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await assertion(),
    });
    expect(missing.body.error).toBe("invalid_target");
    expect(
      (await credentials(await assertion(), { resource: "https://unknown.example/mcp" })).body.error,
    ).toBe("invalid_target");
    expect((await credentials(await assertion(), { scope: "admin" })).body.error).toBe("invalid_scope");
  });

  test("a public client cannot authenticate with an assertion, nor an agent client with client_id alone", async () => {
    const publicClient = await registerClient(t.url);
    const jwt = await assertion({}, { clientId: publicClient });
    expect((await credentials(jwt)).body.error).toBe("invalid_client");
    const bare = await tokenRequest(t.url, {
      grant_type: "client_credentials",
      client_id: t.agent.agentId,
      resource: RESOURCE,
    });
    expect(bare.status).toBe(401);
    expect(bare.body.error).toBe("invalid_client");
  });

  test("a revoked agent's assertions → invalid_client", async () => {
    const doomed = await registerAgent(t.url, t.owner);
    const key = await generateKeyPair("RS256", { extractable: true });
    await putKeys([await exportJWK(key.publicKey)], doomed.agentToken);
    expect((await credentials(await assertion({}, { key, clientId: doomed.agentId }))).status).toBe(200);
    await revokeAgent(t.url, t.owner, doomed.agentId);
    expect((await credentials(await assertion({}, { key, clientId: doomed.agentId }))).body.error).toBe(
      "invalid_client",
    );
  });

  test("key registration refuses private keys, small RSA moduli, other curves and non-signing keys", async () => {
    const withPrivate = (await exportJWK(rsa.privateKey)) as JWK;
    const small = await crypto.subtle.generateKey(
      {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 1024,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      },
      true,
      ["sign", "verify"],
    );
    const p384 = await generateKeyPair("ES384", { extractable: true });
    for (const keys of [
      [withPrivate],
      [await crypto.subtle.exportKey("jwk", small.publicKey)],
      [await exportJWK(p384.publicKey)],
      [{ ...(await exportJWK(rsa.publicKey)), use: "enc" }],
      [{ kty: "oct", k: "c2VjcmV0" }],
      [],
    ]) {
      const answer = await putKeys(keys);
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toMatch(/OAUTH_INVALID_JWKS|VALIDATION_FAILED/);
    }
    expect((await putKeys([await exportJWK(rsa.publicKey)], "lime_agent_nope")).body.error.code).toBe(
      "INVALID_AGENT_TOKEN",
    );
  });
});
