/**
 * LoginEventConsumer against a scripted event stream (the transport is
 * scripted; passports are real RS256 tokens verified by the real verifier),
 * for the paths a real server does not produce on demand: malformed events,
 * unknown types, a silent stream, 429 with Retry-After, statuses the poll
 * can meet, handler failures.
 */
import { describe, expect, test } from "bun:test";
import type { LoginRequestState } from "@lime-ts/sdk";
import { LimeApiError, LimeSdkError, PassportVerifier } from "@lime-ts/sdk";
import { LoginEventConsumer, type LoginEventsDeps, type LoginOutcome } from "../../sdk/site/login-events.ts";
import { createTestIssuer, ISSUER, sign } from "./helpers/issuer.ts";
import { until } from "./helpers/until.ts";

const SITE = "site-1";

interface ScriptedStream {
  push(text: string): void;
  close(): void;
}

async function setup(options: { fetchState?: (id: string) => Promise<LoginRequestState> } = {}) {
  const issuer = await createTestIssuer();
  const verifier = new PassportVerifier({ issuer: ISSUER, fetch: issuer.fetch });
  const streams: ScriptedStream[] = [];
  const opened: (string | undefined)[] = [];
  let nextResponse: (() => Response) | undefined;
  const deps: LoginEventsDeps = {
    openStream: async (lastEventId) => {
      opened.push(lastEventId);
      if (nextResponse) {
        const make = nextResponse;
        nextResponse = undefined;
        return make();
      }
      let controller!: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          controller = c;
        },
      });
      const encoder = new TextEncoder();
      streams.push({
        push: (text) => controller.enqueue(encoder.encode(text)),
        close: () => controller.close(),
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    },
    fetchState: options.fetchState ?? (async (id) => requestState(id, "PENDING")),
    verify: (jwt, requestId) =>
      verifier.verify(jwt, { audience: "lime-site-login", requestId, siteId: SITE }),
    now: Date.now,
    random: () => 0.5,
  };
  const loginPassport = (requestId: string) => {
    const now = Math.floor(Date.now() / 1000);
    return sign(
      issuer.keys[0]!,
      { aud: "lime-site-login", request_id: requestId, site_id: SITE, iat: now, exp: now + 60 },
      now,
    );
  };
  return {
    deps,
    streams,
    opened,
    loginPassport,
    respondOnce: (make: () => Response) => {
      nextResponse = make;
    },
  };
}

/** What the status endpoint says of request `id` (a pending request unless `fields` say otherwise). */
function requestState(
  id: string,
  status: LoginRequestState["status"],
  fields: Partial<LoginRequestState> = {},
): LoginRequestState {
  return {
    requestId: id,
    siteId: null,
    status,
    expiresAt: "2099-01-01T00:00:00Z",
    approvedAgentId: null,
    passportJwt: null,
    ...fields,
  };
}

/** One subscriber that collects every outcome and every reported error. */
function listen(consumer: LoginEventConsumer) {
  const outcomes: LoginOutcome[] = [];
  const errors: Error[] = [];
  const subscription = consumer.subscribe(
    (o) => void outcomes.push(o),
    (e) => void errors.push(e),
  );
  return { outcomes, errors, subscription };
}

const fast = { reconnectBaseMs: 10, reconnectMaxMs: 20, pollIntervalMs: 20 };

