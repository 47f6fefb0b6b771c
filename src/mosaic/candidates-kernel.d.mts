export function topCandidates(
  target: Float32Array,
  library: Float32Array,
  photos: number,
  from: number,
  to: number,
  k: number,
  weightL: number,
  outIdx: Int32Array,
  outCost: Float32Array,
): void;
