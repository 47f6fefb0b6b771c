// The cell raster: each stored photo's tile at 128 px as raw RGB, beside tile.jpg, so that a
// mosaic with cells up to that size pastes photos without decoding any JPEG (decoding 2,000
// tiles was half the CPU of a build). A cache: written without flushing to disk, checked when
// read (an empty, short or damaged file reads as null and the build decodes tile.jpg instead).
// Beside it, the tile's luma at 256 px (TILE_LUMA_FILE): with the raster it gives the tile's
// pixels back (detailedTile) for crops that need more than 128 px, without decoding tile.jpg
// (1.6 ms of CPU a tile, most of it sharp's setup: most of a build's cut of its crops).
// Plain JavaScript: the mosaic's decode workers read it without a TypeScript loader.
import { readFileSync } from 'node:fs';
import { instantiateKernels, layout, reserve } from '../mosaic/wasm/kernels.mjs';

export const CELL_FILE = 'cell.rgb';
export const CELL_SIDE = 128;
export const TILE_LUMA_FILE = 'tile.luma';
// Rasters written before the tile luma carry a byte-wise FNV-1a checksum ('SWCR'): they are
// still read. Written now: the four-lane checksum ('SWC2'), a tenth of the time on 48 KB, paid
// at every import and every build that reads the raster.
const FNV_MAGIC = 0x52435753; // 'SWCR' little-endian
const MAGIC = 0x32435753; // 'SWC2' little-endian
const LUMA_MAGIC = 0x594c5753; // 'SWLY' little-endian
const HEADER = 12;

// Halving the tile and the checksum run in the mosaic's WebAssembly kernels (four times as fast
// as in JavaScript: a tenth of a bulk import's main thread), in memory of their own.
const kernels = instantiateKernels();

/**
 * A kernel's checksum of the bytes: enough to tell a whole file from a zeroed or half-written one.
 * FNV-1a for cell rasters written before the tile luma, its four-lane form for those since and the luma.
 */
function checksum(bytes, from, to, hash) {
  const {
    at: [at],
    end,
  } = layout([to - from]);
  reserve(kernels.memory, end);
  new Uint8Array(kernels.memory.buffer).set(bytes.subarray(from, to), at);
  return hash(at, to - from) >>> 0;
}

/**
 * The file for a 256×256 RGB tile's pixels: each output pixel the rounded mean of a 2×2 block.
 * Null for any other size (the build then decodes tile.jpg).
 */
export function encodeCellRaster(pixels, width, height, channels) {
  const side = CELL_SIDE;
  if (width !== side * 2 || height !== side * 2 || channels !== 3) return null;
  const length = side * side * 3;
  const {
    at: [at, halvedAt],
    end,
  } = layout([width * height * 3, length]);
  reserve(kernels.memory, end);
  new Uint8Array(kernels.memory.buffer).set(pixels.subarray(0, width * height * 3), at);
  kernels.halveRgb(at, side, halvedAt);
  const out = Buffer.alloc(HEADER + length);
  out.set(new Uint8Array(kernels.memory.buffer, halvedAt, length), HEADER);
  writeHeader(out, MAGIC, side, 3, kernels.fnv1aLanes(halvedAt, length));
  return out;
}

function writeHeader(out, magic, side, channels, sum) {
  out.writeUInt32LE(magic, 0);
  out.writeUInt16LE(side, 4);
  out.writeUInt16LE(channels, 6);
  out.writeUInt32LE(sum >>> 0, 8);
}

/** The side and pixels of a file with `magic` and `channels`, or null unless whole and intact. */
function readChecked(bytes, magic, channels, hash) {
  if (bytes.length < HEADER || bytes.readUInt32LE(0) !== magic) return null;
  const side = bytes.readUInt16LE(4);
  if (bytes.readUInt16LE(6) !== channels || side < 1 || bytes.length !== HEADER + side * side * channels)
    return null;
  if (checksum(bytes, HEADER, bytes.length, hash) !== bytes.readUInt32LE(8)) return null;
  return { side, data: bytes.subarray(HEADER) };
}

