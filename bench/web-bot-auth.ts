/**
 * What a Web Bot Auth signature costs a site (docs/web-bot-auth.md): the
 * guard's `verifyRequest` on a request with a key-bound passport and its
 * signature (Ed25519, and P-256), against the same call on a request with an
 * unbound passport alone, the LIME baseline, in the same process. Each
 * verification makes the whole check: the passport (RS256 over the cached
 * JWKS), then the signature's parse, key lookup in the cached directory,
 * verification, binding, freshness and replay cache.
 *
 * The floor: one raw `crypto.subtle.verify` (Ed25519) of the same signature
 * base with an imported key, what no verifier can go below.
 *
 * Every iteration prepares one request per subject untimed (a fresh
 * signature, so the replay cache accepts it), then times the subjects in a
 * rotating order. The transport is in memory: after the first fetch of the
 * JWKS and the directory no verification touches it.
 * No gates: a report (the ratio moves with the machine's RS256/EdDSA speeds).
 * Run alone: `bun bench/web-bot-auth.ts [--short] [--json]`.
 */
import {
  type AgentKeyPair,
  generateAgentKey,
  importAgentPublicKey,
  parseSignatures,
  signMessage,
} from "@lime-ts/core/http-signatures";
import { createJwks, generateSigningKey } from "@lime-ts/core/keys";
import { signPassport } from "@lime-ts/core/passport";
import { PassportVerifier } from "@lime-ts/sdk";
import { formatSection } from "./lib/table.ts";
import type { BenchOptions, BenchRow, BenchSection } from "./lib/types.ts";

const ISSUER = "https://lime.example";
const SITE = "https://shop.example";
const AGENT_ID = "agt_01J9Z8Q4V6X2M3N5P7R9T1W3Y5";
const DIRECTORY = `${ISSUER}/.well-known/http-message-signatures-directory/agents/${AGENT_ID}`;
const TARGET = `${SITE}/api/orders?page=2`;

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function runtimeName(): string {
  return typeof Bun !== "undefined" ? `bun ${Bun.version}` : `node ${process.version}`;
}

function passportClaims(cnf?: { jkt: string }) {
  const iat = Math.floor(Date.now() / 1000);
  return {
    iss: ISSUER,
    sub: AGENT_ID,
    aud: SITE,
    iat,
    exp: iat + 300,
    jti: crypto.randomUUID(),
    user_id: "usr_01J9Z8Q4V6X2M3N5P7R9T1W3Y7",
    owner_kyc_level: 2,
    agent_name: "Research assistant",
    passport_version: 1,
    agent_id: AGENT_ID,
    ...(cnf === undefined ? {} : { cnf }),
  };
}

/** The request `AgentClient.fetch` would send with `passport`, signed now by `key`. */
async function signedRequest(passport: string, key: AgentKeyPair): Promise<Request> {
  const headers = new Headers({
    authorization: `AgentPassport ${passport}`,
    "signature-agent": `"${DIRECTORY}"`,
  });
  const created = Math.floor(Date.now() / 1000);
  const { signatureInput, signature } = await signMessage({ method: "GET", url: TARGET, headers }, key, {
    components: ["@method", "@authority", "@path", "@query", "signature-agent", "authorization"],
    created,
    expires: created + 60,
    nonce: crypto.randomUUID(),
    tag: "web-bot-auth",
  });
  headers.set("signature-input", signatureInput);
  headers.set("signature", signature);
  return new Request(TARGET, { headers });
}

