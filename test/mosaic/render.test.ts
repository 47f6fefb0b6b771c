import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  CELL_FILE,
  detailedTile,
  encodeCellRaster,
  encodeTileLuma,
  readCellRaster,
  readTileLuma,
} from '../../src/media/cell-raster.mjs';
import { areaResizeJs, type CellSource, cropCellsWith } from '../../src/mosaic/cells-kernel.mjs';
import { areaResize, decodeCell, decodeCells, decodeTiles, viewKey } from '../../src/mosaic/render.ts';
import { noisePixels as noise, photoJpeg } from '../helpers/images.ts';

describe('areaResize', () => {
  it('gives each output pixel the rounded mean of the source block it covers, at a whole factor', () => {
    const src = noise(240, 240);
    const out = areaResize(src, 240, 0, 0, 240, 240, 80, 80);
    for (const [x, y] of [
      [0, 0],
      [79, 0],
      [40, 41],
      [79, 79],
    ] as const) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let dy = 0; dy < 3; dy++)
          for (let dx = 0; dx < 3; dx++) sum += src[((y * 3 + dy) * 240 + x * 3 + dx) * 3 + c] as number;
        expect(out[(y * 80 + x) * 3 + c], `(${x}, ${y}) channel ${c}`).toBe(Math.floor(sum / 9 + 0.5));
      }
    }
  });

  it('weighs partly covered pixels by the part covered, at a fractional factor', () => {
    // 256 → 80: an output pixel covers 3.2 source pixels per axis. Column 0 covers x 0–3.2:
    // three whole columns and a fifth of the fourth; rows likewise.
    const src = noise(256, 256, 2);
    const out = areaResize(src, 256, 0, 0, 256, 256, 80, 80);
    const weight = [1, 1, 1, 0.2];
    for (let c = 0; c < 3; c++) {
      let sum = 0;
      for (let y = 0; y < 4; y++)
        for (let x = 0; x < 4; x++)
          sum += (weight[y] as number) * (weight[x] as number) * (src[(y * 256 + x) * 3 + c] as number);
      expect(Math.abs((out[c] as number) - sum / (3.2 * 3.2))).toBeLessThanOrEqual(0.5 + 1e-9);
    }
    // Halves of two colours split at x = 128 = 40 × 3.2: no bleeding across the split.
    const halves = new Uint8Array(256 * 256 * 3);
    for (let y = 0; y < 256; y++)
      for (let x = 0; x < 256; x++) halves.set(x < 128 ? [200, 20, 20] : [20, 20, 200], (y * 256 + x) * 3);
    const split = areaResize(halves, 256, 0, 0, 256, 256, 80, 80);
    expect([...split.subarray((10 * 80 + 39) * 3, (10 * 80 + 41) * 3)]).toEqual([200, 20, 20, 20, 20, 200]);
  });

  it('reads only the region asked for', () => {
    const src = noise(300, 200, 3);
    const region = new Uint8Array(200 * 200 * 3);
    for (let y = 0; y < 200; y++)
      region.set(src.subarray((y * 300 + 50) * 3, (y * 300 + 250) * 3), y * 200 * 3);
    expect(
      areaResize(src, 300, 50, 0, 200, 200, 64, 64).equals(areaResize(region, 200, 0, 0, 200, 200, 64, 64)),
    ).toBe(true);
  });

  it('gives the same bytes in the WebAssembly kernel as in JavaScript, whatever the shapes', () => {
    const src = noise(300, 280, 4);
    // Whole and fractional factors, odd widths (rows not a multiple of 16 bytes), a crop's
    // shape, a one-pixel output, and a region up to the raster's far edges.
    const shapes: Array<[number, number, number, number, number, number]> = [
      [0, 0, 300, 280, 80, 80],
      [0, 0, 256, 256, 80, 80],
      [3, 5, 90, 90, 80, 80],
      [17, 9, 91, 97, 80, 80],
      [0, 0, 128, 128, 80, 80],
      [1, 2, 7, 5, 3, 2],
      [10, 10, 5, 5, 1, 1],
      [250, 230, 50, 50, 50, 50],
      [0, 0, 300, 280, 37, 111],
    ];
    for (const [x0, y0, w, h, dw, dh] of shapes) {
      expect(
        areaResize(src, 300, x0, y0, w, h, dw, dh).equals(areaResizeJs(src, 300, x0, y0, w, h, dw, dh)),
        `${w}×${h} at (${x0}, ${y0}) → ${dw}×${dh}`,
      ).toBe(true);
    }
    // White everywhere: every sum at its largest for the region, and still white exactly.
    const white = new Uint8Array(300 * 280 * 3).fill(255);
    expect(areaResize(white, 300, 0, 0, 300, 280, 80, 80).every((v) => v === 255)).toBe(true);
  });
});

