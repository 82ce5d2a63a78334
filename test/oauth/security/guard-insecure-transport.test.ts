// Guards the MCP resource guard against fetching its keys in clear: an http
// issuer or JWKS URL off loopback is refused at construction (it used to fail
// only at the first token, as a 401 nobody could explain), unless the
// development opt-out is set.
import { describe, expect, test } from "bun:test";
import { createMcpResourceGuard } from "@lime-ts/sdk/mcp-server";

const resource = "https://tools.example/mcp";

describe("McpResourceGuard transport", () => {
  test.each([
    ["issuer", { issuer: "http://lime.example" }],
    ["jwksUrl", { issuer: "https://lime.example", jwksUrl: "http://keys.example/jwks.json" }],
  ])("a plain-http %s off loopback is refused at construction, naming the option", (name, options) => {
    expect(() => createMcpResourceGuard({ resource, ...options })).toThrow(
      new RegExp(`McpResourceGuard: ${name}.*allowInsecureTransport`),
    );
  });

  test("https, loopback http and the explicit opt-out are accepted", () => {
    expect(() => createMcpResourceGuard({ resource, issuer: "https://lime.example" })).not.toThrow();
    expect(() => createMcpResourceGuard({ resource, issuer: "http://127.0.0.1:3000" })).not.toThrow();
    expect(() =>
      createMcpResourceGuard({ resource, issuer: "http://lime.example", allowInsecureTransport: true }),
    ).not.toThrow();
  });
});
