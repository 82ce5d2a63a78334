/**
 * Property-based fuzzing of every endpoint's body, headers and path
 * parameters: whatever arrives, the answer is a 4xx envelope (never a 500,
 * never a stack trace) and no row is written. Audit events are the one
 * deliberate exception: a rejected approval is recorded with its reason.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { type Provisioned, startTestServer, type TestServer } from "../../server/testing.ts";
import { api } from "./helpers.ts";

const ADMIN = "admin-token-for-fuzzing-0123456789abcdef";
const RUNS = 40;
const STATE_TABLES = [
  "users",
  "email_codes",
  "sessions",
  "kyc_submissions",
  "sites",
  "agents",
  "signing_keys",
  "login_requests",
  "login_outcomes",
];

let t: TestServer;
let p: Provisioned;
let pendingId: string;

function snapshot(): string {
  const counts = STATE_TABLES.map(
    (table) => (t.db.query(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n,
  );
  const statuses = t.db.query("SELECT id, status FROM login_requests ORDER BY id").all();
  const agents = t.db.query("SELECT id, status, token_hash FROM agents ORDER BY id").all();
  const sites = t.db.query("SELECT id, status, token_hash, pow_difficulty FROM sites ORDER BY id").all();
  const users = t.db.query("SELECT id, kyc_level, email_verified_at FROM users ORDER BY id").all();
  return JSON.stringify({ counts, statuses, agents, sites, users });
}

function expectRejected(response: { status: number; headers: Headers; body: unknown }, label: string): void {
  if (response.status < 400 || response.status >= 500) {
    throw new Error(`${label}: expected 4xx, got ${response.status} ${JSON.stringify(response.body)}`);
  }
  const body = response.body as { ok: unknown; error: { code: unknown; message: unknown; detail: unknown } };
  expect(body.ok).toBe(false);
  expect(body.error.code).toMatch(/^[A-Z][A-Z_]+$/);
  expect(typeof body.error.message).toBe("string");
  expect(typeof body.error.detail).toBe("object");
  expect(JSON.stringify(body)).not.toMatch(/\bat .*\.ts:\d+|stack/i);
}

/** JSON values that are not objects: an object schema must refuse each. */
const nonObject = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string(),
  fc.boolean(),
  fc.array(fc.jsonValue(), { maxLength: 3 }),
);

/** A value of the wrong JSON type for a string field. */
const notAString = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.array(fc.string(), { maxLength: 2 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }),
);

/** A value no email field accepts: the wrong type, or a short string without the shape of an address. */
const notAnEmail = fc.oneof(
  notAString,
  fc.string({ maxLength: 20 }).filter((s) => !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s)),
);

/** Objects where one named field is replaced by something invalid, plus random extra members. */
function withOneBadField(valid: Record<string, unknown>, bad: Record<string, fc.Arbitrary<unknown>>) {
  return fc
    .tuple(
      fc.constantFrom(...Object.keys(bad)),
      fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue(), { maxKeys: 3 }),
    )
    .chain(([field, extra]) => bad[field]!.map((value) => ({ ...extra, ...valid, [field]: value })));
}

/** Printable header values (fetch refuses control characters before anything is sent). */
const headerValue = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 }),
  fc.constantFrom("lime_agent_", "lime_site_", "lime_session_", "Bearer", "Bearer ", "null", "undefined"),
  fc
    .string({
      unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      minLength: 43,
      maxLength: 43,
    })
    .chain((body) => fc.constantFrom(`lime_agent_${body}`, `lime_site_${body}`, `lime_session_${body}`)),
);

const pathSegment = fc.oneof(
  fc.string({ minLength: 1, maxLength: 60 }),
  fc.uuid().map((id) => id.toUpperCase()),
  fc.constantFrom("..", "%00", "me", "null", "0", "' OR 1=1 --", "a".repeat(300)),
);

beforeAll(async () => {
  t = await startTestServer({ config: { adminToken: ADMIN } });
  p = await t.provision({ powDifficulty: 32 });
  const created = await api(t.url, "/api/v1/modules/agent-login/requests", {
    method: "POST",
    headers: { "x-site-token": p.siteToken },
    json: {},
  });
  pendingId = created.body.data.login_request_id;
});

afterAll(async () => {
  await t.stop();
});

interface BodyCase {
  method: string;
  path: () => string;
  headers: () => Record<string, string>;
  body: fc.Arbitrary<unknown>;
}

