import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { clientIdUrlProblem } from "../../server/modules/oauth/cimd.ts";
import { classifyAddress } from "../../server/modules/oauth/ip-ranges.ts";
import { SafeFetchError, safeFetchJson } from "../../server/modules/oauth/safe-fetch.ts";
import { type CimdHost, startCimdHost } from "./cimd-host.ts";
import {
  agentApprove,
  approveWithPkce,
  authorizationPath,
  call,
  exchangeCode,
  type ProvisionedServer,
  pkcePair,
  REDIRECT_URI,
  registerOwner,
  registerResource,
  startOAuthServer,
  startProvisionedServer,
  tokenRequest,
} from "./helpers.ts";

const RESOURCE = "https://tools.example/mcp";
/**
 * The document fetch deadline here. A fetch from the test's own TLS host must
 * never reach it, even on a busy machine; only the document made to hang does.
 */
const FETCH_TIMEOUT_MS = 2000;

async function fetchFailure(url: string, allowLoopback = false, ca?: string): Promise<string> {
  try {
    await safeFetchJson(new URL(url), { maxBytes: 5120, timeoutMs: FETCH_TIMEOUT_MS, allowLoopback, ca });
    return "fetched";
  } catch (error) {
    if (error instanceof SafeFetchError) return error.reason;
    throw error;
  }
}

describe("SSRF guards for client id URLs (CIMD draft §8.6)", () => {
  test("special-purpose addresses are not public (IANA registries; IPv4 embedded in IPv6 judged by the IPv4)", () => {
    for (const address of [
      "127.0.0.1",
      "10.0.0.1",
      "172.16.5.4",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "224.0.0.1",
      "::1",
      "fe80::1",
      "fd00::1",
      "::ffff:127.0.0.1",
      "::ffff:a9fe:a9fe",
      "64:ff9b::7f00:1",
      "2002:7f00:1::1",
    ]) {
      expect(classifyAddress(address)).not.toBe("public");
    }
    for (const address of ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]) {
      expect(classifyAddress(address)).toBe("public");
    }
  });

  test("client id URLs: https with a path, no fragment, credentials or dot segments (draft §3)", () => {
    expect(clientIdUrlProblem("https://app.example/client.json")).toBeNull();
    expect(clientIdUrlProblem("https://app.example:8443/oauth/client")).toBeNull();
    for (const bad of [
      "http://app.example/client.json",
      "https://app.example",
      "https://app.example/",
      "https://app.example/client.json#x",
      "https://user:pw@app.example/client.json",
      "https://app.example/a/../client.json",
      "https://app.example/./client.json",
      "https://app.example/%2e%2e/client.json",
      "ftp://app.example/client.json",
    ]) {
      expect(clientIdUrlProblem(bad)).not.toBeNull();
    }
  });

  test("literal private, loopback, link-local and mapped addresses are refused before any connection", async () => {
    for (const url of [
      "https://127.0.0.1/client.json",
      "https://10.1.2.3/client.json",
      "https://169.254.169.254/latest/meta-data",
      "https://192.168.0.1/client.json",
      "https://[::1]/client.json",
      "https://[::ffff:127.0.0.1]/client.json",
      "https://[fd00::1]/client.json",
      "https://0x7f000001/client.json",
      "https://2130706433/client.json",
    ]) {
      expect(await fetchFailure(url)).toBe("forbidden_address");
    }
  });

  test("a host name that resolves to loopback is refused after DNS, inside the connection's own lookup", async () => {
    expect(await fetchFailure("https://localhost/client.json")).toBe("forbidden_address");
  });

  test("plain http is never fetched", async () => {
    expect(await fetchFailure("http://app.example/client.json")).toBe("not_https");
  });

  test("the loopback allowance does not open private ranges", async () => {
    expect(await fetchFailure("https://10.0.0.1/client.json", true)).toBe("forbidden_address");
    expect(await fetchFailure("https://169.254.169.254/x", true)).toBe("forbidden_address");
  });
});

