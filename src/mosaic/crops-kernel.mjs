// Crops in the match: each photo may also be shown as a square part of itself (a "view"), and a
// cell takes the photo whose best view fits it best. Every view of every photo cannot be costed
// in every cell (2,000 photos × 9 crops × 7,500 cells is 135 M pairs), so each cell's nearest
// views are found first by a few numbers that carry most of the cost (mean luma, the lowest
// luma frequencies, mean colour) in a k-d tree, and only those are costed exactly. Plain
// JavaScript, like candidates-kernel.mjs, so that worker threads run it without a loader.
import {
  dctBasis,
  geometry,
  lightnessCost,
  lowFrequencies,
  STATS,
  squares,
  vectorStats,
  windowRows,
  windowSsim,
  windowSsimKernel,
} from './candidates-kernel.mjs';
import { instantiateKernels, layout, reserve } from './wasm/kernels.mjs';

/** Lowest luma frequencies (after the mean) in the search's numbers. */
const SEARCH_AC = 5;
/** The search's numbers per vector: the luma grid's DC, SEARCH_AC frequencies, mean a and b. */
const SEARCH = 1 + SEARCH_AC + 2;
/**
 * The search is approximate: the far side of a split is visited only if it could hold a view
 * SLACK times nearer than the farthest kept. The search numbers only approximate the cost
 * anyway; on 2,000 real photos (27 crops, 256 kept) SLACK 4 gave SSIM 0.4666 against 0.4623
 * for the exact search, in a third of its time (16: 0.4659).
 */
const SLACK = 4;
/** Cells searched in a run, each starting from the views the one before found (see cropRows). */
const SEED_BLOCK = 64;
/** Views per k-d tree leaf. */
const LEAF = 12;

/** Per vector, the SEARCH numbers the tree sorts on (see SEARCH). */
function searchVectors(vectors, count, values, lightness, stats) {
  const kept = 1 + SEARCH_AC;
  const basis = dctBasis(lightness, kept);
  const low = lowFrequencies(vectors, 0, count, values, lightness, basis, kept).vectors;
  const width = kept + values - lightness;
  const out = new Float64Array(count * SEARCH);
  for (let v = 0; v < count; v++) {
    for (let k = 0; k < kept; k++) out[v * SEARCH + k] = low[v * width + k];
    out[v * SEARCH + kept] = stats[v * STATS + 1];
    out[v * SEARCH + kept + 1] = stats[v * STATS + 2];
  }
  return out;
}

/**
 * A k-d tree over `count` points of SEARCH numbers: nodes split at the median of their widest
 * coordinate, measured in what it weighs in the search (`scale`, per coordinate), so that the
 * splits follow the numbers that decide the distance. Node n covers order[start[n], end[n]);
 * an inner node's children are left[n] and right[n]; a leaf's dim is -1.
 */
