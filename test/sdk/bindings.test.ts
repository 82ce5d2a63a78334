/**
 * Agent Binding with the site SDK against a real server: create a request,
 * read it, and verify the passport the hosted page hands back (the page's
 * step taken through the service it calls), with the same coded errors as
 * `verifyPassport`.
 */
import { describe, expect, test } from "bun:test";
import { PassportError } from "@lime-ts/core/errors";
import { LimeApiError, LimeSdkError, SiteClient, type SiteClientOptions } from "@lime-ts/sdk";
import type { Provisioned } from "../../server/testing.ts";
import { callbackParams, decline, pickAgent, setSiteOrigin } from "../support/bindings.ts";
import { withBadSignature } from "../support/tamper.ts";
import { serverForFile } from "./helpers/server-for-file.ts";

const lime = serverForFile();
const ORIGIN = "https://shop.example";
const CALLBACK = `${ORIGIN}/lime/callback`;

function siteClient(ids: Provisioned = lime.ids, options: Partial<SiteClientOptions> = {}) {
  return new SiteClient({ baseUrl: lime.server.url, siteToken: ids.siteToken, ...options });
}

async function provisionWithOrigin(origin = ORIGIN): Promise<Provisioned> {
  const ids = await lime.server.provision();
  await setSiteOrigin(lime.server, ids, origin);
  return ids;
}

