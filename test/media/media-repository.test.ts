import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32, createDeflate } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CELL_FILE,
  detailedTile,
  readCellRaster,
  readTileLuma,
  TILE_LUMA_FILE,
} from '../../src/media/cell-raster.mjs';
import { createMediaRepository } from '../../src/media/media-repository.ts';
import { sharp } from '../../src/media/sharp-loaders.ts';
import { MediaRejectedError, type MediaRepository, type StoredImage } from '../../src/media/types.ts';
import { FIXTURES, photo, pixelAt, tempDirs } from './helpers.ts';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

let repo: MediaRepository;
beforeAll(async () => {
  repo = createMediaRepository(await dirs.make());
});

const fixture = (name: string) => readFile(path.join(FIXTURES, name));
const read = (image: StoredImage, key: keyof StoredImage['files']) =>
  readFile(repo.absolutePath(image.files[key]));

async function rejection(promise: Promise<unknown>): Promise<MediaRejectedError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MediaRejectedError);
  return error as MediaRejectedError;
}

/** A real, complete PNG of `width`×`height` grey pixels, written by hand so it costs ~1 s and 400 KB. */
async function hugeGreyPng(width: number, height: number): Promise<Buffer> {
  const chunk = (type: string, body: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
    return Buffer.concat([head, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit greyscale, no interlace
  const deflate = createDeflate({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (c: Buffer) => parts.push(c));
  const ended = new Promise((resolve) => deflate.on('end', resolve));
  const rowsPerWrite = 500;
  const rows = Buffer.alloc((width + 1) * rowsPerWrite); // filter byte 0 + black pixels
  for (let y = 0; y < height; y += rowsPerWrite) {
    if (!deflate.write(rows)) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  deflate.end();
  await ended;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.concat(parts)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** True when no file was written under the directory (a rejected photo leaves nothing). */
async function isEmptyTree(dir: string): Promise<boolean> {
  const entries = await readdir(dir, { recursive: true });
  return entries.length === 0;
}

describe('rejections', () => {
  it('rejects 0 bytes as empty', async () => {
    const error = await rejection(repo.store(new Uint8Array(0)));
    expect(error.reason).toBe('empty');
  });

  it('rejects more bytes than the limit before decoding, naming the limit', async () => {
    const dir = await dirs.make();
    const local = createMediaRepository(dir);
    const big = Buffer.alloc(21 * 1024 * 1024, 0);
    big.set([0xff, 0xd8, 0xff, 0xe0]); // looks like a JPEG: the size check comes first anyway
    const error = await rejection(local.store(big));
    expect(error.reason).toBe('too-many-bytes');
    expect(error.message).toBe(
      'The file is 22,020,096 bytes (21 MiB); the limit is 20,971,520 bytes (20 MiB).',
    );
    expect(await isEmptyTree(dir)).toBe(true);
    // And the limit is configurable.
    const small = createMediaRepository(dir, { maxBytes: 1000 });
    expect((await rejection(small.store(await photo(1, 200, 200)))).reason).toBe('too-many-bytes');
  });

  it('rejects a text file named .jpg', async () => {
    const dir = await dirs.make();
    const file = path.join(dir, 'holiday.jpg');
    await writeFile(file, 'This is not a photo, just text in a file called holiday.jpg\n');
    const error = await rejection(repo.store(await readFile(file)));
    expect(error.reason).toBe('unsupported-type');
    expect(error.message).toMatch(/text file.*JPEG, PNG, WebP, AVIF, GIF and HEIC/);
  });

  it('rejects SVG, PDF, TIFF and BMP', async () => {
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40" fill="red"/></svg>',
    );
    const svgError = await rejection(repo.store(svg));
    expect(svgError.reason).toBe('unsupported-type');
    expect(svgError.message).toContain('an SVG drawing');
    const tiff = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#f00' } })
      .tiff()
      .toBuffer();
    for (const bytes of [Buffer.from('%PDF-1.4\n%âãÏÓ\n'), tiff, Buffer.from('BM\x46\x00\x00\x00\x00\x00')]) {
      expect((await rejection(repo.store(bytes))).reason).toBe('unsupported-type');
    }
  });

  it('rejects a truncated JPEG as corrupt instead of storing a half-grey photo', async () => {
    const dir = await dirs.make();
    const local = createMediaRepository(dir);
    const whole = await photo(2, 800, 600);
    const error = await rejection(local.store(whole.subarray(0, Math.floor(whole.length * 0.6))));
    expect(error.reason).toBe('corrupt');
    expect(error.message).toMatch(/damaged or incomplete/);
    expect(await isEmptyTree(dir)).toBe(true);
    // The same JPEG whole is fine: it is the truncation that is refused.
    await expect(local.store(whole)).resolves.toMatchObject({ sourceType: 'jpeg', width: 800, height: 600 });
  });

  it('rejects other damaged files of an accepted type as corrupt', async () => {
    const png = await sharp(await photo(3, 300, 200))
      .png()
      .toBuffer();
    expect((await rejection(repo.store(png.subarray(0, png.length - 2000)))).reason).toBe('corrupt');
    const heic = await fixture('photo.heic');
    expect((await rejection(repo.store(heic.subarray(0, heic.length - 200)))).reason).toBe('corrupt');
    const garbage = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(500, 7)]);
    expect((await rejection(repo.store(garbage))).reason).toBe('corrupt');
  });

  it('rejects a 20000×20000 PNG from its header, naming the limit', async () => {
    const png = await hugeGreyPng(20_000, 20_000);
    expect(png.length).toBeLessThan(1024 * 1024);
    const error = await rejection(repo.store(png));
    expect(error.reason).toBe('too-many-pixels');
    expect(error.message).toBe('The photo is 400,000,000 pixels (20,000 × 20,000); the limit is 50,000,000.');
    // A small JPEG whose frame header claims the same: refused before a pixel is decoded.
    const jpeg = Buffer.from(await photo(3, 300, 200));
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    jpeg.writeUInt16BE(20_000, sof + 5);
    jpeg.writeUInt16BE(20_000, sof + 7);
    const bomb = await rejection(repo.store(jpeg));
    expect([bomb.reason, bomb.message]).toEqual([
      'too-many-pixels',
      'The photo is 400,000,000 pixels (20,000 × 20,000); the limit is 50,000,000.',
    ]);
  });

  it('applies a configured pixel limit to every type, HEIC included', async () => {
    const local = createMediaRepository(await dirs.make(), { maxPixels: 10_000 });
    expect(local.limits).toEqual({ maxBytes: 20 * 1024 * 1024, maxPixels: 10_000 });
    const error = await rejection(local.store(await photo(4, 200, 100)));
    expect(error.reason).toBe('too-many-pixels');
    expect(error.message).toContain('the limit is 10,000');
    expect((await rejection(local.store(await fixture('photo.heic')))).reason).toBe('too-many-pixels');
  });
});

describe('sharp loader policy', () => {
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>';

  it('lets libvips itself refuse SVG and TIFF given straight to sharp', async () => {
    await expect(sharp(Buffer.from(svg)).png().toBuffer()).rejects.toThrow(
      /unsupported image format|blocked/i,
    );
    const tiff = Buffer.from(
      'SUkqAAgAAAAKAAABAwABAAAAAQAAAAEBAwABAAAAAQAAAAIBAwABAAAACAAAAAMBAwABAAAAAQAAAAYBAwABAAAAAQAAABEBBAABAAAAhgAAABUBAwABAAAAAQAAABYBAwABAAAAAQAAABcBBAABAAAAAQAAABwBAwABAAAAAQAAAAAAAAA=',
      'base64',
    );
    await expect(sharp(tiff).png().toBuffer()).rejects.toThrow();
    // The accepted types still load.
    const jpeg = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#00f' } })
      .jpeg()
      .toBuffer();
    await expect(sharp(jpeg).png().toBuffer()).resolves.toBeInstanceOf(Buffer);
  });

  it('is what refuses them: a sharp without the policy renders the same SVG', () => {
    const script = `require('sharp')(Buffer.from(process.argv[1])).png().toBuffer().then((b) => process.stdout.write(String(b.length)))`;
    const out = execFileSync(process.execPath, ['-e', script, svg], { cwd: path.resolve(FIXTURES, '../..') });
    expect(Number(out.toString())).toBeGreaterThan(0);
  });
});

async function expectNoMetadata(image: StoredImage) {
  for (const key of ['original', 'wall', 'thumb', 'tile'] as const) {
    const bytes = await read(image, key);
    const meta = await sharp(bytes).metadata();
    expect(meta.exif, key).toBeUndefined();
    expect(meta.xmp, key).toBeUndefined();
    expect(meta.iptc, key).toBeUndefined();
    expect(meta.orientation, key).toBeUndefined();
    for (const text of ['Exif', 'GPS', 'FixtureCam', 'Fixture Person', 'secret', 'http://ns.adobe.com/xap']) {
      expect(bytes.includes(text), `${key} contains ${text}`).toBe(false);
    }
  }
}

/** The EXIF block has a GPS IFD pointer (tag 0x8825) in its first IFD. */
function hasGpsIfd(exif: Buffer | undefined): boolean {
  if (!exif) return false;
  const tiff = exif.indexOf('Exif\0\0') + 6;
  const le = exif.toString('latin1', tiff, tiff + 2) === 'II';
  const u16 = (o: number) => (le ? exif.readUInt16LE(tiff + o) : exif.readUInt16BE(tiff + o));
  const u32 = (o: number) => (le ? exif.readUInt32LE(tiff + o) : exif.readUInt32BE(tiff + o));
  const ifd = u32(4);
  for (let i = 0; i < u16(ifd); i++) if (u16(ifd + 2 + i * 12) === 0x8825) return true;
  return false;
}

const isRed = ([r, g, b]: number[]) => (r ?? 0) > 180 && (g ?? 255) < 80 && (b ?? 255) < 80;
const isBlue = ([r, g, b]: number[]) => (b ?? 0) > 180 && (r ?? 255) < 80 && (g ?? 255) < 80;

describe('store', () => {
  it('auto-orients an EXIF orientation 6 camera JPEG and strips its EXIF, GPS, XMP and comment', async () => {
    const input = await fixture('exif-orientation6-gps.jpg');
    const inputMeta = await sharp(input).metadata();
    expect([inputMeta.width, inputMeta.height, inputMeta.orientation]).toEqual([240, 160, 6]);
    expect(hasGpsIfd(inputMeta.exif)).toBe(true);
    expect(input.includes('secret xmp text')).toBe(true);

    const image = await repo.store(input);
    expect(image).toMatchObject({ sourceType: 'jpeg', width: 160, height: 240 });
    expect(image.sha256).toMatch(/^[0-9a-f]{64}$/);
    await expectNoMetadata(image);
    const original = await read(image, 'original');
    expect(await sharp(original).metadata()).toMatchObject({ format: 'jpeg', width: 160, height: 240 });
    expect(image.bytes).toBe(original.length);
    // Rotated 90° clockwise: the red block top-left of the sensor image is now top-right.
    expect(isRed(await pixelAt(original, 150, 10))).toBe(true);
    expect(isRed(await pixelAt(original, 10, 10))).toBe(false);
    expect(isBlue(await pixelAt(original, 10, 230))).toBe(true);
    const wall = await read(image, 'wall');
    expect(await sharp(wall).metadata()).toMatchObject({ format: 'webp', width: 160, height: 240 });
    expect(isRed(await pixelAt(wall, 150, 10))).toBe(true);
  });

  it('keeps an upright JPEG bit for bit apart from its metadata', async () => {
    const clean = await photo(9, 640, 480);
    const input = await sharp(clean)
      .withExif({ IFD0: { Artist: 'Fixture Person', Make: 'FixtureCam' } })
      .jpeg({ quality: 90 })
      .toBuffer();
    expect(input.includes('FixtureCam')).toBe(true);
    const image = await repo.store(input);
    await expectNoMetadata(image);
    const original = await read(image, 'original');
    const [a, b] = await Promise.all([sharp(input).raw().toBuffer(), sharp(original).raw().toBuffer()]);
    expect(b.equals(a)).toBe(true);
    expect(original.length).toBeLessThan(input.length);
  });

  it('makes derivatives of the right sizes without enlarging', async () => {
    const image = await repo.store(await photo(11, 3000, 2000));
    expect([image.width, image.height]).toEqual([3000, 2000]);
    const size = async (key: keyof StoredImage['files']) => {
      const m = await sharp(await read(image, key)).metadata();
      return [m.format, m.width, m.height];
    };
    expect(await size('original')).toEqual(['jpeg', 3000, 2000]);
    expect(await size('wall')).toEqual(['webp', 1600, 1067]);
    expect(await size('thumb')).toEqual(['webp', 400, 267]);
    expect(await size('tile')).toEqual(['jpeg', 256, 256]);
    expect(image.files).toEqual({
      original: `${image.sha256.slice(0, 2)}/${image.sha256}/original.jpg`,
      wall: `${image.sha256.slice(0, 2)}/${image.sha256}/wall.webp`,
      thumb: `${image.sha256.slice(0, 2)}/${image.sha256}/thumb.webp`,
      tile: `${image.sha256.slice(0, 2)}/${image.sha256}/tile.jpg`,
    });

    const small = await repo.store(await photo(12, 300, 200));
    const smallWall = await sharp(await read(small, 'wall')).metadata();
    const smallThumb = await sharp(await read(small, 'thumb')).metadata();
    expect([smallWall.width, smallWall.height, smallThumb.width, smallThumb.height]).toEqual([
      300, 200, 300, 200,
    ]);
  });

  it('stores PNG (alpha flattened onto white), WebP and AVIF as JPEG originals', async () => {
    const rgba = Buffer.alloc(120 * 80 * 4);
    for (let i = 0; i < rgba.length; i += 4)
      rgba.set(i < rgba.length / 2 ? [0, 0, 255, 255] : [0, 0, 0, 0], i);
    const png = await sharp(rgba, { raw: { width: 120, height: 80, channels: 4 } })
      .png()
      .toBuffer();
    const pngImage = await repo.store(png);
    expect(pngImage).toMatchObject({ sourceType: 'png', width: 120, height: 80 });
    const pngOriginal = await read(pngImage, 'original');
    expect((await sharp(pngOriginal).metadata()).format).toBe('jpeg');
    expect(isBlue(await pixelAt(pngOriginal, 60, 10))).toBe(true);
    expect((await pixelAt(pngOriginal, 60, 70)).every((v) => v > 245)).toBe(true); // was transparent

    const source = await photo(13, 320, 240);
    for (const [kind, bytes] of [
      ['webp', await sharp(source).webp().toBuffer()],
      ['avif', await sharp(source).avif({ quality: 50 }).toBuffer()],
    ] as const) {
      const image = await repo.store(bytes);
      expect(image).toMatchObject({ sourceType: kind, width: 320, height: 240 });
      expect((await sharp(await read(image, 'original')).metadata()).format).toBe('jpeg');
      await expectNoMetadata(image);
    }
  });

  it('stores the first frame of an animated GIF', async () => {
    const frame = (colour: string) =>
      sharp({ create: { width: 64, height: 48, channels: 3, background: colour } })
        .png()
        .toBuffer();
    const gif = await sharp([await frame('#ff0000'), await frame('#0000ff')], { join: { animated: true } })
      .gif()
      .toBuffer();
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const image = await repo.store(gif);
    expect(image).toMatchObject({ sourceType: 'gif', width: 64, height: 48 });
    expect(isRed(await pixelAt(await read(image, 'original'), 32, 24))).toBe(true);
    expect(isRed(await pixelAt(await read(image, 'tile'), 128, 128))).toBe(true);
  });

  it('decodes HEIC with libheif (wasm) and strips it', async () => {
    const image = await repo.store(await fixture('photo.heic'));
    expect(image).toMatchObject({ sourceType: 'heic', width: 240, height: 160 });
    const original = await read(image, 'original');
    expect(await sharp(original).metadata()).toMatchObject({ format: 'jpeg', width: 240, height: 160 });
    expect(isRed(await pixelAt(original, 10, 10))).toBe(true);
    expect(isBlue(await pixelAt(original, 230, 150))).toBe(true);
  });

  it('applies HEIF irot, and not the EXIF orientation inside the HEIC too', async () => {
    // Carries EXIF orientation 6 with GPS and an irot of 90° clockwise (see scripts/make-fixtures.sh).
    const input = await fixture('photo-rotated.heic');
    expect(input.includes('Exif')).toBe(true);
    expect(input.includes('secret xmp text')).toBe(true);
    const image = await repo.store(input);
    expect(image).toMatchObject({ sourceType: 'heic', width: 160, height: 240 });
    await expectNoMetadata(image);
    const original = await read(image, 'original');
    expect(isRed(await pixelAt(original, 150, 10))).toBe(true);
    expect(isBlue(await pixelAt(original, 10, 230))).toBe(true);
  });

  it('computes features from the tile', async () => {
    const red = await sharp({ create: { width: 500, height: 300, channels: 3, background: '#ff0000' } })
      .png()
      .toBuffer();
    const image = await repo.store(red);
    // Within JPEG rounding of #ff0000 (the tile is stored as JPEG; red decodes as 254).
    const [r, g, b] = [1, 3, 5].map((i) => Number.parseInt(image.meanColor.slice(i, i + 2), 16));
    expect(r).toBeGreaterThanOrEqual(252);
    expect(g).toBeLessThanOrEqual(3);
    expect(b).toBeLessThanOrEqual(3);
    expect(image.labGrid).toHaveLength(48);
    for (let i = 0; i < 48; i += 3) {
      expect(Math.abs((image.labGrid[i] ?? 0) - 53.24)).toBeLessThan(1);
      expect(Math.abs((image.labGrid[i + 1] ?? 0) - 80.09)).toBeLessThan(1.5);
      expect(Math.abs((image.labGrid[i + 2] ?? 0) - 67.2)).toBeLessThan(1.5);
    }
    expect(image.phash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('is idempotent: the same bytes again reuse the files and give the same answer', async () => {
    const dir = await dirs.make();
    const local = createMediaRepository(dir);
    const input = await fixture('exif-orientation6-gps.jpg');
    const first = await local.store(input);
    const snapshot = async () =>
      Promise.all(
        Object.values(first.files).map(async (rel) => {
          const file = local.absolutePath(rel);
          return { rel, mtimeMs: (await stat(file)).mtimeMs, bytes: await readFile(file) };
        }),
      );
    const before = await snapshot();
    const second = await local.store(Uint8Array.from(input));
    expect(second).toEqual(first);
    expect(await snapshot()).toEqual(before);
    const files = await readdir(path.join(dir, first.sha256.slice(0, 2), first.sha256));
    expect(files.sort()).toEqual([
      'cell.rgb',
      'features.json',
      'original.jpg',
      'thumb.webp',
      'tile.jpg',
      'tile.luma',
      'wall.webp',
    ]);
  });

  it('answers a second store from features.json, and measures the tile again when it is gone', async () => {
    const dir = await dirs.make();
    const local = createMediaRepository(dir);
    const input = await photo(34, 1200, 900);
    const first = await local.store(input, { display: 'later' });
    const again = await local.store(input, { display: 'later' });
    expect(again).toEqual(first);
    const known = path.join(dir, first.sha256.slice(0, 2), first.sha256, 'features.json');
    expect(JSON.parse(await readFile(known, 'utf8'))).toMatchObject({
      width: 1200,
      height: 900,
      phash: first.phash,
    });
    // An older store (or a damaged file): the answer comes from the stored tile, within JPEG rounding.
    await writeFile(known, '{"width": "broken"');
    const measured = await local.store(input, { display: 'later' });
    expect([measured.width, measured.height, measured.labGrid.length]).toEqual([1200, 900, 48]);
    measured.labGrid.forEach((v, i) => {
      expect(Math.abs(v - (first.labGrid[i] as number)), `labGrid[${i}]`).toBeLessThan(1.5);
    });
    expect(measured.mosaicGrid).toHaveLength(132);
    measured.mosaicGrid.forEach((v, i) => {
      expect(Math.abs(v - (first.mosaicGrid[i] as number)), `mosaicGrid[${i}]`).toBeLessThan(1.5);
    });
    // What a power cut can leave of it (it is not flushed to disk): empty, measured again too.
    await writeFile(known, '');
    expect((await local.store(input, { display: 'later' })).mosaicGrid).toEqual(measured.mosaicGrid);
    // Written before the mosaic grid was kept: everything else is there, the grid is measured.
    const { mosaicGrid: _, ...withoutGrid } = first;
    await writeFile(known, JSON.stringify({ ...withoutGrid, files: undefined }));
    const older = await local.store(input, { display: 'later' });
    expect(older.mosaicGrid).toHaveLength(132);
    expect(older.phash).toBe(first.phash);
  });

  it('measures what the mosaic matcher compares on the tile: 10×10 luma, then 4×4 a*, b*', async () => {
    const local = createMediaRepository(await dirs.make());
    // Left half black, right half white; the chroma is neutral everywhere.
    const w = 400;
    const data = Buffer.alloc(w * w * 3);
    for (let y = 0; y < w; y++) data.fill(255, (y * w + w / 2) * 3, (y * w + w) * 3);
    const png = await sharp(data, { raw: { width: w, height: w, channels: 3 } })
      .png()
      .toBuffer();
    const { mosaicGrid } = await local.store(png, { display: 'later' });
    expect(mosaicGrid).toHaveLength(132);
    const luma = mosaicGrid.slice(0, 100);
    for (let row = 0; row < 10; row++) {
      for (let col = 0; col < 10; col++) {
        // 0 is black and 40 white; the two middle columns straddle JPEG's ringing at the edge.
        const v = luma[row * 10 + col] as number;
        if (col < 4) expect(v, `luma ${row},${col}`).toBeLessThan(1);
        if (col > 5) expect(v, `luma ${row},${col}`).toBeGreaterThan(39);
      }
    }
    for (const ab of mosaicGrid.slice(100)) expect(Math.abs(ab)).toBeLessThan(1.5);
  });

  it('re-creates missing files of an earlier store', async () => {
    const dir = await dirs.make();
    const local = createMediaRepository(dir);
    const first = await local.store(await fixture('photo.heic'));
    await local.remove(first.sha256);
    expect(existsSync(local.absolutePath(first.files.tile))).toBe(false);
    const again = await local.store(await fixture('photo.heic'));
    expect(again).toEqual(first);
    expect(existsSync(local.absolutePath(first.files.tile))).toBe(true);
  });

  it('stores several photos at once', async () => {
    const inputs = await Promise.all([21, 22, 23, 24].map((seed) => photo(seed, 900, 700)));
    const stored = await Promise.all([...inputs, inputs[0] as Buffer].map((bytes) => repo.store(bytes)));
    expect(new Set(stored.map((s) => s.sha256)).size).toBe(4);
    expect(stored[4]).toEqual(stored[0]);
  });
});

describe("store with display 'later' (bulk import)", () => {
  const filesIn = async (dir: string, sha: string) =>
    (await readdir(path.join(dir, sha.slice(0, 2), sha))).sort();

  it('writes the original and what a mosaic needs only (cell raster, tile luma), upright and stripped, with the same answer shape', async () => {
    const dir = await dirs.make();
    const local = createMediaRepository(dir);
    const input = await fixture('exif-orientation6-gps.jpg');
    const image = await local.store(input, { display: 'later' });
    expect(image).toMatchObject({ sourceType: 'jpeg', width: 160, height: 240 });
    expect(await filesIn(dir, image.sha256)).toEqual([
      'cell.rgb',
      'features.json',
      'original.jpg',
      'tile.luma',
    ]);
    expect(await local.hasDisplayFiles(image.sha256)).toBe(false);
    const original = await readFile(local.absolutePath(image.files.original));
    expect(isRed(await pixelAt(original, 150, 10))).toBe(true);
    expect(original.includes('secret xmp text')).toBe(false);
    const refDir = await dirs.make();
    const reference = await createMediaRepository(refDir).store(input);
    // The tile, made later, is the upright centre square, as a store made now cuts it, and the
    // pixels the raster and luma give back until then.
    await local.ensureDisplayFiles(image.sha256);
    const tile = await readFile(local.absolutePath(image.files.tile));
    expect(await sharp(tile).metadata()).toMatchObject({ format: 'jpeg', width: 256, height: 256 });
    const refTile = await sharp(await readFile(path.join(refDir, reference.files.tile)))
      .raw()
      .toBuffer();
    const stored = path.dirname(local.absolutePath(image.files.tile));
    const detailed = detailedTile(
      readCellRaster(await readFile(path.join(stored, CELL_FILE))),
      readTileLuma(await readFile(path.join(stored, TILE_LUMA_FILE))),
    );
    const made = await sharp(tile).raw().toBuffer();
    let fromCaches = 0;
    let fromMade = 0;
    for (let i = 0; i < refTile.length; i++) {
      fromCaches += Math.abs((detailed?.data[i] ?? 999) - (refTile[i] as number));
      fromMade += Math.abs((made[i] as number) - (refTile[i] as number));
    }
    expect(fromCaches / refTile.length).toBeLessThan(4);
    expect(fromMade / refTile.length).toBeLessThan(4);
    expect(image.labGrid).toHaveLength(48);
    image.labGrid.forEach((v, i) => {
      expect(Math.abs(v - (reference.labGrid[i] as number)), `labGrid[${i}]`).toBeLessThan(3);
    });
  });

  it('still rejects a truncated JPEG as corrupt without the full-size decode', async () => {
    const whole = await photo(31, 1600, 1200);
    const error = await rejection(
      repo.store(whole.subarray(0, Math.floor(whole.length * 0.6)), { display: 'later' }),
    );
    expect(error.reason).toBe('corrupt');
  });

  it('makes the wall, thumb and tile from the original on demand, once, the same as a store made now', async () => {
    const dir = await dirs.make();
    const later = createMediaRepository(dir);
    const now = createMediaRepository(await dirs.make());
    const input = await photo(32, 3000, 2000);
    const image = await later.store(input, { display: 'later' });
    const reference = await now.store(input);
    // Five screens asking at once share one render and leave no temp file behind.
    await Promise.all(Array.from({ length: 5 }, () => later.ensureDisplayFiles(image.sha256)));
    expect(await later.hasDisplayFiles(image.sha256)).toBe(true);
    expect(await filesIn(dir, image.sha256)).toEqual([
      'cell.rgb',
      'features.json',
      'original.jpg',
      'thumb.webp',
      'tile.jpg',
      'tile.luma',
      'wall.webp',
    ]);
    for (const key of ['wall', 'thumb'] as const) {
      const made = await sharp(await readFile(later.absolutePath(image.files[key]))).metadata();
      const ref = await sharp(await readFile(now.absolutePath(reference.files[key]))).metadata();
      expect([made.format, made.width, made.height], key).toEqual([ref.format, ref.width, ref.height]);
    }
    const wall = await readFile(later.absolutePath(image.files.wall));
    const refWall = await readFile(now.absolutePath(reference.files.wall));
    const [a, b] = await Promise.all([pixelAt(wall, 1500, 500), pixelAt(refWall, 1500, 500)]);
    for (let i = 0; i < 3; i++) expect(Math.abs((a[i] as number) - (b[i] as number))).toBeLessThanOrEqual(6);
  });

  it('a later store that wants the display files now makes the missing ones', async () => {
    const dir = await dirs.make();
    const local = createMediaRepository(dir);
    const input = await photo(33, 800, 600);
    const first = await local.store(input, { display: 'later' });
    const second = await local.store(input);
    expect(second).toEqual(first);
    expect(await filesIn(dir, first.sha256)).toEqual([
      'cell.rgb',
      'features.json',
      'original.jpg',
      'thumb.webp',
      'tile.jpg',
      'tile.luma',
      'wall.webp',
    ]);
  });

  it('refuses to make display files for a photo it does not have, or a bad address', async () => {
    const local = createMediaRepository(await dirs.make());
    await expect(local.ensureDisplayFiles('a'.repeat(64))).rejects.toThrow(/ENOENT/);
    await expect(local.ensureDisplayFiles('../etc')).rejects.toThrow(/sha256/);
  });
});

describe('remove, sweep and paths', () => {
  it('remove deletes the directory of a content address and refuses anything else', async () => {
    const local = createMediaRepository(await dirs.make());
    const image = await local.store(await photo(31, 200, 150));
    const dir = path.dirname(local.absolutePath(image.files.original));
    await local.remove(image.sha256);
    expect(existsSync(dir)).toBe(false);
    await expect(local.remove('../../etc')).rejects.toThrow(RangeError);
    await expect(local.remove(image.sha256)).resolves.toBeUndefined(); // already gone is fine
  });

  it('sweep removes old unreferenced directories and old temp files, and keeps the rest', async () => {
    const dir = await dirs.make();
    const local = createMediaRepository(dir);
    const [kept, unreferenced, young] = await Promise.all(
      [41, 42, 43].map(async (seed) => local.store(await photo(seed, 200, 150))),
    );
    if (!kept || !unreferenced || !young) throw new Error('store failed');
    const shaDir = (image: StoredImage) => path.dirname(local.absolutePath(image.files.original));
    const oldTmp = path.join(shaDir(kept), 'wall.webp.0123456789ab.tmp');
    const freshTmp = path.join(shaDir(kept), 'thumb.webp.ba9876543210.tmp');
    await writeFile(oldTmp, 'partial');
    await writeFile(freshTmp, 'in flight');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    for (const p of [oldTmp, shaDir(kept), shaDir(unreferenced)]) await utimes(p, twoHoursAgo, twoHoursAgo);

    const referenced = new Set([kept.sha256]);
    const { removed } = await local.sweep((sha) => referenced.has(sha));
    expect(removed.sort()).toEqual(
      [`${unreferenced.sha256.slice(0, 2)}/${unreferenced.sha256}`, path.relative(dir, oldTmp)].sort(),
    );
    expect(existsSync(shaDir(unreferenced))).toBe(false);
    expect(existsSync(oldTmp)).toBe(false);
    expect(existsSync(freshTmp)).toBe(true);
    for (const rel of Object.values(kept.files)) expect(existsSync(local.absolutePath(rel))).toBe(true);
    // Unreferenced but younger than an hour: a store whose row is not committed yet.
    expect(existsSync(shaDir(young))).toBe(true);
    // With no minimum age, it goes too.
    const second = await local.sweep((sha) => referenced.has(sha), 0);
    expect(second.removed).toContain(`${young.sha256.slice(0, 2)}/${young.sha256}`);
    expect(existsSync(shaDir(young))).toBe(false);
  });

  it("clears a dead writer's staging folder when the photo is stored again, and in the sweep", async () => {
    const dir = await dirs.make();
    const local = createMediaRepository(dir);
    const bytes = await photo(44, 200, 150);
    const sha = createHash('sha256').update(bytes).digest('hex');
    // A process that has exited: its pid names writes that will never finish.
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
    const staging = (name: string, pid: number) =>
      path.join(dir, name.slice(0, 2), `.${name}.${pid}.0123456789ab.tmp`);
    const dead = staging(sha, deadPid);
    await mkdir(dead, { recursive: true });
    await writeFile(path.join(dead, 'original.jpg'), 'half');

    const image = await local.store(bytes);
    expect(existsSync(dead)).toBe(false);
    expect(readdirSync(path.join(dir, sha.slice(0, 2)))).toEqual([sha]);
    expect(readFileSync(local.absolutePath(image.files.original)).length).toBe(image.bytes);

    // Another photo's: the sweep takes a dead writer's at once, and leaves a live one's.
    const other = 'ab'.padEnd(64, '0');
    const [deadOther, liveOther] = [staging(other, deadPid), staging(other, process.pid)];
    for (const folder of [deadOther, liveOther]) await mkdir(folder, { recursive: true });
    const { removed } = await local.sweep(() => true);
    expect(removed).toEqual([path.relative(dir, deadOther)]);
    expect(existsSync(liveOther)).toBe(true);
  });

  it('stores the same photo twice at once into one folder, leaving no staging folder behind', async () => {
    const dir = await dirs.make();
    const local = createMediaRepository(dir);
    const bytes = await photo(45, 200, 150);
    const [a, b] = await Promise.all([
      local.store(bytes, { display: 'later' }),
      local.store(bytes, { display: 'later' }),
    ]);
    expect(a.sha256).toBe(b.sha256);
    expect(readdirSync(path.join(dir, a.sha256.slice(0, 2)))).toEqual([a.sha256]);
    const folder = path.dirname(local.absolutePath(a.files.original));
    expect(readdirSync(folder).sort()).toEqual(['cell.rgb', 'features.json', 'original.jpg', 'tile.luma']);
  });

  it('sweep on a media directory that does not exist yet removes nothing', async () => {
    const local = createMediaRepository(path.join(await dirs.make(), 'not-yet'));
    expect(await local.sweep(() => false)).toEqual({ removed: [] });
  });

  it('absolutePath stays inside the media directory', async () => {
    const dir = await dirs.make();
    const local = createMediaRepository(dir);
    expect(local.absolutePath('ab/abc/original.jpg')).toBe(path.join(dir, 'ab', 'abc', 'original.jpg'));
    expect(() => local.absolutePath('../outside.jpg')).toThrow(RangeError);
    expect(() => local.absolutePath('/etc/passwd')).toThrow(RangeError);
  });
});
