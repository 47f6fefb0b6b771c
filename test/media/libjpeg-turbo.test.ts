import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { CELL_FILE, encodeCellRaster } from '../../src/media/cell-raster.mjs';
import { JpegDecodeError, JpegTooLargeError, jpegTile } from '../../src/media/libjpeg-turbo.mjs';
import { createMediaRepository } from '../../src/media/media-repository.ts';
import {
  createMediaThreadPool,
  inThreadMediaThreads,
  type MediaThreads,
} from '../../src/media/media-threads.ts';
import { MediaRejectedError } from '../../src/media/types.ts';
import { flatJpeg, photoJpeg } from '../helpers/images.ts';
import { tempDirs } from './helpers.ts';

const SIDE = 256;
const LIMIT = 50_000_000;

/** sharp's tile of the same JPEG: what the decoder stands in for. */
const sharpTile = (bytes: Buffer) =>
  sharp(bytes).resize({ width: SIDE, height: SIDE, fit: 'cover', position: 'centre' }).raw().toBuffer();

const meanDifference = (a: Uint8Array, b: Uint8Array): number => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] as number) - (b[i] as number));
  return sum / a.length;
};

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

describe('the JPEG tile decoder (libjpeg-turbo in WebAssembly)', () => {
  it('is built from the sources beside its build script (npm run build:jpeg after changing them)', () => {
    const recipe = path.resolve(import.meta.dirname, '../../scripts/libjpeg-wasm');
    const listed = readFileSync(
      path.resolve(import.meta.dirname, '../../src/media/libjpeg-turbo.wasm.sources'),
      'utf8',
    )
      .trim()
      .split('\n')
      .map((line) => line.split(/\s+/) as [string, string]);
    expect(listed.map(([, name]) => name)).toEqual([
      'build.sh',
      'glue.c',
      'tile.c',
      'jconfig.h',
      'jconfigint.h',
    ]);
    for (const [hash, name] of listed) {
      expect(
        createHash('sha256')
          .update(readFileSync(path.join(recipe, name)))
          .digest('hex'),
        name,
      ).toBe(hash);
    }
  });

  it('frames and colours the tile as sharp does, at every scale it decodes at', async () => {
    // Short sides from under the tile (enlarged) to eight times it (decoded at 1/8), both aspects.
    for (const [width, height] of [
      [180, 150],
      [300, 420],
      [900, 700],
      [640, 1400],
      [2200, 2100],
    ] as const) {
      const bytes = await photoJpeg(width + height, width, height);
      const tile = jpegTile(bytes, SIDE);
      expect(tile?.data.length, `${width}×${height}`).toBe(SIDE * SIDE * 3);
      expect(meanDifference(tile?.data as Buffer, await sharpTile(bytes)), `${width}×${height}`).toBeLessThan(
        3,
      );
    }
  });

  it('puts an edge where sharp puts it: the centre crop is not shifted', async () => {
    // Left half black, right half white, 1000×500: the tile shows the middle 500 columns.
    const raw = Buffer.alloc(1000 * 500 * 3);
    for (let y = 0; y < 500; y++) raw.fill(255, (y * 1000 + 500) * 3, (y + 1) * 1000 * 3);
    const bytes = await sharp(raw, { raw: { width: 1000, height: 500, channels: 3 } })
      .jpeg({ quality: 95 })
      .toBuffer();
    const tile = jpegTile(bytes, SIDE)?.data as Buffer;
    const at = (x: number) => tile[(100 * SIDE + x) * 3] as number;
    expect(at(120)).toBeLessThan(10);
    expect(at(136)).toBeGreaterThan(245);
    expect(at(126)).toBeLessThan(at(130));
  });

  it('gives a flat photo back flat, in its colour, baseline, progressive and 4:4:4 alike', async () => {
    for (const colour of [
      { r: 200, g: 30, b: 40 },
      { r: 20, g: 120, b: 220 },
      { r: 250, g: 250, b: 250 },
    ]) {
      const base = await flatJpeg(colour, 700, 500);
      for (const bytes of [
        base,
        await sharp(base).jpeg({ progressive: true, quality: 95 }).toBuffer(),
        await sharp(base).jpeg({ chromaSubsampling: '4:4:4', quality: 95 }).toBuffer(),
      ]) {
        const tile = jpegTile(bytes, SIDE)?.data as Buffer;
        const expected = await sharpTile(bytes);
        for (let i = 0; i < tile.length; i += 997) {
          expect(Math.abs((tile[i] as number) - (expected[i] as number))).toBeLessThanOrEqual(1);
        }
      }
    }
  });

  it("refuses a photo over the pixel limit from its header, saying so in sharp's words", async () => {
    const bytes = await photoJpeg(4, 400, 300);
    expect(() => jpegTile(bytes, SIDE, 400 * 300 - 1)).toThrow(
      expect.objectContaining({ name: 'JpegTooLargeError', width: 400, height: 300 }),
    );
    expect(() => jpegTile(bytes, SIDE, 400 * 300 - 1)).toThrow(/over the pixel limit/);
    expect(jpegTile(bytes, SIDE, 400 * 300)?.data.length).toBe(SIDE * SIDE * 3);
  });

  it('leaves grey JPEGs to sharp', async () => {
    const grey = await sharp(await photoJpeg(3, 400, 300))
      .toColourspace('b-w')
      .jpeg()
      .toBuffer();
    expect(jpegTile(grey, SIDE)).toBeNull();
  });

  it('refuses a truncated or damaged file with what libjpeg said, and decodes the next one as before', async () => {
    const bytes = await photoJpeg(11, 800, 600);
    const before = jpegTile(bytes, SIDE)?.data as Buffer;
    expect(() => jpegTile(bytes.subarray(0, bytes.length >> 1), SIDE)).toThrow(/Premature end of JPEG file/);
    expect(() => jpegTile(Buffer.from('not a photo at all'), SIDE)).toThrow(JpegDecodeError);
    const broken = Buffer.from(bytes);
    broken.fill(0xff, 400, 420);
    expect(() => jpegTile(broken.subarray(0, 420), SIDE)).toThrow(JpegDecodeError);
    expect(jpegTile(bytes, SIDE)?.data.equals(before)).toBe(true);
  });

  it('answers every damaged variant of a photo with a tile or a clear refusal, and stays usable', async () => {
    const bytes = await photoJpeg(21, 640, 480);
    const progressive = await sharp(bytes).jpeg({ progressive: true }).toBuffer();
    const before = jpegTile(bytes, SIDE)?.data as Buffer;
    let state = 7;
    const next = (n: number) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state % n;
    };
    let refused = 0;
    for (let i = 0; i < 300; i++) {
      const source = i % 2 === 0 ? bytes : progressive;
      const damaged = Buffer.from(source);
      // Bytes overwritten anywhere (headers and tables included), then sometimes cut short.
      for (let k = 0; k <= next(6); k++) damaged[next(damaged.length)] = next(256);
      const input = next(4) === 0 ? damaged.subarray(0, next(damaged.length)) : damaged;
      try {
        expect(jpegTile(input, SIDE)?.data.length ?? SIDE * SIDE * 3).toBe(SIDE * SIDE * 3);
      } catch (error) {
        // A damaged size in the header may also claim more pixels than allowed.
        expect(error instanceof JpegDecodeError || error instanceof JpegTooLargeError, `variant ${i}`).toBe(
          true,
        );
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(20);
    expect(jpegTile(bytes, SIDE)?.data.equals(before)).toBe(true);
  });

  it('decodes on worker threads the same as in the calling thread', async () => {
    const pool = createMediaThreadPool(2);
    try {
      const photos = await Promise.all(
        [1, 2, 3, 4, 5, 6].map((seed) => photoJpeg(seed, 500 + seed * 40, 400)),
      );
      const [onThreads, inThread] = await Promise.all([
        Promise.all(photos.map((bytes) => pool.jpegTile(bytes, SIDE, LIMIT))),
        Promise.all(photos.map((bytes) => inThreadMediaThreads.jpegTile(bytes, SIDE, LIMIT))),
      ]);
      onThreads.forEach((tile, i) => {
        expect(tile?.width).toBe(SIDE);
        expect(tile?.data.equals(inThread[i]?.data as Buffer)).toBe(true);
      });
      // The caller's bytes stay whole: the worker decodes a copy.
      expect((await sharp(photos[0]).metadata()).width).toBe(540);
      const damaged = photos[1]?.subarray(0, 3000) as Buffer;
      await expect(pool.jpegTile(damaged, SIDE, LIMIT)).rejects.toBeInstanceOf(JpegDecodeError);
      expect(
        (await pool.jpegTile(photos[2] as Buffer, SIDE, LIMIT))?.data.equals(inThread[2]?.data as Buffer),
      ).toBe(true);
    } finally {
      await pool.close();
    }
    await expect(pool.jpegTile(Buffer.alloc(10), SIDE, LIMIT)).rejects.toThrow(/closed/);
  });

  it('stores the photo through sharp when the decoder fails for a reason that is not the photo', async () => {
    const failing: MediaThreads = {
      jpegTile: async () => {
        throw new Error('a media thread exited with code 1');
      },
      writeFolder: inThreadMediaThreads.writeFolder,
    };
    const media = createMediaRepository(await dirs.make(), undefined, { threads: failing });
    const bytes = await photoJpeg(13, 900, 700);
    const image = await media.store(bytes, { display: 'later' });
    const raster = readFileSync(path.join(path.dirname(media.absolutePath(image.files.tile)), CELL_FILE));
    const tile = await sharp(bytes)
      .flatten({ background: '#ffffff' })
      .resize({ width: SIDE, height: SIDE, fit: 'cover', position: 'centre' })
      .toColourspace('srgb')
      .raw()
      .toBuffer();
    expect(raster.equals(encodeCellRaster(tile, SIDE, SIDE, 3) as Buffer)).toBe(true);
  });

  it('makes a bulk store of a damaged JPEG a clear "corrupt" rejection that names the cause', async () => {
    const pool = createMediaThreadPool(1);
    const media = createMediaRepository(await dirs.make(), undefined, { threads: pool });
    // Whole in structure (stripJpeg walks it to the end) but naming a quantization table that is
    // not there: only decoding finds out.
    const bytes = Buffer.from(await photoJpeg(12, 1200, 900));
    const frame = bytes.indexOf(Buffer.from([0xff, 0xc0]));
    bytes[frame + 2 + 2 + 6 + 2] = 3;
    const error = await media
      .store(bytes, { display: 'later' })
      .then(
        () => null,
        (e: unknown) => e,
      )
      .finally(() => pool.close());
    expect(error).toBeInstanceOf(MediaRejectedError);
    expect((error as MediaRejectedError).reason).toBe('corrupt');
    expect((error as MediaRejectedError).message).toMatch(
      /damaged or incomplete \(Quantization table 0x03 was not defined\)/,
    );
  });
});
