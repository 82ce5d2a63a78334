/**
 * The pure-JS solver, for runtimes where WebAssembly is missing or forbidden
 * (a CSP without 'wasm-unsafe-eval'). Same plan as the kernel, same results:
 * the midstate of the challenge block once, then per nonce one compression of
 * the second block, the decimal prefix advanced in place and only the last
 * digit's byte rewritten between the ten nonces of a prefix.
 */
import { type BatchResult, SEARCH_EXHAUSTED, SEARCH_FOUND, SEARCH_NOT_FOUND } from "./kernel/abi.ts";
import { compressBlock, loadBlockWords, SHA256_IV } from "./sha256.ts";

const DIGIT_0 = 0x30;
const MAX_PREFIX_DIGITS = 19;

export interface JsSearcher {
  /** Same contract as the kernel's `search`, from an explicit prefix ("" for the one-digit nonces). */
  search(prefix: string, count: number): BatchResult;
}

export function createJsSearcher(challenge: string, mask0: number, mask1: number): JsSearcher {
  const w = new Int32Array(64);
  const midstate = SHA256_IV.slice();
  loadBlockWords(new TextEncoder().encode(challenge), 0, w);
  compressBlock(midstate, w);

  const block = new Uint8Array(64);
  const state = new Int32Array(8);
  const digits = new Uint8Array(MAX_PREFIX_DIGITS);

  /** Tries "<digits>0".."<digits>9"; returns the first valid last digit or -1. */
  function tryPrefix(length: number): number {
    block.fill(0);
    block.set(digits.subarray(0, length));
    block[length + 1] = 0x80;
    // Bit length of challenge + nonce: (64 + length + 1) bytes, in the last word.
    new DataView(block.buffer).setUint32(60, (65 + length) * 8);
    for (let digit = 0; digit < 10; digit++) {
      block[length] = DIGIT_0 + digit;
      loadBlockWords(block, 0, w);
      state.set(midstate);
      compressBlock(state, w);
      if (((state[0]! & mask0) | (state[1]! & mask1)) === 0) return digit;
    }
    return -1;
  }

  /** digits += 1 in decimal; returns the new length, or -1 when that would need a 20th digit. */
  function increment(length: number): number {
    for (let i = length - 1; i >= 0; i--) {
      if (digits[i] !== DIGIT_0 + 9) {
        digits[i]! += 1;
        return length;
      }
      digits[i] = DIGIT_0;
    }
    if (length === MAX_PREFIX_DIGITS) return -1;
    digits[length] = DIGIT_0;
    digits[0] = DIGIT_0 + 1;
    return length + 1;
  }

  return {
    search(prefix, count) {
      let length = prefix.length;
      for (let i = 0; i < length; i++) digits[i] = prefix.charCodeAt(i);
      let hashes = 0;
      for (let left = count; left > 0; left--) {
        const digit = tryPrefix(length);
        if (digit >= 0) {
          let nonce = "";
          for (let i = 0; i < length; i++) nonce += String.fromCharCode(digits[i]!);
          return { status: SEARCH_FOUND, nonce: nonce + digit, hashes: hashes + digit + 1 };
        }
        hashes += 10;
        length = increment(length);
        if (length < 0) return { status: SEARCH_EXHAUSTED, nonce: "", hashes };
      }
      return { status: SEARCH_NOT_FOUND, nonce: "", hashes };
    },
  };
}
