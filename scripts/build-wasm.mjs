#!/usr/bin/env node
// Compiles the mosaic's AssemblyScript kernels (src/mosaic/wasm/*.as.ts) to the .wasm files
// beside them, which are committed: installs and runs need no compiler. `npm run build:wasm`
// after changing a kernel; test/mosaic/wasm-kernels.test.ts fails while a .wasm is out of date.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Fixed flags: the same source and compiler give the same bytes. */
export const ASC_FLAGS = ['-O3', '--runtime', 'stub', '--enable', 'simd', '--noAssert', '--converge'];

export const KERNELS = ['src/mosaic/wasm/kernels.as.ts'];

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The module compiled from `source` (a path under the repository), as bytes. */
export async function compileKernel(source) {
  const asc = await import('assemblyscript/asc');
  let binary = null;
  const stderr = [];
  const { error } = await asc.main([source, ...ASC_FLAGS, '--outFile', 'out.wasm'], {
    baseDir: ROOT,
    writeFile: (name, contents) => {
      if (name.endsWith('.wasm')) binary = Buffer.from(contents);
    },
    stderr: { write: (text) => stderr.push(String(text)) },
    stdout: { write: () => undefined },
  });
  if (error || !binary)
    throw new Error(`asc ${source}: ${error?.message ?? 'no output'}\n${stderr.join('')}`);
  return binary;
}

export const wasmPath = (source) => source.replace(/\.as\.ts$/, '.wasm');

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const source of KERNELS) {
    const binary = await compileKernel(source);
    writeFileSync(new URL(`../${wasmPath(source)}`, import.meta.url), binary);
    process.stdout.write(`${wasmPath(source)}: ${binary.length} bytes\n`);
  }
}
