/**
 * Regression: the human OpenAPI reference at /openapi loaded Scalar from
 * cdn.jsdelivr.net at its "latest" version, with no integrity pin, on the
 * identity server's own origin: the origin of the owners' session cookies,
 * the readable CSRF cookie and the OAuth consent page. Whoever published
 * that package (or served that CDN) ran script there, and without internet
 * the page was blank. The UI is now swagger-ui-dist at the exact version in
 * package.json, served by the server itself, under a CSP that allows script
 * from this origin only; production still serves only the JSON
 * (docs/decisions/openapi-reference-ui.md).
 */

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { withTestServer } from "../helpers.ts";

const root = join(import.meta.dir, "..", "..", "..");
const installed = join(root, "node_modules", "swagger-ui-dist");

/** The `src` and `href` attributes of the page, and the bodies of its script elements. */
function references(html: string) {
  const urls = [...html.matchAll(/\s(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);
  const scriptBodies = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  return { urls, scriptBodies };
}

describe("the API reference page", () => {
  test("production serves /openapi/json but no reference page and no UI assets", async () => {
    await withTestServer({ config: { production: true } }, async (t) => {
      const page = await fetch(`${t.url}/openapi`);
      expect(page.status).toBe(404);
      expect(await page.text()).not.toContain("<script");
      const spec = await fetch(`${t.url}/openapi/json`);
      expect(spec.status).toBe(200);
      expect(((await spec.json()) as { openapi: string }).openapi).toStartWith("3.");
      // What the development page would reference does not exist here.
      const dev = await withPage();
      for (const url of references(dev).urls) {
        expect((await fetch(`${t.url}/${url}`)).status).toBe(404);
      }
    });
  });

  test("development: no inline script and nothing from elsewhere; the CSP allows script from this origin only", async () => {
    await withTestServer({}, async (t) => {
      const page = await fetch(`${t.url}/openapi`);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toStartWith("text/html");
      const html = await page.text();
      const { urls, scriptBodies } = references(html);
      expect(scriptBodies.length).toBeGreaterThanOrEqual(2);
      for (const body of scriptBodies) expect(body.trim()).toBe("");
      expect(urls.length).toBeGreaterThanOrEqual(3);
      for (const url of urls) expect(url).toMatch(/^openapi\/assets\/[0-9a-f]{16}\/[\w.-]+$/);
      expect(html).not.toMatch(/cdn|jsdelivr|unpkg|https?:\/\//i);

      const csp = page.headers.get("content-security-policy")!;
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).not.toContain("unsafe-eval");
      expect(csp).not.toMatch(/https?:|\*/);
      expect(page.headers.get("x-frame-options")).toBe("DENY");
    });
  });

  test("the assets are the installed package's files, pinned to an exact version, cached for a year", async () => {
    const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    const { version } = JSON.parse(readFileSync(join(installed, "package.json"), "utf8")) as {
      version: string;
    };
    expect(manifest.dependencies["swagger-ui-dist"]).toBe(version);

    await withTestServer({}, async (t) => {
      const html = await (await fetch(`${t.url}/openapi`)).text();
      expect(html).toContain(`swagger-ui-dist ${version}`);
      const urls = references(html).urls;
      const bundle = urls.find((url) => url.endsWith("/swagger-ui-bundle.js"))!;
      const served = await fetch(`${t.url}/${bundle}`);
      expect(served.status).toBe(200);
      expect(served.headers.get("content-type")).toStartWith("text/javascript");
      expect(served.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(served.headers.get("x-content-type-options")).toBe("nosniff");
      expect(new Uint8Array(await served.arrayBuffer())).toEqual(
        new Uint8Array(readFileSync(join(installed, "swagger-ui-bundle.js"))),
      );
      const css = await fetch(`${t.url}/${urls.find((url) => url.endsWith("/swagger-ui.css"))!}`);
      expect(css.headers.get("content-type")).toStartWith("text/css");
      const initializer = await fetch(`${t.url}/${urls.find((url) => url.endsWith("/lime-reference.js"))!}`);
      expect(await initializer.text()).toContain('url: "openapi/json"');

      // Another hash (an asset of an older version) is an ordinary 404.
      const stale = await fetch(`${t.url}/openapi/assets/0000000000000000/swagger-ui-bundle.js`);
      expect(stale.status).toBe(404);
      expect(((await stale.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
    });
  });
});

/** The development page's HTML, for checking what production must not serve. */
async function withPage(): Promise<string> {
  let html = "";
  await withTestServer({}, async (t) => {
    html = await (await fetch(`${t.url}/openapi`)).text();
  });
  return html;
}
