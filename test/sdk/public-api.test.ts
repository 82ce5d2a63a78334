import { expect, test } from "bun:test";
import * as sdk from "@lime-ts/sdk";
import * as elysiaEntry from "@lime-ts/sdk/elysia";
import * as mcpEntry from "@lime-ts/sdk/mcp";

test("sdk/index.ts exports exactly the documented runtime values", () => {
  expect(Object.keys(sdk).sort()).toEqual(
    [
      "AgentClient",
      "BINDING_AUDIENCE",
      "LimeApiError",
      "LimeSdkError",
      "PASSPORT_AUTH_SCHEME",
      "PassportError",
      "PassportVerifier",
      "SITE_LOGIN_AUDIENCE",
      "SiteClient",
      "SignatureError",
      "createPassportGuard",
      "createPassportVerifier",
      "generateAgentKey",
      "importAgentKey",
      "isLimeError",
      "passportChallenge",
      "withAgentPassport",
    ].sort(),
  );
});

test("internals stay internal: no HTTP client, SSE parser, token cache or JWKS cache class", () => {
  for (const name of [
    "HttpClient",
    "EventStreamParser",
    "TokenCache",
    "JwksCache",
    "KeyDirectory",
    "NonceReplayCache",
    "AgentKeyring",
    "LoginEventConsumer",
    "solve",
  ]) {
    expect(name in sdk).toBe(false);
  }
});

test("the Elysia plugin is a separate entry", () => {
  expect(Object.keys(elysiaEntry)).toEqual(["agentPassport"]);
  expect("agentPassport" in sdk).toBe(false);
});

test("the MCP helper is a separate entry too", () => {
  expect(Object.keys(mcpEntry).sort()).toEqual(["callMcpTool", "connectMcp", "mcpFetch"]);
  expect("connectMcp" in sdk).toBe(false);
});
