/** HTTP and SSE helpers shared by the server integration tests. */

import * as pow from "@lime-ts/core/pow";
import {
  type Provisioned,
  startTestServer,
  type TestServer,
  type TestServerOptions,
} from "../../server/testing.ts";

export interface ApiResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON members
  body: any;
}

export interface ApiInit {
  method?: string;
  headers?: Record<string, string>;
  json?: unknown;
  body?: string;
}

/** One request; the body is parsed as JSON when there is one. */
export async function api(base: string, path: string, init: ApiInit = {}): Promise<ApiResponse> {
  const headers = new Headers(init.headers);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.json);
  }
  const response = await fetch(base + path, { method: init.method ?? "GET", headers, body });
  const text = await response.text();
  let parsed: unknown = null;
  if (text !== "") {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** Solves with core's `solve` (the agent's own solver), so the server is tested against the real client path. */
export async function solvePow(challenge: string, difficulty: number): Promise<string> {
  return (await pow.solve(challenge, difficulty)).nonce;
}

/** A nonce that does not meet the difficulty (checked with core's `verify`). */
export function wrongNonce(challenge: string, difficulty: number): string {
  for (let nonce = 0; ; nonce++) {
    if (!pow.verify(challenge, difficulty, String(nonce))) return String(nonce);
  }
}

export interface SseEvent {
  id: string | null;
  // biome-ignore lint/suspicious/noExplicitAny: event payloads are JSON
  data: any;
}

/** A Server-Sent Events reader over fetch, parsing `id:` and `data:` fields (WHATWG HTML §9.2.6). */
export class SseClient {
  readonly events: SseEvent[] = [];
  status = 0;
  contentType: string | null = null;
  private readonly controller = new AbortController();
  private buffer = "";
  private waiters: Array<() => void> = [];
  private done: Promise<void> = Promise.resolve();

  static async connect(url: string, headers: Record<string, string>): Promise<SseClient> {
    const client = new SseClient();
    const response = await fetch(url, { headers, signal: client.controller.signal });
    client.status = response.status;
    client.contentType = response.headers.get("content-type");
    if (response.ok && response.body) client.done = client.pump(response.body);
    else await response.body?.cancel();
    return client;
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        this.buffer += decoder.decode(value, { stream: true });
        let end = this.buffer.indexOf("\n\n");
        while (end !== -1) {
          this.parse(this.buffer.slice(0, end));
          this.buffer = this.buffer.slice(end + 2);
          end = this.buffer.indexOf("\n\n");
        }
      }
    } catch {
      // Aborted by close().
    }
    this.notify();
  }

  private parse(block: string): void {
    let id: string | null = null;
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("id:")) id = line.slice(3).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    }
    if (data.length === 0) return;
    this.events.push({ id, data: JSON.parse(data.join("\n")) });
    this.notify();
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Outcome events (keepalives left out). */
  outcomes(): SseEvent[] {
    return this.events.filter((event) => event.data.type !== "keepalive");
  }

  /** Resolves once `predicate` holds over the received events; rejects after `timeoutMs`. */
  async waitFor(predicate: (events: SseEvent[]) => boolean, timeoutMs = 3000): Promise<SseEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.events)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for SSE events; got ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.events;
  }

  /**
   * Resolves once the server ended the stream and everything it sent was
   * read (or after `timeoutMs`): after a server dies, what it wrote before
   * may still be on its way, and `close()` would drop it.
   */
  async ended(timeoutMs = 5000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.done, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.done;
  }
}

/** Row count of a table, to prove a rejected request stored nothing. */
export function countRows(db: { query(sql: string): { get(): unknown } }, table: string): number {
  return (db.query(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
}

/** Runs `use` on a fresh server started with `options`, and stops the server whatever happens. */
export async function withTestServer(
  options: TestServerOptions,
  use: (t: TestServer) => Promise<void>,
): Promise<void> {
  const t = await startTestServer(options);
  try {
    await use(t);
  } finally {
    await t.stop();
  }
}

/** A fresh server with one owner, site and agent provisioned on it; a server whose provisioning fails is stopped. */
export async function startProvisioned(
  options: TestServerOptions = {},
): Promise<{ t: TestServer; p: Provisioned }> {
  const t = await startTestServer(options);
  try {
    return { t, p: await t.provision() };
  } catch (error) {
    await t.stop();
    throw error;
  }
}

/**
 * The statuses of three failed logins through a trusted proxy that appends
 * `forwardedFor(attempt)` (attempt 1 to 3) to X-Forwarded-For, on a fresh
 * server allowing two per address a minute: [401, 401, 429] when the three
 * share one rate-limit bucket.
 */
export async function loginStatusesViaProxy(forwardedFor: (attempt: number) => string): Promise<number[]> {
  const statuses: number[] = [];
  await withTestServer({ config: { trustProxy: true, rateLimits: { authPerMinute: 2 } } }, async (t) => {
    for (let attempt = 1; attempt <= 3; attempt++) {
      const response = await api(t.url, "/api/v1/foundation/users/login", {
        method: "POST",
        headers: { "x-forwarded-for": forwardedFor(attempt) },
        json: { email: `nobody-${attempt}@example.test`, password: "not the password" },
      });
      statuses.push(response.status);
    }
  });
  return statuses;
}
