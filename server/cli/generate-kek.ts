/**
 * `npm run kek:generate`: prints a fresh key-encryption key, 32 bytes from the
 * CSPRNG as unpadded base64url, the format of `LIME_KEY_ENCRYPTION_KEY`.
 * Only the key goes to stdout, so it can be piped into a secret store.
 *
 * @example
 * npm run --silent kek:generate > new-kek.txt
 */

const kek = crypto.getRandomValues(new Uint8Array(32));
process.stdout.write(`${Buffer.from(kek).toString("base64url")}\n`);
kek.fill(0);
