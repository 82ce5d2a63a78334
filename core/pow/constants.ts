/** Leading zero bits asked of a solution when the site does not choose (the seed's ~50 ms default). */
export const DEFAULT_POW_DIFFICULTY = 15;

/**
 * Highest difficulty we issue or accept. 2^40 expected hashes is hours of CPU
 * for an agent; anything above is a misconfiguration, not a policy.
 */
export const MAX_POW_DIFFICULTY = 40;

/** The only `pow_algorithm` of the wire format. */
export const POW_ALGORITHM = "sha256";

/**
 * Largest nonce we produce or accept: 2^64 - 1, so a verifier that parses the
 * nonce into a u64 (LIME's core is Rust) agrees with us on every input.
 * See docs/decisions/pow-nonce-form.md.
 */
export const MAX_NONCE = "18446744073709551615";
