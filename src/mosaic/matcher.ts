import { findCandidates } from './candidates.ts';
import { distance, libraryIndex, type Metric, nearest, vectorStats } from './candidates-kernel.mjs';
import { MosaicError } from './errors.ts';

export interface MatchInput {
  cols: number;
  rows: number;
  /** cols × rows cells × `values` features (see features.ts). */
  target: Float32Array;
  /** photos × `values` features, measured the same way. */
  library: Float32Array;
  photos: number;
  /** Numbers per feature vector: `lightness` L values, then (a, b) pairs. Default 48 and 16. */
  values?: number;
  lightness?: number;
  /** Most uses of one photo. Default (and minimum when every photo must fit): ceil(cells / photos). */
  maxRepeats?: number;
  /** Least distance, in cells (Euclidean, centre to centre), between two uses of one photo. */
  minDistance?: number;
  /** Weight of the squared mean lightness difference against a and b (see candidates-kernel). */
  weightL?: number;
  /** Weight of the L grid's squared differences around its mean (default weightL). */
  weightS?: number;
  /** Weight of the L grid's SSIM loss, per L value (default 0: the plain squared distance). */
  structure?: number;
  /** The L value of white (black is 0), for SSIM's constants. Default 100 (L*). */
  lightnessRange?: number;
  /** Put every photo in at least once when cells ≥ photos (default: yes, every supporter appears). */
  coverAll?: boolean;
  /** Nearest photos kept per cell for the greedy pass and the local search. */
  candidates?: number;
  workers?: number;
}

export interface MatchResult {
  /** Photo index per cell, row-major. */
  assignment: Int32Array;
  /** Uses per photo. */
  uses: Int32Array;
  maxRepeats: number;
  minDistance: number;
  /**
   * The distance between the two closest uses of one photo (Infinity without repeats). Below
   * `minDistance` only when the rules could not all be met; the cell then took the photo that
   * broke the distance least.
   */
  closestRepeat: number;
  /** Seconds per phase: candidates, greedy, coverage, spacing, local. */
  timings: Record<string, number>;
  /** Mean over cells of the feature distance. */
  meanCost: number;
}

/**
 * Repeats as far apart as a uniform spread would put them would forbid any two uses of a photo
 * within a third of that spacing: no visible clumps, and still room to put a good photo where
 * it fits. With 100×75 cells and 4 uses per photo: 14 cells.
 */
export function defaultMinDistance(cells: number, maxRepeats: number): number {
  if (maxRepeats <= 1) return 0;
  return Math.max(2, Math.round(Math.sqrt(cells / maxRepeats) / 3));
}

/**
 * Assigns a photo to every cell, minimizing the summed cost (see `distance` in
 * candidates-kernel.mjs) under the rules: each photo at most `maxRepeats` times, at least
 * `minDistance` cells from its other uses, and (when there are at least as many cells as
 * photos) every photo at least once, so every supporter is in the picture.
 *
 * A global heuristic rather than first-come order: (1) global greedy — of all cells, the one
 * whose best available photo fits best takes it first (greedy by regret did worse on the
 * synthetic grids of the tests, by 7 %); (2) every unused photo
 * replaces a surplus repeat where that costs least; (3) local search: moves and pairwise swaps
 * while they lower the total. Deterministic: ties go to the lower index.
 */
