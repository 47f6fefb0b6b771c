import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  CELL_FILE,
  detailedRegion,
  detailedTile,
  encodeCellRaster,
  encodeTileLuma,
  readCellRaster,
  readTileLuma,
  TILE_LUMA_FILE,
} from '../../src/media/cell-raster.mjs';
import { jpegTile } from '../../src/media/libjpeg-turbo.mjs';
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
    // A raster stored before the four-lane checksum ('SWCR', FNV-1a of the pixels) still reads.
    let fnv = 0x811c9dc5;
    for (const byte of file.subarray(12)) fnv = Math.imul(fnv ^ byte, 16777619);
    expect(file.readUInt32LE(8)).not.toBe(fnv >>> 0);
    const older = Buffer.from(file);
    older.write('SWCR', 0, 'latin1');
    older.writeUInt32LE(fnv >>> 0, 8);
    expect(readCellRaster(older)?.data.equals(file.subarray(12))).toBe(true);
    older[6000] = (older[6000] as number) ^ 0x80;
    expect(readCellRaster(older)).toBeNull();
    // What a power cut or a bad disk can leave: empty, cut short, zeroed or flipped bytes.
    expect(readCellRaster(Buffer.alloc(0))).toBeNull();
    expect(readCellRaster(file.subarray(0, file.length - 1))).toBeNull();
    const zeroed = Buffer.from(file);
    zeroed.fill(0, 12);
    expect(readCellRaster(zeroed)).toBeNull();
    for (const [at, bit] of [
      [12, 0],
      [5000, 0],
      [5000, 7],
      [file.length - 1, 7],
    ] as const) {
      const flipped = Buffer.from(file);
      flipped[at] = (flipped[at] as number) ^ (1 << bit);
      expect(readCellRaster(flipped), `byte ${at}, bit ${bit}`).toBeNull();
    }
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
      await media.ensureDisplayFiles(image.sha256);
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

  it('comes from libjpeg-turbo for a colour JPEG in sRGB, and from the full pipeline for grey or wide-gamut ones', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'standwall-cell-'));
    try {
      const media = createMediaRepository(dir);
      const colour = await photoJpeg(5, 900, 700);
      const photos = {
        colour,
        srgbProfile: await sharp(colour).withIccProfile('srgb').jpeg().toBuffer(),
        grey: await sharp(colour).toColourspace('b-w').jpeg().toBuffer(),
        wideGamut: await sharp(colour).withIccProfile('p3').jpeg().toBuffer(),
      };
      for (const [name, bytes] of Object.entries(photos)) {
        const image = await media.store(bytes, { display: 'later' });
        const stored = readFileSync(path.join(path.dirname(media.absolutePath(image.files.tile)), CELL_FILE));
        // Flattened, resized, converted to sRGB (from Display P3 here): sharp's pipeline.
        const full = await sharp(bytes)
          .flatten({ background: '#ffffff' })
          .resize({ width: 256, height: 256, fit: 'cover', position: 'centre' })
          .toColourspace('srgb')
          .raw()
          .toBuffer();
        const tile = jpegTile(bytes, 256);
        if (name === 'grey' || name === 'wideGamut') {
          expect(tile === null, name).toBe(name === 'grey');
          expect(stored.equals(encodeCellRaster(full, 256, 256, 3) as Buffer), name).toBe(true);
          continue;
        }
        // The decoder's own pixels, which differ from sharp's by the resize filter only.
        expect(stored.equals(encodeCellRaster(tile?.data as Buffer, 256, 256, 3) as Buffer), name).toBe(true);
        let diff = 0;
        for (let i = 0; i < full.length; i++)
          diff += Math.abs((full[i] as number) - (tile?.data[i] as number));
        expect(diff / full.length, name).toBeLessThan(3);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the tile's luma beside the cell raster", () => {
  it('holds each pixel of the 256 px tile at one byte, and reads back only when whole', () => {
    const pixels = noisePixels(256, 256, 4);
    const file = encodeTileLuma(pixels, 256, 256, 3) as Buffer;
    const luma = readTileLuma(file);
    expect(luma?.side).toBe(256);
    for (const p of [0, 1, 255, 256 * 100 + 37, 256 * 256 - 1]) {
      const [r, g, b] = [pixels[p * 3], pixels[p * 3 + 1], pixels[p * 3 + 2]] as [number, number, number];
      expect(luma?.data[p], `pixel ${p}`).toBe(Math.round(0.299 * r + 0.587 * g + 0.114 * b));
    }
    expect(readTileLuma(Buffer.alloc(0))).toBeNull();
    expect(readTileLuma(file.subarray(0, file.length - 1))).toBeNull();
    const zeroed = Buffer.from(file);
    zeroed.fill(0, 12);
    expect(readTileLuma(zeroed)).toBeNull();
    for (const at of [12, 40000, file.length - 1]) {
      for (const bit of [0, 7]) {
        const flipped = Buffer.from(file);
        flipped[at] = (flipped[at] as number) ^ (1 << bit);
        expect(readTileLuma(flipped), `byte ${at}, bit ${bit}`).toBeNull();
      }
    }
    // Neither file reads as the other.
    expect(readCellRaster(file)).toBeNull();
    expect(readTileLuma(encodeCellRaster(pixels, 256, 256, 3) as Buffer)).toBeNull();
    expect(encodeTileLuma(pixels.subarray(0, 200 * 200 * 3), 200, 200, 3)).toBeNull();
  });

  it('gives the tile back with the raster: exactly where blocks differ only in lightness, and closer than tile.jpg on photos', async () => {
    // Each 2×2 block one colour lightened or darkened per pixel: what 4:2:0 keeps whole.
    const pixels = new Uint8Array(256 * 256 * 3);
    const base = noisePixels(128, 128, 5);
    for (let y = 0; y < 256; y++)
      for (let x = 0; x < 256; x++) {
        const shade = ((x & 1) * 2 + (y & 1)) * 6 - 9;
        for (let c = 0; c < 3; c++) {
          const v = 20 + ((base[((y >> 1) * 128 + (x >> 1)) * 3 + c] as number) * 200) / 255 + shade;
          pixels[(y * 256 + x) * 3 + c] = Math.round(v);
        }
      }
    const tile = detailedTile(
      readCellRaster(encodeCellRaster(pixels, 256, 256, 3) as Buffer),
      readTileLuma(encodeTileLuma(pixels, 256, 256, 3) as Buffer),
    );
    expect(tile?.info).toEqual({ width: 256, height: 256, channels: 3 });
    let worst = 0;
    for (let i = 0; i < pixels.length; i++)
      worst = Math.max(worst, Math.abs((tile?.data[i] ?? -99) - (pixels[i] as number)));
    expect(worst).toBeLessThanOrEqual(1);
    // Any square of it alone, at even or odd offsets, is the same pixels.
    const whole = tile as { data: Buffer };
    const raster = readCellRaster(encodeCellRaster(pixels, 256, 256, 3) as Buffer);
    const luma = readTileLuma(encodeTileLuma(pixels, 256, 256, 3) as Buffer);
    if (!raster || !luma) throw new Error('the raster and luma read back whole');
    for (const [x, y, size] of [
      [0, 0, 256],
      [166, 0, 90],
      [37, 91, 64],
      [255, 255, 1],
    ] as const) {
      const region = detailedRegion(raster, luma, x, y, size);
      expect(region.length).toBe(size * size * 3);
      for (let row = 0; row < size; row++) {
        const from = ((y + row) * 256 + x) * 3;
        expect(
          region
            .subarray(row * size * 3, (row + 1) * size * 3)
            .equals(whole.data.subarray(from, from + size * 3)),
          `(${x}, ${y}) ${size} px, row ${row}`,
        ).toBe(true);
      }
    }
    // A side that does not pair, or a file missing: no tile.
    expect(detailedTile(null, readTileLuma(encodeTileLuma(pixels, 256, 256, 3) as Buffer))).toBeNull();

    // Photos: mean error against the tile's own pixels, beside what tile.jpg decodes to.
    let fromDetail = 0;
    let fromJpeg = 0;
    for (const seed of [1, 2, 3]) {
      const photo = await sharp(await photoJpeg(seed, 900, 700))
        .resize(256, 256, { fit: 'cover' })
        .raw()
        .toBuffer();
      const back = detailedTile(
        readCellRaster(encodeCellRaster(photo, 256, 256, 3) as Buffer),
        readTileLuma(encodeTileLuma(photo, 256, 256, 3) as Buffer),
      );
      const jpeg = await sharp(
        await sharp(photo, { raw: { width: 256, height: 256, channels: 3 } })
          .jpeg({ quality: 90, chromaSubsampling: '4:2:0' })
          .toBuffer(),
      )
        .raw()
        .toBuffer();
      for (let i = 0; i < photo.length; i++) {
        fromDetail += Math.abs((back?.data[i] ?? 0) - (photo[i] as number));
        fromJpeg += Math.abs((jpeg[i] as number) - (photo[i] as number));
      }
    }
    expect(fromDetail).toBeLessThan(fromJpeg);
  });

  it('is stored beside each tile, and pairs with the raster', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'standwall-luma-'));
    try {
      const media = createMediaRepository(dir);
      for (const display of ['now', 'later'] as const) {
        const image = await media.store(await photoJpeg(7, 800, 600), { display });
        const folder = path.dirname(media.absolutePath(image.files.tile));
        // A bulk import's store leaves tile.jpg for later: the raster and luma stand in for it.
        expect(existsSync(path.join(folder, 'tile.jpg')), display).toBe(display === 'now');
        await media.ensureDisplayFiles(image.sha256);
        const tile = detailedTile(
          readCellRaster(readFileSync(path.join(folder, CELL_FILE))),
          readTileLuma(readFileSync(path.join(folder, TILE_LUMA_FILE))),
        );
        const decoded = await sharp(readFileSync(path.join(folder, 'tile.jpg')))
          .raw()
          .toBuffer();
        let diff = 0;
        for (let i = 0; i < decoded.length; i++)
          diff += Math.abs((tile?.data[i] ?? 255) - (decoded[i] as number));
        expect(diff / decoded.length, display).toBeLessThan(4);
        await media.remove(image.sha256);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
