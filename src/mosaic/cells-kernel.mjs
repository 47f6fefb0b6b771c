// Photos at mosaic cell size, in plain JavaScript so that the build's decode worker threads
// (cells-worker.mjs) start without a TypeScript loader; typed in cells-kernel.d.mts.
import { readFileSync } from 'node:fs';
import {
  CELL_SIDE,
  detailedRegion,
  detailedTile,
  readCacheFile,
  readCellRaster,
  readTileLuma,
} from '../media/cell-raster.mjs';
import { instantiateKernels, layout, reserve } from './wasm/kernels.mjs';

/**
 * One photo at cell size from where the build found it: a file, or a cell raster (see
 * media/cell-raster.mjs) and tile luma, with the tile to decode when they are missing, damaged or
 * too small.
 */
export async function decodeSourceWith(sharp, source, width, height) {
  if (typeof source === 'string') return decodeCellWith(sharp, readFileSync(source), width, height);
  const raster = readCacheFile(source.raster, readCellRaster);
  if (raster && raster.side >= width && raster.side >= height) {
    return coverResize(raster.data, raster.side, raster.side, width, height);
  }
  // Cells up to the tile's size: the tile's pixels from the raster and luma, when both are whole.
  if (raster && source.luma && raster.side * 2 >= Math.max(width, height)) {
    const tile = detailedTile(raster, readCacheFile(source.luma, readTileLuma));
    if (tile) return coverResize(tile.data, tile.info.width, tile.info.height, width, height);
  }
  return decodeCellWith(sharp, readFileSync(source.tile), width, height);
}

/**
 * Square crops of one photo at cell size (square cells), one buffer per entry of `views`: view 0
 * is the whole photo (decodeSourceWith), view k + 1 is crops[k] = [x0, y0, side] in the 128 px
 * cell raster's pixels. A crop is cut from the raster when it holds enough pixels for the cell,
 * else from the tile (the same square at its own scale), so that a crop is never enlarged where
 * the tile has the pixels. The tile's pixels come from the raster and the tile's luma stored
 * beside it, or from decoding the tile where those are missing or damaged; once per photo.
 */
export async function cropCellsWith(sharp, source, crops, views, width, decodedTile) {
  const out = [];
  let raster;
  let detail;
  let tile = decodedTile;
  for (const view of views) {
    if (view === 0) {
      out.push(await decodeSourceWith(sharp, source, width, width));
      continue;
    }
    const [x0, y0, side] = crops[view - 1];
    // The raster only serves crops that hold a cell's pixels: the tile serves the others.
    if (raster === undefined && side >= width) {
      raster = typeof source === 'object' ? readCacheFile(source.raster, readCellRaster) : null;
    }
    if (raster && raster.side === CELL_SIDE && side >= width) {
      out.push(areaResize(raster.data, CELL_SIDE, x0, y0, side, side, width, width));
      continue;
    }
    if (detail === undefined) {
      detail = null;
      if (tile === undefined && typeof source === 'object' && source.luma) {
        if (raster === undefined) raster = readCacheFile(source.raster, readCellRaster);
        const luma = readCacheFile(source.luma, readTileLuma);
        if (raster && luma && luma.side === raster.side * 2) detail = { raster, luma };
      }
    }
    if (detail) {
      // The tile's square (twice the raster's), only the crop's part of it made again.
      const tx = x0 * 2;
      const ty = y0 * 2;
      const ts = Math.max(1, Math.min(side * 2, detail.luma.side - tx, detail.luma.side - ty));
      out.push(
        await fitCell(sharp, detailedRegion(detail.raster, detail.luma, tx, ty, ts), ts, 0, 0, ts, width),
      );
      continue;
    }
    tile ??= await decodeTileWith(sharp, source);
    // The tile is the same square as the raster (both are the photo's centred square).
    const { data, info } = tile;
    const scale = Math.min(info.width, info.height) / CELL_SIDE;
    const left = Math.floor((info.width - Math.min(info.width, info.height)) / 2);
    const top = Math.floor((info.height - Math.min(info.width, info.height)) / 2);
    const tx = left + Math.round(x0 * scale);
    const ty = top + Math.round(y0 * scale);
    const ts = Math.max(1, Math.min(Math.round(side * scale), info.width - tx, info.height - ty));
    out.push(await fitCell(sharp, data, info.width, tx, ty, ts, width, info.height));
  }
  return out;
}

