import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sharp } from '../../src/media/sharp-loaders.ts';

export const FIXTURES = path.resolve(import.meta.dirname, '../fixtures');

/** Creates temp directories and removes every one of them in `cleanup`. */
export function tempDirs() {
  const made: string[] = [];
  return {
    async make(prefix = 'standwall-media-'): Promise<string> {
      const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
      made.push(dir);
      return dir;
    },
    async cleanup(): Promise<void> {
      await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A photo-like RGB image: a few random colour blobs blurred together, different per seed. */
export async function blobImage(seed: number, width = 256, height = 256) {
  const random = prng(seed);
  const small = Buffer.alloc(6 * 6 * 3);
  for (let i = 0; i < small.length; i++) small[i] = Math.floor(random() * 256);
  return sharp(small, { raw: { width: 6, height: 6, channels: 3 } })
    .resize(width, height, { kernel: 'cubic' })
    .raw()
    .toBuffer({ resolveWithObject: true });
}

/** An encoded photo-like image (JPEG by default) with grain, so codecs have real work. */
export async function photo(seed: number, width: number, height: number): Promise<Buffer> {
  const { data } = await blobImage(seed, width, height);
  const random = prng(seed + 1);
  for (let i = 0; i < data.length; i++)
    data[i] = Math.min(255, Math.max(0, (data[i] ?? 0) + Math.floor(random() * 17) - 8));
  return sharp(data, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** [r, g, b] of one pixel of a decoded image. */
export async function pixelAt(bytes: Buffer, x: number, y: number): Promise<[number, number, number]> {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return [data[i] ?? -1, data[i + 1] ?? -1, data[i + 2] ?? -1];
}
