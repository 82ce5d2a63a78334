/**
 * RFC 9421 §2: the covered components of a message and their values.
 *
 * Derived components (§2.2) come from the message's URL, method and status;
 * HTTP fields (§2.1) from its headers, by lowercase name, through
 * `Headers.get`, which already trims each field line and joins repeated
 * fields with ", " as §2.1 asks. Fetch offers no other view of a field, so
 * the `sf`, `key`, `bs`, `tr` and `name` component parameters (§2.1.1–§2.1.4,
 * §2.2.8) are refused as unsupported; `req` (§2.4) is the one parameter
 * implemented, for responses that cover parts of their request.
 */
import { SignatureError } from "../errors.ts";
import { type SfItem, serializeItem } from "./structured-fields.ts";

/** A covered component: a derived component ("@authority", ...) or a lowercase header name. */
export interface CoveredComponent {
  name: string;
  /** `req`: take the value from the request this response answers (RFC 9421 §2.4). */
  params?: { req?: true };
}

/** What signing and verifying need of a request: a `Request` has it, and so can a plain object. */
export interface RequestParts {
  method: string;
  url: string;
  headers: Headers;
}

/** What signing and verifying need of a response. */
export interface ResponseParts {
  status: number;
  headers: Headers;
}

/**
 * A message to sign or verify: a `Request`, a `Response`, or the same parts
 * as a plain object. Browsers drop forbidden request headers (`Date`,
 * `Content-Length`, `Host`...) from a `Request`, but not from a standalone
 * `Headers`, so the plain form lets a browser build any message.
 */
export type HttpMessage = Request | Response | RequestParts | ResponseParts;

export const DERIVED_COMPONENTS = [
  "@method",
  "@target-uri",
  "@authority",
  "@scheme",
  "@request-target",
  "@path",
  "@query",
  "@status",
] as const;

const REQUEST_ONLY = new Set<string>(DERIVED_COMPONENTS.filter((name) => name !== "@status"));

/** RFC 9110 §5.1 field name (a token), in the lowercase RFC 9421 §2.1 requires. */
const FIELD_NAME = /^[a-z0-9!#$%&'*+\-.^_`|~]+$/;

export function isRequest(message: HttpMessage): message is RequestParts {
  return (
    typeof (message as RequestParts).method === "string" && typeof (message as RequestParts).url === "string"
  );
}

function malformed(why: string): SignatureError {
  return new SignatureError("SIGNATURE_MALFORMED", why);
}

/**
 * Checks one component given by a caller or parsed from `Signature-Input`,
 * and returns it in the canonical shape. Throws `SignatureError`:
 * `SIGNATURE_MALFORMED` for a name that is not a lowercase field name or a
 * derived component, or `@signature-params` (§2.3: it is never covered);
 * `SIGNATURE_UNSUPPORTED` for a derived component or parameter not implemented.
 */
export function checkComponent(component: string | CoveredComponent): CoveredComponent {
  const name = typeof component === "string" ? component : component?.name;
  if (typeof name !== "string" || name.length === 0 || name.length > 128) {
    throw malformed("a component name must be a non-empty string");
  }
  if (name === "@signature-params") throw malformed('"@signature-params" cannot be a covered component');
  if (name.startsWith("@")) {
    if (!(DERIVED_COMPONENTS as readonly string[]).includes(name)) {
      throw new SignatureError("SIGNATURE_UNSUPPORTED", `the derived component "${name}" is not supported`);
    }
  } else if (!FIELD_NAME.test(name)) {
    throw malformed(`"${name.slice(0, 40)}" is not a lowercase HTTP field name`);
  }
  const params = typeof component === "string" ? undefined : component.params;
  if (params === undefined) return { name };
  if (typeof params !== "object" || params === null) throw malformed("component params must be an object");
  for (const key of Object.keys(params)) {
    if (key !== "req") {
      throw new SignatureError("SIGNATURE_UNSUPPORTED", `the component parameter "${key}" is not supported`);
    }
  }
  if (params.req === undefined) return { name };
  if (params.req !== true) throw malformed('the "req" component parameter is a true boolean');
  return { name, params: { req: true } };
}

/** Reads a component identifier from a parsed inner-list item (RFC 9421 §2: an sf-string with parameters). */
export function componentFromItem(item: SfItem): CoveredComponent {
  if (item.value.type !== "string") throw malformed("a covered component must be a string");
  const params: Record<string, unknown> = {};
  for (const [key, value] of item.params) {
    params[key] = value.type === "boolean" ? value.value : value;
  }
  return checkComponent(item.params.length === 0 ? item.value.value : { name: item.value.value, params });
}

/** The component identifier as it appears in the signature base and in `Signature-Input` (§2.5). */
export function serializeComponentId(component: CoveredComponent): string {
  return serializeItem({
    kind: "item",
    value: { type: "string", value: component.name },
    params: component.params?.req ? [["req", { type: "boolean", value: true }]] : [],
  });
}

/**
 * The component value (§2.1, §2.2) of a checked component. `request` is the
 * request a response answers, for `;req` components. Throws `SignatureError`:
 * `SIGNATURE_MALFORMED` for a component that does not apply to this kind of
 * message; `SIGNATURE_INVALID` for a covered field the message lacks (§2.5:
 * the signature cannot be over this message).
 */
export function componentValue(
  component: CoveredComponent,
  message: HttpMessage,
  request?: HttpMessage,
): string {
  let source = message;
  if (component.params?.req) {
    if (isRequest(message)) throw malformed('"req" applies to components of a response only');
    if (request === undefined || !isRequest(request)) {
      throw malformed(`"${component.name}";req needs the request this response answers`);
    }
    source = request;
  }
  const { name } = component;
  if (!name.startsWith("@")) {
    const value = source.headers.get(name);
    if (value === null) {
      throw new SignatureError("SIGNATURE_INVALID", `the covered field "${name}" is absent from the message`);
    }
    return value;
  }
  if (name === "@status") {
    if (isRequest(source)) throw malformed('"@status" applies to responses only');
    return String(source.status);
  }
  if (!isRequest(source) || !REQUEST_ONLY.has(name)) throw malformed(`"${name}" applies to requests only`);
  if (name === "@method") return source.method;
  const url = new URL(source.url);
  switch (name) {
    case "@target-uri":
      url.hash = "";
      return url.href;
    case "@authority":
      // WHATWG URL parsing lowercases the host and drops the scheme's default port, as §2.2.3 asks.
      return url.host;
    case "@scheme":
      return url.protocol.slice(0, -1);
    case "@request-target":
      return url.pathname + url.search;
    case "@path":
      return url.pathname;
    default:
      // "@query": §2.2.7, an absent or empty query is "?" alone.
      return url.search === "" ? "?" : url.search;
  }
}
