import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CELL_FILE } from '../../src/media/cell-raster.mjs';
import { buildMosaic, cropList } from '../../src/mosaic/build.ts';
import { buildTree, cropRows, nearestInTree, treeKernel } from '../../src/mosaic/crops-kernel.mjs';
import { type Crop, cropFeatures, FEATURE_VALUES, regionFeatures } from '../../src/mosaic/features.ts';
import type { Manifest } from '../../src/mosaic/manifest.ts';
import type { TestContext } from '../helpers/context.ts';
import {
  addPhoto,
  BLUE,
  blockColour,
  blocksPng,
  blocksTarget,
  eachTestWithContext,
  GREEN,
  near,
  pixels,
  RED,
  type Rgb3,
  YELLOW,
} from './helpers.ts';

const COLOURS = [RED, GREEN, BLUE, YELLOW];

let ctx: TestContext;
let out: string;
eachTestWithContext((c, o) => {
  ctx = c;
  out = o;
});

// Crops are cut from the JPEG tile: a little further from the flat colour than whole cells.
const CROP_TOLERANCE = 6;

const filesNamed = (dir: string, name: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(`/${name}`))
    .map((f) => join(dir, f));

describe('crop features', () => {
  it('are the features of the cropped region, fractional block edges included', () => {
    const side = 128;
    const raster = new Uint8Array(side * side * 3);
    for (let i = 0; i < raster.length; i++) raster[i] = (i * 7919 + (i >> 7) * 131) % 256;
    const crops: Crop[] = [
      [0, 0, 128],
      [19, 0, 90],
      [83, 83, 45],
      [32, 70, 58],
    ];
    const fast = new Float32Array(crops.length * FEATURE_VALUES);
    const slow = new Float32Array(crops.length * FEATURE_VALUES);
    cropFeatures(raster, side, crops, fast, 0);
    crops.forEach(([x, y, s], k) => {
      regionFeatures(raster, side, x, y, s, s, slow, k * FEATURE_VALUES);
    });
    for (let i = 0; i < fast.length; i++) expect(fast[i]).toBeCloseTo(slow[i] as number, 3);
  });

  it('are nine squares of the part asked, never so small that the print would enlarge them', () => {
    const crops = cropList(35, 80);
    expect(crops).toHaveLength(9);
    // 35 % of the 128 px raster, 90 px of the 256 px tile: more than an 80 px cell.
    expect(new Set(crops.map(([, , s]) => s))).toEqual(new Set([45]));
    expect(crops).toContainEqual([0, 0, 45]);
    expect(crops).toContainEqual([83, 83, 45]);
    // 120 px cells need 120 px of the tile: crops of 60 raster pixels at least.
    expect(new Set(cropList(35, 120).map(([, , s]) => s))).toEqual(new Set([60]));
    expect(cropList(100, 80)).toEqual([]);
    expect(cropList(35, 300)).toEqual([]);
  });
});

describe('mosaic with crops', () => {
  /** 4 photos, each the four colours in quadrants (in a different order): no photo is one colour. */
  const addQuadrantPhotos = async (): Promise<void> => {
    for (let k = 0; k < 4; k++) {
      const c = (i: number) => COLOURS[(i + k) % 4] as Rgb3;
      const png = await blocksPng(
        [
          [c(0), c(1)],
          [c(2), c(3)],
        ],
        150,
        150,
      );
      await addPhoto(ctx, png, { name: `quadrants ${k}` });
    }
  };
  // 8×4 cells: four 4×2 blocks of flat colour.
  const block = blockColour;
  const target = () => blocksTarget(out);

  it('fills each cell with the flat corner of a photo, and shows every photo whole once', async () => {
    await addQuadrantPhotos();
    const result = await buildMosaic(
      { db: ctx.db, mediaDir: ctx.settings.mediaDir },
      { out: join(out, 'm.png'), target: await target(), grid: { cols: 8, rows: 4 }, width: 320, crop: 35 },
    );
    expect(result.stats).toMatchObject({ cells: 32, photos: 4, photosShown: 4, cropped: 28 });
    const manifest: Manifest = result.manifest;
    const img = await pixels(result.files.image);
    const wholeShown = new Set<number>();
    for (const cell of manifest.cells) {
      const at = (dx: number, dy: number) => ((cell.y + dy) * img.width + cell.x + dx) * 3;
      const corners = [
        at(3, 3),
        at(cell.width - 4, 3),
        at(3, cell.height - 4),
        at(cell.width - 4, cell.height - 4),
      ];
      const wanted = block(cell.col, cell.row);
      if (corners.every((i) => near(img.data, i, wanted, CROP_TOLERANCE))) {
        // The manifest says which part: a square within one quadrant (at most half the side).
        expect(cell.crop, `cell ${cell.cell} is a crop`).toBeDefined();
        expect(cell.crop?.size).toBeLessThanOrEqual(0.5);
        continue;
      }
      expect(cell.crop, `cell ${cell.cell} shows its photo whole`).toBeUndefined();
      // Not a crop of the cell's colour: a whole photo, its four quadrants four colours.
      const seen = corners.map((i) => COLOURS.findIndex((c) => near(img.data, i, c, 24)));
      expect(new Set(seen).size, `cell ${cell.cell} shows a whole photo`).toBe(4);
      expect(wholeShown.has(cell.postId as number), `photo ${cell.postId} whole only once`).toBe(false);
      wholeShown.add(cell.postId as number);
    }
    expect(wholeShown.size).toBe(4);
  });

  it('shows whole photos only at 100 %', async () => {
    await addQuadrantPhotos();
    const result = await buildMosaic(
      { db: ctx.db, mediaDir: ctx.settings.mediaDir },
      { out: join(out, 'm.png'), target: await target(), grid: { cols: 8, rows: 4 }, width: 320, crop: 100 },
    );
    expect(result.stats.cropped).toBe(0);
    expect(result.manifest.cells.every((cell) => cell.crop === undefined)).toBe(true);
    const img = await pixels(result.files.image);
    for (const cell of result.manifest.cells) {
      const at = (dx: number, dy: number) => ((cell.y + dy) * img.width + cell.x + dx) * 3;
      const seen = [at(3, 3), at(cell.width - 4, cell.height - 4)].map((i) =>
        COLOURS.findIndex((c) => near(img.data, i, c, 24)),
      );
      expect(seen[0]).not.toBe(seen[1]);
    }
  });

  it('measures photos stored before cell rasters from their tiles, and fails cleanly when the match fails meanwhile', async () => {
    await addQuadrantPhotos();
    const rasters = filesNamed(ctx.settings.mediaDir, CELL_FILE);
    expect(rasters).toHaveLength(4);
    for (const file of rasters) rmSync(file);
    const deps = { db: ctx.db, mediaDir: ctx.settings.mediaDir };
    const options = {
      out: join(out, 'm.png'),
      target: await target(),
      grid: { cols: 8, rows: 4 },
      width: 320,
    };
    const result = await buildMosaic(deps, { ...options, crop: 35 });
    expect(result.stats.cropped).toBe(28);
    // Measuring the crops from the tiles takes a while: the match fails first, and the build
    // rejects with its reason (no unhandled rejection, no workers left waiting).
    await expect(buildMosaic(deps, { ...options, crop: 35, maxRepeats: 1 })).rejects.toThrow(
      /cannot fill 32 cells/,
    );
  });

  it('refuses a crop outside 1–100 %', async () => {
    await addQuadrantPhotos();
    await expect(
      buildMosaic({ db: ctx.db, mediaDir: ctx.settings.mediaDir }, { out: join(out, 'm.png'), crop: 0 }),
    ).rejects.toThrow(/crop must be between 1 and 100/);
  });
});

