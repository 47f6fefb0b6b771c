export const CELL_FILE: string;
export const CELL_SIDE: number;

/** The cell raster file of a 256×256 RGB tile (2×2 means, 128 px), or null for any other size. */
export function encodeCellRaster(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: number,
): Buffer | null;

/** The raster's side and RGB pixels, or null unless the file is whole and intact. */
export function readCellRaster(bytes: Buffer): { side: number; data: Buffer } | null;