export async function matchCells(input: MatchInput): Promise<MatchResult> {
  const { cols, rows, target, library, photos } = input;
  const cells = cols * rows;
  if (photos < 1) throw new MosaicError('no-photos', 'no photos to build a mosaic from');
  const V = input.values ?? 48;
  const nL = input.lightness ?? 16;
  if (!((V - nL) % 2 === 0 && nL >= 1 && nL <= V)) throw new RangeError('bad feature layout');
  if (target.length !== cells * V || library.length !== photos * V) {
    throw new RangeError('target or library grids have the wrong length');
  }
  const needed = Math.ceil(cells / photos);
  const cap = input.maxRepeats ?? needed;
  if (!Number.isInteger(cap) || cap < needed) {
    throw new MosaicError(
      'bad-options',
      `${photos} photos used at most ${cap} times each cannot fill ${cells} cells: use fewer cells or allow ${needed} repeats`,
    );
  }
  const minDistance = input.minDistance ?? defaultMinDistance(cells, cap);
  const d2 = minDistance * minDistance;
  const wL = input.weightL ?? 1;
  const k = Math.min(photos, input.candidates ?? 48);

  const timings: Record<string, number> = {};
  let lapStart = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    timings[name] = Math.round(now - lapStart) / 1000;
    lapStart = now;
  };
  const range = input.lightnessRange ?? 100;
  const metric: Metric = {
    values: V,
    lightness: nL,
    weightL: wL,
    weightS: input.weightS ?? wL,
    structure: input.structure ?? 0,
    // SSIM's constants: (0.01 L)² and (0.03 L)² for values from 0 to L.
    c1: (0.01 * range) ** 2,
    c2: (0.03 * range) ** 2,
  };
  const cand = await findCandidates(target, library, cells, photos, metric, k, input.workers);
  const candIdx = cand.idx;
  lap('candidates');

  const index = libraryIndex(library, photos, V, nL);
  const cStats = vectorStats(target, cells, V, nL);
  const costOf = (c: number, p: number, bound = Number.POSITIVE_INFINITY): number =>
    distance(target, c, cStats, library, p, index, metric, bound);

  const assignment = new Int32Array(cells).fill(-1);
  const current = new Float64Array(cells);
  const uses = new Int32Array(photos);
  const places = new Int32Array(photos * cap).fill(-1);
  const relaxed = new Uint8Array(cells);

  const place = (p: number, c: number): void => {
    places[p * cap + (uses[p] as number)] = c;
    uses[p] = (uses[p] as number) + 1;
    assignment[c] = p;
    current[c] = costOf(c, p);
  };
  const unplace = (p: number, c: number): void => {
    const n = uses[p] as number;
    for (let i = 0; i < n; i++) {
      if (places[p * cap + i] === c) {
        places[p * cap + i] = places[p * cap + n - 1] as number;
        places[p * cap + n - 1] = -1;
        uses[p] = n - 1;
        return;
      }
    }
    throw new Error(`photo ${p} is not at cell ${c}`);
  };
  const farEnough = (p: number, c: number, except = -1): boolean => {
    if (d2 === 0) return true;
    const cx = c % cols;
    const cy = (c - cx) / cols;
    const n = uses[p] as number;
    for (let i = 0; i < n; i++) {
      const e = places[p * cap + i] as number;
      if (e === except) continue;
      const ex = e % cols;
      const dx = ex - cx;
      const dy = (e - ex) / cols - cy;
      if (dx * dx + dy * dy < d2) return false;
    }
    return true;
  };
  /** How far (squared cells) a use of p at c would fall short of the minimum distance. */
  const violation = (p: number, c: number): number => {
    const cx = c % cols;
    const cy = (c - cx) / cols;
    let worst = 0;
    for (let i = 0; i < (uses[p] as number); i++) {
      const e = places[p * cap + i] as number;
      const ex = e % cols;
      const dist2 = (ex - cx) ** 2 + ((e - ex) / cols - cy) ** 2;
      worst = Math.max(worst, d2 - dist2);
    }
    return worst;
  };
  // Larger than any cost (a cell's is at most some 10⁷).
  const VIOLATION = 1e12;
  const available = (p: number, c: number): boolean =>
    (uses[p] as number) < cap && (relaxed[c] === 1 || farEnough(p, c));

  // --- 1. global greedy ----------------------------------------------------------------
  const ptr = new Int32Array(cells);

  const refillIdx = new Int32Array(k);
  const refillCost = new Float64Array(k);

  /** Replaces a cell's exhausted list with the nearest photos still available to it. */
  const refill = (c: number): void => {
    if (
      nearest(
        target,
        c,
        cStats,
        library,
        index,
        metric,
        k,
        (p) => available(p, c),
        refillIdx,
        refillCost,
        0,
      ) > 0
    ) {
      candIdx.set(refillIdx, c * k);
      ptr[c] = 0;
      return;
    }
    // Every photo under its cap is too close: take the one that breaks the distance least.
    relaxed[c] = 1;
    const idx = new Int32Array(k).fill(-1);
    const cost = new Float64Array(k).fill(Number.POSITIVE_INFINITY);
    let n = 0;
    for (let p = 0; p < photos; p++) {
      if ((uses[p] as number) >= cap) continue;
      const s = violation(p, c) * VIOLATION + costOf(c, p);
      if (n === k && s >= (cost[k - 1] as number)) continue;
      let i = n < k ? n++ : k - 1;
      while (i > 0 && (cost[i - 1] as number) > s) {
        cost[i] = cost[i - 1] as number;
        idx[i] = idx[i - 1] as number;
        i--;
      }
      cost[i] = s;
      idx[i] = p;
    }
    // cap × photos ≥ cells guarantees a photo below its cap while a cell is empty.
    if (n === 0) throw new Error(`no photo left for cell ${c}`);
    candIdx.set(idx, c * k);
    ptr[c] = 0;
  };

  /** Best available photo of a cell, and the cell's priority: the nearer the fit, the sooner. */
  const best = (c: number): { photo: number; priority: number } => {
    for (;;) {
      while ((ptr[c] as number) < k) {
        const p = candIdx[c * k + (ptr[c] as number)] as number;
        if (p >= 0 && available(p, c)) break;
        // Uses only grow and placements only add during this phase: unavailable stays so.
        ptr[c] = (ptr[c] as number) + 1;
      }
      if ((ptr[c] as number) < k) break;
      refill(c);
    }
    const photo = candIdx[c * k + (ptr[c] as number)] as number;
    return { photo, priority: -costOf(c, photo) };
  };

  const heap = new PriorityHeap(cells);
  for (let c = 0; c < cells; c++) heap.push(best(c).priority, c);
  while (heap.size > 0) {
    const { key, cell } = heap.pop();
    const choice = best(cell);
    // Its best photo went elsewhere meanwhile: back in line at its new place.
    if (choice.priority < key && heap.size > 0 && heap.less(choice.priority, cell)) {
      heap.push(choice.priority, cell);
      continue;
    }
    place(choice.photo, cell);
  }

  lap('greedy');

  // --- 2. every photo at least once ------------------------------------------------------
  if (cells >= photos && input.coverAll !== false) {
    for (let p = 0; p < photos; p++) {
      if ((uses[p] as number) > 0) continue;
      let bestCell = -1;
      let bestDelta = Number.POSITIVE_INFINITY;
      for (let c = 0; c < cells; c++) {
        const q = assignment[c] as number;
        if ((uses[q] as number) < 2) continue;
        const cur = current[c] as number;
        const delta = costOf(c, p, cur + bestDelta) - cur;
        if (delta < bestDelta) {
          bestDelta = delta;
          bestCell = c;
        }
      }
      // Some photo is used twice while another is unused, because cells ≥ photos.
      const q = assignment[bestCell] as number;
      unplace(q, bestCell);
      place(p, bestCell);
    }
  }

  lap('coverage');

  // --- 3. cells that had to break the distance: trade them away ---------------------------
  if (d2 > 0) {
    for (let c = 0; c < cells; c++) {
      if (relaxed[c] !== 1) continue;
      const p = assignment[c] as number;
      if (farEnough(p, c, c)) continue;
      // The cheapest legal exchange: another photo under its cap, or a swap with any cell.
      let bestCell = -1;
      let bestPhoto = -1;
      let bestDelta = Number.POSITIVE_INFINITY;
      const cur = current[c] as number;
      if ((uses[p] as number) > 1) {
        for (let q = 0; q < photos; q++) {
          if (q === p || (uses[q] as number) >= cap || !farEnough(q, c)) continue;
          const delta = costOf(c, q) - cur;
          if (delta < bestDelta) [bestDelta, bestPhoto, bestCell] = [delta, q, -1];
        }
      }
      for (let c2 = 0; c2 < cells; c2++) {
        const q = assignment[c2] as number;
        if (q === p || !farEnough(p, c2, c) || !farEnough(q, c, c2)) continue;
        const delta = costOf(c, q) + costOf(c2, p) - cur - (current[c2] as number);
        if (delta < bestDelta) [bestDelta, bestPhoto, bestCell] = [delta, q, c2];
      }
      if (bestPhoto < 0) continue;
      unplace(p, c);
      if (bestCell >= 0) {
        unplace(bestPhoto, bestCell);
        place(p, bestCell);
      }
      place(bestPhoto, c);
    }
  }

  lap('spacing');

  // --- 4. local search ---------------------------------------------------------------------
  const EPS = 1e-6;
  // A polish, not the solver: bounded so a small library with many repeats (every candidate
  // sits in dozens of cells) cannot turn it into minutes.
  const localK = Math.min(k, 16);
  let budget = 4_000_000;
  for (let pass = 0; pass < 6 && budget > 0; pass++) {
    let improved = 0;
    for (let c = 0; c < cells; c++) {
      budget -= localK * (cap + 1);
      for (let i = 0; i < localK; i++) {
        const p1 = assignment[c] as number;
        const p2 = candIdx[c * k + i] as number;
        if (p2 < 0) break;
        if (p2 === p1) continue;
        const cost2 = costOf(c, p2);
        const cur = current[c] as number;
        if (cost2 >= cur - EPS) break;
        // Move: replace a surplus use of p1 by p2.
        if ((uses[p1] as number) > 1 && (uses[p2] as number) < cap && farEnough(p2, c)) {
          unplace(p1, c);
          place(p2, c);
          improved++;
          continue;
        }
        // Swap with a cell that holds p2.
        for (let j = 0; j < (uses[p2] as number); j++) {
          const c2 = places[p2 * cap + j] as number;
          const room = cur + (current[c2] as number) - cost2 - EPS;
          if (costOf(c2, p1, room) >= room) continue;
          const gain = cur + (current[c2] as number) - cost2 - costOf(c2, p1);
          if (gain <= EPS || !farEnough(p2, c, c2) || !farEnough(p1, c2, c)) continue;
          unplace(p1, c);
          unplace(p2, c2);
          place(p2, c);
          place(p1, c2);
          improved++;
          break;
        }
      }
    }
    if (improved === 0) break;
  }

  lap('local');

  let total = 0;
  for (let c = 0; c < cells; c++) total += current[c] as number;
  let closest2 = Number.POSITIVE_INFINITY;
  for (let p = 0; p < photos; p++) {
    for (let i = 0; i < (uses[p] as number); i++) {
      for (let j = i + 1; j < (uses[p] as number); j++) {
        const a = places[p * cap + i] as number;
        const b = places[p * cap + j] as number;
        closest2 = Math.min(
          closest2,
          ((a % cols) - (b % cols)) ** 2 + (Math.floor(a / cols) - Math.floor(b / cols)) ** 2,
        );
      }
    }
  }
  return {
    assignment,
    uses,
    maxRepeats: cap,
    minDistance,
    closestRepeat: Math.sqrt(closest2),
    meanCost: total / cells,
    timings,
  };
}

