import { costMatrix, cropCosts, findCandidates } from './candidates.ts';
import { distance, libraryIndex, type Metric, nearest, vectorStats } from './candidates-kernel.mjs';
import { MosaicError } from './errors.ts';
import { instantiateKernels, layout, reserve, roundDown32 } from './wasm/kernels.mjs';

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
  /**
   * Photos per cell whose cost the auction takes with SSIM in windows rather than over the whole
   * cell (see costRows in candidates-kernel.mjs). Default 256 (on 2,000 real photos: SSIM 0.2677,
   * ΔE00 24.3; 128: 0.2675, 24.4; 0: 0.261, 24.6); 0 for none.
   */
  refine?: number;
  /** Lowest DCT frequencies of the L grid the coarse costs compare (see costRows); 0: all. */
  coarse?: number;
  /**
   * 'auction' (the default while the cells × photos cost matrix fits in DENSE_MAX_PAIRS) or
   * 'greedy' (nearest candidates, global greedy, local search: for larger problems).
   */
  method?: 'auction' | 'greedy';
  workers?: number;
  /** Called once the costs are known, before the assignment (which runs on this thread). */
  onCosts?: () => void;
  /**
   * Crops each photo may also be shown as (auction only): `views` holds photos × `count` feature
   * vectors, photo p's crop k at p · count + k. A cell then takes a photo's best view; each photo
   * shown is shown whole at least once (see `auction`'s first places).
   */
  crops?: { views: Float32Array | Promise<Float32Array>; count: number; nearest?: number };
}

/**
 * Crops costed per cell (see cropRows in crops-kernel.mjs). On 2,000 real photos (100×75 cells,
 * 4 uses, every photo whole once), with 9 crops of 35 % each: 128 gives SSIM 0.462, 256 0.477,
 * 512 0.479 (in a third more time than 256). With 27 crops (70, 50 and 35 %) and an exact
 * search: 64 gave 0.426, 128 0.447, 256 0.462.
 */
export const CROP_NEAREST = 256;

/**
 * The auction keeps every cell's cost of every photo: 4 bytes a pair, 60 MB for 7,500 cells and
 * 2,000 photos. Past this many pairs (128 MB) the greedy, which keeps `candidates` per cell, runs.
 */
