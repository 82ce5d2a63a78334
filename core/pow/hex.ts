/** Lowercase hex of `bytes`, the spelling of challenges and digests on the wire. */
export function bytesToHex(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
