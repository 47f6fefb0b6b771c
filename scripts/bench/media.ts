/**
 * Media pipeline benchmark: a full store() (sniff, sha256, decode, strip, derivatives,
 * features, fsync'd writes) against the least anyone could do with a photo — decode and
 * resize it to the wall size with sharp — on the same corpus, in the same run, with the same
 * concurrency. The ratio between the two is what the pipeline costs on top of that minimum.
 *
 *   npx tsx scripts/bench/media.ts [count] [--rotated-share 0.25]
 */
import { existsSync } from 'node:fs';
import { link, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { readSettings } from '../../src/config/env.ts';
import { createContext } from '../../src/context.ts';
import { importFolder } from '../../src/import/importer.ts';
import { createMediaRepository } from '../../src/media/media-repository.ts';
import { sharp } from '../../src/media/sharp-loaders.ts';

export interface BenchRow {
  name: string;
  seconds: number;
  perSecond: number;
}

export interface BenchMediaOptions {
  count: number;
  /** Where the corpus is generated (and kept, so a second run skips generation). */
  dir: string;
  /** Share of photos carrying EXIF orientation 6, as phones write for portrait shots (default 0). */
  rotatedShare?: number;
  concurrency?: number;
  /**
   * Bare and store() runs alternate this many times and the fastest of each counts, so a
   * neighbour process hogging the CPU during one run does not decide the ratio (default 3).
   */
  rounds?: number;
  /** Also time the whole folder import (files, SQLite rows) over the same corpus. */
  withImport?: boolean;
}

/** The folder import as `npm run import` runs it, into a fresh data dir. */
async function timeImport(
  files: string[],
  scratch: string,
  round: number,
  concurrency: number,
): Promise<number> {
  const dataDir = path.join(scratch, `import-${round}`);
  // Exactly the photos the other rows measure (the corpus folder may hold more).
  const corpusDir = path.join(scratch, `import-${round}-photos`);
  await mkdir(corpusDir, { recursive: true });
  for (const file of files) await link(file, path.join(corpusDir, path.basename(file)));
  await mkdir(dataDir, { recursive: true });
  const config = path.join(dataDir, 'campaign.json');
  await writeFile(config, '{}');
  const ctx = createContext(readSettings({ DATA_DIR: dataDir, CAMPAIGN_CONFIG: config }));
  try {
    const started = performance.now();
    const summary = await importFolder(corpusDir, ctx.ingest, {
      approve: false,
      consent: false,
      concurrency,
    });
    const seconds = (performance.now() - started) / 1000;
    if (summary.rejected.length > 0) throw new Error(`import rejected ${summary.rejected.length} files`);
    return seconds;
  } finally {
    ctx.close();
  }
}

const ASPECTS = [4 / 3, 3 / 2, 16 / 9, 1, 3 / 4, 2 / 3] as const;

/** mulberry32: a small deterministic PRNG, so every run measures the same corpus. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface CorpusEntry {
  file: string;
  width: number;
  height: number;
  rotated: boolean;
}

function plan(count: number, rotatedShare: number): CorpusEntry[] {
  const random = prng(20_240_601);
  return Array.from({ length: count }, (_, i) => {
    const megapixels = 1 + random() * 11;
    const aspect = ASPECTS[Math.floor(random() * ASPECTS.length)] ?? 4 / 3;
    const width = Math.round(Math.sqrt(megapixels * 1e6 * aspect));
    const height = Math.round((megapixels * 1e6) / width);
    const rotated = random() < rotatedShare;
    return { file: `photo-${i}-${width}x${height}${rotated ? '-o6' : ''}.jpg`, width, height, rotated };
  });
}

/**
 * Photo-like enough for codec timing: smooth colour regions (a tiny random image upscaled)
 * with sensor-like grain on top, so JPEG sizes are in the range of phone photos (≈0.3 bytes/px).
 */
let grainTile: Buffer | undefined;

async function makePhoto(entry: CorpusEntry, seed: number): Promise<Buffer> {
  const random = prng(seed);
  const small = Buffer.alloc(16 * 12 * 3);
  for (let i = 0; i < small.length; i++) small[i] = Math.floor(random() * 256);
  const base = await sharp(small, { raw: { width: 16, height: 12, channels: 3 } })
    .resize(entry.width, entry.height, { kernel: 'cubic' })
    .raw()
    .toBuffer();
  // One grain tile, repeated: generating Gaussian noise for 12 MP costs more than the photo.
  grainTile ??= await sharp({
    create: {
      width: 509,
      height: 509,
      channels: 3,
      background: '#808080',
      noise: { type: 'gaussian', mean: 128, sigma: 24 },
    },
  })
    .png({ compressionLevel: 0 })
    .toBuffer();
  let photo = sharp(base, { raw: { width: entry.width, height: entry.height, channels: 3 } }).composite([
    { input: grainTile, blend: 'soft-light', tile: true },
  ]);
  if (entry.rotated) photo = photo.withMetadata({ orientation: 6 });
  return photo.jpeg({ quality: 90 }).toBuffer();
}

async function ensureCorpus(dir: string, entries: CorpusEntry[]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (const [i, entry] of entries.entries()) {
    const file = path.join(dir, entry.file);
    if (!existsSync(file)) await writeFile(file, await makePhoto(entry, 1000 + i));
    files.push(file);
  }
  return files;
}

async function timed(files: string[], concurrency: number, task: (bytes: Buffer) => Promise<unknown>) {
  const queue = [...files];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
        await task(await readFile(file));
      }
    }),
  );
  return (performance.now() - started) / 1000;
}

