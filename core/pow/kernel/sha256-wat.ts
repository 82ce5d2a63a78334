/**
 * The source of the PoW kernel: this program writes the WebAssembly text (WAT)
 * that `build.ts` compiles with wabt. SHA-256 unrolled by hand is thousands of
 * lines of WAT with no macros; writing it from one round template keeps the
 * scalar and the SIMD kernels the same algorithm, line for line.
 *
 * What the kernel exploits (docs/protocol-pow.md, "Kernel design"):
 * - the challenge is exactly one 64-byte block, so its compression (the
 *   midstate) is computed once by `set_challenge`; each nonce costs one
 *   compression of the second block: the digits, 0x80, zeros, the bit length;
 * - nonces are searched as a decimal prefix P followed by a last digit 0..9.
 *   Only one byte of the block moves across those ten nonces, so the words
 *   before it and the rounds that read only them are computed once per prefix,
 *   and the moving word is advanced by an add, never re-laid out;
 * - words 6..14 of the second block are always zero and words 5 and 15 are
 *   fixed for a prefix, so their terms of the message schedule and their
 *   K[t] + W[t] are folded once per prefix, and the zero terms never emitted;
 * - per nonce, the schedule is computed first and K[t] + W[t] stored in a
 *   fixed memory area, then the rounds read one value each from it;
 * - the SIMD kernel hashes four prefixes side by side (one per i32x4 lane),
 *   all ten last digits in the same lane order, so a step is four nonces.
 *   It has three steps, chosen by an i32 in memory (`KERNEL_LAYOUT.simdStep`):
 *   one digit; paired digits, two independent compressions (digits d and
 *   d + 1) so the CPU overlaps their dependency chains, 8–35% faster in V8,
 *   20–25% slower in JavaScriptCore (it spills); and one digit with the left
 *   half of each rotate multiplied (`SIMD_MULTIPLY`), 15–25% faster in
 *   JavaScriptCore, 5–10% slower in V8. The calibration measures all three.
 *
 * Memory is one fixed page; the layout is `KERNEL_LAYOUT` (abi.ts). No allocator.
 */
import { KERNEL_LAYOUT, SEARCH_EXHAUSTED, SEARCH_FOUND, SEARCH_NOT_FOUND, SIMD_STEP_CODES } from "./abi.ts";

/** The longest prefix the kernel lays out: 19 digits plus the last digit is the 20-digit maximum. */
const MAX_PREFIX_DIGITS = 19;

/** A tiny module using v128, validated to decide between the SIMD and the scalar kernel. */
export const SIMD_PROBE_WAT = `(module
  (func (result v128)
    (i32x4.add (v128.const i32x4 0 0 0 0) (v128.const i32x4 1 1 1 1))))
`;

/** FIPS 180-4 §4.2.2 round constants. */
const K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
];

