/**
 * OAuth request parameters: form bodies (`application/x-www-form-urlencoded`,
 * RFC 6749 §4.1.3) and query strings, read with the rule of RFC 6749 §3.1
 * that no parameter appears twice, and a plugin that lets form bodies reach
 * the OAuth routes past the server's JSON-only body parser.
 */

import { Elysia } from "elysia";
import { OAuthError } from "./errors.ts";

/** Longest parameter value read; longer ones are malformed, not truncated. */
const MAX_VALUE_LENGTH = 8192;

export class OAuthParams {
  readonly #params: URLSearchParams;

  constructor(params: URLSearchParams) {
    this.#params = params;
  }

  /** The single value of `name`, null when absent or empty; `invalid_request` when repeated or oversized. */
  one(name: string): string | null {
    const values = this.#params.getAll(name);
    if (values.length > 1)
      throw new OAuthError("invalid_request", `The ${name} parameter appears more than once.`);
    const value = values[0];
    if (value === undefined || value === "") return null;
    if (value.length > MAX_VALUE_LENGTH)
      throw new OAuthError("invalid_request", `The ${name} parameter is too long.`);
    return value;
  }

  /** Every value of `name` (RFC 8707 lets `resource` repeat). */
  all(name: string): string[] {
    return this.#params.getAll(name).filter((value) => value !== "");
  }

  has(name: string): boolean {
    return this.#params.has(name);
  }
}

/** A parsed form body, as the OAuth routes receive it in `body`. */
export class FormBody {
  readonly params: OAuthParams;

  constructor(text: string) {
    this.params = new OAuthParams(new URLSearchParams(text));
  }
}

const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(?:;|$)/i;

/**
 * A global body parser that must be registered before the server's error
 * boundary: under `prefix` it parses form bodies into `FormBody` and leaves
 * every other body (JSON) to the boundary's strict JSON parser. Elysia runs
 * global parsers in registration order and stops at the first that answers.
 */
export function oauthFormParser(prefix: string) {
  return new Elysia({ name: "lime-oauth-form-parser" }).onParse(
    { as: "global" },
    async ({ request, contentType }) => {
      if (!FORM_TYPE.test(contentType ?? "")) return;
      if (!new URL(request.url).pathname.startsWith(`${prefix}/`)) return;
      return new FormBody(await request.text());
    },
  );
}
