/**
 * What the agent-key tests share: key proofs and directory signatures made
 * with core's http-signatures (the agent's side), and the calls an agent
 * and its owner make.
 */

import {
  type AgentKeyPair,
  type CoveredComponent,
  createKeyProof,
  generateAgentKey,
  signMessage,
} from "@lime-ts/core/http-signatures";
import type { Provisioned, TestServer } from "../../../server/testing.ts";
import { type ApiResponse, api } from "../helpers.ts";

export const KEYS = "/api/v1/core/agents/me/keys";
export const PASSPORTS = "/api/v1/core/passports";
export const DIRECTORY = "/.well-known/http-message-signatures-directory/agents";
export const DIRECTORY_TAG = "http-message-signatures-directory";

export const seconds = (t: TestServer) => Math.floor(t.clock.now() / 1000);

/** A key proof for `POST <issuer><path>`, dated by the server's clock unless `iat` says otherwise. */
export function proofFor(
  t: TestServer,
  key: AgentKeyPair,
  path: string,
  claims: { nonce?: string; iat?: number; jti?: string; htm?: string; htu?: string } = {},
): Promise<string> {
  return createKeyProof(key, {
    htm: claims.htm ?? "POST",
    htu: claims.htu ?? `${t.config.publicUrl}${path}`,
    iat: claims.iat ?? seconds(t),
    ...(claims.nonce !== undefined && { nonce: claims.nonce }),
    ...(claims.jti !== undefined && { jti: claims.jti }),
  });
}

export function register(
  t: TestServer,
  agentToken: string,
  proof: string | null,
  json: unknown = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { "x-agent-token": agentToken };
  if (proof !== null) headers.dpop = proof;
  return api(t.url, KEYS, { method: "POST", headers, json });
}

/** A new key of `kind`, registered for the agent; its answer's data. */
export async function registeredKey(
  t: TestServer,
  agentToken: string,
  kind: "Ed25519" | "P-256" = "Ed25519",
  label?: string,
): Promise<{ key: AgentKeyPair; data: Record<string, unknown> }> {
  const key = await generateAgentKey(kind);
  const response = await register(t, agentToken, await proofFor(t, key, KEYS), label ? { label } : {});
  if (response.status !== 201) throw new Error(`registration failed: ${JSON.stringify(response.body)}`);
  return { key, data: response.body.data };
}

export function asAgent(
  t: TestServer,
  ids: Pick<Provisioned, "agentToken">,
  method: string,
  path: string,
  json?: unknown,
) {
  return api(t.url, path, { method, headers: { "x-agent-token": ids.agentToken }, json });
}

export function asOwner(t: TestServer, ids: Pick<Provisioned, "sessionToken">, method: string, path: string) {
  return api(t.url, path, { method, headers: { authorization: `Bearer ${ids.sessionToken}` } });
}

export const AUTHORITY_REQ: CoveredComponent = { name: "@authority", params: { req: true } };

/** The directory signature of `key` for `agentId`'s directory on the test server's issuer, made with core. */
export async function directorySignature(
  t: TestServer,
  key: AgentKeyPair,
  agentId: string,
  options: {
    created?: number;
    expires?: number;
    /** null: no tag parameter at all. */
    tag?: string | null;
    components?: (string | CoveredComponent)[];
    label?: string;
    issuer?: string;
  } = {},
): Promise<{ signature_input: string; signature: string }> {
  const created = options.created ?? seconds(t);
  const request = new Request(`${options.issuer ?? t.config.publicUrl}${DIRECTORY}/${agentId}`);
  const signed = await signMessage(new Response(null), key, {
    label: options.label ?? "binding0",
    components: options.components ?? [AUTHORITY_REQ],
    created,
    expires: options.expires ?? created + 86_400,
    ...(options.tag !== null && { tag: options.tag ?? DIRECTORY_TAG }),
    request,
  });
  return { signature_input: signed.signatureInput, signature: signed.signature };
}

export function uploadSignature(
  t: TestServer,
  ids: Pick<Provisioned, "agentToken">,
  kid: string,
  json: unknown,
): Promise<ApiResponse> {
  return asAgent(t, ids, "PUT", `${KEYS}/${kid}/directory-signature`, json);
}
