// The matcher's hot loops: the cost of every photo in every cell (for the auction), or each
// cell's K cheapest photos (for the greedy). Plain JavaScript so the same code runs on the main
// thread and in worker threads under node, tsx and vitest alike (a .ts worker would need a
// loader in each of them).
//
// A feature vector (see features.ts) is `values` numbers: `lightness` L (luma) values first,
// then (a, b) pairs. The cost of a photo in a cell (see `distance`) is SSIM's loss on the L
// grid plus squared differences of the mean L and of the a, b grid.

import { instantiateKernels, layout, reserve } from './wasm/kernels.mjs';

// SSIM's window (Gaussian, σ 1.5, 11×11) in grid values: at the size mosaics are scored, a cell
// is its grid, one value a pixel. WINDOWS × WINDOWS of them, spread evenly over the cell and cut
// to it, stand for the per-pixel windows of the real thing (3 × 3 gives most of what all 100 do;
// windowSsim is written for 3).
const SIGMA = 1.5;
const RADIUS = 5;
const WINDOWS = 3;
/** Numbers per vector in vectorStats: mean L, a, b, variance of L, then per window mean and variance. */
export const STATS = 4 + 2 * WINDOWS * WINDOWS;

const geometries = new Map();

/**
 * The windows over a `side`×`side` grid: per axis, WINDOWS normalized 1-D weight rows (`side`
 * each, zero outside [from, to)). A window's 2-D weights are the product of a row's and a column's.
 */
export function geometry(lightness) {
  const side = Math.round(Math.sqrt(lightness));
  if (side * side !== lightness) return null;
  let g = geometries.get(side);
  if (g) return g;
  const from = new Int32Array(WINDOWS);
  const to = new Int32Array(WINDOWS);
  const w = new Float64Array(WINDOWS * side);
  for (let a = 0; a < WINDOWS; a++) {
    const centre = ((a + 0.5) * side) / WINDOWS - 0.5;
    from[a] = Math.max(0, Math.ceil(centre - RADIUS));
    to[a] = Math.min(side, Math.floor(centre + RADIUS) + 1);
    let sum = 0;
    for (let j = from[a]; j < to[a]; j++) {
      const v = Math.exp(-((j - centre) ** 2) / (2 * SIGMA * SIGMA));
      w[a * side + j] = v;
      sum += v;
    }
    for (let j = from[a]; j < to[a]; j++) w[a * side + j] /= sum;
  }
  g = { side, from, to, w };
  geometries.set(side, g);
  return g;
}

/**
 * Per vector, STATS numbers: mean L, mean a, mean b, variance of the L grid, then each window's
 * weighted mean and variance of L (zero when the L grid is not square). For library and target
 * alike.
 * @returns {Float64Array} count × STATS
 */
export function vectorStats(vectors, count, values, lightness) {
  const pairs = (values - lightness) / 2;
  const geo = geometry(lightness);
  const stats = new Float64Array(count * STATS);
  for (let v = 0; v < count; v++) {
    const q = v * values;
    const at = v * STATS;
    let l = 0;
    let l2 = 0;
    for (let j = 0; j < lightness; j++) {
      const x = vectors[q + j];
      l += x;
      l2 += x * x;
    }
    let a = 0;
    let b = 0;
    for (let j = lightness; j < values; j += 2) {
      a += vectors[q + j];
      b += vectors[q + j + 1];
    }
    const mean = l / lightness;
    stats[at] = mean;
    stats[at + 1] = pairs > 0 ? a / pairs : 0;
    stats[at + 2] = pairs > 0 ? b / pairs : 0;
    stats[at + 3] = Math.max(0, l2 / lightness - mean * mean);
    if (!geo) continue;
    const { side, from, to, w } = geo;
    for (let r = 0; r < WINDOWS; r++) {
      for (let k = 0; k < WINDOWS; k++) {
        let m = 0;
        let m2 = 0;
        for (let jr = from[r]; jr < to[r]; jr++) {
          for (let jc = from[k]; jc < to[k]; jc++) {
            const x = vectors[q + jr * side + jc];
            const wt = w[r * side + jr] * w[k * side + jc];
            m += wt * x;
            m2 += wt * x * x;
          }
        }
        stats[at + 4 + 2 * (r * WINDOWS + k)] = m;
        stats[at + 5 + 2 * (r * WINDOWS + k)] = Math.max(0, m2 - m * m);
      }
    }
  }
  return stats;
}