export const DENSE_MAX_PAIRS = 32_000_000;

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
  /** Seconds per phase: costs, crops, auction, fill (or candidates, greedy), coverage, spacing, local. */
  timings: Record<string, number>;
  /** Mean over cells of the feature distance. */
  meanCost: number;
  /** Per cell, what of its photo it shows: 0 the whole photo, k + 1 crop k of `crops`. */
  view: Uint8Array;
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
 * What matters is the best assignment under those rules, not each cell's favourite: a cell whose
 * favourite is taken may have a nearly as good second choice, another none. Two methods:
 *
 * - auction (see `auction`): near-optimal. On 2,000 real photos (7,500 cells) its total is
 *   0.4 % over the optimum of the problem without the spacing rule (0.1 % when it has no
 *   spacing to keep either); the greedy's is 14 % over. Needs the whole cost matrix.
 * - greedy, for problems too large for that matrix: (1) global greedy — of all cells, the one
 *   whose best available photo fits best takes it first; (2) every unused photo replaces a
 *   surplus repeat where that costs least; (3) local search: moves and pairwise swaps while they
 *   lower the total.
 *
 * A cell left without a photo that keeps every rule (a tiny grid, a huge minimum distance)
 * takes the one that breaks the distance least, and trades it away later where it can.
 * Deterministic: ties go to the lower index.
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
    coarse: input.coarse ?? 0,
  };
  const dense = (input.method ?? 'auction') === 'auction' && cells * photos <= DENSE_MAX_PAIRS;
  const whole = dense
    ? await costMatrix(target, library, cells, photos, metric, input.refine ?? 256, input.workers)
    : null;
  if (whole) lap('costs');
  const crops = whole && input.crops && input.crops.count > 0 ? input.crops : null;
  // A cell's view is a byte (0 the whole photo), and so is it in the render's keys.
  if (crops && crops.count > 254) throw new RangeError('at most 254 crops per photo');
  let reserved: Promise<AuctionReserve> | undefined;
  const cropped = crops
    ? await cropCosts(
        target,
        await crops.views,
        crops.count,
        cells,
        photos,
        metric,
        crops.nearest ?? CROP_NEAREST,
        whole as Float32Array,
        input.workers,
        () => {
          // Once the crops' workers have their share (see reserveAuction).
          reserved = new Promise((resolve) =>
            setImmediate(() => resolve(reserveAuction(cells, photos, cap, whole as Float32Array))),
          );
        },
      )
    : null;
  const matrix = cropped ? cropped.best : whole;
  if (cropped) lap('crops');
  const cand = dense ? null : await findCandidates(target, library, cells, photos, metric, k, input.workers);
  const candIdx = cand ? cand.idx : new Int32Array(0);
  if (cand) lap('candidates');
  input.onCosts?.();

  const index = libraryIndex(library, photos, V, nL);
  const cStats = vectorStats(target, cells, V, nL);
  const costOf = (c: number, p: number, bound = Number.POSITIVE_INFINITY): number =>
    matrix
      ? (matrix[c * photos + p] as number)
      : distance(target, c, cStats, library, p, index, metric, bound);

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

  let won: Int32Array = new Int32Array(0);
  const heldFirst = new Uint8Array(cells);
  if (matrix) {
    // --- 1. auction, then any cell it left out --------------------------------------------
    won = auction(
      matrix,
      cells,
      photos,
      cap,
      cols,
      d2,
      cells >= photos && input.coverAll !== false,
      cropped ? (whole as Float32Array) : undefined,
      heldFirst,
      await reserved,
    );
    for (let c = 0; c < cells; c++) if ((won[c] as number) >= 0) place(won[c] as number, c);
    lap('auction');
    for (let c = 0; c < cells; c++) {
      if ((assignment[c] as number) >= 0) continue;
      // The cheapest photo under its cap, and among those too close, the one that breaks the
      // distance least.
      let bestPhoto = -1;
      let bestScore = Number.POSITIVE_INFINITY;
      for (let p = 0; p < photos; p++) {
        if ((uses[p] as number) >= cap) continue;
        const score = violation(p, c) * VIOLATION + costOf(c, p);
        if (score < bestScore) [bestScore, bestPhoto] = [score, p];
      }
      // cap × photos ≥ cells guarantees a photo below its cap while a cell is empty.
      if (bestPhoto < 0) throw new Error(`no photo left for cell ${c}`);
      if (!farEnough(bestPhoto, c)) relaxed[c] = 1;
      place(bestPhoto, c);
    }
    lap('fill');
  } else {
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
  }

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

  // --- 4. local search (after the greedy; the auction leaves nothing it would find) ---------
  const EPS = 1e-6;
  // A polish, not the solver: bounded so a small library with many repeats (every candidate
  // sits in dozens of cells) cannot turn it into minutes.
  const localK = Math.min(k, 16);
  let budget = matrix ? 0 : 4_000_000;
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

  const view = new Uint8Array(cells);
  if (cropped && whole) showWholeOnce(cropped.viewOf, whole, matrix as Float32Array);

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
    view,
  };

  /**
   * Each cell's view of its photo: the whole photo where the photo holds its first place in
   * the auction (and every photo shown is shown whole somewhere: where that costs least, if
   * the later steps moved it), elsewhere its best view there.
   */
  function showWholeOnce(viewOf: Uint8Array, wholeCost: Float32Array, best: Float32Array): void {
    const shownWhole = new Uint8Array(photos);
    for (let c = 0; c < cells; c++) {
      const p = assignment[c] as number;
      if (p < 0) continue;
      view[c] = heldFirst[c] === 1 && won[c] === p ? 0 : (viewOf[c * photos + p] as number);
      if (view[c] === 0) shownWhole[p] = 1;
    }
    for (let p = 0; p < photos; p++) {
      if (shownWhole[p] === 1 || (uses[p] as number) === 0) continue;
      let at = -1;
      let extra = Number.POSITIVE_INFINITY;
      for (let i = 0; i < (uses[p] as number); i++) {
        const c = places[p * cap + i] as number;
        const e = (wholeCost[c * photos + p] as number) - (best[c * photos + p] as number);
        if (e < extra) [extra, at] = [e, c];
      }
      view[at] = 0;
    }
    for (let c = 0; c < cells; c++) {
      const p = assignment[c] as number;
      if (p >= 0 && view[c] === 0) current[c] = wholeCost[c * photos + p] as number;
    }
  }
}

