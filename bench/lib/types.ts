/**
 * Shape shared by every bench section. A section measures its subject and a
 * baseline in the same process, reports rows for humans, and gates on ratios
 * (never on absolute times alone: the machines are shared and noisy).
 */
export interface BenchRow {
  label: string;
  value: number;
  unit: string;
  /** Optional free text, e.g. the baseline a ratio was taken against. */
  note?: string;
}

export interface BenchGate {
  name: string;
  actual: number;
  /** The gate passes when `actual >= min` (ratios, rates) ... */
  min?: number;
  /** ... and when `actual <= max` (latencies). */
  max?: number;
  unit: string;
  /** Which gates run in CI's short gate mode; all run in a full bench. */
  inShortMode: boolean;
}

export interface BenchSection {
  name: string;
  runtime: string;
  rows: BenchRow[];
  gates: BenchGate[];
}

export interface BenchOptions {
  /** CI's short mode: fewer iterations, same ratios. */
  short: boolean;
}

export function gatePassed(gate: BenchGate): boolean {
  if (gate.min !== undefined && !(gate.actual >= gate.min)) return false;
  if (gate.max !== undefined && !(gate.actual <= gate.max)) return false;
  return true;
}
