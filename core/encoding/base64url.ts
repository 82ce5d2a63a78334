/**
 * Strict base64url (RFC 4648 §5) without padding, as JOSE requires (RFC 7515 §2).
 *
 * Decoding is canonical: padding, characters outside the alphabet, an
 * impossible length (4k+1) and non-zero trailing bits are all refused, so one
 * byte string has exactly one accepted encoding. That closes signature
 * malleability through alternative encodings of the same bytes.
 *
 * The decoder returns `undefined` instead of throwing: the verifier's hot path
 * maps it to its own error code without paying for a try/catch.
 *
 * @example
 * encodeBase64url(new Uint8Array([0xfb, 0xff])) // "-_8"
 * decodeBase64url("-_8") // Uint8Array [0xfb, 0xff]
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** char code -> 6-bit value, or 255 for a character outside the alphabet. */
const DECODE_TABLE = (() => {
  const table = new Uint8Array(128).fill(255);
  for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i;
  return table;
})();

/** Encodes bytes as unpadded base64url. */
export function encodeBase64url(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("encodeBase64url: bytes must be a Uint8Array");
  let out = "";
  const full = bytes.length - (bytes.length % 3);
  let i = 0;
  for (; i < full; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - full;
  if (rest === 1) {
    const n = bytes[i]!;
    out += ALPHABET[n >>> 2]! + ALPHABET[(n & 3) << 4]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 8) | bytes[i + 1]!;
    out += ALPHABET[n >>> 10]! + ALPHABET[(n >>> 4) & 63]! + ALPHABET[(n & 15) << 2]!;
  }
  return out;
}

/** Encodes a string's UTF-8 bytes as unpadded base64url. */
export function encodeBase64urlText(text: string): string {
  if (typeof text !== "string") throw new TypeError("encodeBase64urlText: text must be a string");
  return encodeBase64url(new TextEncoder().encode(text));
}

/**
 * Decodes canonical unpadded base64url, or returns `undefined` when `input`
 * is not exactly that. `start`/`end` select a slice of `input` without
 * copying it (the verifier decodes the segments of one token in place).
 */
export function decodeBase64url(
  input: string,
  start = 0,
  end = input.length,
): Uint8Array<ArrayBuffer> | undefined {
  const length = end - start;
  const rest = length & 3;
  if (rest === 1) return undefined;
  const out = new Uint8Array((length >>> 2) * 3 + (rest === 0 ? 0 : rest - 1));
  const full = end - rest;
  let o = 0;
  let i = start;
  for (; i < full; i += 4) {
    const a = sextet(input, i);
    const b = sextet(input, i + 1);
    const c = sextet(input, i + 2);
    const d = sextet(input, i + 3);
    if ((a | b | c | d) > 63) return undefined;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >>> 16;
    out[o++] = (n >>> 8) & 255;
    out[o++] = n & 255;
  }
  if (rest === 2) {
    const a = sextet(input, i);
    const b = sextet(input, i + 1);
    // The low 4 bits of the last sextet carry no data; canonical means zero.
    if ((a | b) > 63 || (b & 15) !== 0) return undefined;
    out[o] = (a << 2) | (b >>> 4);
  } else if (rest === 3) {
    const a = sextet(input, i);
    const b = sextet(input, i + 1);
    const c = sextet(input, i + 2);
    if ((a | b | c) > 63 || (c & 3) !== 0) return undefined;
    const n = (a << 10) | (b << 4) | (c >>> 2);
    out[o++] = n >>> 8;
    out[o] = n & 255;
  }
  return out;
}

function sextet(input: string, index: number): number {
  const code = input.charCodeAt(index);
  return code < 128 ? DECODE_TABLE[code]! : 255;
}
