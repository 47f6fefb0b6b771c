import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { eq } from 'drizzle-orm';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { media } from '../../src/db/schema.ts';
import { importFolder } from '../../src/import/importer.ts';
import { buildMosaic, type MosaicProgress } from '../../src/mosaic/build.ts';
import { MosaicError } from '../../src/mosaic/errors.ts';
import type { Manifest } from '../../src/mosaic/manifest.ts';
import { overallPercent } from '../../src/server/routes/mosaics.tsx';
import type { TestContext } from '../helpers/context.ts';
import { flatJpeg, photoJpeg } from '../helpers/images.ts';
import {
  addFlatPhotos,
  addPhoto,
  BLUE,
  blockColour,
  blocksPng,
  blocksTarget,
  eachTestWithContext,
  GREEN,
  near,
  pixels,
  pngClaiming,
  RED,
  type Rgb3,
  tempDir,
  writeTemp,
  YELLOW,
} from './helpers.ts';

let ctx: TestContext;
let out: string;
eachTestWithContext((c, o) => {
  ctx = c;
  out = o;
});

const deps = () => ({ db: ctx.db, mediaDir: ctx.settings.mediaDir });
const readManifest = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Manifest;

describe('mosaic engine', () => {
  it('gives every cell of a flat-colour target a photo of exactly its colour, and the pixels agree with the manifest', async () => {
    // 8×4 cells: four 4×2 blocks. 4 photos per colour, 2 uses each: only the exact answer fits.
    const colourOf = await addFlatPhotos(ctx, [RED, GREEN, BLUE, YELLOW], 4);
    const block = blockColour;
    const target = await blocksTarget(out);

    const result = await buildMosaic(deps(), {
      out: join(out, 'm.png'),
      target,
      grid: { cols: 8, rows: 4 },
      width: 320,
    });

    expect(result.stats).toMatchObject({
      cols: 8,
      rows: 4,
      width: 320,
      height: 160,
      photos: 16,
      photosShown: 16,
      maxRepeats: 2,
    });
    const manifest = readManifest(result.files.manifestJson);
    const img = await pixels(result.files.image);
    expect([img.width, img.height]).toEqual([320, 160]);
    for (const cell of manifest.cells) {
      const wanted = block(cell.col, cell.row);
      expect(colourOf.get(cell.postId as number), `cell ${cell.col},${cell.row}`).toEqual(wanted);
      // Sample the cell's centre and a corner pixel of the output: the manifest's photo is there.
      for (const [dx, dy] of [
        [cell.width / 2, cell.height / 2],
        [1, 1],
      ] as const) {
        const i = ((cell.y + dy) * img.width + cell.x + dx) * 3;
        expect(near(img.data, i, wanted), `pixel of cell ${cell.cell}`).toBe(true);
      }
    }
    // Two uses of a photo, both in its colour block, never side by side.
    for (const post of manifest.posts) {
      expect(post.cells.length).toBe(2);
    }
  });

  it('matches on the features ingest stored, decoding no photo to match; photos stored before them are measured', async () => {
    const colourOf = await addFlatPhotos(ctx, [RED, BLUE], 2);
    const target = writeTemp(out, 'target.png', await blocksPng([[RED, BLUE]], 40, 40));
    const stored = ctx.db
      .select({ id: media.id, postId: media.postId, grid: media.mosaicGrid })
      .from(media)
      .orderBy(media.id)
      .all();
    expect(stored).toHaveLength(4);
    for (const row of stored) expect(row.grid).toHaveLength(132);
    const build = async (name: string) => {
      const result = await buildMosaic(deps(), {
        out: join(out, name),
        target,
        grid: { cols: 2, rows: 1 },
        width: 80,
        maxRepeats: 1,
      });
      const manifest = readManifest(result.files.manifestJson);
      return manifest.cells.map((c) => colourOf.get(c.postId as number));
    };
    expect(await build('as-stored.png')).toEqual([RED, BLUE]);

    // Every red photo given a blue photo's stored features and the other way round: the
    // matcher goes by what ingest stored, so the cells get the wrong colours.
    const red = stored.filter((r) => colourOf.get(r.postId) === RED);
    const blue = stored.filter((r) => colourOf.get(r.postId) === BLUE);
    const setGrid = (id: number, grid: number[] | null): void => {
      ctx.db.update(media).set({ mosaicGrid: grid }).where(eq(media.id, id)).run();
    };
    for (const [i, r] of red.entries()) setGrid(r.id, blue[i]?.grid ?? null);
    for (const [i, r] of blue.entries()) setGrid(r.id, red[i]?.grid ?? null);
    expect(await build('swapped.png')).toEqual([BLUE, RED]);

    // Rows from before the features were stored: the photos are measured on their pixels.
    for (const row of stored) setGrid(row.id, null);
    expect(await build('measured.png')).toEqual([RED, BLUE]);
  });

  it("reports progress in the order it builds: the admin page's percentage never goes back", async () => {
    await addFlatPhotos(ctx, [RED, GREEN, BLUE, YELLOW], 20);
    const target = writeTemp(
      out,
      'target.png',
      await blocksPng(
        [
          [RED, GREEN],
          [BLUE, YELLOW],
        ],
        40,
        40,
      ),
    );
    for (const stored of [true, false]) {
      // Without stored features the build decodes before matching; with them it does both at once.
      if (!stored) ctx.db.update(media).set({ mosaicGrid: null }).run();
      const events: MosaicProgress[] = [];
      await buildMosaic(
        deps(),
        {
          out: join(out, `p-${stored}.jpg`),
          target,
          grid: { cols: 12, rows: 8 },
          width: 240,
          deepZoom: true,
        },
        (p) => events.push({ ...p }),
      );
      const percents = events.map(overallPercent);
      for (let i = 1; i < percents.length; i++) {
        expect(percents[i], `${events[i - 1]?.phase} → ${events[i]?.phase}`).toBeGreaterThanOrEqual(
          percents[i - 1] as number,
        );
      }
      expect(events.map((e) => e.phase).filter((ph, i, all) => ph !== all[i - 1])).toEqual([
        'prepare',
        'tiles',
        'match',
        'render',
        'encode',
        'viewer',
        'done',
      ]);
      expect(percents.at(-1)).toBe(100);
    }
  });

  it('matches structure inside a cell, not only its mean: stripes get stripes, a split cell the split photo', async () => {
    // Grey-level pictures drawn from a function of (x, y) in 0–1.
    const draw = (w: number, h: number, f: (x: number, y: number) => number) => {
      const data = Buffer.alloc(w * h * 3);
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) data.fill(f(x / w, y / h), (y * w + x) * 3, (y * w + x + 1) * 3);
      return sharp(data, { raw: { width: w, height: h, channels: 3 } });
    };
    // Eight stripes: every sub-cell of the stored 4×4 Lab grid holds one black and one white
    // stripe, so that grid reads a flat L* 50, the same as a grey photo: only a finer look
    // tells them apart.
    const stripes = (x: number) => (Math.floor(x * 8) % 2 === 0 ? 0 : 255);
    const split = (_x: number, y: number) => (y < 0.5 ? 0 : 255);
    // Greys around the mean of black and white, however it is measured (L* 50 is sRGB 119),
    // first: a tie would go to them.
    for (let v = 96; v <= 160; v += 8) {
      await addPhoto(ctx, await flatJpeg({ r: v, g: v, b: v }, 320, 320), { name: `grey ${v}` });
    }
    const ids = {
      stripes: await addPhoto(ctx, await draw(320, 320, stripes).jpeg({ quality: 95 }).toBuffer(), {
        name: 'stripes',
      }),
      split: await addPhoto(ctx, await draw(320, 320, split).jpeg({ quality: 95 }).toBuffer(), {
        name: 'split',
      }),
    };
    // Left cell striped, right cell black above white.
    const target = writeTemp(
      out,
      'target.png',
      await draw(320, 160, (x, y) => (x < 0.5 ? stripes(x * 2) : split(x, y)))
        .png()
        .toBuffer(),
    );
    const result = await buildMosaic(deps(), {
      out: join(out, 'm.png'),
      target,
      grid: { cols: 2, rows: 1 },
      width: 320,
    });
    const byCell = readManifest(result.files.manifestJson).cells.map((c) => c.postId);
    expect(byCell).toEqual([ids.stripes, ids.split]);
  });

  it('fills cells bigger than the 256 px tile from the original when an import left the wall file for later', async () => {
    const folder = tempDir('standwall-mosaic-import-');
    try {
      for (const [i, c] of [RED, GREEN, BLUE, YELLOW].entries()) {
        writeTemp(folder, `colour-${i}.jpg`, await flatJpeg(c, 900, 700));
      }
      const summary = await importFolder(folder, ctx.ingest, { approve: true, consent: true });
      expect(summary.imported).toBe(4);
      const rows = ctx.db.select().from(media).all();
      expect(rows.some((r) => existsSync(ctx.media.absolutePath(r.wallPath as string)))).toBe(false);

      const result = await buildMosaic(deps(), {
        out: join(out, 'big.png'),
        grid: { cols: 2, rows: 2 },
        width: 1200,
      });
      expect(result.stats).toMatchObject({ width: 1200, height: 1200, photosShown: 4 });
      const manifest = readManifest(result.files.manifestJson);
      const img = await pixels(result.files.image);
      const colours = [RED, GREEN, BLUE, YELLOW];
      for (const cell of manifest.cells) {
        const i = ((cell.y + cell.height / 2) * img.width + cell.x + cell.width / 2) * 3;
        expect(
          colours.some((c) => near(img.data, i, c, 6)),
          `cell ${cell.cell}`,
        ).toBe(true);
      }
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it("builds right after a bulk import, whose tile.jpg is left for later: cells, crops and the viewer's photos from the cell raster and luma, or the original where those are damaged", async () => {
    const folder = tempDir('standwall-mosaic-fresh-import-');
    try {
      const colours = [RED, GREEN, BLUE, YELLOW];
      for (const [i, c] of colours.entries())
        writeTemp(folder, `colour-${i}.jpg`, await flatJpeg(c, 900, 700));
      expect((await importFolder(folder, ctx.ingest, { approve: true, consent: true })).imported).toBe(4);
      const rows = ctx.db.select().from(media).all();
      const tiles = rows.map((r) => ctx.media.absolutePath(r.tilePath as string));
      expect(tiles.some((t) => existsSync(t))).toBe(false);
      // The four colours in the four quadrants; cells of 200 px, between the raster's 128 and the tile's 256.
      const quadrants = Buffer.alloc(400 * 400 * 3);
      for (let y = 0; y < 400; y++)
        for (let x = 0; x < 400; x++) {
          const c = colours[(y < 200 ? 0 : 2) + (x < 200 ? 0 : 1)] as Rgb3;
          quadrants.set([c.r, c.g, c.b], (y * 400 + x) * 3);
        }
      const target = writeTemp(
        out,
        'quadrants.png',
        await sharp(quadrants, { raw: { width: 400, height: 400, channels: 3 } })
          .png()
          .toBuffer(),
      );
      const build = async (name: string) => {
        const result = await buildMosaic(deps(), {
          out: join(out, `${name}.png`),
          target,
          grid: { cols: 2, rows: 2 },
          width: 400,
          deepZoom: true,
        });
        const img = await pixels(result.files.image);
        for (const [i, c] of colours.entries()) {
          const at = (((i < 2 ? 100 : 300) * 400 + (i % 2 === 0 ? 100 : 300)) * 3) as number;
          expect(near(img.data, at, c, 6), `${name}: quadrant ${i}`).toBe(true);
        }
        // Each shown supporter's photo in the viewer: a 256 px JPEG of their colour.
        const manifest = readManifest(result.files.manifestJson);
        expect(manifest.posts).toHaveLength(4);
        for (const post of manifest.posts) {
          const photo = join(result.files.viewer as string, 'photos', `${post.postId}.jpg`);
          const meta = await sharp(readFileSync(photo)).metadata();
          expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 256, 256]);
          const { data } = await sharp(readFileSync(photo)).raw().toBuffer({ resolveWithObject: true });
          const cell = manifest.cells.find((c) => c.postId === post.postId) as { x: number; y: number };
          const colour = colours[(cell.y < 200 ? 0 : 2) + (cell.x < 200 ? 0 : 1)] as Rgb3;
          expect(near(data, (128 * 256 + 128) * 3, colour, 6), `${name}: photo of post ${post.postId}`).toBe(
            true,
          );
        }
      };
      await build('fresh');
      // Damaged caches (a disk error, a power cut): the original serves.
      for (const tile of tiles) {
        for (const cache of ['cell.rgb', 'tile.luma']) {
          const file = join(dirname(tile), cache);
          writeFileSync(file, readFileSync(file).subarray(0, 100));
        }
      }
      await build('damaged');
      // The build reads the media folder only: the tiles are still for the media task to make.
      expect(tiles.some((t) => existsSync(t))).toBe(false);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('holds the repeat limit and the minimum distance, shows every photo, and is deterministic', async () => {
    // 14 photos × 4 uses = 56 places for 48 cells: room to keep repeats apart (12 would be an exact
    // cover, a puzzle the greedy can lose).
    for (let i = 0; i < 14; i++) await addPhoto(ctx, await photoJpeg(i + 1, 320, 240), { name: `p${i}` });
    const opts = { out: join(out, 'a.jpg'), cells: 48, width: 480, minDistance: 3 };
    const a = await buildMosaic(deps(), opts);
    const b = await buildMosaic(deps(), { ...opts, out: join(out, 'b.jpg') });

    const m = readManifest(a.files.manifestJson);
    expect(m.cols * m.rows).toBeGreaterThanOrEqual(40);
    const cap = Math.ceil((m.cols * m.rows) / 14);
    expect(m.posts).toHaveLength(14);
    for (const post of m.posts) {
      expect(post.cells.length).toBeGreaterThanOrEqual(1);
      expect(post.cells.length).toBeLessThanOrEqual(cap);
      for (const c1 of post.cells) {
        for (const c2 of post.cells) {
          if (c1 === c2) continue;
          const dx = (c1 % m.cols) - (c2 % m.cols);
          const dy = Math.floor(c1 / m.cols) - Math.floor(c2 / m.cols);
          expect(Math.hypot(dx, dy), `post ${post.postId} at ${c1} and ${c2}`).toBeGreaterThanOrEqual(3);
        }
      }
    }
    expect(a.stats.closestRepeat).toBeGreaterThanOrEqual(3);
    expect(readFileSync(b.files.image).equals(readFileSync(a.files.image))).toBe(true);
    expect(readFileSync(b.files.manifestCsv, 'utf8')).toBe(readFileSync(a.files.manifestCsv, 'utf8'));
  });

  it('builds from the built-in target without any file', async () => {
    await addFlatPhotos(
      ctx,
      [RED, GREEN, BLUE, YELLOW, { r: 250, g: 250, b: 250 }, { r: 20, g: 30, b: 90 }],
      2,
    );
    const result = await buildMosaic(deps(), { out: join(out, 'default.jpg'), cells: 48, width: 400 });
    expect(result.manifest.target).toBe('default');
    expect(result.stats.photosShown).toBe(12);
    const img = await pixels(result.files.image);
    expect(img.width).toBe(result.stats.width);
    // The built-in sky runs from deep blue at the top to a warm dusk: blue above, red below.
    // With 48 places for 48 cells each photo is used exactly 4 times, and the match, minding
    // luminance as SSIM does, gives the dark top rows more navy than bright blue: the top is
    // measured as blue against red, not by its blue alone.
    const rowMean = (row: number, channel: number) => {
      let sum = 0;
      for (let x = 0; x < img.width; x++)
        sum += img.data[((row * result.manifest.cellHeight + 2) * img.width + x) * 3 + channel] as number;
      return sum / img.width;
    };
    const last = result.manifest.rows - 1;
    const blueness = (row: number) => rowMean(row, 2) - rowMean(row, 0);
    expect(blueness(0)).toBeGreaterThan(blueness(last) + 80);
    expect(rowMean(last, 0)).toBeGreaterThan(rowMean(0, 0) + 40);
  });

  it('refuses a target that is not an image, and a pixel bomb, with a clear error', async () => {
    await addFlatPhotos(ctx, [RED, BLUE]);
    const notImage = writeTemp(out, 'target.jpg', 'this is not a picture');
    const bomb = writeTemp(out, 'bomb.png', await pngClaiming(100_000, 100_000));

    const e1 = await buildMosaic(deps(), {
      out: join(out, 'x.jpg'),
      target: notImage,
      cells: 4,
      width: 64,
    }).catch((e) => e);
    expect(e1).toBeInstanceOf(MosaicError);
    expect(e1).toMatchObject({ reason: 'bad-target' });
    expect(e1.message).toMatch(/target\.jpg is not an image/);

    const e2 = await buildMosaic(deps(), {
      out: join(out, 'x.jpg'),
      target: bomb,
      cells: 4,
      width: 64,
    }).catch((e) => e);
    expect(e2).toMatchObject({ reason: 'target-too-large' });
    expect(e2.message).toMatch(/100000×100000 .*more than the limit of 100 MP/);

    const e3 = await buildMosaic(deps(), { out: join(out, 'x.gif'), cells: 4, width: 64 }).catch((e) => e);
    expect(e3).toMatchObject({ reason: 'unsupported-format' });
  });

  it('uses only photos with print consent unless asked, and blends toward the target', async () => {
    const consented = await addFlatPhotos(ctx, [RED, BLUE]);
    const other = await addPhoto(ctx, await photoJpeg(7, 320, 240), { name: 'No Print' }, { consent: false });
    const target = writeTemp(out, 't.png', await blocksPng([[GREEN, GREEN]], 32, 32));

    const print = await buildMosaic(deps(), {
      out: join(out, 'print.png'),
      target,
      grid: { cols: 2, rows: 1 },
      width: 64,
    });
    expect(print.manifest.posts.map((p) => p.postId).sort()).toEqual([...consented.keys()].sort());
    expect(print.manifest.printConsent).toBe(true);

    const screen = await buildMosaic(deps(), {
      out: join(out, 'screen.png'),
      target,
      grid: { cols: 3, rows: 1 },
      width: 96,
      includeUnconsented: true,
      blend: 100,
    });
    expect(screen.manifest.posts.map((p) => p.postId)).toContain(other);
    expect(screen.manifest.printConsent).toBe(false);
    // Blend 100 % reproduces the target.
    const img = await pixels(screen.files.image);
    for (const x of [5, 48, 90]) expect(near(img.data, (16 * img.width + x) * 3, GREEN, 2)).toBe(true);
  });

  it('writes a plain collage ordered by time or by colour, each photo once', async () => {
    const ids: number[] = [];
    const colours = [BLUE, RED, YELLOW, GREEN];
    for (const [i, c] of colours.entries()) {
      ids.push(...(await addFlatPhotos(ctx, [c])).keys());
      void i;
    }
    const byTime = await buildMosaic(deps(), { out: join(out, 'time.jpg'), collage: 'time', width: 200 });
    expect(byTime.manifest.kind).toBe('collage');
    expect(byTime.manifest.cells.map((c) => c.postId).filter((p) => p !== null)).toEqual(ids);

    const byColour = await buildMosaic(deps(), {
      out: join(out, 'colour.jpg'),
      collage: 'colour',
      width: 200,
    });
    const order = byColour.manifest.cells.map((c) => c.postId).filter((p) => p !== null);
    // Hue order from red: red, yellow, green, blue.
    expect(order).toEqual([ids[1], ids[2], ids[3], ids[0]]);
  });
});
