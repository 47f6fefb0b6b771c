import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFolderSync } from '../../src/media/folder-writer.mjs';
import { createMediaThreadPool, type FolderFile } from '../../src/media/media-threads.ts';
import { tempDirs } from './helpers.ts';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

const files = (tag: string): FolderFile[] => [
  ['original.jpg', Buffer.from(`original ${tag}`), true],
  ['features.json', Buffer.from(`{"tag":"${tag}"}`), false],
  ['cell.rgb', Buffer.alloc(70_000, tag.length), false],
];

describe("a new photo's folder", () => {
  it('appears whole under its name, with its prefix folder, and no staging folder beside it', async () => {
    const root = await dirs.make();
    const dir = path.join(root, 'ab', 'abcdef');
    expect(writeFolderSync(dir, path.join(root, 'ab', '.abcdef.1.x.tmp'), files('one'))).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['cell.rgb', 'features.json', 'original.jpg']);
    expect(readFileSync(path.join(dir, 'original.jpg'), 'utf8')).toBe('original one');
    expect(readFileSync(path.join(dir, 'cell.rgb')).length).toBe(70_000);
    expect(readdirSync(path.join(root, 'ab'))).toEqual(['abcdef']);
  });

  it('is left as it is when it exists already, and the second writer leaves nothing behind', async () => {
    const root = await dirs.make();
    const dir = path.join(root, 'cd', 'cdef');
    writeFolderSync(dir, path.join(root, 'cd', '.cdef.1.a.tmp'), files('first'));
    expect(writeFolderSync(dir, path.join(root, 'cd', '.cdef.1.b.tmp'), files('second'))).toBe(false);
    expect(readFileSync(path.join(dir, 'original.jpg'), 'utf8')).toBe('original first');
    expect(readdirSync(path.join(root, 'cd'))).toEqual(['cdef']);
  });

  it('fails with the file system’s code and removes its staging folder', async () => {
    const root = await dirs.make();
    const dir = path.join(root, 'ef', 'efgh');
    const staging = path.join(root, 'ef', '.efgh.1.c.tmp');
    const bad: FolderFile[] = [...files('x'), ['sub/none.txt', Buffer.from('x'), false]];
    expect(() => writeFolderSync(dir, staging, bad)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(existsSync(staging)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });

  it('is written the same on a media thread, whose errors keep their code', async () => {
    const pool = createMediaThreadPool(2);
    try {
      const root = await dirs.make();
      const written = await Promise.all(
        ['11', '22', '33', '44'].map((sha) =>
          pool.writeFolder(
            path.join(root, sha.slice(0, 1), sha),
            path.join(root, sha.slice(0, 1), `.${sha}.t.tmp`),
            files(sha),
          ),
        ),
      );
      expect(written).toEqual([true, true, true, true]);
      expect(readFileSync(path.join(root, '3', '33', 'features.json'), 'utf8')).toBe('{"tag":"33"}');
      // A prefix that is a file, not a folder.
      writeFileSync(path.join(root, 'f'), 'not a folder');
      await expect(
        pool.writeFolder(path.join(root, 'f', 'ff'), path.join(root, 'f', '.ff.t.tmp'), files('ff')),
      ).rejects.toMatchObject({ code: 'ENOTDIR' });
      mkdirSync(path.join(root, 'g'));
      expect(
        await pool.writeFolder(path.join(root, 'g', 'gg'), path.join(root, 'g', '.gg.t.tmp'), files('g')),
      ).toBe(true);
    } finally {
      await pool.close();
    }
  });
});