/**
 * The auction's ε, as a part of the cost range. On 2,000 real photos with whole photos only,
 * 1/256 gave SSIM 0.2675 in 170,000 bids, 1/128 0.266 in 100,000, 1/512 0.268 in 300,000. With
 * crops (the default build, 100×75 cells): 1/256 0.4743 in 1.2–1.3 s of auction, 1/128 0.4713 in
 * 0.8–1.1 s, 1/64 0.4706 in 0.64–0.69 s: a hundredth of the likeness for half the auction, a
 * tenth of the build. Rounds with a falling ε (ε-scaling) took more bids in all there, not
 * fewer: each new round sent most cells bidding again.
 */
export const AUCTION_EPS = 1 / 64;
/** Bids allowed per bidder; past them, the cells still bidding are left to the fill. */
export const AUCTION_BIDS_PER_BIDDER = 50;

/**
 * Cells bid for photos (Bertsekas's auction algorithm): each photo has `cap` places with a
 * price each; a cell without a photo takes the place that leaves it the most (−cost − price),
 * and raises that place's price by how much more than its second choice it values it, plus ε.
 * The cell that held the place looks again. With every cell placed, each holds within ε of its
 * best choice at the final prices, and the total is within cells × ε of the optimum.
 *
 * The rules in the bidding:
 * - repeat cap: the places;
 * - every photo once: the problem is made square with photos × cap − cells "nobody" bidders that
 *   may take any place but a photo's first, so that one goes to a cell;
 * - spacing: a cell may take a place of photo p only if every other cell holding p is far
 *   enough; with one holder too close, only that holder's place (it bids against it), with two,
 *   none. Photos' uses are thus always far apart, at a small cost to the optimality above (see
 *   matchCells).
 *
 * Returns the photo of each cell, -1 for any cell the spacing left without a choice or the bid
 * budget without a place. Deterministic.
 */
