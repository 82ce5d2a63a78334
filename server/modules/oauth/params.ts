/**
 * OAuth request parameters: form bodies (`application/x-www-form-urlencoded`,
 * RFC 6749 §4.1.3) and query strings, read with the rule of RFC 6749 §3.1
 * that no parameter appears twice, and a plugin that lets form bodies reach
 * the OAuth routes past the server's JSON-only body parser.
 */

import { Elysia } from "elysia";
import { parseBoundedJson, readBodyText } from "../../http/body.ts";
import { OAuthError } from "./errors.ts";

/** Longest parameter value read; longer ones are malformed, not truncated. */
const MAX_VALUE_LENGTH = 8192;

/**
 * The parameters of one request. `Name` is the names its endpoint reads,
 * taken from the endpoint's model in `contract.ts`: a handler typed with it
 * cannot read a parameter the OpenAPI description does not name.
 */
export class OAuthParams<Name extends string = string> {
  readonly #params: URLSearchParams;

  constructor(params: URLSearchParams) {
    this.#params = params;
  }

  /** The single value of `name`, null when absent or empty; `invalid_request` when repeated or oversized. */
  one(name: Name): string | null {
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
  all(name: Name): string[] {
    return this.#params.getAll(name).filter((value) => value !== "");
  }

  has(name: Name): boolean {
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

/** A body the OAuth JSON endpoints could not read; their handlers answer it in RFC 6749/7591 JSON. */
export class UnreadableBody {
  readonly reason: "malformed" | "not_object" | "media_type";

  constructor(reason: UnreadableBody["reason"]) {
    this.reason = reason;
  }
}

const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(?:;|$)/i;
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * A global body parser that must be registered before the server's error
 * boundary. Under `prefix` it parses form bodies into `FormBody`; on the
 * OAuth JSON endpoints (`jsonPaths`: registration, LIME's token form) it
 * also reads JSON itself, so a malformed body is answered in OAuth JSON
 * rather than the envelope. Everything else goes on to the boundary's
 * strict JSON parser: Elysia runs global parsers in registration order and
 * stops at the first that answers.
 */
export function oauthFormParser(
  prefix: string,
  maxBodyBytes: number,
  jsonPaths: readonly string[] = [`${prefix}/register`, `${prefix}/token`],
) {
  return new Elysia({ name: "lime-oauth-form-parser" }).onParse(
    { as: "global" },
    async ({ request, contentType }) => {
      const path = new URL(request.url).pathname;
      if (!path.startsWith(`${prefix}/`)) return;
      if (FORM_TYPE.test(contentType ?? "")) return new FormBody(await readBodyText(request, maxBodyBytes));
      if (!jsonPaths.includes(path)) return;
      const text = await readBodyText(request, maxBodyBytes);
      if (text.trim() === "") return null;
      if (!JSON_TYPE.test(contentType ?? "")) return new UnreadableBody("media_type");
      const parsed = parseBoundedJson(text);
      if (!parsed.ok) return new UnreadableBody("malformed");
      const value = parsed.value;
      if (value === null || typeof value !== "object" || Array.isArray(value))
        return new UnreadableBody("not_object");
      return value;
    },
  );
}
