// The matcher's hot loop: for each cell, the K photos whose 4×4 Lab grid is nearest.
// Plain JavaScript so the same code runs on the main thread and in worker threads under
// node, tsx and vitest alike (a .ts worker would need a loader in each of them).

const VALUES = 48;

/**
 * Fills `outIdx`/`outCost` (length (to - from) * k) with the k nearest photos of cells
 * [from, to), nearest first; ties keep the lower photo index first, so the result does not
 * depend on how cells are split between threads.
 * @param {Float32Array} target cells × 48
 * @param {Float32Array} library photos × 48
 * @param {number} photos
 * @param {number} from
 * @param {number} to
 * @param {number} k
 * @param {number} weightL
 * @param {Int32Array} outIdx
 * @param {Float32Array} outCost
 */
export function topCandidates(target, library, photos, from, to, k, weightL, outIdx, outCost) {
  const t = new Float64Array(VALUES);
  const idx = new Int32Array(k);
  const cost = new Float64Array(k);
  for (let c = from; c < to; c++) {
    for (let j = 0; j < VALUES; j++) t[j] = target[c * VALUES + j];
    let n = 0;
    let worst = Number.POSITIVE_INFINITY;
    for (let p = 0; p < photos; p++) {
      const o = p * VALUES;
      let s = 0;
      for (let j = 0; j < VALUES; j += 3) {
        const dl = t[j] - library[o + j];
        const da = t[j + 1] - library[o + j + 1];
        const db = t[j + 2] - library[o + j + 2];
        s += weightL * dl * dl + da * da + db * db;
        // Most photos are far from most cells: stop as soon as this one cannot make the list.
        if (s >= worst) break;
      }
      if (s >= worst) continue;
      let i = n < k ? n++ : k - 1;
      while (i > 0 && cost[i - 1] > s) {
        cost[i] = cost[i - 1];
        idx[i] = idx[i - 1];
        i--;
      }
      cost[i] = s;
      idx[i] = p;
      if (n === k) worst = cost[k - 1];
    }
    const base = (c - from) * k;
    for (let i = 0; i < k; i++) {
      outIdx[base + i] = i < n ? idx[i] : -1;
      outCost[base + i] = i < n ? cost[i] : Number.POSITIVE_INFINITY;
    }
  }
}
