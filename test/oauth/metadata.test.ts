import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { discoverAuthorizationServerMetadata } from "@modelcontextprotocol/sdk/client/auth.js";
import * as oauth from "oauth4webapi";
import { call, type OAuthTestServer, startOAuthServer } from "./helpers.ts";

/** The MCP SDK's discovery and oauth4webapi's strict issuer check (RFC 8414 §3.3) both find `issuer`'s document. */
async function expectClientsDiscover(issuer: string) {
  const viaSdk = await discoverAuthorizationServerMetadata(issuer);
  expect(viaSdk?.issuer).toBe(issuer);
  const url = new URL(issuer);
  const response = await oauth.discoveryRequest(url, {
    algorithm: "oauth2",
    [oauth.allowInsecureRequests]: true,
  });
  expect((await oauth.processDiscoveryResponse(url, response)).issuer).toBe(issuer);
}

describe("Authorization Server Metadata (RFC 8414)", () => {
  let t: OAuthTestServer;
  beforeAll(async () => {
    t = await startOAuthServer();
  });
  afterAll(async () => {
    await t.stop();
  });

  test("the root path serves the raw RFC 8414 document; LIME's path adds the envelope beside the same members", async () => {
    const root = await call(t.url, "/.well-known/oauth-authorization-server");
    const lime = await call(t.url, "/api/v1/modules/oauth/.well-known/oauth-authorization-server");
    expect(root.status).toBe(200);
    expect(lime.status).toBe(200);
    expect(root.body.ok).toBeUndefined();
    expect(root.body.data).toBeUndefined();
    // RFC 8414 readers see the same top-level members; lime-mcp-server-sdk unwraps {ok, data}.
    const { ok, data, ...topLevel } = lime.body;
    expect(topLevel).toEqual(root.body);
    expect(ok).toBe(true);
    expect(data).toEqual(root.body);
    expect(root.headers.get("content-type")).toStartWith("application/json");
    expect(root.headers.get("cache-control")).toContain("max-age");
  });

  test("issuer is the server's URL and jwks_uri is LIME's JWKS path on the same origin", async () => {
    const { body } = await call(t.url, "/.well-known/oauth-authorization-server");
    expect(body.issuer).toBe(t.issuer);
    expect(body.jwks_uri).toBe(`${t.issuer}/api/v1/core/.well-known/jwks.json`);
    expect(new URL(body.jwks_uri).origin).toBe(new URL(body.issuer).origin);
    // LIME's lime-mcp-server-sdk reads the key set inside the envelope; RFC 7517 readers at the top level.
    const jwks = await call(t.url, new URL(body.jwks_uri).pathname);
    expect(jwks.body.ok).toBe(true);
    expect(jwks.body.data.keys.length).toBeGreaterThan(0);
    expect(jwks.body.keys).toEqual(jwks.body.data.keys);
  });

  test("capabilities are listed truthfully: S256 only, iss in responses, CIMD, no implicit or password grant", async () => {
    const { body } = await call(t.url, "/.well-known/oauth-authorization-server");
    expect(body.code_challenge_methods_supported).toEqual(["S256"]);
    expect(body.authorization_response_iss_parameter_supported).toBe(true);
    expect(body.client_id_metadata_document_supported).toBe(true);
    expect(body.response_types_supported).toEqual(["code"]);
    expect(body.grant_types_supported).toEqual(["authorization_code", "refresh_token", "client_credentials"]);
    expect(body.token_endpoint_auth_methods_supported).toEqual(["none", "private_key_jwt"]);
    for (const endpoint of [
      "authorization_endpoint",
      "token_endpoint",
      "registration_endpoint",
      "revocation_endpoint",
      "introspection_endpoint",
    ]) {
      expect(body[endpoint]).toStartWith(`${t.issuer}/api/v1/modules/oauth/`);
    }
  });

  test("OpenID Connect discovery is not served: this server issues no ID tokens", async () => {
    const answer = await call(t.url, "/.well-known/openid-configuration");
    expect(answer.status).toBe(404);
  });

  test("the MCP SDK's discovery and oauth4webapi's strict issuer check both accept the document", async () => {
    await expectClientsDiscover(t.issuer);
  });
});

describe("an issuer with a path component", () => {
  test("the document is at /.well-known/oauth-authorization-server/<path>, the URL MCP clients try first", async () => {
    const t = await startOAuthServer({ issuerPath: "/lime" });
    try {
      expect(t.issuer).toBe(`${t.url}/lime`);
      const answer = await call(t.url, "/.well-known/oauth-authorization-server/lime");
      expect(answer.status).toBe(200);
      expect(answer.body.issuer).toBe(t.issuer);
      expect(answer.body.token_endpoint).toBe(`${t.issuer}/api/v1/modules/oauth/token`);
      await expectClientsDiscover(t.issuer);
    } finally {
      await t.stop();
    }
  });
});

describe("CORS for browser-based MCP clients", () => {
  test("metadata and token endpoint answer preflights and carry Access-Control-Allow-Origin", async () => {
    const t = await startOAuthServer();
    try {
      for (const path of ["/.well-known/oauth-authorization-server", "/api/v1/modules/oauth/token"]) {
        const preflight = await fetch(`${t.url}${path}`, {
          method: "OPTIONS",
          headers: {
            origin: "https://inspector.example",
            "access-control-request-method": "GET",
            "access-control-request-headers": "mcp-protocol-version",
          },
        });
        expect(preflight.status).toBe(204);
        expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
        expect(preflight.headers.get("access-control-allow-headers")).toContain("mcp-protocol-version");
      }
      const metadata = await fetch(`${t.url}/.well-known/oauth-authorization-server`);
      expect(metadata.headers.get("access-control-allow-origin")).toBe("*");
    } finally {
      await t.stop();
    }
  });
});
