// Loads kernels.wasm (compiled from kernels.as.ts: see scripts/build-wasm.mjs). Each instance
// has a memory of its own, laid out by its caller.
import { readFileSync } from 'node:fs';

const module = new WebAssembly.Module(readFileSync(new URL('./kernels.wasm', import.meta.url)));

export function instantiateKernels() {
  return new WebAssembly.Instance(module, {
    env: {
      abort: () => {
        throw new Error('a mosaic kernel aborted');
      },
    },
  }).exports;
}

/** Makes `memory` at least `bytes` long (views made before then are detached). */
export function reserve(memory, bytes) {
  const missing = bytes - memory.buffer.byteLength;
  if (missing > 0) memory.grow(Math.ceil(missing / 65536));
}

/**
 * The f32 threshold of the scan kernels' first pass for `bar`: a cost plus a price (both ≥ 0)
 * below −bar stays below it with the price rounded down (roundDown32) and the sum rounded in
 * f32, which moves it by less than 2⁻²³ of itself. A positive bar (no place is worth that)
 * leaves the pass open.
 */
export function looseBar(bar) {
  return bar > 0 ? Number.POSITIVE_INFINITY : Math.fround(-bar * (1 + 2 ** -21));
}

const roundBits = new Float32Array(1);
const roundInts = new Int32Array(roundBits.buffer);

/** The largest f32 at most x (x ≥ 0, or infinite): a price as the scan kernels' first pass reads it. */
export function roundDown32(x) {
  roundBits[0] = x;
  if (roundBits[0] > x) roundInts[0] -= 1;
  return roundBits[0];
}
