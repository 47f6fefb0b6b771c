import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { removePost } from '../../src/moderation/remove.ts';
import { buildAndRecord, buildMosaic, rebuildMosaic } from '../../src/mosaic/build.ts';
import { escapeHtml } from '../../src/mosaic/credits.ts';
import { csvField, type Manifest } from '../../src/mosaic/manifest.ts';
import { qrMatrix, qrSvg } from '../../src/mosaic/qr.ts';
import { fileMosaicStore, markStaleOnRemoval } from '../../src/mosaic/registry.ts';
import type { TestContext } from '../helpers/context.ts';
import { flatJpeg } from '../helpers/images.ts';
import { addPhoto, eachTestWithContext, pixels } from './helpers.ts';

let ctx: TestContext;
let out: string;
eachTestWithContext((c, o) => {
  ctx = c;
  out = o;
});

const deps = () => ({ db: ctx.db, mediaDir: ctx.settings.mediaDir });

async function people(): Promise<number[]> {
  return [
    await addPhoto(
      ctx,
      await flatJpeg({ r: 200, g: 40, b: 40 }, 300, 300),
      { name: 'Kim Ji-won', handle: 'jiwon' },
      { network: 'bluesky', url: 'https://bsky.app/profile/jiwon/post/1' },
    ),
    await addPhoto(
      ctx,
      await flatJpeg({ r: 40, g: 40, b: 200 }, 300, 300),
      { name: '<script>alert(1)</script>', handle: null },
      { url: 'javascript:alert(1)' },
    ),
    await addPhoto(
      ctx,
      await flatJpeg({ r: 40, g: 200, b: 40 }, 300, 300),
      { name: '=HYPERLINK("x")', handle: '@eq' },
      { network: 'mastodon', url: 'https://m.example/@eq/2' },
    ),
  ];
}