/** FIPS 180-4 §5.3.3 initial hash value. */
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/** The operations of one round, for one i32 or for four (i32x4). */
interface Lanes {
  /** Names this form's chunk function. */
  name: string;
  type: "i32" | "v128";
  /** Bytes per value. */
  width: number;
  add(a: string, b: string): string;
  xor(a: string, b: string): string;
  and(a: string, b: string): string;
  rotr(x: string, n: number): string;
  shr(x: string, n: number): string;
  constant(value: number): string;
  /** An i32 expression broadcast to this type. */
  splat(scalar: string): string;
  load(address: string): string;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const i32 = (value: number): string => `(i32.const ${value | 0})`;
const get = (name: string): string => `(local.get $${name})`;
const set = (name: string, value: string): string => `(local.set $${name} ${value})`;

const SCALAR: Lanes = {
  name: "i32",
  type: "i32",
  width: 4,
  add: (a, b) => `(i32.add ${a} ${b})`,
  xor: (a, b) => `(i32.xor ${a} ${b})`,
  and: (a, b) => `(i32.and ${a} ${b})`,
  rotr: (x, n) => `(i32.rotr ${x} ${i32(n)})`,
  shr: (x, n) => `(i32.shr_u ${x} ${i32(n)})`,
  constant: i32,
  splat: (scalar) => scalar,
  load: (address) => `(i32.load ${address})`,
};

// WASM SIMD has no lane rotate; x86 and ARM lack a 32-bit lane rotate too
// below AVX-512, so two shifts and an or is what the hardware does anyway.
const SIMD: Lanes = {
  name: "v128",
  type: "v128",
  width: 16,
  add: (a, b) => `(i32x4.add ${a} ${b})`,
  xor: (a, b) => `(v128.xor ${a} ${b})`,
  and: (a, b) => `(v128.and ${a} ${b})`,
  rotr: (x, n) => `(v128.or (i32x4.shr_u ${x} ${i32(n)}) (i32x4.shl ${x} ${i32(32 - n)}))`,
  shr: (x, n) => `(i32x4.shr_u ${x} ${i32(n)})`,
  constant: (value) => {
    const v = value | 0;
    return `(v128.const i32x4 ${v} ${v} ${v} ${v})`;
  },
  splat: (scalar) => `(i32x4.splat ${scalar})`,
  load: (address) => `(v128.load ${address})`,
};

/**
 * The SIMD lanes with the left half of each rotate multiplied instead of
 * shifted: x << (32 - n) is x * 2^(32 - n), the factor read from the
 * `multipliers` table in memory. JavaScriptCore lowers every constant vector
 * shift to four instructions (the count through a general register, masked,
 * moved to a vector register, then a shift by register), a multiply by a
 * loaded factor to two plus the multiply; V8 shifts by an immediate, so
 * there the multiply is the slower one. The calibration picks per engine.
 */
const SIMD_MULTIPLY: Lanes = {
  ...SIMD,
  name: "v128_mul",
  rotr: (x, n) =>
    `(v128.or (i32x4.shr_u ${x} ${i32(n)}) (i32x4.mul ${x} (v128.load ${i32(KERNEL_LAYOUT.multipliers + 16 * (32 - n))})))`,
};

/** The `multipliers` table as a data segment: 2^k in all four lanes at offset 16k, k = 0..31. */
const MULTIPLIERS_DATA = `(data ${i32(KERNEL_LAYOUT.multipliers)} "${range(32)
  .map((k) => {
    const bytes = range(4).map((b) => (2 ** k / 2 ** (8 * b)) & 0xff);
    return [...bytes, ...bytes, ...bytes, ...bytes]
      .map((byte) => `\\${byte.toString(16).padStart(2, "0")}`)
      .join("");
  })
  .join("")}")`;

/**
 * How a word of the block is known to the generator: a zero is never emitted,
 * a `fixed` word is constant for the whole prefix (its schedule terms are
 * folded once per prefix), a `moving` word changes from nonce to nonce.
 */
type Word = { kind: "zero" } | { kind: "fixed" | "moving"; local: string };

const bigSigma0 = (L: Lanes, x: string): string => L.xor(L.xor(L.rotr(x, 2), L.rotr(x, 13)), L.rotr(x, 22));
const bigSigma1 = (L: Lanes, x: string): string => L.xor(L.xor(L.rotr(x, 6), L.rotr(x, 11)), L.rotr(x, 25));
const smallSigma0 = (L: Lanes, x: string): string => L.xor(L.xor(L.rotr(x, 7), L.rotr(x, 18)), L.shr(x, 3));
const smallSigma1 = (L: Lanes, x: string): string => L.xor(L.xor(L.rotr(x, 17), L.rotr(x, 19)), L.shr(x, 10));

const sum = (L: Lanes, terms: string[]): string => terms.reduce((total, x) => L.add(total, x));

/** The local holding working variable `role` (0 = a ... 7 = h) at round `t`: names rotate instead of values. */
const v = (role: number, t: number): string => `v${(((role - t) % 8) + 8) % 8}`;

/**
 * One SHA-256 round (FIPS 180-4 §6.2.2 step 3) reading K[t] + W[t] from `kw`.
 * Maj(a,b,c) = b ^ ((a ^ b) & (b ^ c)), and this round's a ^ b is the next
 * round's b ^ c, so it is kept in `x0`/`x1` by round parity instead of being
 * recomputed. Ch(e,f,g) = g ^ (e & (f ^ g)).
 */
function round(L: Lanes, t: number, kw: string, state = ""): string[] {
  const local = (name: string): string => get(`${name}${state}`);
  // c is only read through the carried b ^ c.
  const [a, b, , d, e, f, g, h] = [0, 1, 2, 3, 4, 5, 6, 7].map((role) => local(v(role, t)));
  const ab = `x${t % 2}${state}`;
  const bc = `x${(t + 1) % 2}${state}`;
  const ch = L.xor(g!, L.and(e!, L.xor(f!, g!)));
  const maj = L.xor(b!, L.and(get(ab), get(bc)));
  const t1 = `t1${state}`;
  return [
    set(t1, L.add(L.add(L.add(h!, bigSigma1(L, e!)), ch), kw)),
    set(ab, L.xor(a!, b!)),
    set(`${v(3, t)}${state}`, L.add(d!, get(t1))),
    set(`${v(7, t)}${state}`, L.add(get(t1), L.add(bigSigma0(L, a!), maj))),
  ];
}

/**
 * The compressions a chunk runs side by side, by the suffix of their locals
 * ("" for the first). Two independent compressions let the CPU overlap one's
 * dependency chain (each round waits on the previous one's a and e) with the
 * other's; state i's K[t] + W[t] is stored at `scheduleBase + stride * t + width * i`.
 */
type States = readonly string[];
const ONE_STATE: States = [""];
const TWO_STATES: States = ["", "B"];

/** Statements of several states, alternated one by one so their chains overlap. */
function interleave(lists: string[][]): string[] {
  const longest = Math.max(...lists.map((list) => list.length));
  return range(longest).flatMap((i) => lists.flatMap((list) => (i < list.length ? [list[i]!] : [])));
}

/** Byte offset of state `i`'s K[t] + W[t] from the schedule base. */
const kwOffset = (L: Lanes, states: States, t: number, i: number): number =>
  L.width * (states.length * t + i);

/**
 * The message schedule of one compression, written as K[t] + W[t] for every
 * round t into the `schedule` area (one i32, or one v128 of four lanes, per
 * round), where the rounds read it back. `words[i]` describes W[i] for
 * i < 16; W[16..63] go through the rolling locals `w0..w15`. The per-prefix
 * part (`setup`: folded terms, K[t] + W[t] of the words that do not move) and
 * the per-nonce part (`perNonce`) are returned apart so callers hoist the first.
 */
function schedule(
  L: Lanes,
  words: Word[],
  states: States = ONE_STATE,
): { setup: string[]; perNonce: string[]; locals: string } {
  const setup: string[] = [];
  const perState: string[][] = states.map(() => []);
  const folds: string[] = [];
  const storeKw = (t: number, i: number, value: string): string =>
    `(${L.type}.store ${i32(scheduleBase(L) + kwOffset(L, states, t, i))} ${L.add(L.constant(K[t]!), value)})`;
  states.forEach((state, i) => {
    const perNonce = perState[i]!;
    // A moving word's local carries the state's suffix; fixed words are shared.
    const word = (t: number): Word => {
      const w: Word = t < 16 ? words[t]! : { kind: "moving", local: `w${t % 16}` };
      return w.kind === "moving" ? { kind: "moving", local: `${w.local}${state}` } : w;
    };
    for (let t = 0; t < 64; t++) {
      const w = word(t);
      if (t < 16) {
        if (w.kind === "zero")
          setup.push(
            `(${L.type}.store ${i32(scheduleBase(L) + kwOffset(L, states, t, i))} ${L.constant(K[t]!)})`,
          );
        else if (w.kind === "fixed") setup.push(storeKw(t, i, get(w.local)));
        else perNonce.push(storeKw(t, i, get(w.local)));
        continue;
      }
      // W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16] (FIPS 180-4 §6.2.2 step 1)
      const terms: Array<[Word, (x: string) => string]> = [
        [word(t - 2), (x) => smallSigma1(L, x)],
        [word(t - 7), (x) => x],
        [word(t - 15), (x) => smallSigma0(L, x)],
        [word(t - 16), (x) => x],
      ];
      const moving = terms
        .filter(([term]) => term.kind === "moving")
        .map(([term, fn]) => fn(get((term as { local: string }).local)));
      const fixed = terms
        .filter(([term]) => term.kind === "fixed")
        .map(([term, fn]) => fn(get((term as { local: string }).local)));
      if (fixed.length > 0) {
        // The fixed terms are the same for every state: folded once.
        if (i === 0) {
          folds.push(`c${t}`);
          setup.push(set(`c${t}`, sum(L, fixed)));
        }
        moving.push(get(`c${t}`));
      }
      const rolling = `w${t % 16}${state}`;
      perNonce.push(set(rolling, sum(L, moving)), storeKw(t, i, get(rolling)));
    }
  });
  const names = [...states.flatMap((state) => range(16).map((i) => `w${i}${state}`)), ...folds];
  return {
    setup,
    perNonce: interleave(perState),
    locals: names.map((name) => `(local $${name} ${L.type})`).join(" "),
  };
}

/** Where K[t] + W[t] of round t is stored for this lane width. */
const scheduleBase = (L: Lanes): number =>
  L.type === "v128" ? KERNEL_LAYOUT.scheduleLanes : KERNEL_LAYOUT.schedule;

/** Rounds `from..to-1` unrolled, each state reading its K[t] + W[t] from the schedule area. */
function roundsFromSchedule(L: Lanes, from: number, to: number, states: States = ONE_STATE): string {
  return range(to - from)
    .map((i) => from + i)
    .flatMap((t) =>
      interleave(
        states.map((state, i) =>
          round(L, t, L.load(i32(scheduleBase(L) + kwOffset(L, states, t, i))), state),
        ),
      ),
    )
    .join("\n");
}

/**
 * Rounds `from..63` (from a multiple of 8) as a loop of eight unrolled rounds:
 * the names of the working variables come back to the same locals every 8
 * rounds. Measured on this machine: JavaScriptCore's optimizing tier ran 64
 * straight-line v128 rounds slower than its baseline tier (4.5 vs 5.7 M
 * hashes/s, heavy spilling); this loop runs at 6.6 in Bun and 13.3 in Node.
 * The scalar chunk keeps its rounds unrolled, which both engines prefer there
 * (5.3/5.0 M/s unrolled against 4.1/4.7 looped).
 */
function roundLoop(L: Lanes, from: number, states: States = ONE_STATE): string {
  const first = scheduleBase(L) + kwOffset(L, states, from, 0);
  const eight = range(8)
    .flatMap((t) =>
      interleave(
        states.map((state, i) =>
          round(L, t, `(${L.type}.load offset=${kwOffset(L, states, t, i)} ${get("kw")})`, state),
        ),
      ),
    )
    .join("\n");
  return `${set("kw", i32(first))}
  (loop $rounds
    ${eight}
    ${set("kw", `(i32.add ${get("kw")} ${i32(kwOffset(L, states, 8, 0))})`)}
    (br_if $rounds (i32.lt_u ${get("kw")} ${i32(scheduleBase(L) + kwOffset(L, states, 64, 0))})))`;
}

/** Locals every compression uses: T1, the Maj carries, the working variables; once per state. */
const roundLocals = (L: Lanes, states: States = ONE_STATE): string =>
  states
    .flatMap((state) =>
      ["t1", "x0", "x1", ...range(8).map((i) => `v${i}`)].map((name) => `(local $${name}${state} ${L.type})`),
    )
    .join(" ");

/** Big-endian load of word `i` of a block stored as bytes (the challenge). */
const loadBigEndian = (address: number): string => `(call $bswap (i32.load ${i32(address)}))`;

/**
 * `set_challenge`: compresses the 64 challenge bytes from the IV and stores
 * the midstate. Generic compression: every word moves, nothing is folded.
 */
function setChallengeFunc(): string {
  const words: Word[] = range(16).map((i) => ({ kind: "moving", local: `m${i}` }));
  const { perNonce, locals } = schedule(SCALAR, words);
  const mLocals = range(16)
    .map((i) => `(local $m${i} i32)`)
    .join(" ");
  return `(func $set_challenge (export "set_challenge")
  ${mLocals} ${locals} ${roundLocals(SCALAR)} (local $kw i32)
  ${range(16)
    .map((i) => set(`m${i}`, loadBigEndian(KERNEL_LAYOUT.challenge + 4 * i)))
    .join("\n")}
  ${perNonce.join("\n")}
  ${IV.map((value, i) => set(`v${i}`, i32(value))).join("\n")}
  ${set("x1", `(i32.xor ${get("v1")} ${get("v2")})`)}
  ${roundLoop(SCALAR, 0)}
  ${IV.map((value, i) => `(i32.store ${i32(KERNEL_LAYOUT.midstate + 4 * i)} (i32.add ${i32(value)} ${get(`v${i}`)}))`).join("\n")})`;
}

/**
 * One chunk: the ten nonces P0..P9 of the current prefix P (scalar), or of the
 * four prefixes P..P+3 side by side (SIMD). Returns 1 and writes the smallest
 * valid nonce of the chunk to `result`, or returns 0. The scalar chunk leaves
 * the prefix at P; the SIMD chunk leaves it at P+3. With two `states`, each
 * step hashes two consecutive last digits d and d + 1 as independent
 * compressions from the same saved state.
 */
function chunkFunc(L: Lanes, states: States): string {
  const simd = L.type === "v128";
  const base = simd ? KERNEL_LAYOUT.lanes : KERNEL_LAYOUT.scratch;
  const stride = simd ? 16 : 4;
  const lanes = simd ? 4 : 1;
  // W0..W4 hold the digits and move; W5 holds only the 0x80 of a 20-digit
  // nonce; W6..W14 are zero; W15 is the bit length, fixed per prefix.
  const words: Word[] = [
    ...range(5).map((i): Word => ({ kind: "moving", local: `b${i}` })),
    { kind: "fixed", local: "b5" },
    ...range(9).map((): Word => ({ kind: "zero" })),
    { kind: "fixed", local: "len" },
  ];
  const { setup, perNonce, locals } = schedule(L, words, states);
  // Rounds 0..4 read the moving words. Those before the word holding the last
  // digit (index `wi`) are the same for all ten nonces: run once per chunk.
  // (The per-nonce schedule has not been written when the prefix's rounds run,
  // so those read the words directly.)
  const preRounds = range(5).map(
    (t) =>
      `(if (i32.gt_u ${get("wi")} ${i32(t)}) (then ${round(L, t, L.add(L.constant(K[t]!), get(`b${t}`))).join("\n")}))`,
  );
  const stepRounds = range(5).map(
    (t) => `(if (i32.le_u ${get("wi")} ${i32(t)}) (then ${roundsFromSchedule(L, t, t + 1, states)}))`,
  );
  const state = ["x0", "x1", ...range(8).map((i) => `v${i}`)];
  const layouts = simd
    ? [0, 1, 2, 3]
        .map((lane) => `(call $layout ${i32(base + 4 * lane)} ${i32(stride)})`)
        // Inside an aligned group of four the prefix keeps its length, so these never overflow.
        .join("\n(drop (call $inc_prefix))\n")
    : `(call $layout ${i32(base)} ${i32(stride)})`;
  // State i hashes last digit d + i; its words are the first state's plus i increments.
  const stateWords = states
    .slice(1)
    .flatMap((suffix, i) =>
      range(5).map((w) => set(`b${w}${suffix}`, L.add(get(`b${w}${states[i]}`), get(`inc${w}`)))),
    );
  const digestZero = (suffix: string): string =>
    `(${simd ? "v128" : "i32"}.or ${L.and(L.add(get("mid0"), get(`v0${suffix}`)), get("mask0"))} ${L.and(L.add(get("mid1"), get(`v1${suffix}`)), get("mask1"))})`;
  const stateDigit = (i: number): string => (i === 0 ? get("d") : `(i32.add ${get("d")} ${i32(i)})`);
  // Lanes: a lower lane holds smaller nonces than any higher lane. Digits:
  // within a lane, the lower state (digit) first.
  const laneHit = (lane: number): string =>
    states
      .map((suffix) => `(i32x4.extract_lane ${lane} ${get(`hit${suffix}`)})`)
      .reduce((x, y) => `(i32.or ${x} ${y})`);
  const laneDigit = (lane: number): string =>
    states
      .map((_, i) => i)
      .reverse()
      .reduce(
        (rest, i) =>
          rest === ""
            ? stateDigit(i)
            : `(select ${stateDigit(i)} ${rest} (i32.ne (i32x4.extract_lane ${lane} ${get(`hit${states[i]}`)}) ${i32(0)}))`,
        "",
      );
  const check = simd
    ? `${states.map((suffix) => set(`hit${suffix}`, `(i32x4.eq ${digestZero(suffix)} (v128.const i32x4 0 0 0 0))`)).join("\n")}
       (if (v128.any_true ${states.map((suffix) => get(`hit${suffix}`)).reduce((x, y) => `(v128.or ${x} ${y})`)}) (then
         ;; Keep the lowest lane seen; within it the first hit is the smallest.
         (block $noted
           ${[0, 1, 2, 3]
             .map(
               (
                 lane,
               ) => `(if (i32.and (i32.ne ${laneHit(lane)} ${i32(0)}) (i32.gt_u ${get("best")} ${i32(lane)}))
                 (then ${set("best", i32(lane))} ${set("bestDigit", laneDigit(lane))} (br $noted)))`,
             )
             .join("\n")})
         ;; Lane 0 is the smallest nonce left in the chunk.
         (if (i32.eqz ${get("best")}) (then
           ${set("hashed", `(i32.shl (i32.add ${get("bestDigit")} ${i32(1)}) ${i32(2)})`)}
           (br $done)))))`
    : states
        .map(
          (suffix, i) => `(if (i32.eqz ${digestZero(suffix)}) (then
         ${set("best", i32(0))} ${set("bestDigit", stateDigit(i))}
         ${set("hashed", `(i32.add ${stateDigit(i)} ${i32(1)})`)}
         (br $done)))`,
        )
        .join("\n");
  const scalarLocals = ["plen", "wi", "inc", "d", "best", "bestDigit", "hashed", "kw"];
  const vectorLocals = [
    ...range(6).map((i) => `b${i}`),
    ...states.slice(1).flatMap((suffix) => range(5).map((i) => `b${i}${suffix}`)),
    ...range(5).map((i) => `inc${i}`),
    ...state.map((name) => `s_${name}`),
    "len",
    "mid0",
    "mid1",
    "mask0",
    "mask1",
    ...(simd ? states.map((suffix) => `hit${suffix}`) : []),
  ];
  const restore = states.flatMap((suffix) => state.map((name) => set(`${name}${suffix}`, get(`s_${name}`))));
  return `(func ${chunkName(L, states)} (param $m0 i32) (param $m1 i32) (result i32)
  ${scalarLocals.map((name) => `(local $${name} i32)`).join(" ")}
  ${vectorLocals.map((name) => `(local $${name} ${L.type})`).join(" ")}
  ${locals} ${roundLocals(L, states)}
  ${layouts}
  ${set("plen", `(i32.load ${i32(KERNEL_LAYOUT.prefixLength)})`)}
  ${range(6)
    .map((i) => set(`b${i}`, L.load(i32(base + stride * i))))
    .join("\n")}
  ;; The last digit is byte plen of the block: word wi, shifted left by inc's exponent.
  ${set("wi", `(i32.shr_u ${get("plen")} ${i32(2)})`)}
  ${set("inc", `(i32.shl ${i32(1)} (i32.shl (i32.sub ${i32(3)} (i32.and ${get("plen")} ${i32(3)})) ${i32(3)}))`)}
  ${range(5)
    .map((i) => set(`inc${i}`, L.splat(`(select ${get("inc")} ${i32(0)} (i32.eq ${get("wi")} ${i32(i)}))`)))
    .join("\n")}
  ${set("len", L.splat(`(i32.shl (i32.add ${get("plen")} ${i32(65)}) ${i32(3)})`))}
  ${setup.join("\n")}
  ${range(8)
    .map((i) => set(`v${i}`, L.splat(`(i32.load ${i32(KERNEL_LAYOUT.midstate + 4 * i)})`)))
    .join("\n")}
  ${set("x1", L.xor(get("v1"), get("v2")))}
  ${preRounds.join("\n")}
  ${state.map((name) => set(`s_${name}`, get(name))).join("\n")}
  ${set("mid0", L.splat(`(i32.load ${i32(KERNEL_LAYOUT.midstate)})`))}
  ${set("mid1", L.splat(`(i32.load ${i32(KERNEL_LAYOUT.midstate + 4)})`))}
  ${set("mask0", L.splat(get("m0")))}
  ${set("mask1", L.splat(get("m1")))}
  ${set("best", i32(lanes))}
  ${set("hashed", i32(10 * lanes))}
  (block $done
    (loop $step
      ${restore.join("\n")}
      ${stateWords.join("\n")}
      ${perNonce.join("\n")}
      ${stepRounds.join("\n")}
      ${roundsFromSchedule(L, 5, 8, states)}
      ${simd ? roundLoop(L, 8, states) : roundsFromSchedule(L, 8, 64, states)}
      ${check}
      ${range(5)
        .map((i) => set(`b${i}`, L.add(get(`b${i}${states.at(-1)}`), get(`inc${i}`))))
        .join("\n")}
      ${set("d", `(i32.add ${get("d")} ${i32(states.length)})`)}
      (br_if $step (i32.lt_u ${get("d")} ${i32(10)}))))
  (i32.store ${i32(KERNEL_LAYOUT.hashes)} (i32.add (i32.load ${i32(KERNEL_LAYOUT.hashes)}) ${get("hashed")}))
  (if (i32.lt_u ${get("best")} ${i32(lanes)}) (then
    (call $emit_result (i32.add ${i32(base)} (i32.shl ${get("best")} ${i32(2)})) ${i32(stride)}
      (i32.add ${get("plen")} ${i32(1)}) ${get("bestDigit")})
    (return ${i32(1)})))
  ${i32(0)})`;
}

const chunkName = (L: Lanes, states: States): string => `$chunk_${L.name}${states.length > 1 ? "_x2" : ""}`;

/** Helpers shared by both kernels: byte order, block layout, the in-place decimal increment. */
const HELPERS = `
(func $bswap (param $x i32) (result i32)
  (i32.or
    (i32.or (i32.shl (local.get $x) (i32.const 24))
            (i32.shl (i32.and (local.get $x) (i32.const 0xff00)) (i32.const 8)))
    (i32.or (i32.and (i32.shr_u (local.get $x) (i32.const 8)) (i32.const 0xff00))
            (i32.shr_u (local.get $x) (i32.const 24)))))

;; Address of byte q of the block when words are stored as native i32 values
;; \`stride\` bytes apart: word q/4, byte 3 - q%4 of it (the i32 is little-endian).
(func $byte_address (param $base i32) (param $stride i32) (param $q i32) (result i32)
  (i32.add
    (i32.add (local.get $base) (i32.mul (local.get $stride) (i32.shr_u (local.get $q) (i32.const 2))))
    (i32.sub (i32.const 3) (i32.and (local.get $q) (i32.const 3)))))

;; Writes words 0..5 of the second block for the nonce "<prefix>0": the prefix
;; digits, the digit '0', the 0x80 padding byte, zeros.
(func $layout (param $base i32) (param $stride i32)
  (local $q i32) (local $plen i32)
  (local.set $plen (i32.load (i32.const ${KERNEL_LAYOUT.prefixLength})))
  (block $zeroed (loop $zero
    (i32.store (i32.add (local.get $base) (i32.mul (local.get $stride) (local.get $q))) (i32.const 0))
    (local.set $q (i32.add (local.get $q) (i32.const 1)))
    (br_if $zero (i32.lt_u (local.get $q) (i32.const 6)))))
  (local.set $q (i32.const 0))
  (block $copied (loop $copy
    (br_if $copied (i32.ge_u (local.get $q) (local.get $plen)))
    (i32.store8 (call $byte_address (local.get $base) (local.get $stride) (local.get $q))
      (i32.load8_u (i32.add (i32.const ${KERNEL_LAYOUT.prefix}) (local.get $q))))
    (local.set $q (i32.add (local.get $q) (i32.const 1)))
    (br $copy)))
  (i32.store8 (call $byte_address (local.get $base) (local.get $stride) (local.get $plen)) (i32.const 0x30))
  (i32.store8 (call $byte_address (local.get $base) (local.get $stride) (i32.add (local.get $plen) (i32.const 1)))
    (i32.const 0x80)))

;; Copies the nonce "<prefix of the laid-out block><digit>" to the result area.
(func $emit_result (param $base i32) (param $stride i32) (param $len i32) (param $digit i32)
  (local $q i32)
  (local.set $q (i32.const 0))
  (block $copied (loop $copy
    (br_if $copied (i32.ge_u (local.get $q) (i32.sub (local.get $len) (i32.const 1))))
    (i32.store8 (i32.add (i32.const ${KERNEL_LAYOUT.result}) (local.get $q))
      (i32.load8_u (call $byte_address (local.get $base) (local.get $stride) (local.get $q))))
    (local.set $q (i32.add (local.get $q) (i32.const 1)))
    (br $copy)))
  (i32.store8 (i32.add (i32.const ${KERNEL_LAYOUT.result}) (local.get $q))
    (i32.add (i32.const 0x30) (local.get $digit)))
  (i32.store (i32.const ${KERNEL_LAYOUT.resultLength}) (local.get $len)))

;; prefix += 1 in decimal, in place. A carry out of the top digit grows the
;; prefix by one digit ("99" -> "100", "" -> "1"). Returns 1 instead when the
;; prefix already has ${MAX_PREFIX_DIGITS} digits: nonces would exceed 20 digits.
(func $inc_prefix (result i32)
  (local $plen i32) (local $i i32) (local $c i32)
  (local.set $plen (i32.load (i32.const ${KERNEL_LAYOUT.prefixLength})))
  (local.set $i (local.get $plen))
  (block $carried_out (loop $digit
    (br_if $carried_out (i32.eqz (local.get $i)))
    (local.set $i (i32.sub (local.get $i) (i32.const 1)))
    (local.set $c (i32.load8_u (i32.add (i32.const ${KERNEL_LAYOUT.prefix}) (local.get $i))))
    (if (i32.ne (local.get $c) (i32.const 0x39)) (then
      (i32.store8 (i32.add (i32.const ${KERNEL_LAYOUT.prefix}) (local.get $i)) (i32.add (local.get $c) (i32.const 1)))
      (return (i32.const 0))))
    (i32.store8 (i32.add (i32.const ${KERNEL_LAYOUT.prefix}) (local.get $i)) (i32.const 0x30))
    (br $digit)))
  (if (i32.ge_u (local.get $plen) (i32.const ${MAX_PREFIX_DIGITS})) (then (return (i32.const 1))))
  (i32.store8 (i32.add (i32.const ${KERNEL_LAYOUT.prefix}) (local.get $plen)) (i32.const 0x30))
  (i32.store8 (i32.const ${KERNEL_LAYOUT.prefix}) (i32.const 0x31))
  (i32.store (i32.const ${KERNEL_LAYOUT.prefixLength}) (i32.add (local.get $plen) (i32.const 1)))
  (i32.const 0))
`;

/**
 * True when the SIMD chunk may take the next four prefixes: at least four
 * left, and P..P+3 all the same length. From 100 on, a group starting at a
 * multiple of 4 never straddles a power of ten (10^k is a multiple of 4).
 */
const SIMD_READY = `
(func $simd_ready (param $count i32) (result i32)
  (local $plen i32) (local $tens i32) (local $ones i32)
  (local.set $plen (i32.load (i32.const ${KERNEL_LAYOUT.prefixLength})))
  (if (i32.or (i32.lt_s (local.get $count) (i32.const 4)) (i32.lt_u (local.get $plen) (i32.const 3)))
    (then (return (i32.const 0))))
  (local.set $tens (i32.sub (i32.load8_u (i32.add (i32.const ${KERNEL_LAYOUT.prefix - 2}) (local.get $plen))) (i32.const 0x30)))
  (local.set $ones (i32.sub (i32.load8_u (i32.add (i32.const ${KERNEL_LAYOUT.prefix - 1}) (local.get $plen))) (i32.const 0x30)))
  (i32.eqz (i32.and (i32.add (i32.mul (local.get $tens) (i32.const 10)) (local.get $ones)) (i32.const 3))))
`;

/**
 * `search(count, m0, m1)`: hashes the nonces of the next `count` prefixes in
 * increasing order, advancing the prefix in place. Returns SEARCH_FOUND with
 * the smallest valid nonce in `result`, SEARCH_NOT_FOUND once `count` prefixes
 * are done, or SEARCH_EXHAUSTED when the prefix would pass 19 digits.
 */
function searchFunc(simd: boolean): string {
  const scalarStep = `
    (if (call $chunk_i32 (local.get $m0) (local.get $m1)) (then (return (i32.const ${SEARCH_FOUND}))))
    (local.set $count (i32.sub (local.get $count) (i32.const 1)))`;
  const chunk = (L: Lanes, states: States) =>
    `(call ${chunkName(L, states)} (local.get $m0) (local.get $m1))`;
  const simdStep = `(i32.load (i32.const ${KERNEL_LAYOUT.simdStep}))`;
  const step = simd
    ? `(if (call $simd_ready (local.get $count))
        (then
          (if (if (result i32) (i32.eq ${simdStep} (i32.const ${SIMD_STEP_CODES.paired}))
                (then ${chunk(SIMD, TWO_STATES)})
                (else (if (result i32) (i32.eq ${simdStep} (i32.const ${SIMD_STEP_CODES.multiply}))
                  (then ${chunk(SIMD_MULTIPLY, ONE_STATE)}) (else ${chunk(SIMD, ONE_STATE)}))))
            (then (return (i32.const ${SEARCH_FOUND}))))
          (local.set $count (i32.sub (local.get $count) (i32.const 4))))
        (else ${scalarStep}))`
    : scalarStep;
  return `(func $search (export "search") (param $count i32) (param $m0 i32) (param $m1 i32) (result i32)
  (i32.store (i32.const ${KERNEL_LAYOUT.hashes}) (i32.const 0))
  (block $end (loop $next
    (br_if $end (i32.le_s (local.get $count) (i32.const 0)))
    ${step}
    (if (call $inc_prefix) (then (return (i32.const ${SEARCH_EXHAUSTED}))))
    (br $next)))
  (i32.const ${SEARCH_NOT_FOUND}))`;
}

/** The WAT text of the scalar kernel, or of the SIMD kernel (which keeps the scalar chunk for nonces below 1000). */
export function kernelWat(options: { simd: boolean }): string {
  const parts = [
    "(module",
    `(memory (export "memory") 1)`,
    HELPERS,
    setChallengeFunc(),
    chunkFunc(SCALAR, ONE_STATE),
    ...(options.simd
      ? [
          MULTIPLIERS_DATA,
          SIMD_READY,
          chunkFunc(SIMD, ONE_STATE),
          chunkFunc(SIMD, TWO_STATES),
          chunkFunc(SIMD_MULTIPLY, ONE_STATE),
        ]
      : []),
    searchFunc(options.simd),
    ")",
  ];
  return `${parts.join("\n")}\n`;
}
