/**
 * The owner's sites: list, add (token shown once), look at one with its
 * recent login requests, change its name, origin and proof-of-work
 * difficulty policy (floor, ceiling, surge rate; the difficulty in effect is
 * shown beside them: docs/adaptive-difficulty.md), rotate its token, suspend, reactivate and delete it. Every
 * change goes through the services of `/api/v1/foundation/sites`.
 */

import { Elysia } from "elysia";
import type { ServerConfig } from "../../config.ts";
import { DomainError } from "../../errors.ts";
import { DEFAULT_SURGE_PER_MINUTE, difficultyPolicy } from "../../foundation/sites/difficulty-policy.ts";
import { RegisterSiteBody } from "../../foundation/sites/schemas.ts";
import {
  currentDifficulty,
  deleteSite,
  registerSite,
  rotateSiteToken,
  type SiteDeps,
  setSiteStatus,
  updateSite,
} from "../../foundation/sites/service.ts";
import type { SiteRecord } from "../../foundation/sites/store.ts";
import { clientAddress } from "../../http/client-address.ts";
import type { AgentLoginStore, LoginRequestRecord } from "../../modules/agent-login/store.ts";
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
import type { FormFields } from "../forms.ts";
import { html, type SafeHtml } from "../html.ts";
import { renderPage } from "../layout.ts";
import { redirectTo } from "../navigation.ts";
import type { PageOwner } from "../session.ts";
import { fieldErrors, hasErrors } from "../validate.ts";
import { findOwned, notFoundPage } from "./owned.ts";
import { type PortalGuard, shellOwner } from "./portal-guard.ts";
import { secretShownOncePage } from "./secret-page.ts";

export interface SitePageDeps {
  config: Pick<ServerConfig, "trustProxy" | "defaultPowDifficulty">;
  sites: SiteDeps;
  loginRequests: AgentLoginStore;
  guard: PortalGuard;
}

const NOT_FOUND = { noun: "Site", section: "sites", listHref: "/sites", listName: "your sites" } as const;

const RECENT_REQUESTS = 20;

interface SiteForm {
  display_name: string;
  origin: string;
  pow_difficulty: string;
  pow_difficulty_max: string;
  pow_surge_per_minute: string;
}

const EMPTY_FORM: SiteForm = {
  display_name: "",
  origin: "",
  pow_difficulty: "",
  pow_difficulty_max: "",
  pow_surge_per_minute: "",
};

function readSiteForm(form: FormFields): SiteForm {
  return {
    display_name: form.text("display_name"),
    origin: form.text("origin"),
    pow_difficulty: form.text("pow_difficulty"),
    pow_difficulty_max: form.text("pow_difficulty_max"),
    pow_surge_per_minute: form.text("pow_surge_per_minute"),
  };
}

/** The form's values as the API's body: an empty origin is none, an empty ceiling or surge rate the default. */
function asSiteBody(values: SiteForm) {
  return {
    display_name: values.display_name,
    origin: values.origin === "" ? null : values.origin,
    pow_difficulty: values.pow_difficulty === "" ? undefined : Number(values.pow_difficulty),
    pow_difficulty_max: values.pow_difficulty_max === "" ? null : Number(values.pow_difficulty_max),
    pow_surge_per_minute: values.pow_surge_per_minute === "" ? null : Number(values.pow_surge_per_minute),
  };
}

function asPolicyInput(input: ReturnType<typeof asSiteBody>) {
  return {
    powDifficulty: input.pow_difficulty,
    powDifficultyMax: input.pow_difficulty_max,
    powSurgePerMinute: input.pow_surge_per_minute,
  };
}

const SITE_MESSAGES = {
  display_name: "Enter a name of 1 to 100 characters",
  origin: "Enter the site's origin, like https://shop.example (scheme, host and port only)",
  pow_difficulty: "Enter a whole number from 1 to 32",
  pow_difficulty_max: "Enter a whole number from 1 to 32, not below the difficulty, or leave it empty",
  pow_surge_per_minute: "Enter a whole number of requests from 1 to 1000000, or leave it empty",
};

/** A service's refusal of one field (VALIDATION_FAILED with `detail.field`), as a form error. */
function serviceFieldError(error: unknown): FieldErrors | null {
  if (!(error instanceof DomainError) || error.code !== "VALIDATION_FAILED") return null;
  const name = typeof error.detail.field === "string" ? error.detail.field : "form";
  return { [name]: SITE_MESSAGES[name as keyof typeof SITE_MESSAGES] ?? error.message };
}