/** Max-heap on priority; equal priorities pop the lower cell first. */
class PriorityHeap {
  #keys: Float64Array;
  #cells: Int32Array;
  size = 0;

  constructor(capacity: number) {
    this.#keys = new Float64Array(capacity);
    this.#cells = new Int32Array(capacity);
  }

  /** True when (key, cell) ranks below the top, i.e. the top should go first. */
  less(key: number, cell: number): boolean {
    return this.#before(this.#keys[0] as number, this.#cells[0] as number, key, cell);
  }

  #before(k1: number, c1: number, k2: number, c2: number): boolean {
    return k1 > k2 || (k1 === k2 && c1 < c2);
  }

  push(key: number, cell: number): void {
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(key, cell, this.#keys[parent] as number, this.#cells[parent] as number)) break;
      this.#keys[i] = this.#keys[parent] as number;
      this.#cells[i] = this.#cells[parent] as number;
      i = parent;
    }
    this.#keys[i] = key;
    this.#cells[i] = cell;
  }

  pop(): { key: number; cell: number } {
    const top = { key: this.#keys[0] as number, cell: this.#cells[0] as number };
    const n = --this.size;
    const key = this.#keys[n] as number;
    const cell = this.#cells[n] as number;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (
        right < n &&
        this.#before(
          this.#keys[right] as number,
          this.#cells[right] as number,
          this.#keys[child] as number,
          this.#cells[child] as number,
        )
      ) {
        child = right;
      }
      if (!this.#before(this.#keys[child] as number, this.#cells[child] as number, key, cell)) break;
      this.#keys[i] = this.#keys[child] as number;
      this.#cells[i] = this.#cells[child] as number;
      i = child;
    }
    this.#keys[i] = key;
    this.#cells[i] = cell;
    return top;
  }
}
