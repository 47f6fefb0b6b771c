import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authors, posts } from '../../src/db/schema.ts';
import { importFolder, nameFromFile } from '../../src/import/importer.ts';
import { runCliToEnd, startCli } from '../helpers/cli.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { photoJpeg } from '../helpers/images.ts';

let ctx: TestContext;
let folder: string;
beforeEach(() => {
  ctx = createTestContext();
  folder = mkdtempSync(join(tmpdir(), 'standwall-import-'));
});
afterEach(() => {
  ctx.dispose();
  rmSync(folder, { recursive: true, force: true });
});

async function writePhotos(dir: string, names: string[], seedBase = 100): Promise<void> {
  mkdirSync(dir, { recursive: true });
  let seed = seedBase;
  for (const name of names) writeFileSync(join(dir, name), await photoJpeg(seed++, 320, 240));
}

describe('importing a folder', () => {
  it('stores each photo under the SHA-256 of its bytes, which is also its post id', async () => {
    await writePhotos(folder, ['a.jpg', 'b.jpg']);
    await importFolder(folder, ctx.ingest, { approve: true, consent: true });
    const stored = ctx.db.$client
      .prepare('select p.remote_id as id, m.sha256 as sha from posts p join media m on m.post_id = p.id')
      .all() as Array<{ id: string; sha: string }>;
    const expected = ['a.jpg', 'b.jpg']
      .map((name) =>
        createHash('sha256')
          .update(readFileSync(join(folder, name)))
          .digest('hex'),
      )
      .sort();
    expect(stored.map((row) => row.sha).sort()).toEqual(expected);
    expect(stored.map((row) => row.id).sort()).toEqual(expected);
    for (const sha of expected)
      expect(readdirSync(join(ctx.dataDir, 'media', sha.slice(0, 2)))).toContain(sha);
  });

  it('imports photos recursively, attributed by sidecar or file name, and reports rejects per file', async () => {
    await writePhotos(folder, ['jane_doe.jpg', 'minsu.jpg']);
    await writePhotos(join(folder, 'rally', 'seoul'), ['kim-ji-won.jpg'], 200);
    writeFileSync(join(folder, 'notes.jpg'), 'this is a text file, not a photo');
    writeFileSync(join(folder, 'empty.png'), '');
    writeFileSync(
      join(folder, 'people.csv'),
      'file,name,handle,region,consent\nminsu.jpg,김민수,@minsu,kr,yes\nrally/seoul/kim-ji-won.jpg,Kim Ji-won,,KR,no\n',
    );

    const summary = await importFolder(folder, ctx.ingest, { approve: false, consent: false });

    expect(summary).toMatchObject({ files: 5, imported: 3, alreadyThere: 0 });
    expect(summary.rejected.map((r) => [r.file, r.reason])).toEqual([
      ['empty.png', 'empty'],
      ['notes.jpg', 'unsupported-type'],
    ]);
    const rows = ctx.db
      .select({
        name: authors.name,
        handle: authors.handle,
        region: posts.region,
        consent: posts.consentPrint,
        status: posts.status,
        network: posts.network,
      })
      .from(posts)
      .innerJoin(authors, (await import('drizzle-orm')).eq(authors.id, posts.authorId))
      .all()
      .sort((a, b) => a.name.localeCompare(b.name));
    expect(rows).toEqual([
      { name: 'jane doe', handle: null, region: null, consent: false, status: 'pending', network: 'import' },
      {
        name: 'Kim Ji-won',
        handle: null,
        region: 'KR',
        consent: false,
        status: 'pending',
        network: 'import',
      },
      { name: '김민수', handle: '@minsu', region: 'KR', consent: true, status: 'pending', network: 'import' },
    ]);
  });

  it('imports nothing new the second time', async () => {
    await writePhotos(folder, ['a.jpg', 'b.jpg', 'c.jpg']);
    const first = await importFolder(folder, ctx.ingest, { approve: true, consent: true });
    const second = await importFolder(folder, ctx.ingest, { approve: true, consent: true });
    expect(first).toMatchObject({ imported: 3, alreadyThere: 0 });
    expect(second).toMatchObject({ imported: 0, alreadyThere: 3 });
    expect(
      ctx.db
        .select()
        .from(posts)
        .all()
        .every((p) => p.status === 'approved' && p.consentPrint),
    ).toBe(true);
  });

  it('stops before storing anything when a sidecar row is wrong', async () => {
    await writePhotos(folder, ['a.jpg']);
    writeFileSync(join(folder, 'people.csv'), 'file,name,consent\na.jpg,Ann,perhaps\n');
    await expect(importFolder(folder, ctx.ingest, { approve: false, consent: false })).rejects.toThrow(
      /people\.csv, row 1: consent: consent must be yes\/no/,
    );
    expect(ctx.db.select().from(posts).all()).toHaveLength(0);
  });

  it('names people after their files', () => {
    expect(nameFromFile('/x/jane_doe-02.jpg')).toBe('jane doe 02');
    expect(nameFromFile('김민수.heic')).toBe('김민수');
  });
});

