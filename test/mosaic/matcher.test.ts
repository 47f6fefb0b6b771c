import { describe, expect, it } from 'vitest';
import { labGrid } from '../../src/media/features.ts';
import { costMatrix, findCandidates } from '../../src/mosaic/candidates.ts';
import {
  distance,
  fineDistance,
  libraryIndex,
  type Metric,
  vectorStats,
} from '../../src/mosaic/candidates-kernel.mjs';
import { FEATURE_VALUES, LUMA_RANGE, LUMA_VALUES, regionFeatures } from '../../src/mosaic/features.ts';
import { auction, defaultMinDistance, matchCells, reserveAuction } from '../../src/mosaic/matcher.ts';
import { referenceAuction } from './auction-reference.ts';

/** The plain squared distance over the synthetic layout below. */
const plain: Metric = { values: 48, lightness: 16, weightL: 1, weightS: 1, structure: 0, c1: 1, c2: 9 };
/** SSIM loss on the L grid, mean lightness and colour, as the build weighs them. */
const ssimMetric: Metric = { ...plain, weightL: 10, weightS: 0, structure: 3000 };

/** The cost of vector b (as photo) in vector a (as cell), each alone in its array. */
function cost(a: Float32Array, b: Float32Array, metric: Metric): number {
  const { values, lightness } = metric;
  return distance(
    a,
    0,
    vectorStats(a, 1, values, lightness),
    b,
    0,
    libraryIndex(b, 1, values, lightness),
    metric,
    Number.POSITIVE_INFINITY,
  );
}

/**
 * Deterministic pseudo-random feature vectors in the matcher's planar layout (16 L values, then
 * 16 (a, b) pairs): smooth targets, varied photos.
 */
function synthetic(cols: number, rows: number, photos: number, seed = 1) {
  let s = seed;
  const r = () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return s / 2 ** 32;
  };
  const library = new Float32Array(photos * 48);
  for (let p = 0; p < photos; p++) {
    const [l, a, b] = [r() * 100, (r() - 0.5) * 80, (r() - 0.5) * 80];
    for (let j = 0; j < 16; j++) {
      library[p * 48 + j] = l + (r() - 0.5) * 20;
      library[p * 48 + 16 + j * 2] = a + (r() - 0.5) * 10;
      library[p * 48 + 16 + j * 2 + 1] = b + (r() - 0.5) * 10;
    }
  }
  const target = new Float32Array(cols * rows * 48);
  for (let c = 0; c < cols * rows; c++) {
    const x = (c % cols) / cols;
    const y = Math.floor(c / cols) / rows;
    for (let j = 0; j < 16; j++) {
      target[c * 48 + j] = 20 + 60 * x;
      target[c * 48 + 16 + j * 2] = 40 * y - 20;
      target[c * 48 + 16 + j * 2 + 1] = 30 - 50 * x * y;
    }
  }
  return { cols, rows, library, target, photos };
}

function checkRules(m: Awaited<ReturnType<typeof matchCells>>, cols: number, photos: number) {
  const cells = m.assignment.length;
  const where = new Map<number, number[]>();
  m.assignment.forEach((p, c) => {
    where.set(p, [...(where.get(p) ?? []), c]);
  });
  if (cells >= photos) expect(where.size).toBe(photos);
  for (const list of where.values()) {
    expect(list.length).toBeLessThanOrEqual(m.maxRepeats);
    for (const a of list) {
      for (const b of list) {
        if (a < b) {
          expect(
            Math.hypot((a % cols) - (b % cols), Math.floor(a / cols) - Math.floor(b / cols)),
          ).toBeGreaterThanOrEqual(m.minDistance);
        }
      }
    }
  }
}

