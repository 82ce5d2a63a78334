/** The page that answers a form which made a secret (a token): shown here once, never in a URL. */

import { secretOnce } from "../components.ts";
import { html, type SafeHtml } from "../html.ts";
import { type NavSection, renderPage } from "../layout.ts";
import type { PageOwner } from "../session.ts";
import { shellOwner } from "./portal-guard.ts";

export interface SecretPage {
  title: string;
  section: NavSection;
  /** What the secret is, as the reader knows it ("Site token"). */
  label: string;
  secret: string;
  /** The element id of the secret's box (the copy button points at it). */
  id: string;
  /** What to do with it, and where to go next. */
  next: SafeHtml;
}

export function secretShownOncePage(owner: PageOwner, page: SecretPage): Response {
  return renderPage({
    title: page.title,
    owner: shellOwner(owner),
    current: page.section,
    body: html`<h1>${page.title}</h1>
${secretOnce(page.label, page.secret, page.id)}
<p>${page.next}</p>`,
  });
}
