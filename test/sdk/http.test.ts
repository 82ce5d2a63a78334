import { describe, expect, test } from "bun:test";
import { LimeApiError, LimeSdkError } from "@lime-ts/sdk";
import { HttpClient, normalizeBaseUrl } from "../../sdk/internal/http.ts";
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  isRetryableStatus,
  parseRetryAfter,
} from "../../sdk/internal/retry.ts";

interface Call {
  url: string;
  init: RequestInit | undefined;
}

/** A scripted transport: each call takes the next step (a Response to return, or an error to throw). */
function scripted(steps: (Response | Error | (() => Promise<Response>))[]) {
  const calls: Call[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    calls.push({ url: String(input), init });
    const step = steps.shift();
    if (step === undefined) throw new Error("transport script exhausted");
    if (step instanceof Error) throw step;
    if (typeof step === "function") return step();
    return step;
  };
  return { fetch, calls };
}

function envelope(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** The error a call rejects with; fails the test when it resolves. */
async function failure(
  pending: Promise<unknown>,
): Promise<{ code: string; status?: number; detail?: unknown; message: string; retryAfterMs?: number }> {
  try {
    await pending;
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error("expected the call to reject");
}

const ok = (data: unknown) => envelope(200, { ok: true, data });
const fail = (status: number, code: string, headers: Record<string, string> = {}) =>
  envelope(
    status,
    { ok: false, error: { code, message: `${code} happened`, detail: { field: "x" } } },
    headers,
  );

const fastRetry = { baseDelayMs: 1, maxDelayMs: 2 };

describe("HttpClient envelope", () => {
  test("returns data of a success envelope and sends JSON with accept and content-type", async () => {
    const t = scripted([ok({ hello: "world" })]);
    const http = new HttpClient({ baseUrl: "https://lime.example/base/", fetch: t.fetch });
    const data = await http.send({ method: "POST", path: "/api/v1/x", body: { a: 1 }, idempotent: false });
    expect(data).toEqual({ hello: "world" });
    expect(t.calls[0]?.url).toBe("https://lime.example/base/api/v1/x");
    const headers = t.calls[0]?.init?.headers as Record<string, string>;
    expect(headers["content-type"]).toBe("application/json");
    expect(headers.accept).toBe("application/json");
    expect(t.calls[0]?.init?.body).toBe('{"a":1}');
    expect(t.calls[0]?.init?.redirect).toBe("manual");
  });

  test("maps an error envelope to LimeApiError with code, status, message and detail", async () => {
    const t = scripted([fail(400, "INVALID_POW")]);
    const http = new HttpClient({ baseUrl: "https://lime.example", fetch: t.fetch });
    const error = await failure(http.send({ method: "POST", path: "/p", idempotent: false }));
    expect(error).toBeInstanceOf(LimeApiError);
    expect(error.code).toBe("INVALID_POW");
    expect(error.status).toBe(400);
    expect(error.message).toBe("INVALID_POW happened");
    expect(error.detail).toEqual({ field: "x" });
  });

  test("a non-envelope error body becomes HTTP_ERROR with the status", async () => {
    const t = scripted([new Response("<html>bad gateway</html>", { status: 502 })]);
    const http = new HttpClient({ baseUrl: "https://lime.example", fetch: t.fetch, retry: { retries: 0 } });
    const error = await failure(http.send({ method: "GET", path: "/p", idempotent: true }));
    expect(error).toBeInstanceOf(LimeApiError);
    expect(error.code).toBe("HTTP_ERROR");
    expect(error.status).toBe(502);
  });

  test("a 2xx that is not an envelope is SDK_INVALID_RESPONSE; 204 is undefined", async () => {
    const t = scripted([new Response('{"keys":[]}', { status: 200 }), new Response(null, { status: 204 })]);
    const http = new HttpClient({ baseUrl: "https://lime.example", fetch: t.fetch });
    const error = await failure(http.send({ method: "GET", path: "/p", idempotent: true }));
    expect(error).toBeInstanceOf(LimeSdkError);
    expect(error.code).toBe("SDK_INVALID_RESPONSE");
    expect(await http.send({ method: "DELETE", path: "/p", idempotent: true })).toBeUndefined();
  });

  test("a redirect is refused, not followed (tokens travel in custom headers)", async () => {
    const t = scripted([new Response(null, { status: 302, headers: { location: "https://evil.example/" } })]);
    const http = new HttpClient({ baseUrl: "https://lime.example", fetch: t.fetch });
    const error = await failure(http.send({ method: "GET", path: "/p", idempotent: true }));
    expect(error.code).toBe("SDK_INVALID_RESPONSE");
    expect(t.calls).toHaveLength(1);
  });

  test("refuses base URLs that are not http(s) or carry a query", () => {
    expect(() => normalizeBaseUrl("ftp://x", "baseUrl")).toThrow(TypeError);
    expect(() => normalizeBaseUrl("https://x/?a=1", "baseUrl")).toThrow(TypeError);
    expect(() => normalizeBaseUrl("", "baseUrl")).toThrow(TypeError);
    expect(normalizeBaseUrl("https://x.example/a//", "baseUrl")).toBe("https://x.example/a");
  });
});

describe("HttpClient retries", () => {
  test("retries an idempotent call on 503, 429, 408 and a network error, then succeeds", async () => {
    const t = scripted([
      fail(503, "UNAVAILABLE"),
      fail(429, "RATE_LIMIT_EXCEEDED"),
      new TypeError("fetch failed"),
      ok(1),
    ]);
    const http = new HttpClient({ baseUrl: "https://lime.example", fetch: t.fetch, retry: fastRetry });
    expect(await http.send({ method: "GET", path: "/p", idempotent: true })).toBe(1);
    expect(t.calls).toHaveLength(4);
  });

  test("never retries a non-idempotent call, whatever the failure", async () => {
    for (const step of [
      fail(503, "X"),
      fail(429, "RATE_LIMIT_EXCEEDED", { "retry-after": "1" }),
      new TypeError("reset"),
    ]) {
      const t = scripted([step, ok(1)]);
      const http = new HttpClient({ baseUrl: "https://lime.example", fetch: t.fetch, retry: fastRetry });
      await expect(http.send({ method: "POST", path: "/p", idempotent: false })).rejects.toBeDefined();
      expect(t.calls).toHaveLength(1);
    }
  });

  test("does not retry 4xx other than 408/429", async () => {
    const t = scripted([fail(401, "INVALID_AGENT_TOKEN"), ok(1)]);
    const http = new HttpClient({ baseUrl: "https://lime.example", fetch: t.fetch, retry: fastRetry });
    await expect(http.send({ method: "GET", path: "/p", idempotent: true })).rejects.toMatchObject({
      code: "INVALID_AGENT_TOKEN",
      status: 401,
    });
    expect(t.calls).toHaveLength(1);
  });

  test("gives up after the configured number of retries with the last error", async () => {
    const t = scripted([fail(500, "A"), fail(500, "B"), fail(500, "C")]);
    const http = new HttpClient({
      baseUrl: "https://lime.example",
      fetch: t.fetch,
      retry: { ...fastRetry, retries: 2 },
    });
    await expect(http.send({ method: "GET", path: "/p", idempotent: true })).rejects.toMatchObject({
      code: "C",
    });
    expect(t.calls).toHaveLength(3);
  });

  test("honours Retry-After: waits that long instead of the drawn backoff", async () => {
    const waits: number[] = [];
    const t = scripted([
      fail(429, "RATE_LIMIT_EXCEEDED", { "retry-after": "2" }),
      fail(503, "X"),
      ok("done"),
    ]);
    const http = new HttpClient({
      baseUrl: "https://lime.example",
      fetch: t.fetch,
      retry: { baseDelayMs: 100, maxDelayMs: 100 },
      random: () => 0.5,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    expect(await http.send({ method: "GET", path: "/p", idempotent: true })).toBe("done");
    // The first wait is the server's 2 s; the second, without Retry-After, is the drawn jitter.
    expect(waits).toEqual([2000, 50]);
  });

  test("a Retry-After longer than maxRetryAfterMs goes to the caller with retryAfterMs", async () => {
    const t = scripted([fail(429, "RATE_LIMIT_EXCEEDED", { "retry-after": "120" }), ok(1)]);
    const http = new HttpClient({ baseUrl: "https://lime.example", fetch: t.fetch, retry: fastRetry });
    const error = await failure(http.send({ method: "GET", path: "/p", idempotent: true }));
    expect(error.retryAfterMs).toBe(120_000);
    expect(t.calls).toHaveLength(1);
  });

  test("an abort during the backoff sleep ends the call with SDK_ABORTED at once", async () => {
    const controller = new AbortController();
    const t = scripted([fail(503, "X"), ok(1)]);
    const http = new HttpClient({
      baseUrl: "https://lime.example",
      fetch: t.fetch,
      retry: { baseDelayMs: 60_000, maxDelayMs: 60_000 },
      random: () => 0.99,
    });
    const pending = http.send({ method: "GET", path: "/p", idempotent: true, signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    await expect(pending).rejects.toMatchObject({ code: "SDK_ABORTED" });
    expect(t.calls).toHaveLength(1);
  });

  test("a per-attempt timeout is SDK_TIMEOUT and is retried for idempotent calls", async () => {
    const hang = (_: unknown, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
      });
    let calls = 0;
    const fetch = async (input: string | URL | Request, init?: RequestInit) => {
      calls++;
      return calls === 1 ? hang(input, init) : ok("late but fine");
    };
    const http = new HttpClient({ baseUrl: "https://lime.example", fetch, timeoutMs: 20, retry: fastRetry });
    expect(await http.send({ method: "GET", path: "/p", idempotent: true })).toBe("late but fine");
    const once = new HttpClient({
      baseUrl: "https://lime.example",
      fetch: hang,
      timeoutMs: 20,
      retry: { retries: 0 },
    });
    await expect(once.send({ method: "GET", path: "/p", idempotent: true })).rejects.toMatchObject({
      code: "SDK_TIMEOUT",
    });
  });
});

describe("retry policy", () => {
  test("408, 429 and 5xx are retryable; other statuses are not", () => {
    expect([408, 429, 500, 502, 503, 599].every(isRetryableStatus)).toBe(true);
    expect([200, 400, 401, 403, 404, 409, 410, 422].some(isRetryableStatus)).toBe(false);
  });

  test("full jitter stays within [0, min(cap, base * 2^n))", () => {
    for (let n = 0; n < 10; n++) {
      const ceiling = Math.min(DEFAULT_RETRY_POLICY.maxDelayMs, DEFAULT_RETRY_POLICY.baseDelayMs * 2 ** n);
      expect(backoffDelay(n, DEFAULT_RETRY_POLICY, () => 0)).toBe(0);
      expect(backoffDelay(n, DEFAULT_RETRY_POLICY, () => 0.999999)).toBe(Math.floor(0.999999 * ceiling));
    }
  });

  test("Retry-After as delay-seconds and as HTTP-date (RFC 9110 §10.2.3)", () => {
    const now = Date.parse("2026-11-26T12:00:00Z");
    expect(parseRetryAfter("3", now)).toBe(3000);
    expect(parseRetryAfter("Thu, 26 Nov 2026 12:00:05 GMT", now)).toBe(5000);
    expect(parseRetryAfter("Thu, 26 Nov 2026 11:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("-1", now)).toBeUndefined();
    expect(parseRetryAfter("1.5", now)).toBeUndefined();
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