async function caught(run: () => Promise<unknown>): Promise<Error & { code?: string; status?: number }> {
  try {
    await run();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error("expected a throw");
}

/** A completed binding of `ids`'s site and agent: the passport the callback receives. */
async function completed(site: SiteClient, ids: Provisioned) {
  const created = await site.createBindingRequest({ redirectUri: CALLBACK });
  const { redirectUrl } = await pickAgent(lime.server, created.bindingId, ids);
  return { created, passport: callbackParams(redirectUrl).passport! };
}

describe("SiteClient: Agent Binding", () => {
  test("createBindingRequest → connectUrl on LIME; getBindingRequest follows PENDING → COMPLETED", async () => {
    const ids = await provisionWithOrigin();
    const site = siteClient(ids);
    const created = await site.createBindingRequest({ redirectUri: `${CALLBACK}?from=settings` });
    expect(created).toEqual({
      bindingId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      connectUrl: `${lime.server.url}/connect?binding_id=${created.bindingId}`,
      status: "PENDING",
      expiresAt: expect.stringMatching(/Z$/),
    });
    expect(await site.siteId()).toBe(ids.siteId);
    expect(await site.getBindingRequest(created.bindingId)).toMatchObject({
      bindingId: created.bindingId,
      siteId: ids.siteId,
      status: "PENDING",
      agentId: null,
    });
    await pickAgent(lime.server, created.bindingId, ids);
    expect(await site.getBindingRequest(created.bindingId)).toMatchObject({
      status: "COMPLETED",
      agentId: ids.agentId,
      revocationReason: null,
    });
  });

  test("verifyBindingPassport: the agent, its owner, this site, the binding; checked against the bindingId kept", async () => {
    const ids = await provisionWithOrigin();
    const site = siteClient(ids);
    const { created, passport } = await completed(site, ids);
    const binding = await site.verifyBindingPassport(passport, { bindingId: created.bindingId });
    expect(binding).toMatchObject({
      bindingId: created.bindingId,
      agentId: ids.agentId,
      ownerId: ids.ownerId,
      siteId: ids.siteId,
      ownerKycLevel: 1,
      agentReputation: 0,
      passportVersion: 1,
      issuer: lime.server.url,
    });
    expect(binding.expiresAt - binding.issuedAt).toBe(60);
    const other = await site.createBindingRequest({ redirectUri: CALLBACK });
    const wrong = await caught(() => site.verifyBindingPassport(passport, { bindingId: other.bindingId }));
    expect(wrong).toBeInstanceOf(PassportError);
    expect(wrong.code).toBe("PASSPORT_WRONG_BINDING");
  });

  test("a client that does not know its site id learns it from the binding; another site's client refuses it", async () => {
    const ids = await provisionWithOrigin();
    const { passport } = await completed(siteClient(ids), ids);
    const fresh = siteClient(ids);
    expect((await fresh.verifyBindingPassport(passport)).siteId).toBe(ids.siteId);
    expect(await fresh.siteId()).toBe(ids.siteId);

    const stranger = await provisionWithOrigin("https://other.example");
    const theirs = siteClient(stranger);
    const learned = await caught(() => theirs.verifyBindingPassport(passport));
    expect([learned.name, learned.code]).toEqual(["PassportError", "PASSPORT_WRONG_SITE"]);
    const configured = siteClient(stranger, { siteId: stranger.siteId });
    expect((await caught(() => configured.verifyBindingPassport(passport))).code).toBe("PASSPORT_WRONG_SITE");
  });

  test("refused like a login passport: tampered, expired, wrong issuer; a login passport is not a binding passport", async () => {
    const ids = await provisionWithOrigin();
    const site = siteClient(ids, { siteId: ids.siteId });
    const { passport } = await completed(site, ids);
    const flipped = withBadSignature(passport);
    expect((await caught(() => site.verifyBindingPassport(flipped))).code).toBe("PASSPORT_BAD_SIGNATURE");
    // 60 s of life plus the default 30 s of clock tolerance.
    const later = siteClient(ids, { siteId: ids.siteId, now: () => Date.now() + 91_000 });
    expect((await caught(() => later.verifyBindingPassport(passport))).code).toBe("PASSPORT_EXPIRED");
    const elsewhere = siteClient(ids, {
      siteId: ids.siteId,
      issuer: "http://127.0.0.1:1",
      jwksUrl: `${lime.server.url}/.well-known/jwks.json`,
    });
    expect((await caught(() => elsewhere.verifyBindingPassport(passport))).code).toBe(
      "PASSPORT_WRONG_ISSUER",
    );

    const login = await site.createLoginRequest();
    const { AgentClient } = await import("../../sdk/agent/client.ts");
    await new AgentClient({ baseUrl: lime.server.url, agentToken: ids.agentToken }).login(login.requestId);
    const loginPassport = (await site.getLoginRequest(login.requestId)).passportJwt!;
    expect((await caught(() => site.verifyBindingPassport(loginPassport))).code).toBe("PASSPORT_WRONG_TYPE");
    await site.close();
  });

  test("a key rotation in between: the unknown kid is found by one refetch", async () => {
    const ids = await provisionWithOrigin();
    const site = siteClient(ids, { siteId: ids.siteId, jwks: { cooldownMs: 0 } });
    await site.verifyBindingPassport((await completed(site, ids)).passport);
    await lime.server.rotateKeys();
    await lime.server.rotateKeys();
    const { passport } = await completed(site, ids);
    expect((await site.verifyBindingPassport(passport)).agentId).toBe(ids.agentId);
  });

  test("the server's refusals are LimeApiError with its code; a missing redirectUri is a TypeError", async () => {
    const ids = await provisionWithOrigin();
    const site = siteClient(ids);
    const offOrigin = await caught(() =>
      site.createBindingRequest({ redirectUri: "https://evil.example/cb" }),
    );
    expect(offOrigin).toBeInstanceOf(LimeApiError);
    expect([offOrigin.code, offOrigin.status]).toEqual(["REDIRECT_URI_NOT_ALLOWED", 400]);
    const noOrigin = await caught(() => siteClient(lime.ids).createBindingRequest({ redirectUri: CALLBACK }));
    expect([noOrigin.code, noOrigin.status]).toEqual(["SITE_ORIGIN_REQUIRED", 409]);
    expect(await caught(() => site.createBindingRequest({} as never))).toBeInstanceOf(TypeError);
    const unknown = await caught(() => site.getBindingRequest(crypto.randomUUID()));
    expect([unknown.code, unknown.status]).toEqual(["BINDING_NOT_FOUND", 404]);
    const created = await site.createBindingRequest({ redirectUri: CALLBACK });
    await decline(lime.server, created.bindingId, null);
    expect((await site.getBindingRequest(created.bindingId)).status).toBe("DENIED");
  });

  test("a connect_url that is not an http(s) URL is not the protocol (SDK_INVALID_RESPONSE)", async () => {
    const fake = async () =>
      Response.json(
        {
          ok: true,
          data: {
            binding_id: "b1",
            connect_url: "javascript:alert(1)",
            status: "PENDING",
            expires_at: "2026-01-01T00:00:00Z",
          },
        },
        { status: 201 },
      );
    const site = new SiteClient({
      baseUrl: "https://lime.example",
      siteToken: "lime_site_x",
      siteId: "s",
      fetch: fake,
    });
    const error = await caught(() => site.createBindingRequest({ redirectUri: CALLBACK }));
    expect(error).toBeInstanceOf(LimeSdkError);
    expect(error.code).toBe("SDK_INVALID_RESPONSE");
  });
});
