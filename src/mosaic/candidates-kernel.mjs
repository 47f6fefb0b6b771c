// The matcher's hot loop: for each cell, the K photos whose feature vector is nearest.
// Plain JavaScript so the same code runs on the main thread and in worker threads under
// node, tsx and vitest alike (a .ts worker would need a loader in each of them).
//
// A feature vector (see features.ts) is `values` numbers: `lightness` L values first, then
// (a, b) pairs. The distance is weightL × the squared L differences + the squared a, b ones.

/** Mean L, a, b of each photo's vector, and photo indices sorted by mean L. */
export function libraryIndex(library, photos, values, lightness) {
  const pairs = (values - lightness) / 2;
  const means = new Float64Array(photos * 3);
  for (let p = 0; p < photos; p++) {
    const q = p * values;
    let l = 0;
    for (let j = 0; j < lightness; j++) l += library[q + j];
    let a = 0;
    let b = 0;
    for (let j = lightness; j < values; j += 2) {
      a += library[q + j];
      b += library[q + j + 1];
    }
    means[p * 3] = l / lightness;
    means[p * 3 + 1] = pairs > 0 ? a / pairs : 0;
    means[p * 3 + 2] = pairs > 0 ? b / pairs : 0;
  }
  const order = Int32Array.from({ length: photos }, (_, i) => i).sort(
    (a, b) => means[a * 3] - means[b * 3] || a - b,
  );
  const sortedL = Float64Array.from(order, (p) => means[p * 3]);
  return { means, order, sortedL, values, lightness };
}

/** weightL × Σ (ΔL)² + Σ (Δa)² + (Δb)² between cell c's vector and photo p's, stopping past `bound`. */
export function distance(target, c, library, p, values, lightness, weightL, bound) {
  const o = c * values;
  const q = p * values;
  let sl = 0;
  for (let j = 0; j < lightness; j++) {
    const d = target[o + j] - library[q + j];
    sl += d * d;
  }
  let s = weightL * sl;
  if (s > bound) return s;
  for (let j = lightness; j < values; j++) {
    const d = target[o + j] - library[q + j];
    s += d * d;
  }
  return s;
}

/**
 * The k nearest photos of cell `c` that `accept` lets through (all when null), written to
 * idx/cost from `base`, nearest first, ties to the lower photo index; returns how many.
 *
 * Pruned: a sum of n squared differences is at least n times the squared difference of the
 * means (Cauchy–Schwarz), so photos are visited outward from the cell's mean lightness and
 * the walk stops once the lightness gap alone rules out the rest.
 */
export function nearest(target, c, library, index, weightL, k, accept, idx, cost, base) {
  const { means, order, sortedL, values, lightness } = index;
  const pairs = (values - lightness) / 2;
  const photos = order.length;
  const o = c * values;
  let tl = 0;
  for (let j = 0; j < lightness; j++) tl += target[o + j];
  let ta = 0;
  let tb = 0;
  for (let j = lightness; j < values; j += 2) {
    ta += target[o + j];
    tb += target[o + j + 1];
  }
  tl /= lightness;
  if (pairs > 0) {
    ta /= pairs;
    tb /= pairs;
  }
  const nL = lightness * weightL;
  // First photo with mean L >= the cell's.
  let lo = 0;
  let hi = photos;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sortedL[mid] < tl) lo = mid + 1;
    else hi = mid;
  }
  let up = lo;
  let down = lo - 1;
  let n = 0;
  let worst = Number.POSITIVE_INFINITY;
  let worstIdx = 0x7fffffff;
  while (up < photos || down >= 0) {
    const dUp = up < photos ? sortedL[up] - tl : Number.POSITIVE_INFINITY;
    const dDown = down >= 0 ? tl - sortedL[down] : Number.POSITIVE_INFINITY;
    const gap = Math.min(dUp, dDown);
    if (n === k && nL * gap * gap > worst) break;
    const p = dUp <= dDown ? order[up++] : order[down--];
    if (accept !== null && !accept(p)) continue;
    const dl = tl - means[p * 3];
    const da = ta - means[p * 3 + 1];
    const db = tb - means[p * 3 + 2];
    if (n === k && nL * dl * dl + pairs * (da * da + db * db) > worst) continue;
    const s = distance(target, c, library, p, values, lightness, weightL, worst);
    if (n === k && (s > worst || (s === worst && p > worstIdx))) continue;
    let i = n < k ? n++ : k - 1;
    while (i > 0 && (cost[base + i - 1] > s || (cost[base + i - 1] === s && idx[base + i - 1] > p))) {
      cost[base + i] = cost[base + i - 1];
      idx[base + i] = idx[base + i - 1];
      i--;
    }
    cost[base + i] = s;
    idx[base + i] = p;
    if (n === k) {
      worst = cost[base + k - 1];
      worstIdx = idx[base + k - 1];
    }
  }
  for (let i = n; i < k; i++) {
    idx[base + i] = -1;
    cost[base + i] = Number.POSITIVE_INFINITY;
  }
  return n;
}

/**
 * Fills `outIdx`/`outCost` (length (to - from) * k) with the k nearest photos of cells
 * [from, to). The result does not depend on how cells are split between threads.
 */
export function topCandidates(
  target,
  library,
  photos,
  values,
  lightness,
  from,
  to,
  k,
  weightL,
  outIdx,
  outCost,
) {
  const index = libraryIndex(library, photos, values, lightness);
  const idx = new Int32Array(k);
  const cost = new Float64Array(k);
  for (let c = from; c < to; c++) {
    nearest(target, c, library, index, weightL, k, null, idx, cost, 0);
    outIdx.set(idx, (c - from) * k);
    for (let i = 0; i < k; i++) outCost[(c - from) * k + i] = cost[i];
  }
}
