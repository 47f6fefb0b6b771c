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
  windowSsim10(
    grid: number,
    rows: number,
    gridStats: number,
    rowsStats: number,
    geometry: number,
    c1: number,
    c2: number,
  ): number;
  squares(a: number, b: number, n: number): number;
  squareSums4(cells: number, lib: number, photos: number, width: number, luma: number, out: number): void;
  auctionState(
    photos: number,
    cap: number,
    cols: number,
    cells: number,
    d2: number,
    cost: number,
    first: number,
    low1: number,
    low2: number,
    lowPlace: number,
    owner: number,
    price: number,
    rest: number,
    firstPrice: number,
    low32: number,
    rest32: number,
    first32: number,
    hint: number,
  ): void;
  chooseCell(i: number): number;
  coarseCosts(
    sumsL: number,
    sumsAB: number,
    restP: number,
    rest: number,
    means: number,
    vars: number,
    photos: number,
    n: number,
    my: number,
    cvar: number,
    weightL: number,
    structure: number,
    c1: number,
    c2: number,
    out: number,
  ): void;
  summedAreas(src: number, side: number, rgb: number, luma: number): void;
  looseBar(bar: number): number;
  halveRgb(src: number, side: number, out: number): void;
  fnv1a(at: number, n: number): number;
  boxSums32(src: number, width: number, height: number, out: number): void;
  chosenBest(): number;
  chosenSecond(): number;
}

export function instantiateKernels(): Kernels;
export function reserve(memory: WebAssembly.Memory, bytes: number): void;
/** Offsets of blocks of these byte sizes in a kernel instance's memory, 16-byte aligned, and the end. */
export function layout(sizes: number[]): { at: number[]; end: number };
/** The largest f32 at most x (x ≥ 0, or infinite). */
export function roundDown32(x: number): number;
