// The cell raster: each stored photo's tile at 128 px as raw RGB, beside tile.jpg, so that a
// mosaic with cells up to that size pastes photos without decoding any JPEG (decoding 2,000
// tiles was half the CPU of a build). A cache: written without flushing to disk, checked when
// read (an empty, short or damaged file reads as null and the build decodes tile.jpg instead).
// Plain JavaScript: the mosaic's decode workers read it without a TypeScript loader.

export const CELL_FILE = 'cell.rgb';
export const CELL_SIDE = 128;
const MAGIC = 0x52435753; // 'SWCR' little-endian
const HEADER = 12;

/** FNV-1a over the bytes: enough to tell a whole file from a zeroed or half-written one. */
function checksum(bytes, from, to) {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ bytes[i], 16777619);
  return h >>> 0;
}

/**
 * The file for a 256×256 RGB tile's pixels: each output pixel the rounded mean of a 2×2 block.
 * Null for any other size (the build then decodes tile.jpg).
 */
export function encodeCellRaster(pixels, width, height, channels) {
  const side = CELL_SIDE;
  if (width !== side * 2 || height !== side * 2 || channels !== 3) return null;
  const out = Buffer.alloc(HEADER + side * side * 3);
  const row = width * 3;
  let o = HEADER;
  for (let y = 0; y < side; y++) {
    let i = y * 2 * row;
    for (let x = 0; x < side; x++, i += 6) {
      for (let c = 0; c < 3; c++, o++) {
        out[o] = (pixels[i + c] + pixels[i + 3 + c] + pixels[i + row + c] + pixels[i + row + 3 + c] + 2) >> 2;
      }
    }
  }
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt16LE(side, 4);
  out.writeUInt16LE(3, 6);
  out.writeUInt32LE(checksum(out, HEADER, out.length), 8);
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
