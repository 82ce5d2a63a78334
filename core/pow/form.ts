import { PowError } from "../errors.ts";
import { MAX_NONCE, MAX_POW_DIFFICULTY } from "./constants.ts";

const CHALLENGE_FORM = /^[0-9a-f]{64}$/;
const NONCE_FORM = /^(?:0|[1-9][0-9]{0,19})$/;

/** Throws `POW_INVALID_CHALLENGE` unless `challenge` is 64 lowercase hex characters. */
export function assertChallenge(challenge: unknown): asserts challenge is string {
  if (typeof challenge !== "string" || !CHALLENGE_FORM.test(challenge)) {
    throw new PowError("POW_INVALID_CHALLENGE", "challenge must be 64 lowercase hex characters");
  }
}

/** Throws `POW_INVALID_DIFFICULTY` unless `difficulty` is an integer in 0..MAX_POW_DIFFICULTY. */
export function assertDifficulty(difficulty: unknown): asserts difficulty is number {
  if (
    typeof difficulty !== "number" ||
    !Number.isInteger(difficulty) ||
    difficulty < 0 ||
    difficulty > MAX_POW_DIFFICULTY
  ) {
    throw new PowError("POW_INVALID_DIFFICULTY", `difficulty must be an integer in 0..${MAX_POW_DIFFICULTY}`);
  }
}

/**
 * True for the one spelling of a nonce the wire format allows: decimal digits,
 * no sign, no leading zero, no whitespace, value at most 2^64 - 1.
 */
export function isCanonicalNonce(nonce: unknown): nonce is string {
  if (typeof nonce !== "string" || !NONCE_FORM.test(nonce)) return false;
  // Equal-length decimal strings without leading zeros compare like their values.
  return nonce.length < MAX_NONCE.length || nonce <= MAX_NONCE;
}

/**
 * The difficulty as two masks over the first two big-endian digest words: a
 * digest passes when `(h0 & m0) | (h1 & m1)` is zero. Shared by every backend
 * so they cannot disagree on the bit order.
 */
export function difficultyMasks(difficulty: number): [m0: number, m1: number] {
  const highBits = (bits: number): number => (bits <= 0 ? 0 : bits >= 32 ? -1 : -1 << (32 - bits));
  return [highBits(difficulty), highBits(difficulty - 32)];
}
