import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.ts';

const run = (args: string[]) =>
  spawnSync(process.execPath, args, {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });

describe('scripts/cli.mjs, what npm run starts', () => {
  it('runs a command from a bundle of the sources, as the sources through tsx do, and builds it once', () => {
    const bundled = run(['scripts/cli.mjs', 'mosaic', '--help']);
    const sources = run(['--import', 'tsx', 'src/cli/mosaic.ts', '--help']);
    expect(bundled.status).toBe(0);
    expect(bundled.stdout).toBe(sources.stdout);
    expect(bundled.stdout).toMatch(/^usage: npm run mosaic/);
    // The build is in the cache and used again, not made anew.
    const cache = join(ROOT, 'node_modules', '.cache', 'standwall');
    const builds = () =>
      readdirSync(cache)
        .filter((name) => !name.endsWith('.tmp'))
        .map((name) => `${name}:${statSync(join(cache, name)).birthtimeMs}`)
        .sort();
    const before = builds();
    expect(run(['scripts/cli.mjs', 'import', '--help']).stdout).toMatch(/^usage: npm run import/);
    expect(builds()).toEqual(before);
  });

  it('names the commands it knows when given another', () => {
    const wrong = run(['scripts/cli.mjs', 'mosiac']);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/start\|collect\|import\|mosaic\|user-add/);
  });
});
