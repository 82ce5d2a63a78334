/**
 * Regression: the human OpenAPI reference at /openapi loads Scalar from
 * cdn.jsdelivr.net at its "latest" version, with no integrity pin, on the
 * identity server's own origin: the origin of the owners' session cookies,
 * the readable CSRF cookie and the OAuth consent page. Whoever publishes
 * that package (or serves that CDN) ran script there. Production now serves
 * only the JSON description.
 */

import { describe, expect, test } from "bun:test";
import { withTestServer } from "../helpers.ts";

describe("no third-party script on the identity origin in production", () => {
  test("production serves /openapi/json but no reference page", async () => {
    await withTestServer({ config: { production: true } }, async (t) => {
      const page = await fetch(`${t.url}/openapi`);
      expect(page.status).toBe(404);
      expect(await page.text()).not.toContain("<script");
      const spec = await fetch(`${t.url}/openapi/json`);
      expect(spec.status).toBe(200);
      expect(((await spec.json()) as { openapi: string }).openapi).toStartWith("3.");
    });
  });

  test("development keeps the reference page", async () => {
    await withTestServer({}, async (t) => {
      expect((await fetch(`${t.url}/openapi`)).status).toBe(200);
    });
  });
});
