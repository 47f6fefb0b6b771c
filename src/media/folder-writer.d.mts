export declare function writeFolderSync(
  dir: string,
  staging: string,
  files: Array<[name: string, data: Uint8Array, durable: boolean]>,
): boolean;
