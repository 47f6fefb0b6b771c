import type { Metric } from './candidates-kernel.mjs';

/**
 * For cells [from, to): each cell's `nearest` views (photo p's crop k is view p · crops + k) found
 * by a k-d tree on a few numbers, costed exactly; where one beats what `best` (the rows of cells
 * from `from`, photos per row) holds for its photo, it takes its place and `viewOf` records k + 1.
 */
export function cropRows(
  target: Float32Array,
  views: Float32Array,
  crops: number,
  photos: number,
  metric: Metric,
  from: number,
  to: number,
  nearest: number,
  best: Float32Array,
  viewOf: Uint8Array,
): void;

/** A k-d tree over `count` points of 8 search numbers (see cropRows), `scale` per number. */
export interface SearchTree {
  order: Int32Array;
  sorted: Float64Array;
  start: Int32Array;
  end: Int32Array;
  dim: Int8Array;
  split: Float64Array;
  left: Int32Array;
  right: Int32Array;
}
export function buildTree(points: Float64Array, count: number, scale: Float64Array): SearchTree;

/** The `m` points nearest `query` by Σ weight (Δ)², into idx (unordered): the kernel's reference. */
export function nearestInTree(
  tree: SearchTree,
  points: Float64Array,
  query: Float64Array,
  weight: Float64Array,
  m: number,
  idx: Int32Array,
  dist: Float64Array,
  seeds: Int32Array,
  seedCount: number,
  taken: Uint8Array,
): number;

/** nearestInTree in the WebAssembly kernel: set query, weight and seeds, then ask. */
export function treeKernel(
  tree: SearchTree,
  points: Float64Array,
  count: number,
  m: number,
): {
  query: Float64Array;
  weight: Float64Array;
  idx: Int32Array;
  seeds: Int32Array;
  nearest(seedCount: number): number;
};
