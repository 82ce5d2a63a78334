/**
 * Choosing the RS256 backend: `node:crypto` only where the runtime says it
 * is Bun or Node and the module passes the RFC 7515 A.2 known answer,
 * WebCrypto otherwise. The stand-in modules below are broken on purpose:
 * they play a polyfill that must never be trusted, not the crypto under test
 * (the vectors in wycheproof-*.test.ts run the real thing on both backends).
 */
import { describe, expect, test } from "bun:test";
import * as nodeCrypto from "node:crypto";
import {
  detectNodeRsa,
  type ImportModule,
  isBunOrNode,
  type NodeRsaApi,
  nodeRsa,
  type RuntimeScope,
} from "../../../core/passport/node-crypto.ts";
import { createRs256Verifier, rs256Sign } from "../../../core/passport/rs256.ts";
import { SLOW_TEST_TIMEOUT_MS } from "../../support/slow-test.ts";
import { caught, RS256_BACKENDS, rs256Verifier, sharedKey } from "./fixtures.ts";

const BUN: RuntimeScope = { process: { versions: { node: "24.3.0", bun: "1.4.5", boringssl: "fe703e9" } } };
const NODE: RuntimeScope = { process: { versions: { node: "20.20.2", openssl: "3.0.19" } } };

function importing(module: unknown): ImportModule & { specifiers: string[] } {
  const specifiers: string[] = [];
  const importModule = async (specifier: string) => {
    specifiers.push(specifier);
    return module;
  };
  return Object.assign(importModule, { specifiers });
}

describe("which runtimes may use node:crypto", () => {
  test("Bun and Node may; Deno (which also reports node and openssl versions), browsers, bundler stand-ins for process and bare scopes may not", () => {
    expect(isBunOrNode(BUN)).toBe(true);
    expect(isBunOrNode(NODE)).toBe(true);
    expect(isBunOrNode({ process: { versions: { bun: "1.4.5", boringssl: "fe703e9" } } })).toBe(true);
    expect(isBunOrNode({ process: process as RuntimeScope["process"] })).toBe(true); // this runtime
    const deno = { node: "26.3.0", openssl: "3.0.7+quic", deno: "2.9.6" };
    expect(isBunOrNode({ Deno: {}, process: { versions: deno } })).toBe(false);
    expect(isBunOrNode({ process: { versions: deno } })).toBe(false);
    expect(isBunOrNode({ Deno: {}, process: { versions: { node: "26.3.0", openssl: "3.0.7" } } })).toBe(
      false,
    );
    expect(isBunOrNode({ process: { versions: { node: "20.0.0" } } })).toBe(false); // no crypto library named
    expect(isBunOrNode({})).toBe(false);
    expect(isBunOrNode({ process: {} })).toBe(false);
    expect(isBunOrNode({ process: { versions: {} } })).toBe(false);
  });

  test("outside Bun and Node nothing is imported", async () => {
    const importModule = importing(nodeCrypto);
    expect(await detectNodeRsa({ Deno: {}, process: { versions: { node: "26.3.0" } } }, importModule)).toBe(
      undefined,
    );
    expect(await detectNodeRsa({}, importModule)).toBe(undefined);
    expect(importModule.specifiers).toEqual([]);
  });

  test("in Bun or Node, node:crypto is imported by its computed name and used once it passes the known answer", async () => {
    for (const scope of [BUN, NODE]) {
      const importModule = importing(nodeCrypto);
      expect(await detectNodeRsa(scope, importModule)).toBe(nodeCrypto as unknown as NodeRsaApi);
      expect(importModule.specifiers).toEqual(["node:crypto"]);
    }
  });

  test("a module that fails to load, lacks the API, throws, or answers wrongly on RFC 7515 A.2 is not used", async () => {
    const failing: ImportModule = () => Promise.reject(new Error("no such module"));
    expect(await detectNodeRsa(BUN, failing)).toBe(undefined);
    expect(await detectNodeRsa(BUN, importing({}))).toBe(undefined);
    const standIn = (verify: () => boolean) => importing({ createPublicKey: () => ({}), verify });
    expect(
      await detectNodeRsa(
        BUN,
        standIn(() => true),
      ),
    ).toBe(undefined); // accepts a forgery
    expect(
      await detectNodeRsa(
        BUN,
        standIn(() => false),
      ),
    ).toBe(undefined); // refuses the published signature
    const throwing = () => {
      throw new Error("unsupported");
    };
    expect(await detectNodeRsa(BUN, standIn(throwing))).toBe(undefined);
  });

  test("this runtime's detection runs once: Bun gets node:crypto", async () => {
    expect(nodeRsa()).toBe(nodeRsa());
    expect(await nodeRsa()).toBeDefined();
  });
});

