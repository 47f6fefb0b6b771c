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

export const TILE_LUMA_FILE: string;

/** The luma file of a 256×256 RGB tile (one byte a pixel), or null for any other size. */
export function encodeTileLuma(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: number,
): Buffer | null;

/** The luma file's side and pixels, or null unless the file is whole and intact. */
export function readTileLuma(bytes: Buffer): { side: number; data: Buffer } | null;

/** The tile's RGB pixels from its cell raster and luma, or null when their sides do not pair. */
export function detailedTile(
  raster: { side: number; data: Uint8Array } | null,
  luma: { side: number; data: Uint8Array } | null,
): { data: Buffer; info: { width: number; height: number; channels: 3 } } | null;

/** A square of the tile (`size` px from (x, y)) from a raster and luma that pair, RGB. */
export function detailedRegion(
  raster: { side: number; data: Uint8Array },
  luma: { side: number; data: Uint8Array },
  x: number,
  y: number,
  size: number,
): Buffer;

/** A cache file read with `read` (readCellRaster, readTileLuma): null when missing or damaged. */
export function readCacheFile<T>(file: string, read: (bytes: Buffer) => T | null): T | null;
