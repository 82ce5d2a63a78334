/**
 * Regression: per-request scopes written unchecked into `WWW-Authenticate`.
 *
 * The guard checked the scopes given to its constructor against the RFC 6749
 * §3.3 scope-token grammar, but not those passed to `authenticate()` for one
 * request. Such a scope went into the challenge as is: a space added scopes
 * the server never meant to ask for, and a quote or a line break reached the
 * header (where the runtime's header check turned it into an unhandled
 * error). Per-request scopes are held to the same grammar, and refused the
 * same way, as a caller mistake (TypeError).
 */

import { describe, expect, test } from "bun:test";
import { createMcpResourceGuard } from "@lime-ts/sdk/mcp-server";

describe("per-request scopes in the Bearer challenge", () => {
  const guard = createMcpResourceGuard({
    resource: "https://tools.example/mcp",
    issuer: "https://lime.example",
    requiredScopes: ["mcp:tools"],
    fetch: () => Promise.reject(new Error("no network in this test")),
  });
  const anonymous = () => new Request("https://tools.example/mcp", { method: "POST" });

  test("a scope that is not a scope token is refused before anything is written", async () => {
    for (const scope of ["mcp:tools admin", 'x", error="invalid_token', "a\r\nb", ""]) {
      await expect(guard.authenticate(anonymous(), { requiredScopes: [scope] })).rejects.toThrow(TypeError);
    }
  });

  test("valid per-request scopes still name every one of them in the challenge", async () => {
    const result = await guard.authenticate(anonymous(), { requiredScopes: ["mcp:tools", "files:read"] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.response.status).toBe(401);
    expect(result.response.headers.get("www-authenticate")).toContain('scope="mcp:tools files:read"');
  });
});