export function auction(
  cost: Float32Array,
  cells: number,
  photos: number,
  cap: number,
  cols: number,
  d2: number,
  cover: boolean,
  firstCost?: Float32Array,
  holdsFirst?: Uint8Array,
  reserved?: AuctionReserve,
): Int32Array {
  const places = photos * cap;
  const bidders = places; // cells, then nobodies
  // A cell's choice runs in the WebAssembly kernel (chooseCell in kernels.as.ts): the costs and
  // everything the auction keeps that a choice reads live in its memory, the prices also in
  // f32, rounded down, for its scan.
  const state = auctionMemory(cost, firstCost, photos, cap, cols, cells, d2, reserved);
  const { price, owner, low1, low2, lowPlace, firstPrice, restPrice } = state;
  const holds = new Int32Array(bidders).fill(-1);
  const reprice = (p: number): void => {
    let a = Number.POSITIVE_INFINITY;
    let b = Number.POSITIVE_INFINITY;
    let at = -1;
    for (let s = p * cap; s < p * cap + cap; s++) {
      const v = price[s] as number;
      if (v < a) [b, a, at] = [a, v, s];
      else if (v < b) b = v;
    }
    low1[p] = a;
    state.low32[p] = roundDown32(a);
    low2[p] = b;
    lowPlace[p] = at;
    if (firstCost) {
      firstPrice[p] = price[p * cap] as number;
      state.first32[p] = roundDown32(price[p * cap] as number);
      let rest = Number.POSITIVE_INFINITY;
      for (let s = p * cap + 1; s < p * cap + cap; s++) rest = Math.min(rest, price[s] as number);
      restPrice[p] = rest;
      state.rest32[p] = roundDown32(rest);
    }
  };
  for (let p = 0; p < photos; p++) reprice(p);
  // Nobodies pick among the places open to them by price alone.
  const open = new MinHeap(places, price, (s) => !cover || s % cap !== 0);

  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < cost.length; i++) {
    const v = cost[i] as number;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const range = Math.max(hi - lo, 1e-9);

  // The best and second-best choice of a bidder (values −cost − price), and the best place.
  let best = 0;
  let second = 0;
  let bestPlace = -1;
  const choose = (i: number): void => {
    if (i >= cells) {
      const s = open.top();
      best = -(price[s] as number);
      second = -open.second();
      bestPlace = s;
      return;
    }
    bestPlace = state.kernels.chooseCell(i);
    best = state.kernels.chosenBest();
    second = state.kernels.chosenSecond();
  };
  const queue = new Int32Array(bidders + 1);
  let head = 0;
  let tail = 0;
  const push = (i: number): void => {
    queue[tail] = i;
    tail = tail === bidders ? 0 : tail + 1;
  };
  for (let i = 0; i < bidders; i++) push(i);
  const eps = range * AUCTION_EPS;
  for (let budget = AUCTION_BIDS_PER_BIDDER * bidders; head !== tail && budget > 0; budget--) {
    const i = queue[head] as number;
    head = head === bidders ? 0 : head + 1;
    choose(i);
    // Nothing this cell may take: the fill places it.
    if (bestPlace < 0) continue;
    const s = bestPlace;
    price[s] = (price[s] as number) + (second === Number.NEGATIVE_INFINITY ? 0 : best - second) + eps;
    const previous = owner[s] as number;
    owner[s] = i;
    holds[i] = s;
    if (previous >= 0) {
      holds[previous] = -1;
      push(previous);
    }
    reprice(Math.floor(s / cap));
    open.update(s);
  }
  const won = new Int32Array(cells).fill(-1);
  for (let i = 0; i < cells; i++) {
    const s = holds[i] as number;
    if (s >= 0) won[i] = Math.floor(s / cap);
    if (holdsFirst) holdsFirst[i] = s >= 0 && s % cap === 0 ? 1 : 0;
  }
  return won;
}

/**
 * The auction's arrays that a cell's choice reads, in the memory of a WebAssembly kernel whose
 * chooseCell makes it (see kernels.as.ts): the costs (copied once), prices, owners, each photo's
 * lowest prices (also in f32, rounded down: see roundDown32) and each cell's hint.
 */
/**
 * The auction's memory (see auctionMemory), grown and every page of it touched, with the whole
 * photos' costs copied in when there are crops: made while the crops are searched on the worker
 * threads, the main thread waiting for them anyway, it spares the auction the page faults and
 * copy of 120 MB (at 7,500 cells × 2,000 photos, 0.2 s of it).
 */
export interface AuctionReserve {
  kernels: ReturnType<typeof instantiateKernels>;
  at: Map<string, number>;
  end: number;
  /** The costs already in its 'first' block. */
  firstCost: Float32Array | undefined;
}

export function reserveAuction(
  cells: number,
  photos: number,
  cap: number,
  firstCost: Float32Array | undefined,
  touch = true,
): AuctionReserve {
  const kernels = instantiateKernels();
  const places = photos * cap;
  // [name, element bytes, count]: f64 and f32 arrays, then i32.
  const blocks = [
    ['cost', 4, cells * photos],
    ['first', 4, firstCost ? cells * photos : 0],
    ['price', 8, places],
    ['low1', 8, photos],
    ['low2', 8, photos],
    ['restPrice', 8, photos],
    ['firstPrice', 8, photos],
    ['low32', 4, photos],
    ['rest32', 4, photos],
    ['first32', 4, photos],
    ['owner', 4, places],
    ['lowPlace', 4, photos],
    ['hint', 4, cells],
  ] as const;
  const placed = layout(blocks.map(([, size, count]) => size * count));
  const at = new Map<string, number>(blocks.map(([name], i) => [name, placed.at[i] as number]));
  reserve(kernels.memory, placed.end);
  const costAt = at.get('cost') as number;
  if (touch) new Uint8Array(kernels.memory.buffer, costAt, placed.end - costAt).fill(0);
  if (firstCost) new Float32Array(kernels.memory.buffer, at.get('first'), firstCost.length).set(firstCost);
  return { kernels, at, end: placed.end, firstCost };
}

