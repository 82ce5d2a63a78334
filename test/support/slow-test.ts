/**
 * The time limit of a test that is slow by nature: a proof-of-work search,
 * RSA key generation, a browser, a child process. Every other test runs under
 * the `--timeout` that package.json passes to `bun test` (Bun 1.4.5 ignores
 * bunfig.toml's `timeout`).
 *
 * Generous on purpose: a limit is there to catch a hang, and these tests take
 * up to 5 s on a 2-core machine with one core busy and coverage on.
 */
export const SLOW_TEST_TIMEOUT_MS = 60_000;