function siteFields(values: SiteForm, errors: FieldErrors, defaultDifficulty: number): SafeHtml {
  return html`${field({ name: "display_name", label: "Name", value: values.display_name, error: errors.display_name, required: true, hint: "Shown to agents and owners when this site asks for a login." })}
  ${field({ name: "origin", label: "Origin (optional)", type: "url", value: values.origin, error: errors.origin, hint: "Where the site runs, like https://shop.example. Login redirects and agent bindings must return there." })}
  ${field({ name: "pow_difficulty", label: "Proof-of-work difficulty", type: "number", inputmode: "numeric", min: 1, max: 32, value: values.pow_difficulty === "" ? defaultDifficulty : values.pow_difficulty, error: errors.pow_difficulty, hint: "Leading zero bits an agent must find per login when the site is calm: 15 takes an agent's SDK a few milliseconds; each step doubles the work." })}
  ${field({ name: "pow_difficulty_max", label: "Highest difficulty under load (optional)", type: "number", inputmode: "numeric", min: 1, max: 32, value: values.pow_difficulty_max, error: errors.pow_difficulty_max, hint: "The difficulty rises with a flood of login requests or an address's failed attempts, never above this. Empty: 4 above the difficulty. The same as the difficulty: it never rises." })}
  ${field({ name: "pow_surge_per_minute", label: "Ordinary login requests per minute (optional)", type: "number", inputmode: "numeric", min: 1, max: 1_000_000, value: values.pow_surge_per_minute, error: errors.pow_surge_per_minute, hint: `Above this rate the difficulty rises one step per doubling. Empty: ${DEFAULT_SURGE_PER_MINUTE}.` })}`;
}

/** The policy in words, with the difficulty a request opened now would carry. */
function difficultyFacts(deps: Pick<SiteDeps, "siteLoad">, site: SiteRecord): SafeHtml {
  const policy = difficultyPolicy(site);
  const now = currentDifficulty(deps, site);
  const rises =
    policy.ceiling === policy.floor
      ? html`fixed`
      : html`rises to at most ${policy.ceiling} bits above ${policy.surgePerMinute} login requests a minute`;
  return html`<dt>Proof-of-work difficulty</dt><dd>${site.powDifficulty} bits when calm; ${rises}</dd>
  <dt>Difficulty now</dt><dd>${now} bits${now > policy.floor ? html` <span class="muted">(raised by recent load)</span>` : ""}</dd>`;
}

function siteStatus(site: SiteRecord): SafeHtml {
  return site.status === "ACTIVE" ? statusLabel("Active", "ok") : statusLabel("Suspended", "bad");
}

function outcome(request: LoginRequestRecord): SafeHtml {
  switch (request.status) {
    case "PENDING":
      return statusLabel("Waiting", "neutral");
    case "APPROVED":
      return statusLabel("Approved", "ok");
    case "DELIVERED":
      return statusLabel("Delivered to the site", "ok");
    case "EXPIRED":
      return statusLabel("Expired", "bad");
  }
}

/** Agents are shown by id: they may be another owner's, and the id is what the site's passports carry. */
function loginRequestRows(requests: readonly LoginRequestRecord[]) {
  return requests.map(
    (request) => html`<tr>
  <td><code>${request.id}</code></td>
  <td>${when(request.createdAt)}</td>
  <td>${outcome(request)}</td>
  <td>${request.approvedAgentId === null ? "none" : html`<code>${request.approvedAgentId}</code>`}</td>
  <td>${when(request.approvedAt)}</td>
</tr>`,
  );
}

