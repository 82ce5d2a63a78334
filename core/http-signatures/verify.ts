/**
 * RFC 9421 §3.2: reading the signatures a message carries and verifying one.
 */
import { SignatureError } from "../errors.ts";
import { isPlainObject } from "../keys/rsa-jwk.ts";
import { type AgentKeyAlgorithm, type AgentPublicJwk, checkAgentPublicJwk, profileOf } from "./agent-key.ts";
import { type CoveredComponent, componentFromItem, type HttpMessage } from "./components.ts";
import { verifyBytes } from "./crypto.ts";
import { buildSignatureBase, checkComponents, type SignatureParams } from "./signature-base.ts";
import {
  parseDictionary,
  type SfDictionaryMember,
  type SfInnerList,
  type SfLimits,
  serializeInnerList,
  serializeMember,
} from "./structured-fields.ts";

/** A signature read from a message, with the base it must verify over. */
export interface ParsedSignature {
  label: string;
  components: CoveredComponent[];
  /** The parameters LIME reads, and `raw`: every parameter as received (tokens as strings). */
  params: SignatureParams & { raw: Record<string, string | number | boolean> };
  signature: Uint8Array;
  /** The RFC 9421 §2.5 signature base rebuilt from this message. */
  base: string;
}

export interface ParseSignaturesOptions {
  /** Keep only the signatures whose `tag` parameter is this (e.g. "web-bot-auth"). */
  tag?: string;
  /** The request a response answers, for components with `;req`. */
  request?: HttpMessage;
  /** Longest accepted `Signature-Input` or `Signature` value, in bytes; default 8192, from 256 to 65536. */
  maxHeaderBytes?: number;
}

export const DEFAULT_MAX_SIGNATURE_HEADER_BYTES = 8192;
/** Signatures per message: a few labels are normal, hundreds would be an attack on the verifier. */
export const MAX_SIGNATURE_MEMBERS = 8;
const MAX_COVERED_COMPONENTS = 32;
const MAX_SIGNATURE_PARAMETERS = 16;

const ALGORITHMS: readonly string[] = ["ed25519", "ecdsa-p256-sha256"];

function malformed(why: string): SignatureError {
  return new SignatureError("SIGNATURE_MALFORMED", why);
}

function readMaxHeaderBytes(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_SIGNATURE_HEADER_BYTES;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 256 || value > 65536) {
    throw new RangeError("parseSignatures: maxHeaderBytes must be an integer from 256 to 65536");
  }
  return value;
}

function readTag(list: SfInnerList): string | undefined {
  const tag = list.params.find(([key]) => key === "tag")?.[1];
  return tag?.type === "string" ? tag.value : undefined;
}

/**
 * The parameters of one `Signature-Input` member. `created` and `keyid` are
 * required (LIME's verifiers check freshness and look keys up by id); the
 * known parameters must have their RFC 9421 §2.3 types; others are kept in
 * `raw` only.
 */
function readSignatureParams(list: SfInnerList): ParsedSignature["params"] {
  const raw: Record<string, string | number | boolean> = {};
  for (const [key, value] of list.params) {
    if (value.type === "bytes") throw malformed(`the signature parameter "${key}" is a byte sequence`);
    raw[key] = value.value as string | number | boolean;
  }
  const text = (name: string): string | undefined => {
    const item = list.params.find(([key]) => key === name)?.[1];
    if (item === undefined) return undefined;
    if (item.type !== "string") throw malformed(`the signature parameter "${name}" must be a string`);
    return item.value;
  };
  const time = (name: string): number | undefined => {
    const item = list.params.find(([key]) => key === name)?.[1];
    if (item === undefined) return undefined;
    if (item.type !== "integer" || item.value < 0) {
      throw malformed(`the signature parameter "${name}" must be a non-negative integer`);
    }
    return item.value;
  };
  const created = time("created");
  if (created === undefined) throw malformed('the signature has no "created" parameter');
  const keyid = text("keyid");
  if (keyid === undefined || keyid.length === 0) throw malformed('the signature has no "keyid" parameter');
  const params: ParsedSignature["params"] = { created, keyid, raw };
  const expires = time("expires");
  if (expires !== undefined) params.expires = expires;
  const alg = text("alg");
  if (alg !== undefined) {
    if (!ALGORITHMS.includes(alg)) {
      throw new SignatureError(
        "SIGNATURE_UNSUPPORTED",
        `the signature algorithm "${alg.slice(0, 40)}" is not supported`,
      );
    }
    params.alg = alg as AgentKeyAlgorithm;
  }
  const nonce = text("nonce");
  if (nonce !== undefined) params.nonce = nonce;
  const tag = text("tag");
  if (tag !== undefined) params.tag = tag;
  return params;
}

/**
 * RFC 9421 §2.3 builds the base from the canonical serialization of the
 * parameters, while some verifiers (Cloudflare's among them) use the text as
 * received. Requiring the two to be the same text means every verifier signs
 * off on the same bytes.
 */
function requireCanonical(member: SfDictionaryMember, header: string): void {
  if (serializeMember(member.member) !== member.raw) {
    throw malformed(`the ${header} member "${member.key}" is not in canonical structured-field form`);
  }
}

