import { describe, expect, test } from "bun:test";
import {
  parseDictionary,
  type SfLimits,
  serializeBareItem,
  serializeInnerList,
  serializeMember,
  serializeString,
} from "../../../core/http-signatures/structured-fields.ts";
import { caught } from "./fixtures.ts";

const LIMITS: SfLimits = { maxBytes: 8192, maxMembers: 8, maxInnerListItems: 32, maxParameters: 16 };

describe("RFC 8941 dictionary parser (the subset signatures use)", () => {
  test("inner lists with parameters, strings, tokens, integers, booleans, byte sequences", () => {
    const [first, second, third] = parseDictionary(
      'sig1=("@method" "@authority";req "x");created=1;keyid="k\\"\\\\";flag;off=?0;neg=-5;tok=abc/d:e, sig2=:AAEC/w==:, bare;p=1',
      LIMITS,
    );
    expect(first!.key).toBe("sig1");
    expect(first!.member).toEqual({
      kind: "inner-list",
      items: [
        { kind: "item", value: { type: "string", value: "@method" }, params: [] },
        {
          kind: "item",
          value: { type: "string", value: "@authority" },
          params: [["req", { type: "boolean", value: true }]],
        },
        { kind: "item", value: { type: "string", value: "x" }, params: [] },
      ],
      params: [
        ["created", { type: "integer", value: 1 }],
        ["keyid", { type: "string", value: 'k"\\' }],
        ["flag", { type: "boolean", value: true }],
        ["off", { type: "boolean", value: false }],
        ["neg", { type: "integer", value: -5 }],
        ["tok", { type: "token", value: "abc/d:e" }],
      ],
    });
    expect(second!.member).toEqual({
      kind: "item",
      value: { type: "bytes", value: new Uint8Array([0, 1, 2, 255]) },
      params: [],
    });
    expect(third!.member).toEqual({
      kind: "item",
      value: { type: "boolean", value: true },
      params: [["p", { type: "integer", value: 1 }]],
    });
  });

  test("serialization is the inverse of parsing for canonical input", () => {
    const input = '("@method" "@authority";req);created=1618884473;keyid="k\\"x";alg="ed25519";flag';
    const [member] = parseDictionary(`sig1=${input}`, LIMITS);
    expect(member!.raw).toBe(input);
    expect(serializeMember(member!.member)).toBe(input);
    expect(serializeInnerList({ kind: "inner-list", items: [], params: [] })).toBe("()");
  });

  test("whitespace RFC 8941 allows: around commas (OWS), between inner-list items, after ;", () => {
    const members = parseDictionary('a=( "x"  "y" ) ,\tb=:AA==:;  p=1', LIMITS);
    expect(members.map((m) => m.key)).toEqual(["a", "b"]);
    expect(serializeMember(members[0]!.member)).toBe('("x" "y")');
    expect(members[0]!.raw).toBe('( "x"  "y" )');
  });

  test("serializer refuses what it cannot represent (TypeError)", () => {
    expect(() => serializeString("é")).toThrow(TypeError);
    expect(() => serializeString("a\nb")).toThrow(TypeError);
    expect(() => serializeBareItem({ type: "integer", value: 1e15 })).toThrow(TypeError);
    expect(() => serializeBareItem({ type: "integer", value: 1.5 })).toThrow(TypeError);
    expect(() => serializeBareItem({ type: "token", value: "1abc" })).toThrow(TypeError);
    expect(serializeString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(serializeBareItem({ type: "bytes", value: new Uint8Array([0xfb, 0xff]) })).toBe(":+/8=:");
  });

  const malformed: [string, string][] = [
    ["an unterminated inner list", 'a=("x"'],
    ["an unterminated string", 'a=("x)'],
    ['an escape other than \\" and \\\\', 'a=("x\\n")'],
    ["an unterminated escape", 'a="x\\'],
    ["a raw tab inside a string", 'a="x\ty"'],
    ["inner-list items not separated by a space", 'a=("x""y")'],
    ["a duplicate dictionary key", "a=1, a=2"],
    ["a duplicate parameter", "a=1;p=1;p=2"],
    ["a trailing comma", "a=1,"],
    ["a missing comma", "a=1 b=2"],
    ["an uppercase key", "A=1"],
    ["a key starting with a digit", "1a=1"],
    ["a decimal", "a=1.5"],
    ["an integer of 16 digits", "a=1234567890123456"],
    ["a lone minus", "a=-"],
    ["a bad boolean", "a=?2"],
    ["an unterminated byte sequence", "a=:AAAA"],
    ["unpadded base64", "a=:AAE:"],
    ["base64url characters in a byte sequence", "a=:-_8=:"],
    ["base64 with non-zero trailing bits", "a=:AB==:"],
    ["too much padding", "a=:AA===:"],
    ["an unexpected character", "a=%"],
    ["garbage after a member", 'a=("x")y'],
    ["non-ASCII", 'a=("é")'],
    ["a control character", 'a=("x\u0001")'],
  ];
  for (const [what, input] of malformed) {
    test(`refuses ${what} (SIGNATURE_MALFORMED)`, async () => {
      expect(await caught(() => parseDictionary(input, LIMITS))).toMatchObject({
        name: "SignatureError",
        code: "SIGNATURE_MALFORMED",
      });
    });
  }

  const tooLarge: [string, string][] = [
    ["a value over maxBytes", `a="${"x".repeat(9000)}"`],
    ["more members than maxMembers", Array.from({ length: 9 }, (_, i) => `m${i}=1`).join(", ")],
    ["more inner-list items than allowed", `a=(${Array.from({ length: 33 }, () => '"x"').join(" ")})`],
    ["more parameters than allowed", `a=1${Array.from({ length: 17 }, (_, i) => `;p${i}=1`).join("")}`],
  ];
  for (const [what, input] of tooLarge) {
    test(`refuses ${what} (SIGNATURE_TOO_LARGE)`, async () => {
      expect(await caught(() => parseDictionary(input, LIMITS))).toMatchObject({
        name: "SignatureError",
        code: "SIGNATURE_TOO_LARGE",
      });
    });
  }

  test("random input never throws anything but a SignatureError", () => {
    const alphabet = 'a=();,:"\\ ?*-1_.x@Z\t/é';
    let seed = 12345;
    const next = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let i = 0; i < 3000; i++) {
      const length = next() % 40;
      let input = "";
      for (let j = 0; j < length; j++) input += alphabet[next() % alphabet.length];
      try {
        parseDictionary(input, LIMITS);
      } catch (error) {
        expect((error as Error).name).toBe("SignatureError");
      }
    }
  });
});
