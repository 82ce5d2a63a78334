/**
 * The "Connect your agent" site of `examples/binding-site.ts` as a fetch
 * handler, in its own module so tests can serve it too.
 *
 * The binding id kept in the session is what makes the callback safe: a
 * connect URL someone forwarded to another person comes back in that
 * person's browser, whose session did not start it, and is refused.
 */
import type { SiteClient } from "@lime-ts/sdk";

interface BoundAgent {
  agentId: string;
  ownerId: string;
  ownerKycLevel: number;
  agentReputation: number;
}

interface Session {
  /** The binding request this browser started and has not come back from yet. */
  pendingBindingId?: string;
  agent?: BoundAgent;
  notice?: string;
}

const SESSION_COOKIE = "demo_session";

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(session: Session): Response {
  const notice = session.notice ? `<p><em>${escapeHtml(session.notice)}</em></p>` : "";
  const connected = session.agent
    ? `<p>Connected agent <code>${escapeHtml(session.agent.agentId)}</code>, owner KYC level ${session.agent.ownerKycLevel}, reputation ${session.agent.agentReputation}.</p>`
    : "";
  const body = `${connected}<form method="post" action="/connect"><button type="submit">Connect your agent</button></form>`;
  return new Response(
    `<!doctype html><meta charset="utf-8"><title>Demo shop</title><h1>Demo shop</h1>${notice}${body}`,
    { headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" } },
  );
}

const redirect = (location: string, headers: Record<string, string> = {}) =>
  new Response(null, { status: 303, headers: { location, "cache-control": "no-store", ...headers } });

/** The site: a fetch handler. `origin` is where it runs; the callback must be on the origin LIME has for it. */
export function createBindingSite(site: SiteClient, origin: string): (request: Request) => Promise<Response> {
  // In memory, for the example; a real site keeps this in its own session store.
  const sessions = new Map<string, Session>();

  return async (request) => {
    const url = new URL(request.url);
    const cookie = /(?:^|;\s*)demo_session=([\w-]+)/.exec(request.headers.get("cookie") ?? "")?.[1];
    let sessionId = cookie !== undefined && sessions.has(cookie) ? cookie : undefined;
    const setCookie: Record<string, string> = {};
    if (sessionId === undefined) {
      sessionId = crypto.randomUUID();
      sessions.set(sessionId, {});
      // SameSite=Lax: sent on LIME's top-level redirect back to the callback, not on cross-site POSTs.
      setCookie["set-cookie"] = `${SESSION_COOKIE}=${sessionId}; Path=/; HttpOnly; SameSite=Lax`;
    }
    const session = sessions.get(sessionId)!;

    if (request.method === "POST" && url.pathname === "/connect") {
      const { bindingId, connectUrl } = await site.createBindingRequest({
        redirectUri: `${origin}/lime/callback`,
      });
      session.pendingBindingId = bindingId;
      session.notice = undefined;
      return redirect(connectUrl, setCookie);
    }

    if (request.method === "GET" && url.pathname === "/lime/callback") {
      const bindingId = url.searchParams.get("binding_id");
      const expected = session.pendingBindingId;
      if (expected === undefined || bindingId !== expected) {
        return new Response("This callback does not belong to a connection started in this browser.", {
          status: 400,
          headers: setCookie,
        });
      }
      session.pendingBindingId = undefined;
      if (url.searchParams.get("error") === "access_denied") {
        session.notice = "You declined: no agent was connected.";
        return redirect("/", setCookie);
      }
      try {
        const binding = await site.verifyBindingPassport(url.searchParams.get("passport") ?? "", {
          bindingId: expected,
        });
        session.agent = {
          agentId: binding.agentId,
          ownerId: binding.ownerId,
          ownerKycLevel: binding.ownerKycLevel,
          agentReputation: binding.agentReputation,
        };
        session.notice = "Agent connected.";
      } catch (error) {
        session.notice = `The binding passport was refused (${(error as { code?: string }).code ?? "error"}).`;
      }
      return redirect("/", setCookie);
    }

    if (request.method === "GET" && url.pathname === "/") {
      const response = page(session);
      for (const [name, value] of Object.entries(setCookie)) response.headers.set(name, value);
      return response;
    }
    return new Response("not found", { status: 404 });
  };
}
