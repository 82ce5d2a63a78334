/**
 * The portable core of LIME in TypeScript: proof-of-work, keys, passports,
 * and agent keys with HTTP message signatures (also at `./http-signatures`).
 * Runs unchanged in Bun, Node 20+, Deno and browsers: WebCrypto and
 * WebAssembly everywhere, plus node:crypto's synchronous RSA verify where Bun
 * or Node provide it (found at run time, never imported by name).
 * `test/core/public-api.test.ts` pins this list.
 */
export * from "./errors.ts";
export * from "./http-signatures/index.ts";
export * from "./keys/index.ts";
export * from "./passport/index.ts";
export * from "./pow/index.ts";
