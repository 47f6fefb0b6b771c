/**
 * Mosaic benchmark: our import + mosaic against metapixel (the classic C tool, Debian package
 * `metapixel`) on the same photos, target and grid (100×75 cells at 8,000×6,000), both scored
 * against the target (SSIM of luma, mean CIEDE2000 at 1000×750; see score.ts).
 *
 *   npx tsx scripts/bench/mosaic.ts [N]            N generated photos (default 2000)
 *   MOSAIC_CORPUS=DIR npx tsx scripts/bench/mosaic.ts   DIR/tiles/*.jpg and DIR/target.jpg
 *
 * Without a corpus it generates N photo-like JPEGs (gradients, blobs, noise; 640–1600 px long
 * side, phone aspects) and a 4000×3000 target of the same kind, all from a fixed seed.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { scoreFiles } from './score.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface BenchRow {
  name: string;
  /** End to end: preparing the photos (import / metapixel-prepare) plus building the mosaic. */
  seconds: number;
  prepareSeconds: number;
  mosaicSeconds: number;
  ssim: number;
  deltaE: number;
  photosShown: number | null;
  maxRepeats: number | null;
  note?: string;
}

export interface BenchOptions {
  photos?: number;
  /** A folder with tiles/*.jpg and target.jpg (the shared corpus builder's layout). */
  corpus?: string;
  cols?: number;
  rows?: number;
  width?: number;
  /** Also build with `--max-repeats N` from the same import (a second standwall row). */
  looseRepeats?: number;
  /** Also build with `--crop PERCENT` from the same import (another standwall row; 100: whole photos). */
  crop?: number;
  /** Skip metapixel even when it is installed. */
  skipMetapixel?: boolean;
  log?: (line: string) => void;
}

/** xorshift32: the same photos on every machine. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

const ASPECTS: Array<[number, number]> = [
  [4, 3],
  [3, 4],
  [16, 9],
  [9, 16],
  [1, 1],
  [3, 2],
  [2, 3],
];

/**
 * A photo-like picture: a two-colour gradient in a random direction, soft blobs of other
 * colours, and sensor-like noise; drawn at 1/4 size and upscaled, as detail is not the point
 * (cells are 80 px) but colour layout is.
 */
async function fakePhoto(
  seed: number,
  width: number,
  height: number,
  quality: number,
  blobCount?: number,
): Promise<Buffer> {
  const rand = rng(seed * 7919 + 17);
  const w = Math.ceil(width / 4);
  const h = Math.ceil(height / 4);
  const colour = () => {
    // Skewed toward the muted colours of real photos, with the odd saturated one.
    const base = rand() * 200 + 30;
    const sat = rand() < 0.2 ? 120 : 50;
    return [0, 1, 2].map(() => Math.min(255, Math.max(0, base + (rand() - 0.5) * 2 * sat)));
  };
  const c0 = colour();
  const c1 = colour();
  const angle = rand() * Math.PI * 2;
  const blobs = Array.from({ length: blobCount ?? 2 + Math.floor(rand() * 5) }, () => ({
    x: rand() * w,
    y: rand() * h,
    r: (blobCount ? 0.03 + rand() * 0.2 : 0.1 + rand() * 0.35) * Math.min(w, h),
    c: colour(),
  }));
  const data = Buffer.alloc(w * h * 3);
  const dx = Math.cos(angle);
  const dy = Math.sin(angle);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const t = Math.min(1, Math.max(0, 0.5 + ((x / w - 0.5) * dx + (y / h - 0.5) * dy)));
      const px = c0.map((v, i) => v * (1 - t) + (c1[i] as number) * t);
      for (const b of blobs) {
        const d = Math.hypot(x - b.x, y - b.y) / b.r;
        if (d < 1) {
          const a = (1 - d * d) ** 2;
          for (let i = 0; i < 3; i++) px[i] = (px[i] as number) * (1 - a) + (b.c[i] as number) * a;
        }
      }
      const n = (rand() - 0.5) * 16;
      for (let i = 0; i < 3; i++)
        data[(y * w + x) * 3 + i] = Math.min(255, Math.max(0, (px[i] as number) + n));
    }
  }
  return sharp(data, { raw: { width: w, height: h, channels: 3 } })
    .resize(width, height, { kernel: 'cubic' })
    .jpeg({ quality, chromaSubsampling: '4:2:0' })
    .toBuffer();
}