describe("LoginEventConsumer", () => {
  test("dispatches approved (verified) and expired, ignores keepalives and unknown types, reports malformed events", async () => {
    const s = await setup();
    const consumer = new LoginEventConsumer(s.deps, fast);
    const { outcomes, errors, subscription } = listen(consumer);
    await until(() => s.streams.length === 1);
    const stream = s.streams[0]!;
    stream.push(`id: 1\ndata: ${JSON.stringify({ type: "keepalive" })}\n\n`);
    stream.push(`id: 2\ndata: ${JSON.stringify({ type: "future-thing", x: 1 })}\n\n`);
    stream.push("id: 3\ndata: not json\n\n");
    stream.push(
      `id: 4\ndata: ${JSON.stringify({ type: "approved", login_request_id: "r1", agent_passport_jwt: await s.loginPassport("r1"), redirect_url: "https://shop.test/done" })}\n\n`,
    );
    stream.push(`id: 5\ndata: ${JSON.stringify({ type: "expired", login_request_id: "r2" })}\n\n`);
    await until(() => outcomes.length === 2);
    expect(outcomes[0]).toMatchObject({
      type: "approved",
      requestId: "r1",
      redirectUrl: "https://shop.test/done",
      via: "stream",
    });
    expect(outcomes[1]).toMatchObject({ type: "expired", requestId: "r2", via: "stream" });
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(["SDK_INVALID_RESPONSE"]);
    expect(consumer.lastEventId).toBe("5");
    await subscription.stop();
  });

  test("an approval whose passport fails verification is dispatched as rejected, never approved", async () => {
    const s = await setup();
    const { outcomes, subscription } = listen(new LoginEventConsumer(s.deps, fast));
    await until(() => s.streams.length === 1);
    // A passport for request r1 delivered as the outcome of r9: a replay into another request.
    const jwt = await s.loginPassport("r1");
    s.streams[0]!.push(
      `data: ${JSON.stringify({ type: "approved", login_request_id: "r9", agent_passport_jwt: jwt })}\n\n`,
    );
    await until(() => outcomes.length === 1);
    expect(outcomes[0]).toMatchObject({ type: "rejected", requestId: "r9" });
    expect((outcomes[0] as unknown as { error: { code: string } }).error.code).toBe("PASSPORT_WRONG_REQUEST");
    await subscription.stop();
  });

  test("each outcome is dispatched once even when the stream replays it", async () => {
    const s = await setup();
    const { outcomes, subscription } = listen(new LoginEventConsumer(s.deps, fast));
    await until(() => s.streams.length === 1);
    const event = `data: ${JSON.stringify({ type: "expired", login_request_id: "r1" })}\n\n`;
    s.streams[0]!.push(`id: 7\n${event}`);
    s.streams[0]!.close();
    await until(() => s.streams.length === 2);
    expect(s.opened).toEqual([undefined, "7"]);
    s.streams[1]!.push(`id: 7\n${event}`);
    s.streams[1]!.push(`id: 8\ndata: ${JSON.stringify({ type: "expired", login_request_id: "r2" })}\n\n`);
    await until(() => outcomes.length === 2);
    expect(outcomes.map((o) => o.requestId)).toEqual(["r1", "r2"]);
    await subscription.stop();
  });

  test("a stream silent past the heartbeat timeout is replaced", async () => {
    const s = await setup();
    const { errors, subscription } = listen(
      new LoginEventConsumer(s.deps, { ...fast, heartbeatTimeoutMs: 50 }),
    );
    await until(() => s.streams.length >= 2);
    expect(errors.some((e) => (e as { code?: string }).code === "SDK_TIMEOUT")).toBe(true);
    await subscription.stop();
  });

  for (const { title, response, errorClass, error } of [
    {
      title: "a 429 on connect is reported with its Retry-After and retried, not fatal",
      response: () =>
        Response.json(
          { ok: false, error: { code: "RATE_LIMIT_EXCEEDED", message: "slow down", detail: {} } },
          { status: 429, headers: { "retry-after": "0" } },
        ),
      errorClass: LimeApiError,
      error: { code: "RATE_LIMIT_EXCEEDED", retryAfterMs: 0 },
    },
    {
      title: "an answer that is not an event stream is reported and retried",
      response: () => new Response("<html>", { headers: { "content-type": "text/html" } }),
      errorClass: LimeSdkError,
      error: { code: "SDK_INVALID_RESPONSE" },
    },
  ]) {
    test(title, async () => {
      const s = await setup();
      s.respondOnce(response);
      const { errors, subscription } = listen(new LoginEventConsumer(s.deps, fast));
      // The refused connection is followed by a working one.
      await until(() => s.streams.length === 1);
      expect(errors[0]).toBeInstanceOf(errorClass);
      expect(errors[0]).toMatchObject(error);
      await subscription.stop();
    });
  }

  test("the poll settles EXPIRED, NOT_FOUND and a delivered request whose passport is gone", async () => {
    const states: Record<string, LoginRequestState | LimeApiError> = {
      a: requestState("a", "EXPIRED", { expiresAt: "2000-01-01T00:00:00Z" }),
      b: new LimeApiError("SITE_LOGIN_REQUEST_NOT_FOUND", "no", 404),
      c: requestState("c", "DELIVERED", { approvedAgentId: "x" }),
    };
    const s = await setup({
      fetchState: async (id) => {
        const state = states[id]!;
        if (state instanceof LimeApiError) throw state;
        return state;
      },
    });
    const consumer = new LoginEventConsumer(s.deps, fast);
    const results = await Promise.allSettled(["a", "b", "c"].map((id) => consumer.wait(id)));
    expect(results.map((r) => (r.status === "rejected" ? r.reason.code : "resolved"))).toEqual([
      "SDK_LOGIN_EXPIRED",
      "SITE_LOGIN_REQUEST_NOT_FOUND",
      "SDK_LOGIN_NOT_PENDING",
    ]);
    await consumer.stop();
  });

  test("the poll finds an approval with its passport; a wait after the outcome resolves at once", async () => {
    const s = await setup();
    const jwt = await s.loginPassport("r1");
    s.deps.fetchState = async (id) =>
      requestState(id, "APPROVED", { approvedAgentId: "agent-1", passportJwt: id === "r1" ? jwt : null });
    const consumer = new LoginEventConsumer(s.deps, fast);
    expect((await consumer.wait("r1")).requestId).toBe("r1");
    expect((await consumer.wait("r1")).requestId).toBe("r1");
    await consumer.stop();
  });

  test("a throwing handler is reported to its onError and does not stop the others", async () => {
    const s = await setup();
    const consumer = new LoginEventConsumer(s.deps, fast);
    const errors: Error[] = [];
    const seen: string[] = [];
    const a = consumer.subscribe(
      () => {
        throw new Error("handler bug");
      },
      (e) => void errors.push(e),
    );
    const b = consumer.subscribe(
      async () => {
        seen.push("b");
        throw new Error("async handler bug");
      },
      (e) => void errors.push(e),
    );
    await until(() => s.streams.length === 1);
    s.streams[0]!.push(`data: ${JSON.stringify({ type: "expired", login_request_id: "r1" })}\n\n`);
    await until(() => errors.length === 2);
    expect(seen).toEqual(["b"]);
    expect(errors.map((e) => e.message).sort()).toEqual(["async handler bug", "handler bug"]);
    await a.stop();
    await b.stop();
  });

  test("subscribe refuses a handler that is not a function", async () => {
    const s = await setup();
    const consumer = new LoginEventConsumer(s.deps, fast);
    expect(() => consumer.subscribe(undefined as unknown as () => void)).toThrow(TypeError);
  });
});