/**
 * Reads every signature `message` carries (RFC 9421 §4: the `Signature-Input`
 * and `Signature` dictionaries, matched by label), keeps those whose `tag` is
 * `options.tag` when given, and rebuilds each one's signature base. Never
 * returns an empty list. Throws `SignatureError`:
 * - `SIGNATURE_MISSING`: neither header, or no signature with that tag;
 * - `SIGNATURE_TOO_LARGE`: a header above `maxHeaderBytes` (default 8 KiB),
 *   more than 8 members, 32 components or 16 parameters;
 * - `SIGNATURE_MALFORMED`: anything outside strict RFC 8941 (duplicate keys,
 *   bad quoting, non-ASCII, decimals, integers over 15 digits, a
 *   non-canonical spelling), one header without the other, a label without
 *   its signature, no `created` or `keyid`, wrongly typed parameters;
 * - `SIGNATURE_UNSUPPORTED`: an `alg` other than ed25519 and
 *   ecdsa-p256-sha256, a derived component or component parameter not implemented;
 * - `SIGNATURE_INVALID`: a covered field the message does not have.
 *
 * Nothing here checks time, nonce or key: that is the caller's policy.
 *
 * @example
 * const [parsed] = parseSignatures(request, { tag: "web-bot-auth" });
 * const ok = await verifyParsedSignature(parsed, publicJwk);
 */
export function parseSignatures(
  message: HttpMessage,
  options: ParseSignaturesOptions = {},
): ParsedSignature[] {
  if (typeof message !== "object" || message === null || typeof message.headers?.get !== "function") {
    throw new TypeError("parseSignatures: message must be a Request, a Response or their parts");
  }
  if (typeof options !== "object" || options === null) {
    throw new TypeError("parseSignatures: options must be an object");
  }
  const maxBytes = readMaxHeaderBytes(options.maxHeaderBytes);
  if (options.tag !== undefined && typeof options.tag !== "string") {
    throw new TypeError("parseSignatures: tag must be a string");
  }
  const inputHeader = message.headers.get("signature-input");
  const signatureHeader = message.headers.get("signature");
  if (inputHeader === null && signatureHeader === null) {
    throw new SignatureError("SIGNATURE_MISSING", "the message carries no signature");
  }
  if (inputHeader === null || signatureHeader === null) {
    throw malformed("Signature-Input and Signature must both be present");
  }
  const limits: SfLimits = {
    maxBytes,
    maxMembers: MAX_SIGNATURE_MEMBERS,
    maxInnerListItems: MAX_COVERED_COMPONENTS,
    maxParameters: MAX_SIGNATURE_PARAMETERS,
  };
  const inputs = parseDictionary(inputHeader, limits);
  const signatures = parseDictionary(signatureHeader, limits);
  const results: ParsedSignature[] = [];
  for (const input of inputs) {
    if (input.member.kind !== "inner-list") {
      throw malformed(`the Signature-Input member "${input.key}" is not a list`);
    }
    if (options.tag !== undefined && readTag(input.member) !== options.tag) continue;
    requireCanonical(input, "Signature-Input");
    const signature = signatures.find(({ key }) => key === input.key);
    if (signature === undefined) throw malformed(`no Signature for the label "${input.key}"`);
    const { member } = signature;
    if (member.kind !== "item" || member.value.type !== "bytes" || member.params.length > 0) {
      throw malformed(`the Signature member "${input.key}" is not a bare byte sequence`);
    }
    const params = readSignatureParams(input.member);
    const components = checkComponents(input.member.items.map(componentFromItem));
    const base = buildSignatureBase(message, components, serializeInnerList(input.member), options.request);
    results.push({ label: input.key, components, params, signature: member.value.value, base });
  }
  if (results.length === 0) {
    throw new SignatureError("SIGNATURE_MISSING", `the message carries no signature tagged "${options.tag}"`);
  }
  return results;
}

/**
 * True when `parsed` verifies under `publicJwk` (RFC 9421 §3.2 step 8). An
 * `alg` parameter that names another algorithm than the key's is not valid.
 * Never throws for a bad signature or an unusable key: both are `false`.
 *
 * @example
 * if (!(await verifyParsedSignature(parsed, directoryKey))) refuse("SIGNATURE_INVALID");
 */
export async function verifyParsedSignature(
  parsed: ParsedSignature,
  publicJwk: AgentPublicJwk,
): Promise<boolean> {
  if (!isPlainObject(parsed) || typeof parsed.base !== "string" || !isPlainObject(parsed.params)) {
    return false;
  }
  let key: AgentPublicJwk;
  try {
    key = checkAgentPublicJwk(publicJwk);
  } catch {
    return false;
  }
  if (parsed.params.alg !== undefined && parsed.params.alg !== profileOf(key).algorithm) return false;
  return verifySignatureBase(parsed.base, parsed.signature, key);
}

/**
 * True when `signature` is a valid signature of the signature base `base`
 * under `publicJwk`; never throws. For protocols that build the base
 * themselves (a directory signature uploaded ahead of time).
 */
export async function verifySignatureBase(
  base: string,
  signature: Uint8Array,
  publicJwk: AgentPublicJwk,
): Promise<boolean> {
  if (typeof base !== "string") return false;
  return verifyBytes(publicJwk, new TextEncoder().encode(base), signature);
}
