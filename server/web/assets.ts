/**
 * The pages' static files, served by the server itself (no CDN): read once at
 * boot, named by a hash of their bytes so they can be cached for a year, and
 * refused for any name not on the list.
 */

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { Elysia } from "elysia";

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
  path: string;
}

const TYPES: Record<string, string> = {
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
};

function load(file: string): Asset {
  const body = Uint8Array.from(readFileSync(new URL(`./assets/${file}`, import.meta.url)));
  const hash = createHash("sha256").update(body).digest("hex").slice(0, 12);
  const dot = file.lastIndexOf(".");
  const extension = file.slice(dot + 1);
  return { body, contentType: TYPES[extension]!, path: `/assets/${file.slice(0, dot)}.${hash}.${extension}` };
}

const ASSETS = { css: load("portal.css"), js: load("portal.js") };

/** The URL of the stylesheet and of the script, with their content hash. */
export const ASSET_PATHS = { css: ASSETS.css.path, js: ASSETS.js.path };

const BY_PATH = new Map(Object.values(ASSETS).map((asset) => [asset.path, asset]));

export function webAssetRoutes() {
  return new Elysia({ name: "lime-web-assets" }).get(
    "/assets/:file",
    ({ request }) => {
      const asset = BY_PATH.get(new URL(request.url).pathname);
      if (!asset)
        return new Response("Not found", { status: 404, headers: { "content-type": "text/plain" } });
      return new Response(asset.body, {
        headers: {
          "content-type": asset.contentType,
          "cache-control": "public, max-age=31536000, immutable",
          "x-content-type-options": "nosniff",
        },
      });
    },
    { detail: { hide: true } },
  );
}
