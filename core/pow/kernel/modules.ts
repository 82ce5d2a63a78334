/**
 * The embedded kernel bytes, decoded once. Base64 in a generated module means
 * no runtime needs a file system, a fetch or a bundler plugin to load them.
 */
import { SCALAR_KERNEL_WASM, SIMD_KERNEL_WASM, SIMD_PROBE_WASM } from "./kernel.generated.ts";

export type KernelKind = "wasm-simd" | "wasm-scalar";

export function decodeBase64(base64: string): Uint8Array<ArrayBuffer> {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const decoded = new Map<string, Uint8Array<ArrayBuffer>>();

function once(base64: string): Uint8Array<ArrayBuffer> {
  let bytes = decoded.get(base64);
  if (!bytes) {
    bytes = decodeBase64(base64);
    decoded.set(base64, bytes);
  }
  return bytes;
}

/** The bytes of a kernel. Callers must not modify them (they are shared). */
export function kernelBytes(kind: KernelKind): Uint8Array<ArrayBuffer> {
  return once(kind === "wasm-simd" ? SIMD_KERNEL_WASM : SCALAR_KERNEL_WASM);
}

/** A tiny module using one v128 instruction: `WebAssembly.validate` on it tells whether SIMD is there. */
export function simdProbeBytes(): Uint8Array<ArrayBuffer> {
  return once(SIMD_PROBE_WASM);
}
