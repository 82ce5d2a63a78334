/**
 * Agent Binding for people: the hosted connect page a site sends its user to
 * (`connect_url`), and the owner's list of bindings with a revoke button.
 *
 * On the connect page the user sees which site asks (its name and origin),
 * signs in or signs up if needed, picks one of their agents or creates one
 * there, and approves or declines; the browser then goes back to the site's
 * `redirect_uri` with the passport or `error=access_denied`. Everything is
 * decided by the binding services (docs/decisions/agent-binding.md); this
 * page only asks.
 */

import { Elysia } from "elysia";
import type { ServerConfig } from "../../config.ts";
import { RegisterAgentBody } from "../../core/agents/schemas.ts";
import { type AgentDeps, registerAgent } from "../../core/agents/service.ts";
import { DomainError, RateLimitedError } from "../../errors.ts";
import type { SessionDeps } from "../../foundation/sessions/service.ts";
import { clientAddress, rateLimitKey } from "../../http/client-address.ts";
import type { RateLimiter } from "../../http/rate-limit.ts";
import {
  approveBinding,
  type BindingDeps,
  type ConnectView,
  denyBinding,
  formatCursor,
  getBindingForConnectPage,
  listBindableAgents,
  listOwnerBindings,
  parseCursor,
  revokeBinding,
} from "../../modules/bindings/service.ts";
import {
  actionButton,
  csrfField,
  errorSummary,
  type FieldErrors,
  notice,
  statusLabel,
  table,
  when,
} from "../components.ts";
import { formFields } from "../forms.ts";
import { html, type SafeHtml } from "../html.ts";
import { renderPage } from "../layout.ts";
import { redirectTo } from "../navigation.ts";
import { isGenuineForm, type PageOwner, sentFromOurPage, signedInOwner } from "../session.ts";
import { fieldErrors } from "../validate.ts";
import { type PortalGuard, refusedForm, shellOwner } from "./portal-guard.ts";

export interface BindingPageDeps {
  config: Pick<ServerConfig, "trustProxy" | "rateLimits">;
  bindings: BindingDeps;
  agents: AgentDeps;
  sessions: SessionDeps;
  rateLimiter: RateLimiter;
  guard: PortalGuard;
}

const BINDINGS_PAGE_SIZE = 50;
const NEW_AGENT = "new";

const CLOSED_REASONS: Partial<Record<string, string>> = {
  COMPLETED: "An agent was already connected through this request.",
  DENIED: "This request was declined.",
  EXPIRED: "This request has expired. Go back to the site and start again.",
  REVOKED: "The connection made through this request was revoked.",
};

function closedPage(view: ConnectView, reason: string, status = 410): Response {
  return renderPage({
    title: "This connection request is closed",
    narrow: true,
    status,
    forms: "none",
    body: html`<h1>This connection request is closed</h1>
<p>${reason}</p>
${view.site.origin ? html`<p><a href="${view.site.origin}">Back to ${view.site.displayName}</a></p>` : ""}`,
  });
}

function unknownPage(): Response {
  return renderPage({
    title: "Connection request not found",
    narrow: true,
    status: 404,
    forms: "none",
    body: html`<h1>Connection request not found</h1>
<p>This link does not lead to a connection request. Go back to the site and start again.</p>`,
  });
}

function whoAsks(view: ConnectView): SafeHtml {
  return html`<dl class="facts">
  <dt>Site</dt><dd><bdi>${view.site.displayName}</bdi></dd>
  <dt>Address</dt><dd><strong>${view.site.origin ?? "unknown"}</strong></dd>
  <dt>Open until</dt><dd>${when(view.expiresAt)}</dd>
</dl>`;
}

function connectPath(bindingId: string): string {
  return `/connect?binding_id=${encodeURIComponent(bindingId)}`;
}

/** The page's forms end in a redirect to the site; Chromium applies form-action to it. */
function formTargets(view: ConnectView): string[] {
  return view.site.origin ? ["'self'", view.site.origin] : ["'self'"];
}

