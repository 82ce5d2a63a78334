/**
 * The DPoP-format key proof (RFC 9449 §4) that names an agent key and shows
 * its holder signed this very request: registration takes the key it
 * carries, passports and login approvals get bound to it. Core's
 * `verifyKeyProof` checks the JWS (typ, alg against the key, signature) and
 * the claims (htm, htu, iat within 60 s, nonce); here come the HTTP-facing
 * parts: one bounded header, a key of a kind we register
 * (AGENT_KEY_UNSUPPORTED rather than a generic refusal, so an agent with an
 * RSA key learns why), and the jti replay check (RFC 9449 §11.1), which core
 * leaves to the caller. Order: size → key kind → core's checks → replay.
 */

import { decodeBase64url } from "@lime-ts/core/encoding";
import { checkAgentPublicJwk, type VerifiedKeyProof, verifyKeyProof } from "@lime-ts/core/http-signatures";
import type { Clock } from "../../clock.ts";
import { DomainError, type DomainErrorCode, RateLimitedError } from "../../errors.ts";
import type { ProofReplayCache } from "./replay-cache.ts";

/** RFC 9449 §4.3 check 11: a proof is accepted within this many seconds of its `iat`. */
export const KEY_PROOF_MAX_AGE_SECONDS = 60;

/**
 * A proof with an EC key is about 700 bytes; the header is refused above this
 * before it is decoded (core's own bound, 8 KiB, is for any caller).
 */
export const MAX_KEY_PROOF_HEADER_BYTES = 4096;

/** What a key proof can be refused with, wherever one is read (a full replay cache is RATE_LIMIT_EXCEEDED). */
export const KEY_PROOF_FAILURES: readonly DomainErrorCode[] = [
  "KEY_PROOF_INVALID",
  "KEY_PROOF_REPLAYED",
  "AGENT_KEY_UNSUPPORTED",
  "RATE_LIMIT_EXCEEDED",
];

export interface KeyProofDeps {
  clock: Clock;
  replay: ProofReplayCache;
}

export interface ExpectedProof {
  htm: string;
  htu: string;
  /** When set, the proof's `nonce` claim must equal it (the approval's PoW challenge). */
  nonce?: string;
}

const invalid = (why: string) =>
  new DomainError("KEY_PROOF_INVALID", `The DPoP key proof is not valid: ${why}.`);

/** The `DPoP` header, or null when there is none. */
export function keyProofHeader(request: Request): string | null {
  return request.headers.get("dpop");
}

function codeOf(error: unknown): string | null {
  if (!(error instanceof Error)) return null;
  const code: unknown = Reflect.get(error, "code");
  return typeof code === "string" ? code : null;
}

/** Refuses a proof whose header's `jwk` is not a key we register: AGENT_KEY_UNSUPPORTED, not a generic refusal. */
function assertRegistrableKey(proof: string): void {
  const dot = proof.indexOf(".");
  const bytes = dot > 0 ? decodeBase64url(proof, 0, dot) : undefined;
  let header: unknown;
  try {
    header =
      bytes === undefined ? undefined : JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    header = undefined;
  }
  if (typeof header !== "object" || header === null || !("jwk" in header)) {
    throw invalid("it is not a JWS whose header carries the public key (jwk)");
  }
  try {
    checkAgentPublicJwk(header.jwk);
  } catch (error) {
    const code = codeOf(error);
    if (code === null) throw error;
    throw new DomainError(
      "AGENT_KEY_UNSUPPORTED",
      "Only Ed25519 (OKP) and ECDSA P-256 (EC) public keys can be agent keys.",
      { reason: code },
    );
  }
}

/**
 * Verifies `proof` for this request and records its `jti`: KEY_PROOF_INVALID,
 * AGENT_KEY_UNSUPPORTED, KEY_PROOF_REPLAYED, or the proven key.
 */
export async function checkKeyProof(
  deps: KeyProofDeps,
  proof: string,
  expected: ExpectedProof,
): Promise<VerifiedKeyProof> {
  if (proof.length > MAX_KEY_PROOF_HEADER_BYTES) {
    throw invalid(`it is longer than ${MAX_KEY_PROOF_HEADER_BYTES} bytes`);
  }
  const token = proof.trim();
  // Several DPoP fields arrive joined with ", " (RFC 9449 §4.3 check 1 allows one); a JWS has neither.
  if (/[\s,]/.test(token)) throw invalid("send exactly one DPoP header holding one JWS");
  assertRegistrableKey(token);
  const now = deps.clock.now();
  let proven: VerifiedKeyProof;
  try {
    proven = await verifyKeyProof(token, {
      ...expected,
      now: Math.floor(now / 1000),
      maxAgeSeconds: KEY_PROOF_MAX_AGE_SECONDS,
    });
  } catch (error) {
    if (codeOf(error) === null) throw error;
    // Core's messages name the check that failed ("key proof: htu does not match the request").
    throw invalid((error as Error).message.replace(/^key proof: /, ""));
  }
  const until = (proven.iat + KEY_PROOF_MAX_AGE_SECONDS + 1) * 1000;
  const sighting = deps.replay.sight(proven.kid, proven.jti, until, now);
  if (sighting === "replayed") {
    throw new DomainError(
      "KEY_PROOF_REPLAYED",
      "This key proof was already used; make a new one per request.",
    );
  }
  if (sighting === "full") {
    throw new RateLimitedError(KEY_PROOF_MAX_AGE_SECONDS, "Too many key proofs in flight; retry later.");
  }
  return proven;
}
