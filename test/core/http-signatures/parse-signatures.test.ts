/**
 * parseSignatures against hostile headers: every refusal a SignatureError
 * with its code, never another exception.
 */
import { describe, expect, test } from "bun:test";
import {
  DEFAULT_MAX_SIGNATURE_HEADER_BYTES,
  generateAgentKey,
  type HttpMessage,
  parseSignatures,
  signMessage,
} from "../../../core/http-signatures/index.ts";
import { caught } from "./fixtures.ts";

const SIG = "sig1=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:";
const GOOD_INPUT = 'sig1=("@authority");created=1618884473;keyid="k"';

function request(input: string | null, signature: string | null = SIG, extra: Record<string, string> = {}) {
  const headers = new Headers(extra);
  if (input !== null) headers.set("signature-input", input);
  if (signature !== null) headers.set("signature", signature);
  return { method: "GET", url: "https://example.com/path", headers };
}

async function refusedWith(message: HttpMessage, code: string, options = {}) {
  const error = await caught(() => parseSignatures(message, options));
  expect(error.name).toBe("SignatureError");
  expect(error.code).toBe(code);
}

describe("parseSignatures refusals", () => {
  test("the well-formed baseline parses", () => {
    expect(parseSignatures(request(GOOD_INPUT))).toHaveLength(1);
  });

  test("no headers at all: SIGNATURE_MISSING; one without the other: SIGNATURE_MALFORMED", async () => {
    await refusedWith(request(null, null), "SIGNATURE_MISSING");
    await refusedWith(request(GOOD_INPUT, null), "SIGNATURE_MALFORMED");
    await refusedWith(request(null, SIG), "SIGNATURE_MALFORMED");
  });

  test(`oversized headers: SIGNATURE_TOO_LARGE (default ${DEFAULT_MAX_SIGNATURE_HEADER_BYTES} bytes, or maxHeaderBytes)`, async () => {
    const padded = `${GOOD_INPUT};pad="${"x".repeat(DEFAULT_MAX_SIGNATURE_HEADER_BYTES)}"`;
    await refusedWith(request(padded), "SIGNATURE_TOO_LARGE");
    await refusedWith(
      request(GOOD_INPUT, `${SIG}, pad=:${"A".repeat(DEFAULT_MAX_SIGNATURE_HEADER_BYTES)}:`),
      "SIGNATURE_TOO_LARGE",
    );
    await refusedWith(request(`${GOOD_INPUT};pad="${"x".repeat(300)}"`), "SIGNATURE_TOO_LARGE", {
      maxHeaderBytes: 256,
    });
    expect(await caught(() => parseSignatures(request(GOOD_INPUT), { maxHeaderBytes: 10 }))).toMatchObject({
      name: "RangeError",
    });
  });

  test("too many members, components or parameters: SIGNATURE_TOO_LARGE", async () => {
    const members = Array.from({ length: 9 }, (_, i) => `s${i}=("@authority");created=1;keyid="k"`).join(
      ", ",
    );
    await refusedWith(request(members), "SIGNATURE_TOO_LARGE");
    const components = Array.from({ length: 33 }, (_, i) => `"h${i}"`).join(" ");
    await refusedWith(request(`sig1=(${components});created=1;keyid="k"`), "SIGNATURE_TOO_LARGE");
    const params = Array.from({ length: 17 }, (_, i) => `;p${i}=1`).join("");
    await refusedWith(request(`sig1=("@authority");created=1;keyid="k"${params}`), "SIGNATURE_TOO_LARGE");
  });

  const malformed: [string, string, string?][] = [
    ["bad quoting (unterminated string)", 'sig1=("@authority);created=1;keyid="k"'],
    ["bad quoting (single quotes)", "sig1=('@authority');created=1;keyid='k'"],
    ["bad escaping", 'sig1=("@authority");created=1;keyid="k\\x"'],
    ["a duplicate label", `${GOOD_INPUT}, sig1=("@path");created=1;keyid="k"`],
    ["a duplicate parameter", 'sig1=("@authority");created=1;created=2;keyid="k"'],
    ["a duplicate signature label", GOOD_INPUT, `${SIG}, ${SIG}`],
    ["non-ASCII in a string", 'sig1=("@authority");created=1;keyid="clé"'],
    ["a negative created", 'sig1=("@authority");created=-1;keyid="k"'],
    ["a huge created (16 digits)", 'sig1=("@authority");created=1234567890123456;keyid="k"'],
    ["a decimal created", 'sig1=("@authority");created=1.5;keyid="k"'],
    ["a created given as a string", 'sig1=("@authority");created="1";keyid="k"'],
    ["a negative expires", 'sig1=("@authority");created=1;expires=-5;keyid="k"'],
    ["a missing created", 'sig1=("@authority");keyid="k"'],
    ["a missing keyid", 'sig1=("@authority");created=1'],
    ["an empty keyid", 'sig1=("@authority");created=1;keyid=""'],
    ["a keyid given as a token", 'sig1=("@authority");created=1;keyid=k'],
    ["a byte-sequence parameter", 'sig1=("@authority");created=1;keyid="k";x=:AA==:'],
    ["a member that is not an inner list", 'sig1="@authority";created=1;keyid="k"'],
    ["a component that is not a string", 'sig1=(authority);created=1;keyid="k"'],
    ["an uppercase header name", 'sig1=("Content-Type");created=1;keyid="k"', undefined],
    ["@signature-params as a component", 'sig1=("@signature-params");created=1;keyid="k"'],
    ["a component listed twice", 'sig1=("@authority" "@authority");created=1;keyid="k"'],
    ["req on a request component", 'sig1=("@authority";req);created=1;keyid="k"'],
    ["@status in a request", 'sig1=("@status");created=1;keyid="k"'],
    ["a label without its Signature", 'other=("@authority");created=1;keyid="k"'],
    ["a Signature that is not a byte sequence", GOOD_INPUT, 'sig1="abc"'],
    ["a Signature with parameters", GOOD_INPUT, `${SIG};x=1`],
    [
      "a Signature in base64url",
      GOOD_INPUT,
      "sig1=:wqcAqbmYJ2ji2glf-_aRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:",
    ],
    ["a non-canonical spelling (extra spaces in the list)", 'sig1=( "@authority" );created=1;keyid="k"'],
    ["a non-canonical spelling (explicit ?1)", 'sig1=("@authority");created=1;keyid="k";f=?1'],
    ["a non-canonical integer (leading zero)", 'sig1=("@authority");created=01;keyid="k"'],
    ["a trailing comma", `${GOOD_INPUT},`],
    ["an empty header", ""],
  ];
  for (const [what, input, signature] of malformed) {
    test(`${what}: SIGNATURE_MALFORMED`, async () => {
      await refusedWith(
        request(input, signature ?? SIG),
        input === "" ? "SIGNATURE_MISSING" : "SIGNATURE_MALFORMED",
      );
    });
  }

  const unsupported: [string, string][] = [
    ["an unknown alg", 'sig1=("@authority");created=1;keyid="k";alg="rsa-pss-sha512"'],
    ["hmac-sha256", 'sig1=("@authority");created=1;keyid="k";alg="hmac-sha256"'],
    ["@query-param", 'sig1=("@query-param";name="a");created=1;keyid="k"'],
    ["an unknown derived component", 'sig1=("@foo");created=1;keyid="k"'],
    ["the sf component parameter", 'sig1=("signature-agent";sf);created=1;keyid="k"'],
    ["the key component parameter", 'sig1=("signature-agent";key="x");created=1;keyid="k"'],
    ["the bs component parameter", 'sig1=("signature-agent";bs);created=1;keyid="k"'],
  ];
  for (const [what, input] of unsupported) {
    test(`${what}: SIGNATURE_UNSUPPORTED`, async () => {
      await refusedWith(request(input), "SIGNATURE_UNSUPPORTED");
    });
  }

  test("a covered header the message lacks: SIGNATURE_INVALID", async () => {
    await refusedWith(request('sig1=("authorization");created=1;keyid="k"'), "SIGNATURE_INVALID");
  });

  test("response-only and request-only components are checked against the message kind", async () => {
    const response = {
      status: 200,
      headers: new Headers({ "signature-input": 'sig1=("@method");created=1;keyid="k"', signature: SIG }),
    };
    await refusedWith(response, "SIGNATURE_MALFORMED");
    response.headers.set("signature-input", 'sig1=("@authority";req);created=1;keyid="k"');
    await refusedWith(response, "SIGNATURE_MALFORMED");
    expect(parseSignatures(response, { request: request(null) })[0]!.base.split("\n")[0]).toBe(
      '"@authority";req: example.com',
    );
  });

  test("members with another tag are skipped before their content is judged", async () => {
    const key = await generateAgentKey();
    const message = request(null, null);
    const ours = await signMessage(message, key, {
      components: ["@authority"],
      created: 1,
      tag: "web-bot-auth",
    });
    message.headers.set(
      "signature-input",
      `${ours.signatureInput}, foreign=( "@foo" );created=1;keyid="z";alg="x";tag="other"`,
    );
    message.headers.set("signature", ours.signature);
    expect(parseSignatures(message, { tag: "web-bot-auth" }).map((s) => s.label)).toEqual(["sig1"]);
    await refusedWith(message, "SIGNATURE_MALFORMED");
  });

  test("a header full of random bytes from the printable range never escapes as another error", () => {
    let seed = 99;
    const next = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const pieces = [
      "sig1=",
      "(",
      ")",
      '"@authority"',
      ";created=",
      "1",
      ';keyid="k"',
      ";req",
      " ",
      ",",
      ":AA==:",
      ";alg=",
      '"ed25519"',
      "?1",
      "-",
      "x",
    ];
    for (let i = 0; i < 2000; i++) {
      let input = "";
      for (let j = next() % 12; j > 0; j--) input += pieces[next() % pieces.length];
      try {
        parseSignatures(request(input));
      } catch (error) {
        expect((error as Error).name).toBe("SignatureError");
      }
    }
  });
});
