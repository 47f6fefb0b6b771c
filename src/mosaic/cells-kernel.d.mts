import type sharpModule from 'sharp';

/** Where a photo's cell comes from: an image file, or a cell raster with its tile to fall back on. */
export type CellSource = string | { raster: string; luma?: string; tile: string };

/** One photo at cell size from its source (see CellSource), raw RGB in a buffer of its own. */
export function decodeSourceWith(
  sharp: typeof sharpModule,
  source: CellSource,
  width: number,
  height: number,
): Promise<Buffer>;

/**
 * One photo at cell size, raw RGB (width × height × 3), cropped around the centre, in a buffer
 * that owns its memory (transferable to another thread).
 */
export function decodeCellWith(
  sharp: typeof sharpModule,
  bytes: Buffer,
  width: number,
  height: number,
): Promise<Buffer>;

/**
 * The region (x0, y0, w, h) of an RGB raster `stride` pixels wide, scaled down to dw × dh by
 * exact area averaging; the result owns its memory (it can be transferred to another thread).
 */
export function areaResize(
  src: Uint8Array,
  stride: number,
  x0: number,
  y0: number,
  w: number,
  h: number,
  dw: number,
  dh: number,
): Buffer;

/** areaResize in JavaScript: the WebAssembly kernel's reference. */
export const areaResizeJs: typeof areaResize;

/**
 * Square crops of one photo at cell size, one per entry of `views`: 0 the whole photo, k + 1
 * crops[k] ([x0, y0, side] in the 128 px cell raster), cut from the raster or the tile (the
 * one given, already decoded, or decoded here).
 */
export function cropCellsWith(
  sharp: typeof sharpModule,
  source: CellSource,
  crops: ReadonlyArray<readonly [number, number, number]>,
  views: readonly number[],
  width: number,
  decodedTile?: DecodedTile,
): Promise<Buffer[]>;

/** A tile decoded whole, RGB. */
export interface DecodedTile {
  data: Buffer;
  info: { width: number; height: number; channels: number };
}

/** A photo's tile (see CellSource), decoded whole. */
export function decodeTileWith(sharp: typeof sharpModule, source: CellSource): Promise<DecodedTile>;
