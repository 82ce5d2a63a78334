/**
 * Regression: bidirectional-text spoofing on the sign-in and consent pages.
 *
 * Client names (self-registered, or from a metadata document) and resource
 * display names refused control characters but accepted the Unicode bidi
 * formatting characters. A right-to-left override in a client name reorders
 * everything after it in the paragraph, so the page's "(self-registered;
 * its name is not verified)" and the MCP server's name were shown reversed
 * or scrambled. Such names are refused now, and names are isolated
 * (`<bdi>`) when rendered, for any registered before.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  authorizationPath,
  call,
  OAUTH,
  type ProvisionedServer,
  pkcePair,
  REDIRECT_URI,
  startProvisionedServer,
} from "../helpers.ts";

const RESOURCE = "https://tools.example/mcp";
const RLO = "\u202e";
const RLI = "\u2067";

describe("bidi formatting characters in names shown to owners", () => {
  let t: ProvisionedServer;

  beforeAll(async () => {
    t = await startProvisionedServer(RESOURCE);
  });
  afterAll(async () => {
    await t.stop();
  });

  test("a registration whose client_name holds a bidi override or isolate → invalid_client_metadata", async () => {
    for (const name of [`Claude${RLO}`, `Tools ${RLI}x`, "a\u200fb"]) {
      const answer = await call(t.url, `${OAUTH}/register`, {
        json: { client_name: name, redirect_uris: [REDIRECT_URI] },
      });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe("invalid_client_metadata");
    }
  });

  test("a resource display name holding one → OAUTH_INVALID_RESOURCE", async () => {
    const answer = await call(t.url, `${OAUTH}/resources`, {
      headers: { authorization: `Bearer ${t.owner.sessionToken}` },
      json: { resource: "https://other.example/mcp", display_name: `Drive${RLO}` },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("OAUTH_INVALID_RESOURCE");
  });

  test("a name stored before the rule is isolated on the sign-in page, the note after it is not", async () => {
    const now = t.clock.now();
    const clientId = `mcp_${crypto.randomUUID()}`;
    await t.server.context.oauth.stores.clients.create({
      clientId,
      kind: "dynamic",
      agentId: null,
      metadata: {
        client_name: `Evil${RLO}`,
        redirect_uris: [REDIRECT_URI],
        grant_types: ["authorization_code"],
        response_types: ["code"],
        token_endpoint_auth_method: "none",
        scope: null,
        client_uri: null,
        logo_uri: null,
        tos_uri: null,
        policy_uri: null,
        contacts: [],
        software_id: null,
        software_version: null,
        application_type: null,
        jwks: null,
      },
      createdAt: now,
      updatedAt: now,
    });
    const page = await call(
      t.url,
      authorizationPath({ clientId, resource: RESOURCE, challenge: pkcePair().challenge, method: "S256" }),
    );
    expect(page.status).toBe(200);
    expect(page.body as string).toContain(`<bdi>Evil${RLO}</bdi> <small>(self-registered`);
  });
});
