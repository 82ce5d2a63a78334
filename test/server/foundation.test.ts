import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeClock, startTestServer, type TestServer } from "../../server/testing.ts";
import { api, countRows, withTestServer } from "./helpers.ts";

const USERS = "/api/v1/foundation/users";
const PASSWORD = "correct horse battery staple";

function cookiesOf(response: { headers: Headers }): Map<string, string> {
  const jar = new Map<string, string>();
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const eq = pair!.indexOf("=");
    jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
  }
  return jar;
}

/** An address no other test uses; the server stores it lowercased. */
function uniqueEmail(name: string): string {
  return `${name}-${crypto.randomUUID()}@example.test`;
}

describe("owners: registration, verification, sessions", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t.stop();
  });

  /** Registers `email` (a fresh address by default) without verifying it; returns the address. */
  const register = async (email = uniqueEmail("owner")) => {
    const registered = await api(t.url, `${USERS}/register`, {
      method: "POST",
      json: { email, password: PASSWORD },
    });
    expect(registered.status).toBe(201);
    return email;
  };
  /** A registered and verified owner of the running test's own; returns its address. */
  const verifiedOwner = async () => {
    const email = await register();
    const verified = await api(t.url, `${USERS}/register/verify`, {
      method: "POST",
      json: { email, code: t.mailer.codes.get(email) },
    });
    expect(verified.status).toBe(200);
    return email;
  };
  const login = (email: string, password = PASSWORD) =>
    api(t.url, `${USERS}/login`, { method: "POST", json: { email, password } });

  test("register → 201 with the code sent through the Mailer; login refused until the email is verified", async () => {
    const email = uniqueEmail("Alice").replace("example.test", "Example.test");
    const stored = email.toLowerCase();
    const registered = await api(t.url, `${USERS}/register`, {
      method: "POST",
      json: { email, password: PASSWORD },
    });
    expect(registered.status).toBe(201);
    expect(registered.body.data).toMatchObject({
      email: stored,
      email_verified: false,
      kyc_level: 0,
      verification_required: true,
    });
    expect(t.mailer.codes.get(stored)).toMatch(/^\d{6}$/);
    const early = await login(email);
    expect(early.status).toBe(403);
    expect(early.body.error.code).toBe("EMAIL_NOT_VERIFIED");

    const verified = await api(t.url, `${USERS}/register/verify`, {
      method: "POST",
      json: { email, code: t.mailer.codes.get(stored) },
    });
    expect(verified.status).toBe(200);
    expect(verified.body.data).toMatchObject({ email_verified: true, kyc_level: 1 });
    const again = await api(t.url, `${USERS}/register/verify`, {
      method: "POST",
      json: { email, code: t.mailer.codes.get(stored) },
    });
    expect(again.body.error.code).toBe("EMAIL_ALREADY_VERIFIED");
  });

  test("the password is stored as an argon2id hash, never in clear", async () => {
    const email = await register();
    const row = t.db.query("SELECT password_hash FROM users WHERE email = ?").get(email) as {
      password_hash: string;
    };
    expect(row.password_hash).toStartWith("$argon2id$");
    expect(row.password_hash).not.toContain(PASSWORD);
    expect(await Bun.password.verify(PASSWORD, row.password_hash)).toBe(true);
  });

  test("a second registration of the same email is EMAIL_ALREADY_REGISTERED and stores nothing", async () => {
    const email = await register();
    const before = countRows(t.db, "users");
    const duplicate = await api(t.url, `${USERS}/register`, {
      method: "POST",
      json: { email: email.toUpperCase(), password: "another password" },
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error.code).toBe("EMAIL_ALREADY_REGISTERED");
    expect(countRows(t.db, "users")).toBe(before);
  });

  test("verification codes: wrong codes spend attempts, five misses exhaust the code, a new code works", async () => {
    const email = await register();
    const real = t.mailer.codes.get(email)!;
    const wrong = real === "000000" ? "111111" : "000000";
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) {
      codes.push(
        (await api(t.url, `${USERS}/register/verify`, { method: "POST", json: { email, code: wrong } })).body
          .error.code,
      );
    }
    expect(codes.slice(0, 4)).toEqual(Array(4).fill("VERIFICATION_CODE_INVALID"));
    expect(codes[4]).toBe("VERIFICATION_ATTEMPTS_EXCEEDED");
    const locked = await api(t.url, `${USERS}/register/verify`, {
      method: "POST",
      json: { email, code: real },
    });
    expect(locked.body.error.code).toBe("VERIFICATION_ATTEMPTS_EXCEEDED");

    expect((await api(t.url, `${USERS}/register/resend`, { method: "POST", json: { email } })).status).toBe(
      202,
    );
    const fresh = t.mailer.codes.get(email)!;
    const ok = await api(t.url, `${USERS}/register/verify`, { method: "POST", json: { email, code: fresh } });
    expect(ok.status).toBe(200);
  });

  test("the stored verification code is a hash, not the code", async () => {
    const email = await register();
    const row = t.db
      .query("SELECT code_hash FROM email_codes JOIN users ON users.id = email_codes.user_id WHERE email = ?")
      .get(email) as { code_hash: string };
    expect(row.code_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  test("login: wrong password and unknown email give the same INVALID_CREDENTIALS", async () => {
    const email = await verifiedOwner();
    const wrong = await login(email, "not the password");
    const unknown = await login(uniqueEmail("nobody"), "not the password");
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body.error).toEqual(unknown.body.error);
  });

  test("login sets an HttpOnly session cookie and a readable CSRF cookie, and returns a Bearer session_token", async () => {
    const email = await verifiedOwner();
    const signedIn = await login(email);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.data.session_token).toMatch(/^lime_session_[A-Za-z0-9_-]{43}$/);
    const lines = signedIn.headers.getSetCookie();
    const session = lines.find((l) => l.startsWith("lime_session="))!;
    const csrf = lines.find((l) => l.startsWith("lime_csrf="))!;
    expect(session).toContain("HttpOnly");
    expect(session).toContain("SameSite=Lax");
    expect(csrf).not.toContain("HttpOnly");
    expect(cookiesOf(signedIn).get("lime_csrf")).toBe(signedIn.body.data.csrf_token);

    const me = await api(t.url, `${USERS}/me`, {
      headers: { authorization: `Bearer ${signedIn.body.data.session_token}` },
    });
    expect(me.body.data).toMatchObject({ email, kyc_level: 1, email_verified: true });
    const stored = t.db.query("SELECT token_hash FROM sessions").all() as { token_hash: string }[];
    expect(stored.some((s) => s.token_hash === signedIn.body.data.session_token)).toBe(false);
  });

  test("cookie-authenticated state changes need X-CSRF-Token: missing → CSRF_TOKEN_MISSING, wrong → CSRF_TOKEN_INVALID", async () => {
    const email = await verifiedOwner();
    const jar = cookiesOf(await login(email));
    const cookie = `lime_session=${jar.get("lime_session")}; lime_csrf=${jar.get("lime_csrf")}`;
    const before = countRows(t.db, "sites");

    const me = await api(t.url, `${USERS}/me`, { headers: { cookie } });
    expect(me.status).toBe(200);

    const missing = await api(t.url, "/api/v1/foundation/sites/register", {
      method: "POST",
      headers: { cookie },
      json: { display_name: "Shop" },
    });
    expect(missing.status).toBe(403);
    expect(missing.body.error.code).toBe("CSRF_TOKEN_MISSING");

    const other = await login(email);
    const wrong = await api(t.url, "/api/v1/foundation/sites/register", {
      method: "POST",
      headers: { cookie, "x-csrf-token": other.body.data.csrf_token },
      json: { display_name: "Shop" },
    });
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.code).toBe("CSRF_TOKEN_INVALID");
    expect(countRows(t.db, "sites")).toBe(before);

    const right = await api(t.url, "/api/v1/foundation/sites/register", {
      method: "POST",
      headers: { cookie, "x-csrf-token": jar.get("lime_csrf")! },
      json: { display_name: "Shop" },
    });
    expect(right.status).toBe(201);
  });

  test("logout ends the session: the same Bearer token is SESSION_INVALID afterwards", async () => {
    const signedIn = await login(await verifiedOwner());
    const auth = { authorization: `Bearer ${signedIn.body.data.session_token}` };
    expect((await api(t.url, `${USERS}/logout`, { method: "POST", headers: auth })).status).toBe(200);
    const after = await api(t.url, `${USERS}/me`, { headers: auth });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe("SESSION_INVALID");
    expect(after.headers.get("www-authenticate")).toContain("Bearer");
  });

  test("no credentials at all is AUTHENTICATION_REQUIRED", async () => {
    const response = await api(t.url, `${USERS}/me`);
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe("AUTHENTICATION_REQUIRED");
  });
});

