/**
 * The signed-in owner's overview, identity verification (KYC) and audit log;
 * and the front page for someone not signed in.
 */

import { Elysia } from "elysia";
import type { ServerConfig } from "../../config.ts";
import type { AgentStore } from "../../core/agents/store.ts";
import { DomainError } from "../../errors.ts";
import type { AuditEventRecord, AuditStore } from "../../foundation/audit/store.ts";
import { type KycDeps, submitKyc } from "../../foundation/kyc/service.ts";
import type { SessionDeps } from "../../foundation/sessions/service.ts";
import type { SiteStore } from "../../foundation/sites/store.ts";
import type { KycLevel } from "../../foundation/users/store.ts";
import { clientAddress } from "../../http/client-address.ts";
import type { ResourceStore } from "../../modules/oauth/store.ts";
import { actionButton, notice, statusLabel, table, when } from "../components.ts";
import { html, type SafeHtml } from "../html.ts";
import { renderPage } from "../layout.ts";
import type { PageOwner } from "../session.ts";
import { signedInOwner } from "../session.ts";
import { type PortalGuard, shellOwner } from "./portal-guard.ts";

export interface OverviewPageDeps {
  config: Pick<ServerConfig, "trustProxy">;
  sessions: SessionDeps;
  sites: SiteStore;
  agents: AgentStore;
  resources: ResourceStore;
  kyc: KycDeps;
  audit: AuditStore;
  guard: PortalGuard;
}

const AUDIT_PAGE_SIZE = 50;

const KYC_MEANING: Record<KycLevel, string> = {
  0: "Level 0: nothing verified yet.",
  1: "Level 1: your email address is verified.",
  2: "Level 2: your identity is verified.",
};

function frontPage(): Response {
  return renderPage({
    title: "Identity for AI agents",
    body: html`<h1>Identity for AI agents</h1>
<p class="lead">LIME gives each of your agents a signed passport that any website verifies on its own, and lets sites log agents in with a proof of work instead of a CAPTCHA.</p>
<p><a class="button" href="/signin">Sign in</a> <a class="button secondary" href="/signup">Create an account</a></p>
<h2>What you can do here</h2>
<ul>
  <li>Create agents and give each its token.</li>
  <li>Register the sites that accept agents, and choose how much work a login costs.</li>
  <li>Register the MCP servers you protect with LIME.</li>
  <li>See every security-relevant action in your audit log.</li>
</ul>`,
  });
}

async function overviewPage(deps: OverviewPageDeps, owner: PageOwner): Promise<Response> {
  const [sites, agents, resources, recent] = await Promise.all([
    deps.sites.listByOwner(owner.user.id),
    deps.agents.listByOwner(owner.user.id),
    deps.resources.listByOwner(owner.user.id),
    deps.audit.listByOwner(owner.user.id, 5, null),
  ]);
  const activeAgents = agents.filter((agent) => agent.status === "ACTIVE").length;
  const card = (heading: string, count: string, href: string, action: string) =>
    html`<div class="card"><h2>${heading}</h2><p>${count}</p><p><a href="${href}">${action}</a></p></div>`;
  return renderPage({
    title: "Overview",
    owner: shellOwner(owner),
    current: "home",
    body: html`<h1>Overview</h1>
<p class="lead">Signed in as ${owner.user.email}. ${KYC_MEANING[owner.user.kycLevel]}</p>
<div class="cards">
  ${card("Agents", `${activeAgents} active of ${agents.length}`, "/agents", "Manage agents")}
  ${card("Sites", `${sites.length} registered`, "/sites", "Manage sites")}
  ${card("MCP servers", `${resources.length} registered`, "/resources", "Manage MCP servers")}
  ${card("Verification", `KYC level ${owner.user.kycLevel}`, "/kyc", "See verification")}
</div>
<h2>Latest activity</h2>
${recent.events.length === 0 ? html`<p>Nothing yet.</p>` : auditTable("Your latest activity", recent.events, true)}
<p><a href="/audit">See the whole audit log</a></p>`,
  });
}

function outcomeLabel(event: AuditEventRecord): SafeHtml {
  return event.outcome === "success" ? statusLabel("Success", "ok") : statusLabel("Refused", "bad");
}

