import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  approveWithPkce,
  call,
  exchangeCode,
  OAUTH,
  type ProvisionedServer,
  peekClaims,
  registerClient,
  registerResource,
  startProvisionedServer,
  tokenRequest,
} from "./helpers.ts";

const RESOURCE = "https://tools.example/mcp";

describe("revocation (RFC 7009) and introspection (RFC 7662)", () => {
  let t: ProvisionedServer;
  let clientId: string;

  beforeAll(async () => {
    t = await startProvisionedServer(RESOURCE);
    clientId = await registerClient(t.url);
  });
  afterAll(async () => {
    await t.stop();
  });

  const tokens = async () => {
    const { code, verifier } = await approveWithPkce(t.url, t.agent.agentToken, {
      clientId,
      resource: RESOURCE,
    });
    const answer = await exchangeCode(t.url, { code, verifier, clientId });
    expect(answer.status).toBe(200);
    return answer.body as { access_token: string; refresh_token: string };
  };
  const introspect = (token: string, credential = t.introspectionToken) =>
    call(t.url, `${OAUTH}/introspect`, {
      headers: { authorization: `Bearer ${credential}` },
      form: { token },
    });
  const revoke = (token: string, client = clientId, hint?: string) =>
    call(t.url, `${OAUTH}/revoke`, {
      form: { token, client_id: client, ...(hint === undefined ? {} : { token_type_hint: hint }) },
    });

  test("introspection of a live token: active with its claims", async () => {
    const { access_token } = await tokens();
    const answer = await introspect(access_token);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("cache-control")).toBe("no-store");
    expect(answer.body.active).toBe(true);
    expect(answer.body.sub).toBe(t.agent.agentId);
    expect(answer.body.client_id).toBe(clientId);
    expect(answer.body.aud).toBe(RESOURCE);
    expect(answer.body.iss).toBe(t.issuer);
    expect(answer.body.token_type).toBe("Bearer");
    expect(answer.body.jti).toBe(peekClaims(access_token).jti);
  });

  test("introspection needs the resource's credential (401 otherwise) and only answers for that resource", async () => {
    const { access_token } = await tokens();
    const none = await call(t.url, `${OAUTH}/introspect`, { form: { token: access_token } });
    expect(none.status).toBe(401);
    expect(none.body.error).toBe("invalid_token");
    expect(none.headers.get("www-authenticate")).toStartWith("Bearer");
    expect((await introspect(access_token, `lime_rs_${"A".repeat(43)}`)).status).toBe(401);
    const other = await registerResource(t.url, t.owner, "https://other.example/mcp");
    expect((await introspect(access_token, other.introspectionToken)).body).toEqual({ active: false });
  });

  test("garbage, refresh tokens and expired tokens introspect as inactive", async () => {
    const { access_token, refresh_token } = await tokens();
    expect((await introspect("not-a-token")).body).toEqual({ active: false });
    expect((await introspect(refresh_token)).body).toEqual({ active: false });
    t.clock.advance(301_000);
    try {
      expect((await introspect(access_token)).body).toEqual({ active: false });
    } finally {
      t.clock.advance(-301_000);
    }
  });

  test("revoking a refresh token revokes its grant: refresh → invalid_grant, its access tokens inactive", async () => {
    const { access_token, refresh_token } = await tokens();
    const answer = await revoke(refresh_token, clientId, "refresh_token");
    expect(answer.status).toBe(200);
    expect(answer.headers.get("cache-control")).toBe("no-store");
    const refresh = await tokenRequest(t.url, {
      grant_type: "refresh_token",
      refresh_token,
      client_id: clientId,
    });
    expect(refresh.body.error).toBe("invalid_grant");
    expect((await introspect(access_token)).body).toEqual({ active: false });
  });

  test("revoking an access token marks it inactive; its refresh token keeps working", async () => {
    const { access_token, refresh_token } = await tokens();
    expect((await revoke(access_token, clientId, "access_token")).status).toBe(200);
    expect((await introspect(access_token)).body).toEqual({ active: false });
    const refresh = await tokenRequest(t.url, {
      grant_type: "refresh_token",
      refresh_token,
      client_id: clientId,
    });
    expect(refresh.status).toBe(200);
  });

  test("another client cannot revoke what it was not issued (200, nothing happens); unknown tokens answer 200", async () => {
    const { access_token, refresh_token } = await tokens();
    const stranger = await registerClient(t.url);
    expect((await revoke(refresh_token, stranger)).status).toBe(200);
    expect((await revoke(access_token, stranger)).status).toBe(200);
    expect((await introspect(access_token)).body.active).toBe(true);
    expect((await revoke("lime_rt_unknown")).status).toBe(200);
    expect((await revoke("a.b.c")).status).toBe(200);
  });

  test("revocation authenticates the client: unknown client → invalid_client; no token → invalid_request", async () => {
    const { refresh_token } = await tokens();
    const unknown = await revoke(refresh_token, "mcp_nobody");
    expect(unknown.status).toBe(401);
    expect(unknown.body.error).toBe("invalid_client");
    const missing = await call(t.url, `${OAUTH}/revoke`, { form: { client_id: clientId } });
    expect(missing.body.error).toBe("invalid_request");
  });
});
