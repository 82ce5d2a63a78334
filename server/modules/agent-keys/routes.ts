/**
 * `/api/v1/core/agents/me/keys…` (the agent, X-Agent-Token) and
 * `/api/v1/core/agents/:agent_id/keys…` (its owner): register, list and
 * revoke agent signing keys, and upload each key's directory signature
 * (docs/agent-keys.md). Writes are rate limited per agent.
 */

import { Elysia } from "elysia";
import type { AppContext } from "../../context.ts";
import { authenticateAgent } from "../../core/agents/service.ts";
import { requireOwner } from "../../http/auth.ts";
import { clientAddress } from "../../http/client-address.ts";
import {
  AGENT_TOKEN,
  AGENT_TOKEN_FAILURES,
  answers,
  failureResponses,
  INPUT_FAILURES,
  OWNER_READ_FAILURES,
  OWNER_SESSION,
  OWNER_WRITE_FAILURES,
} from "../../http/contract.ts";
import { ok } from "../../http/envelope.ts";
import { KEY_PROOF_FAILURES, keyProofHeader } from "./proof.ts";
import {
  AgentKeyList,
  AgentKeyParams,
  AgentKeyView,
  AgentTokenHeaders,
  DirectorySignatureBody,
  OwnerAgentKeyParams,
  OwnerAgentParams,
  RegisterAgentKeyBody,
  RegisterAgentKeyHeaders,
} from "./schemas.ts";
import {
  listAgentKeys,
  ownedAgent,
  presentAgentKey,
  registerAgentKey,
  revokeAgentKeyAsOwner,
  revokeOwnAgentKey,
  uploadDirectorySignature,
} from "./service.ts";

