import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { createPooledMediaRepository, type PooledMediaRepository } from '../../src/media/media-pool.ts';
import { createMediaRepository } from '../../src/media/media-repository.ts';
import { MediaRejectedError } from '../../src/media/types.ts';
import { FIXTURES, photo, tempDirs } from './helpers.ts';

const dirs = tempDirs();
const pools: PooledMediaRepository[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await dirs.cleanup();
});

async function pool(workers = 2) {
  const dir = await dirs.make();
  const repository = createPooledMediaRepository(dir, { maxPixels: 40_000_000 }, workers);
  pools.push(repository);
  return { dir, repository };
}

const fixture = (name: string) => readFile(path.join(FIXTURES, name));

describe('the media pipeline in worker threads', () => {
  it('stores JPEG (EXIF-rotated), PNG and HEIC with the same answers and files as in-process', async () => {
    const { dir, repository } = await pool();
    const inline = createMediaRepository(await dirs.make(), { maxPixels: 40_000_000 });
    const inputs = [
      await fixture('exif-orientation6-gps.jpg'),
      await fixture('photo.heic'),
      await sharp(await photo(41, 700, 500))
        .png()
        .toBuffer(),
    ];
    for (const display of ['now', 'later'] as const) {
      const pooled = await Promise.all(inputs.map((bytes) => repository.store(bytes, { display })));
      const local = await Promise.all(inputs.map((bytes) => inline.store(bytes, { display })));
      expect(pooled).toEqual(local);
    }
    const [rotated] = await Promise.all(inputs.map((bytes) => repository.store(bytes)));
    const sha = rotated?.sha256 as string;
    expect((await readdir(path.join(dir, sha.slice(0, 2), sha))).sort()).toEqual([
      'cell.rgb',
      'features.json',
      'original.jpg',
      'thumb.webp',
      'tile.jpg',
      'tile.luma',
      'wall.webp',
    ]);
    expect(repository.limits.maxPixels).toBe(40_000_000);
  });

  it('keeps the caller’s bytes intact (it may need them again) with many stores in flight', async () => {
    const { repository } = await pool(2);
    const inputs = await Promise.all(Array.from({ length: 12 }, (_, i) => photo(50 + i, 640, 480)));
    const copies = inputs.map((b) => Buffer.from(b));
    const stored = await Promise.all(inputs.map((bytes) => repository.store(bytes, { display: 'later' })));
    expect(new Set(stored.map((s) => s.sha256)).size).toBe(12);
    expect(inputs.every((b, i) => b.equals(copies[i] as Buffer))).toBe(true);
  });

  it('rejects a bad photo with the same reason and message as in-process', async () => {
    const { repository } = await pool(1);
    const error = await repository.store(Buffer.from('not a photo at all')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MediaRejectedError);
    expect((error as MediaRejectedError).reason).toBe('unsupported-type');
    const whole = await photo(42, 1600, 1200);
    const truncated = await repository.store(whole.subarray(0, whole.length / 2)).catch((e: unknown) => e);
    expect((truncated as MediaRejectedError).reason).toBe('corrupt');
  });

  it('makes display files in a worker, once for many asks', async () => {
    const { repository } = await pool(2);
    const image = await repository.store(await photo(43, 2000, 1500), { display: 'later' });
    expect(await repository.hasDisplayFiles(image.sha256)).toBe(false);
    await Promise.all(Array.from({ length: 6 }, () => repository.ensureDisplayFiles(image.sha256)));
    expect(await repository.hasDisplayFiles(image.sha256)).toBe(true);
    await expect(repository.ensureDisplayFiles('b'.repeat(64))).rejects.toThrow(/ENOENT/);
  });

  it('starting workers never interrupts decodes elsewhere in the process (the loader policy is set once)', async () => {
    const jpeg = await photo(46, 800, 600);
    let stop = false;
    let failures = 0;
    let decodes = 0;
    const decoding = (async () => {
      while (!stop) {
        await sharp(jpeg)
          .resize(64)
          .raw()
          .toBuffer()
          .then(
            () => decodes++,
            () => failures++,
          );
      }
    })();
    for (let round = 0; round < 3; round++) {
      const { repository } = await pool(2);
      await Promise.all(
        [photo(47 + round, 320, 240), photo(60 + round, 320, 240)].map(async (p) =>
          repository.store(await p),
        ),
      );
      await repository.close();
    }
    stop = true;
    await decoding;
    expect(decodes).toBeGreaterThan(0);
    expect(failures).toBe(0);
    expect(process.env.STANDWALL_SHARP_LOADERS_PID).toBe(String(process.pid));
  });

  it('refuses work after close with a clear error', async () => {
    const { repository } = await pool(1);
    await repository.store(await photo(44, 320, 240));
    await repository.close();
    await expect(repository.store(await photo(45, 320, 240))).rejects.toThrow(/closed/);
  });
});