describe('matcher', () => {
  for (const method of ['auction', 'greedy'] as const) {
    it(`${method}: fills the grid showing every photo at least once, at most ceil(cells / photos) times, repeats far apart`, async () => {
      for (const structure of [0, 3000]) {
        const input = synthetic(60, 45, 700);
        const m = await matchCells({ ...input, method, structure, weightS: structure ? 0 : undefined });
        expect(m.maxRepeats).toBe(4);
        expect(m.minDistance).toBe(defaultMinDistance(2700, 4));
        checkRules(m, 60, 700);
        expect(m.closestRepeat).toBeGreaterThanOrEqual(m.minDistance);
      }
    });
  }

  it('keeps the rules where the spacing leaves some cells no photo that keeps it', async () => {
    // 12 cells, 3 photos, 4 uses each: every cell is within 5 of every other, so each photo
    // can be used once far enough from its other uses, and 9 cells must break the distance.
    const input = synthetic(4, 3, 3, 5);
    const m = await matchCells({ ...input, minDistance: 5 });
    expect(new Set(m.assignment).size).toBe(3);
    expect(Math.max(...m.uses)).toBeLessThanOrEqual(4);
    expect(m.closestRepeat).toBeLessThan(5);
  });

  it('finds the same candidates and costs on worker threads as on one thread', async () => {
    const { target, library } = synthetic(50, 40, 2000, 3);
    const threaded = await findCandidates(target, library, 2000, 2000, plain, 16, 2);
    const single = await findCandidates(target, library, 2000, 2000, plain, 16, 1);
    expect(Buffer.from(threaded.idx.buffer).equals(Buffer.from(single.idx.buffer))).toBe(true);
    // And they are the true nearest: brute force for a few cells.
    for (const c of [0, 777, 1999]) {
      const costs = Array.from({ length: 2000 }, (_, p) => {
        let s = 0;
        for (let j = 0; j < 48; j++)
          s += ((target[c * 48 + j] as number) - (library[p * 48 + j] as number)) ** 2;
        return [s, p] as const;
      }).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      expect([...single.idx.subarray(c * 16, c * 16 + 16)]).toEqual(costs.slice(0, 16).map((x) => x[1]));
    }
    // The whole matrix, under the SSIM metric: the same split or not; each cell's 64 cheapest
    // photos by `distance` at `fineDistance`, the others at `distance` plus one shift per cell.
    const rows = await costMatrix(target, library, 2000, 2000, ssimMetric, 64, 2);
    const alone = await costMatrix(target, library, 2000, 2000, ssimMetric, 64, 1);
    expect(Buffer.from(rows.buffer).equals(Buffer.from(alone.buffer))).toBe(true);
    const cStats = vectorStats(target, 2000, 48, 16);
    const index = libraryIndex(library, 2000, 48, 16);
    for (const c of [0, 999, 1999]) {
      const coarse = Array.from({ length: 2000 }, (_, p) =>
        distance(target, c, cStats, library, p, index, ssimMetric, Number.POSITIVE_INFINITY),
      );
      // The 64th cheapest, and every photo tied with it, are fine.
      const limit = [...coarse].sort((a, b) => a - b)[63] as number;
      const shifts: number[] = [];
      coarse.forEach((cost, p) => {
        const got = rows[c * 2000 + p] as number;
        if (cost <= limit)
          expect(got).toBe(Math.fround(fineDistance(target, c, cStats, library, p, index, ssimMetric)));
        else shifts.push(got - cost);
      });
      const top = Math.max(...coarse);
      expect(Math.max(...shifts) - Math.min(...shifts)).toBeLessThan(top * 1e-6);
    }
  });

  it('ranks photos on the low frequencies of the L grid when asked, exactly where that is all they have', async () => {
    // L grids made of the 4×4 DCT's three lowest frequencies only (flat, one cosine across, one
    // down): keeping 3 loses nothing, and the matrix is the one every value gives.
    const { target, library } = synthetic(40, 30, 300, 11);
    const wave = (k: number) => Math.cos(((2 * k + 1) * Math.PI) / 8);
    let s = 7;
    const r = () => {
      s = (s * 1103515245 + 12345) >>> 0;
      return s / 2 ** 32;
    };
    for (const vectors of [target, library]) {
      for (let v = 0; v < vectors.length / 48; v++) {
        const [m, across, down] = [10 + r() * 80, (r() - 0.5) * 30, (r() - 0.5) * 30];
        for (let j = 0; j < 16; j++) vectors[v * 48 + j] = m + across * wave(j % 4) + down * wave(j >> 2);
      }
    }
    const exact = await costMatrix(target, library, 1200, 300, ssimMetric, 32, 1);
    const low = await costMatrix(target, library, 1200, 300, { ...ssimMetric, coarse: 3 }, 32, 1);
    let worst = 0;
    for (let i = 0; i < exact.length; i++) {
      worst = Math.max(worst, Math.abs((low[i] as number) - (exact[i] as number)) / (exact[i] as number));
    }
    expect(worst).toBeLessThan(1e-5);
    // With detail the kept frequencies miss, the ranking is close, not equal, and the match
    // still keeps every rule at nearly the same total.
    const detailed = synthetic(40, 30, 300, 12);
    for (let c = 0; c < 1200; c++)
      for (let j = 0; j < 16; j++)
        detailed.target[c * 48 + j] = (detailed.target[c * 48 + j] as number) + (r() - 0.5) * 30;
    const full = await matchCells({ ...detailed, minDistance: 3 });
    const coarse = await matchCells({ ...detailed, minDistance: 3, coarse: 3 });
    checkRules(coarse, 40, 300);
    const cStats = vectorStats(detailed.target, 1200, 48, 16);
    const index = libraryIndex(detailed.library, 300, 48, 16);
    const total = (assignment: Int32Array) =>
      assignment.reduce(
        (sum, p, c) =>
          sum +
          distance(detailed.target, c, cStats, detailed.library, p, index, plain, Number.POSITIVE_INFINITY),
        0,
      );
    expect(total(coarse.assignment)).not.toBe(total(full.assignment));
    expect(total(coarse.assignment)).toBeLessThan(total(full.assignment) * 1.02);
  });

  it('beats first-come assignment and the greedy, and refuses a repeat limit that cannot fill the grid', async () => {
    const input = synthetic(30, 20, 150, 7);
    const m = await matchCells({ ...input, minDistance: 0 });
    checkRules(m, 30, 150);
    const greedy = await matchCells({ ...input, minDistance: 0, method: 'greedy' });
    expect(m.meanCost).toBeLessThan(greedy.meanCost);
    // First-come under the same cap and coverage: each cell in reading order takes its nearest
    // photo under the cap, or its nearest unused photo once only as many cells as unused photos remain.
    const uses = new Int32Array(150);
    let unused = 150;
    let firstCome = 0;
    for (let c = 0; c < 600; c++) {
      const mustCover = 600 - c <= unused;
      let best = -1;
      let bestCost = Number.POSITIVE_INFINITY;
      for (let p = 0; p < 150; p++) {
        if ((uses[p] as number) >= m.maxRepeats || (mustCover && (uses[p] as number) > 0)) continue;
        let s = 0;
        for (let j = 0; j < 48; j++)
          s += ((input.target[c * 48 + j] as number) - (input.library[p * 48 + j] as number)) ** 2;
        if (s < bestCost) [best, bestCost] = [p, s];
      }
      if (uses[best] === 0) unused--;
      uses[best] = (uses[best] as number) + 1;
      firstCome += bestCost;
    }
    expect(m.meanCost).toBeLessThan((firstCome / 600) * 0.95);
    await expect(matchCells({ ...input, maxRepeats: 3 })).rejects.toThrow(/cannot fill 600 cells/);
  });
});

