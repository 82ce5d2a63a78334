/**
 * Takes docs/api-reference.png, the screenshot in docs/api.md: the API
 * reference page at /openapi, served by a fresh server, with the agent's
 * challenge operation expanded to its response schema. Run it after a
 * change to the description or the page:
 *
 *   bun test/web/screenshot-api-reference.ts
 */
import { join } from "node:path";
import { startTestServer } from "../../server/testing.ts";
import { freshContext, launchChromium } from "../support/browser.ts";

const OUT = join(import.meta.dir, "..", "..", "docs", "api-reference.png");

const t = await startTestServer();
const browser = await launchChromium();
try {
  const page = await (await freshContext(browser)).newPage();
  await page.setViewportSize({ width: 1280, height: 1000 });
  await page.goto(`${t.url}/openapi`);
  const operation = page.locator(".opblock").filter({
    has: page.locator('.opblock-summary-path[data-path="/api/v1/auth/requests/{id}"]'),
  });
  await operation.locator(".opblock-summary").click({ timeout: 30_000 });
  const success = operation.locator('.responses-table .response[data-code="200"]');
  await success.locator('button.tablinks[data-name="model"]').click();
  await success
    .locator(
      '.json-schema-2020-12-accordion:has(.json-schema-2020-12__title:text-is("data")) + .json-schema-2020-12-expand-deep-button',
    )
    .first()
    .click();
  await success.scrollIntoViewIfNeeded();
  await page.screenshot({ path: OUT });
  console.log(`wrote ${OUT}`);
} finally {
  await browser.close();
  await t.stop();
}
