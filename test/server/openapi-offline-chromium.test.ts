/**
 * The API reference renders with no internet: headless Chromium loads
 * /openapi while every request off loopback is refused, and Swagger UI,
 * served by the server itself, lists the operations of the description.
 * The page's CSP (script and style from this origin only) must not block
 * anything the UI needs.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import { startTestServer, type TestServer } from "../../server/testing.ts";
import { browserAvailable, launchChromium } from "../support/browser.ts";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

describe.skipIf(!browserAvailable)("/openapi offline, in headless Chromium", () => {
  let t: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestServer();
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  test("every operation is listed with only loopback reachable, and nothing was refused", async () => {
    const context = await browser.newContext();
    const offLoopback: string[] = [];
    const problems: string[] = [];
    try {
      await context.route("**/*", (route) => {
        const url = new URL(route.request().url());
        if (LOOPBACK.has(url.hostname)) return route.continue();
        offLoopback.push(url.href);
        return route.abort("internetdisconnected");
      });
      const page = await context.newPage();
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(message.text());
      });
      page.on("pageerror", (error) => problems.push(error.message));
      await page.goto(`${t.url}/openapi`);
      await page.waitForSelector(".opblock", { timeout: 30_000 });

      const listed = await page.locator(".opblock-summary-path").allTextContents();
      const paths = listed.map((text) => text.replace(/\u200b/g, "").trim());
      for (const path of [
        "/api/v1/foundation/users/register",
        "/api/v1/modules/agent-login/requests",
        "/api/v1/auth/requests/{id}",
        "/.well-known/jwks.json",
      ]) {
        expect(paths).toContain(path);
      }
      expect(paths.length).toBeGreaterThan(30);
      expect(await page.textContent(".info .title")).toContain("LIME identity server");

      // Expanding an operation and its "Try it out" still runs under the CSP.
      await page.locator(".opblock-summary").first().click();
      await page.locator("button.try-out__btn").first().click();
      await page.waitForSelector("button.execute");

      expect(offLoopback).toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});
