import { srgbToLab } from '../media/features.ts';
import type { Rgb } from './target.ts';
import { instantiateKernels, type Kernels, layout, reserve } from './wasm/kernels.mjs';

/**
 * What the matcher compares, per cell and per photo: luma on a fine grid and colour on a
 * coarse one, both measured on the pixels that will be pasted (the photo decoded at cell size).
 *
 * Why fine luma: a viewer, and SSIM, see each cell as some 10×10 pixels. Most cells of a
 * target are nearly flat at that scale, and a photo with a busy 10×10 thumbnail looks like
 * noise there however well its mean colour fits; a 4×4 mean-colour grid cannot tell a flat
 * photo from a busy one of the same means. A 10×10 luma grid can, and it gives the matcher what
 * SSIM measures: mean, variance and covariance of the luma. Luma is SSIM's own (Y′ = .299 R +
 * .587 G + .114 B of the sRGB values), not L*: the two differ most in the shadows, where SSIM's
 * luminance term is strictest. Colour varies less and the eye resolves it less finely: 4×4 is
 * enough.
 *
 * Layout, planar: LUMA_GRID² luma values (row-major), then CHROMA_GRID² (a*, b*) pairs. Luma
 * runs from 0 (black) to LUMA_RANGE (white), a scale close to L* × 4 / LUMA_GRID, and each
 * a*, b* is scaled by 4 / CHROMA_GRID, so that squared distances weigh the whole cell the same
 * in both parts as the old 4×4 Lab grid did.
 */
export const LUMA_GRID = 10;
export const CHROMA_GRID = 4;
export const LUMA_VALUES = LUMA_GRID * LUMA_GRID;
export const FEATURE_VALUES = LUMA_VALUES + CHROMA_GRID * CHROMA_GRID * 2;
/** The luma of white in the features (black is 0). */
export const LUMA_RANGE = (100 * 4) / LUMA_GRID;
const Y_SCALE = LUMA_RANGE / 255;
const AB_SCALE = 4 / CHROMA_GRID;

/** Per output index along one axis: the source pixels it covers and their area weights. */
interface Spans {
  start: Int32Array;
  count: Int32Array;
  weight: Float64Array;
  /** Offset of each output's first weight in `weight`. */
  at: Int32Array;
}

const spanCache = new Map<string, Spans>();

/** Exact area average of `length` source pixels into `n` outputs (fractional edges). */
function spans(length: number, n: number): Spans {
  const key = `${length}/${n}`;
  const cached = spanCache.get(key);
  if (cached) return cached;
  const start = new Int32Array(n);
  const count = new Int32Array(n);
  const at = new Int32Array(n);
  const weights: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = (i * length) / n;
    const b = ((i + 1) * length) / n;
    start[i] = Math.floor(a);
    at[i] = weights.length;
    for (let s = Math.floor(a); s < Math.min(length, Math.ceil(b)); s++) {
      const w = Math.min(b, s + 1) - Math.max(a, s);
      if (w > 0) weights.push(w / (b - a));
      else weights.push(0);
    }
    count[i] = weights.length - (at[i] as number);
  }
  const out = { start, count, weight: Float64Array.from(weights), at };
  if (spanCache.size > 64) spanCache.clear();
  spanCache.set(key, out);
  return out;
}

/** Mean RGB of an n×n grid over the w×h region at (x0, y0) of an RGB raster of `stride` pixels. */
function gridMeans(
  data: Uint8Array,
  stride: number,
  x0: number,
  y0: number,
  w: number,
  h: number,
  n: number,
  out: Float64Array,
): void {
  const xs = spans(w, n);
  const ys = spans(h, n);
  out.fill(0, 0, n * n * 3);
  for (let gy = 0; gy < n; gy++) {
    const yStart = ys.start[gy] as number;
    const yAt = ys.at[gy] as number;
    for (let k = 0; k < (ys.count[gy] as number); k++) {
      const wy = ys.weight[yAt + k] as number;
      const row = ((y0 + yStart + k) * stride + x0) * 3;
      for (let gx = 0; gx < n; gx++) {
        const xStart = xs.start[gx] as number;
        const xAt = xs.at[gx] as number;
        let r = 0;
        let g = 0;
        let b = 0;
        for (let j = 0; j < (xs.count[gx] as number); j++) {
          const wx = xs.weight[xAt + j] as number;
          const i = row + (xStart + j) * 3;
          r += (data[i] as number) * wx;
          g += (data[i + 1] as number) * wx;
          b += (data[i + 2] as number) * wx;
        }
        const o = (gy * n + gx) * 3;
        out[o] = (out[o] as number) + r * wy;
        out[o + 1] = (out[o + 1] as number) + g * wy;
        out[o + 2] = (out[o + 2] as number) + b * wy;
      }
    }
  }
}

const byte = (v: number): number => Math.min(255, Math.max(0, Math.round(v)));
const lumaMeans = new Float64Array(LUMA_VALUES * 3);
const chromaMeans = new Float64Array(CHROMA_GRID * CHROMA_GRID * 3);

