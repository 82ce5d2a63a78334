/**
 * `GET /.well-known/http-message-signatures-directory/agents/:agent_id`:
 * an agent's key directory, public (a site verifying the agent's signed
 * requests fetches it, from the issuer it trusts), cacheable for a minute
 * with a strong ETag, signed with the agent's own uploaded signatures
 * (./directory.ts). A revoked or unknown agent has none: 404.
 */

import { Elysia } from "elysia";
import type { AppContext } from "../../context.ts";
import { DomainError } from "../../errors.ts";
import { failureResponses, PUBLIC } from "../../http/contract.ts";
import { IF_NONE_MATCH_PARAMETER, matchesIfNoneMatch } from "../../http/etag.ts";
import {
  buildDirectory,
  DIRECTORY_MAX_AGE_SECONDS,
  DIRECTORY_MEDIA_TYPE,
  DIRECTORY_TAG,
} from "./directory.ts";
import { DIRECTORY_PREFIX } from "./paths.ts";
import { DirectoryDocument, DirectoryParams } from "./schemas.ts";

export function directoryRoutes(ctx: Pick<AppContext, "agentKeys" | "clock">) {
  const deps = ctx.agentKeys;
  const header = (description: string) => ({ description, schema: { type: "string" } }) as const;
  const cacheHeaders = {
    "Cache-Control": header(`\`max-age=${DIRECTORY_MAX_AGE_SECONDS}\`.`),
    ETag: header("A strong validator over the document and its signatures."),
  };
  return new Elysia().get(
    `${DIRECTORY_PREFIX}/:agent_id`,
    async ({ params, request }) => {
      const agent = await deps.agents.findById(params.agent_id);
      if (agent === null || agent.status !== "ACTIVE") {
        throw new DomainError("AGENT_NOT_FOUND", "No such active agent.");
      }
      const directory = await buildDirectory(await deps.keys.listActive(agent.id), ctx.clock.now());
      const headers: Record<string, string> = {
        "cache-control": `max-age=${DIRECTORY_MAX_AGE_SECONDS}`,
        etag: directory.etag,
        "x-content-type-options": "nosniff",
      };
      if (directory.signatureInput !== null && directory.signature !== null) {
        headers["signature-input"] = directory.signatureInput;
        headers.signature = directory.signature;
      }
      if (matchesIfNoneMatch(request.headers.get("if-none-match"), directory.etag)) {
        return new Response(null, { status: 304, headers });
      }
      return new Response(directory.body, {
        status: 200,
        headers: { ...headers, "content-type": DIRECTORY_MEDIA_TYPE },
      });
    },
    {
      params: DirectoryParams,
      // The handler answers prepared bytes with their signatures; the answers are described here.
      detail: {
        summary: "An agent's HTTP Message Signatures key directory (Web Bot Auth)",
        description:
          "The agent's ACTIVE public keys as a JWKS (draft-meunier-webbotauth-httpsig-directory), each with `kid` (its RFC 7638 thumbprint, the `keyid` of its signatures), `alg` and `use`. " +
          `Signed as the draft says: one RFC 9421 signature per key whose agent uploaded one, tag "${DIRECTORY_TAG}", covering ("@authority";req), labelled sig1…sigN; expired ones are left out. ` +
          "A site verifying an agent's signed request finds the key here, on the issuer it trusts (docs/agent-keys.md). An unknown or revoked agent is AGENT_NOT_FOUND.",
        operationId: "getAgentKeyDirectory",
        tags: ["core"],
        security: PUBLIC,
        parameters: [IF_NONE_MATCH_PARAMETER],
        responses: {
          200: {
            description: "The directory.",
            headers: {
              ...cacheHeaders,
              "Signature-Input": header(
                "One member per key with a live signature (absent when none has one).",
              ),
              Signature: header("The matching signatures."),
            },
            content: { [DIRECTORY_MEDIA_TYPE]: { schema: DirectoryDocument } },
          },
          304: {
            description: "Not modified: the directory matches `If-None-Match`. No body.",
            headers: cacheHeaders,
          },
          ...failureResponses(["VALIDATION_FAILED", "AGENT_NOT_FOUND"]),
        },
      },
    },
  );
}
