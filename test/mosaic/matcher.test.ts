import { describe, expect, it } from 'vitest';
import { labGrid } from '../../src/media/features.ts';
import { findCandidates } from '../../src/mosaic/candidates.ts';
import { distance } from '../../src/mosaic/candidates-kernel.mjs';
import { FEATURE_VALUES, LUMA_VALUES, regionFeatures } from '../../src/mosaic/features.ts';
import { defaultMinDistance, matchCells } from '../../src/mosaic/matcher.ts';

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
  it('fills the grid showing every photo at least once, at most ceil(cells / photos) times, repeats far apart', async () => {
    const input = synthetic(60, 45, 700);
    const m = await matchCells(input);
    expect(m.maxRepeats).toBe(4);
    expect(m.minDistance).toBe(defaultMinDistance(2700, 4));
    checkRules(m, 60, 700);
    expect(m.closestRepeat).toBeGreaterThanOrEqual(m.minDistance);
  });

  it('finds the same candidates on worker threads as on one thread', async () => {
    const { target, library } = synthetic(50, 40, 2000, 3);
    const threaded = await findCandidates(target, library, 2000, 2000, 48, 16, 16, 1, 2);
    const single = await findCandidates(target, library, 2000, 2000, 48, 16, 16, 1, 1);
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
  });

  it('beats first-come assignment, and refuses a repeat limit that cannot fill the grid', async () => {
    const input = synthetic(30, 20, 150, 7);
    const m = await matchCells({ ...input, minDistance: 0 });
    checkRules(m, 30, 150);
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
  const dist = (a: Float32Array, b: Float32Array) =>
    distance(a, 0, b, 0, FEATURE_VALUES, LUMA_VALUES, 1, Number.POSITIVE_INFINITY);

  it('tell a striped cell from a grey one that the stored 4×4 Lab grid finds equal', () => {
    const striped = raster(80, 80, stripes);
    const grey = raster(80, 80, () => 119);
    // The media pipeline's grid: each of its 16 sub-cells holds one black and one white stripe.
    const oldStriped = labGrid({ ...striped, channels: 3 });
    const oldGrey = labGrid({ ...grey, channels: 3 });
    for (let i = 0; i < 48; i++)
      expect(Math.abs((oldStriped[i] as number) - (oldGrey[i] as number))).toBeLessThan(1.5);
    // A striped target cell (at another resolution) is nearest the striped photo.
    const cell = features(raster(40, 40, stripes));
    expect(dist(cell, features(striped))).toBeLessThan(dist(cell, features(grey)) / 4);
    // And a flat cell is nearest the grey photo.
    const flat = features(raster(40, 40, () => 119));
    expect(dist(flat, features(grey))).toBeLessThan(dist(flat, features(striped)) / 4);
  });
});
