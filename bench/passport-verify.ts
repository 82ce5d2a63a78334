/**
 * Passport verification latency: LIME's `verifyPassport` against the floor it
 * cannot beat, one raw `crypto.subtle.verify` with the same key over the same
 * signing input, and, for reference, `jose.jwtVerify` on the same token.
 *
 * The subject and the floor alternate in every iteration, with the order
 * alternating too, so a noisy neighbour on this shared machine hits both
 * alike; jose is measured afterwards on its own, as a reference. Gates:
 * the verifier's p99 stays within 2x the floor's p99 (a ratio, so it holds on
 * slow machines too; checked in CI's short mode), and under 100 µs absolute in
 * a full run.
 *
 * Standalone: `./node_modules/.bin/bun bench/passport-verify.ts [--short] [--json]`.
 */
import { createLocalJWKSet, jwtVerify } from "jose";
import { createJwks, createLocalJwks, generateSigningKey } from "../core/keys/index.ts";
import { signPassport, verifyPassport } from "../core/passport/index.ts";
import { formatSection } from "./lib/table.ts";
import type { BenchOptions, BenchSection } from "./lib/types.ts";

const ISSUER = "https://lime.example";
const AUDIENCE = "lime-site-login";

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function summarize(samples: Float64Array): { p50: number; p99: number } {
  const sorted = samples.slice().sort();
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
}

function runtimeName(): string {
  return typeof Bun !== "undefined" ? `bun ${Bun.version}` : `node ${process.version}`;
}

export async function runPassportVerifyBench(opts: BenchOptions): Promise<BenchSection> {
  const iterations = opts.short ? 8_000 : 20_000;
  const warmup = opts.short ? 500 : 2_000;

  const key = await generateSigningKey();
  const jwksDocument = createJwks([key.publicJwk]);
  const jwks = createLocalJwks(jwksDocument);
  const joseJwks = createLocalJWKSet(jwksDocument);
  const iat = Math.floor(Date.now() / 1000);
  // A realistic site-login passport (the hot path of a site verifying logins).
  const token = await signPassport(
    {
      iss: ISSUER,
      sub: "agt_01J9Z8Q4V6X2M3N5P7R9T1W3Y5",
      aud: AUDIENCE,
      iat,
      exp: iat + 120,
      jti: "01J9Z8Q4V6X2M3N5P7R9T1W3Y6",
      user_id: "usr_01J9Z8Q4V6X2M3N5P7R9T1W3Y7",
      owner_kyc_level: 2,
      agent_name: "Research assistant",
      passport_version: 1,
      request_id: "req_01J9Z8Q4V6X2M3N5P7R9T1W3Y8",
      site_id: "site_01J9Z8Q4V6X2M3N5P7R9T1W3Y9",
    },
    key,
  );
  const options = {
    issuer: ISSUER,
    audience: AUDIENCE,
    requestId: "req_01J9Z8Q4V6X2M3N5P7R9T1W3Y8",
    siteId: "site_01J9Z8Q4V6X2M3N5P7R9T1W3Y9",
  };
  const dot = token.lastIndexOf(".");
  const signingInput = new TextEncoder().encode(token.slice(0, dot));
  const signature = new Uint8Array(Buffer.from(token.slice(dot + 1), "base64url"));
  const cryptoKey = await jwks.resolve(key.kid);
  const joseOptions = { issuer: ISSUER, audience: AUDIENCE, typ: "passport+jwt", algorithms: ["RS256"] };

  const subject = () => verifyPassport(token, jwks, options);
  const floor = () => crypto.subtle.verify("RSASSA-PKCS1-v1_5", cryptoKey, signature, signingInput);
  const reference = () => jwtVerify(token, joseJwks, joseOptions);

  if (!(await floor())) throw new Error("bench setup: the raw signature does not verify");
  for (let i = 0; i < warmup; i++) {
    await subject();
    await floor();
  }

  // Subject and floor alternate, and which goes first alternates too.
  const pair = [subject, floor];
  const pairSamples = [new Float64Array(iterations), new Float64Array(iterations)];
  for (let i = 0; i < iterations; i++) {
    for (let j = 0; j < 2; j++) {
      const which = (i + j) & 1;
      const start = performance.now();
      await pair[which]!();
      pairSamples[which]![i] = (performance.now() - start) * 1000;
    }
  }

  // jose is a reference only: measured after, on its own, so it does not
  // perturb the pair that the gates compare.
  const referenceIterations = Math.ceil(iterations / 4);
  for (let i = 0; i < warmup; i++) await reference();
  const referenceSamples = new Float64Array(referenceIterations);
  for (let i = 0; i < referenceIterations; i++) {
    const start = performance.now();
    await reference();
    referenceSamples[i] = (performance.now() - start) * 1000;
  }
  const samples = [...pairSamples, referenceSamples];

  const [lime, raw, jose] = samples.map(summarize) as [
    ReturnType<typeof summarize>,
    ReturnType<typeof summarize>,
    ReturnType<typeof summarize>,
  ];
  const ratioP99 = lime.p99 / raw.p99;
  return {
    name: "passport-verify",
    runtime: runtimeName(),
    rows: [
      { label: "verifyPassport p50", value: lime.p50, unit: "µs" },
      { label: "verifyPassport p99", value: lime.p99, unit: "µs" },
      { label: "subtle.verify p50", value: raw.p50, unit: "µs", note: "floor: same key, same signing input" },
      { label: "subtle.verify p99", value: raw.p99, unit: "µs" },
      { label: "jose.jwtVerify p50", value: jose.p50, unit: "µs", note: "reference, measured separately" },
      { label: "jose.jwtVerify p99", value: jose.p99, unit: "µs" },
      { label: "p99 ratio to floor", value: ratioP99, unit: "x" },
      { label: "p50 ratio to floor", value: lime.p50 / raw.p50, unit: "x" },
      {
        label: "verifications",
        value: iterations,
        unit: "each",
        note: `${token.length}-byte token, 2048-bit key`,
      },
    ],
    gates: [
      {
        name: "verifyPassport p99 / subtle.verify p99",
        actual: ratioP99,
        max: 2.0,
        unit: "x",
        inShortMode: true,
      },
      { name: "verifyPassport p99", actual: lime.p99, max: 100, unit: "µs", inShortMode: false },
    ],
  };
}

if (import.meta.main) {
  const args = new Set(process.argv.slice(2));
  const section = await runPassportVerifyBench({ short: args.has("--short") });
  if (args.has("--json")) console.log(JSON.stringify(section, null, 2));
  else console.log(formatSection(section, (gate) => gate.inShortMode || !args.has("--short")));
}
