/**
 * Many Server-Sent Events streams at once, each on a bare TCP socket with a
 * hand-written HTTP/1.1 request: `fetch` caps the connections it opens at
 * once (Bun: 256 by default), and a thousand streams must be a thousand
 * connections held open together.
 */
import { connect } from "node:net";
import { EVENTS_PATH } from "./flows.ts";

export interface RawStream {
  /** Resolves with the HTTP status once the response head arrived; rejects if the connection fails first. */
  opened: Promise<number>;
  /** The HTTP status once the response head arrived; 0 before. */
  readonly status: number;
  /** Ids of the `approved` outcomes received so far, in arrival order. */
  readonly approved: readonly string[];
  /** When each `approved` outcome arrived (`performance.now()`), by request id. */
  readonly arrivals: ReadonlyMap<string, number>;
  /** Resolves once an `approved` outcome for `requestId` has arrived. */
  delivered(requestId: string): Promise<void>;
  close(): void;
}

export function openRawStream(port: number, siteToken: string): RawStream {
  const approved: string[] = [];
  const arrivals = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const socket = connect({ host: "127.0.0.1", port });
  socket.setEncoding("latin1");
  let head: string | null = null;
  let status = 0;
  let chunked = false;
  let raw = ""; // received and not yet decoded
  let text = ""; // the decoded body not yet split into lines

  const onLine = (line: string) => {
    if (!line.startsWith("data:")) return;
    const event = JSON.parse(line.slice(5)) as { type: string; login_request_id?: string };
    if (event.type !== "approved" || !event.login_request_id) return;
    approved.push(event.login_request_id);
    arrivals.set(event.login_request_id, performance.now());
    waiters.get(event.login_request_id)?.();
    waiters.delete(event.login_request_id);
  };
  const onBody = (data: string) => {
    text += data;
    let end = text.indexOf("\n");
    while (end >= 0) {
      onLine(text.slice(0, end));
      text = text.slice(end + 1);
      end = text.indexOf("\n");
    }
  };
  /** Decodes what it can of `raw` (chunked transfer coding, RFC 9112 §7.1). */
  const decode = () => {
    if (!chunked) {
      onBody(raw);
      raw = "";
      return;
    }
    for (;;) {
      const lineEnd = raw.indexOf("\r\n");
      if (lineEnd < 0) return;
      const size = Number.parseInt(raw.slice(0, lineEnd), 16);
      if (!(size > 0)) return; // the last chunk: the stream ended
      if (raw.length < lineEnd + 2 + size + 2) return;
      onBody(raw.slice(lineEnd + 2, lineEnd + 2 + size));
      raw = raw.slice(lineEnd + 2 + size + 2);
    }
  };

  const opened = new Promise<number>((resolve, reject) => {
    // After the head these settle nothing; a stream cut later simply stops receiving.
    socket.on("error", reject);
    socket.on("close", () => reject(new Error("the stream closed before its response head")));
    socket.on("data", (data: string) => {
      raw += data;
      if (head === null) {
        const end = raw.indexOf("\r\n\r\n");
        if (end < 0) return;
        head = raw.slice(0, end);
        raw = raw.slice(end + 4);
        chunked = /^transfer-encoding:\s*chunked/im.test(head);
        status = Number(head.split(" ")[1]);
        resolve(status);
      }
      decode();
    });
  });
  opened.catch(() => {}); // the caller awaits it; an unobserved rejection must not end the process
  socket.write(
    `GET ${EVENTS_PATH} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\naccept: text/event-stream\r\n` +
      `x-site-token: ${siteToken}\r\n\r\n`,
  );
  return {
    opened,
    get status() {
      return status;
    },
    approved,
    arrivals,
    delivered: (requestId) =>
      approved.includes(requestId)
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.set(requestId, resolve)),
    close: () => socket.destroy(),
  };
}