function auditTable(caption: string, events: readonly AuditEventRecord[], compact = false): SafeHtml {
  const rows = events.map(
    (event) => html`<tr>
  <td>${when(event.occurredAt)}</td>
  <td><code>${event.action}</code></td>
  <td>${outcomeLabel(event)}${event.reason ? html` <code>${event.reason}</code>` : ""}</td>
  ${
    compact
      ? ""
      : html`<td>${event.actorType}${event.actorId ? html` <code>${event.actorId}</code>` : ""}</td>
  <td>${event.targetType ? html`${event.targetType} <code>${event.targetId ?? ""}</code>` : ""}</td>
  <td>${event.ip ?? ""}</td>`
  }
</tr>`,
  );
  const headings = compact
    ? ["When", "Action", "Outcome"]
    : ["When", "Action", "Outcome", "Actor", "Target", "Address"];
  return table(caption, headings, rows);
}

async function kycPage(deps: OverviewPageDeps, owner: PageOwner, message?: string, status = 200) {
  const submissions = await deps.kyc.kyc.listByUser(owner.user.id);
  const pending = submissions.some((submission) => submission.status === "PENDING");
  const rows = submissions.map(
    (submission) => html`<tr>
  <td>${when(submission.createdAt)}</td>
  <td>Level ${submission.requestedLevel}</td>
  <td>${submission.status === "APPROVED" ? statusLabel("Approved", "ok") : submission.status === "REJECTED" ? statusLabel("Rejected", "bad") : statusLabel("Waiting for review", "neutral")}</td>
  <td>${when(submission.decidedAt)}</td>
</tr>`,
  );
  return renderPage({
    title: "Verification",
    owner: shellOwner(owner),
    current: "kyc",
    status,
    body: html`${message ? notice(message) : ""}
<h1>Verification</h1>
<p class="lead">${KYC_MEANING[owner.user.kycLevel]}</p>
<p>Your level is signed into your agents' passports (<code>owner_kyc_level</code>, <code>user_kyc_level</code>), so sites can ask for a verified owner.</p>
${
  owner.user.kycLevel >= 2
    ? html`<p>Nothing more to verify.</p>`
    : pending
      ? html`<p>Your request for level 2 waits for a reviewer.</p>`
      : html`<h2>Verify your identity (level 2)</h2>
<p>A reviewer checks your identity and raises your level when it is confirmed.</p>
${actionButton("/kyc", "Request level 2", owner.csrfToken)}`
}
<h2>Your requests</h2>
${rows.length === 0 ? html`<p>No requests yet.</p>` : table("Your verification requests", ["Requested", "Level", "Status", "Decided"], rows)}`,
  });
}

async function auditPage(deps: OverviewPageDeps, owner: PageOwner, before: number | null) {
  const page = await deps.audit.listByOwner(owner.user.id, AUDIT_PAGE_SIZE, before);
  return renderPage({
    title: "Audit log",
    owner: shellOwner(owner),
    current: "audit",
    body: html`<h1>Audit log</h1>
<p class="lead">Every security-relevant action on your account, your agents and your sites, newest first.</p>
${page.events.length === 0 ? html`<p>No events${before === null ? "" : " before this point"}.</p>` : auditTable("Audit events", page.events)}
<nav class="pager" aria-label="Audit log pages">
  ${before === null ? "" : html`<a href="/audit">Newest</a>`}
  ${page.nextCursor === null ? "" : html`<a href="/audit?before=${page.nextCursor}">Older events</a>`}
</nav>`,
  });
}

export function overviewPages(deps: OverviewPageDeps) {
  const { guard } = deps;
  return new Elysia({ detail: { hide: true } })
    .get("/", async ({ request }) => {
      const owner = await signedInOwner(deps.sessions, request);
      return owner ? overviewPage(deps, owner) : frontPage();
    })
    .get("/kyc", ({ request }) => guard.view(request, (owner) => kycPage(deps, owner)))
    .post("/kyc", ({ request, body }) =>
      guard.act(request, body, async (owner) => {
        try {
          const submission = await submitKyc(
            deps.kyc,
            owner.user,
            clientAddress(request, deps.config.trustProxy),
          );
          const refreshed = (await deps.kyc.users.findById(owner.user.id)) ?? owner.user;
          const message =
            submission.status === "APPROVED"
              ? "Your identity is verified: you are at level 2."
              : "Your request is sent; a reviewer will decide.";
          return kycPage(deps, { ...owner, user: refreshed }, message);
        } catch (error) {
          if (error instanceof DomainError) return kycPage(deps, owner, error.message, 409);
          throw error;
        }
      }),
    )
    .get("/audit", ({ request, query }) =>
      guard.view(request, (owner) => {
        const cursor =
          typeof query.before === "string" && /^\d{1,15}$/.test(query.before) ? Number(query.before) : null;
        return auditPage(deps, owner, cursor);
      }),
    );
}