/**
 * The `ts` px square from (tx, ty) of an RGB image `stride` px wide (`height` px high) at
 * `width` px: by area when it has the pixels, else enlarged by sharp.
 */
async function fitCell(sharp, data, stride, tx, ty, ts, width, height = stride) {
  if (ts >= width) return areaResize(data, stride, tx, ty, ts, ts, width, width);
  const resized = await sharp(data, { raw: { width: stride, height, channels: 3 } })
    .extract({ left: tx, top: ty, width: ts, height: ts })
    .resize(width, width)
    .raw()
    .toBuffer();
  return Buffer.from(new Uint8Array(resized).buffer);
}

/** A photo's tile (the file, or a raster source's tile), decoded whole: { data, info } in RGB. */
export function decodeTileWith(sharp, source) {
  return sharp(readFileSync(typeof source === 'object' ? source.tile : source), { failOn: 'none' })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
}

/** The largest centred region of the cell's shape (what sharp's cover + centre keeps), by area. */
function coverResize(data, w, h, width, height) {
  const cropW = Math.min(w, Math.round((h * width) / height));
  const cropH = Math.min(h, Math.round((w * height) / width));
  return areaResize(
    data,
    w,
    Math.floor((w - cropW) / 2),
    Math.floor((h - cropH) / 2),
    cropW,
    cropH,
    width,
    height,
  );
}

/**
 * One photo at cell size, raw RGB, cropped to the cell's shape around the centre, with the
 * caller's sharp (its loaders restricted: see media/sharp-loaders.ts). A stored tile (an RGB
 * JPEG at least as large as the cell) is decoded whole and scaled down here by area: on 256 px
 * tiles and 80 px cells, sharp's resize cost as much as the decode itself (1.2 ms a tile, most
 * of it setting up the resample), the exact area average a third of that. Anything else — a
 * cell larger than the photo, grey or transparent sources — goes through sharp's resize.
 */
export async function decodeCellWith(sharp, bytes, width, height) {
  // Stored derivatives are our own JPEG/WebP output; buffers go through the allowed loaders.
  const whole = await sharp(bytes, { failOn: 'none' }).raw().toBuffer({ resolveWithObject: true });
  const { info } = whole;
  if (info.channels === 3 && info.width >= width && info.height >= height) {
    return coverResize(whole.data, info.width, info.height, width, height);
  }
  const resized = await sharp(bytes, { failOn: 'none' })
    .resize(width, height, { fit: 'cover', position: 'centre' })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer();
  // Into memory of its own, like areaResize's: a worker hands it over without a copy.
  return Buffer.from(new Uint8Array(resized).buffer);
}

const tapsCache = new Map();

/**
 * Per output pixel along one axis (src → dst): the first source pixel it covers, how many, and
 * by how much each (integers: a source pixel is `dst` long and an output pixel `src`), `span`
 * weights per output pixel.
 */
function areaTaps(src, dst) {
  const key = `${src}/${dst}`;
  const cached = tapsCache.get(key);
  if (cached) return cached;
  const span = Math.ceil(src / dst) + 1;
  const taps = {
    first: new Int32Array(dst),
    count: new Int32Array(dst),
    weight: new Int32Array(dst * span),
    span,
  };
  for (let o = 0; o < dst; o++) {
    const start = o * src;
    const end = start + src;
    const i0 = Math.floor(start / dst);
    const i1 = Math.ceil(end / dst);
    taps.first[o] = i0;
    taps.count[o] = i1 - i0;
    for (let i = i0; i < i1; i++) {
      taps.weight[o * span + i - i0] = Math.min(end, (i + 1) * dst) - Math.max(start, i * dst);
    }
  }
  tapsCache.set(key, taps);
  return taps;
}

const kernels = instantiateKernels();
/**
 * Regions larger than this (a tile is 196 KB) are resized in JavaScript: the kernel's memory,
 * kept for the thread's life, would only grow (a cell from a wall photo, on cells over 256 px).
 */
const KERNEL_MAX_BYTES = 4 << 20;
const packedTaps = new Map();