/**
 * Each photo's L grid times each window row's weights (photos × WINDOWS × lightness): what the
 * windows' covariances need from the photo, so that only one product per value and window row
 * is left per pair.
 */
export function windowRows(library, photos, values, lightness) {
  const geo = geometry(lightness);
  if (!geo) return new Float64Array(0);
  const { side, from, to, w } = geo;
  const out = new Float64Array(photos * WINDOWS * lightness);
  for (let p = 0; p < photos; p++) {
    for (let r = 0; r < WINDOWS; r++) {
      const base = (p * WINDOWS + r) * lightness;
      for (let jr = from[r]; jr < to[r]; jr++) {
        for (let jc = 0; jc < side; jc++) {
          out[base + jr * side + jc] = w[r * side + jr] * library[p * values + jr * side + jc];
        }
      }
    }
  }
  return out;
}

/** The library's stats (see vectorStats), window rows, and photo indices sorted by mean L. */
export function libraryIndex(library, photos, values, lightness) {
  const stats = vectorStats(library, photos, values, lightness);
  const order = Int32Array.from({ length: photos }, (_, i) => i).sort(
    (a, b) => stats[a * STATS] - stats[b * STATS] || a - b,
  );
  const sortedL = Float64Array.from(order, (p) => stats[p * STATS]);
  return { stats, rows: windowRows(library, photos, values, lightness), order, sortedL };
}

/**
 * Σ over the windows of SSIM's l · cs between a cell's L grid (`cell` from `o`, stats at `cAt`)
 * and a photo's (its window rows from `rb`, stats at `pAt`). Per window row, the column sums of
 * weight × photo × cell, then across the columns with each window column's weights (zero
 * outside the window, so no test in the loop).
 */
export function windowSsim(cell, o, cStats, cAt, rows, rb, pStats, pAt, geo, c1, c2) {
  const { side, from, to, w } = geo;
  if (side === 10) return windowSsim10(cell, o, cStats, cAt, rows, rb, pStats, pAt, geo, c1, c2);
  const n = side * side;
  let sum = 0;
  for (let r = 0; r < WINDOWS; r++) {
    const base = rb + r * n;
    const end = to[r] * side;
    let e0 = 0;
    let e1 = 0;
    let e2 = 0;
    for (let jc = 0; jc < side; jc++) {
      let t = 0;
      for (let j = from[r] * side + jc; j < end; j += side) t += rows[base + j] * cell[o + j];
      e0 += w[jc] * t;
      e1 += w[side + jc] * t;
      e2 += w[2 * side + jc] * t;
    }
    sum += windowRowSsim(e0, e1, e2, r, cStats, cAt, pStats, pAt, c1, c2);
  }
  return sum;
}

/** windowSsim for the build's 10×10 grid, the columns unrolled: three times as fast. */
function windowSsim10(cell, o, cStats, cAt, rows, rb, pStats, pAt, geo, c1, c2) {
  const { from, to, w } = geo;
  let sum = 0;
  for (let r = 0; r < WINDOWS; r++) {
    const base = rb + r * 100 - o;
    let t0 = 0;
    let t1 = 0;
    let t2 = 0;
    let t3 = 0;
    let t4 = 0;
    let t5 = 0;
    let t6 = 0;
    let t7 = 0;
    let t8 = 0;
    let t9 = 0;
    for (let j = o + from[r] * 10; j < o + to[r] * 10; j += 10) {
      t0 += rows[base + j] * cell[j];
      t1 += rows[base + j + 1] * cell[j + 1];
      t2 += rows[base + j + 2] * cell[j + 2];
      t3 += rows[base + j + 3] * cell[j + 3];
      t4 += rows[base + j + 4] * cell[j + 4];
      t5 += rows[base + j + 5] * cell[j + 5];
      t6 += rows[base + j + 6] * cell[j + 6];
      t7 += rows[base + j + 7] * cell[j + 7];
      t8 += rows[base + j + 8] * cell[j + 8];
      t9 += rows[base + j + 9] * cell[j + 9];
    }
    const e0 =
      w[0] * t0 +
      w[1] * t1 +
      w[2] * t2 +
      w[3] * t3 +
      w[4] * t4 +
      w[5] * t5 +
      w[6] * t6 +
      w[7] * t7 +
      w[8] * t8 +
      w[9] * t9;
    const e1 =
      w[10] * t0 +
      w[11] * t1 +
      w[12] * t2 +
      w[13] * t3 +
      w[14] * t4 +
      w[15] * t5 +
      w[16] * t6 +
      w[17] * t7 +
      w[18] * t8 +
      w[19] * t9;
    const e2 =
      w[20] * t0 +
      w[21] * t1 +
      w[22] * t2 +
      w[23] * t3 +
      w[24] * t4 +
      w[25] * t5 +
      w[26] * t6 +
      w[27] * t7 +
      w[28] * t8 +
      w[29] * t9;
    sum += windowRowSsim(e0, e1, e2, r, cStats, cAt, pStats, pAt, c1, c2);
  }
  return sum;
}

