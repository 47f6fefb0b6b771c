import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { runCliToEnd } from '../helpers/cli.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'standwall-users-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('npm run user:add', () => {
  it('creates an organizer with a scrypt hash, password from STANDWALL_PASSWORD', async () => {
    const result = await runCliToEnd('user-add', ['--username', 'alice', '--role', 'admin'], {
      DATA_DIR: dataDir,
      STANDWALL_PASSWORD: 'a long enough password',
    });
    expect(result.stdout).toContain('created admin "alice"');
    expect(result.code).toBe(0);
    const db = new Database(join(dataDir, 'standwall.db'), { readonly: true });
    const row = db.prepare('select username, role, password_hash as hash from organizers').get() as Record<
      string,
      string
    >;
    db.close();
    expect(row).toMatchObject({ username: 'alice', role: 'admin' });
    expect(row.hash).toMatch(/^scrypt\$131072\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(row.hash).not.toContain('a long enough password');
  });

  it('names what is wrong: role, username taken, short password, no password', async () => {
    const env = { DATA_DIR: dataDir, STANDWALL_PASSWORD: 'a long enough password' };
    const badRole = await runCliToEnd('user-add', ['--username', 'bob', '--role', 'owner'], env);
    expect([badRole.code, badRole.stderr]).toEqual([
      2,
      expect.stringContaining('--role: must be admin or moderator'),
    ]);
    const taken = await runCliToEnd('user-add', ['--username', 'alice', '--role', 'moderator'], env);
    expect([taken.code, taken.stderr]).toEqual([2, expect.stringContaining('the username "alice" is taken')]);
    const short = await runCliToEnd('user-add', ['--username', 'bob', '--role', 'moderator'], {
      ...env,
      STANDWALL_PASSWORD: 'short',
    });
    expect([short.code, short.stderr]).toEqual([2, expect.stringContaining('at least 12 characters')]);
    const none = await runCliToEnd('user-add', ['--username', 'bob', '--role', 'moderator'], {
      DATA_DIR: dataDir,
      STANDWALL_PASSWORD: '',
    });
    expect([none.code, none.stderr]).toEqual([2, expect.stringContaining('STANDWALL_PASSWORD')]);
  });
});
