/**
 * The bench runner: `bun run bench` (full) and `bun run bench:gate` (CI's short gate mode).
 *
 * Each section measures its subject against a baseline in the same process and
 * reports ratios; this runner prints one table, writes `bench/out/report.json`,
 * and in gate mode exits non-zero when a gate fails. A section whose gates fail
 * is measured once more before the run is declared failed, because these
 * machines are shared and a single noisy neighbour can sink one sample.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runInNode } from "./lib/node-section.ts";
import { formatSection } from "./lib/table.ts";
import { type BenchGate, type BenchOptions, type BenchSection, gatePassed } from "./lib/types.ts";

type SectionRunner = (opts: BenchOptions) => Promise<BenchSection>;

interface SectionPlan {
  name: string;
  run: SectionRunner;
}

const args = new Set(process.argv.slice(2));
const gateMode = args.has("--gate");
const options: BenchOptions = { short: args.has("--short") };
const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length);

function plan(): SectionPlan[] {
  const sections: SectionPlan[] = [
    { name: "pow-bun", run: async (o) => (await import("./pow.ts")).runPowBench(o) },
    { name: "pow-node", run: (o) => runInNode("bench/pow.ts", o) },
    {
      name: "passport-verify",
      run: async (o) => (await import("./passport-verify.ts")).runPassportVerifyBench(o),
    },
    { name: "server", run: async (o) => (await import("./server.ts")).runServerBench(o) },
    { name: "backends", run: async (o) => (await import("./backends.ts")).runBackendsBench(o) },
    { name: "verify-budget", run: async (o) => (await import("./verify-budget.ts")).runVerifyBudgetBench(o) },
    // No gates: it draws the curve of docs/adaptive-difficulty.md (bench/out/adaptive-difficulty.svg).
    {
      name: "adaptive-difficulty",
      run: async (o) => (await import("./adaptive-difficulty.ts")).runAdaptiveDifficultyBench(o),
    },
    // No gates: revoke → refusal latency by stream and by poll (docs/revocation.md).
    { name: "revocation", run: async (o) => (await import("./revocation.ts")).runRevocationBench(o) },
    // No gates: the cost of a Web Bot Auth signature over the passport alone (docs/web-bot-auth.md).
    { name: "web-bot-auth", run: async (o) => (await import("./web-bot-auth.ts")).runWebBotAuthBench(o) },
  ];
  // Not in the gate: tens of minutes of flows over a growing history (`--long [--flows N]`, bench/long-run.ts).
  if (args.has("--long"))
    sections.push({
      name: "long-run",
      run: async (o) => {
        const longRun = await import("./long-run.ts");
        return longRun.runLongRunBench(longRun.longRunOptions(process.argv.slice(2), o));
      },
    });
  return only ? sections.filter((s) => only.split(",").includes(s.name)) : sections;
}

/** In the short gate mode only the gates marked `inShortMode` decide; a full run judges them all. */
function gateCounts(gate: BenchGate): boolean {
  return gate.inShortMode || !options.short;
}

function failedGates(section: BenchSection) {
  return section.gates.filter((g) => gateCounts(g) && !gatePassed(g));
}

async function main(): Promise<number> {
  const results: BenchSection[] = [];
  let failures = 0;
  for (const { name, run } of plan()) {
    let section = await run(options);
    if (gateMode && failedGates(section).length > 0) {
      console.log(`[bench] ${name}: a gate failed, measuring once more`);
      section = await run(options);
    }
    console.log(formatSection(section, gateCounts));
    results.push(section);
    const failed = failedGates(section);
    failures += failed.length;
    for (const g of failed) console.log(`[bench] GATE FAILED ${section.name}: ${g.name}`);
  }
  const outDir = join(import.meta.dir, "out");
  await mkdir(outDir, { recursive: true });
  const report = { date: new Date().toISOString(), gateMode, short: options.short, sections: results };
  await writeFile(join(outDir, "report.json"), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`[bench] report written to bench/out/report.json`);
  if (gateMode)
    console.log(failures === 0 ? "[bench] all gates passed" : `[bench] ${failures} gate(s) failed`);
  return gateMode && failures > 0 ? 1 : 0;
}

process.exit(await main());