export async function generateCorpus(dir: string, n: number, log: (s: string) => void): Promise<void> {
  mkdirSync(join(dir, 'tiles'), { recursive: true });
  const rand = rng(20261126);
  const started = Date.now();
  const jobs = Array.from({ length: n }, (_, i) => {
    const [aw, ah] = ASPECTS[Math.floor(rand() * ASPECTS.length)] as [number, number];
    const long = 640 + Math.floor(rand() * 961);
    const width = aw >= ah ? long : Math.round((long * aw) / ah);
    const height = aw >= ah ? Math.round((long * ah) / aw) : long;
    return { i, width, height, quality: 85 + Math.floor(rand() * 11) };
  });
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++] as (typeof jobs)[number];
        const bytes = await fakePhoto(job.i + 1, job.width, job.height, job.quality);
        writeFileSync(join(dir, 'tiles', `t${String(job.i).padStart(4, '0')}.jpg`), bytes);
      }
    }),
  );
  // The target needs the structure of a scene at every scale, not one soft gradient.
  writeFileSync(join(dir, 'target.jpg'), await fakePhoto(999_999, 4000, 3000, 92, 60));
  log(`generated ${n} photos and a target in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

async function hasMetapixel(): Promise<boolean> {
  try {
    await run('metapixel', ['--version']);
    return true;
  } catch (error) {
    // metapixel --version exits non-zero on some builds but still proves it is there.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/** metapixel's own tables: which library photo it pasted where, to count photos and repeats. */
async function metapixelUsage(tableFile: string): Promise<{ shown: number; maxRepeats: number } | null> {
  if (!existsSync(tableFile)) return null;
  const counts = new Map<string, number>();
  const text = await readFile(tableFile, 'utf8');
  // The protocol (--out) has one line per cell: (x y w h "library/file.jpg.png") ; score
  for (const m of text.matchAll(/^\(\d+ \d+ \d+ \d+ "([^"]+)"\)/gm)) {
    counts.set(m[1] as string, (counts.get(m[1] as string) ?? 0) + 1);
  }
  if (counts.size === 0) return null;
  return { shown: counts.size, maxRepeats: Math.max(...counts.values()) };
}

export async function benchMosaic(opts: BenchOptions = {}): Promise<BenchRow[]> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const cols = opts.cols ?? 100;
  const rows = opts.rows ?? 75;
  const width = opts.width ?? 8000;
  const work = mkdtempSync(join(tmpdir(), 'standwall-bench-mosaic-'));
  const rowsOut: BenchRow[] = [];
  try {
    let corpus = opts.corpus;
    if (!corpus) {
      corpus = join(work, 'corpus');
      await generateCorpus(corpus, opts.photos ?? 2000, log);
    }
    const tiles = join(corpus, 'tiles');
    const target = join(corpus, 'target.jpg');
    const count = readdirSync(tiles).filter((f) => /\.jpe?g$/i.test(f)).length;

    // --- ours: the two commands a user runs, each in its own process ------------------------
    // `npm run import` then `npm run mosaic`, as separate processes like metapixel's two: what
    // the import's media workers set (one libvips thread each) cannot leak into the mosaic.
    const env = {
      ...process.env,
      DATA_DIR: join(work, 'data'),
      CAMPAIGN_CONFIG: join(work, 'campaign.json'),
      LOG_LEVEL: 'warn',
    };
    writeFileSync(env.CAMPAIGN_CONFIG, '{}');
    const cli = (script: string, args: string[]) =>
      run(process.execPath, [join(ROOT, 'scripts/cli.mjs'), script, ...args], {
        cwd: ROOT,
        env,
        maxBuffer: 64 << 20,
      });
    const t = performance.now();
    const imported = await cli('import', [tiles, '--approve', '--consent']);
    const importSeconds = (performance.now() - t) / 1000;
    log(
      `standwall import: ${/imported:?\s*(\d+)/i.exec(imported.stdout)?.[1] ?? '?'} photos in ${importSeconds.toFixed(1)} s`,
    );
    const mosaic = async (name: string, extra: string[], prepareSeconds: number) => {
      const out = join(work, `${name.replace(/\W+/g, '-')}.jpg`);
      const started = performance.now();
      const built = await cli('mosaic', [
        '--out',
        out,
        '--target',
        target,
        '--grid',
        `${cols}x${rows}`,
        '--width',
        String(width),
        '--no-viewer',
        ...extra,
      ]);
      const mosaicSeconds = (performance.now() - started) / 1000;
      log(`${name} mosaic: ${mosaicSeconds.toFixed(1)} s`);
      const manifestFile = /^manifest:\s+(\S+\.json)/m.exec(built.stdout)?.[1];
      if (!manifestFile)
        throw new Error(`npm run mosaic printed no manifest:\n${built.stdout}${built.stderr}`);
      const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as {
        posts: Array<{ cells: unknown[] }>;
      };
      const [score] = await scoreFiles(target, [out]);
      rowsOut.push({
        name,
        seconds: prepareSeconds + mosaicSeconds,
        prepareSeconds,
        mosaicSeconds,
        ssim: score?.ssim ?? Number.NaN,
        deltaE: score?.deltaE ?? Number.NaN,
        photosShown: manifest.posts.length,
        maxRepeats: Math.max(...manifest.posts.map((p) => p.cells.length)),
      });
    };
    await mosaic('standwall', [], importSeconds);
    // The same photos with another crop (100: whole photos only, as before crops): what the
    // default's crops buy in likeness, and what they cost in time.
    if (opts.crop)
      await mosaic(`standwall --crop ${opts.crop}`, ['--crop', String(opts.crop)], importSeconds);
    // The same photos with the repeat cap lifted (every photo still shown at least once): what
    // the fairness rule costs in likeness, for organizers who would rather trade it.
    if (opts.looseRepeats) {
      await mosaic(
        `standwall --max-repeats ${opts.looseRepeats}`,
        ['--max-repeats', String(opts.looseRepeats)],
        importSeconds,
      );
    }

    // --- metapixel -------------------------------------------------------------------------
    if (opts.skipMetapixel) {
      log('metapixel: skipped');
    } else if (!(await hasMetapixel())) {
      log('metapixel: not installed (apt-get install -y metapixel), row left out');
    } else {
      const lib = join(work, 'metapixel-lib');
      mkdirSync(lib, { recursive: true });
      let t = performance.now();
      await run('metapixel-prepare', ['--width=200', '--height=200', tiles, lib], { maxBuffer: 64 << 20 });
      const prepareSeconds = (performance.now() - t) / 1000;
      log(`metapixel-prepare: ${prepareSeconds.toFixed(1)} s`);
      const out = join(work, 'metapixel.jpg');
      const table = join(work, 'metapixel.table');
      const cw = Math.round(width / cols);
      t = performance.now();
      await run(
        'metapixel',
        [
          `--library=${lib}`,
          '-w',
          String(cw),
          '-h',
          String(cw),
          '-s',
          '2',
          '--metapixel',
          `--out=${table}`,
          target,
          out,
        ],
        { maxBuffer: 64 << 20 },
      );
      const mosaicSeconds = (performance.now() - t) / 1000;
      log(`metapixel: ${mosaicSeconds.toFixed(1)} s`);
      const [score] = await scoreFiles(target, [out]);
      const usage = await metapixelUsage(table);
      rowsOut.push({
        name: 'metapixel',
        seconds: prepareSeconds + mosaicSeconds,
        prepareSeconds,
        mosaicSeconds,
        ssim: score?.ssim ?? Number.NaN,
        deltaE: score?.deltaE ?? Number.NaN,
        photosShown: usage?.shown ?? null,
        maxRepeats: usage?.maxRepeats ?? null,
      });
    }

    const [flat] = await scoreFiles(target, [], [1000, 750], [cols, rows]);
    if (flat) {
      rowsOut.push({
        name: `flat colour per cell (${cols}×${rows})`,
        seconds: 0,
        prepareSeconds: 0,
        mosaicSeconds: 0,
        ssim: flat.ssim,
        deltaE: flat.deltaE,
        photosShown: null,
        maxRepeats: null,
        note: 'reference: a perfect one-colour-per-cell matcher',
      });
    }
    void count;
    return rowsOut;
  } finally {
    if (!process.env.KEEP_BENCH) rmSync(work, { recursive: true, force: true });
    else log(`kept ${work}`);
  }
}

export function formatRows(rows: BenchRow[]): string {
  const head = `${'mosaic'.padEnd(30)} ${'prepare s'.padStart(9)} ${'mosaic s'.padStart(9)} ${'total s'.padStart(8)} ${'SSIM'.padStart(6)} ${'ΔE00'.padStart(6)} ${'shown'.padStart(6)} ${'max rep'.padStart(7)}`;
  const lines = rows.map(
    (r) =>
      `${r.name.padEnd(30)} ${r.prepareSeconds.toFixed(1).padStart(9)} ${r.mosaicSeconds.toFixed(1).padStart(9)} ${r.seconds.toFixed(1).padStart(8)} ${r.ssim.toFixed(3).padStart(6)} ${r.deltaE.toFixed(2).padStart(6)} ${String(r.photosShown ?? '-').padStart(6)} ${String(r.maxRepeats ?? '-').padStart(7)}`,
  );
  return [head, ...lines].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const n = process.argv[2] ? Number(process.argv[2]) : 2000;
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write('usage: npx tsx scripts/bench/mosaic.ts [N]\n');
    process.exit(2);
  }
  const rows = await benchMosaic({
    photos: n,
    corpus: process.env.MOSAIC_CORPUS,
    looseRepeats: Number(process.env.MOSAIC_LOOSE_REPEATS ?? 30) || undefined,
    crop: Number(process.env.MOSAIC_CROP ?? 100) || undefined,
  });
  process.stdout.write(`${formatRows(rows)}\n`);
}