/** Σ of l · cs over the three windows of window row r, given their weighted sums of photo × cell. */
export function windowRowSsim(e0, e1, e2, r, cStats, cAt, pStats, pAt, c1, c2) {
  let sum = 0;
  for (let k = 0; k < WINDOWS; k++) {
    const at = 4 + 2 * (r * WINDOWS + k);
    const mx = pStats[pAt + at];
    const my = cStats[cAt + at];
    const e = k === 0 ? e0 : k === 1 ? e1 : e2;
    sum +=
      ((2 * mx * my + c1) * (2 * (e - mx * my) + c2)) /
      ((mx * mx + my * my + c1) * (pStats[pAt + at + 1] + cStats[cAt + at + 1] + c2));
  }
  return sum;
}

/**
 * windowSsim on the build's 10×10 grid in the WebAssembly kernel (windowSsim10 in
 * wasm/kernels.as.ts, twice as fast), over copies of the arrays in its memory: `ssim` takes the
 * same offsets into them as windowSsim (grid at `o`, its stats at `gAt`, window rows at `rb`,
 * their stats at `rAt`); `squares` is `squares` between `grids` at o and `others` at q. Null for
 * other grids.
 */
export function windowSsimKernel(geo, { grids, gridStats, rows, rowsStats, others }, c1, c2) {
  if (geo.side !== 10) return null;
  const kernels = instantiateKernels();
  const parts = [grids, gridStats, rows, rowsStats, others ?? new Float64Array(0)];
  const placed = layout([...parts.map((part) => part.length * 8), 30 * 8 + 6 * 4]);
  const starts = placed.at;
  const geometryAt = starts[parts.length];
  reserve(kernels.memory, placed.end);
  const { buffer } = kernels.memory;
  parts.forEach((part, i) => {
    new Float64Array(buffer, starts[i], part.length).set(part);
  });
  new Float64Array(buffer, geometryAt, 30).set(geo.w.subarray(0, 30));
  new Int32Array(buffer, geometryAt + 240, 6).set([...geo.from, ...geo.to]);
  const [gridsAt, gridStatsAt, rowsAt, rowsStatsAt, othersAt] = starts;
  return {
    ssim: (o, gAt, rb, rAt) =>
      kernels.windowSsim10(
        gridsAt + o * 8,
        rowsAt + rb * 8,
        gridStatsAt + gAt * 8,
        rowsStatsAt + rAt * 8,
        geometryAt,
        c1,
        c2,
      ),
    squares: (o, q, from, to) =>
      kernels.squares(gridsAt + (o + from) * 8, othersAt + (q + from) * 8, to - from),
  };
}

/**
 * The lightness part of the cost of photo p in cell c (see `distance`) from sl = Σ (ΔL)² (which
 * may be anything when weightS and structure are 0): SSIM over the whole cell, or with `fine`
 * (windowSsim's sum), over the windows.
 */
export function lightnessCost(sl, fine, cStats, c, pStats, p, metric) {
  const { lightness: n, weightL, weightS, structure, c1, c2 } = metric;
  const my = cStats[c * STATS];
  const mx = pStats[p * STATS];
  const dm = mx - my;
  let s = weightL * n * dm * dm;
  if (weightS === 0 && structure === 0) return s;
  const shape = Math.max(0, sl - n * dm * dm);
  if (weightS !== 0) s = weightS === weightL ? weightL * sl : s + weightS * shape;
  if (structure === 0) return s;
  if (fine !== null) return s + structure * n * (1 - fine / (WINDOWS * WINDOWS));
  // n (1 − l cs) = n (1 − l) + l S / (vx + vy + c2): the shape S is n (vx + vy − 2 cov), and
  // 1 − l = (mx − my)² / (mx² + my² + c1).
  const m2 = mx * mx + my * my + c1;
  const l = (2 * mx * my + c1) / m2;
  const v = cStats[c * STATS + 3] + pStats[p * STATS + 3] + c2;
  return s + structure * ((n * dm * dm) / m2 + (l * shape) / v);
}

