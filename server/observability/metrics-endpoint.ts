/**
 * `GET /metrics` and who may read it. Metrics tell traffic, failure rates and
 * key age to whoever reads them, so:
 * - on the public port `/metrics` does not exist (404, as an unknown route)
 *   unless `METRICS_TOKEN` is set, and then it asks for
 *   `Authorization: Bearer <METRICS_TOKEN>`;
 * - on the operations listener (`METRICS_PORT`, loopback by default) it is
 *   open, unless `METRICS_TOKEN` is set: a token, once set, is asked for
 *   everywhere, so moving the listener off loopback never drops it.
 *
 * @example
 * const endpoint = createMetricsEndpoint({ token: config.metrics.token, prometheus, logger });
 * await endpoint.respond(request, "public");
 */

import { createHash, timingSafeEqual } from "node:crypto";
import { DomainError } from "../errors.ts";
import { errorResponse } from "../http/error-boundary.ts";
import type { Logger } from "../infrastructure/logger.ts";
import type { PrometheusMetrics } from "./prometheus.ts";

/** Which listener a request came in on. */
export type Listener = "public" | "operations";

export interface MetricsEndpoint {
  respond(request: Request, listener: Listener): Promise<Response>;
}

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/** Comparing digests keeps the comparison constant-time whatever the presented length. */
function presentsToken(request: Request, expected: string): boolean {
  const match = /^Bearer (\S+)$/i.exec(request.headers.get("authorization")?.trim() ?? "");
  return match !== null && timingSafeEqual(digest(match[1]!), digest(expected));
}

export function createMetricsEndpoint(options: {
  token: string | null;
  prometheus: Pick<PrometheusMetrics, "scrape" | "contentType">;
  logger: Logger;
}): MetricsEndpoint {
  const { token, prometheus, logger } = options;
  return {
    async respond(request, listener) {
      if (token === null && listener === "public") {
        return errorResponse(new DomainError("NOT_FOUND", "No such route."));
      }
      if (token !== null && !presentsToken(request, token)) {
        return errorResponse(
          new DomainError("METRICS_TOKEN_INVALID", "Send Authorization: Bearer <METRICS_TOKEN>."),
        );
      }
      try {
        return new Response(await prometheus.scrape(), {
          headers: {
            "content-type": prometheus.contentType,
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
          },
        });
      } catch (error) {
        logger.error("could not collect metrics", { error: String(error) });
        return errorResponse(new DomainError("INTERNAL_ERROR", "Internal error."));
      }
    },
  };
}
