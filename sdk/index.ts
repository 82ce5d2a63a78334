/**
 * LIME SDKs for agents and sites, in TypeScript, for any JS runtime (Bun,
 * Node 20+, Deno, browsers, Web Workers): only fetch, streams, WebCrypto and
 * WebAssembly are used. The Elysia plugin lives in `sdk/elysia.ts` so this
 * entry never pulls a server framework into a browser bundle.
 * `test/sdk/public-api.test.ts` pins this list. See docs/sdk.md.
 *
 * @example
 * const agent = new AgentClient({ baseUrl: "https://lime.example", agentToken });
 * await agent.login(requestId);
 *
 * const site = new SiteClient({ baseUrl: "https://lime.example", siteToken });
 * const { requestId } = await site.createLoginRequest();
 * const passport = await site.waitForLogin(requestId, { timeout: 60_000 });
 *
 * const { bindingId, connectUrl } = await site.createBindingRequest({ redirectUri });
 * const binding = await site.verifyBindingPassport(passportFromCallback, { bindingId });
 *
 * // Web Bot Auth (docs/web-bot-auth.md): key-bound passports, signed requests.
 * const signer = new AgentClient({ signingKey: await generateAgentKey() });
 * await signer.registerKey();
 * await signer.fetch("https://shop.example/api/orders"); // Signature-Agent, Signature-Input, Signature
 */
export {
  BINDING_AUDIENCE,
  type BindingPassportClaims,
  type BindingPassportContext,
  isLimeError,
  type PassportClaims,
  type PassportContext,
  PassportError,
  type PassportErrorCode,
  SITE_LOGIN_AUDIENCE,
} from "@lime-ts/core";
export { SignatureError, type SignatureErrorCode } from "@lime-ts/core/errors";
export {
  type AgentKeyAlgorithm,
  type AgentKeyPair,
  type AgentPublicJwk,
  generateAgentKey,
  importAgentKey,
} from "@lime-ts/core/http-signatures";
export {
  AgentClient,
  type AgentClientOptions,
  type LoginOptions,
  type PassportOptions,
  type SolveProgress,
} from "./agent/client.ts";
export type { AgentKeyRecord, KeyRotation, SigningKeyInput } from "./agent/keys.ts";
export type { AgentProfile, LoginApproval, LoginChallenge } from "./agent/wire.ts";
export {
  type ApiErrorCode,
  type KnownApiErrorCode,
  LimeApiError,
  LimeSdkError,
  type SdkErrorCode,
} from "./errors.ts";
export type { FetchLike } from "./internal/http.ts";
export type { RetryPolicy } from "./internal/retry.ts";
export { PASSPORT_AUTH_SCHEME } from "./scheme.ts";
export { SiteClient, type SiteClientOptions, type WaitForLoginOptions } from "./site/client.ts";
export {
  createPassportGuard,
  type PassportGuard,
  type PassportGuardOptions,
  passportChallenge,
  withAgentPassport,
} from "./site/guard.ts";
export type { JwksCacheOptions, JwksCacheStats } from "./site/jwks-cache.ts";
export type { KeyDirectoryOptions, KeyDirectoryStats } from "./site/key-directory.ts";
export type {
  LoginEventsOptions,
  LoginHandler,
  LoginOutcome,
  LoginSubscription,
  RevocationHandler,
} from "./site/login-events.ts";
export type { AgentRequestContext, RequestSignature } from "./site/request-signature.ts";
export type {
  RevocationChecker,
  RevocationEntry,
  RevocationOptions,
  RevocationStats,
  RevocationSubject,
} from "./site/revocations.ts";
export {
  createPassportVerifier,
  PassportVerifier,
  type PassportVerifierOptions,
  type VerifyBindingOptions,
  type VerifyOptions,
} from "./site/verifier.ts";
export type {
  BindingRequestState,
  CreatedBindingRequest,
  CreatedLoginRequest,
  LoginRequestState,
} from "./site/wire.ts";
