/**
 * A one-line progress bar for long proof-of-work solves, written to stderr
 * with `\r` so stdout stays clean for the JSON result. It appears only after
 * `delayMs` (a difficulty-15 solve takes milliseconds and should print
 * nothing) and only on a terminal. The bar is an estimate: a solve needs
 * 2^difficulty hashes on average, so it is capped below 100% until done.
 */
export interface ProgressSink {
  write(text: string): void;
  isTTY: boolean;
}

export function formatProgress(hashes: number, expected: number, elapsedMs: number, width = 24): string {
  const ratio = Math.min(0.99, hashes / expected);
  const filled = Math.round(ratio * width);
  const rate = elapsedMs > 0 ? hashes / (elapsedMs / 1000) : 0;
  const bar = `${"#".repeat(filled)}${".".repeat(width - filled)}`;
  return `solving [${bar}] ${Math.round(ratio * 100)
    .toString()
    .padStart(2)}%  ${human(hashes)} / ~${human(expected)} hashes  ${human(rate)}H/s`;
}

export function createProgressBar(
  sink: ProgressSink,
  expected: number,
  options: { delayMs?: number; now?: () => number } = {},
) {
  const now = options.now ?? (() => performance.now());
  const started = now();
  const delayMs = options.delayMs ?? 300;
  let shown = false;
  return {
    update(hashes: number): void {
      if (!sink.isTTY) return;
      const elapsed = now() - started;
      if (elapsed < delayMs) return;
      shown = true;
      sink.write(`\r${formatProgress(hashes, expected, elapsed)}`);
    },
    done(): void {
      if (shown) sink.write("\r\u001b[2K");
    },
  };
}

function human(value: number): string {
  if (value >= 1e9) return `${(value / 1e9).toFixed(1)}G`;
  if (value >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return String(Math.round(value));
}