/**
 * Writes the features of the w×h region at (x0, y0) of an RGB raster `stride` pixels wide to
 * `out` at `offset`: the luma, then the a*, b*, of each grid block's mean colour.
 */
export function regionFeatures(
  data: Uint8Array,
  stride: number,
  x0: number,
  y0: number,
  w: number,
  h: number,
  out: Float32Array,
  offset: number,
): void {
  gridMeans(data, stride, x0, y0, w, h, LUMA_GRID, lumaMeans);
  for (let i = 0; i < LUMA_VALUES; i++) {
    const y =
      0.299 * (lumaMeans[i * 3] as number) +
      0.587 * (lumaMeans[i * 3 + 1] as number) +
      0.114 * (lumaMeans[i * 3 + 2] as number);
    out[offset + i] = y * Y_SCALE;
  }
  gridMeans(data, stride, x0, y0, w, h, CHROMA_GRID, chromaMeans);
  for (let i = 0; i < CHROMA_GRID * CHROMA_GRID; i++) {
    const [, a, b] = srgbToLab(
      byte(chromaMeans[i * 3] as number),
      byte(chromaMeans[i * 3 + 1] as number),
      byte(chromaMeans[i * 3 + 2] as number),
    );
    out[offset + LUMA_VALUES + i * 2] = a * AB_SCALE;
    out[offset + LUMA_VALUES + i * 2 + 1] = b * AB_SCALE;
  }
}

/** Features of every cell of a target raster of cols×rows cells (any whole pixel size per cell). */
export function cellFeatures(img: Rgb, cols: number, rows: number): Float32Array {
  const pw = img.width / cols;
  const ph = img.height / rows;
  if (!Number.isInteger(pw) || !Number.isInteger(ph)) {
    throw new RangeError(`target raster ${img.width}×${img.height} does not fit ${cols}×${rows} cells`);
  }
  const out = new Float32Array(cols * rows * FEATURE_VALUES);
  for (let row = 0; row < rows; row++) {
    for (let col = 0; col < cols; col++) {
      regionFeatures(
        img.data,
        img.width,
        col * pw,
        row * ph,
        pw,
        ph,
        out,
        (row * cols + col) * FEATURE_VALUES,
      );
    }
  }
  return out;
}

/** Interleaved 8-bit pixels of any channel count (1 grey … 4 RGBA), as sharp's raw output gives. */
export interface Pixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/**
 * The features of a whole picture (a photo's square tile), rounded to hundredths for storage:
 * what ingest keeps in `media.mosaic_grid`, so a mosaic matches without decoding any photo.
 */
export function mosaicGrid(img: Pixels): number[] {
  const { width, height, channels } = img;
  let rgb = img.data;
  if (channels !== 3) {
    rgb = new Uint8Array(width * height * 3);
    const grey = channels < 3;
    for (let i = 0, o = 0; o < rgb.length; i += channels, o += 3) {
      const r = img.data[i] as number;
      rgb[o] = r;
      rgb[o + 1] = grey ? r : (img.data[i + 1] as number);
      rgb[o + 2] = grey ? r : (img.data[i + 2] as number);
    }
  }
  const out = new Float32Array(FEATURE_VALUES);
  regionFeatures(rgb, width, 0, 0, width, height, out, 0);
  return Array.from(out, (v) => Math.round(v * 100) / 100 + 0);
}

/** A square part of a photo's cell raster: its left and top edges and side, in raster pixels. */
export type Crop = readonly [x0: number, y0: number, side: number];

/**
 * The features of several square crops of one RGB raster (`side` pixels square), written to
 * `out` from `offset`, one vector after another: the same values as `regionFeatures` on each
 * crop (up to rounding), from one summed-area table of the raster instead of a pass over each
 * crop's pixels. Area weights at fractional block edges are exact: the table is interpolated
 * linearly along each axis, as the area of a constant pixel grows linearly.
 */
export function cropFeatures(
  data: Uint8Array,
  side: number,
  crops: readonly Crop[],
  out: Float32Array,
  offset: number,
): void {
  const { rgb, luma } = summedAreaTables(data, side);
  let o = offset;
  for (const [x0, y0, s] of crops) {
    const lumaCorners = cornerSums(luma, side, 1, x0, y0, s, LUMA_GRID);
    const area = (s / LUMA_GRID) ** 2;
    const n = LUMA_GRID + 1;
    for (let gy = 0; gy < LUMA_GRID; gy++) {
      for (let gx = 0; gx < LUMA_GRID; gx++) {
        const i = gy * n + gx;
        out[o++] =
          (((lumaCorners[i + n + 1] as number) -
            (lumaCorners[i + n] as number) -
            (lumaCorners[i + 1] as number) +
            (lumaCorners[i] as number)) /
            area) *
          Y_SCALE;
      }
    }
    const chroma = cornerSums(rgb, side, 3, x0, y0, s, CHROMA_GRID);
    const chromaArea = (s / CHROMA_GRID) ** 2;
    for (let gy = 0; gy < CHROMA_GRID; gy++) {
      for (let gx = 0; gx < CHROMA_GRID; gx++) {
        blockMean(chroma, CHROMA_GRID, gx, gy, chromaArea);
        const [, a, b] = srgbToLab(byte(mean[0] as number), byte(mean[1] as number), byte(mean[2] as number));
        out[o++] = a * AB_SCALE;
        out[o++] = b * AB_SCALE;
      }
    }
  }
}

