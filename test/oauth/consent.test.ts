import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  authorizationPath,
  call,
  exchangeCode,
  OAUTH,
  type Owner,
  type ProvisionedServer,
  peekClaims,
  pkcePair,
  REDIRECT_URI,
  registerClient,
  registerOwner,
  startProvisionedServer,
} from "./helpers.ts";

const RESOURCE = "https://tools.example/mcp";

function hidden(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!match) throw new Error(`no hidden ${name} in the page`);
  return match[1]!;
}

function cookieFrom(headers: Headers, name: string): string {
  for (const line of headers.getSetCookie()) {
    if (line.startsWith(`${name}=`)) return line.slice(name.length + 1).split(";")[0]!;
  }
  throw new Error(`no ${name} cookie set`);
}

describe("owner consent in the browser flow (server-rendered, CSRF-protected)", () => {
  let t: ProvisionedServer;
  let clientId: string;
  const origin = () => new URL(t.issuer).origin;

  beforeAll(async () => {
    t = await startProvisionedServer(RESOURCE);
    clientId = await registerClient(t.url, { client_name: 'Inspector <script>alert("x")</script>' });
  });
  afterAll(async () => {
    await t.stop();
  });

  /** GET /authorize without a session: the login page, its form values and its cookie. */
  const start = async (pkce = pkcePair()) => {
    const answer = await call(
      t.url,
      authorizationPath({ clientId, resource: RESOURCE, challenge: pkce.challenge, method: "S256" }),
    );
    expect(answer.status).toBe(200);
    const html = answer.body as string;
    return {
      pkce,
      html,
      headers: answer.headers,
      requestId: hidden(html, "authorization_request_id"),
      loginToken: hidden(html, "login_token"),
      loginCookie: cookieFrom(answer.headers, "lime_oauth_login"),
    };
  };
  const signIn = async (started: Awaited<ReturnType<typeof start>>, who: Owner = t.owner) =>
    call(t.url, `${OAUTH}/authorize/login`, {
      headers: { cookie: `lime_oauth_login=${started.loginCookie}`, origin: origin() },
      form: {
        authorization_request_id: started.requestId,
        login_token: started.loginToken,
        email: who.email,
        password: who.password,
      },
    });
  const consent = async (requestId: string, session: string) => {
    const answer = await call(t.url, `${OAUTH}/authorize/consent?authorization_request_id=${requestId}`, {
      headers: { cookie: `lime_session=${session}` },
    });
    expect(answer.status).toBe(200);
    return { html: answer.body as string, formToken: hidden(answer.body as string, "form_token") };
  };
  const decide = (requestId: string, session: string, formToken: string, decision: string, from = origin()) =>
    call(t.url, `${OAUTH}/authorize/decision`, {
      headers: { cookie: `lime_session=${session}`, origin: from },
      form: { authorization_request_id: requestId, form_token: formToken, decision },
    });

  test("without a session: a sign-in page that cannot be framed, with a login cookie for the form", async () => {
    const started = await start();
    expect(started.headers.get("content-type")).toStartWith("text/html");
    expect(started.headers.get("x-frame-options")).toBe("DENY");
    const csp = started.headers.get("content-security-policy")!;
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    // The form's target by name, not 'self' (the page's host, which may be another name of this server).
    expect(csp).toContain(`form-action ${new URL(t.issuer).origin};`);
    expect(started.headers.get("cache-control")).toBe("no-store");
    expect(started.html).not.toContain("<script>");
    expect(started.html).toContain("&lt;script&gt;");
  });

  test("sign in → consent → approve: a code for the owner, with state and iss", async () => {
    const started = await start();
    const signedIn = await signIn(started);
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get("location")).toContain(
      `/authorize/consent?authorization_request_id=${started.requestId}`,
    );
    const session = cookieFrom(signedIn.headers, "lime_session");
    const page = await consent(started.requestId, session);
    expect(page.html).toContain("127.0.0.1:8976");
    expect(page.html).toContain("on this computer");
    expect(page.html).toContain(t.owner.email);
    const approved = await decide(started.requestId, session, page.formToken, "approve");
    expect(approved.status).toBe(303);
    const location = new URL(approved.headers.get("location")!);
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
    expect(location.searchParams.get("state")).toBe("state-123");
    expect(location.searchParams.get("iss")).toBe(t.issuer);
    const tokens = await exchangeCode(
      t.url,
      { code: location.searchParams.get("code")!, verifier: started.pkce.verifier, clientId },
      { resource: RESOURCE },
    );
    expect(tokens.status).toBe(200);
    const claims = peekClaims(tokens.body.access_token);
    expect(claims.sub).toBe(t.owner.ownerId);
    expect(claims.lime_principal).toBe("owner");
    // The decision is single-use.
    const again = await decide(started.requestId, session, page.formToken, "approve");
    expect(again.status).toBe(403);
    expect(again.headers.get("location")).toBeNull();
  });

  test("deny → access_denied at the redirect URI, with state and iss", async () => {
    const started = await start();
    const session = cookieFrom((await signIn(started)).headers, "lime_session");
    const page = await consent(started.requestId, session);
    const denied = await decide(started.requestId, session, page.formToken, "deny");
    const location = new URL(denied.headers.get("location")!);
    expect(location.searchParams.get("error")).toBe("access_denied");
    expect(location.searchParams.get("state")).toBe("state-123");
    expect(location.searchParams.get("iss")).toBe(t.issuer);
    expect(location.searchParams.get("code")).toBeNull();
  });

  test("CSRF: a wrong form token, another owner's session, or a foreign Origin are refused without a redirect", async () => {
    const started = await start();
    const session = cookieFrom((await signIn(started)).headers, "lime_session");
    const page = await consent(started.requestId, session);
    const forged = await decide(started.requestId, session, "forged-token", "approve");
    expect(forged.status).toBe(403);
    expect(forged.headers.get("location")).toBeNull();
    const intruder = await registerOwner(t.url);
    const intruderSession = cookieFrom(
      (await signIn({ ...(await start()), requestId: started.requestId }, intruder)).headers,
      "lime_session",
    );
    const crossSession = await decide(started.requestId, intruderSession, page.formToken, "approve");
    expect(crossSession.status).toBe(403);
    // Nor can another session take the request over by opening its consent page.
    const takeover = await call(
      t.url,
      `${OAUTH}/authorize/consent?authorization_request_id=${started.requestId}`,
      {
        headers: { cookie: `lime_session=${intruderSession}` },
      },
    );
    expect(takeover.status).toBe(403);
    expect(takeover.body).not.toContain("form_token");
    const crossSite = await decide(
      started.requestId,
      session,
      page.formToken,
      "approve",
      "https://evil.example",
    );
    expect(crossSite.status).toBe(403);
    // None of the refusals consumed the request: the real form still works.
    const approved = await decide(started.requestId, session, page.formToken, "approve");
    expect(approved.status).toBe(303);
  });

  test("sign-in: a wrong password re-renders the page (401); a missing login cookie or a foreign Origin is refused", async () => {
    const started = await start();
    const wrong = await call(t.url, `${OAUTH}/authorize/login`, {
      headers: { cookie: `lime_oauth_login=${started.loginCookie}`, origin: origin() },
      form: {
        authorization_request_id: started.requestId,
        login_token: started.loginToken,
        email: t.owner.email,
        password: "not the password",
      },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toContain("not correct");
    const noCookie = await call(t.url, `${OAUTH}/authorize/login`, {
      headers: { origin: origin() },
      form: {
        authorization_request_id: started.requestId,
        login_token: started.loginToken,
        email: t.owner.email,
        password: t.owner.password,
      },
    });
    expect(noCookie.status).toBe(403);
    const foreign = await call(t.url, `${OAUTH}/authorize/login`, {
      headers: { cookie: `lime_oauth_login=${started.loginCookie}`, origin: "https://evil.example" },
      form: {
        authorization_request_id: started.requestId,
        login_token: started.loginToken,
        email: t.owner.email,
        password: t.owner.password,
      },
    });
    expect(foreign.status).toBe(403);
  });
});