/** SSIM's Gaussian windows (σ 1.5, radius 5) cut to a side×side grid, 3×3 of them: mean l · cs. */
function windowedSsim(x: ArrayLike<number>, y: ArrayLike<number>, side: number, c1: number, c2: number) {
  const axis = (centre: number) => {
    const w = Array.from({ length: side }, (_, j) =>
      Math.abs(j - centre) <= 5 ? Math.exp(-((j - centre) ** 2) / (2 * 1.5 ** 2)) : 0,
    );
    const sum = w.reduce((a, b) => a + b, 0);
    return w.map((v) => v / sum);
  };
  const centres = [0, 1, 2].map((k) => ((k + 0.5) * side) / 3 - 0.5);
  let total = 0;
  for (const a of centres) {
    for (const b of centres) {
      const [wr, wc] = [axis(a), axis(b)];
      let [mx, my, xx, yy, xy] = [0, 0, 0, 0, 0];
      for (let r = 0; r < side; r++) {
        for (let c = 0; c < side; c++) {
          const w = (wr[r] as number) * (wc[c] as number);
          const [xv, yv] = [x[r * side + c] as number, y[r * side + c] as number];
          [mx, my, xx, yy, xy] = [
            mx + w * xv,
            my + w * yv,
            xx + w * xv * xv,
            yy + w * yv * yv,
            xy + w * xv * yv,
          ];
        }
      }
      const [vx, vy, cov] = [xx - mx * mx, yy - my * my, xy - mx * my];
      total += ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
    }
  }
  return total / 9;
}

