/** The AssemblyScript sources of the committed .wasm kernels. */
export const KERNELS: string[];
export const ASC_FLAGS: string[];
/** The module compiled from `source` (a path under the repository), as bytes. */
export function compileKernel(source: string): Promise<Buffer>;
/** Where the .wasm compiled from `source` is committed. */
export function wasmPath(source: string): string;
