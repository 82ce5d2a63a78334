import { describe, expect, test } from "bun:test";
import {
  type AgentKeyPair,
  generateAgentKey,
  type ParsedSignature,
  parseSignatures,
  signatureBase,
  signMessage,
  signSignatureBase,
  verifyParsedSignature,
} from "../../../core/http-signatures/index.ts";
import { caught, randomNonce } from "./fixtures.ts";

const CREATED = 1_800_000_000;
const WBA_COMPONENTS = ["@method", "@authority", "@path", "signature-agent", "authorization"];

function agentRequest(url = "https://shop.example/orders/42?view=full"): Request {
  return new Request(url, {
    method: "POST",
    headers: { authorization: "AgentPassport a.b.c", "signature-agent": '"https://lime.example/dir"' },
  });
}

async function signed(key: AgentKeyPair, request = agentRequest(), options = {}): Promise<Request> {
  const headers = await signMessage(request, key, {
    components: WBA_COMPONENTS,
    created: CREATED,
    expires: CREATED + 60,
    nonce: randomNonce(),
    tag: "web-bot-auth",
    ...options,
  });
  request.headers.set("Signature-Input", headers.signatureInput);
  request.headers.set("Signature", headers.signature);
  return request;
}

function only(message: Request | Response, options = {}): ParsedSignature {
  const parsed = parseSignatures(message, options);
  expect(parsed).toHaveLength(1);
  return parsed[0]!;
}

