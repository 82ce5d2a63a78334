/**
 * Form posts of the pages for people (`application/x-www-form-urlencoded`,
 * HTML §4.10.21.8), read within the body limit and handed to the routes as
 * `FormFields`. API routes never see a form body: the parser answers only for
 * paths outside `/api/` and `/.well-known/`, and the JSON-only boundary parser
 * takes everything else.
 */

import { Elysia } from "elysia";
import { readBodyText } from "../http/body.ts";

/** Longest value read from one field; longer ones are cut to this length and fail validation later. */
const MAX_FIELD_LENGTH = 4096;

export class FormFields {
  readonly #params: URLSearchParams;

  constructor(text: string) {
    this.#params = new URLSearchParams(text);
  }

  /** The field's value, trimmed; "" when absent. */
  text(name: string): string {
    return (this.#params.get(name) ?? "").slice(0, MAX_FIELD_LENGTH).trim();
  }

  /** The value exactly as sent (passwords keep their spaces); "" when absent. */
  exact(name: string): string {
    return (this.#params.get(name) ?? "").slice(0, MAX_FIELD_LENGTH);
  }

  checked(name: string): boolean {
    return this.#params.has(name);
  }
}

const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(?:;|$)/i;

export function isPagePath(path: string): boolean {
  return !path.startsWith("/api/") && !path.startsWith("/.well-known/");
}

/** A global parser for form posts to pages; registered before the server's error boundary. */
export function webFormParser(maxBodyBytes: number) {
  return new Elysia({ name: "lime-web-form-parser" }).onParse(
    { as: "global" },
    async ({ request, contentType }) => {
      if (!isPagePath(new URL(request.url).pathname) || !FORM_TYPE.test(contentType ?? "")) return;
      return new FormFields(await readBodyText(request, maxBodyBytes));
    },
  );
}

/** The body a page route received, or an empty form for anything else (a JSON body, no body). */
export function formFields(body: unknown): FormFields {
  return body instanceof FormFields ? body : new FormFields("");
}
