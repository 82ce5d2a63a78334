/**
 * The owner's agents: list, create (token shown once), look at one with its
 * reputation, its signing keys and the logins it made, rotate its token,
 * revoke one of its keys, revoke it. Every change goes through the services
 * of `/api/v1/core/agents`.
 */

import { Elysia } from "elysia";
import type { ServerConfig } from "../../config.ts";
import { presentReputation } from "../../core/agents/reputation.ts";
import { RegisterAgentBody } from "../../core/agents/schemas.ts";
import { type AgentDeps, registerAgent, revokeAgent, rotateAgentToken } from "../../core/agents/service.ts";
import type { AgentRecord } from "../../core/agents/store.ts";
import { DomainError } from "../../errors.ts";
import type { SiteStore } from "../../foundation/sites/store.ts";
import { clientAddress } from "../../http/client-address.ts";
import { directoryPath } from "../../modules/agent-keys/paths.ts";
import {
  type AgentKeyDeps,
  listAgentKeys,
  presentAgentKey,
  revokeAgentKeyAsOwner,
} from "../../modules/agent-keys/service.ts";
import type { AgentLoginStore } from "../../modules/agent-login/store.ts";
import {
  actionButton,
  csrfField,
  errorSummary,
  type FieldErrors,
  field,
  notice,
  statusLabel,
  table,
  when,
} from "../components.ts";
import { html, type SafeHtml } from "../html.ts";
import { renderPage } from "../layout.ts";
import type { PageOwner } from "../session.ts";
import { fieldErrors, hasErrors } from "../validate.ts";
import { findOwned, notFoundPage } from "./owned.ts";
import { type PortalGuard, shellOwner } from "./portal-guard.ts";
import { secretShownOncePage } from "./secret-page.ts";

export interface AgentPageDeps {
  config: Pick<ServerConfig, "trustProxy">;
  agents: AgentDeps;
  sites: SiteStore;
  loginRequests: AgentLoginStore;
  agentKeys: AgentKeyDeps;
  guard: PortalGuard;
}

const NOT_FOUND = { noun: "Agent", section: "agents", listHref: "/agents", listName: "your agents" } as const;

const RECENT_LOGINS = 20;

interface AgentForm {
  display_name: string;
  description: string;
}

const AGENT_MESSAGES = {
  display_name: "Enter a name of 1 to 128 characters",
  description: "Keep the description under 1,000 characters",
};

/** What the score is made of (docs/decisions/agent-reputation.md), in words. */
function reputationParts(agent: AgentRecord, now: number): SafeHtml {
  const parts = presentReputation(agent, now);
  return html`<span class="hint">${parts.points.logins} points for ${parts.successful_logins} logins, ${parts.points.sites} for ${parts.distinct_sites} distinct sites, ${parts.points.age} for ${parts.age_days} days of age, ${parts.points.rejections} for ${parts.recent_rejected_approvals} recent refused approvals.</span>`;
}

const KID = /^[A-Za-z0-9_-]{43}$/;

/** A thumbprint, shortened for the eye; the whole one stays in the title and for screen readers. */
function shortKid(kid: string): SafeHtml {
  return html`<code title="${kid}"><span aria-hidden="true">${kid.slice(0, 8)}…${kid.slice(-4)}</span><span class="visually-hidden">${kid}</span></code>`;
}

const ALGORITHM_NAMES = { ed25519: "Ed25519", "ecdsa-p256-sha256": "ECDSA P-256" } as const;

function agentStatus(agent: AgentRecord): SafeHtml {
  return agent.status === "ACTIVE" ? statusLabel("Active", "ok") : statusLabel("Revoked", "bad");
}

