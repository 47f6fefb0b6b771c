/** How a cell's feature vector is compared with a photo's (see distance in candidates-kernel.mjs). */
export interface Metric {
  /** Numbers per vector: `lightness` L values, then (a, b) pairs. */
  values: number;
  lightness: number;
  /** Weight of the squared difference of the mean L (per L value). */
  weightL: number;
  /** Weight of the L grid's squared difference left after the means'. */
  weightS: number;
  /** Weight of n (1 − SSIM) of the L grid, n being `lightness` (a square: the grid's side²). */
  structure: number;
  /** SSIM's C1 and C2 in the squared units of the L values. */
  c1: number;
  c2: number;
  /**
   * The cost matrix's coarse pass compares only this many of the L grid's lowest DCT
   * frequencies (0 or absent: the whole grid); the refined photos are compared exactly.
   */
  coarse?: number;
}

/** Numbers per vector in vectorStats. */
export const STATS: number;

export interface LibraryIndex {
  /** Per photo: STATS numbers (see vectorStats). */
  stats: Float64Array;
  /** See windowRows. */
  rows: Float64Array;
  order: Int32Array;
  sortedL: Float64Array;
}

export function vectorStats(
  vectors: Float32Array,
  count: number,
  values: number,
  lightness: number,
): Float64Array;

export function windowRows(
  library: Float32Array,
  photos: number,
  values: number,
  lightness: number,
): Float64Array;

/** SSIM's windows over a side×side L grid; null when `lightness` is not a square. */
export interface Geometry {
  side: number;
  from: Int32Array;
  to: Int32Array;
  w: Float64Array;
}
export function geometry(lightness: number): Geometry | null;

/** Σ over the windows of SSIM's l · cs between a grid and another's window rows. */
export function windowSsim(
  grid: ArrayLike<number>,
  o: number,
  gridStats: Float64Array,
  gAt: number,
  rows: Float64Array,
  rb: number,
  rowsStats: Float64Array,
  rAt: number,
  geo: Geometry,
  c1: number,
  c2: number,
): number;

/** windowSsim (and `squares` against `others`) in the WebAssembly kernel over copies of the arrays. */
export function windowSsimKernel(
  geo: Geometry,
  arrays: {
    grids: ArrayLike<number>;
    gridStats: Float64Array;
    rows: Float64Array;
    rowsStats: Float64Array;
    others?: ArrayLike<number>;
  },
  c1: number,
  c2: number,
): {
  ssim(o: number, gAt: number, rb: number, rAt: number): number;
  squares(o: number, q: number, from: number, to: number): number;
} | null;

export function libraryIndex(
  library: Float32Array,
  photos: number,
  values: number,
  lightness: number,
): LibraryIndex;

export function distance(
  target: Float32Array,
  c: number,
  cStats: Float64Array,
  library: Float32Array,
  p: number,
  index: LibraryIndex,
  metric: Metric,
  bound: number,
): number;

export function fineDistance(
  target: Float32Array,
  c: number,
  cStats: Float64Array,
  library: Float32Array,
  p: number,
  index: LibraryIndex,
  metric: Metric,
): number;

export function costRows(
  target: Float32Array,
  library: Float32Array,
  photos: number,
  metric: Metric,
  from: number,
  to: number,
  refine: number,
  out: Float32Array,
): void;

export function nearest(
  target: Float32Array,
  c: number,
  cStats: Float64Array,
  library: Float32Array,
  index: LibraryIndex,
  metric: Metric,
  k: number,
  accept: ((photo: number) => boolean) | null,
  idx: Int32Array,
  cost: Float64Array,
  base: number,
): number;

export function topCandidates(
  target: Float32Array,
  library: Float32Array,
  photos: number,
  metric: Metric,
  from: number,
  to: number,
  k: number,
  outIdx: Int32Array,
  outCost: Float32Array,
): void;

/** The k-th smallest (from 0) of a[0, n), reordering a. */
export function kth(a: Float64Array, n: number, k: number): number;

/** Σ (a[o + j] − b[q + j])² over j in [from, to). */
export function squares(
  a: ArrayLike<number>,
  o: number,
  b: ArrayLike<number>,
  q: number,
  from: number,
  to: number,
): number;

/** Σ (ΔL)² and Σ (Δa)² + (Δb)² of n (≤ 4) cells from `r` against every photo, into `sums`. */
export function squareSums(
  cells: Float64Array,
  r: number,
  n: number,
  lib: Float64Array,
  photos: number,
  values: number,
  lightness: number,
  sums: Float64Array,
): void;

/** squareSums in the WebAssembly kernel: each `run` leaves its sums in `sums`. */
export function squareSumsKernel(
  lib: Float64Array,
  photos: number,
  values: number,
  photoStats?: Float64Array,
  photoRest?: Float64Array,
): {
  sums: Float64Array;
  row: Float64Array;
  run(cells: Float64Array, r: number, n: number, lightness: number): void;
  costs(i: number, rest: number, my: number, cvar: number, metric: Metric): void;
};
