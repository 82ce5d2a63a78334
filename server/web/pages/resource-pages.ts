/**
 * The owner's MCP servers (OAuth protected resources): list, register (the
 * introspection token shown once), delete. Through the same services as
 * `/api/v1/modules/oauth/resources`.
 */

import { Elysia } from "elysia";
import type { ServerConfig } from "../../config.ts";
import { clientAddress } from "../../http/client-address.ts";
import { OAuthEnvelopeError } from "../../modules/oauth/errors.ts";
import { deleteResource, type ResourceDeps, registerResource } from "../../modules/oauth/resources.ts";
import { ResourceBody } from "../../modules/oauth/schemas.ts";
import type { ResourceRecord } from "../../modules/oauth/store.ts";
import { csrfField, errorSummary, type FieldErrors, field, notice, table, when } from "../components.ts";
import { html } from "../html.ts";
import { renderPage } from "../layout.ts";
import type { PageOwner } from "../session.ts";
import { fieldErrors, hasErrors } from "../validate.ts";
import { isRecordId } from "./owned.ts";
import { type PortalGuard, shellOwner } from "./portal-guard.ts";
import { secretShownOncePage } from "./secret-page.ts";

export interface ResourcePageDeps {
  config: Pick<ServerConfig, "trustProxy">;
  resources: ResourceDeps;
  guard: PortalGuard;
}

interface ResourceForm {
  resource: string;
  display_name: string;
  scopes: string;
}

const RESOURCE_MESSAGES = {
  resource: "Enter the MCP server's URL, like https://tools.example/mcp",
  display_name: "Enter a name of 1 to 128 characters",
  scopes: "Enter scopes as words separated by spaces, like mcp:tools mcp:read",
};

export function resourcePages(deps: ResourcePageDeps) {
  const { guard, config } = deps;
  const ip = (request: Request) => clientAddress(request, config.trustProxy);

  const listPage = async (
    owner: PageOwner,
    values: ResourceForm,
    options: { errors?: FieldErrors; message?: string; status?: number } = {},
  ) => {
    const resources = await deps.resources.resources.listByOwner(owner.user.id);
    const errors = options.errors ?? {};
    const rows = resources.map(
      (resource: ResourceRecord) => html`<tr>
  <td>${resource.displayName}</td>
  <td><code>${resource.resource}</code></td>
  <td>${resource.scopes.length === 0 ? html`<span class="muted">none</span>` : resource.scopes.join(" ")}</td>
  <td>${when(resource.createdAt)}</td>
  <td><form method="post" action="/resources/${resource.id}/delete" class="inline-form">${csrfField(owner.csrfToken)}<button type="submit" class="secondary" aria-label="Delete ${resource.displayName}">Delete</button></form></td>
</tr>`,
    );
    return renderPage({
      title: "MCP servers",
      owner: shellOwner(owner),
      current: "resources",
      status: options.status ?? 200,
      body: html`${errorSummary(errors)}${options.message ? notice(options.message) : ""}
<h1>MCP servers</h1>
<p class="lead">Register each MCP server you protect with LIME. Clients then get access tokens bound to it, and its guard verifies them locally.</p>
${resources.length === 0 ? html`<p>You have registered no MCP servers.</p>` : table("Your MCP servers", ["Name", "Resource", "Scopes", "Registered", "Action"], rows)}
<h2 id="add">Register an MCP server</h2>
<form method="post" action="/resources" novalidate>
  ${csrfField(owner.csrfToken)}
  ${field({ name: "resource", label: "Resource URL", type: "url", value: values.resource, error: errors.resource, required: true, hint: "Exactly the URL clients dial, like https://tools.example/mcp." })}
  ${field({ name: "display_name", label: "Name", value: values.display_name, error: errors.display_name, required: true, hint: "Shown on the consent page." })}
  ${field({ name: "scopes", label: "Scopes (optional)", value: values.scopes, error: errors.scopes, hint: "Separated by spaces, like mcp:tools mcp:read." })}
  <div class="actions"><button type="submit">Register</button></div>
</form>`,
    });
  };

  const empty: ResourceForm = { resource: "", display_name: "", scopes: "" };

  return new Elysia({ detail: { hide: true } })
    .get("/resources", ({ request }) => guard.view(request, (owner) => listPage(owner, empty)))
    .post("/resources", ({ request, body }) =>
      guard.act(request, body, async (owner, form) => {
        const values = {
          resource: form.text("resource"),
          display_name: form.text("display_name"),
          scopes: form.text("scopes"),
        };
        const scopes = values.scopes.split(/\s+/).filter((scope) => scope !== "");
        const input = { resource: values.resource, display_name: values.display_name, scopes };
        const errors = fieldErrors(ResourceBody, input, RESOURCE_MESSAGES);
        if (hasErrors(errors)) return listPage(owner, values, { errors, status: 400 });
        try {
          const { record, introspectionToken } = await registerResource(
            deps.resources,
            owner.user,
            { resource: input.resource, displayName: input.display_name, scopes },
            ip(request),
          );
          return secretShownOncePage(owner, {
            title: `${record.displayName} is registered`,
            section: "resources",
            label: "Introspection token",
            secret: introspectionToken,
            id: "introspection-token",
            next: html`Your MCP server uses it only to ask <code>/api/v1/modules/oauth/introspect</code> whether a token was revoked; local verification needs no secret. <a href="/resources">Back to your MCP servers</a>.`,
          });
        } catch (error) {
          if (error instanceof OAuthEnvelopeError) {
            const name = error.code === "OAUTH_RESOURCE_TAKEN" ? "resource" : "form";
            return listPage(owner, values, { errors: { [name]: error.message }, status: 400 });
          }
          throw error;
        }
      }),
    )
    .post("/resources/:id/delete", ({ request, params, body }) =>
      guard.act(request, body, async (owner) => {
        if (!isRecordId(params.id))
          return listPage(owner, empty, { status: 404, message: "No such MCP server." });
        try {
          await deleteResource(deps.resources, owner.user, params.id, ip(request));
        } catch (error) {
          if (error instanceof OAuthEnvelopeError) {
            return listPage(owner, empty, { status: 404, message: "No such MCP server." });
          }
          throw error;
        }
        return listPage(owner, empty, {
          message: "The MCP server is removed; tokens for it are no longer issued.",
        });
      }),
    );
}