describe('decodeCell', () => {
  it('crops a wide photo to the cell around its centre, as a cover resize does', async () => {
    // Red, green, blue thirds of 300 × 100 px: a square cell keeps the middle 100 px, all green.
    const thirds = Buffer.alloc(300 * 100 * 3);
    for (let y = 0; y < 100; y++)
      for (let x = 0; x < 300; x++)
        thirds.set(x < 100 ? [230, 0, 0] : x < 200 ? [0, 200, 0] : [0, 0, 230], (y * 300 + x) * 3);
    const png = await sharp(thirds, { raw: { width: 300, height: 100, channels: 3 } })
      .png()
      .toBuffer();
    const cell = await decodeCell(png, 20, 20);
    expect(cell.length).toBe(20 * 20 * 3);
    for (let i = 0; i < cell.length; i += 3) expect([cell[i], cell[i + 1], cell[i + 2]]).toEqual([0, 200, 0]);
  });

  it('looks like sharp’s own resize of a real tile, and takes sharp’s path to enlarge', async () => {
    const tile = await sharp(await photoJpeg(1, 256, 256))
      .jpeg({ quality: 90 })
      .toBuffer();
    const ours = await decodeCell(tile, 80, 80);
    const theirs = await sharp(tile).resize(80, 80, { fit: 'cover' }).raw().toBuffer();
    let diff = 0;
    for (let i = 0; i < ours.length; i++) diff += Math.abs((ours[i] as number) - (theirs[i] as number));
    expect(diff / ours.length).toBeLessThan(3);
    // A cell larger than the photo: enlarged by sharp, to the cell's size.
    const big = await decodeCell(tile, 300, 300);
    expect(big.length).toBe(300 * 300 * 3);
  });
});

