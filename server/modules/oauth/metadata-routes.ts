/**
 * Discovery: the Authorization Server Metadata (RFC 8414) at every path a
 * client derives from the issuer, and CORS preflight for the module.
 */

import { Elysia } from "elysia";
import { PUBLIC } from "../../http/contract.ts";
import { AuthorizationServerMetadata, LimeCompatibleMetadata } from "./contract.ts";
import { OAUTH_PREFIX, type OAuthDeps } from "./deps.ts";
import { jsonResponse } from "./errors.ts";
import {
  authorizationServerMetadata,
  limeCompatibleMetadata,
  METADATA_SUFFIX,
  metadataPaths,
} from "./metadata.ts";
import { CORS_HEADERS, describe, envelopeErrors, jsonAnswer } from "./openapi.ts";
import { withCors } from "./route-helpers.ts";

const CACHE_CONTROL = "public, max-age=3600";

/** The operation at `path`: the RFC 8414 document, or LIME's path with its envelope beside it. */
function describeMetadata(path: string) {
  const lime = path.startsWith(`${OAUTH_PREFIX}/`);
  const [operationId, where] = lime
    ? [
        "getLimeAuthorizationServerMetadata",
        "LIME's path: the same members, and LIME's envelope beside them.",
      ]
    : path === METADATA_SUFFIX
      ? ["getAuthorizationServerMetadata", "The root path clients derive from the issuer (RFC 8414 §3.1)."]
      : [
          "getAuthorizationServerMetadataForIssuerPath",
          "The issuer has a path: the well-known segment goes before it (RFC 8414 §3.1).",
        ];
  return {
    summary: "Authorization Server Metadata (RFC 8414)",
    description: `Raw JSON, not enveloped. ${where}`,
    operationId,
    security: PUBLIC,
    responses: describe(
      jsonAnswer(200, lime ? LimeCompatibleMetadata : AuthorizationServerMetadata, "The metadata document.", {
        "Cache-Control": {
          description: "Cached for an hour.",
          schema: { type: "string", const: CACHE_CONTROL },
        },
        ...CORS_HEADERS,
      }),
      envelopeErrors([]),
    ),
  };
}

export function metadataRoutes(deps: Pick<OAuthDeps, "issuer" | "cimd">) {
  const document = authorizationServerMetadata(deps);
  const metadataAt = (path: string) => {
    const body = path.startsWith(`${OAUTH_PREFIX}/`) ? limeCompatibleMetadata(document) : document;
    return () => withCors(jsonResponse(body, 200, { "cache-control": CACHE_CONTROL }));
  };
  const preflight = () => withCors(new Response(null, { status: 204 }));

  let app = new Elysia({ tags: ["oauth"] });
  for (const path of metadataPaths(deps.issuer)) {
    app = app.get(path, metadataAt(path), { detail: describeMetadata(path) });
    // MCP clients in a browser send MCP-Protocol-Version, which makes the metadata fetch preflighted.
    if (!path.startsWith(`${OAUTH_PREFIX}/`)) app = app.options(path, preflight, { detail: { hide: true } });
  }
  return app.options(`${OAUTH_PREFIX}/*`, preflight, { detail: { hide: true } });
}
