// Entry for kept-solver.test.ts: solves on a kept solver and never closes it.
// The process must still exit on its own once the solve is done: idle
// workers must not hold it open (Bun runs this file, Node a bundle of it).
import { createSolver } from "../../../core/pow/index.ts";
import vectorFile from "./vectors.json" with { type: "json" };

const vector = vectorFile.vectors.find((v) => v.difficulty === 16)!;
const solver = createSolver({ workers: 2 });
const { nonce } = await solver.solve(vector.challenge, vector.difficulty);
console.log(nonce === vector.nonce ? "solved" : `wrong nonce ${nonce}`);
