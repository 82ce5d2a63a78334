/**
 * An outbound HTTPS GET for URLs that strangers choose (Client ID Metadata
 * Documents), built against server-side request forgery (CIMD draft §8.6).
 *
 * - https only; the TLS certificate is checked against the URL's host name.
 * - The host name is resolved inside the socket's own `lookup`, and the
 *   connection goes to exactly the addresses checked there: a DNS answer
 *   that changes between a check and the connect (DNS rebinding) cannot slip
 *   a private address in. If any resolved address is not public, the fetch
 *   is refused. IP literals are checked before connecting.
 * - Loopback addresses pass only when `allowLoopback` is set (development
 *   and tests, refused by the configuration in production).
 * - No connection reuse (`agent: false`), so every fetch runs the check.
 * - Redirects are never followed; only 200 with a JSON media type is read.
 * - The body is capped at `maxBytes` while it streams, and the whole fetch
 *   at `timeoutMs`.
 */

import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { request } from "node:https";
import { isIP } from "node:net";
import { classifyAddress } from "./ip-ranges.ts";

export type SafeFetchFailure =
  | "not_https"
  | "forbidden_address"
  | "dns_failure"
  | "timeout"
  | "too_large"
  | "redirect"
  | "bad_status"
  | "bad_content_type"
  | "not_json"
  | "network";

export class SafeFetchError extends Error {
  readonly reason: SafeFetchFailure;

  constructor(reason: SafeFetchFailure, message: string) {
    super(message);
    this.reason = reason;
    this.name = "SafeFetchError";
  }
}

export interface SafeFetchOptions {
  maxBytes: number;
  timeoutMs: number;
  allowLoopback: boolean;
  /** Extra trusted CA certificates (PEM), for a private PKI or a test server. */
  ca?: string;
}

export interface SafeFetchResult {
  body: unknown;
  cacheControl: string | null;
}

function addressAllowed(address: string, allowLoopback: boolean): boolean {
  const kind = classifyAddress(address);
  return kind === "public" || (kind === "loopback" && allowLoopback);
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** GETs `url` and parses its JSON body, or throws `SafeFetchError` with the reason. */
export function safeFetchJson(url: URL, options: SafeFetchOptions): Promise<SafeFetchResult> {
  if (url.protocol !== "https:") {
    return Promise.reject(new SafeFetchError("not_https", "only https URLs are fetched"));
  }
  const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  if (isIP(hostname) !== 0 && !addressAllowed(hostname, options.allowLoopback)) {
    return Promise.reject(new SafeFetchError("forbidden_address", "the URL names a non-public address"));
  }

  const guardedLookup = (
    host: string,
    lookupOptions: { all?: boolean; family?: number },
    callback: (
      error: NodeJS.ErrnoException | null,
      address: string | LookupAddress[],
      family?: number,
    ) => void,
  ) => {
    dnsLookup(host, { all: true }, (error, addresses) => {
      if (error || addresses.length === 0) {
        callback(
          new SafeFetchError("dns_failure", "the host name does not resolve") as NodeJS.ErrnoException,
          "",
        );
        return;
      }
      if (!addresses.every((entry) => addressAllowed(entry.address, options.allowLoopback))) {
        callback(
          new SafeFetchError(
            "forbidden_address",
            "the host name resolves to a non-public address",
          ) as NodeJS.ErrnoException,
          "",
        );
        return;
      }
      if (lookupOptions.all) callback(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };

  return new Promise<SafeFetchResult>((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | null, result?: SafeFetchResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        req.destroy();
        reject(error instanceof SafeFetchError ? error : new SafeFetchError("network", "the fetch failed"));
      } else resolve(result!);
    };
    const req = request(
      {
        protocol: "https:",
        host: hostname,
        port: url.port === "" ? 443 : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method: "GET",
        headers: { accept: "application/json", "user-agent": "lime-oauth-client-metadata-fetcher" },
        agent: false,
        ca: options.ca,
        servername: isIP(hostname) === 0 ? hostname : undefined,
        lookup: guardedLookup as never,
      },
      (response) => {
        const status = response.statusCode ?? 0;
        if (status >= 300 && status < 400) {
          finish(new SafeFetchError("redirect", "redirects are not followed"));
          return;
        }
        if (status !== 200) {
          finish(new SafeFetchError("bad_status", `the server answered ${status}`));
          return;
        }
        if (!JSON_TYPE.test(response.headers["content-type"] ?? "")) {
          finish(new SafeFetchError("bad_content_type", "the document is not served as JSON"));
          return;
        }
        const declared = Number(response.headers["content-length"] ?? "0");
        if (declared > options.maxBytes) {
          finish(new SafeFetchError("too_large", `the document exceeds ${options.maxBytes} bytes`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxBytes) {
            finish(new SafeFetchError("too_large", `the document exceeds ${options.maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.on("error", (error) => finish(error));
        response.on("end", () => {
          if (settled) return;
          let body: unknown;
          try {
            body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks)));
          } catch {
            finish(new SafeFetchError("not_json", "the document is not UTF-8 JSON"));
            return;
          }
          const cacheControl = response.headers["cache-control"];
          finish(null, { body, cacheControl: typeof cacheControl === "string" ? cacheControl : null });
        });
      },
    );
    const timer = setTimeout(
      () => finish(new SafeFetchError("timeout", `no complete answer within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    req.on("error", (error) => finish(error));
    req.end();
  });
}
