import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileKernel, KERNELS, wasmPath } from '../../scripts/build-wasm.mjs';

describe('the WebAssembly kernels', () => {
  it('are committed as their sources compile today (npm run build:wasm after a change)', async () => {
    for (const source of KERNELS) {
      const committed = readFileSync(new URL(`../../${wasmPath(source)}`, import.meta.url));
      const compiled = await compileKernel(source);
      expect(compiled.equals(committed), `${wasmPath(source)} is stale: run npm run build:wasm`).toBe(true);
    }
  }, 60_000);
});
