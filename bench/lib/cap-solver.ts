/**
 * Cap's WASM solver (`@cap.js/wasm`, Rust `sha2` built with wasm-bindgen), a
 * peer in the PoW table. Its browser build is an ES module whose `initSync`
 * takes the `.wasm` bytes, which this reads from node_modules: the same glue
 * then loads in Bun, Node (bundled by Bun) and Deno. Its `solve_pow(salt,
 * target)` counts nonces from 0 and returns the first whose SHA-256(salt +
 * nonce) starts with the hex `target`, so `nonce + 1` is exactly the number of
 * nonces it hashed (each one a full hash: it keeps no midstate, so a 64-byte
 * salt costs it two compressions per nonce).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { initSync, solve_pow } from "@cap.js/wasm/browser/cap_wasm.js";

/** Cap's solver, or the reason it did not load here. */
export function loadCapSolver(): { solve(salt: string, target: string): bigint } | { error: string } {
  try {
    const wasmPath = createRequire(import.meta.url).resolve("@cap.js/wasm/browser/cap_wasm_bg.wasm");
    initSync({ module: readFileSync(wasmPath) });
    return { solve: solve_pow };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}
