/**
 * RFC 9421 §2.3 and §2.5: the signature parameters and the signature base.
 */
import { SignatureError } from "../errors.ts";
import type { AgentKeyAlgorithm } from "./agent-key.ts";
import {
  type CoveredComponent,
  checkComponent,
  componentValue,
  type HttpMessage,
  serializeComponentId,
} from "./components.ts";
import {
  type SfBareItem,
  type SfInnerList,
  type SfParameters,
  serializeInnerList,
  serializeString,
} from "./structured-fields.ts";

/** The signature parameters LIME reads and writes (RFC 9421 §2.3). Times are Unix seconds. */
export interface SignatureParams {
  created: number;
  expires?: number;
  nonce?: string;
  tag?: string;
  keyid: string;
  alg?: AgentKeyAlgorithm;
}

/** The largest Unix time accepted, the largest RFC 8941 integer (15 digits). */
const MAX_TIME = 999_999_999_999_999;

function readTime(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_TIME) {
    throw new TypeError(`signature params: "${name}" must be a non-negative integer of Unix seconds`);
  }
  return value;
}

function readText(value: unknown, name: string): string {
  if (typeof value !== "string" || value.length === 0 || value.length > 512) {
    throw new TypeError(`signature params: "${name}" must be a string of 1 to 512 characters`);
  }
  serializeString(value);
  return value;
}

/**
 * The parameters as a structured-field list, in the order this library
 * writes them: created, expires, keyid, alg, nonce, tag. RFC 9421 §2.3 lets
 * the signer choose; a verifier rebuilds the base in the order it received.
 */
export function signatureParamsList(params: SignatureParams): SfParameters {
  if (typeof params !== "object" || params === null) {
    throw new TypeError("signature params must be an object");
  }
  const list: SfParameters = [["created", { type: "integer", value: readTime(params.created, "created") }]];
  if (params.expires !== undefined) {
    list.push(["expires", { type: "integer", value: readTime(params.expires, "expires") }]);
  }
  list.push(["keyid", { type: "string", value: readText(params.keyid, "keyid") }]);
  const text = (name: "alg" | "nonce" | "tag"): void => {
    const value = params[name];
    if (value !== undefined) {
      list.push([name, { type: "string", value: readText(value, name) } as SfBareItem]);
    }
  };
  if (params.alg !== undefined && params.alg !== "ed25519" && params.alg !== "ecdsa-p256-sha256") {
    throw new TypeError('signature params: "alg" must be "ed25519" or "ecdsa-p256-sha256"');
  }
  text("alg");
  text("nonce");
  text("tag");
  return list;
}

/** The covered components and parameters as the inner list `Signature-Input` carries (§4.1). */
export function signatureInputList(components: CoveredComponent[], params: SfParameters): SfInnerList {
  return {
    kind: "inner-list",
    items: components.map((component) => ({
      kind: "item",
      value: { type: "string", value: component.name },
      params: component.params?.req ? [["req", { type: "boolean", value: true }]] : [],
    })),
    params,
  };
}

/** Checks a list of components: each supported, no identifier twice (§2.5 step 1). */
export function checkComponents(components: readonly (string | CoveredComponent)[]): CoveredComponent[] {
  if (!Array.isArray(components)) throw new TypeError("components must be an array");
  const checked = components.map(checkComponent);
  const ids = new Set<string>();
  for (const component of checked) {
    const id = serializeComponentId(component);
    if (ids.has(id)) throw new SignatureError("SIGNATURE_MALFORMED", `the component ${id} is covered twice`);
    ids.add(id);
  }
  return checked;
}

/**
 * The signature base (§2.5) of checked components, given the serialized
 * `@signature-params` value: one line per component, `"name": value`, then
 * the `@signature-params` line, joined by LF with no trailing newline.
 */
export function buildSignatureBase(
  message: HttpMessage,
  components: CoveredComponent[],
  signatureParamsValue: string,
  request?: HttpMessage,
): string {
  const lines = components.map((component) => {
    const value = componentValue(component, message, request);
    // §2.5 step 2.4.1: a value spanning lines would let one component forge the next.
    if (/[\r\n]/.test(value)) {
      throw new SignatureError("SIGNATURE_MALFORMED", `the value of "${component.name}" spans lines`);
    }
    return `${serializeComponentId(component)}: ${value}`;
  });
  lines.push(`"@signature-params": ${signatureParamsValue}`);
  return lines.join("\n");
}

/**
 * The RFC 9421 §2.5 signature base of `message` for `components` and
 * `params`. `request` is the request a response answers, for components
 * with `;req`. Throws `SignatureError` when a component is unsupported,
 * repeated, or absent from the message; `TypeError` for bad parameters.
 *
 * @example
 * signatureBase(request, ["@method", "@authority", "@path"], { created: 1618884473, keyid: "k1" })
 * // "\"@method\": POST\n\"@authority\": example.com\n\"@path\": /foo\n\"@signature-params\": (...);created=...;keyid=\"...\""
 */
export function signatureBase(
  message: HttpMessage,
  components: (string | CoveredComponent)[],
  params: SignatureParams,
  request?: HttpMessage,
): string {
  const checked = checkComponents(components);
  const paramsValue = serializeInnerList(signatureInputList(checked, signatureParamsList(params)));
  return buildSignatureBase(message, checked, paramsValue, request);
}
