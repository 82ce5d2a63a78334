/**
 * The page a browser sees when a page request fails: no such page, a body
 * it cannot read, a fault of ours. Same words as the API's envelope, never a
 * stack trace.
 */

import type { DomainError } from "../errors.ts";
import { html } from "./html.ts";
import { renderPage } from "./layout.ts";

export function renderErrorPage(error: DomainError, status: number): Response {
  const title =
    status === 404
      ? "Page not found"
      : status >= 500
        ? "Something went wrong"
        : "This request cannot be answered";
  const explanation =
    status === 404
      ? "There is no page at this address."
      : status >= 500
        ? "The server could not answer. Try again in a moment."
        : error.message;
  return renderPage({
    title,
    narrow: true,
    status,
    forms: "none",
    body: html`<h1>${title}</h1><p>${explanation}</p><p><a href="/">Go to the overview</a></p>`,
  });
}