export async function runWebBotAuthBench(opts: BenchOptions): Promise<BenchSection> {
  const iterations = opts.short ? 2_000 : 10_000;
  const warmup = opts.short ? 200 : 1_000;

  const issuerKey = await generateSigningKey();
  const agentKeys = { ed25519: await generateAgentKey("Ed25519"), p256: await generateAgentKey("P-256") };
  const jwks = JSON.stringify(createJwks([issuerKey.publicJwk]));
  const directory = JSON.stringify({
    keys: Object.values(agentKeys).map((k) => ({ ...k.publicJwk, kid: k.kid, use: "sig" })),
  });
  let fetches = 0;
  const verifier = new PassportVerifier({
    issuer: ISSUER,
    audience: SITE,
    revocation: { enabled: false },
    fetch: async (input) => {
      fetches++;
      const body = String(input) === DIRECTORY ? directory : jwks;
      return new Response(body, { headers: { "cache-control": "max-age=3600" } });
    },
  });
  const unbound = await signPassport(passportClaims(), issuerKey);
  const bound = {
    ed25519: await signPassport(passportClaims({ jkt: agentKeys.ed25519.kid }), issuerKey),
    p256: await signPassport(passportClaims({ jkt: agentKeys.p256.kid }), issuerKey),
  };

  const verifyRequest = (request: Request) => verifier.verifyRequest(request);
  const edPublic = await importAgentPublicKey(agentKeys.ed25519.publicJwk);
  const subjects: { name: string; prepare: () => Promise<Request>; run: (r: Request) => Promise<unknown> }[] =
    [
      {
        name: "passport only",
        prepare: async () => new Request(TARGET, { headers: { authorization: `AgentPassport ${unbound}` } }),
        run: verifyRequest,
      },
      {
        name: "signed, Ed25519",
        prepare: () => signedRequest(bound.ed25519, agentKeys.ed25519),
        run: verifyRequest,
      },
      { name: "signed, P-256", prepare: () => signedRequest(bound.p256, agentKeys.p256), run: verifyRequest },
    ];
  const [parsed] = parseSignatures(await signedRequest(bound.ed25519, agentKeys.ed25519), {
    tag: "web-bot-auth",
  });
  const base = new TextEncoder().encode(parsed!.base);
  const rawSignature = new Uint8Array(parsed!.signature);
  const floor = () => crypto.subtle.verify("Ed25519", edPublic, rawSignature, base);
  for (const subject of subjects.slice(1)) {
    if ((await verifier.verifyRequest(await subject.prepare())).signature === undefined) {
      throw new Error(`bench setup: ${subject.name} was not checked as signed`);
    }
  }
  if (!(await floor())) throw new Error("bench setup: the raw signature does not verify");
  for (let i = 0; i < warmup; i++) {
    for (const subject of subjects) await subject.run(await subject.prepare());
    await floor();
  }

  const samples = [...subjects, undefined].map(() => new Float64Array(iterations));
  const timed = subjects.length + 1;
  for (let i = 0; i < iterations; i++) {
    const requests = await Promise.all(subjects.map((subject) => subject.prepare()));
    for (let j = 0; j < timed; j++) {
      const which = (i + j) % timed;
      const subject = subjects[which];
      const start = performance.now();
      await (subject === undefined ? floor() : subject.run(requests[which]!));
      samples[which]![i] = (performance.now() - start) * 1000;
    }
  }

  const summaries = samples.map((s) => {
    const sorted = s.slice().sort();
    return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
  });
  const passportOnly = summaries[0]!;
  const rows: BenchRow[] = [];
  subjects.forEach((subject, index) => {
    const { p50, p99 } = summaries[index]!;
    rows.push(
      { label: `verifyRequest ${subject.name} median`, value: p50, unit: "µs" },
      { label: `verifyRequest ${subject.name} p99`, value: p99, unit: "µs" },
    );
    if (index > 0) {
      rows.push(
        { label: `${subject.name} / passport only, median`, value: p50 / passportOnly.p50, unit: "x" },
        { label: `${subject.name} / passport only, p99`, value: p99 / passportOnly.p99, unit: "x" },
      );
    }
  });
  const edFloor = summaries[subjects.length]!;
  const edSigned = summaries[1]!;
  rows.push(
    {
      label: "Ed25519 subtle.verify median",
      value: edFloor.p50,
      unit: "µs",
      note: "floor: same base, imported key",
    },
    { label: "Ed25519 subtle.verify p99", value: edFloor.p99, unit: "µs" },
    {
      label: "Ed25519 signature's own cost, median",
      value: edSigned.p50 - passportOnly.p50,
      unit: "µs",
      note: "signed − passport only; parse, lookup, checks and the floor",
    },
    { label: "verifications", value: iterations, unit: "each", note: "per subject, interleaved" },
    { label: "issuer fetches", value: fetches, unit: "", note: "JWKS and directory, once each" },
  );
  return { name: "web-bot-auth", runtime: runtimeName(), rows, gates: [] };
}

if (import.meta.main) {
  const args = new Set(process.argv.slice(2));
  const section = await runWebBotAuthBench({ short: args.has("--short") });
  if (args.has("--json")) console.log(JSON.stringify(section, null, 2));
  else console.log(formatSection(section, () => true));
}