/** Σ (Δ)² over values [from, to) of the vectors at o and q. */
export function squares(cell, o, lib, q, from, to) {
  let s = 0;
  for (let j = from; j < to; j++) {
    const d = cell[o + j] - lib[q + j];
    s += d * d;
  }
  return s;
}

/**
 * The cost of photo p in cell c, stopping past `bound`. With n L values and their means mx, my:
 *
 *   weightL · n (mx − my)²  +  weightS · S  +  structure · n (1 − SSIM)  +  Σ (Δa)² + (Δb)²
 *
 * S = Σ (ΔL)² − n (mx − my)² is what the means leave of the squared difference. SSIM is SSIM's
 * l · cs on the L grid, the cell as one image and the photo as the other:
 * l = (2 mx my + c1) / (mx² + my² + c1) asks for the same ratio of means, strictest in the
 * shadows; cs = (2 cov + c2) / (vx + vy + c2) punishes any texture in a photo for a flat cell,
 * forgives a busy cell what no photo could match, and rewards the photo whose pattern follows
 * the cell's. weightS = weightL and structure = 0 give the plain squared distance
 * weightL · Σ (ΔL)² + Σ (Δa)² + (Δb)².
 *
 * Here SSIM is taken over the whole cell at once; `fineDistance` takes it the way the score
 * does, in small windows, and costs several times as much.
 *
 * `metric`: { values, lightness, weightL, weightS, structure, c1, c2 }; cStats from vectorStats,
 * `index` from libraryIndex.
 */
export function distance(target, c, cStats, library, p, index, metric, bound) {
  const { values, lightness, weightS, structure } = metric;
  const o = c * values;
  const q = p * values;
  const sl = weightS !== 0 || structure !== 0 ? squares(target, o, library, q, 0, lightness) : 0;
  const s = lightnessCost(sl, null, cStats, c, index.stats, p, metric);
  if (s > bound) return s;
  return s + squares(target, o, library, q, lightness, values);
}

/**
 * `distance` with SSIM the mean over WINDOWS × WINDOWS of SSIM's own Gaussian windows, cut to
 * the cell (the L grid must be square). The score averages SSIM over windows around every
 * pixel: a photo can match a cell's overall contrast and none of its local detail.
 */
export function fineDistance(target, c, cStats, library, p, index, metric) {
  const { values, lightness, c1, c2 } = metric;
  const o = c * values;
  const q = p * values;
  const geo = geometry(lightness);
  if (!geo) throw new RangeError('fineDistance needs a square L grid');
  const sl = squares(target, o, library, q, 0, lightness);
  const fine = windowSsim(
    target,
    o,
    cStats,
    c * STATS,
    index.rows,
    p * WINDOWS * lightness,
    index.stats,
    p * STATS,
    geo,
    c1,
    c2,
  );
  return (
    lightnessCost(sl, fine, cStats, c, index.stats, p, metric) +
    squares(target, o, library, q, lightness, values)
  );
}

/**
 * Writes the cost of every photo in cells [from, to) to `out` (row-major, `photos` per row).
 *
 * `fineDistance` for each cell's `refine` cheapest photos by `distance` (and any tied with the
 * last); the others keep `distance`, raised by the 90th percentile of what the fine cost added
 * on those, so both sit on one scale and a photo left coarse is not favoured for it. The fine
 * cost would take several times as long for all, and far down a cell's list the two rank photos
 * alike. `refine` 0 (or a structure of 0, or an L grid that is not square): all coarse.
 */
