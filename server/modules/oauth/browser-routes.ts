/**
 * The browser's side of the authorization endpoint, answered in HTML pages
 * (consent-page.ts): the owner signs in, reads what the client asks for,
 * and approves or denies. Each form carries a token bound to its request
 * (sign-in) or to the session (consent), and must come from our origin.
 */

import { Elysia } from "elysia";
import type { ServerConfig } from "../../config.ts";
import { DomainError } from "../../errors.ts";
import { authenticateSessionToken, type OwnerPrincipal } from "../../foundation/sessions/service.ts";
import { login, normalizeEmail } from "../../foundation/users/service.ts";
import { CSRF_COOKIE, readCookie, SESSION_COOKIE } from "../../http/auth.ts";
import { clientAddress, rateLimitKey } from "../../http/client-address.ts";
import { AGENT_TOKEN, AGENT_TOKEN_FAILURES, Envelope, INPUT_FAILURES, PUBLIC } from "../../http/contract.ts";
import type { RateLimiter } from "../../http/rate-limit.ts";
import { hashesEqual, hashSecret } from "../../infrastructure/crypto/secrets.ts";
import {
  bindConsentForm,
  ConsentRefusedError,
  createAuthorizationRequest,
  decideAsOwner,
  pendingRequest,
  RedirectableError,
  UnredirectableError,
} from "./authorize.ts";
import { findClient, type OAuthClient } from "./clients.ts";
import { renderConsentPage, renderErrorPage, renderLoginPage } from "./consent-page.ts";
import {
  AuthorizationErrorQuery,
  AuthorizationRequestQuery,
  AuthorizationResponseQuery,
  ConsentQuery,
  DecisionForm,
  type DecisionParam,
  LoginForm,
  type LoginParam,
  type ParamName,
} from "./contract.ts";
import { OAUTH_PREFIX, type OAuthDeps, oauthEndpoints } from "./deps.ts";
import { OAuthError } from "./errors.ts";
import {
  describe,
  envelopeErrors,
  formBody,
  OAUTH_RATE_LIMITED,
  OWNER_COOKIE,
  oauthAnswer,
  oauthErrors,
  optionally,
  page as pageAnswer,
  queryParameters,
  redirect as redirectAnswer,
  SET_COOKIE,
} from "./openapi.ts";
import type { OAuthParams } from "./params.ts";
import { agentAuthorization } from "./protocol-routes.ts";
import {
  admitAuthorizationRequest,
  answeringFailures,
  formParams,
  redirect,
  redirectToClient,
} from "./route-helpers.ts";
import { AgentAuthorizationChallenge } from "./schemas.ts";

const LOGIN_COOKIE = "lime_oauth_login";
const CANNOT_COMPLETE = "This request cannot be completed";

export interface BrowserRouteDeps {
  oauth: OAuthDeps;
  rateLimiter: RateLimiter;
  config: Pick<ServerConfig, "trustProxy" | "rateLimits" | "lifetimes">;
}

/**
 * Failures as pages. An authorization request is redirected back to the
 * client once its redirect URI is known (RFC 6749 §4.1.2.1), never before;
 * anything else unexpected goes on to the server's boundary.
 */
function pageFailure(issuer: string) {
  return (error: unknown): Response => {
    if (error instanceof RedirectableError) return redirectToClient(error, issuer);
    if (error instanceof UnredirectableError) return renderErrorPage(CANNOT_COMPLETE, error.oauth.message);
    if (error instanceof ConsentRefusedError) return renderErrorPage(CANNOT_COMPLETE, error.message, 403);
    if (error instanceof OAuthError) return renderErrorPage(CANNOT_COMPLETE, error.message);
    if (error instanceof DomainError && error.code === "RATE_LIMIT_EXCEEDED") {
      return renderErrorPage("Too many requests", "Wait a minute and try again.", 429);
    }
    throw error;
  };
}

/** A browser form must come from our own pages: a present `Origin` must be ours (CSRF defence in depth). */
function fromOurOrigin(request: Request, issuer: string): boolean {
  const origin = request.headers.get("origin");
  return origin === null || origin === new URL(issuer).origin;
}

