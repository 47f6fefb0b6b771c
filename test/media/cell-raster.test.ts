import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { CELL_FILE, encodeCellRaster, readCellRaster } from '../../src/media/cell-raster.mjs';
import { createMediaRepository } from '../../src/media/media-repository.ts';
import { flatJpeg, noisePixels, photoJpeg } from '../helpers/images.ts';

describe('the cell raster', () => {
  it('holds the 2×2 means of a 256 px tile at 128 px, and reads back only when whole', () => {
    const pixels = noisePixels(256, 256, 1);
    const file = encodeCellRaster(pixels, 256, 256, 3) as Buffer;
    const raster = readCellRaster(file);
    expect(raster?.side).toBe(128);
    for (const [x, y] of [
      [0, 0],
      [127, 5],
      [64, 127],
    ] as const) {
      for (let c = 0; c < 3; c++) {
        const at = (px: number, py: number) => pixels[(py * 256 + px) * 3 + c] as number;
        const mean =
          (at(2 * x, 2 * y) + at(2 * x + 1, 2 * y) + at(2 * x, 2 * y + 1) + at(2 * x + 1, 2 * y + 1)) / 4;
        expect(raster?.data[(y * 128 + x) * 3 + c]).toBe(Math.floor(mean + 0.5));
      }
    }
    // The checksum is FNV-1a of the pixels, as the files stored by every version carry it.
    let fnv = 0x811c9dc5;
    for (const byte of file.subarray(12)) fnv = Math.imul(fnv ^ byte, 16777619);
    expect(file.readUInt32LE(8)).toBe(fnv >>> 0);
    // What a power cut or a bad disk can leave: empty, cut short, zeroed or flipped bytes.
    expect(readCellRaster(Buffer.alloc(0))).toBeNull();
    expect(readCellRaster(file.subarray(0, file.length - 1))).toBeNull();
    const zeroed = Buffer.from(file);
    zeroed.fill(0, 12);
    expect(readCellRaster(zeroed)).toBeNull();
    const flipped = Buffer.from(file);
    flipped[5000] = (flipped[5000] as number) ^ 1;
    expect(readCellRaster(flipped)).toBeNull();
    // Only a 256 px RGB tile makes one.
    expect(encodeCellRaster(noisePixels(256, 256, 2).subarray(0, 200 * 200 * 3), 200, 200, 3)).toBeNull();
  });

  it('is stored beside each tile, the photo at 128 px', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'standwall-cell-'));
    try {
      const media = createMediaRepository(dir);
      for (const display of ['now', 'later'] as const) {
        const image = await media.store(await flatJpeg({ r: 200, g: 40, b: 90 }, 640, 480), { display });
        const raster = readCellRaster(
          readFileSync(path.join(path.dirname(media.absolutePath(image.files.tile)), CELL_FILE)),
        );
        expect(raster?.side, display).toBe(128);
        for (let i = 0; i < (raster?.data.length ?? 0); i += 3 * 97) {
          const rgb = [raster?.data[i], raster?.data[i + 1], raster?.data[i + 2]] as number[];
          expect(
            Math.max(...rgb.map((v, c) => Math.abs(v - ([200, 40, 90][c] as number)))),
            display,
          ).toBeLessThan(4);
        }
        await media.remove(image.sha256);
      }
      // A detailed photo: the raster is the tile halved, within JPEG rounding.
      const image = await media.store(await photoJpeg(3, 800, 600), { display: 'later' });
      const tilePath = media.absolutePath(image.files.tile);
      const raster = readCellRaster(readFileSync(path.join(path.dirname(tilePath), CELL_FILE)));
      const tile = await sharp(readFileSync(tilePath)).raw().toBuffer();
      const halved = readCellRaster(encodeCellRaster(tile, 256, 256, 3) as Buffer);
      let diff = 0;
      for (let i = 0; i < 128 * 128 * 3; i++)
        diff += Math.abs((raster?.data[i] ?? 0) - (halved?.data[i] ?? 255));
      expect(diff / (128 * 128 * 3)).toBeLessThan(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('comes from the same pixels for a plain colour JPEG as through the full pipeline (flatten, sRGB)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'standwall-cell-'));
    try {
      const media = createMediaRepository(dir);
      const colour = await photoJpeg(5, 900, 700);
      const grey = await sharp(colour).greyscale().jpeg().toBuffer();
      const wideGamut = await sharp(colour).withIccProfile('p3').jpeg().toBuffer();
      for (const [name, bytes] of Object.entries({ colour, grey, wideGamut })) {
        const image = await media.store(bytes, { display: 'later' });
        const stored = readFileSync(path.join(path.dirname(media.absolutePath(image.files.tile)), CELL_FILE));
        // What every photo went through before the skip: flattened, resized, converted to sRGB.
        const full = await sharp(bytes)
          .flatten({ background: '#ffffff' })
          .resize({ width: 256, height: 256, fit: 'cover', position: 'centre' })
          .toColourspace('srgb')
          .raw()
          .toBuffer();
        expect(stored.equals(encodeCellRaster(full, 256, 256, 3) as Buffer), name).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