const mean = new Float64Array(3);

/** The mean colour of block (gx, gy) of an n×n grid, from its (n + 1)² corner sums. */
function blockMean(corners: Float64Array, n: number, gx: number, gy: number, area: number): void {
  const i = (gy * (n + 1) + gx) * 3;
  const below = i + (n + 1) * 3;
  for (let ch = 0; ch < 3; ch++) {
    mean[ch] =
      ((corners[below + 3 + ch] as number) -
        (corners[below + ch] as number) -
        (corners[i + 3 + ch] as number) +
        (corners[i + ch] as number)) /
      area;
  }
}

const cornerScratch = new Map<string, Float64Array>();

/**
 * A summed-area table of `channels` channels at the (n + 1)² corners of an n×n grid over the
 * crop: interpolated linearly along each axis, as the area of a constant pixel grows linearly.
 */
function cornerSums(
  table: Float64Array,
  side: number,
  channels: number,
  x0: number,
  y0: number,
  s: number,
  n: number,
): Float64Array {
  const key = `${n}/${channels}`;
  let out = cornerScratch.get(key);
  if (!out) {
    out = new Float64Array((n + 1) * (n + 1) * channels);
    cornerScratch.set(key, out);
  }
  const stride = (side + 1) * channels;
  for (let gy = 0; gy <= n; gy++) {
    const y = y0 + (gy * s) / n;
    const iy = Math.min(Math.floor(y), side - 1);
    const fy = y - iy;
    for (let gx = 0; gx <= n; gx++) {
      const x = x0 + (gx * s) / n;
      const ix = Math.min(Math.floor(x), side - 1);
      const fx = x - ix;
      const i = iy * stride + ix * channels;
      const o = (gy * (n + 1) + gx) * channels;
      for (let ch = 0; ch < channels; ch++) {
        const a = table[i + ch] as number;
        const b = table[i + channels + ch] as number;
        const c = table[i + stride + ch] as number;
        const d = table[i + stride + channels + ch] as number;
        out[o + ch] = a + (b - a) * fx + (c - a) * fy + (a - b - c + d) * fx * fy;
      }
    }
  }
  return out;
}

let kernels: Kernels | null = null;

/**
 * Both summed-area tables of an RGB raster (see summedAreas) from the WebAssembly kernel (the
 * same sums to the bit, in a fifth of the time), as views of its memory valid until the next call.
 */
export function summedAreaTables(data: Uint8Array, side: number): { rgb: Float64Array; luma: Float64Array } {
  kernels ??= instantiateKernels();
  const corners = (side + 1) * (side + 1);
  const placed = layout([side * side * 3, corners * 3 * 8, corners * 8]);
  const [at, rgbAt, lumaAt] = placed.at as [number, number, number];
  reserve(kernels.memory, placed.end);
  const { buffer } = kernels.memory;
  new Uint8Array(buffer).set(data.subarray(0, side * side * 3), at);
  kernels.summedAreas(at, side, rgbAt, lumaAt);
  return {
    rgb: new Float64Array(buffer, rgbAt, corners * 3),
    luma: new Float64Array(buffer, lumaAt, corners),
  };
}

const tables = new Map<number, Float64Array>();

/**
 * (side + 1)² sums of 3 channels (RGB) or 1 (luma, as the features weigh it): entry (y, x)
 * holds the sum of every pixel above and left of it. Reused between calls. The kernel's
 * reference (summedAreaTables): its tests compare the two.
 */
export function summedAreas(data: Uint8Array, side: number, channels: 1 | 3): Float64Array {
  const stride = (side + 1) * channels;
  const size = (side + 1) * stride;
  let table = tables.get(channels);
  if (table?.length !== size) {
    table = new Float64Array(size);
    tables.set(channels, table);
  }
  table.fill(0, 0, stride);
  for (let y = 0; y < side; y++) {
    const row = (y + 1) * stride;
    const above = y * stride;
    let i = y * side * 3;
    if (channels === 1) {
      let sum = 0;
      table[row] = 0;
      for (let x = 1; x <= side; x++, i += 3) {
        sum +=
          0.299 * (data[i] as number) + 0.587 * (data[i + 1] as number) + 0.114 * (data[i + 2] as number);
        table[row + x] = (table[above + x] as number) + sum;
      }
      continue;
    }
    let r = 0;
    let g = 0;
    let b = 0;
    table[row] = 0;
    table[row + 1] = 0;
    table[row + 2] = 0;
    for (let o = 3; o <= side * 3; o += 3, i += 3) {
      r += data[i] as number;
      g += data[i + 1] as number;
      b += data[i + 2] as number;
      table[row + o] = (table[above + o] as number) + r;
      table[row + o + 1] = (table[above + o + 1] as number) + g;
      table[row + o + 2] = (table[above + o + 2] as number) + b;
    }
  }
  return table;
}
