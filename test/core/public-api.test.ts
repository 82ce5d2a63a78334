// Pins the public surface of core/index.ts: adding an export is a decision
// (update this list and docs/decisions/core-api.md), and internals such as the
// kernel loader, the pure-TS SHA-256 or the base64url codec must not leak.
import { expect, test } from "bun:test";
import * as core from "../../core/index.ts";

const expected = [
  "ACCESS_TOKEN_TYP",
  "BINDING_AUDIENCE",
  "BINDING_MAX_LIFETIME_SECONDS",
  "BINDING_PASSPORT_TYP",
  "BINDING_PASSPORT_VERSION",
  "DEFAULT_MAX_TOKEN_BYTES",
  "DEFAULT_PASSPORT_AUDIENCE",
  "DEFAULT_POW_DIFFICULTY",
  "KeyError",
  "KeySet",
  "LimeError",
  "LocalJwks",
  "MAX_POW_DIFFICULTY",
  "MIN_MODULUS_BITS",
  "PASSPORT_TYP",
  "PASSPORT_VERSION",
  "POW_ALGORITHM",
  "PassportError",
  "PowError",
  "RS256",
  "SITE_LOGIN_AUDIENCE",
  "SITE_LOGIN_MAX_LIFETIME_SECONDS",
  "computeKid",
  "createChallenge",
  "createJwks",
  "createKeySet",
  "createLocalJwks",
  "createSolver",
  "exportPrivateJwk",
  "generateSigningKey",
  "importSigningKey",
  "isLimeError",
  "powDigestHex",
  "signBindingPassport",
  "signJwt",
  "signPassport",
  "solve",
  "solverBackend",
  "toPublicJwk",
  "verify",
  "verifyBindingPassport",
  "verifyJwt",
  "verifyPassport",
  "DEFAULT_KEY_PROOF_MAX_AGE_SECONDS",
  "DEFAULT_MAX_SIGNATURE_HEADER_BYTES",
  "KEY_PROOF_TYP",
  "MAX_KEY_PROOF_BYTES",
  "MAX_SIGNATURE_MEMBERS",
  "SignatureError",
  "agentKeyThumbprint",
  "algorithmOf",
  "checkAgentPublicJwk",
  "createKeyProof",
  "generateAgentKey",
  "importAgentKey",
  "importAgentPublicKey",
  "normalizeHtu",
  "parseSignatures",
  "signMessage",
  "signSignatureBase",
  "signatureBase",
  "verifyKeyProof",
  "verifyParsedSignature",
  "verifySignatureBase",
];

test("core/index.ts exports exactly the documented public API", () => {
  expect(Object.keys(core).sort()).toEqual([...expected].sort());
});

test("internals stay internal", () => {
  for (const name of [
    "sha256",
    "verifyJws",
    "base64urlEncode",
    "base64urlDecode",
    "loadKernel",
    "KERNEL_WASM_BASE64",
  ]) {
    expect(Object.keys(core)).not.toContain(name);
  }
});
