import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { call, OAUTH, type OAuthTestServer, REDIRECT_URI, startOAuthServer } from "./helpers.ts";

describe("Dynamic Client Registration (RFC 7591)", () => {
  let t: OAuthTestServer;
  beforeAll(async () => {
    t = await startOAuthServer();
  });
  afterAll(async () => {
    await t.stop();
  });

  const register = (json: unknown) => call(t.url, `${OAUTH}/register`, { json });

  test("a public client registers: 201 with client_id, issued-at and the registered metadata, never a secret", async () => {
    const answer = await register({
      client_name: "Inspector",
      redirect_uris: [REDIRECT_URI, "https://app.example/callback"],
      grant_types: ["authorization_code", "refresh_token"],
      scope: "mcp:tools",
      unknown_member: "ignored (RFC 7591 §2)",
    });
    expect(answer.status).toBe(201);
    expect(answer.headers.get("cache-control")).toBe("no-store");
    expect(answer.body.client_id).toStartWith("mcp_");
    expect(typeof answer.body.client_id_issued_at).toBe("number");
    expect(answer.body.redirect_uris).toEqual([REDIRECT_URI, "https://app.example/callback"]);
    expect(answer.body.token_endpoint_auth_method).toBe("none");
    expect(answer.body.client_secret).toBeUndefined();
    expect(answer.body.unknown_member).toBeUndefined();
  });

  test("a request for a client secret is registered as a public client (RFC 7591 §3.2.1 lets the server say so)", async () => {
    const answer = await register({
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: "client_secret_basic",
    });
    expect(answer.status).toBe(201);
    expect(answer.body.token_endpoint_auth_method).toBe("none");
    expect(answer.body.client_secret).toBeUndefined();
  });

  test("redirect URIs: https, or http on loopback only; no fragment, no credentials, no other scheme → invalid_redirect_uri", async () => {
    for (const redirect_uris of [
      undefined,
      [],
      ["http://app.example/callback"],
      ["https://app.example/callback#frag"],
      ["https://user:pass@app.example/callback"],
      ["javascript:alert(1)"],
      ["com.example.app:/callback"],
      ["not a uri"],
      [42],
    ]) {
      const answer = await register({ redirect_uris });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe("invalid_redirect_uri");
    }
    for (const ok of [
      "http://localhost:9999/cb",
      "http://[::1]:9999/cb",
      "http://127.0.0.2/cb",
      "https://a.example/cb",
    ]) {
      expect((await register({ redirect_uris: [ok] })).status).toBe(201);
    }
  });

  test("implicit, password, client_credentials and non-code response types are refused → invalid_client_metadata", async () => {
    for (const extra of [
      { grant_types: ["implicit"] },
      { grant_types: ["password"] },
      { grant_types: ["client_credentials"] },
      { grant_types: ["refresh_token"] },
      { response_types: ["token"] },
      { response_types: ["code", "id_token"] },
    ]) {
      const answer = await register({ redirect_uris: [REDIRECT_URI], ...extra });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe("invalid_client_metadata");
    }
  });

  test("malformed members → invalid_client_metadata naming the member", async () => {
    for (const [extra, member] of [
      [{ client_name: 42 }, "client_name"],
      [{ client_name: "a\u0000b" }, "client_name"],
      [{ client_uri: "http://app.example" }, "client_uri"],
      [{ logo_uri: "not a url" }, "logo_uri"],
      [{ jwks: { keys: [] } }, "jwks"],
      [{ jwks_uri: "https://app.example/jwks" }, "jwks"],
      [{ token_endpoint_auth_method: "private_key_jwt" }, "token_endpoint_auth_method"],
      [{ scope: "bad\u0001scope" }, "scope"],
      [{ contacts: "ops@app.example" }, "contacts"],
      [{ application_type: "desktop" }, "application_type"],
    ] as const) {
      const answer = await register({ redirect_uris: [REDIRECT_URI], ...extra });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe("invalid_client_metadata");
      expect(answer.body.error_description).toContain(member);
    }
  });

  test("oversized, non-object, malformed and non-JSON bodies → invalid_client_metadata in OAuth JSON", async () => {
    const oversized = await register({ redirect_uris: [REDIRECT_URI], padding: "x".repeat(6000) });
    expect(oversized.status).toBe(400);
    expect(oversized.body.error).toBe("invalid_client_metadata");
    for (const [body, type] of [
      ["[1,2]", "application/json"],
      ["{not json", "application/json"],
      ["redirect_uris=x", "text/plain"],
      ["", "application/json"],
    ]) {
      const response = await fetch(`${t.url}${OAUTH}/register`, {
        method: "POST",
        headers: { "content-type": type! },
        body,
      });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBe("invalid_client_metadata");
    }
  });
});

describe("registration is rate-limited per address", () => {
  test("beyond OAUTH_REGISTRATIONS_PER_MINUTE: 429 with Retry-After", async () => {
    const t = await startOAuthServer({ oauth: { registrationsPerMinute: 2 } });
    try {
      const register = () => call(t.url, `${OAUTH}/register`, { json: { redirect_uris: [REDIRECT_URI] } });
      expect((await register()).status).toBe(201);
      expect((await register()).status).toBe(201);
      const limited = await register();
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
      t.clock.advance(61_000);
      expect((await register()).status).toBe(201);
    } finally {
      await t.stop();
    }
  });
});
