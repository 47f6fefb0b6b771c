import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMosaicJobs, type MosaicJob } from '../../src/mosaic/jobs.ts';
import { fileMosaicStore } from '../../src/mosaic/registry.ts';
import { runCliToEnd } from '../helpers/cli.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { addFlatPhotos, tempDir, writeTemp } from './helpers.ts';

let ctx: TestContext;
let out: string;
beforeEach(async () => {
  ctx = createTestContext();
  out = tempDir();
  await addFlatPhotos(ctx, [
    { r: 200, g: 40, b: 40 },
    { r: 40, g: 40, b: 200 },
    { r: 240, g: 230, b: 60 },
  ]);
});
afterEach(() => {
  ctx.dispose();
  rmSync(out, { recursive: true, force: true });
});

const env = () => ({ DATA_DIR: ctx.dataDir, CAMPAIGN_CONFIG: join(ctx.dataDir, 'campaign.json') });

describe('npm run mosaic', () => {
  it('builds a mosaic with the default target, prints where everything is and records it', async () => {
    const file = join(out, 'wall.jpg');
    const started = performance.now();
    const r = await runCliToEnd(
      'mosaic',
      ['--out', file, '--cells', '12', '--width', '240', '--blend', '20'],
      env(),
    );
    // The build's time, its phases counted once (the match's own are parts of them).
    const printed = Number(/^time:\s+([\d.]+) s$/m.exec(r.stdout)?.[1]);
    expect(printed).toBeGreaterThan(0);
    expect(printed).toBeLessThanOrEqual((performance.now() - started) / 1000);
    expect(r.stderr).toMatch(/render/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/photos shown:\s+3 of 3/);
    expect(r.stdout).toContain(join(out, 'wall.viewer', 'index.html'));
    for (const f of [
      'wall.jpg',
      'wall.manifest.json',
      'wall.manifest.csv',
      'wall.credits.html',
      'wall.viewer/mosaic.dzi',
    ]) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const id = /mosaic:\s+(\S+)/.exec(r.stdout)?.[1] as string;
    expect(await fileMosaicStore(ctx.dataDir).get(id)).toMatchObject({ status: 'ready', stale: false });
    expect(readFileSync(join(out, 'wall.credits.html'), 'utf8')).toContain('I Stand for Peace');
  });

  it('says clearly what is wrong with a bad target or bad options', async () => {
    const bad = writeTemp(out, 'target.png', 'not an image at all');
    const r1 = await runCliToEnd(
      'mosaic',
      ['--out', join(out, 'x.jpg'), '--target', bad, '--no-viewer'],
      env(),
    );
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/the target target\.png is not an image/);
    const r2 = await runCliToEnd('mosaic', ['--out', join(out, 'x.jpg'), '--blend', '150'], env());
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/--blend must be between 0 and 100/);
    const r4 = await runCliToEnd('mosaic', ['--out', join(out, 'x.jpg'), '--crop', '0'], env());
    expect(r4.code).toBe(2);
    expect(r4.stderr).toMatch(/crop must be between 1 and 100/);
    const r5 = await runCliToEnd('mosaic', ['--out', join(out, 'x.jpg'), '--crop', 'half'], env());
    expect(r5.code).toBe(2);
    expect(r5.stderr).toMatch(/--crop must be a whole number/);
    const r3 = await runCliToEnd('mosaic', ['--cells', '10'], env());
    expect(r3.code).toBe(2);
    expect(r3.stderr).toMatch(/--out is required/);
  });

  it('runs a build as a background job in its own process, with progress, for the admin page', async () => {
    const store = fileMosaicStore(ctx.dataDir);
    const jobs = createMosaicJobs({ store, env: env() });
    const seen: MosaicJob[] = [];
    const finished = new Promise<MosaicJob>((resolve) => {
      jobs.subscribe((job) => {
        seen.push(job);
        if (job.status !== 'running') resolve(job);
      });
    });
    const id = await jobs.start({ collage: 'colour', width: 120 });
    expect(jobs.get(id)?.status).toBe('running');
    const job = await finished;
    expect(job).toMatchObject({ status: 'done', error: null });
    expect(seen.some((j) => j.progress?.phase === 'render')).toBe(true);
    const record = await store.get(id);
    expect(record).toMatchObject({ status: 'ready' });
    expect(existsSync(record?.files?.image as string)).toBe(true);
    expect(record?.files?.image.startsWith(store.dir(id))).toBe(true);
    expect(existsSync(join(store.dir(id), 'mosaic.viewer', 'index.html'))).toBe(true);
  });
});
