/**
 * The API reference renders with no internet: headless Chromium loads
 * /openapi while every request off loopback is refused, and Swagger UI,
 * served by the server itself, lists the operations of the description and
 * shows an operation's response fields from its schema. The page's CSP
 * (script and style from this origin only) must not block anything the UI
 * needs.
 *
 * Not asserted: axe-core. Swagger UI's own markup has serious findings we
 * cannot fix from here (color-contrast on its method badges, version stamp
 * and URL; nested-interactive on every operation's summary control).
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startTestServer, type TestServer } from "../../server/testing.ts";
import { browserAvailable, launchChromium } from "../support/browser.ts";
import { SLOW_TEST_TIMEOUT_MS } from "../support/slow-test.ts";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** A page where every request off loopback is refused and recorded, as are console errors. */
async function offlinePage(
  context: BrowserContext,
): Promise<{ page: Page; offLoopback: string[]; problems: string[] }> {
  const offLoopback: string[] = [];
  const problems: string[] = [];
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
  return { page, offLoopback, problems };
}

describe.skipIf(!browserAvailable)("/openapi offline, in headless Chromium", () => {
  let t: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestServer();
    browser = await launchChromium();
  }, SLOW_TEST_TIMEOUT_MS);
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  test(
    "every operation is listed with only loopback reachable, and nothing was refused",
    async () => {
      const context = await browser.newContext();
      try {
        const { page, offLoopback, problems } = await offlinePage(context);
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
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "an expanded operation shows its response schema's fields",
    async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      try {
        const { page, offLoopback, problems } = await offlinePage(context);
        await page.goto(`${t.url}/openapi`);
        const operation = page.locator(".opblock").filter({
          has: page.locator('.opblock-summary-path[data-path="/api/v1/auth/requests/{id}"]'),
        });
        await operation.locator(".opblock-summary").click({ timeout: 30_000 });
        const success = operation.locator('.responses-table .response[data-code="200"]');
        await success.waitFor({ timeout: 30_000 });

        // The example Swagger UI builds from the schema names every field ...
        const example = success.locator(".example, .microlight").first();
        expect(await example.isVisible()).toBe(true);
        const exampleText = (await example.textContent()) ?? "";
        for (const field of [
          "login_request_id",
          "pow_challenge",
          "pow_difficulty",
          "pow_algorithm",
          "site_id",
        ]) {
          expect(exampleText).toContain(`"${field}"`);
        }
        // ... and the schema itself, opened down to `data`'s members, lists them as fields.
        await success.locator('button.tablinks[data-name="model"]').click();
        const schema = success.locator(".model-example");
        await schema
          .locator(
            '.json-schema-2020-12-accordion:has(.json-schema-2020-12__title:text-is("data")) + .json-schema-2020-12-expand-deep-button',
          )
          .click();
        const field = (name: string) =>
          schema.locator(".json-schema-2020-12__title", { hasText: new RegExp(`^${name}$`) }).first();
        for (const name of [
          "login_request_id",
          "pow_challenge",
          "pow_difficulty",
          "pow_algorithm",
          "expires_at",
        ]) {
          expect({ name, visible: await field(name).isVisible() }).toEqual({ name, visible: true });
        }
        // The site's view of a request has a passport; the agent's challenge does not.
        expect(await field("agent_passport_jwt").count()).toBe(0);

        expect(offLoopback).toEqual([]);
        expect(problems).toEqual([]);
      } finally {
        await context.close();
      }
    },
    SLOW_TEST_TIMEOUT_MS,
  );
});
