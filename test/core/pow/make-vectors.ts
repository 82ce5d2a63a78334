// Regenerates vectors.json with node:crypto alone (independent of core/pow):
// `bun test/core/pow/make-vectors.ts > test/core/pow/vectors.json`.
// Challenges are sha256("lime-pow-vector-<i>") so anyone can recompute them.
import { createHash } from "node:crypto";

const difficulties = [0, 1, 4, 8, 12, 15, 16, 20, 22];

function leadingZeroBits(digest: Buffer): number {
  let bits = 0;
  for (const byte of digest) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

const vectors = difficulties.map((difficulty, i) => {
  const challenge = createHash("sha256").update(`lime-pow-vector-${i}`).digest("hex");
  for (let n = 0; ; n++) {
    const digest = createHash("sha256")
      .update(challenge + n)
      .digest();
    if (leadingZeroBits(digest) >= difficulty) {
      return { challenge, difficulty, nonce: String(n), digest: digest.toString("hex") };
    }
  }
});
console.log(JSON.stringify({ source: "test/core/pow/make-vectors.ts", vectors }, null, 2));