describe('crop search', () => {
  it('finds the same crops whether the cells are searched in one range or split between threads', () => {
    const values = FEATURE_VALUES;
    const cells = 300;
    const photos = 300;
    const crops = 9;
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const vectors = (n: number) => {
      const out = new Float32Array(n * values);
      for (let v = 0; v < n; v++) {
        const base = random() * 40;
        for (let j = 0; j < 100; j++)
          out[v * values + j] = Math.max(0, Math.min(40, base + (random() - 0.5) * 12));
        for (let j = 100; j < values; j++) out[v * values + j] = (random() - 0.5) * 40;
      }
      return out;
    };
    const target = vectors(cells);
    const views = vectors(photos * crops);
    const metric = {
      values,
      lightness: 100,
      weightL: 6,
      weightS: 0,
      structure: 3300,
      c1: 0.16,
      c2: 1.44,
    };
    const run = (ranges: Array<[number, number]>) => {
      const best = new Float32Array(cells * photos).fill(1e9);
      const viewOf = new Uint8Array(cells * photos);
      for (const [from, to] of ranges) {
        cropRows(
          target,
          views,
          crops,
          photos,
          metric,
          from,
          to,
          16,
          best.subarray(from * photos, to * photos),
          viewOf.subarray(from * photos, to * photos),
        );
      }
      return { best, viewOf };
    };
    const whole = run([[0, cells]]);
    const split = run([
      [0, 137],
      [137, 250],
      [250, cells],
    ]);
    expect(split.viewOf).toEqual(whole.viewOf);
    expect(split.best).toEqual(whole.best);
    expect(whole.viewOf.some((v) => v > 0)).toBe(true);
  });
});

describe("the crops' k-d tree search in the WebAssembly kernel", () => {
  it('finds the same views in the same order as the JavaScript search, with seeds and ties', () => {
    let seed = 11;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (const [count, m] of [
      [3000, 64],
      [500, 256],
      [40, 64],
    ] as const) {
      // Clustered points with exact duplicates: ties in distance and in the splits.
      const points = new Float64Array(count * 8);
      for (let i = 0; i < count; i++)
        for (let d = 0; d < 8; d++)
          points[i * 8 + d] =
            i % 7 === 0 && i > 0 ? (points[(i - 1) * 8 + d] as number) : Math.round(random() * 50) / 5;
      const scale = Float64Array.from({ length: 8 }, () => 0.5 + random());
      const tree = buildTree(points, count, scale);
      const kernel = treeKernel(tree, points, count, m);
      const idx = new Int32Array(m);
      const dist = new Float64Array(m);
      const seeds = new Int32Array(m);
      const taken = new Uint8Array(count);
      let seedCount = 0;
      for (let cell = 0; cell < 60; cell++) {
        const query = Float64Array.from({ length: 8 }, () => Math.round(random() * 50) / 5);
        const weight = Float64Array.from({ length: 8 }, () => 0.1 + random());
        const found = nearestInTree(tree, points, query, weight, m, idx, dist, seeds, seedCount, taken);
        kernel.query.set(query);
        kernel.weight.set(weight);
        expect(kernel.nearest(seedCount), `${count} points, cell ${cell}`).toBe(found);
        expect([...kernel.idx.subarray(0, found)], `${count} points, cell ${cell}`).toEqual([
          ...idx.subarray(0, found),
        ]);
        // The next cell starts from these, as cropRows does.
        seedCount = cell % 10 === 9 ? 0 : found;
        seeds.set(idx.subarray(0, found));
        kernel.seeds.set(idx.subarray(0, found));
      }
      expect(taken.every((t) => t === 0)).toBe(true);
    }
  });
});
