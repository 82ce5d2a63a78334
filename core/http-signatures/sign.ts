/**
 * RFC 9421 §3.1: creating a signature and the two header values that carry it.
 */
import { isPlainObject } from "../keys/rsa-jwk.ts";
import { checkAgentPublicJwk } from "./agent-key.ts";
import type { CoveredComponent, HttpMessage } from "./components.ts";
import { signBytes } from "./crypto.ts";
import type { AgentKeyPair } from "./key-pair.ts";
import {
  buildSignatureBase,
  checkComponents,
  signatureInputList,
  signatureParamsList,
} from "./signature-base.ts";
import { serializeInnerList, serializeItem, serializeKey } from "./structured-fields.ts";

export interface SignMessageOptions {
  /** Dictionary key of the signature in both headers; default "sig1". */
  label?: string;
  components: (string | CoveredComponent)[];
  /** Unix seconds. */
  created: number;
  /** Unix seconds; verifiers refuse the signature from then on. */
  expires?: number;
  nonce?: string;
  /** Application profile, e.g. "web-bot-auth" (RFC 9421 §2.3). */
  tag?: string;
  /** The request a response answers, for components with `;req`. */
  request?: HttpMessage;
}

export interface SignatureHeaderValues {
  /** Value of the `Signature-Input` header: `label=(...);created=...`. */
  signatureInput: string;
  /** Value of the `Signature` header: `label=:base64:`. */
  signature: string;
}

/** Checks the parts of a key pair signing relies on, so a wrong object fails with a clear TypeError. */
export function checkKeyPair(key: AgentKeyPair, label: string): AgentKeyPair {
  // Duck-typed rather than `instanceof CryptoKey`: a key from another realm (an iframe) is still a key.
  const privateKey: unknown = isPlainObject(key) ? key.privateKey : undefined;
  if (!isPlainObject(privateKey) || privateKey.type !== "private" || typeof key.kid !== "string") {
    throw new TypeError(`${label}: key must be an AgentKeyPair (generateAgentKey or importAgentKey)`);
  }
  checkAgentPublicJwk(key.publicJwk);
  return key;
}

/**
 * Signs an RFC 9421 §2.5 signature base with an agent key and
 * returns the raw signature (64 bytes). For protocols that build the base
 * themselves, such as checking an uploaded directory signature.
 */
export async function signSignatureBase(base: string, key: AgentKeyPair): Promise<Uint8Array<ArrayBuffer>> {
  if (typeof base !== "string") throw new TypeError("signSignatureBase: base must be a string");
  return signBytes(checkKeyPair(key, "signSignatureBase"), new TextEncoder().encode(base));
}

/**
 * Signs `message` (RFC 9421 §3.1) and returns the `Signature-Input` and
 * `Signature` header values, each with the one member `label`. `keyid` is
 * the key's kid (its RFC 7638 thumbprint) and `alg` its algorithm.
 *
 * @example
 * const { signatureInput, signature } = await signMessage(request, key, {
 *   components: ["@method", "@authority", "@path"], created: now, expires: now + 60, tag: "web-bot-auth",
 * });
 * request.headers.set("Signature-Input", signatureInput);
 * request.headers.set("Signature", signature);
 */
export async function signMessage(
  message: HttpMessage,
  key: AgentKeyPair,
  options: SignMessageOptions,
): Promise<SignatureHeaderValues> {
  checkKeyPair(key, "signMessage");
  if (!isPlainObject(options)) throw new TypeError("signMessage: options must be an object");
  const label = serializeKey(options.label ?? "sig1");
  const components = checkComponents(options.components);
  const params = signatureParamsList({
    created: options.created,
    expires: options.expires,
    keyid: key.kid,
    alg: key.algorithm,
    nonce: options.nonce,
    tag: options.tag,
  });
  if (options.expires !== undefined && options.expires <= options.created) {
    throw new RangeError("signMessage: expires must be after created");
  }
  const paramsValue = serializeInnerList(signatureInputList(components, params));
  const base = buildSignatureBase(message, components, paramsValue, options.request);
  const signature = await signBytes(key, new TextEncoder().encode(base));
  const signatureItem = serializeItem({
    kind: "item",
    value: { type: "bytes", value: signature },
    params: [],
  });
  return { signatureInput: `${label}=${paramsValue}`, signature: `${label}=${signatureItem}` };
}
