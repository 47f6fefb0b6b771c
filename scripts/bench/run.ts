/**
 * `npm run bench`: every benchmark of the project, each printed as a table.
 *
 *   npm run bench                      all of them, at the sizes the issues name
 *   npm run bench -- --only media,wall  some of them
 *   npm run bench -- --quick            small sizes, to check the benchmarks themselves run
 *
 * Sizes can be changed: BENCH_PHOTOS (media/import, default 500), BENCH_POSTS (collect,
 * default 10000), BENCH_CLIENTS (wall, default 2000), BENCH_MOSAIC_PHOTOS (default 2000).
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { only: { type: 'string' }, quick: { type: 'boolean', default: false } },
});
const only = values.only ? new Set(values.only.split(',')) : null;
const quick = values.quick;
const size = (name: string, full: number, small: number) =>
  Number(process.env[name] ?? (quick ? small : full));
const wanted = (name: string) => !only || only.has(name);
const log = (line: string) => process.stderr.write(`${line}\n`);

console.log(
  `standwall benchmarks — ${os.cpus().length} cores, Node ${process.version}, ${new Date().toISOString()}`,
);

if (wanted('media')) {
  const { benchMedia } = await import('./media.ts');
  const count = size('BENCH_PHOTOS', 500, 20);
  const result = await benchMedia({
    count,
    dir: path.join(os.tmpdir(), 'standwall-bench-corpus'),
    withImport: true,
    rounds: quick ? 1 : 2,
  });
  console.log(`\nmedia and import: ${count} photos of 1–12 MP, concurrency 2`);
  console.table(result.rows);
  console.log(
    `store()/bare: ${result.ratio}×   import/bare: ${result.importRatio}×   (aim: import within 2×)`,
  );
}

if (wanted('collect')) {
  const { benchCollect } = await import('./collect.ts');
  const posts = size('BENCH_POSTS', 10_000, 200);
  console.log(`\ncollect: one pass over ${posts} posts served by the local fakes`);
  console.table(await benchCollect({ posts, log }));
}

if (wanted('wall')) {
  const { benchWall } = await import('./wall.ts');
  const clients = size('BENCH_CLIENTS', 2000, 100);
  console.log(`\nwall: ${clients} SSE clients on one server process; approvals through the moderation API`);
  console.table([await benchWall(clients, quick ? 5 : 40)]);
}

if (wanted('mosaic')) {
  const { benchMosaic } = await import('./mosaic.ts');
  const photos = size('BENCH_MOSAIC_PHOTOS', 2000, 60);
  console.log(`\nmosaic: ${photos} photos, 100×75 cells at 8,000×6,000, against metapixel when installed`);
  console.table(
    await benchMosaic(
      quick
        ? { photos, cols: 20, rows: 15, width: 1600, skipMetapixel: true, log }
        : { photos, log, corpus: process.env.MOSAIC_CORPUS, looseRepeats: 30, crop: 100 },
    ),
  );
}
process.exit(0);
