export { createChallenge } from "./challenge.ts";
export { DEFAULT_POW_DIFFICULTY, MAX_POW_DIFFICULTY, POW_ALGORITHM } from "./constants.ts";
export { powDigestHex, verify } from "./verify.ts";
