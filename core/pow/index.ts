export { type SolverBackend, solverBackend } from "./backend.ts";
export { createChallenge } from "./challenge.ts";
export { DEFAULT_POW_DIFFICULTY, MAX_POW_DIFFICULTY, POW_ALGORITHM } from "./constants.ts";
export { createSolver, type PowSolver, type SolverOptions } from "./kept-solver.ts";
export { type PowSolution, type SolveOptions, solve } from "./solver.ts";
export { powDigestHex, verify } from "./verify.ts";
