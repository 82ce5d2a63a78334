/**
 * Every page for people, composed from the app's parts: the account pages
 * (sign up, confirm, sign in and out, password reset), the portal (overview,
 * sites, agents, MCP servers, bindings, verification, audit log), the
 * hosted Agent Binding connect page, and the static files they share.
 * Why server-rendered HTML: docs/decisions/portal-rendering.md.
 */

import { Elysia } from "elysia";
import type { AppContext } from "../../context.ts";
import { webAssetRoutes } from "../assets.ts";
import { overviewPages } from "./account-overview-pages.ts";
import { accountPages } from "./account-pages.ts";
import { agentPages } from "./agent-pages.ts";
import { bindingPages } from "./binding-pages.ts";
import { passwordPages } from "./password-pages.ts";
import { portalGuard } from "./portal-guard.ts";
import { resourcePages } from "./resource-pages.ts";
import { sitePages } from "./site-pages.ts";

export function webPages(ctx: AppContext) {
  const { config } = ctx;
  const guard = portalGuard(ctx.sessions);
  const loginRequests = ctx.agentLogin.store;
  return new Elysia({ name: "lime-web-pages" })
    .use(webAssetRoutes())
    .use(accountPages({ config, users: ctx.users, sessions: ctx.sessions, rateLimiter: ctx.rateLimiter }))
    .use(passwordPages({ config, users: ctx.users, rateLimiter: ctx.rateLimiter }))
    .use(
      overviewPages({
        config,
        sessions: ctx.sessions,
        sites: ctx.sites.sites,
        agents: ctx.agents.agents,
        resources: ctx.oauth.stores.resources,
        kyc: ctx.kyc,
        audit: ctx.auditStore,
        guard,
      }),
    )
    .use(sitePages({ config, sites: ctx.sites, loginRequests, guard }))
    .use(
      agentPages({
        config,
        agents: ctx.agents,
        sites: ctx.sites.sites,
        loginRequests,
        agentKeys: ctx.agentKeys,
        guard,
      }),
    )
    .use(
      bindingPages({
        config,
        bindings: ctx.bindings,
        agents: ctx.agents,
        sessions: ctx.sessions,
        rateLimiter: ctx.rateLimiter,
        guard,
      }),
    )
    .use(
      resourcePages({
        config,
        resources: {
          clock: ctx.clock,
          resources: ctx.oauth.stores.resources,
          audit: ctx.oauth.audit,
          production: config.production,
        },
        guard,
      }),
    );
}
