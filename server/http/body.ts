/**
 * Reading request bodies within bounds, before anything else looks at them.
 *
 * A body is read up to `maxBytes` and refused past it, whatever the
 * `Content-Length` claimed (a chunked body has none); the rest is left unread
 * and the transport closes the connection. JSON is refused when it nests
 * deeper than `MAX_JSON_DEPTH`, by a scan that costs one pass over the text,
 * before `JSON.parse` and long before schema validation: validating and
 * describing the errors of a 30,000-deep array took the validator tens of
 * seconds and blew its stack at 5,000 (issue 8).
 */

import { DomainError } from "../errors.ts";

/** Deepest nesting of arrays and objects accepted in a JSON body; the API's deepest body uses 4. */
export const MAX_JSON_DEPTH = 32;

export function payloadTooLarge(maxBytes: number): DomainError {
  return new DomainError("PAYLOAD_TOO_LARGE", "The request body is too large.", { max_bytes: maxBytes });
}

/** The body as UTF-8 text, or PAYLOAD_TOO_LARGE as soon as more than `maxBytes` arrive. */
export async function readBodyText(request: Request, maxBytes: number): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) throw payloadTooLarge(maxBytes);
  if (request.body === null) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (received > maxBytes) {
        await reader.cancel().catch(() => {});
        throw payloadTooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * The deepest nesting of arrays and objects in `text`, counting only
 * brackets outside strings; stops as soon as `limit` is exceeded. Malformed
 * text is not this function's concern: `JSON.parse` refuses it next.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === BACKSLASH) i++;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) {
      inString = true;
    } else if (code === OPEN_BRACKET || code === OPEN_BRACE) {
      depth++;
      if (depth > limit) return true;
    } else if (code === CLOSE_BRACKET || code === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
}

export type JsonParseFailure = "malformed" | "too_deep";

/** `JSON.parse` behind the depth bound; the failure says which rule the text broke. */
export function parseBoundedJson(
  text: string,
): { ok: true; value: unknown } | { ok: false; failure: JsonParseFailure } {
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) return { ok: false, failure: "too_deep" };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, failure: "malformed" };
  }
}