describe('mosaic outputs', () => {
  it('writes a manifest (JSON and CSV), a credits page with escaped names and a QR code, and a deep-zoom viewer', async () => {
    const ids = await people();
    const result = await buildMosaic(deps(), {
      out: join(out, 'wall.jpg'),
      cells: 12,
      width: 600,
      deepZoom: true,
      viewerUrl: 'https://example.org/m/1',
      title: 'Peace & <Quiet>',
    });
    const { files } = result;

    const manifest = JSON.parse(readFileSync(files.manifestJson, 'utf8')) as Manifest;
    expect(manifest.posts.map((p) => p.postId)).toEqual(ids);
    expect(manifest.cells).toHaveLength(manifest.cols * manifest.rows);
    const csv = readFileSync(files.manifestCsv, 'utf8').trim().split('\r\n');
    expect(csv[0]).toBe('cell,col,row,x,y,width,height,post_id,author,handle,network,url,crop');
    expect(csv).toHaveLength(manifest.cells.length + 1);
    const eqRow = csv.find((l) => l.includes('HYPERLINK')) as string;
    // A name that looks like a formula stays text in a spreadsheet.
    expect(eqRow).toContain(`"'=HYPERLINK(""x"")"`);
    expect(eqRow).toContain('mastodon,https://m.example/@eq/2');

    const credits = readFileSync(files.credits, 'utf8');
    expect(credits).toContain('Peace &#38; &#60;Quiet&#62;');
    expect(credits).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(credits).not.toContain('<script>');
    expect(credits).toContain('Kim Ji-won');
    expect(credits).toContain('3 supporters appear');
    expect(credits).toContain(qrSvg('https://example.org/m/1'));

    const viewer = files.viewer as string;
    const dzi = readFileSync(join(viewer, 'mosaic.dzi'), 'utf8');
    expect(dzi).toContain(`Width="${manifest.width}"`);
    expect(dzi).toContain(`Height="${manifest.height}"`);
    expect(existsSync(join(viewer, 'mosaic_files', '0', '0_0.jpeg'))).toBe(true);
    for (const asset of ['index.html', 'viewer.js', 'viewer.css'])
      expect(existsSync(join(viewer, asset))).toBe(true);
    const html = readFileSync(join(viewer, 'index.html'), 'utf8');
    // Self-contained: nothing from another origin.
    expect(html).not.toMatch(/https?:\/\//);
    expect(readFileSync(join(viewer, 'viewer.js'), 'utf8')).not.toMatch(/\bsrc\s*=\s*['"]https?:/);
    const sandbox: {
      window: {
        MOSAIC?: {
          cells: number[];
          posts: Array<{ postId: number; author: string; photo: string; cells: number[] }>;
        };
      };
    } = { window: {} };
    const dataJs = readFileSync(join(viewer, 'data.js'), 'utf8');
    expect(dataJs).not.toContain('</script>');
    runInNewContext(dataJs, sandbox);
    const data = sandbox.window.MOSAIC;
    expect(data?.posts.map((p) => p.author)).toContain('<script>alert(1)</script>');
    for (const p of data?.posts ?? []) {
      expect(existsSync(join(viewer, p.photo))).toBe(true);
      // Every cell the viewer attributes to this post is one the manifest gives it.
      for (const c of p.cells) expect(manifest.cells[c]?.postId).toBe(p.postId);
    }
  });

  it('encodes a QR code that decoders read (matrix checked with zbarimg when written)', () => {
    const m = qrMatrix('https://example.org/m/1');
    expect(m.map((r) => r.map((d) => (d ? '#' : '.')).join(''))).toEqual([
      '#######...##..#.#.#######',
      '#.....#......#.##.#.....#',
      '#.###.#.#...#...#.#.###.#',
      '#.###.#.##...##...#.###.#',
      '#.###.#.#.##....#.#.###.#',
      '#.....#.#.#..###..#.....#',
      '#######.#.#.#.#.#.#######',
      '........##.##.#.#........',
      '#.#####..##..#....#####..',
      '..#.....######...#.#...#.',
      '#..##.#..##.#####..#.#.##',
      '.#####.#..###.###.##....#',
      '..#.######.#####.##.#.###',
      '###.##.#..#..#..#..#.#.#.',
      '#.#...###.###.##..####.##',
      '#...##.#.###..#######...#',
      '#..#..#...##.#..#####.#..',
      '........#.#.##.##...##...',
      '#######......##.#.#.#.###',
      '#.....#.###.#.#.#...##.#.',
      '#.###.#.###.##.######.###',
      '#.###.#.#.....##.##.#####',
      '#.###.#.#..##..#.....##.#',
      '#.....#...##..#.##.###..#',
      '#######.#####....########',
    ]);
    // Longer texts take larger versions, up to the limit.
    expect(qrMatrix('x'.repeat(200))).toHaveLength(57);
    expect(() => qrMatrix('x'.repeat(300))).toThrow(/too long/);
    expect(escapeHtml(`<a href="x">'&`)).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#38;');
    expect(csvField('+1')).toBe("'+1");
    expect(csvField('a,b')).toBe('"a,b"');
  });

  it('marks a mosaic stale when a post in it is removed, and rebuilds it without that post', async () => {
    const ids = await people();
    const store = fileMosaicStore(ctx.dataDir);
    const off = markStaleOnRemoval(ctx.bus, store);
    const built = await buildAndRecord(
      { ...deps(), store },
      { out: join(out, 'm.png'), cells: 12, width: 120 },
    );
    const id = built.id as string;
    expect((await store.get(id))?.postIds).toEqual(ids);
    const other = await buildAndRecord(
      { ...deps(), store },
      { out: join(out, 'c.png'), collage: 'time', width: 120 },
    );

    await removePost({ db: ctx.db, media: ctx.media, bus: ctx.bus }, ids[1] as number, { rule: 'takedown' });
    await new Promise((r) => setTimeout(r, 50));
    const stale = await store.get(id);
    expect(stale).toMatchObject({ stale: true, status: 'ready' });
    expect(stale?.staleReason).toMatch(/removed/);
    expect((await store.get(other.id as string))?.stale).toBe(true);

    const rebuilt = await rebuildMosaic({ ...deps(), store }, id);
    expect(rebuilt.manifest.posts.map((p) => p.postId)).toEqual([ids[0], ids[2]]);
    expect(await store.get(id)).toMatchObject({ stale: false, staleReason: null, postIds: [ids[0], ids[2]] });
    expect((await store.list()).map((r) => r.id).sort()).toEqual([id, other.id].sort());
    off();
  });

  it('renders TIFF and PNG at the requested size', async () => {
    await people();
    for (const name of ['m.tif', 'm.png']) {
      const r = await buildMosaic(deps(), { out: join(out, name), grid: { cols: 4, rows: 3 }, width: 200 });
      expect([r.stats.width, r.stats.height]).toEqual([200, 150]);
      if (name.endsWith('.png')) {
        const img = await pixels(r.files.image);
        expect([img.width, img.height]).toEqual([200, 150]);
      } else {
        expect(readFileSync(r.files.image).subarray(0, 2).toString('latin1')).toBe('II');
      }
    }
  });
});
