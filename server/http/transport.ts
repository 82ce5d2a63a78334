/**
 * The HTTP/1.1 listener in front of the app: `node:http` (llhttp), turning
 * each request into a WHATWG `Request` for Elysia's `app.handle` and writing
 * the `Response` back. Why not `Bun.serve`: docs/decisions/server-http-transport.md
 * (in short, uWS answers a malformed request line with a bare 505 that no
 * hook can change, and it has no header or request deadline).
 *
 * What it guarantees:
 * - Protocol errors (a malformed request line or header, headers over
 *   `maxHeaderBytes`, a request not received in time) get a 4xx in the API's
 *   envelope and the connection is closed; never a 5xx.
 * - Request bodies are streamed to the app, never buffered here; of a body
 *   the app did not read to the end (refused as too large, say) at most
 *   `DISCARD_MAX_BYTES` more are read and dropped before the connection closes.
 * - Streamed response bodies (Server-Sent Events) are read one chunk at a
 *   time, and the next chunk is read only once the previous one has been
 *   handed to the socket. A source therefore knows its chunk was written when
 *   it is pulled again: that is how an outcome is marked delivered only after
 *   it left the process (server/modules/agent-login/event-stream.ts).
 * - A client that goes away cancels a streamed response's body, as `fetch`
 *   does when its reader gives up. No `AbortSignal` is made per request: a
 *   signal kept for each of 20,000 event streams cost ~0.8 KiB apiece, and
 *   the streams are all that would listen to it.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { DomainErrorCode } from "../errors.ts";
import type { Logger } from "../infrastructure/logger.ts";
import { recordPeerAddress } from "./client-address.ts";
import { failure } from "./envelope.ts";
import { STATUS_BY_CODE } from "./error-boundary.ts";
import { REQUEST_ID_HEADER } from "./request-id.ts";

export interface TransportOptions {
  port: number;
  hostname: string;
  /** Time a client has to send the request line and headers (a slow-loris bound). */
  headersTimeoutMs: number;
  /** Time a client has to send the whole request, body included. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open between requests. */
  keepAliveTimeoutMs: number;
  maxHeaderBytes: number;
  logger: Logger;
  /**
   * Told what was sent for each request the handler answered: the status and
   * the body's bytes (0 without a body or for HEAD), or `null` for an event
   * stream, still going (the access log: server/http/access-log.ts).
   */
  onAnswer?(request: Request, status: number, bytes: number | null): void;
}

export interface Transport {
  port: number;
  /**
   * Stops accepting and resolves once every connection is closed. With
   * `graceMs`, responses in flight (an event stream's last frame among them)
   * get that long to finish before the rest are cut; without it, at once.
   */
  close(graceMs?: number): Promise<void>;
}

export type RequestHandler = (request: Request) => Response | Promise<Response>;

const METHODS_WITHOUT_BODY = new Set(["GET", "HEAD", "OPTIONS", "DELETE"]);

/** The code of each protocol error, by llhttp / node:http error code; the rest are MALFORMED_REQUEST. */
function protocolErrorCode(code: string | undefined): DomainErrorCode {
  if (code === "HPE_HEADER_OVERFLOW") return "HEADERS_TOO_LARGE";
  if (code === "ERR_HTTP_REQUEST_TIMEOUT" || code === "ERR_HTTP_HEADERS_TIMEOUT") return "REQUEST_TIMEOUT";
  return "MALFORMED_REQUEST";
}

const PROTOCOL_ERRORS: Record<string, { reason: string; message: string }> = {
  MALFORMED_REQUEST: { reason: "Bad Request", message: "The request is not valid HTTP/1.1." },
  HEADERS_TOO_LARGE: {
    reason: "Request Header Fields Too Large",
    message: "The request headers are too large.",
  },
  REQUEST_TIMEOUT: { reason: "Request Timeout", message: "The request was not received in time." },
};