function clientView(client: OAuthClient) {
  return { clientId: client.clientId, source: client.source, name: client.metadata.client_name };
}

/** `issuer-host.ts`: with a loopback issuer, a page asked for on another loopback name goes to the issuer's. */
const ISSUER_HOST_REDIRECT = redirectAnswer(
  302,
  "Development only (loopback issuer): the page was asked for on another loopback name of the same port.",
  "The same path and query on the issuer's host.",
);

export function browserRoutes({ oauth: deps, rateLimiter, config }: BrowserRouteDeps) {
  const endpoints = oauthEndpoints(deps.issuer);
  const secure = deps.issuer.startsWith("https://");
  const page = answeringFailures(pageFailure(deps.issuer));
  const answerAgent = agentAuthorization({ oauth: deps, rateLimiter, config });
  const ipOf = (request: Request) => clientAddress(request, config.trustProxy);

  const ownerFromCookie = async (request: Request): Promise<OwnerPrincipal | null> => {
    const cookie = readCookie(request, SESSION_COOKIE);
    if (cookie === null || cookie === "") return null;
    try {
      return { ...(await authenticateSessionToken(deps.sessions, cookie)), via: "cookie" };
    } catch {
      return null;
    }
  };

  const loginPage = async (requestId: string, clientId: string, error?: string) => {
    const client = await findClient({ clients: deps.stores.clients, cimd: deps.cimd }, clientId);
    const loginToken = crypto.randomUUID();
    const response = renderLoginPage({
      action: `${endpoints.authorization}/login`,
      requestId,
      loginToken,
      client: clientView(client),
      error,
    });
    const maxAge = Math.floor(deps.config.authorizationRequestMs / 1000);
    response.headers.append(
      "set-cookie",
      `${LOGIN_COOKIE}=${loginToken}; Path=${OAUTH_PREFIX}/authorize; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`,
    );
    return response;
  };

  const consentPage = async (requestId: string, owner: OwnerPrincipal) => {
    const request = await pendingRequest(deps, requestId);
    if (request === null) {
      return renderErrorPage(
        "Request expired",
        "This authorization request is no longer pending. Start again from the application.",
      );
    }
    const client = await findClient({ clients: deps.stores.clients, cimd: deps.cimd }, request.clientId);
    const resource = await deps.stores.resources.findByResource(request.resource);
    const formToken = await bindConsentForm(deps, request, owner);
    if (formToken === null) {
      return renderErrorPage(
        "Request refused",
        "This authorization request belongs to another session.",
        403,
      );
    }
    return renderConsentPage({
      action: `${endpoints.authorization}/decision`,
      requestId: request.id,
      formToken,
      client: clientView(client),
      redirectUri: request.redirectUri,
      resourceName: resource?.displayName ?? request.resource,
      resource: request.resource,
      scopes: request.scopes,
      ownerEmail: owner.user.email,
    });
  };

  /** The opened session's cookies (the two the owner API's login sets); the sign-in form's is cleared. */
  const sessionCookies = (opened: { sessionToken: string; csrfToken: string }) => {
    const maxAge = Math.floor(config.lifetimes.sessionMs / 1000);
    const attributes = `Path=/; Max-Age=${maxAge}; SameSite=Lax${secure ? "; Secure" : ""}`;
    return [
      `${SESSION_COOKIE}=${opened.sessionToken}; ${attributes}; HttpOnly`,
      `${CSRF_COOKIE}=${opened.csrfToken}; ${attributes}`,
      `${LOGIN_COOKIE}=; Path=${OAUTH_PREFIX}/authorize; Max-Age=0`,
    ];
  };

  return new Elysia({ tags: ["oauth"] })
    .get(
      `${OAUTH_PREFIX}/authorize`,
      ({ request }) =>
        // One URL, two audiences: an agent (X-Agent-Token) is answered in JSON by the protocol group.
        request.headers.has("x-agent-token")
          ? answerAgent(request)
          : page(async () => {
              const validated = await admitAuthorizationRequest(deps, rateLimiter, request, ipOf(request));
              const pending = await createAuthorizationRequest(deps, validated, null);
              const owner = await ownerFromCookie(request);
              if (owner === null) return await loginPage(pending.id, validated.client.clientId);
              return await consentPage(pending.id, owner);
            }),
      {
        detail: {
          summary: "Authorization endpoint (OAuth 2.1 §4.1.1): consent page, or an agent's PoW challenge",
          description:
            "A browser gets the sign-in page, or with a session the consent page. An agent (X-Agent-Token) " +
            "gets, in the LIME envelope, the proof-of-work challenge it approves with (`POST` this path). " +
            "An unknown client or redirect URI is never redirected to; other errors go back to the redirect " +
            "URI (RFC 6749 §4.1.2.1) with `state` and `iss`. `request` and `request_uri` are refused.",
          operationId: "authorize",
          security: optionally(AGENT_TOKEN, OWNER_COOKIE),
          parameters: queryParameters(AuthorizationRequestQuery),
          responses: describe(
            pageAnswer(
              200,
              "The sign-in page (no session), or the consent page (a session).",
              SET_COOKIE("Without a session: `lime_oauth_login`, the sign-in form's token."),
            ),
            oauthAnswer(
              200,
              Envelope(AgentAuthorizationChallenge),
              "With X-Agent-Token: the proof-of-work challenge of the pending request.",
            ),
            ISSUER_HOST_REDIRECT,
            redirectAnswer(
              302,
              "The request failed after its client and redirect URI were validated (RFC 6749 §4.1.2.1).",
              "The client's redirect_uri with `error`, `error_description`, `state` and `iss` (RFC 9207).",
              [
                AuthorizationErrorQuery([
                  "invalid_request",
                  "unsupported_response_type",
                  "invalid_scope",
                  "invalid_target",
                ]),
              ],
            ),
            pageAnswer(
              400,
              "Browser: the client or redirect URI is unknown or does not match (never redirected).",
            ),
            pageAnswer(403, "Browser: the request belongs to another session."),
            pageAnswer(429, "Browser: too many authorization requests from this address."),
            oauthErrors(["invalid_request", "invalid_client"]),
            OAUTH_RATE_LIMITED,
            envelopeErrors(AGENT_TOKEN_FAILURES),
          ),
        },
      },
    )
    .post(
      `${OAUTH_PREFIX}/authorize/login`,
      ({ body, request }) =>
        page(async () => {
          const ip = ipOf(request);
          const params: OAuthParams<LoginParam> = formParams(body);
          if (!fromOurOrigin(request, deps.issuer)) {
            return renderErrorPage("Request refused", "The sign-in form was not sent from this server.", 403);
          }
          const pending = await pendingRequest(deps, params.one("authorization_request_id"));
          if (pending === null) {
            return renderErrorPage("Request expired", "This authorization request is no longer pending.");
          }
          const cookie = readCookie(request, LOGIN_COOKIE);
          const presented = params.one("login_token");
          if (
            cookie === null ||
            presented === null ||
            !hashesEqual(hashSecret(cookie), hashSecret(presented))
          ) {
            return renderErrorPage("Request refused", "The sign-in form has expired; start again.", 403);
          }
          const email = params.one("email") ?? "";
          await rateLimiter.enforce("auth", rateLimitKey(ip), config.rateLimits.authPerMinute);
          await rateLimiter.enforce("login-email", normalizeEmail(email), config.rateLimits.authPerMinute);
          let opened: Awaited<ReturnType<typeof login>>;
          try {
            opened = await login(deps.users, { email, password: params.one("password") ?? "" }, ip);
          } catch (error) {
            // A refused sign-in is shown on the sign-in page, to try again.
            if (
              error instanceof DomainError &&
              (error.code === "INVALID_CREDENTIALS" || error.code === "EMAIL_NOT_VERIFIED")
            ) {
              return await loginPage(pending.id, pending.clientId, error.message);
            }
            throw error;
          }
          const response = redirect(
            `${endpoints.authorization}/consent?authorization_request_id=${pending.id}`,
            303,
          );
          for (const cookie of sessionCookies(opened)) response.headers.append("set-cookie", cookie);
          return response;
        }),
      {
        detail: {
          summary: "Browser flow: the owner signs in from the consent page",
          operationId: "signInToAuthorize",
          security: PUBLIC,
          requestBody: formBody(LoginForm),
          responses: describe(
            redirectAnswer(
              303,
              "Signed in: on to the consent page, with the owner's session cookies.",
              "`/api/v1/modules/oauth/authorize/consent?authorization_request_id=…` on the issuer.",
              [],
              SET_COOKIE(
                "`lime_session` and `lime_csrf` (as the owner portal's sign-in); `lime_oauth_login` cleared.",
              ),
            ),
            pageAnswer(400, "Not a form, or the authorization request is no longer pending."),
            pageAnswer(
              401,
              "Wrong email or password, or an unverified email: the sign-in page again, saying so.",
            ),
            pageAnswer(403, "The form did not come from this server, or its login token does not match."),
            pageAnswer(429, "Too many sign-in attempts."),
            envelopeErrors(INPUT_FAILURES),
          ),
        },
      },
    )
    .get(
      `${OAUTH_PREFIX}/authorize/consent`,
      ({ request }) =>
        page(async () => {
          const requestId = new URL(request.url).searchParams.get(
            "authorization_request_id" satisfies ParamName<typeof ConsentQuery>,
          );
          const pending = await pendingRequest(deps, requestId);
          if (pending === null) {
            return renderErrorPage("Request expired", "This authorization request is no longer pending.");
          }
          const owner = await ownerFromCookie(request);
          if (owner === null) return await loginPage(pending.id, pending.clientId);
          return await consentPage(pending.id, owner);
        }),
      {
        detail: {
          summary: "Browser flow: the consent page of a pending request",
          operationId: "showConsentPage",
          security: optionally(OWNER_COOKIE),
          parameters: queryParameters(ConsentQuery),
          responses: describe(
            pageAnswer(
              200,
              "The consent page (a session), or the sign-in page (none).",
              SET_COOKIE("Without a session: `lime_oauth_login`, the sign-in form's token."),
            ),
            ISSUER_HOST_REDIRECT,
            pageAnswer(400, "The authorization request is no longer pending."),
            pageAnswer(403, "The request belongs to another session."),
            envelopeErrors([]),
          ),
        },
      },
    )
    .post(
      `${OAUTH_PREFIX}/authorize/decision`,
      ({ body, request }) =>
        page(async () => {
          const params: OAuthParams<DecisionParam> = formParams(body);
          if (!fromOurOrigin(request, deps.issuer)) {
            return renderErrorPage("Request refused", "The consent form was not sent from this server.", 403);
          }
          const owner = await ownerFromCookie(request);
          if (owner === null) {
            return renderErrorPage(
              "Signed out",
              "Your session has ended; start again from the application.",
              401,
            );
          }
          const decision = params.one("decision");
          if (decision !== "approve" && decision !== "deny") {
            return renderErrorPage("Request refused", "The consent form carried no decision.");
          }
          const location = await decideAsOwner(
            deps,
            owner,
            {
              requestId: params.one("authorization_request_id"),
              formToken: params.one("form_token"),
              approve: decision === "approve",
            },
            ipOf(request),
          );
          return redirect(location, 303);
        }),
      {
        detail: {
          summary: "Browser flow: the owner approves or denies (CSRF-protected form)",
          description:
            "The form token binds the decision to the session and the request (the `X-CSRF-Token` header is " +
            "not used here); the decision is single use.",
          operationId: "decideAuthorization",
          security: OWNER_COOKIE,
          requestBody: formBody(DecisionForm),
          responses: describe(
            redirectAnswer(
              303,
              "Decided: back to the client (RFC 6749 §4.1.2), with the code, or `access_denied`.",
              "The client's redirect_uri with `code`, `state` and `iss`; or `error=access_denied`.",
              [AuthorizationResponseQuery, AuthorizationErrorQuery(["access_denied"])],
            ),
            pageAnswer(400, "Not a form, or no decision."),
            pageAnswer(401, "The session has ended."),
            pageAnswer(
              403,
              "The form did not come from this server, its token is not this session's, or the request is no " +
                "longer pending.",
            ),
            envelopeErrors(INPUT_FAILURES),
          ),
        },
      },
    );
}
