/**
 * Regression: a token for the root resource of a host taken for LIME's
 * domain token.
 *
 * LIME's headless `{"domain"}` tokens carry the audience `https://<host>`
 * (with "mcp"), and the guard and introspection accept that audience for
 * any MCP server on the host. But `https://<host>` is also the canonical
 * form of a resource registered at the root of that host, so an RFC 8707
 * token an owner approved for the root server, scopes and all, was
 * accepted by every other MCP server on the host, which is what audience
 * binding exists to prevent (MCP "Token Audience Binding"). The host
 * audience now counts only in a domain token (its audience also holds "mcp").
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createMcpResourceGuard } from "@lime-ts/sdk/mcp-server";
import {
  approveWithPkce,
  call,
  exchangeCode,
  OAUTH,
  type ProvisionedServer,
  registerClient,
  registerResource,
  startProvisionedServer,
} from "../helpers.ts";

const RESOURCE = "https://tools.example/mcp";
const ROOT = "https://tools.example";

describe("the host audience is LIME's domain token, not the root resource", () => {
  let t: ProvisionedServer;
  let rootToken: string;
  let domainToken: string;

  beforeAll(async () => {
    t = await startProvisionedServer(RESOURCE, { scopes: ["mcp:tools"] });
    await registerResource(t.url, t.owner, ROOT, ["mcp:tools"]);
    const clientId = await registerClient(t.url);
    const grant = await approveWithPkce(t.url, t.agent.agentToken, { clientId, resource: ROOT });
    const exchanged = await exchangeCode(t.url, { ...grant, clientId });
    expect(exchanged.status).toBe(200);
    rootToken = exchanged.body.access_token;
    const headless = await call(t.url, `${OAUTH}/token`, {
      headers: { "x-agent-token": t.agent.agentToken },
      json: { domain: "tools.example" },
    });
    domainToken = headless.body.access_token;
  });
  afterAll(async () => {
    await t.stop();
  });

  test("the guard of /mcp refuses a token issued for the root resource, and takes the domain token", async () => {
    const guard = createMcpResourceGuard({
      resource: RESOURCE,
      issuer: t.issuer,
      requiredScopes: ["mcp:tools"],
      now: () => t.clock.now(),
    });
    const request = (token: string) =>
      new Request(RESOURCE, { method: "POST", headers: { authorization: `Bearer ${token}` } });
    const root = await guard.authenticate(request(rootToken));
    expect(root.ok).toBe(false);
    if (!root.ok) expect(root.response.status).toBe(401);
    expect((await guard.authenticate(request(domainToken))).ok).toBe(true);

    const rootGuard = createMcpResourceGuard({ resource: ROOT, issuer: t.issuer, now: () => t.clock.now() });
    expect((await rootGuard.authenticate(new Request(ROOT, request(rootToken)))).ok).toBe(true);
  });

  test("introspection by /mcp reports the root resource's token inactive, the domain token active", async () => {
    const introspect = (token: string) =>
      call(t.url, `${OAUTH}/introspect`, {
        headers: { authorization: `Bearer ${t.introspectionToken}` },
        form: { token },
      });
    expect((await introspect(rootToken)).body).toEqual({ active: false });
    expect((await introspect(domainToken)).body.active).toBe(true);
  });
});

describe("acceptDomainTokens: false at the root of a host", () => {
  test("refuses LIME's domain token even though its host audience equals the root resource", async () => {
    const t = await startProvisionedServer(ROOT, { scopes: ["mcp:tools"] });
    try {
      const headless = await call(t.url, `${OAUTH}/token`, {
        headers: { "x-agent-token": t.agent.agentToken },
        json: { domain: "tools.example" },
      });
      expect(headless.status).toBe(200);
      const guard = createMcpResourceGuard({
        resource: ROOT,
        issuer: t.issuer,
        acceptDomainTokens: false,
        now: () => t.clock.now(),
      });
      const answer = await guard.authenticate(
        new Request(ROOT, { headers: { authorization: `Bearer ${headless.body.access_token}` } }),
      );
      expect(answer.ok).toBe(false);
    } finally {
      await t.stop();
    }
  });
});
