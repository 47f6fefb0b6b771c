/** The exports of kernels.wasm: pointers are byte offsets into `memory`. */
export interface Kernels {
  memory: WebAssembly.Memory;
  areaResize(
    src: number,
    w: number,
    h: number,
    dw: number,
    dh: number,
    taps: number,
    out: number,
    scratch: number,
  ): void;
  scanEither(
    cost: number,
    first: number,
    rest32: number,
    first32: number,
    rest: number,
    firstPrice: number,
    p: number,
    photos: number,
    bar: number,
    loose: number,
  ): number;
  scanOne(
    cost: number,
    low32: number,
    low: number,
    p: number,
    photos: number,
    bar: number,
    loose: number,
  ): number;
}

export function instantiateKernels(): Kernels;
export function reserve(memory: WebAssembly.Memory, bytes: number): void;
/** The f32 threshold of the scan kernels' first pass for `bar` (see kernels.mjs). */
export function looseBar(bar: number): number;
/** The largest f32 at most x (x ≥ 0, or infinite). */
export function roundDown32(x: number): number;
