/**
 * The stand-in for the client types generated from /openapi/json, so the
 * repository's own typecheck can read test/contract/login-flow-client.ts.
 * The real check is test/contract/generated-client.test.ts: it generates
 * the types from the live description with openapi-typescript and
 * typechecks the driver against them, with this module name mapped to the
 * generated file instead of this one.
 */
declare module "lime-openapi-generated" {
  // biome-ignore lint/suspicious/noExplicitAny: a stand-in; the generated types replace it in the real check.
  export type paths = any;
}