/** fineDistance as its doc says (weightS 0), from windowedSsim. */
function fineReference(cell: Float32Array, photo: Float32Array, metric: Metric): number {
  const { values, lightness: n, weightL, structure, c1, c2 } = metric;
  const mean = (v: Float32Array) => v.subarray(0, n).reduce((a, b) => a + b, 0) / n;
  let colour = 0;
  for (let j = n; j < values; j++) colour += ((cell[j] as number) - (photo[j] as number)) ** 2;
  const ssim = windowedSsim(photo, cell, Math.sqrt(n), c1, c2);
  return weightL * n * (mean(cell) - mean(photo)) ** 2 + structure * n * (1 - ssim) + colour;
}

describe('cell features', () => {
  const raster = (w: number, h: number, f: (x: number, y: number) => number) => {
    const data = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) data.fill(f(x / w, y / h), (y * w + x) * 3, (y * w + x + 1) * 3);
    return { data, width: w, height: h };
  };
  const stripes = (x: number) => (Math.floor(x * 8) % 2 === 0 ? 0 : 255);
  const features = (img: { data: Buffer; width: number; height: number }) => {
    const out = new Float32Array(FEATURE_VALUES);
    regionFeatures(img.data, img.width, 0, 0, img.width, img.height, out, 0);
    return out;
  };
  const layout = { values: FEATURE_VALUES, lightness: LUMA_VALUES };
  const squared: Metric = { ...plain, ...layout };
  const withSsim: Metric = {
    ...ssimMetric,
    ...layout,
    c1: (0.01 * LUMA_RANGE) ** 2,
    c2: (0.03 * LUMA_RANGE) ** 2,
  };

  it('tell a striped cell from a grey one that the stored 4×4 Lab grid finds equal', () => {
    const striped = raster(80, 80, stripes);
    const grey = raster(80, 80, () => 119);
    // The media pipeline's grid: each of its 16 sub-cells holds one black and one white stripe.
    const oldStriped = labGrid({ ...striped, channels: 3 });
    const oldGrey = labGrid({ ...grey, channels: 3 });
    for (let i = 0; i < 48; i++)
      expect(Math.abs((oldStriped[i] as number) - (oldGrey[i] as number))).toBeLessThan(1.5);
    for (const metric of [squared, withSsim]) {
      const dist = (a: Float32Array, b: Float32Array) => cost(a, b, metric);
      // A striped target cell (at another resolution) is nearest the striped photo.
      const cell = features(raster(40, 40, stripes));
      expect(dist(cell, features(striped))).toBeLessThan(dist(cell, features(grey)) / 4);
      // And a flat cell is nearest the grey photo.
      const flat = features(raster(40, 40, () => 119));
      expect(dist(flat, features(grey))).toBeLessThan(dist(flat, features(striped)) / 4);
    }
  });

  it('fine cost: SSIM in windows, on the 10×10 grid and on a smaller one', () => {
    const fine = (cell: Float32Array, photo: Float32Array, metric: Metric) =>
      fineDistance(
        cell,
        0,
        vectorStats(cell, 1, metric.values, metric.lightness),
        photo,
        0,
        libraryIndex(photo, 1, metric.values, metric.lightness),
        metric,
      );
    const ramp = features(raster(80, 80, (x, y) => 128 + 100 * (x + y - 1)));
    const stripes8 = features(raster(80, 80, stripes));
    const dots = features(raster(80, 80, (x, y) => (Math.hypot(x - 0.3, y - 0.6) < 0.2 ? 230 : 40)));
    for (const [cell, photo] of [
      [ramp, stripes8],
      [dots, ramp],
      [stripes8, dots],
    ] as const) {
      const want = fineReference(cell, photo, withSsim);
      expect(Math.abs(fine(cell, photo, withSsim) - want)).toBeLessThan(want * 1e-9);
    }
    const { library } = synthetic(1, 1, 10, 11);
    const four = { ...ssimMetric, c1: 1, c2: 9 };
    for (const [a, b] of [
      [0, 1],
      [2, 3],
    ] as const) {
      const cell = library.slice(a * 48, a * 48 + 48);
      const photo = library.slice(b * 48, b * 48 + 48);
      const want = fineReference(cell, photo, four);
      expect(Math.abs(fine(cell, photo, four) - want)).toBeLessThan(want * 1e-9);
    }
  });

  it('with the SSIM term, give a busy cell the photo whose pattern partly follows it, not the flat one the squared distance prefers', () => {
    // Cell: a diagonal ramp; photo A: flat at its mean; photo B: a pattern of the same
    // contrast (a checkerboard of one square per luma value, as much variance as the ramp) that
    // follows the ramp by 40 %. Squared distance: B's is 1.2× A's. SSIM: A's contrast-structure
    // term is ~0.03, B's ~0.4.
    const ramp = (x: number, y: number) => 128 + 100 * (x + y - 1);
    const checker = (x: number, y: number) =>
      128 + Math.sqrt(1650) * (Math.floor(x * 10) % 2 === Math.floor(y * 10) % 2 ? 1 : -1);
    const mix = (x: number, y: number) =>
      128 + 0.4 * (ramp(x, y) - 128) + Math.sqrt(1 - 0.4 ** 2) * (checker(x, y) - 128);
    const cell = features(raster(80, 80, ramp));
    const flatPhoto = features(raster(80, 80, () => 128));
    const patterned = features(raster(80, 80, mix));
    expect(cost(cell, patterned, squared)).toBeGreaterThan(cost(cell, flatPhoto, squared));
    expect(cost(cell, patterned, withSsim)).toBeLessThan(cost(cell, flatPhoto, withSsim));
  });
});

