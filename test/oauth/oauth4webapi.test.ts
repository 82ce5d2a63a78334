/**
 * oauth4webapi (panva) as a strict, independent OAuth 2.1 client and
 * resource server: it checks the metadata's issuer against the discovery
 * URL, the authorization response's `iss` and `state` (RFC 9207), the token
 * response's shape, and validates access tokens as RFC 9068 prescribes.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as oauth from "oauth4webapi";
import { OAUTH, type ProvisionedServer, solvePow, startProvisionedServer } from "./helpers.ts";

const RESOURCE = "https://tools.example/mcp";
const REDIRECT = "http://127.0.0.1:8976/callback";
const insecure = { [oauth.allowInsecureRequests]: true } as const;

describe("oauth4webapi against this authorization server", () => {
  let t: ProvisionedServer;
  let as: oauth.AuthorizationServer;
  let client: oauth.Client;

  beforeAll(async () => {
    t = await startProvisionedServer(RESOURCE, { scopes: ["mcp:tools"] });
    const issuer = new URL(t.issuer);
    as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: "oauth2", ...insecure }),
    );
    const registered = await oauth.processDynamicClientRegistrationResponse(
      await oauth.dynamicClientRegistrationRequest(
        as,
        {
          redirect_uris: [REDIRECT],
          grant_types: ["authorization_code", "refresh_token"],
          token_endpoint_auth_method: "none",
          client_name: "oauth4webapi",
        },
        insecure,
      ),
    );
    client = { client_id: registered.client_id, token_endpoint_auth_method: "none" };
  });
  afterAll(async () => {
    await t.stop();
  });

  /** Runs the agent's approval for an authorization URL built by oauth4webapi; returns the redirect. */
  async function authorize(): Promise<{ callback: URL; verifier: string; state: string }> {
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint!);
    url.search = new URLSearchParams({
      response_type: "code",
      client_id: client.client_id,
      redirect_uri: REDIRECT,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      resource: RESOURCE,
      scope: "mcp:tools",
    }).toString();
    const challenge = (await (
      await fetch(url, { headers: { "x-agent-token": t.agent.agentToken } })
    ).json()) as {
      data: { authorization_request_id: string; pow_challenge: string; pow_difficulty: number };
    };
    const approval = await fetch(`${t.url}${OAUTH}/authorize`, {
      method: "POST",
      headers: { "x-agent-token": t.agent.agentToken, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        authorization_request_id: challenge.data.authorization_request_id,
        pow_nonce: await solvePow(challenge.data.pow_challenge, challenge.data.pow_difficulty),
      }),
      redirect: "manual",
    });
    return { callback: new URL(approval.headers.get("location")!), verifier, state };
  }

  async function exchange() {
    const { callback, verifier, state } = await authorize();
    const params = oauth.validateAuthResponse(as, client, callback, state);
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      oauth.None(),
      params,
      REDIRECT,
      verifier,
      {
        additionalParameters: { resource: RESOURCE },
        ...insecure,
      },
    );
    return oauth.processAuthorizationCodeResponse(as, client, response);
  }

  test("discovery: the document's issuer equals the URL it was derived from", () => {
    expect(as.issuer).toBe(t.issuer);
    expect(as.authorization_response_iss_parameter_supported).toBe(true);
  });

  test("the authorization response passes RFC 9207 iss and state validation; tampering with either is caught", async () => {
    const { callback, state } = await authorize();
    expect(oauth.validateAuthResponse(as, client, callback, state).get("code")).toBeString();
    const wrongIss = new URL(callback);
    wrongIss.searchParams.set("iss", "https://evil.example");
    expect(() => oauth.validateAuthResponse(as, client, wrongIss, state)).toThrow();
    const noIss = new URL(callback);
    noIss.searchParams.delete("iss");
    expect(() => oauth.validateAuthResponse(as, client, noIss, state)).toThrow();
    expect(() => oauth.validateAuthResponse(as, client, callback, "another-state")).toThrow();
  });

  test("the token response has the shape oauth4webapi insists on; the access token validates per RFC 9068", async () => {
    const tokens = await exchange();
    expect(tokens.token_type).toBe("bearer");
    expect(tokens.expires_in).toBe(300);
    expect(tokens.refresh_token).toBeString();
    const request = new Request(RESOURCE, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    const claims = await oauth.validateJwtAccessToken(as, request, RESOURCE, insecure);
    expect(claims.sub).toBe(t.agent.agentId);
    expect(claims.client_id).toBe(client.client_id);
    expect(claims.scope).toBe("mcp:tools");
    await expect(
      oauth.validateJwtAccessToken(as, request, "https://other.example/mcp", insecure),
    ).rejects.toMatchObject({ code: oauth.JWT_CLAIM_COMPARISON });
    await expect(
      oauth.validateJwtAccessToken(as, request, RESOURCE, { ...insecure, [oauth.clockSkew]: 400 }),
    ).rejects.toMatchObject({ code: oauth.JWT_TIMESTAMP_CHECK });
  });

  test("refresh, revocation and introspection through oauth4webapi's processors", async () => {
    const tokens = await exchange();
    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, {
        additionalParameters: { resource: RESOURCE },
        ...insecure,
      }),
    );
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);

    const resourceServer: oauth.Client = { client_id: "resource-server" };
    const bearer: oauth.ClientAuth = (_as, _client, _body, headers) => {
      headers.set("authorization", `Bearer ${t.introspectionToken}`);
    };
    const introspect = async (token: string) =>
      oauth.processIntrospectionResponse(
        as,
        resourceServer,
        await oauth.introspectionRequest(as, resourceServer, bearer, token, insecure),
      );
    expect((await introspect(refreshed.access_token)).active).toBe(true);

    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, client, oauth.None(), refreshed.refresh_token!, insecure),
    );
    expect((await introspect(refreshed.access_token)).active).toBe(false);
    const reuse = await oauth.refreshTokenGrantRequest(
      as,
      client,
      oauth.None(),
      refreshed.refresh_token!,
      insecure,
    );
    await expect(oauth.processRefreshTokenResponse(as, client, reuse)).rejects.toMatchObject({
      error: "invalid_grant",
    });
  });

  test("client credentials with oauth4webapi's PrivateKeyJwt for an agent client", async () => {
    const keys = await oauth.generateKeyPair("ES256");
    const jwk = await crypto.subtle.exportKey("jwk", keys.publicKey);
    const put = await fetch(`${t.url}${OAUTH}/agents/me/jwks`, {
      method: "PUT",
      headers: { "x-agent-token": t.agent.agentToken, "content-type": "application/json" },
      body: JSON.stringify({ keys: [{ ...jwk, kid: "agent-es256" }] }),
    });
    expect(put.status).toBe(200);
    const agentClient: oauth.Client = { client_id: t.agent.agentId };
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      agentClient,
      oauth.PrivateKeyJwt({ key: keys.privateKey, kid: "agent-es256" }),
      { resource: RESOURCE, scope: "mcp:tools" },
      insecure,
    );
    const tokens = await oauth.processClientCredentialsResponse(as, agentClient, response);
    const request = new Request(RESOURCE, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    const claims = await oauth.validateJwtAccessToken(as, request, RESOURCE, insecure);
    expect(claims.sub).toBe(t.agent.agentId);
    expect(claims.client_id).toBe(t.agent.agentId);
  });
});
