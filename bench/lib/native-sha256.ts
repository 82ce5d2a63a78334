/**
 * The native yardstick for the PoW kernel: SHA-256 compressions per second of
 * OpenSSL's hand-written assembly on one core with the SHA extensions (SHA-NI)
 * masked off, which is what a CPU without them (and WebAssembly, which has no
 * SHA instructions) can at best do. `openssl speed` hashes 16 KiB buffers, so
 * bytes/s divided by 64 is compressions/s, the unit of the kernel's hashes/s
 * (one compression per nonce, the challenge block's midstate being reused).
 */
import { spawnSync } from "node:child_process";

/** OPENSSL_ia32cap: leave the first word, clear bit 29 (SHA) of CPUID leaf 7 EBX. */
const WITHOUT_SHA_NI = ":~0x20000000";

/** Compressions/s, or NaN where `openssl` is not installed or its output is not understood. */
export function nativeSha256BlocksPerSecond(seconds: number): number {
  const run = spawnSync(
    "openssl",
    ["speed", "-seconds", String(seconds), "-bytes", "16384", "-evp", "sha256"],
    {
      env: { ...process.env, OPENSSL_ia32cap: WITHOUT_SHA_NI },
      encoding: "utf8",
    },
  );
  // The last line reads "sha256   497203.20k": thousands of bytes per second.
  const match = /sha256\s+([\d.]+)k\s*$/.exec(run.stdout ?? "");
  return match ? (Number(match[1]) * 1000) / 64 : Number.NaN;
}