export function agentPages(deps: AgentPageDeps) {
  const { guard, config } = deps;
  const ip = (request: Request) => clientAddress(request, config.trustProxy);

  const listPage = async (owner: PageOwner, values: AgentForm, errors: FieldErrors = {}, status = 200) => {
    const agents = await deps.agents.agents.listByOwner(owner.user.id);
    const rows = agents.map(
      (agent) => html`<tr>
  <td><a href="/agents/${agent.id}">${agent.displayName}</a></td>
  <td>${agentStatus(agent)}</td>
  <td class="num">${agent.reputation}</td>
  <td>${when(agent.createdAt)}</td>
</tr>`,
    );
    return renderPage({
      title: "Agents",
      owner: shellOwner(owner),
      current: "agents",
      status,
      body: html`${errorSummary(errors)}
<h1>Agents</h1>
<p class="lead">An agent holds a token; with it, it logs in to sites and receives passports that name it and you.</p>
${agents.length === 0 ? html`<p>You have no agents yet.</p>` : table("Your agents", ["Name", "Status", "Reputation", "Created"], rows)}
<h2 id="add">Create an agent</h2>
<form method="post" action="/agents" novalidate>
  ${csrfField(owner.csrfToken)}
  ${field({ name: "display_name", label: "Name", value: values.display_name, error: errors.display_name, required: true, hint: "Signed into its passports as agent_name, and shown to sites." })}
  ${field({ name: "description", label: "Description (optional)", value: values.description, error: errors.description })}
  <div class="actions"><button type="submit">Create agent</button></div>
</form>`,
    });
  };

  const ownedAgent = (owner: PageOwner, id: string) =>
    findOwned(owner, id, (id) => deps.agents.agents.findById(id));

  const keysSection = async (owner: PageOwner, agent: AgentRecord): Promise<SafeHtml> => {
    const keys = (await listAgentKeys(deps.agentKeys, agent)).map((key) => ({
      key,
      view: presentAgentKey(key, agent),
    }));
    const rows = keys.map(
      ({ key, view }) => html`<tr>
  <td>${shortKid(key.kid)}</td>
  <td>${ALGORITHM_NAMES[key.alg]}</td>
  <td>${key.label ?? "none"}</td>
  <td>${when(key.createdAt)}</td>
  <td>${view.status === "ACTIVE" ? statusLabel("Active", "ok") : statusLabel("Revoked", "bad")}</td>
  <td>${
    view.status === "ACTIVE"
      ? actionButton(`/agents/${agent.id}/keys/${key.kid}/revoke`, "Revoke", owner.csrfToken, {
          variant: "danger",
          accessibleLabel: `Revoke key ${key.kid.slice(0, 8)}${key.label ? ` (${key.label})` : ""}`,
        })
      : ""
  }</td>
</tr>`,
    );
    return html`<h2>Signing keys</h2>
<p>The agent registers its keys itself and signs its requests to sites with them; sites find them in its <a href="${directoryPath(agent.id)}">key directory</a>. A revoked key leaves the directory, and passports bound to it are refused.</p>
${rows.length === 0 ? html`<p>This agent has registered no signing key.</p>` : table(`Signing keys of ${agent.displayName}`, ["Key", "Algorithm", "Label", "Created", "Status", "Action"], rows)}`;
  };

  const agentPage = async (owner: PageOwner, agent: AgentRecord, message?: string) => {
    const logins = await deps.loginRequests.recentForAgent(agent.id, RECENT_LOGINS);
    const keys = await keysSection(owner, agent);
    const siteNames = new Map<string, string>();
    for (const siteId of new Set(logins.map((login) => login.siteId))) {
      const site = await deps.sites.findById(siteId);
      if (site) siteNames.set(siteId, site.displayName);
    }
    const rows = logins.map(
      (login) => html`<tr>
  <td>${siteNames.get(login.siteId) ?? html`<code>${login.siteId}</code>`}</td>
  <td><code>${login.id}</code></td>
  <td>${when(login.approvedAt)}</td>
  <td>${login.status === "DELIVERED" ? statusLabel("Delivered to the site", "ok") : statusLabel("Approved", "ok")}</td>
</tr>`,
    );
    return renderPage({
      title: agent.displayName,
      owner: shellOwner(owner),
      current: "agents",
      body: html`${message ? notice(message) : ""}
<p><a href="/agents">All agents</a></p>
<h1>${agent.displayName}</h1>
<dl class="facts">
  <dt>Status</dt><dd>${agentStatus(agent)}</dd>
  <dt>Agent id</dt><dd><code>${agent.id}</code></dd>
  <dt>Reputation</dt><dd>${agent.reputation} of 100 ${reputationParts(agent, deps.agents.clock.now())}</dd>
  <dt>Description</dt><dd>${agent.description ?? "none"}</dd>
  <dt>Created</dt><dd>${when(agent.createdAt)}</dd>
  ${agent.revokedAt === null ? "" : html`<dt>Revoked</dt><dd>${when(agent.revokedAt)}</dd>`}
</dl>
${keys}
<h2>Recent logins</h2>
${rows.length === 0 ? html`<p>This agent has not logged in to a site yet.</p>` : table(`Latest ${RECENT_LOGINS} logins of ${agent.displayName}`, ["Site", "Request", "Approved", "Outcome"], rows)}
${
  agent.status === "ACTIVE"
    ? html`<h2>Token</h2>
<p>Rotating stops the old token at once; the agent needs the new one.</p>
${actionButton(`/agents/${agent.id}/token`, "Rotate token", owner.csrfToken, { variant: "secondary" })}
<h2>Revoke</h2>
<p>A revoked agent can no longer log in or get passports. This cannot be undone.</p>
<a class="button secondary" href="/agents/${agent.id}/revoke">Revoke agent…</a>`
    : ""
}`,
    });
  };

  return new Elysia({ detail: { hide: true } })
    .get("/agents", ({ request }) =>
      guard.view(request, (owner) => listPage(owner, { display_name: "", description: "" })),
    )
    .post("/agents", ({ request, body }) =>
      guard.act(request, body, async (owner, form) => {
        const values = { display_name: form.text("display_name"), description: form.text("description") };
        const input = { display_name: values.display_name, description: values.description || null };
        const errors = fieldErrors(RegisterAgentBody, input, AGENT_MESSAGES);
        if (hasErrors(errors)) return listPage(owner, values, errors, 400);
        try {
          const { agent, token } = await registerAgent(
            deps.agents,
            owner.user,
            { displayName: input.display_name, description: input.description },
            ip(request),
          );
          return secretShownOncePage(owner, {
            title: `${agent.displayName} is created`,
            section: "agents",
            label: "Agent token",
            secret: token,
            id: "agent-token",
            next: html`Give it to the agent (for example as <code>LIME_AGENT_TOKEN</code>), then <a href="/agents/${agent.id}">continue to ${agent.displayName}</a>.`,
          });
        } catch (error) {
          if (error instanceof DomainError && error.code === "VALIDATION_FAILED") {
            const name = typeof error.detail.field === "string" ? error.detail.field : "form";
            return listPage(owner, values, { [name]: error.message }, 400);
          }
          throw error;
        }
      }),
    )
    .get("/agents/:id", ({ request, params }) =>
      guard.view(request, async (owner) => {
        const agent = await ownedAgent(owner, params.id);
        return agent ? agentPage(owner, agent) : notFoundPage(owner, NOT_FOUND);
      }),
    )
    .post("/agents/:id/token", ({ request, params, body }) =>
      guard.act(request, body, async (owner) => {
        const agent = await ownedAgent(owner, params.id);
        if (agent?.status !== "ACTIVE") return notFoundPage(owner, NOT_FOUND);
        const { token } = await rotateAgentToken(deps.agents, owner.user, agent.id, ip(request));
        return secretShownOncePage(owner, {
          title: `New token for ${agent.displayName}`,
          section: "agents",
          label: "Agent token",
          secret: token,
          id: "agent-token",
          next: html`The old token no longer works. <a href="/agents/${agent.id}">Continue to ${agent.displayName}</a>.`,
        });
      }),
    )
    .get("/agents/:id/revoke", ({ request, params }) =>
      guard.view(request, async (owner) => {
        const agent = await ownedAgent(owner, params.id);
        if (agent?.status !== "ACTIVE") return notFoundPage(owner, NOT_FOUND);
        return renderPage({
          title: `Revoke ${agent.displayName}`,
          owner: shellOwner(owner),
          current: "agents",
          narrow: true,
          body: html`<h1>Revoke ${agent.displayName}?</h1>
<p>The agent's token stops working and it gets no more passports. You cannot undo this; create a new agent instead.</p>
<form method="post" action="/agents/${agent.id}/revoke">
  ${csrfField(owner.csrfToken)}
  <button type="submit" class="danger">Revoke agent</button>
  <a class="button secondary" href="/agents/${agent.id}">Cancel</a>
</form>`,
        });
      }),
    )
    .post("/agents/:id/keys/:kid/revoke", ({ request, params, body }) =>
      guard.act(request, body, async (owner) => {
        const agent = await ownedAgent(owner, params.id);
        if (agent?.status !== "ACTIVE" || !KID.test(params.kid)) return notFoundPage(owner, NOT_FOUND);
        try {
          await revokeAgentKeyAsOwner(deps.agentKeys, owner.user, agent.id, params.kid, ip(request));
        } catch (error) {
          if (error instanceof DomainError && error.code === "AGENT_KEY_NOT_FOUND") {
            return agentPage(owner, agent, "That key is not an active key of this agent.");
          }
          throw error;
        }
        return agentPage(owner, agent, "The key is revoked.");
      }),
    )
    .post("/agents/:id/revoke", ({ request, params, body }) =>
      guard.act(request, body, async (owner) => {
        const agent = await ownedAgent(owner, params.id);
        if (agent?.status !== "ACTIVE") return notFoundPage(owner, NOT_FOUND);
        await revokeAgent(deps.agents, owner.user, agent.id, ip(request));
        const revoked = (await deps.agents.agents.findById(agent.id))!;
        return agentPage(owner, revoked, "The agent is revoked.");
      }),
    );
}