function auctionMemory(
  cost: Float32Array,
  firstCost: Float32Array | undefined,
  photos: number,
  cap: number,
  cols: number,
  cells: number,
  d2: number,
  reserved?: AuctionReserve,
) {
  const ready = reserved?.firstCost === firstCost ? reserved : undefined;
  const { kernels, at } = ready ?? reserveAuction(cells, photos, cap, firstCost, false);
  const places = photos * cap;
  const { buffer } = kernels.memory;
  const start = (name: string) => at.get(name) as number;
  const f64 = (name: string, count: number) => new Float64Array(buffer, start(name), count);
  const f32 = (name: string, count: number) => new Float32Array(buffer, start(name), count);
  const i32 = (name: string, count: number) => new Int32Array(buffer, start(name), count);
  f32('cost', cost.length).set(cost);
  const owner = i32('owner', places).fill(-1);
  i32('hint', cells).fill(-1);
  kernels.auctionState(
    photos,
    cap,
    cols,
    cells,
    d2,
    start('cost'),
    firstCost ? start('first') : 0,
    start('low1'),
    start('low2'),
    start('lowPlace'),
    start('owner'),
    start('price'),
    start('restPrice'),
    start('firstPrice'),
    start('low32'),
    start('rest32'),
    start('first32'),
    start('hint'),
  );
  return {
    kernels,
    price: f64('price', places),
    owner,
    low1: f64('low1', photos),
    low2: f64('low2', photos),
    lowPlace: i32('lowPlace', photos),
    restPrice: f64('restPrice', photos),
    firstPrice: f64('firstPrice', photos),
    low32: f32('low32', photos),
    rest32: f32('rest32', photos),
    first32: f32('first32', photos),
  };
}

/** Min-heap of the indices that `member` admits, keyed by `key[index]`; ties to the lower index. */
export class MinHeap {
  #heap: Int32Array;
  #at: Int32Array;
  #key: Float64Array;
  size = 0;

  constructor(n: number, key: Float64Array, member: (i: number) => boolean) {
    this.#heap = new Int32Array(n);
    this.#at = new Int32Array(n).fill(-1);
    this.#key = key;
    for (let i = 0; i < n; i++) {
      if (!member(i)) continue;
      this.#heap[this.size] = i;
      this.#at[i] = this.size++;
    }
    for (let j = (this.size >> 1) - 1; j >= 0; j--) this.#down(j);
  }

  top(): number {
    return this.#heap[0] as number;
  }

  /** The second-lowest key (+∞ with fewer than two members). */
  second(): number {
    let v = Number.POSITIVE_INFINITY;
    if (this.size > 1) v = this.#key[this.#heap[1] as number] as number;
    if (this.size > 2) v = Math.min(v, this.#key[this.#heap[2] as number] as number);
    return v;
  }

  /** Restores the order after key[i] changed (only ever up, in the auction). */
  update(i: number): void {
    const j = this.#at[i] as number;
    if (j < 0) return;
    this.#up(j);
    this.#down(this.#at[i] as number);
  }

  #less(a: number, b: number): boolean {
    const ka = this.#key[a] as number;
    const kb = this.#key[b] as number;
    return ka < kb || (ka === kb && a < b);
  }

  #swap(j: number, k: number): void {
    const a = this.#heap[j] as number;
    const b = this.#heap[k] as number;
    this.#heap[j] = b;
    this.#heap[k] = a;
    this.#at[b] = j;
    this.#at[a] = k;
  }

  #up(j: number): void {
    while (j > 0) {
      const parent = (j - 1) >> 1;
      if (!this.#less(this.#heap[j] as number, this.#heap[parent] as number)) return;
      this.#swap(j, parent);
      j = parent;
    }
  }

  #down(j: number): void {
    for (;;) {
      const l = 2 * j + 1;
      if (l >= this.size) return;
      let m = l;
      if (l + 1 < this.size && this.#less(this.#heap[l + 1] as number, this.#heap[l] as number)) m = l + 1;
      if (!this.#less(this.#heap[m] as number, this.#heap[j] as number)) return;
      this.#swap(j, m);
      j = m;
    }
  }
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
