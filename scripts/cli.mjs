#!/usr/bin/env node
// Runs a command of src/cli (`node scripts/cli.mjs import DIR …`, what `npm run import` runs)
// from a bundle of the sources, built with esbuild into node_modules/.cache/standwall when the
// sources change (a tenth of a second) and reused until they do. Loading TypeScript through
// tsx's loader thread cost every command a third of a second of start-up; an import and a
// mosaic right after it paid that twice. Worker threads and child processes still start from
// the sources (through tsx where they are TypeScript): the bundle keeps each module's own
// import.meta.url, so the files they name beside it are found where they are.
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'src');
const COMMANDS = ['start', 'collect', 'import', 'mosaic', 'user-add'];
/**
 * Pure JavaScript packages bundled with the sources: resolving and loading their hundreds of
 * small modules was a fifth of every command's start (0.40 s against 0.32 s to print the
 * mosaic's usage). Every other package stays external: native ones (sharp, better-sqlite3),
 * ones that start workers or read files beside themselves (pino, node-cron), lazily used ones.
 */
const BUNDLED = new Set(['zod', 'drizzle-orm', 'hono']);

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
const entry = join(SRC, 'cli', `${command}.ts`);
// The command reads its options from process.argv as if it had been started directly.
process.argv = [process.argv[0], entry, ...args];

let bundled = true;
try {
  await ensureBuilt();
} catch (error) {
  // A read-only install, a full disk: the sources through tsx, as before the bundle.
  const reason = error.errors?.[0]?.text ?? error.message.split('\n')[0];
  process.stderr.write(`(running from the sources: no bundle in ${cache}: ${reason})\n`);
  bundled = false;
}
if (bundled) {
  process.setSourceMapsEnabled(true);
  await import(pathToFileURL(join(built, `${command}.mjs`)).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(entry).href);
}

async function ensureBuilt() {
  if (existsSync(built)) {
    touch(built);
    return;
  }
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
    external: externalPackages(),
    outExtension: { '.js': '.mjs' },
    sourcemap: 'inline',
    sourcesContent: false,
    logLevel: 'silent',
    plugins: [
      {
        name: 'own-import-meta-url',
        setup(b) {
          // Sources only: packages stay external. The .mjs kernels read files beside them too
          // (the WebAssembly beside cells-kernel.mjs).
          b.onLoad({ filter: /\.(ts|tsx|mjs)$/ }, (file) => ({
            contents: readFileSync(file.path, 'utf8').replaceAll(
              'import.meta.url',
              JSON.stringify(pathToFileURL(file.path).href),
            ),
            loader: file.path.endsWith('.tsx') ? 'tsx' : file.path.endsWith('.mjs') ? 'js' : 'ts',
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
  // Builds unused for a week go. Not sooner: a server started from one loads some chunks lazily
  // (the HTTP client on its first download), however the sources have changed since.
  const weekAgo = Date.now() - 7 * 24 * 3600 * 1000;
  for (const old of readdirSync(cache)) {
    const dir = join(cache, old);
    const modified = statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
    if (dir !== built && modified < weekAgo) rmSync(dir, { recursive: true, force: true });
  }
  touch(built);
}

/** Every package the project depends on, but BUNDLED, with its subpaths. */
function externalPackages() {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const names = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies });
  return names.filter((name) => !BUNDLED.has(name)).flatMap((name) => [name, `${name}/*`]);
}

/** Marks a build as in use (see the clean-up above). */
function touch(dir) {
  const now = new Date();
  utimesSync(dir, now, now);
}
