/**
 * Changes a JWT's signature so it no longer verifies, and nothing else.
 *
 * The change is made in the middle of the signature, where every base64url
 * character carries six bits of it. The last character of an RS256 signature
 * carries only two: flipping it can produce a non-canonical encoding, which a
 * verifier rightly refuses as malformed rather than as a bad signature — once
 * in 256 runs, as CI found.
 */
export function withBadSignature(jwt: string): string {
  const [header, payload, signature] = jwt.split(".");
  if (header === undefined || payload === undefined || signature === undefined || signature.length < 8) {
    throw new TypeError("withBadSignature needs a compact JWS");
  }
  const middle = signature.length >> 1;
  const replacement = signature[middle] === "A" ? "B" : "A";
  return `${header}.${payload}.${signature.slice(0, middle)}${replacement}${signature.slice(middle + 1)}`;
}
