/**
 * Regressions found by sending hostile bodies to `npm start` (issue 8):
 * - an anonymous 60 KB body of 30,000 nested arrays blocked the event loop
 *   for 24-36 s (schema validation and its error description), and at 5,000+
 *   levels inside a string field the error mapping overflowed its stack and
 *   answered 500. Nesting is now bounded (32 levels) by a linear scan before
 *   `JSON.parse`;
 * - a body over `MAX_BODY_BYTES` by more than 1 KiB got Bun's bare 413 with
 *   no body; a chunked one was read whole first. Both are now the envelope's
 *   413, refused as soon as the limit is passed.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MAX_JSON_DEPTH } from "../../../server/http/body.ts";
import { startTestServer, type TestServer } from "../../../server/testing.ts";
import { countRows } from "../helpers.ts";

const MAX_BODY = 4096;
/** On the default body limit (64 KiB), as `npm start` runs. */
let t: TestServer;
/** On a small body limit, so the size tests send little. */
let small: TestServer;

beforeAll(async () => {
  t = await startTestServer({ config: { adminToken: "a".repeat(40) } });
  small = await startTestServer({ config: { maxBodyBytes: MAX_BODY } });
});

afterAll(async () => {
  await t.stop();
  await small.stop();
});

const nestedArrays = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
const nestedObjects = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

async function post(path: string, body: BodyInit, headers: Record<string, string> = {}, server = t) {
  const response = await fetch(server.url + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
    // @ts-expect-error Bun and Node need it for a streamed request body
    duplex: "half",
  });
  const text = await response.text();
  return { status: response.status, body: text === "" ? null : JSON.parse(text) };
}

describe("JSON nesting is bounded before validation", () => {
  const routes = [
    "/api/v1/admin/keys/rotate",
    "/api/v1/foundation/kyc/submissions",
    "/api/v1/foundation/users/login",
    `/api/v1/modules/agent-login/requests/${crypto.randomUUID()}/approve`,
  ];

  for (const path of routes) {
    test(`${path}: 30,000 nested arrays (60 KB) are 400 MALFORMED_BODY, not a stall or a 500`, async () => {
      const answer = await post(path, `{"revoke_current": ${nestedArrays(30_000)}}`);
      expect(answer.status).toBe(400);
      expect(answer.body.error).toEqual({
        code: "MALFORMED_BODY",
        message: `The request body nests deeper than ${MAX_JSON_DEPTH} levels.`,
        detail: { max_depth: MAX_JSON_DEPTH },
      });
    });
  }

  test("nesting inside a string field (the 500 of the validation error mapping) is refused the same way", async () => {
    const answer = await post(
      "/api/v1/foundation/users/login",
      `{"email": ${nestedObjects(5000)}, "password": "x"}`,
    );
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("MALFORMED_BODY");
  });

  test("exactly the limit still reaches validation; one more level does not", async () => {
    const atLimit = await post(
      "/api/v1/foundation/users/login",
      `{"email": ${nestedArrays(MAX_JSON_DEPTH - 1)}}`,
    );
    expect(atLimit.status).toBe(400);
    expect(atLimit.body.error.code).toBe("VALIDATION_FAILED");
    const over = await post("/api/v1/foundation/users/login", `{"email": ${nestedArrays(MAX_JSON_DEPTH)}}`);
    expect(over.body.error.code).toBe("MALFORMED_BODY");
  });

  test("brackets inside strings, escaped quotes included, do not count as nesting", async () => {
    const deepLookingString = JSON.stringify(`\\"${"[{".repeat(500)}`);
    const answer = await post(
      "/api/v1/foundation/users/login",
      `{"email": ${deepLookingString}, "password": "x"}`,
    );
    expect(answer.body.error.code).toBe("VALIDATION_FAILED");
  });

  test("the OAuth JSON endpoints refuse deep nesting in their own error format", async () => {
    const registration = await post(
      "/api/v1/modules/oauth/register",
      `{"redirect_uris": ${nestedArrays(30_000)}}`,
    );
    expect(registration.status).toBe(400);
    expect(registration.body.error).toBe("invalid_client_metadata");
    const token = await post("/api/v1/modules/oauth/token", `{"domain": ${nestedObjects(5000)}}`);
    expect(token.status).toBeGreaterThanOrEqual(400);
    expect(token.status).toBeLessThan(500);
  });
});

describe("oversized bodies get the envelope's 413", () => {
  const expect413 = (answer: { status: number; body: { error: unknown } }) => {
    expect(answer.status).toBe(413);
    expect(answer.body.error).toEqual({
      code: "PAYLOAD_TOO_LARGE",
      message: "The request body is too large.",
      detail: { max_bytes: MAX_BODY },
    });
  };

  test("declared by Content-Length, just over and far over the limit (Bun's bare 413 started at +1 KiB)", async () => {
    for (const size of [MAX_BODY + 1, MAX_BODY + 1025, MAX_BODY * 40]) {
      expect413(
        await post("/api/v1/foundation/users/login", JSON.stringify({ email: "x".repeat(size) }), {}, small),
      );
    }
  });

  test("chunked, without Content-Length, refused once the limit is passed", async () => {
    const chunk = new TextEncoder().encode(`"${"x".repeat(1000)}",`);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('{"email": ['));
        controller.enqueue(chunk);
        sent += 1;
        // Far more than the limit if the server read it all; it must stop long before.
        if (sent === 200) {
          controller.enqueue(new TextEncoder().encode('""]}'));
          controller.close();
        }
      },
    });
    expect413(await post("/api/v1/foundation/users/login", body, {}, small));
  });

  test("an OAuth form body over the limit is refused too", async () => {
    const answer = await post(
      "/api/v1/modules/oauth/token",
      `grant_type=${"x".repeat(MAX_BODY * 2)}`,
      { "content-type": "application/x-www-form-urlencoded" },
      small,
    );
    expect413(answer);
  });

  test("a refused body stores nothing and the connection is not reused", async () => {
    const before = countRows(small.db, "users");
    const answer = await fetch(`${small.url}/api/v1/foundation/users/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "big@example.test", password: "x".repeat(MAX_BODY * 2) }),
    });
    expect(answer.status).toBe(413);
    expect(answer.headers.get("connection")).toBe("close");
    expect(countRows(small.db, "users")).toBe(before);
    expect((await fetch(`${small.url}/health`)).status).toBe(200);
  });
});