export function costRows(target, library, photos, metric, from, to, refine, out) {
  const { values, lightness, c1, c2 } = metric;
  const cStats = vectorStats(target, to, values, lightness);
  const index = libraryIndex(library, photos, values, lightness);
  const geo = metric.structure !== 0 && refine > 0 ? geometry(lightness) : null;
  // The coarse pass on the L grid's lowest frequencies (see lowFrequencies), when asked and the
  // coarse cost depends on the L grid's shape at all.
  const kept =
    metric.coarse > 0 && metric.coarse < lightness && (metric.weightS !== 0 || metric.structure !== 0)
      ? metric.coarse
      : 0;
  const basis = kept > 0 ? dctBasis(lightness, kept) : null;
  // Float64 copies read faster in the inner loops than the Float32 originals.
  const libLow = basis ? lowFrequencies(library, 0, photos, values, lightness, basis, kept) : null;
  const cellLow = basis ? lowFrequencies(target, from, to, values, lightness, basis, kept) : null;
  const lib = libLow ? libLow.vectors : Float64Array.from(library.subarray(0, photos * values));
  const cells = cellLow ? cellLow.vectors : Float64Array.from(target.subarray(from * values, to * values));
  const width = basis ? kept + values - lightness : values;
  const lumaWidth = basis ? kept : lightness;
  const fine = geo === null ? 0 : Math.min(refine, photos);
  const exactCells = basis ? Float64Array.from(target.subarray(from * values, to * values)) : cells;
  const squared = squareSumsKernel(lib, photos, width, index.stats, libLow?.rest);
  const sums = squared.sums;
  // The build's metric (SSIM's structure, no shape weight) in the kernel; others here.
  const inKernel = metric.weightS === 0 && metric.structure !== 0;
  const row = inKernel ? squared.row : new Float64Array(photos);
  const scratch = new Float64Array(photos);
  const added = new Float64Array(photos);
  const refined = new Uint8Array(photos);
  const kernelSsim =
    fine > 0
      ? windowSsimKernel(
          geo,
          { grids: exactCells, gridStats: cStats, rows: index.rows, rowsStats: index.stats },
          c1,
          c2,
        )
      : null;
  for (let r = 0; r < to - from; r += 4) {
    const n = Math.min(4, to - from - r);
    squared.run(cells, r, n, lumaWidth);
    for (let i = 0; i < n; i++) {
      const c = from + r + i;
      const o = (r + i) * values;
      // The frequencies left out count as unlike: their energy in both, no cross term.
      const rest = libLow && cellLow ? cellLow.rest[r + i] : 0;
      if (inKernel) squared.costs(i, rest, cStats[c * STATS], cStats[c * STATS + 3], metric);
      else {
        if (libLow && cellLow)
          for (let p = 0; p < photos; p++) sums[2 * i * photos + p] += rest + libLow.rest[p];
        for (let p = 0; p < photos; p++) {
          row[p] =
            lightnessCost(sums[2 * i * photos + p], null, cStats, c, index.stats, p, metric) +
            sums[(2 * i + 1) * photos + p];
        }
      }
      if (fine > 0) {
        scratch.set(row);
        const limit = fine < photos ? kth(scratch, photos, fine - 1) : Number.POSITIVE_INFINITY;
        let m = 0;
        refined.fill(0);
        for (let p = 0; p < photos; p++) {
          if (row[p] > limit) continue;
          const w = kernelSsim
            ? kernelSsim.ssim((r + i) * values, c * STATS, p * WINDOWS * lightness, p * STATS)
            : windowSsim(
                exactCells,
                o,
                cStats,
                c * STATS,
                index.rows,
                p * WINDOWS * lightness,
                index.stats,
                p * STATS,
                geo,
                c1,
                c2,
              );
          const s =
            lightnessCost(sums[2 * i * photos + p], w, cStats, c, index.stats, p, metric) +
            sums[(2 * i + 1) * photos + p];
          added[m++] = s - row[p];
          row[p] = s;
          refined[p] = 1;
        }
        if (m < photos) {
          const shift = kth(added, m, Math.floor(0.9 * (m - 1)));
          for (let p = 0; p < photos; p++) if (refined[p] === 0) row[p] += shift;
        }
      }
      out.set(row, (r + i) * photos);
    }
  }
}

const bases = new Map();

/**
 * The first `kept` rows of the orthonormal 2-D DCT-II of a side×side grid (`lightness` values),
 * lowest frequencies first (by u + v, then v): kept × lightness.
 */