/** The raster's side and RGB pixels, or null unless the file is whole and intact. */
export function readCellRaster(bytes) {
  if (bytes.length >= HEADER && bytes.readUInt32LE(0) === FNV_MAGIC)
    return readChecked(bytes, FNV_MAGIC, 3, kernels.fnv1a);
  // The four-lane checksum runs over whole 16-byte steps: a side that is a multiple of 4.
  if (bytes.length >= HEADER && bytes.readUInt16LE(4) % 4 !== 0) return null;
  return readChecked(bytes, MAGIC, 3, kernels.fnv1aLanes);
}

/**
 * The file for a 256×256 RGB tile's luma (one byte a pixel, JPEG's weights), the detail the cell
 * raster leaves out. Null for any other size, as encodeCellRaster.
 */
export function encodeTileLuma(pixels, width, height, channels) {
  if (width !== CELL_SIDE * 2 || height !== CELL_SIDE * 2 || channels !== 3) return null;
  const count = width * height;
  const {
    at: [at, lumaAt],
    end,
  } = layout([count * 3, count]);
  reserve(kernels.memory, end);
  new Uint8Array(kernels.memory.buffer).set(pixels.subarray(0, count * 3), at);
  kernels.lumaOf(at, count, lumaAt);
  const out = Buffer.alloc(HEADER + count);
  out.set(new Uint8Array(kernels.memory.buffer, lumaAt, count), HEADER);
  writeHeader(out, LUMA_MAGIC, width, 1, kernels.fnv1aLanes(lumaAt, count));
  return out;
}

/** The luma file's side and pixels, or null unless the file is whole and intact. */
export function readTileLuma(bytes) {
  // The four-lane checksum runs over whole 16-byte steps: a side that is a multiple of 4.
  if (bytes.length >= HEADER && bytes.readUInt16LE(4) % 4 !== 0) return null;
  return readChecked(bytes, LUMA_MAGIC, 1, kernels.fnv1aLanes);
}

/**
 * The tile's RGB pixels (twice the raster's side) from a cell raster and the tile's luma, as
 * readCellRaster and readTileLuma return them; null when their sides do not pair. Each pixel
 * keeps its own luma and its 2×2 block's chroma (see detailRegion in the kernels): on real photos
 * closer to the tile's pixels than tile.jpg decodes to.
 */
export function detailedTile(raster, luma) {
  if (!raster || !luma || luma.side !== raster.side * 2) return null;
  const data = detailedRegion(raster, luma, 0, 0, luma.side);
  return { data, info: { width: luma.side, height: luma.side, channels: 3 } };
}

/**
 * The `size` px square from (`x`, `y`) of the tile that a raster and luma pairing as in
 * detailedTile give back, RGB in memory of its own: a crop's pixels without the rest of the tile.
 */
export function detailedRegion(raster, luma, x, y, size) {
  const side = raster.side;
  const count = luma.side * luma.side;
  const {
    at: [rgbAt, lumaAt, outAt],
    end,
  } = layout([side * side * 3, count, size * size * 3]);
  reserve(kernels.memory, end);
  const memory = new Uint8Array(kernels.memory.buffer);
  memory.set(raster.data, rgbAt);
  memory.set(luma.data, lumaAt);
  kernels.detailRegion(rgbAt, lumaAt, side, x, y, size, outAt);
  // Into memory of its own: the kernels' memory is reused by the next call.
  return Buffer.from(memory.slice(outAt, outAt + size * size * 3).buffer);
}

/** A cache file read with `read` (readCellRaster, readTileLuma): null when missing or damaged. */
export function readCacheFile(file, read) {
  try {
    return read(readFileSync(file));
  } catch (error) {
    if (error?.code !== 'ENOENT') throw error;
    return null;
  }
}
