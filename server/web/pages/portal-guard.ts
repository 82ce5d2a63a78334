/**
 * The two ways into a portal page: viewing one (signed in, or sent to the
 * sign-in page and back) and submitting one of its forms (signed in, and
 * the form must carry this session's CSRF token and come from our origin;
 * otherwise a 403 page, and nothing changes).
 */

import type { SessionDeps } from "../../foundation/sessions/service.ts";
import { type FormFields, formFields } from "../forms.ts";
import { html } from "../html.ts";
import { renderPage } from "../layout.ts";
import { signInFirst } from "../navigation.ts";
import { isGenuineForm, type PageOwner, signedInOwner } from "../session.ts";

export interface PortalGuard {
  view(request: Request, render: (owner: PageOwner) => Response | Promise<Response>): Promise<Response>;
  act(
    request: Request,
    body: unknown,
    handle: (owner: PageOwner, form: FormFields) => Response | Promise<Response>,
  ): Promise<Response>;
}

export function refusedForm(): Response {
  return renderPage({
    title: "Request refused",
    narrow: true,
    status: 403,
    forms: "none",
    body: html`<h1>Request refused</h1>
<p>This form was not sent from this site's own page, or your session changed since the page was shown.
<a href="/">Go back to the overview</a> and try again.</p>`,
  });
}

export function portalGuard(sessions: SessionDeps): PortalGuard {
  return {
    async view(request, render) {
      const owner = await signedInOwner(sessions, request);
      return owner ? render(owner) : signInFirst(request);
    },
    async act(request, body, handle) {
      const owner = await signedInOwner(sessions, request);
      if (!owner) return signInFirst(request);
      const form = formFields(body);
      if (!isGenuineForm(owner, form, request)) return refusedForm();
      return handle(owner, form);
    },
  };
}

/** The shell's view of the signed-in owner. */
export function shellOwner(owner: PageOwner) {
  return { email: owner.user.email, csrfToken: owner.csrfToken };
}
