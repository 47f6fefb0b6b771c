import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileKernel, KERNELS, wasmPath } from '../../scripts/build-wasm.mjs';
import {
  costRows,
  distance,
  geometry,
  libraryIndex,
  STATS,
  squareSums,
  squareSumsKernel,
  squares,
  vectorStats,
  windowRows,
  windowSsim,
  windowSsimKernel,
} from '../../src/mosaic/candidates-kernel.mjs';
import { summedAreas, summedAreaTables } from '../../src/mosaic/features.ts';
import { instantiateKernels, reserve, roundDown32 } from '../../src/mosaic/wasm/kernels.mjs';

describe('the WebAssembly kernels', () => {
  it('are committed as their sources compile today (npm run build:wasm after a change)', async () => {
    for (const source of KERNELS) {
      const committed = readFileSync(new URL(`../../${wasmPath(source)}`, import.meta.url));
      const compiled = await compileKernel(source);
      expect(compiled.equals(committed), `${wasmPath(source)} is stale: run npm run build:wasm`).toBe(true);
    }
  }, 60_000);

  it("find the photos the auction's scan would, with prices rounded down to f32 for the first pass", () => {
    const photos = 203; // not a multiple of the four lanes
    const kernels = instantiateKernels();
    reserve(kernels.memory, 1024 + photos * 40);
    const { buffer } = kernels.memory;
    const cost = new Float32Array(buffer, 1024, photos);
    const first = new Float32Array(buffer, 1024 + photos * 4, photos);
    const rest = new Float64Array(buffer, 1024 + photos * 8, photos);
    const firstPrice = new Float64Array(buffer, 1024 + photos * 16, photos);
    const rest32 = new Float32Array(buffer, 1024 + photos * 24, photos);
    const first32 = new Float32Array(buffer, 1024 + photos * 28, photos);
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let p = 0; p < photos; p++) {
      cost[p] = Math.fround(random() * 1000);
      first[p] = Math.fround((cost[p] as number) + random() * 50);
      // Prices with more digits than f32 holds, and photos with no other place (infinite).
      rest[p] = p % 17 === 0 ? Number.POSITIVE_INFINITY : random() * 300 + random() * 1e-9;
      firstPrice[p] = random() * 300 + random() * 1e-9;
      rest32[p] = roundDown32(rest[p] as number);
      expect(rest32[p]).toBeLessThanOrEqual(rest[p] as number);
      first32[p] = roundDown32(firstPrice[p] as number);
    }
    const worth = (p: number, bar: number) =>
      -(rest[p] as number) - (cost[p] as number) > bar ||
      -(firstPrice[p] as number) - (first[p] as number) > bar;
    // Bars exactly at photos' values (a tie is not worth more), between them, and none at all.
    const bars = [Number.NEGATIVE_INFINITY, -1e9, -600, -1];
    for (let p = 0; p < photos; p += 5) bars.push(-(rest[p] as number) - (cost[p] as number));
    for (let p = 1; p < photos; p += 7) bars.push(-(firstPrice[p] as number) - (first[p] as number));
    // And bars a hair above a photo's value (it is worth more, by an f64 ulp or so): where the
    // f32 pass would lose it if its rounding were not allowed for.
    for (let p = 2; p < photos; p += 3) {
      const sum = (firstPrice[p] as number) + (first[p] as number);
      bars.push(-(sum + sum * 2 ** -51));
    }
    let found = 0;
    for (const bar of bars) {
      for (const start of [0, 1, 3, 4, 100, photos - 1, photos]) {
        let expected = start;
        while (expected < photos && !worth(expected, bar)) expected++;
        const got = kernels.scanEither(
          cost.byteOffset,
          first.byteOffset,
          rest32.byteOffset,
          first32.byteOffset,
          rest.byteOffset,
          firstPrice.byteOffset,
          start,
          photos,
          bar,
          kernels.looseBar(bar),
        );
        expect(got, `bar ${bar} from ${start}`).toBe(expected);
        const one = kernels.scanOne(
          cost.byteOffset,
          first32.byteOffset,
          firstPrice.byteOffset,
          start,
          photos,
          bar,
          kernels.looseBar(bar),
        );
        let plain = start;
        while (plain < photos && !(-(firstPrice[plain] as number) - (cost[plain] as number) > bar)) plain++;
        expect(one, `one: bar ${bar} from ${start}`).toBe(plain);
        if (expected < photos) found++;
      }
    }
    // The bars were chosen so that many scans stop inside the row, not only at its end.
    expect(found).toBeGreaterThan(100);
  });

  it('give windowed SSIM as the JavaScript does, to rounding', () => {
    const values = 132;
    const lightness = 100;
    const count = 40;
    const vectors = new Float32Array(count * values);
    let seed = 11;
    for (let i = 0; i < vectors.length; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      // Flat, smooth and busy grids: some vectors repeat a value, some vary widely.
      const v = Math.floor(i / values);
      vectors[i] = v % 5 === 0 ? 40 : v % 5 === 1 ? (i % values) * 0.7 : (seed / 2 ** 31) * 100;
    }
    const geo = geometry(lightness);
    if (!geo) throw new Error('a 10×10 grid has windows');
    const stats = vectorStats(vectors, count, values, lightness);
    const rows = windowRows(vectors, count, values, lightness);
    const [c1, c2] = [1, 9];
    const others = vectors.map((v, i) => v + (i % 7) - 3);
    const kernel = windowSsimKernel(
      geo,
      { grids: vectors, gridStats: stats, rows, rowsStats: stats, others },
      c1,
      c2,
    );
    if (!kernel) throw new Error('a 10×10 grid has a kernel');
    for (let a = 0; a < count; a++) {
      for (let b = 0; b < count; b += 3) {
        const js = windowSsim(
          vectors,
          a * values,
          stats,
          a * STATS,
          rows,
          b * 300,
          stats,
          b * STATS,
          geo,
          c1,
          c2,
        );
        const wasm = kernel.ssim(a * values, a * STATS, b * 300, b * STATS);
        expect(Math.abs(wasm - js), `grid ${a}, rows ${b}`).toBeLessThan(1e-12 * Math.max(1, Math.abs(js)));
        // And the squared differences the cost adds, over the L grid and over the rest.
        for (const [from, to] of [
          [0, lightness],
          [lightness, values],
          [3, 8],
        ] as const) {
          const exact = squares(vectors, a * values, others, b * values, from, to);
          const got = kernel.squares(a * values, b * values, from, to);
          expect(Math.abs(got - exact), `squares ${from}–${to}`).toBeLessThan(1e-9 * Math.max(1, exact));
        }
      }
    }
    // A 12×12 grid has no kernel: the JavaScript serves it.
    const geo12 = geometry(144);
    expect(
      geo12 && windowSsimKernel(geo12, { grids: vectors, gridStats: stats, rows, rowsStats: stats }, c1, c2),
    ).toBeNull();
  });

  it('give the squared differences of four cells against every photo to the same bits as the JavaScript', () => {
    const photos = 37;
    const values = 53;
    const lib = Float64Array.from({ length: photos * values }, (_, i) => ((i * 7919) % 1000) / 7.3);
    const cells = Float64Array.from({ length: 6 * values }, (_, i) => ((i * 104729) % 997) / 5.1);
    const kernel = squareSumsKernel(lib, photos, values);
    // Four cells, and a last group of two (the missing ones repeat the last).
    for (const [r, n] of [
      [0, 4],
      [4, 2],
    ] as const) {
      const expected = new Float64Array(8 * photos);
      squareSums(cells, r, n, lib, photos, values, 21, expected);
      kernel.run(cells, r, n, 21);
      expect([...kernel.sums]).toEqual([...expected]);
    }
  });

  it("give a raster's summed-area tables to the same bits as the JavaScript", () => {
    const side = 128;
    const data = new Uint8Array(side * side * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    const { rgb, luma } = summedAreaTables(data, side);
    expect([...rgb]).toEqual([...summedAreas(data, side, 3)]);
    expect([...luma]).toEqual([...summedAreas(data, side, 1)]);
  });

  it("give the cost matrix's coarse costs to the same bits as the cost of each pair in JavaScript", () => {
    const metric = { values: 48, lightness: 16, weightL: 10, weightS: 0, structure: 3000, c1: 1, c2: 9 };
    const [cells, photos] = [9, 23];
    const vector = (seed: number) =>
      Float32Array.from({ length: 48 }, (_, j) =>
        j < 16 ? (seed * 37 + j * 11) % 97 : ((seed + j) % 13) - 6,
      );
    const target = new Float32Array(cells * 48);
    for (let c = 0; c < cells; c++) target.set(vector(c), c * 48);
    const library = new Float32Array(photos * 48);
    for (let p = 0; p < photos; p++) library.set(vector(100 + p * 3), p * 48);
    const out = new Float32Array(cells * photos);
    costRows(target, library, photos, metric, 0, cells, 0, out);
    const cStats = vectorStats(target, cells, 48, 16);
    const index = libraryIndex(library, photos, 48, 16);
    for (let c = 0; c < cells; c++) {
      for (let p = 0; p < photos; p++) {
        const expected = distance(target, c, cStats, library, p, index, metric, Number.POSITIVE_INFINITY);
        expect(out[c * photos + p], `cell ${c}, photo ${p}`).toBe(Math.fround(expected));
      }
    }
  });
});