/** The taps of both axes as the kernel reads them: per axis first, count, weight. */
function kernelTaps(w, h, dw, dh) {
  const key = `${w}/${h}/${dw}/${dh}`;
  let packed = packedTaps.get(key);
  if (!packed) {
    const tx = areaTaps(w, dw);
    const ty = areaTaps(h, dh);
    packed = new Int32Array(
      [tx.first, tx.count, tx.weight, ty.first, ty.count, ty.weight].flatMap((a) => Array.from(a)),
    );
    // Photos of many sizes (cells from their walls) would make many: the recent ones are kept.
    if (packedTaps.size >= 256) packedTaps.clear();
    packedTaps.set(key, packed);
  }
  return packed;
}

/**
 * The region (x0, y0, w, h) of an RGB raster `stride` pixels wide, scaled down to dw × dh by
 * area: every output pixel is the exact mean of the source area it covers, rounded half up. In
 * the WebAssembly kernel (wasm/kernels.as.ts: a cell from a tile in a third of the time), up to
 * KERNEL_MAX_BYTES (where its 32-bit sums hold too), else as areaResizeJs.
 */
export function areaResize(src, stride, x0, y0, w, h, dw, dh) {
  if (w * h * 3 > KERNEL_MAX_BYTES || dw > w || dh > h)
    return areaResizeJs(src, stride, x0, y0, w, h, dw, dh);
  const line = w * 3;
  const taps = kernelTaps(w, h, dw, dh);
  const {
    at: [srcAt, tapsAt, outAt, scratchAt],
    end,
  } = layout([h * line, taps.length * 4, dw * dh * 3, line * 4]);
  const { memory } = kernels;
  reserve(memory, end);
  const heap = new Uint8Array(memory.buffer);
  if (x0 === 0 && w === stride) heap.set(src.subarray(y0 * line, (y0 + h) * line), srcAt);
  else {
    for (let y = 0; y < h; y++) {
      const from = ((y0 + y) * stride + x0) * 3;
      heap.set(src.subarray(from, from + line), srcAt + y * line);
    }
  }
  new Int32Array(memory.buffer, tapsAt, taps.length).set(taps);
  kernels.areaResize(srcAt, w, h, dw, dh, tapsAt, outAt, scratchAt);
  // Memory of its own: a worker hands the cell over without a copy.
  const out = Buffer.from(new ArrayBuffer(dw * dh * 3));
  out.set(heap.subarray(outAt, outAt + out.length));
  return out;
}

/** areaResize in JavaScript: the kernel's reference, and for regions too large for its sums. */
export function areaResizeJs(src, stride, x0, y0, w, h, dw, dh) {
  const tx = areaTaps(w, dw);
  const ty = areaTaps(h, dh);
  // Horizontal pass: each source row of the region to dw sums (at most 255 × w each).
  const rows = new Int32Array(h * dw * 3);
  for (let y = 0; y < h; y++) {
    const rowStart = ((y0 + y) * stride + x0) * 3;
    let o = y * dw * 3;
    for (let x = 0; x < dw; x++, o += 3) {
      let i = rowStart + tx.first[x] * 3;
      let r = 0;
      let g = 0;
      let b = 0;
      for (let t = x * tx.span, end = t + tx.count[x]; t < end; t++, i += 3) {
        const wt = tx.weight[t];
        r += wt * src[i];
        g += wt * src[i + 1];
        b += wt * src[i + 2];
      }
      rows[o] = r;
      rows[o + 1] = g;
      rows[o + 2] = b;
    }
  }
  // Vertical pass, then the division by the whole weight (w × h).
  const out = Buffer.from(new ArrayBuffer(dw * dh * 3));
  const area = w * h;
  const half = Math.floor(area / 2);
  const line = dw * 3;
  const sums = new Float64Array(line);
  for (let y = 0; y < dh; y++) {
    sums.fill(half);
    const firstRow = ty.first[y];
    for (let t = 0, count = ty.count[y]; t < count; t++) {
      const wt = ty.weight[y * ty.span + t];
      const from = (firstRow + t) * line;
      for (let x = 0; x < line; x++) sums[x] += wt * rows[from + x];
    }
    const o = y * line;
    for (let x = 0; x < line; x++) out[o + x] = Math.floor(sums[x] / area);
  }
  return out;
}
