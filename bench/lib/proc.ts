/**
 * CPU time and resident memory of other processes, read from Linux's /proc:
 * the server instances, PostgreSQL, Redis and the balancer a bench starts as
 * children. A process's own `process.cpuUsage()` cannot see them.
 *
 * CPU time of a process tree is the sum, over its live members, of their own
 * time (utime + stime) and of their reaped children's (cutime + cstime), so a
 * PostgreSQL backend that exited mid-measurement is still counted once.
 */
import { readdirSync, readFileSync, readlinkSync, realpathSync } from "node:fs";

/** Whether /proc can be read (Linux). */
export const procAvailable = (() => {
  try {
    readFileSync("/proc/self/stat", "utf8");
    return true;
  } catch {
    return false;
  }
})();

const clockTicks = (() => {
  const out = Bun.spawnSync(["getconf", "CLK_TCK"]).stdout?.toString().trim();
  const ticks = Number(out);
  return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
})();

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  ticks: number;
}

function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null; // gone
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
  const ppid = Number(fields[1]);
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
  return { pid, ppid, ticks };
}

function allStats(): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) stats.push(stat);
  }
  return stats;
}

/** The live processes in the trees rooted at `roots` (roots included). */
function treeOf(roots: readonly number[], stats = allStats()): ProcStat[] {
  const byParent = new Map<number, ProcStat[]>();
  for (const stat of stats) {
    const siblings = byParent.get(stat.ppid);
    if (siblings) siblings.push(stat);
    else byParent.set(stat.ppid, [stat]);
  }
  const members: ProcStat[] = [];
  const queue = stats.filter((s) => roots.includes(s.pid));
  while (queue.length > 0) {
    const next = queue.shift()!;
    members.push(next);
    queue.push(...(byParent.get(next.pid) ?? []));
  }
  return members;
}

/** CPU time of the process trees rooted at `roots` so far, in microseconds. */
export function treeCpuMicros(roots: readonly number[]): number {
  if (roots.length === 0) return 0;
  const ticks = treeOf(roots).reduce((sum, s) => sum + s.ticks, 0);
  return (ticks * 1e6) / clockTicks;
}

/** The resident set of `pid` (VmRSS), in KiB. */
export function rssKib(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]);
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/** This process's children whose command line satisfies `match`. */
export function childrenMatching(match: (argv: string[], pid: number) => boolean): number[] {
  return allStats()
    .filter((s) => s.ppid === process.pid && match(cmdline(s.pid), s.pid))
    .map((s) => s.pid);
}

/** The child of this process whose working directory is `cwd` (a fleet instance has a directory of its own). */
export function childInDirectory(cwd: string): number {
  const wanted = realpathSync(cwd);
  const found = childrenMatching((_, pid) => {
    try {
      return readlinkSync(`/proc/${pid}/cwd`) === wanted;
    } catch {
      return false;
    }
  });
  if (found.length !== 1) throw new Error(`expected one child process in ${cwd}, found ${found.length}`);
  return found[0]!;
}
