// The cell raster: each stored photo's tile at 128 px as raw RGB, beside tile.jpg, so that a
// mosaic with cells up to that size pastes photos without decoding any JPEG (decoding 2,000
// tiles was half the CPU of a build). A cache: written without flushing to disk, checked when
// read (an empty, short or damaged file reads as null and the build decodes tile.jpg instead).
// Plain JavaScript: the mosaic's decode workers read it without a TypeScript loader.
import { instantiateKernels, layout, reserve } from '../mosaic/wasm/kernels.mjs';

export const CELL_FILE = 'cell.rgb';
export const CELL_SIDE = 128;
const MAGIC = 0x52435753; // 'SWCR' little-endian
const HEADER = 12;

// Halving the tile and the checksum run in the mosaic's WebAssembly kernels (four times as fast
// as in JavaScript: a tenth of a bulk import's main thread), in memory of their own.
const kernels = instantiateKernels();

/** FNV-1a over the bytes: enough to tell a whole file from a zeroed or half-written one. */
function checksum(bytes, from, to) {
  const {
    at: [at],
    end,
  } = layout([to - from]);
  reserve(kernels.memory, end);
  new Uint8Array(kernels.memory.buffer).set(bytes.subarray(from, to), at);
  return kernels.fnv1a(at, to - from) >>> 0;
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
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt16LE(side, 4);
  out.writeUInt16LE(3, 6);
  out.writeUInt32LE(kernels.fnv1a(halvedAt, length) >>> 0, 8);
  return out;
}

/** The raster's side and RGB pixels, or null unless the file is whole and intact. */
export function readCellRaster(bytes) {
  if (bytes.length < HEADER || bytes.readUInt32LE(0) !== MAGIC) return null;
  const side = bytes.readUInt16LE(4);
  if (bytes.readUInt16LE(6) !== 3 || side < 1 || bytes.length !== HEADER + side * side * 3) return null;
  if (checksum(bytes, HEADER, bytes.length) !== bytes.readUInt32LE(8)) return null;
  return { side, data: bytes.subarray(HEADER) };
}