function answerProtocolError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const code = protocolErrorCode(error.code);
  const { reason, message } = PROTOCOL_ERRORS[code]!;
  const status = STATUS_BY_CODE[code];
  const body = JSON.stringify(failure(code, message));
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n` +
      // A fresh id, as every other answer has one: the request's own could not be read (request-id.ts).
      `${REQUEST_ID_HEADER}: ${crypto.randomUUID()}\r\n` +
      "content-type: application/json; charset=utf-8\r\n" +
      "cache-control: no-store\r\n" +
      "x-content-type-options: nosniff\r\n" +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      "connection: close\r\n\r\n" +
      body,
  );
}

/** The path and query of the request target; absolute-form targets (RFC 9112 §3.2.2) keep only those. */
function originForm(target: string): string | null {
  if (target.startsWith("/")) return target;
  try {
    const url = new URL(target);
    return url.protocol === "http:" || url.protocol === "https:" ? url.pathname + url.search : null;
  } catch {
    return null;
  }
}

/**
 * The body as a pull stream over the socket: the socket is read only while
 * the app asks for more. When the app stops early (a body over the limit),
 * the rest is left to `discardUnreadBody`.
 */
function bodyStream(incoming: IncomingMessage): ReadableStream<Uint8Array> {
  let detach = () => {};
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        incoming.pause();
        const onData = (chunk: Buffer) => {
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) incoming.pause();
        };
        const onEnd = () => {
          detach();
          controller.close();
        };
        const onError = (error: Error) => {
          detach();
          controller.error(error);
        };
        detach = () => {
          incoming.off("data", onData);
          incoming.off("end", onEnd);
          incoming.off("error", onError);
        };
        incoming.on("data", onData);
        incoming.on("end", onEnd);
        incoming.on("error", onError);
      },
      pull() {
        incoming.resume();
      },
      // The app stopped reading: the stream is closed, so nothing may reach the controller again.
      cancel() {
        incoming.pause();
        detach();
      },
    },
    { highWaterMark: 1 },
  );
}

/** How much of a refused body is read and dropped so the client can see the answer (nginx's lingering close). */
const DISCARD_MAX_BYTES = 1024 * 1024;
const DISCARD_MAX_MS = 5000;

/**
 * Answering a request whose body the app did not read to the end (refused as
 * too large, say): the answer says `Connection: close`, then the rest of the
 * body is read and dropped, within `DISCARD_MAX_BYTES` and `DISCARD_MAX_MS`,
 * and the connection closes (nginx's lingering close). Closing at once makes
 * clients that are still sending fail with EPIPE before they read the 413;
 * keeping the connection alive would let them reuse one we are about to cut.
 * node:http ends a `Connection: close` answer with `socket.destroySoon()`,
 * which stops reading too; for this socket it only half-closes instead.
 */
function lingerAfterAnswer(incoming: IncomingMessage): void {
  const socket = incoming.socket as Socket & { destroySoon?: () => void };
  socket.destroySoon = () => {
    socket.end();
    let discarded = 0;
    const timer = setTimeout(() => socket.destroy(), DISCARD_MAX_MS);
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
    };
    incoming.on("data", (chunk: Buffer) => {
      discarded += chunk.byteLength;
      if (discarded > DISCARD_MAX_BYTES) done();
    });
    incoming.once("end", done);
    socket.once("close", () => clearTimeout(timer));
    incoming.resume();
  };
}

function toRequest(incoming: IncomingMessage, target: string): Request {
  const method = incoming.method ?? "GET";
  const headers = new Headers();
  const raw = incoming.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  const init: RequestInit & { duplex?: "half" } = { method, headers };
  const declaresBody =
    incoming.headers["transfer-encoding"] !== undefined ||
    (incoming.headers["content-length"] !== undefined && incoming.headers["content-length"] !== "0");
  if (declaresBody && !METHODS_WITHOUT_BODY.has(method)) {
    init.body = bodyStream(incoming);
    init.duplex = "half";
  }
  return new Request(`http://localhost${target}`, init);
}

/**
 * Writes one chunk; resolves true once it is handed to the socket, false if
 * the connection is gone. Bun calls a write's callback when the chunk is in
 * its own send buffer, which it flushes to the kernel when control returns to
 * the event loop: a process killed in between loses the chunk, though an
 * event stream has already marked it delivered. So the answer waits one turn
 * of the loop (`setImmediate`) after the callback: a server killed with
 * SIGKILL lost an outcome in 3 of 30 runs of sse-delivered-after-write's last
 * test without that turn, and none of 60 with it.
 */
function writeChunk(outgoing: ServerResponse, chunk: Uint8Array): Promise<boolean> {
  return new Promise((resolve) => {
    if (outgoing.destroyed || outgoing.writableEnded) {
      resolve(false);
      return;
    }
    outgoing.write(chunk, (error) => setImmediate(resolve, !error));
  });
}

/**
 * Pumps `body` into `outgoing`; the next chunk is read only once the previous
 * one is handed to the socket (see the file comment). Its caller does not
 * wait for it: an event stream lives for hours, and a caller suspended on it
 * would keep its own frame (the request and response among it) alive all
 * that time, for every one of thousands of streams. A connection that closes
 * cancels the body at once, so an idle stream's source learns it is gone
 * without waiting for its next write to fail.
 */
