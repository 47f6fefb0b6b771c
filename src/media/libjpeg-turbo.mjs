// libjpeg-turbo compiled to WebAssembly (libjpeg-turbo.wasm, built by scripts/libjpeg-wasm/build.sh
// from Debian's source; licence in libjpeg-turbo.LICENSE.md): the tile of a plain JPEG straight
// from its bytes, decoded at the smallest of libjpeg's n/8 scales that covers the tile and resized
// in the same module. For a bulk import it takes the place of sharp's pipeline, whose per-photo
// cost on the bench's photos (about 7.5 ms of CPU, most of it libvips' machinery around the
// decode) was twice this. Plain JS: it runs the same in worker threads, under tsx and vitest.
import { readFileSync } from 'node:fs';

const module = new WebAssembly.Module(readFileSync(new URL('./libjpeg-turbo.wasm', import.meta.url)));

/**
 * What libjpeg said about a file it could not decode (damaged, truncated, not a JPEG). Other
 * errors (out of memory, a trap) are not the photo's fault.
 */
export class JpegDecodeError extends Error {
  constructor(message, code) {
    super(message);
    this.name = 'JpegDecodeError';
    this.code = code;
  }
}

/** libjpeg's message code for a failed allocation (jerror.h of libjpeg-turbo 2.1.5). */
const JERR_OUT_OF_MEMORY = 54;

/** An instance whose memory grew past this (a huge progressive photo) is dropped after its call. */
const KEEP_MEMORY_BYTES = 64 << 20;

let current = null;

function instantiate() {
  let memory = null;
  const text = (pointer) => {
    const bytes = new Uint8Array(memory.buffer, pointer);
    const end = bytes.indexOf(0);
    return Buffer.from(bytes.subarray(0, Math.max(end, 0))).toString('latin1');
  };
  // The C library's stdio is linked in but never used: reaching it is a bug, not a photo problem.
  const unused = (name) => () => {
    throw new Error(`libjpeg-turbo.wasm called ${name}`);
  };
  const instance = new WebAssembly.Instance(module, {
    env: {
      fail: (pointer, code) => {
        // Memory is the decoder's problem, not the photo's (libjpeg's JERR_OUT_OF_MEMORY, or
        // the glue's own allocations): a plain error, which the store answers with sharp.
        if (code === JERR_OUT_OF_MEMORY || code < 0) throw new Error(`libjpeg-turbo.wasm: ${text(pointer)}`);
        throw new JpegDecodeError(text(pointer), code);
      },
    },
    wasi_snapshot_preview1: Object.fromEntries(
      ['fd_close', 'fd_seek', 'fd_write', 'proc_exit'].map((name) => [name, unused(name)]),
    ),
  });
  const exports = instance.exports;
  memory = exports.memory;
  exports._initialize?.();
  return exports;
}

/** A JPEG whose header claims more pixels than the caller takes: nothing of it was decoded. */
export class JpegTooLargeError extends Error {
  constructor(width, height) {
    // The words sharp uses: the store tells a refusal for size by them.
    super(`the JPEG is ${width} × ${height} pixels, over the pixel limit`);
    this.name = 'JpegTooLargeError';
    this.width = width;
    this.height = height;
  }
}

/**
 * The side×side RGB centre of a three-component JPEG (YCbCr or RGB; 8-bit, baseline, progressive
 * or arithmetic-coded), as sharp's `resize({ fit: 'cover', position: 'centre' })` frames it; null
 * for other JPEGs (grey, CMYK), which are left to sharp. A damaged or truncated file throws a
 * JpegDecodeError; one of more than `maxPixels` pixels a JpegTooLargeError, from its header.
 */
export function jpegTile(bytes, side, maxPixels = 50_000_000) {
  if (!Number.isInteger(side) || side < 1 || side > 4096) throw new RangeError(`bad tile side ${side}`);
  const wasm = current ?? instantiate();
  current = null;
  const tileBytes = side * side * 3;
  const src = wasm.buffer_alloc(bytes.length);
  const out = wasm.buffer_alloc(tileBytes + 1);
  const info = wasm.buffer_alloc(12);
  if (!src || !out || !info) throw new Error('libjpeg-turbo.wasm is out of memory');
  new Uint8Array(wasm.memory.buffer).set(bytes, src);
  // After a failure the instance is dropped (the library's memory is mid-decode); after a success
  // it is kept for the next photo unless a large one grew its memory.
  const status = wasm.decode_tile(src, bytes.length, side, out, info, maxPixels);
  const [width, height] = new Int32Array(wasm.memory.buffer, info, 2);
  // A buffer of its own (not from Node's pool), so that a worker can transfer it.
  const data = status === 0 ? Buffer.from(wasm.memory.buffer.slice(out, out + tileBytes)) : null;
  wasm.buffer_free(src);
  wasm.buffer_free(out);
  wasm.buffer_free(info);
  if (wasm.memory.buffer.byteLength <= KEEP_MEMORY_BYTES) current = wasm;
  if (status === -2) throw new JpegTooLargeError(width, height);
  return data && { data, width: side, height: side, channels: 3 };
}