describe("sessions and codes over time", () => {
  test("sessions expire after their lifetime", async () => {
    const clock = new FakeClock();
    await withTestServer({ clock }, async (t) => {
      const { sessionToken } = await t.registerOwner();
      const auth = { authorization: `Bearer ${sessionToken}` };
      expect((await api(t.url, `${USERS}/me`, { headers: auth })).status).toBe(200);
      clock.advance(t.config.lifetimes.sessionMs);
      expect((await api(t.url, `${USERS}/me`, { headers: auth })).body.error.code).toBe("SESSION_INVALID");
    });
  });

  test("verification codes expire: VERIFICATION_CODE_EXPIRED", async () => {
    const clock = new FakeClock();
    await withTestServer({ clock }, async (t) => {
      const email = "late@example.test";
      await api(t.url, `${USERS}/register`, { method: "POST", json: { email, password: PASSWORD } });
      clock.advance(t.config.lifetimes.emailCodeMs + 1);
      const late = await api(t.url, `${USERS}/register/verify`, {
        method: "POST",
        json: { email, code: t.mailer.codes.get(email) },
      });
      expect(late.status).toBe(410);
      expect(late.body.error.code).toBe("VERIFICATION_CODE_EXPIRED");
    });
  });

  // docs/decisions/email-verification-off.md: level 1 means "email verified", and nothing was.
  test("EMAIL_VERIFICATION=off: login works at once, no code is sent, the owner stays at KYC level 0", async () => {
    await withTestServer({ config: { emailVerification: false } }, async (t) => {
      const email = "quick@example.test";
      const registered = await api(t.url, `${USERS}/register`, {
        method: "POST",
        json: { email, password: PASSWORD },
      });
      expect(registered.body.data).toMatchObject({
        verification_required: false,
        email_verified: false,
        kyc_level: 0,
      });
      expect(t.mailer.codes.size).toBe(0);
      const login = await api(t.url, `${USERS}/login`, {
        method: "POST",
        json: { email, password: PASSWORD },
      });
      expect(login.status).toBe(200);
      const auth = { authorization: `Bearer ${login.body.data.session_token}` };
      const me = await api(t.url, `${USERS}/me`, { headers: auth });
      expect(me.body.data).toMatchObject({ email_verified: false, kyc_level: 0 });
      const agent = await api(t.url, "/api/v1/core/agents/register", {
        method: "POST",
        headers: auth,
        json: { display_name: "Quick agent" },
      });
      const profile = await api(t.url, "/api/v1/core/agents/me/profile", {
        headers: { "x-agent-token": agent.body.data.agent_token },
      });
      expect(profile.body.data.owner_kyc_level).toBe(0);
    });
  });

  test("EMAIL_VERIFICATION turned on later: an unverified owner is refused, resends a code and reaches level 1", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lime-verification-later-"));
    const databasePath = join(dir, "lime.sqlite");
    const keyEncryptionKey = crypto.getRandomValues(new Uint8Array(32));
    const email = "later@example.test";
    try {
      await withTestServer({ databasePath, keyEncryptionKey, config: { emailVerification: false } }, (t) =>
        api(t.url, `${USERS}/register`, { method: "POST", json: { email, password: PASSWORD } }).then(
          () => {},
        ),
      );
      await withTestServer({ databasePath, keyEncryptionKey }, async (t) => {
        const refused = await api(t.url, `${USERS}/login`, {
          method: "POST",
          json: { email, password: PASSWORD },
        });
        expect(refused.body.error.code).toBe("EMAIL_NOT_VERIFIED");
        await api(t.url, `${USERS}/register/resend`, { method: "POST", json: { email } });
        const verified = await api(t.url, `${USERS}/register/verify`, {
          method: "POST",
          json: { email, code: t.mailer.codes.get(email) },
        });
        expect(verified.body.data).toMatchObject({ email_verified: true, kyc_level: 1 });
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("KYC", () => {
  const ADMIN = "admin-token-for-tests-0123456789abcdef";
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ config: { adminToken: ADMIN } });
  });
  afterAll(async () => {
    await t.stop();
  });

  test("an owner asks for level 2; an operator grants it with the admin token; passports carry the new level", async () => {
    const p = await t.provision();
    const auth = { authorization: `Bearer ${p.sessionToken}` };
    const submitted = await api(t.url, "/api/v1/foundation/kyc/submissions", {
      method: "POST",
      headers: auth,
      json: {},
    });
    expect(submitted.status).toBe(201);
    expect(submitted.body.data).toMatchObject({ status: "PENDING", requested_level: 2 });
    const twice = await api(t.url, "/api/v1/foundation/kyc/submissions", {
      method: "POST",
      headers: auth,
      json: {},
    });
    expect(twice.body.error.code).toBe("KYC_SUBMISSION_PENDING");

    const pending = await api(t.url, "/api/v1/admin/kyc/submissions", {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(pending.body.data.submissions.map((s: { user_id: string }) => s.user_id)).toContain(p.ownerId);

    const decided = await api(t.url, `/api/v1/admin/users/${p.ownerId}/kyc`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}` },
      json: { level: 2 },
    });
    expect(decided.status).toBe(200);
    expect(decided.body.data.kyc_level).toBe(2);
    const mine = await api(t.url, "/api/v1/foundation/kyc/submissions", { headers: auth });
    expect(mine.body.data.kyc_level).toBe(2);
    expect(mine.body.data.submissions[0].status).toBe("APPROVED");

    const profile = await api(t.url, "/api/v1/core/agents/me/profile", {
      headers: { "x-agent-token": p.agentToken },
    });
    expect(profile.body.data.owner_kyc_level).toBe(2);

    const audit = await api(t.url, "/api/v1/foundation/audit", { headers: auth });
    expect(audit.body.data.events.map((e: { action: string }) => e.action)).toContain("admin.kyc_level_set");
  });

  test("admin API: missing token 401 ADMIN_TOKEN_MISSING, wrong token 401 ADMIN_TOKEN_INVALID, unknown user 404", async () => {
    const id = crypto.randomUUID();
    const missing = await api(t.url, `/api/v1/admin/users/${id}/kyc`, { method: "POST", json: { level: 2 } });
    expect(missing.body.error.code).toBe("ADMIN_TOKEN_MISSING");
    const wrong = await api(t.url, `/api/v1/admin/users/${id}/kyc`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}x` },
      json: { level: 2 },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe("ADMIN_TOKEN_INVALID");
    const unknown = await api(t.url, `/api/v1/admin/users/${id}/kyc`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}` },
      json: { level: 2 },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("USER_NOT_FOUND");
    const badLevel = await api(t.url, `/api/v1/admin/users/${id}/kyc`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}` },
      json: { level: 3 },
    });
    expect(badLevel.body.error.code).toBe("VALIDATION_FAILED");
  });

  test("with no ADMIN_TOKEN configured the admin API does not exist", async () => {
    await withTestServer({}, async (off) => {
      const response = await api(off.url, "/api/v1/admin/keys/rotate", {
        method: "POST",
        headers: { authorization: "Bearer anything-at-all-anything-at-all" },
      });
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe("NOT_FOUND");
    });
  });

  test("a pluggable verifier can decide at once", async () => {
    await withTestServer(
      {
        extra: { kycVerifier: { review: async () => ({ decision: "approved" }) } },
      },
      async (auto) => {
        const { sessionToken } = await auto.registerOwner();
        const auth = { authorization: `Bearer ${sessionToken}` };
        const submitted = await api(auto.url, "/api/v1/foundation/kyc/submissions", {
          method: "POST",
          headers: auth,
        });
        expect(submitted.body.data.status).toBe("APPROVED");
        expect((await api(auto.url, `${USERS}/me`, { headers: auth })).body.data.kyc_level).toBe(2);
      },
    );
  });
});

