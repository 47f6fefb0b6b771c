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