const owner = () => ({ authorization: `Bearer ${p.sessionToken}` });

const bodyCases: Record<string, BodyCase> = {
  "POST users/register": {
    method: "POST",
    path: () => "/api/v1/foundation/users/register",
    headers: () => ({}),
    body: fc.oneof(
      nonObject,
      withOneBadField(
        { email: "new-user@example.test", password: "long enough password" },
        {
          email: notAnEmail,
          password: fc.oneof(
            notAString,
            fc.string({ maxLength: 7 }),
            fc.string({ minLength: 257, maxLength: 300 }),
          ),
        },
      ),
    ),
  },
  "POST users/register/verify": {
    method: "POST",
    path: () => "/api/v1/foundation/users/register/verify",
    headers: () => ({}),
    body: fc.oneof(
      nonObject,
      withOneBadField(
        { email: "nobody@example.test", code: "123456" },
        { code: fc.oneof(notAString, fc.string()) },
      ),
    ),
  },
  "POST users/register/resend": {
    method: "POST",
    path: () => "/api/v1/foundation/users/register/resend",
    headers: () => ({}),
    body: fc.oneof(
      nonObject,
      withOneBadField(
        { email: "someone@example.test" },
        {
          email: notAnEmail,
        },
      ),
    ),
  },
  "POST kyc/submissions": {
    method: "POST",
    path: () => "/api/v1/foundation/kyc/submissions",
    headers: owner,
    body: fc.oneof(
      nonObject.filter((v) => v !== null),
      withOneBadField(
        {},
        {
          level: fc.oneof(
            fc.integer().filter((n) => n !== 2),
            fc.constant("2"),
            fc.boolean(),
          ),
        },
      ),
    ),
  },
  "POST users/login": {
    method: "POST",
    path: () => "/api/v1/foundation/users/login",
    headers: () => ({}),
    body: fc.oneof(
      nonObject,
      fc.record({ email: fc.string({ maxLength: 40 }), password: fc.string({ maxLength: 40 }) }),
    ),
  },
  "POST sites/register": {
    method: "POST",
    path: () => "/api/v1/foundation/sites/register",
    headers: owner,
    body: fc.oneof(
      nonObject,
      withOneBadField(
        { display_name: "Shop" },
        {
          display_name: fc.oneof(
            notAString,
            fc.constant(""),
            fc.constant("   "),
            fc.string({ minLength: 101, maxLength: 120 }),
          ),
          origin: fc.oneof(
            notAString,
            fc.string({ maxLength: 30 }).filter((s) => !/^https?:\/\/[a-z]/i.test(s)),
          ),
          pow_difficulty: fc.oneof(
            fc.integer({ max: 0 }),
            fc.integer({ min: 33 }),
            fc.double({ min: 1.1, max: 2.9 }),
            fc.string(),
          ),
        },
      ),
    ),
  },
  "PATCH sites/:id": {
    method: "PATCH",
    path: () => `/api/v1/foundation/sites/${p.siteId}`,
    headers: owner,
    body: fc.oneof(
      nonObject,
      withOneBadField(
        {},
        {
          display_name: fc.oneof(notAString, fc.constant("  ")),
          pow_difficulty: fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 33 }), fc.string()),
          origin: fc.oneof(
            notAString,
            fc.constant("https://a.example/path"),
            fc.constant("javascript:alert(1)"),
          ),
        },
      ),
    ),
  },
  "POST agents/register": {
    method: "POST",
    path: () => "/api/v1/core/agents/register",
    headers: owner,
    body: fc.oneof(
      nonObject,
      withOneBadField(
        { display_name: "bot" },
        {
          display_name: fc.oneof(notAString, fc.constant(""), fc.string({ minLength: 129, maxLength: 140 })),
          description: fc.oneof(fc.integer(), fc.boolean(), fc.string({ minLength: 1001, maxLength: 1010 })),
          avatar_url: fc.oneof(
            notAString,
            fc.constant("http://insecure.example/a.png"),
            fc.constant("not a url"),
          ),
        },
      ),
    ),
  },
  "POST core/passports": {
    method: "POST",
    path: () => "/api/v1/core/passports",
    headers: () => ({ "x-agent-token": p.agentToken }),
    body: fc.oneof(
      nonObject.filter((v) => v !== null),
      withOneBadField(
        {},
        {
          audience: fc.oneof(
            notAString,
            fc.constant(""),
            fc.constant("has space"),
            fc.constant("lime-site-login"),
            fc.string({ minLength: 257, maxLength: 270 }),
          ),
        },
      ),
    ),
  },
  "POST agent-login/requests (site)": {
    method: "POST",
    path: () => "/api/v1/modules/agent-login/requests",
    headers: () => ({ "x-site-token": p.siteToken }),
    body: fc.oneof(
      nonObject.filter((v) => v !== null),
      withOneBadField(
        {},
        { redirect_url: fc.oneof(notAString, fc.constant("ftp://x.example/"), fc.constant("//no-scheme")) },
      ),
    ),
  },
  "POST approve": {
    method: "POST",
    path: () => `/api/v1/modules/agent-login/requests/${pendingId}/approve`,
    headers: () => ({ "x-agent-token": p.agentToken }),
    body: fc.oneof(
      nonObject.filter((v) => v !== null),
      withOneBadField(
        {},
        { pow_nonce: fc.oneof(notAString, fc.string({ maxLength: 30 }), fc.bigInt({ min: 0n }).map(String)) },
      ),
    ),
  },
  "POST admin/users/:id/kyc": {
    method: "POST",
    path: () => `/api/v1/admin/users/${p.ownerId}/kyc`,
    headers: () => ({ authorization: `Bearer ${ADMIN}` }),
    body: fc.oneof(
      nonObject,
      withOneBadField(
        {},
        {
          level: fc.oneof(
            fc.integer({ min: 3 }),
            fc.integer({ max: -1 }),
            fc.double({ min: 0.1, max: 1.9 }),
            fc.string(),
          ),
        },
      ),
    ),
  },
};

