/**
 * A JWKS "issuer" for unit tests: real RS256 keys from the core and a real
 * JWKS document, served through an injected transport so a test can count
 * requests, answer 304, go down, or redirect. Only the transport is fake;
 * every signature is real.
 */
import { createJwks, generateSigningKey, type SigningKey } from "@lime-ts/core/keys";
import { type PassportClaims, signPassport } from "@lime-ts/core/passport";

export const ISSUER = "https://issuer.test";
export const JWKS_URL = `${ISSUER}/.well-known/jwks.json`;

export interface TestIssuer {
  keys: SigningKey[];
  /** Kids currently published. */
  published: Set<string>;
  requests: { url: string; ifNoneMatch: string | null }[];
  mode: "up" | "down" | "redirect" | "garbage";
  cacheControl: string | null;
  fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  addKey(publish: boolean): Promise<SigningKey>;
  etag(): string;
}

export async function createTestIssuer(): Promise<TestIssuer> {
  const issuer: TestIssuer = {
    keys: [],
    published: new Set(),
    requests: [],
    mode: "up",
    cacheControl: "public, max-age=300",
    async addKey(publish) {
      const key = await generateSigningKey();
      issuer.keys.push(key);
      if (publish) issuer.published.add(key.kid);
      return key;
    },
    etag() {
      return `"${[...issuer.published].sort().join(",").length}-${[...issuer.published].sort().join("|").slice(0, 16)}"`;
    },
    async fetch(input, init) {
      const url = String(input);
      const headers = new Headers(init?.headers);
      issuer.requests.push({ url, ifNoneMatch: headers.get("if-none-match") });
      if (issuer.mode === "down") throw new TypeError("connection refused");
      if (issuer.mode === "redirect") {
        return new Response(null, { status: 302, headers: { location: "https://elsewhere.test/jwks.json" } });
      }
      if (url !== JWKS_URL) return new Response("not found", { status: 404 });
      if (issuer.mode === "garbage") return new Response('{"keys":"nope"}', { status: 200 });
      const etag = issuer.etag();
      const common: Record<string, string> = { etag };
      if (issuer.cacheControl !== null) common["cache-control"] = issuer.cacheControl;
      if (headers.get("if-none-match") === etag) return new Response(null, { status: 304, headers: common });
      const document = createJwks(
        issuer.keys.filter((k) => issuer.published.has(k.kid)).map((k) => k.publicJwk),
      );
      return new Response(JSON.stringify(document), {
        status: 200,
        headers: { ...common, "content-type": "application/jwk-set+json" },
      });
    },
  };
  await issuer.addKey(true);
  return issuer;
}

export function passportClaims(
  overrides: Partial<PassportClaims> = {},
  nowSec = Math.floor(Date.now() / 1000),
) {
  return {
    iss: ISSUER,
    sub: "agent-1",
    aud: "https://shop.test",
    iat: nowSec,
    exp: nowSec + 300,
    jti: crypto.randomUUID(),
    user_id: "owner-1",
    owner_kyc_level: 1,
    agent_name: "Test agent",
    passport_version: 1,
    ...overrides,
  } satisfies PassportClaims;
}

export function sign(
  key: SigningKey,
  overrides: Partial<PassportClaims> = {},
  nowSec?: number,
): Promise<string> {
  return signPassport(passportClaims(overrides, nowSec), key);
}

/** A well-formed token naming `kid` whose signature cannot verify: what a kid flood looks like. */
export function tokenWithKid(kid: string): string {
  const enc = (value: unknown) =>
    btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return `${enc({ alg: "RS256", typ: "passport+jwt", kid })}.${enc(passportClaims())}.${enc("not-a-signature")}`;
}