describe("Client ID Metadata Documents at the authorization server", () => {
  let host: CimdHost;
  let t: ProvisionedServer;
  const document = (clientId: string, extra: Record<string, unknown> = {}) => ({
    client_id: clientId,
    client_name: "CIMD test client",
    redirect_uris: [REDIRECT_URI],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
    ...extra,
  });
  /** The error page for an authorization request by `clientId` (never a redirect). */
  const refusal = async (clientId: string) => {
    const answer = await call(
      t.url,
      authorizationPath({ clientId, resource: RESOURCE, challenge: pkcePair().challenge, method: "S256" }),
    );
    expect(answer.status).toBe(400);
    expect(answer.headers.get("location")).toBeNull();
    return answer.body as string;
  };

  beforeAll(async () => {
    host = startCimdHost();
    t = await startProvisionedServer(RESOURCE, {
      oauth: { cimd: { allowLoopback: true, caFile: host.caFile, timeoutMs: FETCH_TIMEOUT_MS } },
    });
  });
  afterAll(async () => {
    await t.stop();
    await host.stop();
  });

  test("a valid document identifies the client: authorize, exchange with the URL as client_id", async () => {
    const clientId = host.serve("/client.json", document(`${host.origin}/client.json`));
    const { code, verifier } = await approveWithPkce(t.url, t.agent.agentToken, {
      clientId,
      resource: RESOURCE,
    });
    const tokens = await exchangeCode(t.url, { code, verifier, clientId }, { resource: RESOURCE });
    expect(tokens.status).toBe(200);
    expect(tokens.body.refresh_token).toBeDefined();
  });

  test("documents are cached for their max-age (clamped), then fetched again", async () => {
    const clientId = host.serve("/cached.json", document(`${host.origin}/cached.json`), "max-age=120");
    const approve = () =>
      agentApprove(t.url, t.agent.agentToken, {
        clientId,
        resource: RESOURCE,
        challenge: pkcePair().challenge,
        method: "S256",
      });
    await approve();
    await approve();
    expect(host.hits.get("/cached.json")).toBe(1);
    t.clock.advance(121_000);
    try {
      await approve();
      expect(host.hits.get("/cached.json")).toBe(2);
    } finally {
      t.clock.advance(-121_000);
    }
  });

  test("a document naming another client_id, or carrying a secret, is refused", async () => {
    const mismatch = host.serve("/mismatch.json", document("https://other.example/client.json"));
    expect(await refusal(mismatch)).toContain("different client_id");
    const secret = host.serve(
      "/secret.json",
      document(`${host.origin}/secret.json`, { client_secret: "s3cret" }),
    );
    expect(await refusal(secret)).toContain("secret");
    const method = host.serve(
      "/method.json",
      document(`${host.origin}/method.json`, { token_endpoint_auth_method: "client_secret_basic" }),
    );
    expect(await refusal(method)).toContain("not valid");
  });

  test("invalid metadata in a document (a non-loopback http redirect URI) is refused", async () => {
    const clientId = host.serve(
      "/bad-redirect.json",
      document(`${host.origin}/bad-redirect.json`, { redirect_uris: ["http://evil.example/callback"] }),
    );
    expect(await refusal(clientId)).toContain("not valid");
  });

  test("a redirect URI the document does not list is refused without redirecting", async () => {
    const clientId = host.serve("/listed.json", document(`${host.origin}/listed.json`));
    const answer = await call(
      t.url,
      authorizationPath({
        clientId,
        resource: RESOURCE,
        challenge: pkcePair().challenge,
        method: "S256",
        redirectUri: "http://127.0.0.1:9999/elsewhere",
      }),
    );
    expect(answer.status).toBe(400);
    expect(answer.headers.get("location")).toBeNull();
  });

  test("oversized, redirected, slow, non-JSON and missing documents are refused, each for its reason", async () => {
    const big = host.serve("/big.json", document(`${host.origin}/big.json`, { padding: "x".repeat(6000) }));
    expect(await refusal(big)).toContain("too_large");
    const moved = host.serve("/moved.json", () => Response.redirect(`${host.origin}/client.json`, 302));
    expect(await refusal(moved)).toContain("redirect");
    // Answers only once the server has given up on it, whatever the machine's speed.
    let answer = () => {};
    const answered = new Promise<void>((resolve) => {
      answer = resolve;
    });
    const slow = host.serve("/slow.json", async () => {
      await answered;
      return Response.json(document(`${host.origin}/slow.json`));
    });
    expect(await refusal(slow)).toContain("timeout");
    answer();
    const html = host.serve(
      "/page.json",
      () => new Response("<html></html>", { headers: { "content-type": "text/html" } }),
    );
    expect(await refusal(html)).toContain("bad_content_type");
    expect(await refusal(`${host.origin}/missing.json`)).toContain("bad_status");
  });

  test("a failure is remembered for a while: a hostile URL is not fetched on every request", async () => {
    const flaky = host.serve("/flaky.json", () => new Response("no", { status: 500 }));
    await refusal(flaky);
    await refusal(flaky);
    expect(host.hits.get("/flaky.json")).toBe(1);
  });

  test("an http client id, or one on a private address, is refused", async () => {
    expect(await refusal("http://127.0.0.1:1/client.json")).toContain("https");
    expect(await refusal("https://10.0.0.1/client.json")).toContain("forbidden_address");
  });

  test("the certificate is verified: without the test CA the document cannot be fetched", async () => {
    expect(await fetchFailure(`${host.origin}/client.json`, true)).toBe("network");
    expect(await fetchFailure(`${host.origin}/client.json`, true, await Bun.file(host.caFile).text())).toBe(
      "fetched",
    );
  });
});

describe("CIMD switched off or loopback not allowed", () => {
  test("with the default configuration a loopback document host is refused", async () => {
    const host = startCimdHost();
    const t = await startOAuthServer({ oauth: { cimd: { caFile: host.caFile } } });
    try {
      const clientId = host.serve("/client.json", {
        client_id: `${host.origin}/client.json`,
        redirect_uris: [REDIRECT_URI],
      });
      const owner = await registerOwner(t.url);
      await registerResource(t.url, owner, RESOURCE);
      const answer = await call(
        t.url,
        authorizationPath({ clientId, resource: RESOURCE, challenge: pkcePair().challenge, method: "S256" }),
      );
      expect(answer.status).toBe(400);
      expect(answer.body).toContain("forbidden_address");
      expect(host.hits.get("/client.json")).toBeUndefined();
    } finally {
      await t.stop();
      await host.stop();
    }
  });

  test("OAUTH_CIMD=off: metadata says so and URL client ids are invalid_client", async () => {
    const t = await startOAuthServer({ oauth: { cimd: { enabled: false } } });
    try {
      const metadata = await call(t.url, "/.well-known/oauth-authorization-server");
      expect(metadata.body.client_id_metadata_document_supported).toBe(false);
      const answer = await tokenRequest(t.url, {
        grant_type: "authorization_code",
        code: "x",
        code_verifier: "y".repeat(43),
        client_id: "https://app.example/client.json",
      });
      expect(answer.status).toBe(401);
      expect(answer.body.error).toBe("invalid_client");
    } finally {
      await t.stop();
    }
  });
});
