export interface LibraryIndex {
  means: Float64Array;
  order: Int32Array;
  sortedL: Float64Array;
  values: number;
  lightness: number;
}

export function libraryIndex(
  library: Float32Array,
  photos: number,
  values: number,
  lightness: number,
): LibraryIndex;

export function distance(
  target: Float32Array,
  c: number,
  library: Float32Array,
  p: number,
  values: number,
  lightness: number,
  weightL: number,
  bound: number,
): number;

export function nearest(
  target: Float32Array,
  c: number,
  library: Float32Array,
  index: LibraryIndex,
  weightL: number,
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
  values: number,
  lightness: number,
  from: number,
  to: number,
  k: number,
  weightL: number,
  outIdx: Int32Array,
  outCost: Float32Array,
): void;
