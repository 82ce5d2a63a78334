/**
 * Bad input never reaches a 500: arbitrary form bodies, JSON bodies, query
 * strings and credentials on every OAuth endpoint answer a 4xx (or a 302 to
 * a registered redirect URI) in the endpoint's own error shape.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  OAUTH,
  type ProvisionedServer,
  REDIRECT_URI,
  registerClient,
  startProvisionedServer,
} from "./helpers.ts";

const PARAMS = [
  "grant_type",
  "code",
  "code_verifier",
  "redirect_uri",
  "client_id",
  "client_secret",
  "client_assertion",
  "client_assertion_type",
  "refresh_token",
  "resource",
  "scope",
  "token",
  "token_type_hint",
  "response_type",
  "code_challenge",
  "code_challenge_method",
  "state",
  "authorization_request_id",
  "pow_nonce",
  "decision",
  "form_token",
  "login_token",
  "email",
  "password",
  "domain",
];

describe("fuzzing the OAuth endpoints", () => {
  let t: ProvisionedServer;
  let clientId: string;

  beforeAll(async () => {
    t = await startProvisionedServer("https://tools.example/mcp");
    clientId = await registerClient(t.url);
  });
  afterAll(async () => {
    await t.stop();
  });

  const value = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.constantFrom(
      "authorization_code",
      "refresh_token",
      "client_credentials",
      "password",
      "S256",
      "plain",
      REDIRECT_URI,
      "https://tools.example/mcp",
      "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      "lime_rt_x",
      "a.b.c",
      "%00",
      "approve",
    ),
    fc.constant("x".repeat(9000)),
  );
  const form = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...PARAMS), fc.string({ maxLength: 12 })), value), {
    maxLength: 8,
  });
  const withClient = form.map((pairs) => [["client_id", clientId] as [string, string], ...pairs]);

  const ok4xx = (status: number) => status >= 400 && status < 500;

  test("form bodies on token, revoke, introspect, agent approval, sign-in and decision", async () => {
    const endpoints: { path: string; headers: Record<string, string> }[] = [
      { path: "/token", headers: {} },
      { path: "/revoke", headers: {} },
      { path: "/introspect", headers: { authorization: `Bearer ${t.introspectionToken}` } },
      { path: "/introspect", headers: {} },
      { path: "/authorize", headers: { "x-agent-token": "lime_agent_fuzz" } },
      { path: "/authorize/login", headers: { origin: new URL(t.issuer).origin } },
      { path: "/authorize/decision", headers: {} },
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...endpoints), withClient, async (endpoint, pairs) => {
        const response = await fetch(`${t.url}${OAUTH}${endpoint.path}`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", ...endpoint.headers },
          body: new URLSearchParams(pairs).toString(),
          redirect: "manual",
        });
        await response.arrayBuffer();
        // Introspection answers 200 {"active": false}, revocation 200 (RFC 7009 §2.2), for any token.
        if ((endpoint.path === "/introspect" || endpoint.path === "/revoke") && response.status === 200)
          return;
        expect(ok4xx(response.status)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  test("query strings on the authorization endpoint: an error page or a redirect to the registered URI, never a 500", async () => {
    await fc.assert(
      fc.asyncProperty(withClient, fc.boolean(), async (pairs, asAgent) => {
        const response = await fetch(`${t.url}${OAUTH}/authorize?${new URLSearchParams(pairs)}`, {
          headers: asAgent ? { "x-agent-token": "lime_agent_fuzz" } : {},
          redirect: "manual",
        });
        await response.arrayBuffer();
        if (response.status === 302) {
          expect(response.headers.get("location")!.startsWith(`${REDIRECT_URI}?`)).toBe(true);
          return;
        }
        expect(ok4xx(response.status) || response.status === 200).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  test("JSON bodies on registration and LIME's token form", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/register", "/token"),
        fc.oneof(fc.jsonValue(), fc.string({ maxLength: 40 })),
        async (path, body) => {
          const response = await fetch(`${t.url}${OAUTH}${path}`, {
            method: "POST",
            headers: { "content-type": "application/json", "x-agent-token": "lime_agent_fuzz" },
            body: typeof body === "string" ? body : JSON.stringify(body),
          });
          const text = await response.text();
          if (path === "/register" && response.status === 201) return;
          expect(ok4xx(response.status)).toBe(true);
          expect(() => JSON.parse(text)).not.toThrow();
        },
      ),
      { numRuns: 150 },
    );
  });
});
