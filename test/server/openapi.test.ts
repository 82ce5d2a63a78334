import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../../server/testing.ts";

describe("OpenAPI description", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t.stop();
  });

  test("/openapi/json describes every public route of the wire contract", async () => {
    const response = await fetch(`${t.url}/openapi/json`);
    expect(response.status).toBe(200);
    const spec = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(spec.openapi).toStartWith("3.");
    const routes = Object.entries(spec.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    for (const route of [
      "POST /api/v1/foundation/users/register",
      "POST /api/v1/foundation/users/register/verify",
      "POST /api/v1/foundation/users/login",
      "POST /api/v1/foundation/users/logout",
      "GET /api/v1/foundation/users/me",
      "POST /api/v1/foundation/kyc/submissions",
      "POST /api/v1/admin/users/{id}/kyc",
      "POST /api/v1/foundation/sites/register",
      "GET /api/v1/foundation/sites",
      "GET /api/v1/core/agents",
      "DELETE /api/v1/foundation/sites/{site_id}",
      "POST /api/v1/core/agents/register",
      "GET /api/v1/core/agents/me/profile",
      "POST /api/v1/core/agents/{agent_id}/token",
      "DELETE /api/v1/core/agents/{agent_id}",
      "POST /api/v1/core/passports",
      "GET /.well-known/jwks.json",
      "GET /api/v1/core/.well-known/jwks.json",
      "POST /api/v1/admin/keys/rotate",
      "POST /api/v1/modules/agent-login/requests",
      "GET /api/v1/auth/requests/{id}",
      "POST /api/v1/modules/agent-login/requests/{id}/approve",
      "GET /api/v1/modules/agent-login/events",
      "GET /api/v1/modules/agent-login/requests/{id}",
      "GET /api/v1/foundation/audit",
    ]) {
      expect(routes).toContain(route);
    }
  });

  test("the human-readable reference is served at /openapi, from this server", async () => {
    const response = await fetch(`${t.url}/openapi`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    const html = await response.text();
    expect(html).toContain('<div id="swagger-ui"></div>');
    expect(html).toContain('src="openapi/assets/');
  });

  test("the reference's own routes stay out of the description", async () => {
    const spec = (await (await fetch(`${t.url}/openapi/json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(spec.paths).filter((path) => path.startsWith("/openapi"))).toEqual([]);
  });
});
