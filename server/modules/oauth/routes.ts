/**
 * The OAuth provider's routes, thin: parse, authenticate, call the service,
 * answer. OAuth endpoints answer in RFC 6749 JSON (`oauthFailure`), the
 * browser flow in HTML pages, the management API (resources, agent keys) in
 * the LIME envelope.
 */

import { Elysia } from "elysia";
import type { AppContext } from "../../context.ts";
import { DomainError } from "../../errors.ts";
import { authenticateSessionToken, type OwnerPrincipal } from "../../foundation/sessions/service.ts";
import { login, normalizeEmail } from "../../foundation/users/service.ts";
import { CSRF_COOKIE, readCookie, SESSION_COOKIE } from "../../http/auth.ts";
import { clientAddress, rateLimitKey } from "../../http/client-address.ts";
import { hashesEqual, hashSecret } from "../../infrastructure/crypto/secrets.ts";
import {
  bindConsentForm,
  createAuthorizationRequest,
  decideAsOwner,
  pendingRequest,
  RedirectableError,
  UnredirectableError,
} from "./authorize.ts";
import { findClient } from "./clients.ts";
import { type ClientView, renderConsentPage, renderErrorPage, renderLoginPage } from "./consent-page.ts";
import { OAUTH_PREFIX, type OAuthDeps, oauthEndpoints } from "./deps.ts";
import { OAuthError } from "./errors.ts";
import { managementRoutes } from "./management-routes.ts";
import { metadataRoutes } from "./metadata-routes.ts";
import { agentAuthorization, protocolRoutes } from "./protocol-routes.ts";
import { admitAuthorizationRequest, formParams, redirect, redirectToClient } from "./route-helpers.ts";

const LOGIN_COOKIE = "lime_oauth_login";

/** A browser form must come from our own pages: a present `Origin` must be ours (CSRF defence in depth). */
function fromOurOrigin(request: Request, issuer: string): boolean {
  const origin = request.headers.get("origin");
  return origin === null || origin === new URL(issuer).origin;
}

async function ownerFromCookie(ctx: AppContext, request: Request): Promise<OwnerPrincipal | null> {
  const cookie = readCookie(request, SESSION_COOKIE);
  if (cookie === null || cookie === "") return null;
  try {
    return { ...(await authenticateSessionToken(ctx.sessions, cookie)), via: "cookie" };
  } catch {
    return null;
  }
}

function clientView(client: {
  clientId: string;
  source: ClientView["source"];
  metadata: { client_name: string | null };
}) {
  return { clientId: client.clientId, source: client.source, name: client.metadata.client_name };
}