describe('npm run import', () => {
  it('prints a summary and exits 0, then 1 when nothing could be read', async () => {
    await writePhotos(folder, ['one.jpg', 'two.jpg']);
    const env = { DATA_DIR: ctx.dataDir };
    const ok = await runCliToEnd('import', [folder, '--approve'], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/imported:\s+2 \(approved\)/);
    expect(ok.stderr).toMatch(/import 100%/);

    const junk = mkdtempSync(join(tmpdir(), 'standwall-junk-'));
    writeFileSync(join(junk, 'x.jpg'), 'nope');
    const bad = await runCliToEnd('import', [junk], env);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/x\.jpg: unsupported-type/);
    expect(bad.stderr).toMatch(/no photo could be read/);
    rmSync(junk, { recursive: true, force: true });

    const usage = await runCliToEnd('import', [], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/expected one folder/);
  });

  it('survives kill -9 midway: a rerun ends with every photo once and no orphan file', async () => {
    const count = 24;
    await writePhotos(
      folder,
      Array.from({ length: count }, (_, i) => `p${String(i).padStart(2, '0')}.jpg`),
      300,
    );
    const env = { DATA_DIR: ctx.dataDir };
    const child = startCli('import', [folder], env);
    const dbFile = join(ctx.dataDir, 'standwall.db');
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        try {
          const db = new Database(dbFile, { readonly: true, fileMustExist: true });
          const n = db.prepare('select count(*) from posts').pluck().get() as number;
          db.close();
          if (n >= 3) {
            clearInterval(timer);
            child.kill('SIGKILL');
            resolve();
          }
        } catch {
          // the file or its tables do not exist yet
        }
      }, 20);
      child.on('exit', () => {
        clearInterval(timer);
        reject(new Error('the import finished before it could be killed'));
      });
    });
    await new Promise((resolve) => child.once('close', resolve));

    const rerun = await runCliToEnd('import', [folder], env);
    expect(rerun.code).toBe(0);

    const db = new Database(dbFile, { readonly: true });
    const postCount = db.prepare('select count(*) from posts').pluck().get();
    const distinct = db.prepare('select count(distinct remote_id) from posts').pluck().get();
    const shas = new Set(db.prepare('select sha256 from media').pluck().all() as string[]);
    db.close();
    expect(postCount).toBe(count);
    expect(distinct).toBe(count);
    const mediaRoot = join(ctx.dataDir, 'media');
    const onDisk = readdirSync(mediaRoot).flatMap((prefix) => readdirSync(join(mediaRoot, prefix)));
    expect(new Set(onDisk)).toEqual(shas);
    const leftovers = readdirSync(mediaRoot, { recursive: true }).filter((f) => String(f).endsWith('.tmp'));
    expect(leftovers).toEqual([]);
  });
});
