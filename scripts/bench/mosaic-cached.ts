/**
 * Mosaic iteration bench: imports a corpus once into a kept data folder, then on every run
 * only builds the mosaic (100×75 cells at 8,000×6,000 by default) and scores it (score.ts).
 * The import of 2,000 photos takes minutes; the mosaic alone, seconds.
 *
 *   npx tsx scripts/bench/mosaic-cached.ts [CORPUS] [--cache DIR] [--out FILE] [--blend N]
 *
 * CORPUS holds tiles/*.jpg and target.jpg (default $MOSAIC_CORPUS or /tmp/corpus);
 * `generated:N` makes N photo-like JPEGs once (the same as mosaic.ts without a corpus).
 * The cache defaults to $TMPDIR/standwall-mosaic-cache-<corpus name>.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readSettings } from '../../src/config/env.ts';
import { createContext } from '../../src/context.ts';
import { importFolder } from '../../src/import/importer.ts';
import { buildMosaic } from '../../src/mosaic/build.ts';
import { generateCorpus } from './mosaic.ts';
import { scoreFiles } from './score.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    cache: { type: 'string' },
    out: { type: 'string' },
    blend: { type: 'string', default: '0' },
    cols: { type: 'string', default: '100' },
    rows: { type: 'string', default: '75' },
    width: { type: 'string', default: '8000' },
    crop: { type: 'string' },
  },
});
const spec = positionals[0] ?? process.env.MOSAIC_CORPUS ?? '/tmp/corpus';
const generated = /^generated:(\d+)$/.exec(spec);
const name = generated ? `generated-${generated[1]}` : basename(resolve(spec));
const cache = values.cache ?? join(tmpdir(), `standwall-mosaic-cache-${name}`);
mkdirSync(cache, { recursive: true });
const corpus = generated ? join(cache, 'corpus') : resolve(spec);
const log = (s: string) => process.stderr.write(`${s}\n`);
if (generated && !existsSync(join(corpus, 'target.jpg'))) {
  await generateCorpus(corpus, Number(generated[1]), log);
}

const configFile = join(cache, 'campaign.json');
writeFileSync(configFile, '{}');
const ctx = createContext(
  readSettings({ DATA_DIR: join(cache, 'data'), CAMPAIGN_CONFIG: configFile, LOG_LEVEL: 'warn' }),
);
try {
  const marker = join(cache, 'imported');
  if (!existsSync(marker)) {
    const t = performance.now();
    const summary = await importFolder(join(corpus, 'tiles'), ctx.ingest, { approve: true, consent: true });
    log(
      `import: ${summary.imported} new, ${summary.alreadyThere} already there in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    writeFileSync(marker, new Date().toISOString());
  }
  const target = join(corpus, 'target.jpg');
  const out = values.out ?? join(cache, 'mosaic.jpg');
  const cols = Number(values.cols);
  const rows = Number(values.rows);
  const t = performance.now();
  const result = await buildMosaic(
    { db: ctx.db, mediaDir: ctx.settings.mediaDir },
    {
      out,
      target,
      grid: { cols, rows },
      width: Number(values.width),
      blend: Number(values.blend),
      crop: values.crop === undefined ? undefined : Number(values.crop),
    },
  );
  const seconds = (performance.now() - t) / 1000;
  const [score] = await scoreFiles(target, [out], [1000, 750]);
  const maxUses = Math.max(...result.manifest.posts.map((p) => p.cells.length));
  process.stdout.write(
    `${JSON.stringify({
      corpus: name,
      ssim: Number(score?.ssim.toFixed(4)),
      deltaE: Number(score?.deltaE.toFixed(2)),
      photos: result.stats.photos,
      shown: result.stats.photosShown,
      maxUses,
      closestRepeat: result.stats.closestRepeat,
      mosaicSeconds: Number(seconds.toFixed(2)),
      phases: result.stats.seconds,
      rssMB: Math.round(process.memoryUsage().rss / 1e6),
      out,
    })}\n`,
  );
} finally {
  ctx.close();
}
