/**
 * Discovery: the Authorization Server Metadata (RFC 8414) at every path a
 * client derives from the issuer, and CORS preflight for the module.
 */

import { Elysia } from "elysia";
import { OAUTH_PREFIX, type OAuthDeps } from "./deps.ts";
import { jsonResponse } from "./errors.ts";
import { authorizationServerMetadata, limeCompatibleMetadata, metadataPaths } from "./metadata.ts";
import { withCors } from "./route-helpers.ts";

export function metadataRoutes(deps: Pick<OAuthDeps, "issuer" | "cimd">) {
  const document = authorizationServerMetadata(deps);
  const metadataAt = (path: string) => {
    const body = path.startsWith(`${OAUTH_PREFIX}/`) ? limeCompatibleMetadata(document) : document;
    return () => withCors(jsonResponse(body, 200, { "cache-control": "public, max-age=3600" }));
  };
  const preflight = () => withCors(new Response(null, { status: 204 }));

  let app = new Elysia({ tags: ["oauth"] });
  for (const path of metadataPaths(deps.issuer)) {
    app = app.get(path, metadataAt(path), {
      detail: { summary: "Authorization Server Metadata (RFC 8414)" },
    });
    // MCP clients in a browser send MCP-Protocol-Version, which makes the metadata fetch preflighted.
    if (!path.startsWith(`${OAUTH_PREFIX}/`)) app = app.options(path, preflight, { detail: { hide: true } });
  }
  return app.options(`${OAUTH_PREFIX}/*`, preflight, { detail: { hide: true } });
}
