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
import { caught, sharedKey } from "./fixtures.ts";

const BUN: RuntimeScope = { process: { versions: { node: "24.3.0", bun: "1.4.5" } } };
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
  test("Bun and Node may; Deno (which also reports a node version), browsers and bare scopes may not", () => {
    expect(isBunOrNode(BUN)).toBe(true);
    expect(isBunOrNode(NODE)).toBe(true);
    expect(isBunOrNode({ Deno: {}, process: { versions: { node: "26.3.0" } } })).toBe(false);
    expect(isBunOrNode({ process: { versions: { node: "26.3.0", deno: "2.9.6" } } })).toBe(false);
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