export async function benchMedia(
  opts: BenchMediaOptions,
): Promise<{ rows: BenchRow[]; ratio: number; importRatio?: number }> {
  const concurrency = opts.concurrency ?? 2;
  const files = await ensureCorpus(opts.dir, plan(opts.count, opts.rotatedShare ?? 0));
  const mediaDir = await mkdtemp(path.join(os.tmpdir(), 'standwall-bench-media-'));
  try {
    // Both read from a Buffer: the sharp policy blocks file loaders, and store() takes bytes.
    const bare = (bytes: Buffer) => sharp(bytes).resize(1600).jpeg().toBuffer();
    // Warm up libvips, the thread pools and the code paths outside the measurement.
    for (const file of files.slice(0, 2)) {
      const bytes = await readFile(file);
      await bare(bytes);
      await createMediaRepository(path.join(mediaDir, 'warm-up')).store(bytes);
    }
    let bareSeconds = Number.POSITIVE_INFINITY;
    let storeSeconds = Number.POSITIVE_INFINITY;
    let importSeconds = Number.POSITIVE_INFINITY;
    for (let round = 0; round < (opts.rounds ?? 3); round++) {
      bareSeconds = Math.min(bareSeconds, await timed(files, concurrency, bare));
      // A fresh directory each round: a second store() of the same bytes would only reuse files.
      const repo = createMediaRepository(path.join(mediaDir, `round-${round}`));
      storeSeconds = Math.min(storeSeconds, await timed(files, concurrency, (bytes) => repo.store(bytes)));
      if (opts.withImport)
        importSeconds = Math.min(importSeconds, await timeImport(files, mediaDir, round, concurrency));
    }
    const row = (name: string, seconds: number): BenchRow => ({
      name,
      seconds: Math.round(seconds * 1000) / 1000,
      perSecond: Math.round((files.length / seconds) * 10) / 10,
    });
    const rows = [
      row('sharp decode + resize 1600 + JPEG (bare)', bareSeconds),
      row('media store() (original, wall, thumb, tile, features)', storeSeconds),
    ];
    if (opts.withImport)
      rows.push(row('npm run import (store + SQLite rows, demands, near-duplicates)', importSeconds));
    return {
      rows,
      ratio: Math.round((storeSeconds / bareSeconds) * 100) / 100,
      importRatio: opts.withImport ? Math.round((importSeconds / bareSeconds) * 100) / 100 : undefined,
    };
  } finally {
    await rm(mediaDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const count = Number(args.find((a) => /^\d+$/.test(a)) ?? 50);
  const shareAt = args.indexOf('--rotated-share');
  const rotatedShare = shareAt >= 0 ? Number(args[shareAt + 1]) : 0;
  const dir = path.join(os.tmpdir(), 'standwall-bench-corpus');
  const { rows, ratio, importRatio } = await benchMedia({ count, dir, rotatedShare, withImport: true });
  console.log(
    `${count} photos of 1–12 MP, concurrency 2${rotatedShare ? `, ${rotatedShare * 100}% EXIF-rotated` : ''}`,
  );
  console.table(rows);
  console.log(`ratio store()/bare: ${ratio}; import/bare: ${importRatio}`);
}