describe("createRs256Verifier", () => {
  test('"auto" takes node:crypto when there is one and WebCrypto when there is none; "webcrypto" always takes WebCrypto', async () => {
    const { publicJwk } = await sharedKey();
    const api = await nodeRsa();
    const backendOf = async (choice: "auto" | "webcrypto", nodeApi: NodeRsaApi | undefined) =>
      (await createRs256Verifier(publicJwk.n, publicJwk.e, choice, nodeApi)).backend;
    expect(await backendOf("auto", api)).toBe("node-crypto");
    expect(await backendOf("auto", undefined)).toBe("webcrypto");
    expect(await backendOf("webcrypto", api)).toBe("webcrypto");
  });

  test('forcing "node-crypto" where there is none is PASSPORT_INVALID_OPTION', async () => {
    const { publicJwk } = await sharedKey();
    const error = await caught(() => createRs256Verifier(publicJwk.n, publicJwk.e, "node-crypto", undefined));
    expect([error.name, error.code]).toEqual(["PassportError", "PASSPORT_INVALID_OPTION"]);
  });

  test("the node-crypto verifier answers synchronously, the WebCrypto one with a promise", async () => {
    const key = await sharedKey();
    const data = new TextEncoder().encode("signed bytes");
    const signature = new Uint8Array(await rs256Sign(key.privateKey, data));
    const native = await createRs256Verifier(
      key.publicJwk.n,
      key.publicJwk.e,
      "node-crypto",
      await nodeRsa(),
    );
    const web = await createRs256Verifier(key.publicJwk.n, key.publicJwk.e, "webcrypto", undefined);
    expect(native.verify(signature, data)).toBe(true);
    const pending = web.verify(signature, data);
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toBe(true);
  });
});

describe("both backends at the edges of the key policy", () => {
  const toBigInt = (bytes: Uint8Array) => BigInt(`0x${Buffer.from(bytes).toString("hex")}`);
  const toBytes = (value: bigint, length: number) =>
    new Uint8Array(Buffer.from(value.toString(16).padStart(length * 2, "0"), "hex"));
  const b64u = (value: bigint) =>
    Buffer.from(toBytes(value, Math.ceil(value.toString(16).length / 2))).toString("base64url");
  const modPow = (base: bigint, exponent: bigint, modulus: bigint) => {
    let result = 1n;
    let b = base % modulus;
    for (let e = exponent; e > 0n; e >>= 1n) {
      if (e & 1n) result = (result * b) % modulus;
      b = (b * b) % modulus;
    }
    return result;
  };
  const modInverse = (a: bigint, m: bigint) => {
    let [r0, r1, x0, x1] = [a, m, 1n, 0n];
    while (r1 !== 0n) {
      const q = r0 / r1;
      [r0, r1, x0, x1] = [r1, r0 - q * r1, x1, x0 - q * x1];
    }
    return ((x0 % m) + m) % m;
  };
  const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));

  test(
    "public exponents of 17 to 256 bits (all allowed by the policy) get the same answer from both, valid or forged",
    async () => {
      // Libraries cap e below the policy (BoringSSL at 33 bits); whatever they
      // answer, the two backends of one runtime must answer alike.
      const { privateKey } = nodeCrypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
      const jwk = privateKey.export({ format: "jwk" });
      const [p, q] = [jwk.p!, jwk.q!].map((member) => toBigInt(Buffer.from(member, "base64url")));
      const n = p! * q!;
      const phi = (p! - 1n) * (q! - 1n);
      const data = new TextEncoder().encode("header.payload");
      // RFC 8017 §9.2 EMSA-PKCS1-v1_5 with SHA-256, built by hand.
      const digestInfo = Buffer.concat([
        Buffer.from("3031300d060960864801650304020105000420", "hex"),
        nodeCrypto.createHash("sha256").update(data).digest(),
      ]);
      const encoded = Buffer.concat([
        Buffer.from([0, 1]),
        Buffer.alloc(256 - 3 - digestInfo.length, 0xff),
        Buffer.from([0]),
        digestInfo,
      ]);
      const answers: string[] = [];
      for (const bits of [17, 33, 34, 64, 65, 256]) {
        let e = (1n << BigInt(bits - 1)) + 1n;
        while (gcd(e, phi) !== 1n) e += 2n;
        const signature = toBytes(modPow(toBigInt(encoded), modInverse(e, phi), n), 256);
        const forged = signature.slice();
        forged[100]! ^= 1;
        const verdicts = [];
        for (const backend of RS256_BACKENDS) {
          const verifier = await rs256Verifier({ n: b64u(n), e: b64u(e) }, backend);
          verdicts.push(`${await verifier.verify(signature, data)}/${await verifier.verify(forged, data)}`);
        }
        expect(verdicts[1]).toBe(verdicts[0]!);
        expect(verdicts[0]!.endsWith("/false")).toBe(true);
        answers.push(`${bits}:${verdicts[0]}`);
      }
      // A 17-bit exponent is the common case: it verifies.
      expect(answers[0]).toBe("17:true/false");
    },
    SLOW_TEST_TIMEOUT_MS,
  );
});