export function buildTree(points, count, scale) {
  const order = Int32Array.from({ length: count }, (_, i) => i);
  // Halving stops below LEAF + 1 points, so a leaf holds more than LEAF / 2: fewer than
  // 2 · count / LEAF + 1 leaves, and one inner node fewer than leaves.
  const capacity = 4 * Math.ceil(count / LEAF) + 4;
  const start = new Int32Array(capacity);
  const end = new Int32Array(capacity);
  const dim = new Int8Array(capacity).fill(-1);
  const split = new Float64Array(capacity);
  const left = new Int32Array(capacity);
  const right = new Int32Array(capacity);
  let nodes = 0;
  const build = (from, to) => {
    const n = nodes++;
    start[n] = from;
    end[n] = to;
    if (to - from <= LEAF) return n;
    let widest = 0;
    let spread = -1;
    for (let d = 0; d < SEARCH; d++) {
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (let i = from; i < to; i++) {
        const x = points[order[i] * SEARCH + d];
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
      const wide = (hi - lo) * (hi - lo) * scale[d];
      if (wide > spread) [spread, widest] = [wide, d];
    }
    if (spread <= 0) return n;
    const mid = (from + to) >> 1;
    selectBy(order, points, widest, from, to - 1, mid);
    dim[n] = widest;
    split[n] = points[order[mid] * SEARCH + widest];
    left[n] = build(from, mid);
    right[n] = build(mid, to);
    return n;
  };
  build(0, count);
  // The points again in the order the leaves hold them: a leaf's scan reads one stretch.
  const sorted = new Float64Array(count * SEARCH);
  for (let i = 0; i < count; i++) {
    for (let d = 0; d < SEARCH; d++) sorted[i * SEARCH + d] = points[order[i] * SEARCH + d];
  }
  return { order, sorted, start, end, dim, split, left, right };
}

/** Reorders order[lo..hi] so that order[k] holds the point k-th smallest in coordinate d. */
function selectBy(order, points, d, lo, hi, k) {
  while (lo < hi) {
    const pivot = points[order[(lo + hi) >> 1] * SEARCH + d];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (points[order[i] * SEARCH + d] < pivot) i++;
      while (points[order[j] * SEARCH + d] > pivot) j--;
      if (i <= j) {
        const t = order[i];
        order[i] = order[j];
        order[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

/**
 * The `m` points nearest `query` by Σ weight[d] (Δd)², into idx (unordered); returns how many.
 * The far side of a split is visited only if its nearest possible point could still be among
 * them (the distance to the cell's box grows one coordinate at a time).
 */
export function nearestInTree(tree, points, query, weight, m, idx, dist, seeds, seedCount, taken) {
  const { order, sorted, start, end, dim, split, left, right } = tree;
  let n = 0;
  let worst = Number.POSITIVE_INFINITY;
  const offsets = new Float64Array(SEARCH);
  // Max-heap of the best m by distance.
  const push = (v, d) => {
    if (n < m) {
      let i = n++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (dist[parent] >= d) break;
        dist[i] = dist[parent];
        idx[i] = idx[parent];
        i = parent;
      }
      dist[i] = d;
      idx[i] = v;
    } else {
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= m) break;
        if (child + 1 < m && dist[child + 1] > dist[child]) child++;
        if (dist[child] <= d) break;
        dist[i] = dist[child];
        idx[i] = idx[child];
        i = child;
      }
      dist[i] = d;
      idx[i] = v;
    }
    if (n === m) worst = dist[0];
  };
  const visit = (node, reach) => {
    const d = dim[node];
    if (d < 0) {
      for (let i = start[node]; i < end[node]; i++) {
        let s = 0;
        for (let k = 0; k < SEARCH; k++) {
          const x = sorted[i * SEARCH + k] - query[k];
          s += weight[k] * x * x;
        }
        if (s < worst && taken[order[i]] === 0) push(order[i], s);
      }
      return;
    }
    const gap = query[d] - split[node];
    const near = gap < 0 ? left[node] : right[node];
    const far = gap < 0 ? right[node] : left[node];
    visit(near, reach);
    const old = offsets[d];
    const farReach = reach - weight[d] * old * old + weight[d] * gap * gap;
    if (farReach * SLACK < worst) {
      offsets[d] = gap;
      visit(far, farReach);
      offsets[d] = old;
    }
  };
  // The previous cell's views first: neighbouring cells are often alike, and a close bound
  // from the start spares most of the tree. The tree skips them (`taken`).
  for (let i = 0; i < seedCount; i++) {
    const v = seeds[i];
    let s = 0;
    for (let k = 0; k < SEARCH; k++) {
      const x = points[v * SEARCH + k] - query[k];
      s += weight[k] * x * x;
    }
    taken[v] = 1;
    if (s < worst) push(v, s);
  }
  visit(0, 0);
  for (let i = 0; i < seedCount; i++) taken[seeds[i]] = 0;
  return n;
}

/**
 * nearestInTree in the WebAssembly kernel (nearestViews in kernels.as.ts): the tree and the
 * points copied into memory of its own once, then per cell its query and weights set, and the
 * seeds (the previous cell's views) left in `seeds`. The same views in the same order as
 * nearestInTree, which stays as its reference; twice as fast.
 */
export function treeKernel(tree, points, count, m) {
  const kernels = instantiateKernels();
  const nodes = tree.start.length;
  // In treeState's order (seeds last): [array type, length, what it starts as].
  const blocks = [
    [Int32Array, count, tree.order],
    [Float64Array, count * SEARCH, tree.sorted],
    [Int32Array, nodes, tree.start],
    [Int32Array, nodes, tree.end],
    [Int32Array, nodes, tree.dim],
    [Float64Array, nodes, tree.split],
    [Int32Array, nodes, tree.left],
    [Int32Array, nodes, tree.right],
    [Float64Array, count * SEARCH, points.subarray(0, count * SEARCH)],
    [Uint8Array, count], // taken
    [Float64Array, SEARCH], // query
    [Float64Array, SEARCH], // weight
    [Float64Array, SEARCH], // offsets
    [Int32Array, m], // idx
    [Float64Array, m], // dist
    [Int32Array, m], // seeds
  ];
  const placed = layout(blocks.map(([Type, length]) => Type.BYTES_PER_ELEMENT * length));
  reserve(kernels.memory, placed.end);
  const arrays = blocks.map(([Type, length, from], i) => {
    const array = new Type(kernels.memory.buffer, placed.at[i], length);
    if (from) array.set(from);
    return array;
  });
  kernels.treeState(...placed.at.slice(0, blocks.length - 1), SLACK);
  const seedsAt = placed.at[blocks.length - 1];
  return {
    query: arrays[10],
    weight: arrays[11],
    idx: arrays[13],
    seeds: arrays[15],
    /** The query's nearest views into idx, the first `seedCount` of `seeds` weighed first: how many. */
    nearest: (seedCount) => kernels.nearestViews(m, seedsAt, seedCount),
  };
}

/**
 * What a squared difference of each search number costs in cell c, for a view like the cell:
 * the mean (the DC coefficient is √n × the mean), the shape, the mean colour over the blocks.
 */
function searchWeights(metric, cStats, c, out) {
  const { values, lightness, weightL, weightS, structure, c1, c2 } = metric;
  const my = cStats[c * STATS];
  const vy = cStats[c * STATS + 3];
  out[0] = weightL + structure / (2 * my * my + c1);
  for (let k = 1; k <= SEARCH_AC; k++) out[k] = structure / (2 * vy + c2) + weightS;
  out[SEARCH - 2] = (values - lightness) / 2;
  out[SEARCH - 1] = (values - lightness) / 2;
  return out;
}

/**
 * For cells [from, to): each cell's `m` nearest views (photo p's crop k is view p · crops + k)
 * by the search numbers, costed exactly like the refined photos of the cost matrix (SSIM in
 * windows: see costRows); where a view beats what the cell's row of `best` (photos per row,
 * from cell `from`) holds for its photo, it takes that place and `viewOf` records crop k + 1
 * (0 stays: the whole photo).
 */
export function cropRows(target, views, crops, photos, metric, from, to, m, best, viewOf) {
  const { values, lightness, c1, c2 } = metric;
  const count = photos * crops;
  const geo = geometry(lightness);
  if (!geo) throw new RangeError('crops need a square L grid');
  // Everything a cell's search depends on is the same however the cells are split between
  // threads: the tree's scale comes from every cell, and the seeds from a run of SEED_BLOCK
  // cells that starts at a multiple of it (a range starting inside one searches its start first).
  const cells = target.length / values;
  const cStats = vectorStats(target, cells, values, lightness);
  const vStats = vectorStats(views, count, values, lightness);
  const points = searchVectors(views, count, values, lightness, vStats);
  const weight = new Float64Array(SEARCH);
  const scale = new Float64Array(SEARCH);
  for (let c = 0; c < cells; c++) {
    const w = searchWeights(metric, cStats, c, weight);
    for (let k = 0; k < SEARCH; k++) scale[k] += w[k] / cells;
  }
  const tree = buildTree(points, count, scale);
  const search = treeKernel(tree, points, count, m);
  const first = from - (from % SEED_BLOCK);
  const cellPoints = searchVectors(
    target.subarray(first * values, to * values),
    to - first,
    values,
    lightness,
    cStats.subarray(first * STATS),
  );
  const { idx, seeds, query, weight: searchWeight } = search;
  let seedCount = 0;
  const cellRows = windowRows(target.subarray(from * values, to * values), to - from, values, lightness);
  // The views' grids, and the cells', in the WebAssembly kernel's memory.
  const kernel = windowSsimKernel(
    geo,
    { grids: views, gridStats: vStats, rows: cellRows, rowsStats: cStats, others: target },
    c1,
    c2,
  );
  for (let c = first; c < to; c++) {
    if (c % SEED_BLOCK === 0) seedCount = 0;
    searchWeight.set(searchWeights(metric, cStats, c, weight));
    for (let k = 0; k < SEARCH; k++) query[k] = cellPoints[(c - first) * SEARCH + k];
    const found = search.nearest(seedCount);
    seeds.set(idx.subarray(0, found));
    seedCount = found;
    if (c < from) continue;
    const o = c * values;
    const row = (c - from) * photos;
    for (let i = 0; i < found; i++) {
      const v = idx[i];
      const q = v * values;
      // SSIM is symmetric: the cell's window rows against the view's grid, as the cost matrix
      // takes a photo's rows against the cell's.
      const fine = kernel
        ? kernel.ssim(q, v * STATS, (c - from) * 3 * lightness, c * STATS)
        : windowSsim(
            views,
            q,
            vStats,
            v * STATS,
            cellRows,
            (c - from) * 3 * lightness,
            cStats,
            c * STATS,
            geo,
            c1,
            c2,
          );
      const sl = kernel ? kernel.squares(q, o, 0, lightness) : squares(target, o, views, q, 0, lightness);
      const cost =
        lightnessCost(sl, fine, cStats, c, vStats, v, metric) +
        (kernel ? kernel.squares(q, o, lightness, values) : squares(target, o, views, q, lightness, values));
      const p = Math.floor(v / crops);
      if (cost < best[row + p]) {
        best[row + p] = cost;
        viewOf[row + p] = (v % crops) + 1;
      }
    }
  }
}