describe("fuzzing bodies: every endpoint answers a 4xx envelope and stores nothing", () => {
  for (const [name, c] of Object.entries(bodyCases)) {
    test(name, async () => {
      await fc.assert(
        fc.asyncProperty(c.body, async (body) => {
          const before = snapshot();
          const response = await api(t.url, c.path(), { method: c.method, headers: c.headers(), json: body });
          expectRejected(response, `${name} ${JSON.stringify(body)}`);
          expect(snapshot()).toBe(before);
        }),
        { numRuns: RUNS },
      );
    });
  }

  test("raw, malformed bodies with any content type on every JSON endpoint", async () => {
    const endpoints = Object.values(bodyCases);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: endpoints.length - 1 }),
        fc.oneof(fc.string({ maxLength: 200 }), fc.constantFrom("{", '{"a":', "[1,", "\u0000", "{}}", "nul")),
        fc.constantFrom(
          "application/json",
          "text/plain",
          "application/x-www-form-urlencoded",
          "multipart/form-data",
          "application/xml",
        ),
        async (index, raw, contentType) => {
          const c = endpoints[index]!;
          const before = snapshot();
          const response = await api(t.url, c.path(), {
            method: c.method,
            headers: { ...c.headers(), "content-type": contentType },
            body: raw,
          });
          // A raw "{}" (or an empty form) is a valid empty body for endpoints whose fields are all optional.
          if (response.status < 300) return;
          expectRejected(response, `${c.method} ${c.path()} ${contentType} ${JSON.stringify(raw)}`);
          expect(snapshot()).toBe(before);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  test("an oversized body is 413 PAYLOAD_TOO_LARGE in the envelope", async () => {
    const response = await api(t.url, "/api/v1/foundation/sites/register", {
      method: "POST",
      headers: owner(),
      json: { display_name: "x".repeat(t.config.maxBodyBytes + 10) },
    });
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe("PAYLOAD_TOO_LARGE");
  });
});

describe("fuzzing credentials in headers", () => {
  const guarded: Array<{ name: string; header: string; method: string; path: () => string; json?: unknown }> =
    [
      {
        name: "agent profile",
        header: "x-agent-token",
        method: "GET",
        path: () => "/api/v1/core/agents/me/profile",
      },
      {
        name: "passports",
        header: "x-agent-token",
        method: "POST",
        path: () => "/api/v1/core/passports",
        json: {},
      },
      {
        name: "approve",
        header: "x-agent-token",
        method: "POST",
        path: () => `/api/v1/modules/agent-login/requests/${pendingId}/approve`,
        json: { pow_nonce: "1" },
      },
      {
        name: "create request",
        header: "x-site-token",
        method: "POST",
        path: () => "/api/v1/modules/agent-login/requests",
        json: {},
      },
      {
        name: "request status",
        header: "x-site-token",
        method: "GET",
        path: () => `/api/v1/modules/agent-login/requests/${pendingId}`,
      },
      {
        name: "event stream",
        header: "x-site-token",
        method: "GET",
        path: () => "/api/v1/modules/agent-login/events",
      },
      { name: "owner me", header: "authorization", method: "GET", path: () => "/api/v1/foundation/users/me" },
      {
        name: "owner register site",
        header: "authorization",
        method: "POST",
        path: () => "/api/v1/foundation/sites/register",
        json: { display_name: "x" },
      },
      {
        name: "owner session cookie",
        header: "cookie",
        method: "POST",
        path: () => "/api/v1/core/agents/register",
        json: { display_name: "x" },
      },
      {
        name: "admin rotate",
        header: "authorization",
        method: "POST",
        path: () => "/api/v1/admin/keys/rotate",
      },
    ];

  for (const g of guarded) {
    test(`${g.name}: any ${g.header} value is refused with a 401/403 envelope`, async () => {
      await fc.assert(
        fc.asyncProperty(headerValue, async (value) => {
          const before = snapshot();
          const headerText = g.header === "cookie" ? `lime_session=${value}` : value;
          const response = await api(t.url, g.path(), {
            method: g.method,
            headers: { [g.header]: headerText },
            ...(g.json === undefined ? {} : { json: g.json }),
          });
          expectRejected(response, `${g.name} ${g.header}=${JSON.stringify(value)}`);
          expect([401, 403]).toContain(response.status);
          expect(snapshot()).toBe(before);
        }),
        { numRuns: RUNS },
      );
    });
  }
});

describe("fuzzing path parameters", () => {
  const routes: Array<{
    name: string;
    method: string;
    path: (segment: string) => string;
    headers: () => Record<string, string>;
    json?: unknown;
  }> = [
    { name: "challenge", method: "GET", path: (s) => `/api/v1/auth/requests/${s}`, headers: () => ({}) },
    {
      name: "approve",
      method: "POST",
      path: (s) => `/api/v1/modules/agent-login/requests/${s}/approve`,
      headers: () => ({ "x-agent-token": p.agentToken }),
      json: { pow_nonce: "1" },
    },
    {
      name: "status",
      method: "GET",
      path: (s) => `/api/v1/modules/agent-login/requests/${s}`,
      headers: () => ({ "x-site-token": p.siteToken }),
    },
    {
      name: "rotate site token",
      method: "POST",
      path: (s) => `/api/v1/foundation/sites/${s}/token`,
      headers: owner,
    },
    {
      name: "suspend site",
      method: "POST",
      path: (s) => `/api/v1/foundation/sites/${s}/suspend`,
      headers: owner,
    },
    { name: "delete site", method: "DELETE", path: (s) => `/api/v1/foundation/sites/${s}`, headers: owner },
    {
      name: "rotate agent token",
      method: "POST",
      path: (s) => `/api/v1/core/agents/${s}/token`,
      headers: owner,
    },
    { name: "revoke agent", method: "DELETE", path: (s) => `/api/v1/core/agents/${s}`, headers: owner },
    {
      name: "admin kyc",
      method: "POST",
      path: (s) => `/api/v1/admin/users/${s}/kyc`,
      headers: () => ({ authorization: `Bearer ${ADMIN}` }),
      json: { level: 1 },
    },
  ];

  for (const r of routes) {
    test(`${r.name}: unknown or malformed ids are a 4xx envelope`, async () => {
      await fc.assert(
        fc.asyncProperty(pathSegment, async (segment) => {
          const before = snapshot();
          const response = await api(t.url, r.path(encodeURIComponent(segment)), {
            method: r.method,
            headers: r.headers(),
            ...(r.json === undefined ? {} : { json: r.json }),
          });
          expectRejected(response, `${r.name} ${JSON.stringify(segment)}`);
          expect(snapshot()).toBe(before);
        }),
        { numRuns: RUNS },
      );
    });
  }

  test("query strings of the audit listing: bad limits and cursors are VALIDATION_FAILED", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 10 }),
          fc.integer({ max: 0 }).map(String),
          fc.integer({ min: 201 }).map(String),
        ),
        async (limit) => {
          const response = await api(t.url, `/api/v1/foundation/audit?limit=${encodeURIComponent(limit)}`, {
            headers: owner(),
          });
          if (response.status === 200) {
            expect(Number(limit)).toBeGreaterThanOrEqual(1);
            return;
          }
          expectRejected(response, `audit limit ${JSON.stringify(limit)}`);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
