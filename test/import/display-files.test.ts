import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { media } from '../../src/db/schema.ts';
import { importFolder } from '../../src/import/importer.ts';
import { fillDisplayFiles } from '../../src/ingest/display-files.ts';
import { photoJpeg } from '../helpers/images.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let folder: string;
beforeEach(async () => {
  server = await startTestServer();
  folder = mkdtempSync(join(tmpdir(), 'standwall-import-display-'));
});
afterEach(async () => {
  await server.close();
  rmSync(folder, { recursive: true, force: true });
});

async function importPhotos(count: number, approve: boolean) {
  for (let i = 0; i < count; i++)
    writeFileSync(join(folder, `p${i}.jpg`), await photoJpeg(400 + i, 1200, 900));
  const summary = await importFolder(folder, server.ctx.ingest, { approve, consent: true });
  expect(summary.imported).toBe(count);
  return server.ctx.db.select().from(media).all();
}

const onDisk = (rel: string | null) => existsSync(server.ctx.media.absolutePath(rel as string));

describe('display files of a bulk import', () => {
  it("are left for later with the tile: the import writes the original and the tile's stand-ins, with every row complete", async () => {
    const rows = await importPhotos(3, true);
    for (const row of rows) {
      expect(row.state).toBe('stored');
      expect(onDisk(row.originalPath)).toBe(true);
      const stored = dirname(row.originalPath as string);
      expect([onDisk(join(stored, 'cell.rgb')), onDisk(join(stored, 'tile.luma'))]).toEqual([true, true]);
      expect([onDisk(row.wallPath), onDisk(row.thumbPath), onDisk(row.tilePath)]).toEqual([
        false,
        false,
        false,
      ]);
      expect(row.labGrid).toHaveLength(48);
    }
  });

  it('are made on the first request of an approved photo, then served as usual', async () => {
    const [row] = await importPhotos(1, true);
    const wallUrl = `${server.url}/media/${row?.wallPath}`;
    const responses = await Promise.all(Array.from({ length: 4 }, () => fetch(wallUrl)));
    for (const response of responses) {
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('image/webp');
      const meta = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['webp', 1200, 900]);
    }
    expect([onDisk(row?.wallPath ?? null), onDisk(row?.thumbPath ?? null)]).toEqual([true, true]);
    const thumb = await fetch(`${server.url}/media/${row?.thumbPath}`);
    expect(thumb.status).toBe(200);
    expect((await sharp(Buffer.from(await thumb.arrayBuffer())).metadata()).width).toBe(400);
    const tile = await fetch(`${server.url}/media/${row?.tilePath}`);
    expect(tile.status).toBe(200);
    expect(tile.headers.get('content-type')).toBe('image/jpeg');
    const tileMeta = await sharp(Buffer.from(await tile.arrayBuffer())).metadata();
    expect([tileMeta.format, tileMeta.width, tileMeta.height]).toEqual(['jpeg', 256, 256]);
  });

  it('are not made for a stranger asking for a photo still waiting for a moderator', async () => {
    const [row] = await importPhotos(1, false);
    const response = await fetch(`${server.url}/media/${row?.wallPath}`);
    expect(response.status).toBe(404);
    expect(onDisk(row?.wallPath ?? null)).toBe(false);
  });

  it('are filled in by the background task, approved and pending alike, and only once', async () => {
    const rows = await importPhotos(3, false);
    const first = await fillDisplayFiles(server.ctx.db, server.ctx.media);
    expect(first).toEqual({ checked: 3, made: 3, failed: 0 });
    for (const row of rows)
      expect([onDisk(row.wallPath), onDisk(row.thumbPath), onDisk(row.tilePath)]).toEqual([true, true, true]);
    expect(await fillDisplayFiles(server.ctx.db, server.ctx.media)).toEqual({
      checked: 3,
      made: 0,
      failed: 0,
    });
  });

  it('a lost original is reported as a failure of that photo, not of the run', async () => {
    const rows = await importPhotos(2, true);
    rmSync(server.ctx.media.absolutePath(rows[0]?.originalPath as string));
    expect(await fillDisplayFiles(server.ctx.db, server.ctx.media)).toEqual({
      checked: 2,
      made: 1,
      failed: 1,
    });
  });
});
