/**
 * A local HTTPS host for Client ID Metadata Documents in tests.
 *
 * CIMD demands https, so the tests serve documents over real TLS with a
 * certificate made for this run (openssl, 127.0.0.1 and localhost), and the
 * server under test trusts it through OAUTH_CIMD_CA_FILE with the
 * development-only loopback allowance on. Nothing about the https rule is
 * relaxed: a plain http client id is still refused in these tests.
 */

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type DocumentHandler = (request: Request) => Response | Promise<Response>;

export interface CimdHost {
  /** `https://127.0.0.1:<port>` */
  origin: string;
  caFile: string;
  /** Requests seen per path. */
  hits: Map<string, number>;
  /** Serves `path`: a JSON document (200, application/json) or a custom handler. */
  serve(path: string, document: Record<string, unknown> | DocumentHandler, cacheControl?: string): string;
  stop(): Promise<void>;
}

export function startCimdHost(): CimdHost {
  const dir = mkdtempSync(join(tmpdir(), "lime-cimd-"));
  const keyFile = join(dir, "key.pem");
  const certFile = join(dir, "cert.pem");
  const made = Bun.spawnSync([
    "openssl",
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-days",
    "1",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
  ]);
  if (made.exitCode !== 0) throw new Error(`openssl failed: ${made.stderr.toString()}`);
  const routes = new Map<string, DocumentHandler>();
  const hits = new Map<string, number>();
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    tls: { cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8") },
    fetch: (request) => {
      const path = new URL(request.url).pathname;
      hits.set(path, (hits.get(path) ?? 0) + 1);
      const handler = routes.get(path);
      return handler ? handler(request) : new Response("not found", { status: 404 });
    },
  });
  const origin = `https://127.0.0.1:${server.port}`;
  return {
    origin,
    caFile: certFile,
    hits,
    serve(path, document, cacheControl) {
      routes.set(
        path,
        typeof document === "function"
          ? document
          : () =>
              new Response(JSON.stringify(document), {
                headers: {
                  "content-type": "application/json",
                  ...(cacheControl === undefined ? {} : { "cache-control": cacheControl }),
                },
              }),
      );
      return `${origin}${path}`;
    },
    async stop() {
      await server.stop(true);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
