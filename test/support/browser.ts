/**
 * What the browser tests share: headless Chromium (Debian's, driven by
 * playwright-core, with the flags this machine needs), a fresh context per
 * test, and an axe-core check of the page as it is, at a phone's width and
 * at a desktop's.
 */

import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Browser, BrowserContext, Page } from "playwright-core";

export const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Without a browser the suites are skipped locally; under CI (which installs one) they must run. */
export const browserAvailable = existsSync(executablePath) || Boolean(process.env.CI);

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

/** A context that can use the clipboard (the copy buttons) and nothing but loopback. */
export async function freshContext(browser: Browser, width = 1280): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await context.route(/^https?:\/\/(?!127\.0\.0\.1|localhost|\[::1\])/, (route) => route.abort());
  return context;
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export interface AxeFinding {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

/**
 * The serious and critical WCAG 2.x A/AA findings of axe-core on the page.
 * axe is evaluated through the DevTools protocol, so the page's CSP (no
 * inline or foreign script) stays in force while it runs.
 */
export async function seriousAxeFindings(page: Page): Promise<AxeFinding[]> {
  // Once per document: parsing axe costs about as much as running it.
  if (await page.evaluate(() => !("axe" in window))) await page.evaluate(axeSource);
  const results = (await page.evaluate(
    `axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } })`,
  )) as { violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[] };
  return results.violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((violation) => ({
      id: violation.id,
      impact: violation.impact!,
      help: violation.help,
      targets: violation.nodes.map((node) => node.target.join(" ")),
    }));
}

/** axe at 375 px and at 1280 px wide: the findings of both, labelled by width. */
export async function axeAtBothWidths(page: Page): Promise<string[]> {
  const findings: string[] = [];
  for (const width of [375, 1280]) {
    await page.setViewportSize({ width, height: 900 });
    for (const finding of await seriousAxeFindings(page)) {
      findings.push(
        `${width}px ${page.url()}: ${finding.id} (${finding.impact}) ${finding.targets.join(", ")}`,
      );
    }
  }
  return findings;
}

/** True when nothing on the page is wider than the viewport (no sideways scrolling of the page itself). */
export async function fitsViewport(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
}