export function bindingPages(deps: BindingPageDeps) {
  const { guard, config } = deps;
  const ip = (request: Request) => clientAddress(request, config.trustProxy);

  const signedOutPage = (view: ConnectView) => {
    const next = encodeURIComponent(connectPath(view.bindingId));
    return renderPage({
      title: `Connect an agent to ${view.site.displayName}`,
      narrow: true,
      formTargets: formTargets(view),
      body: html`<h1>Connect one of your agents</h1>
<p class="lead"><bdi>${view.site.displayName}</bdi> asks to know which of your AI agents acts for you there.</p>
${whoAsks(view)}
<p>Sign in to your LIME account to choose an agent. The site receives a short-lived passport naming the agent you pick, and nothing else about your account but its verification level.</p>
<p><a class="button" href="/signin?next=${next}">Sign in to choose</a> <a class="button secondary" href="/signup?next=${next}">Create an account</a></p>
<form method="post" action="/connect/deny">
  <input type="hidden" name="binding_id" value="${view.bindingId}">
  <button type="submit" class="link">Decline and go back to the site</button>
</form>`,
    });
  };

  const choosePage = async (
    owner: PageOwner,
    view: ConnectView,
    errors: FieldErrors = {},
    values: { agent?: string; newName?: string } = {},
    status = 200,
  ) => {
    const agents = await listBindableAgents(deps.bindings, owner.user);
    const chosen = values.agent ?? agents[0]?.id ?? NEW_AGENT;
    const option = (value: string, label: SafeHtml | string, hint?: string) => html`<div class="choice">
  <input type="radio" id="agent-${value}" name="agent_id" value="${value}"${value === chosen ? html` checked` : ""}${hint ? html` aria-describedby="agent-${value}-hint"` : ""}>
  <label for="agent-${value}">${label}${hint ? html`<span class="hint" id="agent-${value}-hint">${hint}</span>` : ""}</label>
</div>`;
    return renderPage({
      title: `Connect an agent to ${view.site.displayName}`,
      owner: shellOwner(owner),
      narrow: true,
      status,
      formTargets: formTargets(view),
      body: html`${errorSummary(errors)}
<h1>Connect one of your agents</h1>
<p class="lead"><bdi>${view.site.displayName}</bdi> asks which of your AI agents acts for you there.</p>
${whoAsks(view)}
<form method="post" action="/connect" novalidate>
  ${csrfField(owner.csrfToken)}
  <input type="hidden" name="binding_id" value="${view.bindingId}">
  <fieldset id="field-agent_id">
    <legend>Which agent?</legend>
    ${errors.agent_id ? html`<span class="field-error"><span class="visually-hidden">Error:</span> ${errors.agent_id}</span>` : ""}
    ${agents.map((agent) => option(agent.id, html`<bdi>${agent.displayName}</bdi>`, `Reputation ${agent.reputation} of 100`))}
    ${option(NEW_AGENT, "A new agent", "Created now; you can give it its token from the portal afterwards.")}
  </fieldset>
  <div class="field">
    <label for="field-new_agent_name">Name of the new agent</label>
    <span class="hint" id="field-new_agent_name-hint">Only if you chose a new agent.</span>
    ${errors.new_agent_name ? html`<span class="field-error" id="field-new_agent_name-error"><span class="visually-hidden">Error:</span> ${errors.new_agent_name}</span>` : ""}
    <input id="field-new_agent_name" name="new_agent_name" type="text" value="${values.newName ?? ""}" aria-describedby="field-new_agent_name-hint${errors.new_agent_name ? " field-new_agent_name-error" : ""}"${errors.new_agent_name ? html` aria-invalid="true"` : ""}>
  </div>
  <p>The site receives a passport valid for a minute that names the agent, you (by your account id) and your verification level.</p>
  <div class="actions">
    <button type="submit" name="decision" value="approve">Connect this agent</button>
    <button type="submit" name="decision" value="deny" class="secondary">Decline</button>
  </div>
</form>`,
    });
  };

  /** The request, or the page to show instead when it cannot be decided. */
  const openRequest = async (bindingId: string): Promise<ConnectView | Response> => {
    let view: ConnectView;
    try {
      view = await getBindingForConnectPage(deps.bindings, bindingId);
    } catch (error) {
      if (error instanceof DomainError && error.code === "BINDING_NOT_FOUND") return unknownPage();
      throw error;
    }
    if (view.status !== "PENDING") return closedPage(view, CLOSED_REASONS[view.status] ?? "It is closed.");
    if (view.site.status !== "ACTIVE") return closedPage(view, "The site that asked is suspended.", 409);
    return view;
  };

  /** A decision the services refused: the request changed since the page was shown. */
  const refusedDecision = (view: ConnectView, error: DomainError) => {
    const reasons: Partial<Record<string, string>> = {
      BINDING_EXPIRED: CLOSED_REASONS.EXPIRED,
      BINDING_ALREADY_DECIDED: "This request was already answered, here or in another window.",
      SITE_SUSPENDED: "The site that asked is suspended.",
      SITE_ORIGIN_REQUIRED: "The site no longer has an address to return you to.",
      REDIRECT_URI_NOT_ALLOWED: "The site's return address is no longer on its registered origin.",
    };
    const reason = reasons[error.code];
    return reason ? closedPage(view, reason, 409) : null;
  };

  const limitDecisions = (request: Request) =>
    deps.rateLimiter.enforce("binding-decisions", rateLimitKey(ip(request)), config.rateLimits.authPerMinute);

  return new Elysia({ detail: { hide: true } })
    .get("/connect", async ({ request, query }) => {
      const bindingId = typeof query.binding_id === "string" ? query.binding_id : "";
      const view = await openRequest(bindingId);
      if (view instanceof Response) return view;
      const owner = await signedInOwner(deps.sessions, request);
      return owner ? choosePage(owner, view) : signedOutPage(view);
    })
    .post("/connect", ({ request, body }) =>
      guard.act(request, body, async (owner, form) => {
        const view = await openRequest(form.text("binding_id"));
        if (view instanceof Response) return view;
        try {
          await limitDecisions(request);
          if (form.text("decision") === "deny") {
            const denied = await denyBinding(deps.bindings, {
              bindingId: view.bindingId,
              owner: owner.user,
              ip: ip(request),
            });
            return redirectTo(denied.redirectUrl);
          }
          let agentId = form.text("agent_id");
          if (agentId === NEW_AGENT || agentId === "") {
            const name = form.text("new_agent_name");
            const nameError = fieldErrors(
              RegisterAgentBody,
              { display_name: name },
              {
                display_name: "Enter a name for the new agent (1 to 128 characters)",
              },
            ).display_name;
            if (nameError) {
              return choosePage(
                owner,
                view,
                { new_agent_name: nameError },
                { agent: NEW_AGENT, newName: name },
                400,
              );
            }
            agentId = (await registerAgent(deps.agents, owner.user, { displayName: name }, ip(request))).agent
              .id;
          }
          const approved = await approveBinding(deps.bindings, {
            bindingId: view.bindingId,
            owner: owner.user,
            agentId,
            ip: ip(request),
          });
          return redirectTo(approved.redirectUrl);
        } catch (error) {
          if (error instanceof RateLimitedError) {
            return choosePage(
              owner,
              view,
              { form: `Too many attempts. Try again in ${error.retryAfterSeconds} seconds.` },
              {},
              429,
            );
          }
          if (error instanceof DomainError && error.code === "AGENT_NOT_FOUND") {
            return choosePage(owner, view, { agent_id: "Choose one of your active agents" }, {}, 400);
          }
          if (error instanceof DomainError) {
            const page = refusedDecision(view, error);
            if (page) return page;
          }
          throw error;
        }
      }),
    )
    .post("/connect/deny", async ({ request, body }) => {
      // Declining needs no account, but the form must come from this page: a present Origin of ours
      // (browsers send one on every cross-site post), or this session's token when signed in.
      const owner = await signedInOwner(deps.sessions, request);
      const form = formFields(body);
      const genuine = owner
        ? isGenuineForm(owner, form, request)
        : sentFromOurPage(request) && request.headers.has("origin");
      if (!genuine) return refusedForm();
      const view = await openRequest(form.text("binding_id"));
      if (view instanceof Response) return view;
      try {
        await limitDecisions(request);
        const denied = await denyBinding(deps.bindings, {
          bindingId: view.bindingId,
          owner: owner?.user ?? null,
          ip: ip(request),
        });
        return redirectTo(denied.redirectUrl);
      } catch (error) {
        if (error instanceof DomainError) {
          const page = refusedDecision(view, error);
          if (page) return page;
        }
        throw error;
      }
    })
    .get("/bindings", ({ request, query }) =>
      guard.view(request, async (owner) => {
        const before = parseCursor(typeof query.before === "string" ? query.before : undefined);
        return bindingsPage(owner, before);
      }),
    )
    .post("/bindings/:id/revoke", ({ request, params, body }) =>
      guard.act(request, body, async (owner) => {
        try {
          await revokeBinding(deps.bindings, owner.user, params.id, ip(request));
        } catch (error) {
          if (error instanceof DomainError && error.code === "BINDING_NOT_FOUND")
            return bindingsPage(owner, null, "No such binding.", 404);
          throw error;
        }
        return bindingsPage(owner, null, "The binding is revoked: the site sees it as REVOKED from now on.");
      }),
    );

  async function bindingsPage(
    owner: PageOwner,
    before: ReturnType<typeof parseCursor>,
    message?: string,
    status = 200,
  ) {
    const page = await listOwnerBindings(deps.bindings, owner.user, { limit: BINDINGS_PAGE_SIZE, before });
    const rows = page.bindings.map(({ state, site, agent }) => {
      const active = state.status === "COMPLETED";
      return html`<tr>
  <td>${site ? html`<bdi>${site.displayName}</bdi>` : html`<span class="muted">deleted site</span>`}</td>
  <td>${site?.origin ?? ""}</td>
  <td>${agent ? html`<a href="/agents/${agent.id}"><bdi>${agent.displayName}</bdi></a>` : ""}</td>
  <td>${active ? statusLabel("Connected", "ok") : statusLabel(state.revocationReason === "agent_revoked" ? "Revoked (agent revoked)" : "Revoked", "bad")}</td>
  <td>${when(state.binding.decidedAt)}</td>
  <td>${active ? actionButton(`/bindings/${state.binding.id}/revoke`, "Revoke", owner.csrfToken, { variant: "secondary", accessibleLabel: `Revoke the binding of ${agent?.displayName ?? "this agent"} to ${site?.displayName ?? "a deleted site"}` }) : ""}</td>
</tr>`;
    });
    return renderPage({
      title: "Bindings",
      owner: shellOwner(owner),
      current: "bindings",
      status,
      body: html`${message ? notice(message) : ""}
<h1>Bindings</h1>
<p class="lead">Sites you connected one of your agents to. Revoking tells the site on its status check; its passport expires within a minute anyway.</p>
${rows.length === 0 ? html`<p>No bindings yet. A site that supports Agent Binding sends you to a connect page to make one.</p>` : table("Your bindings", ["Site", "Address", "Agent", "Status", "Connected", "Action"], rows)}
${page.nextCursor ? html`<nav class="pager" aria-label="Binding pages"><a href="/bindings?before=${formatCursor(page.nextCursor)}">Older bindings</a></nav>` : ""}`,
    });
  }
}