describe("sites and agents", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t.stop();
  });

  test("sites: register (token shown once, stored hashed), list, update difficulty, rotate, delete (204)", async () => {
    const { sessionToken } = await t.registerOwner();
    const auth = { authorization: `Bearer ${sessionToken}` };
    const created = await api(t.url, "/api/v1/foundation/sites/register", {
      method: "POST",
      headers: auth,
      json: { display_name: "  Shop  ", origin: "https://Shop.Example:443/" },
    });
    expect(created.status).toBe(201);
    const site = created.body.data;
    expect(site).toMatchObject({
      display_name: "Shop",
      origin: "https://shop.example",
      pow_difficulty: 8,
      status: "ACTIVE",
    });
    expect(site.site_token).toMatch(/^lime_site_[A-Za-z0-9_-]{43}$/);
    const row = t.db.query("SELECT token_hash FROM sites WHERE id = ?").get(site.site_id) as {
      token_hash: string;
    };
    expect(row.token_hash).toBe(new Bun.CryptoHasher("sha256").update(site.site_token).digest("hex"));

    const list = await api(t.url, "/api/v1/foundation/sites", { headers: auth });
    expect(list.body.data.sites).toHaveLength(1);
    expect(JSON.stringify(list.body)).not.toContain(site.site_token);

    const patched = await api(t.url, `/api/v1/foundation/sites/${site.site_id}`, {
      method: "PATCH",
      headers: auth,
      json: { pow_difficulty: 12 },
    });
    expect(patched.body.data.pow_difficulty).toBe(12);
    const request = await api(t.url, "/api/v1/modules/agent-login/requests", {
      method: "POST",
      headers: { "x-site-token": site.site_token },
      json: { redirect_url: "https://shop.example/after-login" },
    });
    expect(request.body.data.pow_difficulty).toBe(12);
    const offOrigin = await api(t.url, "/api/v1/modules/agent-login/requests", {
      method: "POST",
      headers: { "x-site-token": site.site_token },
      json: { redirect_url: "https://evil.example/" },
    });
    expect(offOrigin.body.error.code).toBe("REDIRECT_URL_NOT_ALLOWED");

    const rotated = await api(t.url, `/api/v1/foundation/sites/${site.site_id}/token`, {
      method: "POST",
      headers: auth,
    });
    const old = await api(t.url, "/api/v1/modules/agent-login/requests", {
      method: "POST",
      headers: { "x-site-token": site.site_token },
      json: {},
    });
    expect(old.body.error.code).toBe("SITE_TOKEN_INVALID");
    const fresh = await api(t.url, "/api/v1/modules/agent-login/requests", {
      method: "POST",
      headers: { "x-site-token": rotated.body.data.site_token },
      json: {},
    });
    expect(fresh.status).toBe(201);

    const deleted = await api(t.url, `/api/v1/foundation/sites/${site.site_id}`, {
      method: "DELETE",
      headers: auth,
    });
    expect(deleted.status).toBe(204);
    expect(
      t.db.query("SELECT COUNT(*) AS n FROM login_requests WHERE site_id = ?").get(site.site_id) as {
        n: number;
      },
    ).toEqual({ n: 0 });
    const gone = await api(t.url, "/api/v1/modules/agent-login/requests", {
      method: "POST",
      headers: { "x-site-token": rotated.body.data.site_token },
      json: {},
    });
    expect(gone.body.error.code).toBe("SITE_TOKEN_INVALID");
  });

  test("validation errors are 400 VALIDATION_FAILED naming the field, never echoing the value", async () => {
    const { sessionToken } = await t.registerOwner();
    const response = await api(t.url, "/api/v1/foundation/sites/register", {
      method: "POST",
      headers: { authorization: `Bearer ${sessionToken}` },
      json: { display_name: "Shop", pow_difficulty: "secret-looking-value" },
    });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("VALIDATION_FAILED");
    expect(response.body.error.detail).toMatchObject({ location: "body", field: "pow_difficulty" });
    expect(JSON.stringify(response.body)).not.toContain("secret-looking-value");
    const badId = await api(t.url, "/api/v1/foundation/sites/not-a-uuid/suspend", {
      method: "POST",
      headers: { authorization: `Bearer ${sessionToken}` },
    });
    expect(badId.status).toBe(400);
    expect(badId.body.error.detail).toMatchObject({ location: "params", field: "site_id" });
    const form = await api(t.url, "/api/v1/foundation/sites/register", {
      method: "POST",
      headers: {
        authorization: `Bearer ${sessionToken}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: "display_name=Shop",
    });
    expect(form.status).toBe(415);
    expect(form.body.error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
  });

  test("an owner cannot touch another owner's site or agent (SITE_NOT_FOUND / AGENT_NOT_FOUND)", async () => {
    const a = await t.provision();
    const b = await t.registerOwner();
    const auth = { authorization: `Bearer ${b.sessionToken}` };
    const site = await api(t.url, `/api/v1/foundation/sites/${a.siteId}/suspend`, {
      method: "POST",
      headers: auth,
    });
    expect(site.status).toBe(404);
    expect(site.body.error.code).toBe("SITE_NOT_FOUND");
    const agent = await api(t.url, `/api/v1/core/agents/${a.agentId}`, { method: "DELETE", headers: auth });
    expect(agent.status).toBe(404);
    expect(agent.body.error.code).toBe("AGENT_NOT_FOUND");
    expect((await api(t.url, "/api/v1/core/agents", { headers: auth })).body.data.agents).toHaveLength(0);
  });

  test("agents: register, list, profile with LIME's fields, tokens stored only as hashes", async () => {
    const { sessionToken, ownerId } = await t.registerOwner();
    const auth = { authorization: `Bearer ${sessionToken}` };
    const created = await api(t.url, "/api/v1/core/agents/register", {
      method: "POST",
      headers: auth,
      json: {
        display_name: "Researcher",
        description: "reads papers",
        avatar_url: "https://cdn.example/a.png",
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.data.agent_token).toMatch(/^lime_agent_[A-Za-z0-9_-]{43}$/);
    const profile = await api(t.url, "/api/v1/core/agents/me/profile", {
      headers: { "x-agent-token": created.body.data.agent_token },
    });
    expect(profile.body.data).toEqual({
      agent_id: created.body.data.agent_id,
      owner_id: ownerId,
      display_name: "Researcher",
      avatar_url: "https://cdn.example/a.png",
      description: "reads papers",
      owner_kyc_level: 1,
      agent_reputation: 0,
    });
    const list = await api(t.url, "/api/v1/core/agents", { headers: auth });
    expect(list.body.data.agents.map((a: { agent_id: string }) => a.agent_id)).toEqual([
      created.body.data.agent_id,
    ]);
    const dump = JSON.stringify(t.db.query("SELECT * FROM agents").all());
    expect(dump).not.toContain(created.body.data.agent_token);
  });

  test("a revoked agent stays listed as REVOKED; revoking twice is AGENT_NOT_FOUND", async () => {
    const p = await t.provision();
    const auth = { authorization: `Bearer ${p.sessionToken}` };
    expect(
      (await api(t.url, `/api/v1/core/agents/${p.agentId}`, { method: "DELETE", headers: auth })).status,
    ).toBe(204);
    const twice = await api(t.url, `/api/v1/core/agents/${p.agentId}`, { method: "DELETE", headers: auth });
    expect(twice.body.error.code).toBe("AGENT_NOT_FOUND");
    const list = await api(t.url, "/api/v1/core/agents", { headers: auth });
    expect(list.body.data.agents[0].status).toBe("REVOKED");
  });

  test("the audit log lists the owner's security events newest first, and only the owner's", async () => {
    const a = await t.provision();
    const b = await t.provision();
    const events = await api(t.url, "/api/v1/foundation/audit", {
      headers: { authorization: `Bearer ${a.sessionToken}` },
    });
    const actions = events.body.data.events.map((e: { action: string }) => e.action);
    expect(actions.slice(-3)).toEqual(["session.opened", "user.email_verified", "user.registered"]);
    expect(actions).toEqual(
      expect.arrayContaining([
        "user.registered",
        "user.email_verified",
        "session.opened",
        "site.created",
        "agent.created",
      ]),
    );
    expect(actions[0]).toBe("agent.created");
    const targets = events.body.data.events.map((e: { target: { id: string } | null }) => e.target?.id);
    expect(targets).not.toContain(b.siteId);
    expect(targets).not.toContain(b.agentId);
    for (const event of events.body.data.events) {
      expect(event.occurred_at).toMatch(/Z$/);
      expect(["success", "failure"]).toContain(event.outcome);
    }
    const paged = await api(t.url, "/api/v1/foundation/audit?limit=2", {
      headers: { authorization: `Bearer ${a.sessionToken}` },
    });
    expect(paged.body.data.events).toHaveLength(2);
    const next = await api(t.url, `/api/v1/foundation/audit?limit=2&before=${paged.body.data.next_cursor}`, {
      headers: { authorization: `Bearer ${a.sessionToken}` },
    });
    expect(next.body.data.events[0].event_id).not.toBe(paged.body.data.events[1].event_id);
  });
});
