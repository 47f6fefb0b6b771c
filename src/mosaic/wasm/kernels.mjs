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

/** Where a caller's data starts in a kernel instance's memory (the module keeps none of its own). */
const DATA_START = 1024;

/**
 * Places blocks of the given byte sizes one after the other in a kernel instance's memory, each
 * on a 16-byte boundary (v128 and f64 alike): their offsets, and where the last ends.
 */
export function layout(sizes) {
  const at = [];
  let end = DATA_START;
  for (const size of sizes) {
    at.push(end);
    end = Math.ceil((end + size) / 16) * 16;
  }
  return { at, end };
}

const roundBits = new Float32Array(1);
const roundInts = new Int32Array(roundBits.buffer);

/** The largest f32 at most x (x ≥ 0, or infinite): a price as the scan kernels' first pass reads it. */
export function roundDown32(x) {
  roundBits[0] = x;
  if (roundBits[0] > x) roundInts[0] -= 1;
  return roundBits[0];
}