describe("signMessage + parseSignatures + verifyParsedSignature", () => {
  for (const kind of ["Ed25519", "P-256"] as const) {
    test(`${kind}: round trip, with keyid = kid and alg = the key's`, async () => {
      const key = await generateAgentKey(kind);
      const parsed = only(await signed(key), { tag: "web-bot-auth" });
      expect(parsed.label).toBe("sig1");
      expect(parsed.params).toMatchObject({
        created: CREATED,
        expires: CREATED + 60,
        keyid: key.kid,
        alg: key.algorithm,
        tag: "web-bot-auth",
      });
      expect(parsed.signature).toHaveLength(64);
      expect(await verifyParsedSignature(parsed, key.publicJwk)).toBe(true);
    });

    test(`${kind}: another key, a changed component, a changed parameter do not verify`, async () => {
      const key = await generateAgentKey(kind);
      const other = await generateAgentKey(kind);
      const request = await signed(key);
      expect(await verifyParsedSignature(only(request), other.publicJwk)).toBe(false);
      const moved = new Request("https://shop.example/orders/43?view=full", request);
      expect(await verifyParsedSignature(only(moved), key.publicJwk)).toBe(false);
      const input = request.headers.get("signature-input")!;
      request.headers.set(
        "signature-input",
        input.replace(`expires=${CREATED + 60}`, `expires=${CREATED + 6000}`),
      );
      expect(await verifyParsedSignature(only(request), key.publicJwk)).toBe(false);
    });
  }

  test("the base is exactly RFC 9421 §2.5: one line per component, then @signature-params, no trailing LF", async () => {
    const key = await generateAgentKey();
    const parsed = only(await signed(key, agentRequest(), { nonce: "n1" }));
    expect(parsed.base).toBe(
      [
        '"@method": POST',
        '"@authority": shop.example',
        '"@path": /orders/42',
        '"signature-agent": "https://lime.example/dir"',
        '"authorization": AgentPassport a.b.c',
        `"@signature-params": ("@method" "@authority" "@path" "signature-agent" "authorization");created=${CREATED};expires=${CREATED + 60};keyid="${key.kid}";alg="ed25519";nonce="n1";tag="web-bot-auth"`,
      ].join("\n"),
    );
  });

  test("RFC 9421 §2.2 derived component values", () => {
    const request = new Request("HTTPS://WWW.Example.com:443/a%20b/c?x=1&y=%20#frag", { method: "PATCH" });
    const params = { created: 1, keyid: "k" };
    const lines = (names: string[]) => signatureBase(request, names, params).split("\n").slice(0, -1);
    expect(
      lines(["@method", "@target-uri", "@authority", "@scheme", "@request-target", "@path", "@query"]),
    ).toEqual([
      '"@method": PATCH',
      '"@target-uri": https://www.example.com/a%20b/c?x=1&y=%20',
      '"@authority": www.example.com',
      '"@scheme": https',
      '"@request-target": /a%20b/c?x=1&y=%20',
      '"@path": /a%20b/c',
      '"@query": ?x=1&y=%20',
    ]);
    expect(lines(["@query", "@authority"])).toEqual([
      '"@query": ?x=1&y=%20',
      '"@authority": www.example.com',
    ]);
    const plain = new Request("http://example.com:8080/");
    expect(signatureBase(plain, ["@query", "@authority", "@path"], params).split("\n").slice(0, -1)).toEqual([
      '"@query": ?',
      '"@authority": example.com:8080',
      '"@path": /',
    ]);
  });

  test('RFC 9421 §2.1: header fields by lowercase name; repeated fields joined with ", ", values trimmed', () => {
    const headers = new Headers();
    headers.append("X-Multi", "  one ");
    headers.append("x-multi", "two");
    const base = signatureBase({ method: "GET", url: "https://a.example/", headers }, ["x-multi"], {
      created: 1,
      keyid: "k",
    });
    expect(base.split("\n")[0]).toBe('"x-multi": one, two');
  });

  test("several signatures: all are returned, the tag filters them", async () => {
    const first = await generateAgentKey();
    const second = await generateAgentKey("P-256");
    const request = agentRequest();
    const a = await signMessage(request, first, {
      label: "a",
      components: ["@authority"],
      created: CREATED,
      tag: "web-bot-auth",
    });
    const b = await signMessage(request, second, {
      label: "b",
      components: ["@path"],
      created: CREATED,
      tag: "other",
    });
    request.headers.set("Signature-Input", `${a.signatureInput}, ${b.signatureInput}`);
    request.headers.set("Signature", `${b.signature}, ${a.signature}`);
    const all = parseSignatures(request);
    expect(all.map((s) => s.label)).toEqual(["a", "b"]);
    expect(await verifyParsedSignature(all[0]!, first.publicJwk)).toBe(true);
    expect(await verifyParsedSignature(all[1]!, second.publicJwk)).toBe(true);
    expect(parseSignatures(request, { tag: "other" }).map((s) => s.label)).toEqual(["b"]);
    expect(await caught(() => parseSignatures(request, { tag: "nope" }))).toMatchObject({
      code: "SIGNATURE_MISSING",
    });
  });

  test("an alg parameter naming another algorithm than the key's is not valid, even over a good signature", async () => {
    const key = await generateAgentKey("P-256");
    const request = agentRequest();
    const params = { created: CREATED, keyid: key.kid, alg: "ed25519" as const };
    const base = signatureBase(request, ["@authority"], params);
    const signature = await signSignatureBase(base, key);
    request.headers.set(
      "Signature-Input",
      `sig1=${base.slice(base.indexOf("(", base.lastIndexOf('"@signature-params"')))}`,
    );
    request.headers.set("Signature", `sig1=:${btoa(String.fromCharCode(...signature))}:`);
    const parsed = only(request);
    expect(parsed.base).toBe(base);
    expect(await verifyParsedSignature(parsed, key.publicJwk)).toBe(false);
    expect(
      await verifyParsedSignature({ ...parsed, params: { ...parsed.params, alg: undefined } }, key.publicJwk),
    ).toBe(true);
  });

  test("verifyParsedSignature never throws: bad keys, wrong lengths, junk are false", async () => {
    const key = await generateAgentKey();
    const parsed = only(await signed(key));
    expect(await verifyParsedSignature(parsed, { kty: "RSA" } as never)).toBe(false);
    expect(await verifyParsedSignature(parsed, { ...key.publicJwk, d: "x" } as never)).toBe(false);
    expect(
      await verifyParsedSignature({ ...parsed, signature: parsed.signature.slice(0, 63) }, key.publicJwk),
    ).toBe(false);
    expect(await verifyParsedSignature({ ...parsed, signature: new Uint8Array(64) }, key.publicJwk)).toBe(
      false,
    );
    expect(await verifyParsedSignature(null as never, key.publicJwk)).toBe(false);
    const p256 = await generateAgentKey("P-256");
    const y = p256.publicJwk.y!;
    const offCurve = { ...p256.publicJwk, y: `${y.slice(0, 5)}${y[5] === "A" ? "B" : "A"}${y.slice(6)}` };
    expect(
      await verifyParsedSignature({ ...parsed, params: { ...parsed.params, alg: undefined } }, offCurve),
    ).toBe(false);
  });

  test("signMessage refuses caller mistakes with TypeError/RangeError", async () => {
    const key = await generateAgentKey();
    const base = { components: ["@authority"], created: CREATED };
    expect(await caught(() => signMessage(agentRequest(), key, { ...base, expires: CREATED }))).toMatchObject(
      { name: "RangeError" },
    );
    expect(await caught(() => signMessage(agentRequest(), key, { ...base, label: "Sig" }))).toMatchObject({
      name: "TypeError",
    });
    expect(await caught(() => signMessage(agentRequest(), key, { ...base, nonce: "é" }))).toMatchObject({
      name: "TypeError",
    });
    expect(await caught(() => signMessage(agentRequest(), key, { ...base, created: -1 }))).toMatchObject({
      name: "TypeError",
    });
    expect(await caught(() => signMessage(agentRequest(), key, { ...base, created: 1.5 }))).toMatchObject({
      name: "TypeError",
    });
    expect(await caught(() => signMessage(agentRequest(), {} as AgentKeyPair, base))).toMatchObject({
      name: "TypeError",
    });
    expect(
      await caught(() => signMessage(agentRequest(), key, { ...base, components: ["content-type"] })),
    ).toMatchObject({
      name: "SignatureError",
      code: "SIGNATURE_INVALID",
    });
    expect(
      await caught(() =>
        signMessage(agentRequest(), key, { ...base, components: ["@authority", "@authority"] }),
      ),
    ).toMatchObject({
      code: "SIGNATURE_MALFORMED",
    });
  });
});