export function dctBasis(lightness, kept) {
  const key = `${lightness}/${kept}`;
  let basis = bases.get(key);
  if (basis) return basis;
  const side = Math.round(Math.sqrt(lightness));
  if (side * side !== lightness) throw new RangeError('a low-frequency pass needs a square L grid');
  const pairs = [];
  for (let u = 0; u < side; u++) for (let v = 0; v < side; v++) pairs.push([u, v]);
  pairs.sort((a, b) => a[0] + a[1] - (b[0] + b[1]) || a[1] - b[1]);
  const scale = (k) => (k === 0 ? Math.sqrt(1 / side) : Math.sqrt(2 / side));
  basis = new Float64Array(kept * lightness);
  for (let k = 0; k < kept; k++) {
    const [u, v] = pairs[k];
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        basis[k * lightness + y * side + x] =
          scale(u) *
          scale(v) *
          Math.cos(((2 * y + 1) * u * Math.PI) / (2 * side)) *
          Math.cos(((2 * x + 1) * v * Math.PI) / (2 * side));
      }
    }
  }
  bases.set(key, basis);
  return basis;
}

/**
 * Vectors [from, to) with their L grid replaced by its `kept` lowest DCT coefficients (the
 * colour values follow unchanged), and per vector the energy of the coefficients left out. The
 * basis is orthonormal, so Σ (ΔL)² over the grid is Σ (Δ coefficient)² over all coefficients:
 * the kept ones give the broad shape exactly, at a fraction of the 100 products per pair.
 */
export function lowFrequencies(vectors, from, to, values, lightness, basis, kept) {
  const width = kept + values - lightness;
  const out = new Float64Array((to - from) * width);
  const rest = new Float64Array(to - from);
  for (let v = from; v < to; v++) {
    const q = v * values;
    const o = (v - from) * width;
    let energy = 0;
    for (let j = 0; j < lightness; j++) energy += vectors[q + j] * vectors[q + j];
    for (let k = 0; k < kept; k++) {
      let s = 0;
      for (let j = 0; j < lightness; j++) s += basis[k * lightness + j] * vectors[q + j];
      out[o + k] = s;
      energy -= s * s;
    }
    rest[v - from] = Math.max(0, energy);
    for (let j = lightness; j < values; j++) out[o + kept + j - lightness] = vectors[q + j];
  }
  return { vectors: out, rest };
}

/**
 * For n (≤ 4) cells from `r` of `cells`, Σ (ΔL)² and Σ (Δa)² + (Δb)² against every photo, into
 * sums[2i · photos + p] and sums[(2i + 1) · photos + p]: four cells at a time, each photo value
 * read once for all (the sums are those of `squares`, term for term). A missing cell repeats
 * the last, its sums unused.
 */
export function squareSums(cells, r, n, lib, photos, values, lightness, sums) {
  const o0 = r * values;
  const o1 = (r + Math.min(1, n - 1)) * values;
  const o2 = (r + Math.min(2, n - 1)) * values;
  const o3 = (r + Math.min(3, n - 1)) * values;
  for (let p = 0; p < photos; p++) {
    const q = p * values;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let j = 0;
    for (; j < lightness; j++) {
      const x = lib[q + j];
      const d0 = cells[o0 + j] - x;
      const d1 = cells[o1 + j] - x;
      const d2 = cells[o2 + j] - x;
      const d3 = cells[o3 + j] - x;
      s0 += d0 * d0;
      s1 += d1 * d1;
      s2 += d2 * d2;
      s3 += d3 * d3;
    }
    sums[p] = s0;
    sums[2 * photos + p] = s1;
    sums[4 * photos + p] = s2;
    sums[6 * photos + p] = s3;
    s0 = 0;
    s1 = 0;
    s2 = 0;
    s3 = 0;
    for (; j < values; j++) {
      const x = lib[q + j];
      const d0 = cells[o0 + j] - x;
      const d1 = cells[o1 + j] - x;
      const d2 = cells[o2 + j] - x;
      const d3 = cells[o3 + j] - x;
      s0 += d0 * d0;
      s1 += d1 * d1;
      s2 += d2 * d2;
      s3 += d3 * d3;
    }
    sums[photos + p] = s0;
    sums[3 * photos + p] = s1;
    sums[5 * photos + p] = s2;
    sums[7 * photos + p] = s3;
  }
}

/**
 * squareSums in the WebAssembly kernel (squareSums4 in wasm/kernels.as.ts: the same sums to the
 * bit, in about half the time), the photos copied into its memory once. `sums` is where each
 * `run` leaves them, laid out as squareSums' `sums`.
 */