async function streamBody(outgoing: ServerResponse, body: ReadableStream<Uint8Array>): Promise<void> {
  const reader = body.getReader();
  let pumping = true;
  outgoing.once("close", () => {
    if (pumping) reader.cancel().catch(() => {});
  });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (!(await writeChunk(outgoing, value))) {
        await reader.cancel().catch(() => {});
        break;
      }
    }
  } catch {
    // The source gave up (an event stream whose client stopped reading): drop what is left unsent.
    outgoing.destroy();
  } finally {
    pumping = false;
    reader.releaseLock();
    if (!outgoing.destroyed) outgoing.end();
  }
}

/** Header texts shared between event streams, first come first kept: a unique value (a request id) wastes one slot. */
const SHARED_HEADER_TEXTS = 256;
const headerTexts = new Map<string, string>();

function sharedHeaderText(value: string): string {
  const kept = headerTexts.get(value);
  if (kept !== undefined) return kept;
  if (headerTexts.size < SHARED_HEADER_TEXTS) headerTexts.set(value, value);
  return value;
}

function isEventStream(response: Response): boolean {
  return response.headers.get("content-type")?.startsWith("text/event-stream") === true;
}

async function send(
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  response: Response,
  report: (status: number, bytes: number | null) => void,
): Promise<void> {
  const streamed = response.body !== null && isEventStream(response);
  // A stream's response keeps its header strings as long as it lasts; those
  // every stream sends alike are shared rather than copied 20,000 times.
  const text = streamed ? sharedHeaderText : (value: string) => value;
  const headers: string[] = [];
  for (const [name, value] of response.headers) {
    if (name !== "set-cookie") headers.push(text(name), text(value));
  }
  for (const cookie of response.headers.getSetCookie()) headers.push("set-cookie", cookie);
  // Everything but an event stream is small and complete: send it with its length in one write.
  const payload =
    response.body === null || streamed || incoming.method === "HEAD"
      ? null
      : new Uint8Array(await response.arrayBuffer());
  if (payload !== null) headers.push("content-length", String(payload.byteLength));
  report(response.status, streamed ? null : (payload?.byteLength ?? 0));
  if (!incoming.complete) {
    headers.push("connection", "close");
    lingerAfterAnswer(incoming);
  }
  outgoing.writeHead(response.status, headers);
  if (streamed) {
    outgoing.flushHeaders();
    void streamBody(outgoing, response.body!);
    return;
  }
  outgoing.end(payload ?? undefined);
}

/**
 * Listens on `hostname:port` (port 0 picks a free one) and serves `handle`.
 *
 * @example
 * const transport = await listenHttp((request) => app.handle(request), { port: 0, hostname: "127.0.0.1", ... });
 * await transport.close();
 */
export async function listenHttp(handle: RequestHandler, options: TransportOptions): Promise<Transport> {
  const server: Server = createServer(
    {
      maxHeaderSize: options.maxHeaderBytes,
      requestTimeout: options.requestTimeoutMs,
      // How often the header and request deadlines are checked (node's default is 30 s).
      connectionsCheckingInterval: 1000,
    },
    (incoming, outgoing) => {
      const target = originForm(incoming.url ?? "");
      if (target === null) {
        answerProtocolError(
          Object.assign(new Error("bad target"), { code: "HPE_INVALID_URL" }),
          incoming.socket,
        );
        return;
      }
      const request = toRequest(incoming, target);
      recordPeerAddress(request, incoming.socket.remoteAddress ?? "unknown");
      void (async () => {
        try {
          await send(incoming, outgoing, await handle(request), (status, bytes) =>
            options.onAnswer?.(request, status, bytes),
          );
        } catch (error) {
          // The app answers its own errors; reaching here means the transport itself failed.
          options.logger.error("could not answer a request", { error: String(error) });
          if (!outgoing.headersSent) {
            outgoing.writeHead(500, {
              "content-type": "application/json; charset=utf-8",
              connection: "close",
            });
          }
          outgoing.destroy();
        }
      })();
    },
  );
  server.headersTimeout = options.headersTimeoutMs;
  server.keepAliveTimeout = options.keepAliveTimeoutMs;
  server.on("clientError", answerProtocolError);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: options.port, host: options.hostname, exclusive: true }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  return {
    port,
    close: (graceMs = 0) =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if (graceMs <= 0) {
          server.closeAllConnections();
          return;
        }
        server.closeIdleConnections();
        // Connections that finish their response meanwhile are closed as they go idle.
        const idle = setInterval(() => server.closeIdleConnections(), 50);
        setTimeout(() => {
          clearInterval(idle);
          server.closeAllConnections();
        }, graceMs);
      }),
  };
}