describe('the auction in the WebAssembly kernel', () => {
  it('assigns every cell as the JavaScript auction did, with spacing, first places and cover', () => {
    let seed = 3;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let compared = 0;
    for (const [cols, rows, photos, cap, d2, withFirst] of [
      [12, 10, 40, 3, 9, true],
      [12, 10, 40, 3, 0, true],
      [10, 9, 30, 4, 4, false],
      [9, 8, 72, 1, 0, false],
      [15, 8, 35, 4, 16, true],
    ] as const) {
      const cells = cols * rows;
      // Costs with ties (rounded) and a spread like the real ones'.
      const cost = Float32Array.from({ length: cells * photos }, () => Math.round(random() * 400) / 4);
      const first = withFirst ? cost.map((c) => c + Math.round(random() * 40) / 4) : undefined;
      for (const cover of [true, false]) {
        const heldKernel = new Uint8Array(cells);
        const heldReference = new Uint8Array(cells);
        const kernel = auction(cost, cells, photos, cap, cols, d2, cover, first, heldKernel);
        const reference = referenceAuction(cost, cells, photos, cap, cols, d2, cover, first, heldReference);
        expect([...kernel], `${cols}×${rows}, ${photos} photos, cover ${cover}`).toEqual([...reference]);
        expect([...heldKernel]).toEqual([...heldReference]);
        // The same in memory reserved ahead (as while the crops are searched).
        const heldReserved = new Uint8Array(cells);
        const reserved = reserveAuction(cells, photos, cap, first);
        const early = auction(cost, cells, photos, cap, cols, d2, cover, first, heldReserved, reserved);
        expect([...early], 'in reserved memory').toEqual([...reference]);
        expect([...heldReserved]).toEqual([...heldReference]);
        compared += cells;
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });
});