export function oauthRoutes(ctx: AppContext) {
  const deps: OAuthDeps = ctx.oauth;
  const { config, rateLimiter } = ctx;
  const endpoints = oauthEndpoints(deps.issuer);
  const limits = config.oauth;
  const secure = deps.issuer.startsWith("https://");
  const tags = ["oauth"];

  const ipOf = (request: Request) => clientAddress(request, config.trustProxy);
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
    const maxAge = Math.floor(limits.authorizationRequestMs / 1000);
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

  const answerAgent = agentAuthorization({ oauth: deps, rateLimiter, config });
  const showAuthorization = async (request: Request) => {
    const ip = ipOf(request);
    try {
      const validated = await admitAuthorizationRequest(deps, rateLimiter, request, ip);
      const pending = await createAuthorizationRequest(deps, validated, null);
      const owner = await ownerFromCookie(ctx, request);
      if (owner === null) return await loginPage(pending.id, validated.client.clientId);
      return await consentPage(pending.id, owner);
    } catch (error) {
      if (error instanceof RedirectableError) return redirectToClient(error, deps.issuer);
      if (error instanceof UnredirectableError) {
        return renderErrorPage("This request cannot be completed", error.oauth.message);
      }
      return renderFailure(error);
    }
  };

  return new Elysia({ tags })
    .use(metadataRoutes(deps))
    .get(
      `${OAUTH_PREFIX}/authorize`,
      ({ request }) =>
        request.headers.has("x-agent-token") ? answerAgent(request) : showAuthorization(request),
      {
        detail: {
          summary: "Authorization endpoint (OAuth 2.1 §4.1.1): consent page, or an agent's PoW challenge",
        },
      },
    )
    .post(
      `${OAUTH_PREFIX}/authorize/login`,
      async ({ body, request }) => {
        const ip = ipOf(request);
        try {
          const params = formParams(body);
          if (!fromOurOrigin(request, deps.issuer)) {
            return renderErrorPage("Request refused", "The sign-in form was not sent from this server.", 403);
          }
          const requestId = params.one("authorization_request_id");
          const pending = await pendingRequest(deps, requestId);
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
            opened = await login(ctx.users, { email, password: params.one("password") ?? "" }, ip);
          } catch (error) {
            if (
              error instanceof DomainError &&
              (error.code === "INVALID_CREDENTIALS" || error.code === "EMAIL_NOT_VERIFIED")
            ) {
              return await loginPage(pending.id, pending.clientId, error.message);
            }
            throw error;
          }
          const maxAge = Math.floor(config.lifetimes.sessionMs / 1000);
          const attributes = `Path=/; Max-Age=${maxAge}; SameSite=Lax${secure ? "; Secure" : ""}`;
          const response = redirect(
            `${endpoints.authorization}/consent?authorization_request_id=${pending.id}`,
            303,
          );
          response.headers.append(
            "set-cookie",
            `${SESSION_COOKIE}=${opened.sessionToken}; ${attributes}; HttpOnly`,
          );
          response.headers.append("set-cookie", `${CSRF_COOKIE}=${opened.csrfToken}; ${attributes}`);
          response.headers.append(
            "set-cookie",
            `${LOGIN_COOKIE}=; Path=${OAUTH_PREFIX}/authorize; Max-Age=0`,
          );
          return response;
        } catch (error) {
          return renderFailure(error);
        }
      },
      { detail: { summary: "Browser flow: the owner signs in from the consent page" } },
    )
    .get(
      `${OAUTH_PREFIX}/authorize/consent`,
      async ({ request }) => {
        try {
          const requestId = new URL(request.url).searchParams.get("authorization_request_id");
          const pending = await pendingRequest(deps, requestId);
          if (pending === null) {
            return renderErrorPage("Request expired", "This authorization request is no longer pending.");
          }
          const owner = await ownerFromCookie(ctx, request);
          if (owner === null) return await loginPage(pending.id, pending.clientId);
          return await consentPage(pending.id, owner);
        } catch (error) {
          return renderFailure(error);
        }
      },
      { detail: { summary: "Browser flow: the consent page of a pending request" } },
    )
    .post(
      `${OAUTH_PREFIX}/authorize/decision`,
      async ({ body, request }) => {
        const ip = ipOf(request);
        try {
          const params = formParams(body);
          if (!fromOurOrigin(request, deps.issuer)) {
            return renderErrorPage("Request refused", "The consent form was not sent from this server.", 403);
          }
          const owner = await ownerFromCookie(ctx, request);
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
            ip,
          );
          return redirect(location, 303);
        } catch (error) {
          if (error instanceof UnredirectableError) {
            return renderErrorPage("This request cannot be completed", error.oauth.message, 403);
          }
          return renderFailure(error);
        }
      },
      { detail: { summary: "Browser flow: the owner approves or denies (CSRF-protected form)" } },
    )
    .use(protocolRoutes({ oauth: deps, rateLimiter, config }))
    .use(managementRoutes({ oauth: deps, rateLimiter, config }));
}

/** An unexpected failure on an HTML route: logged by the boundary's logger, shown as a plain page. */
function renderFailure(error: unknown): Response {
  if (error instanceof OAuthError) return renderErrorPage("This request cannot be completed", error.message);
  if (error instanceof DomainError && error.code === "RATE_LIMIT_EXCEEDED") {
    return renderErrorPage("Too many requests", "Wait a minute and try again.", 429);
  }
  throw error;
}