export function squareSumsKernel(lib, photos, values, photoStats, photoRest) {
  const kernels = instantiateKernels();
  const {
    at: [libAt, cellsAt, sumsAt, meansAt, varsAt, restAt, rowAt],
    end,
  } = layout([lib.length * 8, values * 32, photos * 64, photos * 8, photos * 8, photos * 8, photos * 8]);
  reserve(kernels.memory, end);
  const { buffer } = kernels.memory;
  new Float64Array(buffer, libAt, lib.length).set(lib);
  const packed = new Float64Array(buffer, cellsAt, values * 4);
  if (photoStats) {
    const means = new Float64Array(buffer, meansAt, photos);
    const vars = new Float64Array(buffer, varsAt, photos);
    for (let p = 0; p < photos; p++) {
      means[p] = photoStats[p * STATS];
      vars[p] = photoStats[p * STATS + 3];
    }
  }
  if (photoRest) new Float64Array(buffer, restAt, photos).set(photoRest);
  return {
    sums: new Float64Array(buffer, sumsAt, photos * 8),
    /** Where `costs` leaves a row. */
    row: new Float64Array(buffer, rowAt, photos),
    /**
     * Cell i of the last run's costs against every photo into `row` (coarseCosts: the build's
     * metric only), its sums first raised by the left-out frequencies' energy when `photoRest`
     * was given, as costRows does.
     */
    costs(i, rest, my, cvar, metric) {
      kernels.coarseCosts(
        sumsAt + 2 * i * photos * 8,
        sumsAt + (2 * i + 1) * photos * 8,
        photoRest ? restAt : 0,
        rest,
        meansAt,
        varsAt,
        photos,
        metric.lightness,
        my,
        cvar,
        metric.weightL,
        metric.structure,
        metric.c1,
        metric.c2,
        rowAt,
      );
    },
    run(cells, r, n, lightness) {
      // Four cells interleaved value by value; a missing cell repeats the last, as squareSums'.
      for (let i = 0; i < 4; i++) {
        const o = (r + Math.min(i, n - 1)) * values;
        for (let j = 0; j < values; j++) packed[j * 4 + i] = cells[o + j];
      }
      kernels.squareSums4(cellsAt, libAt, photos, values, lightness, sumsAt);
    },
  };
}

/** The k-th smallest (from 0) of a[0, n), reordering a (Hoare's selection). */
export function kth(a, n, k) {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

/**
 * The k cheapest photos of cell `c` that `accept` lets through (all when null), written to
 * idx/cost from `base`, cheapest first, ties to the lower photo index; returns how many.
 *
 * Pruned: the cost is at least weightL · n (ΔL mean)² + pairs · (Δa mean)² + (Δb mean)² (the
 * other terms are never negative, l · cs ≤ 1; Cauchy–Schwarz for the colour), so photos are
 * visited outward from the cell's mean lightness and the walk stops once the lightness gap alone
 * rules out the rest.
 */
export function nearest(target, c, cStats, library, index, metric, k, accept, idx, cost, base) {
  const { stats, order, sortedL } = index;
  const { values, lightness, weightL } = metric;
  const pairs = (values - lightness) / 2;
  const photos = order.length;
  const tl = cStats[c * STATS];
  const ta = cStats[c * STATS + 1];
  const tb = cStats[c * STATS + 2];
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
    const dl = tl - stats[p * STATS];
    const da = ta - stats[p * STATS + 1];
    const db = tb - stats[p * STATS + 2];
    if (n === k && nL * dl * dl + pairs * (da * da + db * db) > worst) continue;
    const s = distance(target, c, cStats, library, p, index, metric, worst);
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
 * Fills `outIdx`/`outCost` (length (to - from) * k) with the k cheapest photos of cells
 * [from, to). The result does not depend on how cells are split between threads.
 */
export function topCandidates(target, library, photos, metric, from, to, k, outIdx, outCost) {
  const { values, lightness } = metric;
  const index = libraryIndex(library, photos, values, lightness);
  const cStats = vectorStats(target, to, values, lightness);
  const idx = new Int32Array(k);
  const cost = new Float64Array(k);
  for (let c = from; c < to; c++) {
    nearest(target, c, cStats, library, index, metric, k, null, idx, cost, 0);
    outIdx.set(idx, (c - from) * k);
    for (let i = 0; i < k; i++) outCost[(c - from) * k + i] = cost[i];
  }
}