describe('decodeTiles', () => {
  it('decodes a large library on worker threads to the same cells as here, and names a broken file', async () => {
    // 420 photos: enough for two decode workers (200 each at least) on two cores, as CI has.
    const dir = mkdtempSync(join(tmpdir(), 'standwall-cells-'));
    try {
      const sources: string[] = [];
      for (let i = 0; i < 420; i++) {
        const raw = Buffer.alloc(40 * 40 * 3);
        for (let j = 0; j < raw.length; j++) raw[j] = (i * 37 + j * 11) & 255;
        const file = join(dir, `${i}.jpg`);
        writeFileSync(
          file,
          await sharp(raw, { raw: { width: 40, height: 40, channels: 3 } })
            .jpeg()
            .toBuffer(),
        );
        sources.push(file);
      }
      const seen: number[] = [];
      const tiles = await decodeTiles(sources, sources.keys(), 16, 16, undefined, (p) => seen.push(p));
      expect(tiles.size).toBe(420);
      expect(seen.sort((a, b) => a - b)).toEqual([...sources.keys()]);
      for (const p of [0, 211, 419]) {
        const here = await decodeCell(readFileSync(sources[p] as string), 16, 16);
        expect(tiles.get(p)?.equals(here), `photo ${p}`).toBe(true);
      }
      writeFileSync(sources[300] as string, 'not a photo');
      await expect(decodeTiles(sources, sources.keys(), 16, 16)).rejects.toThrow(/300\.jpg/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('decodeCells with crops', () => {
  it('cuts the crops the match chose on worker threads, from tiles decoded ahead, as this thread would', async () => {
    // 420 photos (two workers): 256 px tiles with their rasters, crops from both.
    const dir = mkdtempSync(join(tmpdir(), 'standwall-crops-'));
    try {
      const sources: Array<{ raster: string; tile: string }> = [];
      for (let i = 0; i < 420; i++) {
        const raw = Buffer.alloc(256 * 256 * 3);
        for (let j = 0; j < raw.length; j++)
          raw[j] = (i * 37 + ((j / 3) % 256) * 3 + Math.floor(j / 768)) & 255;
        const jpeg = await sharp(raw, { raw: { width: 256, height: 256, channels: 3 } })
          .jpeg({ quality: 90 })
          .toBuffer();
        const pixels = await sharp(jpeg).raw().toBuffer();
        const tile = join(dir, `${i}.jpg`);
        const raster = join(dir, `${i}.rgb`);
        writeFileSync(tile, jpeg);
        writeFileSync(raster, encodeCellRaster(pixels, 256, 256, 3) as Buffer);
        sources.push({ raster, tile });
      }
      // At 80 px: the 90 px crop comes from the raster, the 45 and 64 px ones from the tile.
      const crops = [
        [19, 19, 90],
        [83, 0, 45],
        [0, 64, 64],
      ] as const;
      const wanted = new Map([
        [0, [1, 3]],
        [211, [2]],
        [419, [1, 2, 3]],
      ]);
      const cells = decodeCells(sources, sources.keys(), 80, 80, { crops });
      expect((await cells.whole).size).toBe(420);
      const cut = await cells.cut(wanted);
      expect(cut.size).toBe(6);
      for (const [p, views] of wanted) {
        const here = await cropCellsWith(sharp, sources[p] as CellSource, crops, views, 80);
        views.forEach((view, i) => {
          expect(cut.get(viewKey(p, view))?.equals(here[i] as Buffer), `photo ${p}, view ${view}`).toBe(true);
        });
      }
      // A tile that no longer decodes (its raster still whole) fails the cut with its name.
      writeFileSync(sources[300]?.tile as string, 'not a photo');
      const broken = decodeCells(sources, sources.keys(), 80, 80, { crops });
      expect((await broken.whole).size).toBe(420);
      await expect(broken.cut(new Map([[300, [2]]]))).rejects.toThrow(/300\.jpg/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('crops finer than the cell raster', () => {
  it('are cut from the raster and the tile luma with no tile decoded, and from the tile when the luma is missing or damaged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'standwall-luma-crops-'));
    try {
      // The stored raster and luma are one photo, tile.jpg another: what a crop shows tells
      // where it came from. 420 photos, so that the worker threads cut them too.
      const crops = [
        [83, 0, 45],
        [19, 19, 90],
      ] as const;
      const sources: Array<{ raster: string; luma: string; tile: string }> = [];
      const stored: Buffer[] = [];
      for (let i = 0; i < 420; i++) {
        const pixels = Buffer.from(noise(256, 256, i + 1));
        const raster = join(dir, `${i}.rgb`);
        const luma = join(dir, `${i}.luma`);
        const tile = join(dir, `${i}.jpg`);
        writeFileSync(raster, encodeCellRaster(pixels, 256, 256, 3) as Buffer);
        writeFileSync(luma, encodeTileLuma(pixels, 256, 256, 3) as Buffer);
        writeFileSync(tile, 'not a photo: never decoded while the raster and luma are whole');
        sources.push({ raster, luma, tile });
        stored.push(pixels);
      }
      // The 45 px crop at 80 px needs the tile's pixels: those the raster and luma give back.
      const expected = (p: number) => {
        const back = detailedTile(
          readCellRaster(readFileSync(sources[p]?.raster as string)),
          readTileLuma(readFileSync(sources[p]?.luma as string)),
        ) as { data: Buffer };
        return areaResizeJs(back.data, 256, 166, 0, 90, 90, 80, 80);
      };
      const here = await cropCellsWith(sharp, sources[7] as CellSource, crops, [1, 2], 80);
      expect(here[0]?.equals(expected(7))).toBe(true);
      const cells = decodeCells(sources, sources.keys(), 80, 80, { crops });
      expect((await cells.whole).size).toBe(420);
      const wanted = new Map([
        [0, [1]],
        [419, [1, 2]],
      ]);
      const cut = await cells.cut(wanted);
      expect(cut.get(viewKey(0, 1))?.equals(expected(0))).toBe(true);
      expect(cut.get(viewKey(419, 1))?.equals(expected(419))).toBe(true);

      // Damaged or missing luma: the tile is decoded, and shows.
      const blue = new Uint8Array(256 * 256 * 3);
      for (let i = 0; i < blue.length; i += 3) blue.set([20, 20, 220], i);
      const blueJpeg = await sharp(blue, { raw: { width: 256, height: 256, channels: 3 } })
        .jpeg()
        .toBuffer();
      for (const damage of [
        (file: string) => writeFileSync(file, readFileSync(file).subarray(0, 5000)),
        (file: string) => rmSync(file),
      ]) {
        const source = sources[7] as { raster: string; luma: string; tile: string };
        writeFileSync(source.luma, encodeTileLuma(stored[7] as Buffer, 256, 256, 3) as Buffer);
        writeFileSync(source.tile, blueJpeg);
        damage(source.luma);
        const [crop] = await cropCellsWith(sharp, source, crops, [1], 80);
        expect((crop as Buffer)[2]).toBeGreaterThan(200);
        expect((crop as Buffer)[0]).toBeLessThan(40);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cells from the cell raster', () => {
  it('come from the raster when it is whole, and from the tile when it is missing, damaged or too small', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'standwall-raster-'));
    try {
      // The raster says red, the tile says blue: which one a cell shows tells where it came from.
      const flat = (rgb: number[]) => {
        const px = new Uint8Array(256 * 256 * 3);
        for (let i = 0; i < px.length; i += 3) px.set(rgb, i);
        return px;
      };
      const tile = join(dir, 'tile.jpg');
      writeFileSync(
        tile,
        await sharp(flat([20, 20, 220]), { raw: { width: 256, height: 256, channels: 3 } })
          .jpeg()
          .toBuffer(),
      );
      const raster = join(dir, CELL_FILE);
      const red = encodeCellRaster(flat([220, 20, 20]), 256, 256, 3) as Buffer;
      const colour = async (width: number) => {
        const cells = await decodeTiles([{ raster, tile }], [0], width, width);
        const cell = cells.get(0) as Buffer;
        expect(cell.length).toBe(width * width * 3);
        return [...cell.subarray(0, 3)];
      };
      writeFileSync(raster, red);
      expect(await colour(80)).toEqual([220, 20, 20]);
      expect(await colour(128)).toEqual([220, 20, 20]);
      // Larger than the raster: the tile.
      expect((await colour(129))[2]).toBeGreaterThan(200);
      writeFileSync(raster, red.subarray(0, 1000));
      expect((await colour(80))[2]).toBeGreaterThan(200);
      const zeroed = Buffer.from(red);
      zeroed.fill(0, 12);
      writeFileSync(raster, zeroed);
      expect((await colour(80))[2]).toBeGreaterThan(200);
      rmSync(raster);
      expect((await colour(80))[2]).toBeGreaterThan(200);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