export function agentKeyRoutes(ctx: AppContext) {
  const { config, rateLimiter } = ctx;
  const deps = ctx.agentKeys;
  const ip = (request: Request) => clientAddress(request, config.trustProxy);
  const agentWriting = async (request: Request) => {
    const agent = await authenticateAgent(ctx.agents, request.headers.get("x-agent-token"), ip(request));
    await rateLimiter.enforce("agent-key-writes", agent.agent.id, config.rateLimits.agentKeyWritesPerMinute);
    return agent;
  };

  return new Elysia({ prefix: "/api/v1/core/agents", tags: ["core"] })
    .post(
      "/me/keys",
      async ({ body, request, set }) => {
        const agent = await agentWriting(request);
        const key = await registerAgentKey(deps, agent, keyProofHeader(request), body?.label, ip(request));
        set.status = 201;
        return ok(presentAgentKey(key, agent.agent));
      },
      {
        body: RegisterAgentKeyBody,
        headers: RegisterAgentKeyHeaders,
        response: answers(201, AgentKeyView, [
          ...INPUT_FAILURES,
          ...AGENT_TOKEN_FAILURES,
          "RATE_LIMIT_EXCEEDED",
          "KEY_PROOF_REQUIRED",
          ...KEY_PROOF_FAILURES,
          "AGENT_KEY_EXISTS",
          "AGENT_KEY_LIMIT",
        ]),
        detail: {
          summary: "Register a signing key for the calling agent (X-Agent-Token + DPoP proof)",
          description:
            "The key registered is the `jwk` of the DPoP proof, which shows the caller holds its private key. Ed25519 or P-256 only (AGENT_KEY_UNSUPPORTED otherwise). At most 5 ACTIVE keys per agent (AGENT_KEY_LIMIT); a key registered once, by any agent, can never be registered again, even after it was revoked (AGENT_KEY_EXISTS). Checked in this order: agent token, rate limit, proof present, proof (size, key kind, signature and claims, replay), then the two limits. Rotation: register the new key, then revoke the old one.",
          operationId: "registerAgentKey",
          security: AGENT_TOKEN,
        },
      },
    )
    .get(
      "/me/keys",
      async ({ request }) => {
        const agent = await authenticateAgent(ctx.agents, request.headers.get("x-agent-token"), ip(request));
        const keys = await listAgentKeys(deps, agent.agent);
        return ok({ keys: keys.map((key) => presentAgentKey(key, agent.agent)) });
      },
      {
        headers: AgentTokenHeaders,
        response: answers(200, AgentKeyList, AGENT_TOKEN_FAILURES),
        detail: {
          summary: "The calling agent's signing keys",
          description:
            "ACTIVE keys first, then revoked ones (status REVOKED, `revoked_at`), newest first; at most 100.",
          operationId: "listOwnAgentKeys",
          security: AGENT_TOKEN,
        },
      },
    )
    .delete(
      "/me/keys/:kid",
      async ({ params, request, set }) => {
        const agent = await agentWriting(request);
        await revokeOwnAgentKey(deps, agent, params.kid, ip(request));
        set.status = 204;
        return null;
      },
      {
        params: AgentKeyParams,
        headers: AgentTokenHeaders,
        detail: {
          summary: "Revoke one of the calling agent's keys",
          description:
            "The key leaves the agent's directory, and the revocation list gains an `agent_key` entry (also sent as a `revoked` event to the sites that have seen the agent): sites refuse passports bound to it. An unknown key, another agent's or one already revoked is AGENT_KEY_NOT_FOUND.",
          operationId: "revokeOwnAgentKey",
          security: AGENT_TOKEN,
          responses: {
            204: { description: "Revoked; no body." },
            ...failureResponses([
              "VALIDATION_FAILED",
              ...AGENT_TOKEN_FAILURES,
              "RATE_LIMIT_EXCEEDED",
              "AGENT_KEY_NOT_FOUND",
            ]),
          },
        },
      },
    )
    .put(
      "/me/keys/:kid/directory-signature",
      async ({ params, body, request, set }) => {
        const agent = await agentWriting(request);
        await uploadDirectorySignature(deps, agent, params.kid, {
          signatureInput: body.signature_input,
          signature: body.signature,
        });
        set.status = 204;
        return null;
      },
      {
        params: AgentKeyParams,
        headers: AgentTokenHeaders,
        body: DirectorySignatureBody,
        detail: {
          summary: "Upload the signature the agent's key directory is served with, for one key",
          description:
            'The server holds no agent private key, so the agent signs its directory response: one RFC 9421 member, tag "http-message-signatures-directory", components exactly ("@authority";req) where @authority is PUBLIC_URL\'s, keyid = the kid, created at most 60 s ahead, expires in the future and at most 7 days after created, canonical serialization. It replaces the key\'s previous one and is served relabelled until it expires. Otherwise DIRECTORY_SIGNATURE_INVALID.',
          operationId: "uploadDirectorySignature",
          security: AGENT_TOKEN,
          responses: {
            204: { description: "Stored; no body." },
            ...failureResponses([
              ...INPUT_FAILURES,
              ...AGENT_TOKEN_FAILURES,
              "RATE_LIMIT_EXCEEDED",
              "AGENT_KEY_NOT_FOUND",
              "DIRECTORY_SIGNATURE_INVALID",
            ]),
          },
        },
      },
    )
    .get(
      "/:agent_id/keys",
      async ({ params, request }) => {
        const { user } = await requireOwner(ctx, request);
        const agent = await ownedAgent(deps, user, params.agent_id);
        const keys = await listAgentKeys(deps, agent);
        return ok({ keys: keys.map((key) => presentAgentKey(key, agent)) });
      },
      {
        params: OwnerAgentParams,
        response: answers(200, AgentKeyList, [
          "VALIDATION_FAILED",
          ...OWNER_READ_FAILURES,
          "AGENT_NOT_FOUND",
        ]),
        detail: {
          summary: "An agent's signing keys, for its owner",
          description:
            "As the agent lists them. A revoked agent's keys all show as REVOKED. Another owner's agent is AGENT_NOT_FOUND.",
          operationId: "listAgentKeys",
          security: OWNER_SESSION,
        },
      },
    )
    .delete(
      "/:agent_id/keys/:kid",
      async ({ params, request, set }) => {
        const { user } = await requireOwner(ctx, request);
        await revokeAgentKeyAsOwner(deps, user, params.agent_id, params.kid, ip(request));
        set.status = 204;
        return null;
      },
      {
        params: OwnerAgentKeyParams,
        detail: {
          summary: "Revoke a signing key of one of the owner's agents",
          description:
            "As the agent's own revocation: the key leaves the directory and an `agent_key` revocation reaches sites. Only an ACTIVE key of an ACTIVE agent of the caller's; anything else is AGENT_KEY_NOT_FOUND.",
          operationId: "revokeAgentKey",
          security: OWNER_SESSION,
          responses: {
            204: { description: "Revoked; no body." },
            ...failureResponses(["VALIDATION_FAILED", ...OWNER_WRITE_FAILURES, "AGENT_KEY_NOT_FOUND"]),
          },
        },
      },
    );
}
