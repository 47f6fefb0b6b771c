#!/usr/bin/env node
// Runs a command of src/cli (`node scripts/cli.mjs import DIR …`, what `npm run import` runs)
// from a bundle of the sources, built with esbuild into node_modules/.cache/standwall when the
// sources change (a tenth of a second) and reused until they do. Loading TypeScript through
// tsx's loader thread cost every command a third of a second of start-up; an import and a
// mosaic right after it paid that twice. Worker threads and child processes still start from
// the sources (through tsx where they are TypeScript): the bundle keeps each module's own
// import.meta.url, so the files they name beside it are found where they are.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'src');
const COMMANDS = ['start', 'collect', 'import', 'mosaic', 'user-add'];

const [command, ...args] = process.argv.slice(2);
if (!COMMANDS.includes(command)) {
  process.stderr.write(`usage: node scripts/cli.mjs ${COMMANDS.join('|')} [options]\n`);
  process.exit(2);
}

/** Changes whenever a source file, this script or esbuild does. */
function stamp() {
  const hash = createHash('sha256');
  const esbuild = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'esbuild', 'package.json'), 'utf8'));
  hash.update(`${esbuild.version}\n${statSync(fileURLToPath(import.meta.url)).mtimeMs}\n`);
  const files = readdirSync(SRC, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
    .sort();
  for (const file of files) {
    const { size, mtimeMs } = statSync(file);
    hash.update(`${relative(SRC, file)}\t${size}\t${mtimeMs}\n`);
  }
  return hash.digest('hex').slice(0, 16);
}

const cache = join(ROOT, 'node_modules', '.cache', 'standwall');
const built = join(cache, stamp());

if (!existsSync(built)) {
  const { build } = await import('esbuild');
  // Built beside and renamed into place: two commands starting at once both build, one wins.
  const staging = `${built}.${process.pid}.tmp`;
  await build({
    entryPoints: Object.fromEntries(COMMANDS.map((name) => [name, join(SRC, 'cli', `${name}.ts`)])),
    outdir: staging,
    bundle: true,
    // Lazily imported modules (the HTTP client) stay lazy, in chunks of their own.
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outExtension: { '.js': '.mjs' },
    sourcemap: 'inline',
    logLevel: 'error',
    plugins: [
      {
        name: 'own-import-meta-url',
        setup(b) {
          b.onLoad({ filter: /\.(ts|tsx)$/ }, (file) => ({
            contents: readFileSync(file.path, 'utf8').replaceAll(
              'import.meta.url',
              JSON.stringify(pathToFileURL(file.path).href),
            ),
            loader: file.path.endsWith('.tsx') ? 'tsx' : 'ts',
          }));
        },
      },
    ],
  });
  mkdirSync(cache, { recursive: true });
  try {
    renameSync(staging, built);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(built)) throw error;
  }
  // Older builds go; one another command is still running from stays until the next change.
  for (const old of readdirSync(cache)) {
    if (join(cache, old) !== built && !old.endsWith('.tmp')) {
      rmSync(join(cache, old), { recursive: true, force: true });
    }
  }
}

// The command reads its options from process.argv as if it had been started directly.
process.argv = [process.argv[0], join(SRC, 'cli', `${command}.ts`), ...args];
process.setSourceMapsEnabled(true);
await import(pathToFileURL(join(built, `${command}.mjs`)).href);
