/**
 * The resource side of MCP authorization for MCP server authors: Protected
 * Resource Metadata, Bearer challenges, local verification of LIME access
 * tokens. Portable (fetch-style, no runtime-specific APIs). See
 * docs/mcp-oauth.md, "For MCP server authors".
 *
 * @example
 * import { createMcpResourceGuard } from "@lime-ts/sdk/mcp-server";
 * const guard = createMcpResourceGuard({ resource: "https://tools.example/mcp", issuer: "https://lime.example" });
 */
export {
  canonicalResourceUrl,
  createMcpResourceGuard,
  type GuardResult,
  type McpAuthInfo,
  type McpCaller,
  McpResourceGuard,
  type McpResourceGuardOptions,
} from "./resource-guard.ts";
