/**
 * `@lime-ts/core/http-signatures`: agent keys (Ed25519, ECDSA P-256), HTTP
 * Message Signatures (RFC 9421) as Web Bot Auth uses them, and proofs of
 * possession in the RFC 9449 DPoP proof format. WebCrypto only, so it runs
 * unchanged in Bun, Node 20+, Deno and browsers.
 *
 * @example
 * const key = await generateAgentKey();
 * const { signatureInput, signature } = await signMessage(request, key, {
 *   components: ["@method", "@authority", "@path"], created: now, expires: now + 60, tag: "web-bot-auth",
 * });
 */

export { SignatureError, type SignatureErrorCode } from "../errors.ts";
export {
  type AgentKeyAlgorithm,
  type AgentPublicJwk,
  agentKeyThumbprint,
  algorithmOf,
  checkAgentPublicJwk,
  importAgentPublicKey,
} from "./agent-key.ts";
export type {
  CoveredComponent,
  HttpMessage,
  RequestParts,
  ResponseParts,
} from "./components.ts";
export { type AgentKeyOptions, type AgentKeyPair, generateAgentKey, importAgentKey } from "./key-pair.ts";
export {
  createKeyProof,
  DEFAULT_KEY_PROOF_MAX_AGE_SECONDS,
  KEY_PROOF_TYP,
  type KeyProofClaims,
  MAX_KEY_PROOF_BYTES,
  normalizeHtu,
  type VerifiedKeyProof,
  type VerifyKeyProofOptions,
  verifyKeyProof,
} from "./key-proof.ts";
export {
  type SignatureHeaderValues,
  type SignMessageOptions,
  signMessage,
  signSignatureBase,
} from "./sign.ts";
export { type SignatureParams, signatureBase } from "./signature-base.ts";
export {
  DEFAULT_MAX_SIGNATURE_HEADER_BYTES,
  MAX_SIGNATURE_MEMBERS,
  type ParsedSignature,
  type ParseSignaturesOptions,
  parseSignatures,
  verifyParsedSignature,
  verifySignatureBase,
} from "./verify.ts";