export function sitePages(deps: SitePageDeps) {
  const { guard, config } = deps;
  const ip = (request: Request) => clientAddress(request, config.trustProxy);

  const listPage = async (owner: PageOwner, values: SiteForm, errors: FieldErrors = {}, status = 200) => {
    const sites = await deps.sites.sites.listByOwner(owner.user.id);
    const rows = sites.map(
      (site) => html`<tr>
  <td><a href="/sites/${site.id}">${site.displayName}</a></td>
  <td>${site.origin ?? html`<span class="muted">none</span>`}</td>
  <td>${siteStatus(site)}</td>
  <td class="num">${site.powDifficulty}</td>
  <td>${when(site.createdAt)}</td>
</tr>`,
    );
    return renderPage({
      title: "Sites",
      owner: shellOwner(owner),
      current: "sites",
      status,
      body: html`${errorSummary(errors)}
<h1>Sites</h1>
<p class="lead">A site accepts agents: it asks for a login, an agent solves its proof of work and approves, and the site receives the agent's passport.</p>
${sites.length === 0 ? html`<p>You have no sites yet.</p>` : table("Your sites", ["Name", "Origin", "Status", "Difficulty", "Added"], rows)}
<h2 id="add">Add a site</h2>
<form method="post" action="/sites" novalidate>
  ${csrfField(owner.csrfToken)}
  ${siteFields(values, errors, config.defaultPowDifficulty)}
  <div class="actions"><button type="submit">Add site</button></div>
</form>`,
    });
  };

  const sitePage = async (
    owner: PageOwner,
    site: SiteRecord,
    options: { values?: SiteForm; errors?: FieldErrors; message?: SafeHtml | string; status?: number } = {},
  ) => {
    const requests = await deps.loginRequests.recentForSite(site.id, RECENT_REQUESTS);
    const values = options.values ?? {
      display_name: site.displayName,
      origin: site.origin ?? "",
      pow_difficulty: String(site.powDifficulty),
      pow_difficulty_max: site.powDifficultyMax === null ? "" : String(site.powDifficultyMax),
      pow_surge_per_minute: site.powSurgePerMinute === null ? "" : String(site.powSurgePerMinute),
    };
    const errors = options.errors ?? {};
    return renderPage({
      title: site.displayName,
      owner: shellOwner(owner),
      current: "sites",
      status: options.status ?? 200,
      body: html`${errorSummary(errors)}${options.message ? notice(options.message) : ""}
<p><a href="/sites">All sites</a></p>
<h1>${site.displayName}</h1>
<dl class="facts">
  <dt>Status</dt><dd>${siteStatus(site)}</dd>
  <dt>Site id</dt><dd><code>${site.id}</code></dd>
  <dt>Origin</dt><dd>${site.origin ?? "none"}</dd>
  ${difficultyFacts(deps.sites, site)}
  <dt>Added</dt><dd>${when(site.createdAt)}</dd>
</dl>
<h2>Token</h2>
<p>The site sends its token in <code>X-Site-Token</code>. Rotating it stops the old one at once, and streams opened with it end.</p>
${actionButton(`/sites/${site.id}/token`, "Rotate token", owner.csrfToken, { variant: "secondary" })}
<h2>Recent login requests</h2>
${requests.length === 0 ? html`<p>No login requests yet.</p>` : table(`Latest ${RECENT_REQUESTS} login requests of ${site.displayName}`, ["Request", "Created", "Outcome", "Agent", "Approved"], loginRequestRows(requests))}
<h2>Settings</h2>
<form method="post" action="/sites/${site.id}" novalidate>
  ${csrfField(owner.csrfToken)}
  ${siteFields(values, errors, config.defaultPowDifficulty)}
  <div class="actions"><button type="submit">Save changes</button></div>
</form>
<h2>Availability</h2>
${
  site.status === "ACTIVE"
    ? html`<p>Suspending refuses the site's token and ends its streams until you reactivate it.</p>
${actionButton(`/sites/${site.id}/suspend`, "Suspend site", owner.csrfToken, { variant: "secondary" })}`
    : html`<p>The site is suspended: its token is refused.</p>
${actionButton(`/sites/${site.id}/reactivate`, "Reactivate site", owner.csrfToken)}`
}
<h2>Delete</h2>
<p>Deleting removes the site, its login requests and their outcomes. It cannot be undone.</p>
<a class="button secondary" href="/sites/${site.id}/delete">Delete site…</a>`,
    });
  };

  const ownedSite = (owner: PageOwner, id: string) =>
    findOwned(owner, id, (id) => deps.sites.sites.findById(id));

  const tokenPage = (owner: PageOwner, site: SiteRecord, token: string, heading: string) =>
    secretShownOncePage(owner, {
      title: heading,
      section: "sites",
      label: "Site token",
      secret: token,
      id: "site-token",
      next: html`Put it in your site's configuration (for example <code>LIME_SITE_TOKEN</code>), then <a href="/sites/${site.id}">continue to ${site.displayName}</a>.`,
    });

  return new Elysia({ detail: { hide: true } })
    .get("/sites", ({ request }) => guard.view(request, (owner) => listPage(owner, EMPTY_FORM)))
    .post("/sites", ({ request, body }) =>
      guard.act(request, body, async (owner, form) => {
        const values = readSiteForm(form);
        const input = asSiteBody(values);
        const errors = fieldErrors(RegisterSiteBody, input, SITE_MESSAGES);
        if (hasErrors(errors)) return listPage(owner, values, errors, 400);
        try {
          const { site, token } = await registerSite(
            deps.sites,
            owner.user,
            { displayName: input.display_name, origin: input.origin, ...asPolicyInput(input) },
            ip(request),
          );
          return tokenPage(owner, site, token, `${site.displayName} is added`);
        } catch (error) {
          const fieldError = serviceFieldError(error);
          if (fieldError) return listPage(owner, values, fieldError, 400);
          throw error;
        }
      }),
    )
    .get("/sites/:id", ({ request, params }) =>
      guard.view(request, async (owner) => {
        const site = await ownedSite(owner, params.id);
        return site ? sitePage(owner, site) : notFoundPage(owner, NOT_FOUND);
      }),
    )
    .post("/sites/:id", ({ request, params, body }) =>
      guard.act(request, body, async (owner, form) => {
        const site = await ownedSite(owner, params.id);
        if (!site) return notFoundPage(owner, NOT_FOUND);
        const values = readSiteForm(form);
        const input = asSiteBody(values);
        const errors = fieldErrors(RegisterSiteBody, input, SITE_MESSAGES);
        if (hasErrors(errors)) return sitePage(owner, site, { values, errors, status: 400 });
        try {
          const updated = await updateSite(
            deps.sites,
            owner.user,
            site.id,
            { displayName: input.display_name, origin: input.origin, ...asPolicyInput(input) },
            ip(request),
          );
          return sitePage(owner, updated, { message: "Changes saved." });
        } catch (error) {
          const fieldError = serviceFieldError(error);
          if (fieldError) return sitePage(owner, site, { values, errors: fieldError, status: 400 });
          throw error;
        }
      }),
    )
    .post("/sites/:id/token", ({ request, params, body }) =>
      guard.act(request, body, async (owner) => {
        const site = await ownedSite(owner, params.id);
        if (!site) return notFoundPage(owner, NOT_FOUND);
        const { token } = await rotateSiteToken(deps.sites, owner.user, site.id, ip(request));
        return tokenPage(owner, site, token, `New token for ${site.displayName}`);
      }),
    )
    .post("/sites/:id/suspend", ({ request, params, body }) =>
      guard.act(request, body, async (owner) => {
        const site = await ownedSite(owner, params.id);
        if (!site) return notFoundPage(owner, NOT_FOUND);
        const updated = await setSiteStatus(deps.sites, owner.user, site.id, "SUSPENDED", ip(request));
        return sitePage(owner, updated, { message: "The site is suspended." });
      }),
    )
    .post("/sites/:id/reactivate", ({ request, params, body }) =>
      guard.act(request, body, async (owner) => {
        const site = await ownedSite(owner, params.id);
        if (!site) return notFoundPage(owner, NOT_FOUND);
        const updated = await setSiteStatus(deps.sites, owner.user, site.id, "ACTIVE", ip(request));
        return sitePage(owner, updated, { message: "The site is active again." });
      }),
    )
    .get("/sites/:id/delete", ({ request, params }) =>
      guard.view(request, async (owner) => {
        const site = await ownedSite(owner, params.id);
        if (!site) return notFoundPage(owner, NOT_FOUND);
        return renderPage({
          title: `Delete ${site.displayName}`,
          owner: shellOwner(owner),
          current: "sites",
          narrow: true,
          body: html`<h1>Delete ${site.displayName}?</h1>
<p>The site, its token, its login requests and their outcomes are removed for good.</p>
<form method="post" action="/sites/${site.id}/delete">
  ${csrfField(owner.csrfToken)}
  <button type="submit" class="danger">Delete site</button>
  <a class="button secondary" href="/sites/${site.id}">Cancel</a>
</form>`,
        });
      }),
    )
    .post("/sites/:id/delete", ({ request, params, body }) =>
      guard.act(request, body, async (owner) => {
        const site = await ownedSite(owner, params.id);
        if (!site) return notFoundPage(owner, NOT_FOUND);
        await deleteSite(deps.sites, owner.user, site.id, ip(request));
        return redirectTo("/sites");
      }),
    );
}
