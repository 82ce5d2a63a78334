import { expect, test } from "bun:test";
import { readFile } from "node:fs/promises";
import type { PowVector } from "./reference.ts";
import vectorFile from "./vectors.json";

test("docs/protocol-pow.md prints exactly the vectors of vectors.json", async () => {
  const doc = await readFile(new URL("../../../docs/protocol-pow.md", import.meta.url), "utf8");
  const rows = doc
    .split("\n")
    .map((line) => /^\| (\d+) \| `([0-9a-f]{64})` \| `(\d+)` \| `([0-9a-f]{64})` \|$/.exec(line))
    .filter((match) => match !== null)
    .map(([, difficulty, challenge, nonce, digest]) => ({
      challenge,
      difficulty: Number(difficulty),
      nonce,
      digest,
    }));
  const vectors: PowVector[] = vectorFile.vectors;
  expect(rows).toEqual(vectors);
});
