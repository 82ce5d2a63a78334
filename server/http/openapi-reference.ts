/**
 * The human-readable API reference at `/openapi`: Swagger UI, served by
 * this server from the `swagger-ui-dist` package pinned in package.json,
 * never from a CDN, so it works offline and runs exactly the code that was
 * installed (docs/decisions/openapi-reference-ui.md).
 *
 * The page carries no inline script: the UI's bundle, its stylesheet and
 * our few lines of configuration are files served under
 * `/openapi/assets/<content hash>/`, cacheable for a year since any change
 * changes the path. Its Content-Security-Policy allows script and style
 * from this origin only, and fetches to this origin only (the description,
 * and "Try it out" requests).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Elysia } from "elysia";
import { DomainError } from "../errors.ts";

/** The configuration, as a file of its own (no inline script). Relative URLs keep a PUBLIC_URL path prefix. */
const INITIALIZER = `// LIME's configuration of Swagger UI (server/http/openapi-reference.ts).
window.ui = SwaggerUIBundle({
  url: "openapi/json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  // No spec or configuration from the query string, and no call to an online validator.
  queryConfigEnabled: false,
  validatorUrl: null,
});
`;

const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  type: string;
}

interface Reference {
  /** The package's exact version, shown on the page. */
  version: string;
  /** `<hash>/<name>` → asset. */
  assets: Map<string, Asset>;
  page: string;
}

function contentHash(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 16);
}

/** Reads the pinned package's files once, on the first request for the reference. */
function loadReference(): Reference {
  const packageJson = createRequire(import.meta.url).resolve("swagger-ui-dist/package.json");
  const root = dirname(packageJson);
  const { version } = JSON.parse(readFileSync(packageJson, "utf8")) as { version: string };
  const files: Array<[name: string, body: Uint8Array<ArrayBuffer>, type: string]> = [
    ["swagger-ui.css", readFileSync(join(root, "swagger-ui.css")), "text/css; charset=utf-8"],
    [
      "swagger-ui-bundle.js",
      readFileSync(join(root, "swagger-ui-bundle.js")),
      "text/javascript; charset=utf-8",
    ],
    ["lime-reference.js", new TextEncoder().encode(INITIALIZER), "text/javascript; charset=utf-8"],
  ];
  const assets = new Map<string, Asset>();
  const href = new Map<string, string>();
  for (const [name, body, type] of files) {
    const path = `${contentHash(body)}/${name}`;
    assets.set(path, { body, type });
    // Relative to the page (/openapi), like the description's URL.
    href.set(name, `openapi/assets/${path}`);
  }
  const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>LIME identity server: API reference</title>
<meta name="generator" content="swagger-ui-dist ${version}">
<link rel="stylesheet" href="${href.get("swagger-ui.css")}">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${href.get("swagger-ui-bundle.js")}"></script>
<script src="${href.get("lime-reference.js")}"></script>
</body>
</html>
`;
  return { version, assets, page };
}

/** Routes for the page at `path` and its assets; served with the headers above. */
export function openapiReference(path = "/openapi") {
  let reference: Reference | undefined;
  const get = () => {
    reference ??= loadReference();
    return reference;
  };
  return new Elysia({ name: "lime-openapi-reference" })
    .get(
      path,
      () =>
        new Response(get().page, {
          headers: {
            "content-type": "text/html; charset=utf-8",
            "content-security-policy": PAGE_CSP,
            "x-frame-options": "DENY",
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
            // The page names the assets by hash: it must be fresh, they never change.
            "cache-control": "no-cache",
          },
        }),
      { detail: { hide: true } },
    )
    .get(
      `${path}/assets/:hash/:name`,
      ({ params }) => {
        const asset = get().assets.get(`${params.hash}/${params.name}`);
        // An old hash (after an upgrade) is gone like any unknown route.
        if (asset === undefined) throw new DomainError("NOT_FOUND", "No such route.");
        return new Response(asset.body, {
          headers: {
            "content-type": asset.type,
            "x-content-type-options": "nosniff",
            "cache-control": "public, max-age=31536000, immutable",
            "cross-origin-resource-policy": "same-origin",
          },
        });
      },
      { detail: { hide: true } },
    );
}
