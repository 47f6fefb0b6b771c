/**
 * Image features for the mosaic matcher and near-duplicate detection, computed from raw,
 * interleaved 8-bit pixels (1 = grey, 2 = grey + alpha, 3 = RGB, 4 = RGBA; alpha ignored).
 * Pure functions: no sharp, no I/O, so they are cheap to test and to run on any buffer.
 */

import { instantiateKernels, type Kernels, layout, reserve } from '../mosaic/wasm/kernels.mjs';

export interface RawPixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

export interface ImageFeatures {
  meanColor: string;
  labGrid: number[];
  phash: string;
}

function checkPixels(img: RawPixels): void {
  const { data, width, height, channels } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`bad dimensions ${width}×${height}`);
  }
  if (channels < 1 || channels > 4 || data.length < width * height * channels) {
    throw new RangeError(`buffer of ${data.length} bytes is too small for ${width}×${height}×${channels}`);
  }
}

const hex2 = (v: number): string =>
  Math.round(Math.min(255, Math.max(0, v)))
    .toString(16)
    .padStart(2, '0');

/** Mean of the sRGB-encoded values, as '#rrggbb'. */
export function meanColor(img: RawPixels): string {
  checkPixels(img);
  const { data, channels } = img;
  const n = img.width * img.height;
  const g = channels >= 3 ? 1 : 0;
  let r = 0;
  let gr = 0;
  let b = 0;
  for (let i = 0; i < n * channels; i += channels) {
    r += data[i] as number;
    gr += data[i + g] as number;
    b += data[i + 2 * g] as number;
  }
  return `#${[r, gr, b].map((sum) => hex2(sum / n)).join('')}`;
}

/** sRGB transfer function undone (IEC 61966-2-1), for every 8-bit value. */
const LINEAR = Float64Array.from({ length: 256 }, (_, v) => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});

// D65 reference white (2° observer), the white point of sRGB.
const XN = 0.95047;
const YN = 1.0;
const ZN = 1.08883;
const EPSILON = 216 / 24389;
const KAPPA = 24389 / 27;
const labFExact = (t: number): number => (t > EPSILON ? Math.cbrt(t) : (KAPPA * t + 16) / 116);
// Math.cbrt dominated the per-pixel cost; linear interpolation in a 64 Ki table is ~1e-7 off,
// far below the 2-decimal rounding. Ratios to white stay within [0, 1.0001] for 8-bit sRGB.
const F_MAX = 1.0625;
const F_STEPS = 65536;
const F_TABLE = Float64Array.from({ length: F_STEPS + 2 }, (_, i) => labFExact((i / F_STEPS) * F_MAX));
function labF(t: number): number {
  const pos = (Math.min(Math.max(t, 0), F_MAX) / F_MAX) * F_STEPS;
  const i = Math.floor(pos);
  const lo = F_TABLE[i] ?? 0;
  return lo + ((F_TABLE[i + 1] ?? lo) - lo) * (pos - i);
}

/** CIELAB (D65) of one 8-bit sRGB colour. */
export function srgbToLab(r: number, g: number, b: number): [number, number, number] {
  return linearToLab(LINEAR[r] ?? 0, LINEAR[g] ?? 0, LINEAR[b] ?? 0);
}

/** CIELAB (D65) of a linear-light sRGB colour (components 0–1). */
function linearToLab(lr: number, lg: number, lb: number): [number, number, number] {
  const x = 0.4124564 * lr + 0.3575761 * lg + 0.1804375 * lb;
  const y = 0.2126729 * lr + 0.7151522 * lg + 0.072175 * lb;
  const z = 0.0193339 * lr + 0.119192 * lg + 0.9503041 * lb;
  const fx = labFExact(x / XN);
  const fy = labFExact(y / YN);
  const fz = labFExact(z / ZN);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

const round2 = (v: number): number => Math.round(v * 100) / 100 + 0;

/**
 * A `cells`×`cells` grid of mean CIELAB values, row-major, flattened to
 * [L, a, b, L, a, b, …]. The mean is of each pixel's Lab, so a cell half black and half white
 * averages to L≈50 rather than to the Lab of mid-grey in sRGB.
 */
export function labGrid(img: RawPixels, cells = 4): number[] {
  checkPixels(img);
  const { data, width, height, channels } = img;
  if (width < cells || height < cells) throw new RangeError(`image smaller than ${cells}×${cells}`);
  const grey = channels < 3;
  const out: number[] = [];
  for (let cy = 0; cy < cells; cy++) {
    const y0 = Math.floor((cy * height) / cells);
    const y1 = Math.floor(((cy + 1) * height) / cells);
    for (let cx = 0; cx < cells; cx++) {
      const x0 = Math.floor((cx * width) / cells);
      const x1 = Math.floor(((cx + 1) * width) / cells);
      let sl = 0;
      let sa = 0;
      let sb = 0;
      let n = 0;
      // Every other pixel of a large cell: its mean moves by far less than a JND, at a quarter
      // of the cost (this runs for every stored photo).
      const step = x1 - x0 >= 32 && y1 - y0 >= 32 ? 2 : 1;
      for (let y = y0; y < y1; y += step) {
        for (let x = x0; x < x1; x += step) {
          n++;
          // Inlined srgbToLab: this loop runs for every pixel of every stored photo.
          const i = (y * width + x) * channels;
          const lr = LINEAR[data[i] ?? 0] ?? 0;
          const lg = grey ? lr : (LINEAR[data[i + 1] ?? 0] ?? 0);
          const lb = grey ? lr : (LINEAR[data[i + 2] ?? 0] ?? 0);
          const fx = labF((0.4124564 * lr + 0.3575761 * lg + 0.1804375 * lb) / XN);
          const fy = labF((0.2126729 * lr + 0.7151522 * lg + 0.072175 * lb) / YN);
          const fz = labF((0.0193339 * lr + 0.119192 * lg + 0.9503041 * lb) / ZN);
          sl += 116 * fy - 16;
          sa += 500 * (fx - fy);
          sb += 200 * (fy - fz);
        }
      }
      out.push(round2(sl / n), round2(sa / n), round2(sb / n));
    }
  }
  return out;
}

const HASH_INPUT = 32;
const HASH_BITS_SIDE = 8;

/** Rec. 601 luma, box-averaged down to 32×32 (every source pixel weighs by its covered area). */
function greyThumbnail(img: RawPixels): Float64Array {
  const { data, width, height, channels } = img;
  if (width % HASH_INPUT === 0 && height % HASH_INPUT === 0 && channels >= 3) return boxGrey(img);
  const luma = (i: number): number =>
    channels >= 3
      ? 0.299 * (data[i] ?? 0) + 0.587 * (data[i + 1] ?? 0) + 0.114 * (data[i + 2] ?? 0)
      : (data[i] ?? 0);
  const out = new Float64Array(HASH_INPUT * HASH_INPUT);
  // Per axis, the target cells a source row/column overlaps and by how much.
  const spans = (size: number) =>
    Array.from({ length: size }, (_, p) => {
      const a = (p * HASH_INPUT) / size;
      const b = ((p + 1) * HASH_INPUT) / size;
      const parts: Array<[cell: number, weight: number]> = [];
      for (let c = Math.floor(a); c < Math.min(HASH_INPUT, Math.ceil(b)); c++) {
        const w = Math.min(b, c + 1) - Math.max(a, c);
        if (w > 0) parts.push([c, w]);
      }
      return parts;
    });
  const xs = spans(width);
  const ys = spans(height);
  const weight = new Float64Array(HASH_INPUT * HASH_INPUT);
  for (let y = 0; y < height; y++) {
    for (const [ty, wy] of ys[y] ?? []) {
      for (let x = 0; x < width; x++) {
        const v = luma((y * width + x) * channels);
        for (const [tx, wx] of xs[x] ?? []) {
          const t = ty * HASH_INPUT + tx;
          out[t] = (out[t] ?? 0) + v * wx * wy;
          weight[t] = (weight[t] ?? 0) + wx * wy;
        }
      }
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = (out[i] ?? 0) / (weight[i] || 1);
  return out;
}

/** cos((2x+1)uπ/2N) for the low frequencies the hash keeps. */
const COS = Float64Array.from({ length: HASH_BITS_SIDE * HASH_INPUT }, (_, i) => {
  const u = Math.floor(i / HASH_INPUT);
  const x = i % HASH_INPUT;
  return Math.cos(((2 * x + 1) * u * Math.PI) / (2 * HASH_INPUT));
});

/**
 * 64-bit DCT perceptual hash: 32×32 grey, 2-D DCT-II, the top-left 8×8 coefficients (DC
 * included), each bit set when its coefficient is above the median of the 64. Bits in row-major
 * order, most significant first, as 16 hex digits.
 */
/** The common case (a 256×256 tile): whole boxes of pixels per cell, one pass, no weights. */
function boxGrey(img: RawPixels): Float64Array {
  const { data, width, height, channels } = img;
  const bw = width / HASH_INPUT;
  const bh = height / HASH_INPUT;
  const out = new Float64Array(HASH_INPUT * HASH_INPUT);
  for (let y = 0; y < height; y++) {
    const row = Math.floor(y / bh) * HASH_INPUT;
    let i = y * width * channels;
    for (let x = 0; x < width; x++, i += channels) {
      const t = row + Math.floor(x / bw);
      out[t] =
        (out[t] as number) +
        0.299 * (data[i] as number) +
        0.587 * (data[i + 1] as number) +
        0.114 * (data[i + 2] as number);
    }
  }
  const area = bw * bh;
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / area;
  return out;
}

export function phash(img: RawPixels): string {
  checkPixels(img);
  return phashOfGrey(greyThumbnail(img));
}

function phashOfGrey(grey: Float64Array): string {
  // Separable DCT, only the 8 lowest frequencies in each direction are needed.
  const rows = new Float64Array(HASH_INPUT * HASH_BITS_SIDE); // [y][u]
  for (let y = 0; y < HASH_INPUT; y++) {
    for (let u = 0; u < HASH_BITS_SIDE; u++) {
      let s = 0;
      for (let x = 0; x < HASH_INPUT; x++)
        s += (grey[y * HASH_INPUT + x] ?? 0) * (COS[u * HASH_INPUT + x] ?? 0);
      rows[y * HASH_BITS_SIDE + u] = s;
    }
  }
  const coeffs: number[] = [];
  for (let v = 0; v < HASH_BITS_SIDE; v++) {
    for (let u = 0; u < HASH_BITS_SIDE; u++) {
      let s = 0;
      for (let y = 0; y < HASH_INPUT; y++)
        s += (rows[y * HASH_BITS_SIDE + u] ?? 0) * (COS[v * HASH_INPUT + y] ?? 0);
      coeffs.push(s);
    }
  }
  const sorted = [...coeffs].sort((a, b) => a - b);
  const median = ((sorted[31] ?? 0) + (sorted[32] ?? 0)) / 2;
  let hex = '';
  for (let i = 0; i < 64; i += 4) {
    let nibble = 0;
    for (let j = 0; j < 4; j++) nibble = (nibble << 1) | ((coeffs[i + j] ?? 0) > median ? 1 : 0);
    hex += nibble.toString(16);
  }
  return hex;
}

/** Number of differing bits between two hashes of equal length in hex. */
export function hammingDistance(a: string, b: string): number {
  if (a.length !== b.length || !/^[0-9a-f]*$/i.test(a) || !/^[0-9a-f]*$/i.test(b)) {
    throw new RangeError('hashes must be hex strings of equal length');
  }
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    let x = Number.parseInt(a[i] ?? '0', 16) ^ Number.parseInt(b[i] ?? '0', 16);
    while (x) {
      d += x & 1;
      x >>= 1;
    }
  }
  return d;
}

export function computeFeatures(img: RawPixels, boxes: BoxSums | null = boxSums(img)): ImageFeatures {
  if (!boxes) return { meanColor: meanColor(img), labGrid: labGrid(img), phash: phash(img) };
  return {
    meanColor: meanOfBoxes(boxes),
    labGrid: labGridOfBoxes(boxes),
    phash: phashOfGrey(greyOfBoxes(boxes)),
  };
}

const linearTables = new Map<number, Float64Array>();
/** The sRGB transfer function undone for every possible sum of `area` 8-bit values, divided by `area`. */
function linearOfSums(area: number): Float64Array {
  let table = linearTables.get(area);
  if (!table) {
    table = Float64Array.from({ length: 255 * area + 1 }, (_, sum) => {
      const c = sum / area / 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    linearTables.set(area, table);
  }
  return table;
}

/**
 * The 4×4 Lab grid from the 32×32 box means: each cell is the mean Lab of its 64 boxes (8×8
 * pixels each on a 256 px tile) rather than of its pixels. Converting 1,024 colours instead of
 * 16,384 pixels was a tenth of an import's CPU; on 300 real tiles the values move by 0.15 on
 * average (1.9 at most) from the per-pixel grid.
 */
function labGridOfBoxes({ sums, area }: BoxSums): number[] {
  const cells = 4;
  const perCell = HASH_INPUT / cells;
  const acc = new Float64Array(cells * cells * 3);
  const table = linearOfSums(area);
  const linear = (sum: number): number => table[sum] as number;
  for (let by = 0; by < HASH_INPUT; by++) {
    for (let bx = 0; bx < HASH_INPUT; bx++) {
      const i = (by * HASH_INPUT + bx) * 3;
      const [l, a, b] = linearToLab(
        linear(sums[i] as number),
        linear(sums[i + 1] as number),
        linear(sums[i + 2] as number),
      );
      const o = (Math.floor(by / perCell) * cells + Math.floor(bx / perCell)) * 3;
      acc[o] = (acc[o] as number) + l;
      acc[o + 1] = (acc[o + 1] as number) + a;
      acc[o + 2] = (acc[o + 2] as number) + b;
    }
  }
  return Array.from(acc, (v) => round2(v / (perCell * perCell)));
}

/**
 * Per-channel sums of RGB over a 32×32 grid of whole boxes, in one pass over the pixels, for
 * the common case (an RGB tile whose sides are multiples of 32): the mean colour, the hash's
 * grey thumbnail and the mosaic matcher's grid all come from them. Null otherwise.
 */
export interface BoxSums {
  sums: Float64Array;
  /** Pixels per box. */
  area: number;
}

/** Images larger than this are summed in JavaScript: the kernel's memory would only grow. */
const KERNEL_MAX_BYTES = 4 << 20;
let kernels: Kernels | null = null;

function kernelBoxSums(data: Uint8Array, width: number, height: number): Float64Array {
  kernels ??= instantiateKernels();
  const sumsBytes = HASH_INPUT * HASH_INPUT * 3 * 8;
  const placed = layout([width * height * 3, sumsBytes]);
  const [at, sumsAt] = placed.at as [number, number];
  reserve(kernels.memory, placed.end);
  new Uint8Array(kernels.memory.buffer).set(data.subarray(0, width * height * 3), at);
  kernels.boxSums32(at, width, height, sumsAt);
  return new Float64Array(kernels.memory.buffer.slice(sumsAt, sumsAt + sumsBytes));
}

export function boxSums(img: RawPixels): BoxSums | null {
  checkPixels(img);
  const { data, width, height, channels } = img;
  if (channels !== 3 || width % HASH_INPUT !== 0 || height % HASH_INPUT !== 0) return null;
  const bw = width / HASH_INPUT;
  const bh = height / HASH_INPUT;
  // A tile's sums in the WebAssembly kernel: four times as fast, the same numbers.
  if (width * height * 3 <= KERNEL_MAX_BYTES)
    return { sums: kernelBoxSums(data, width, height), area: bw * bh };
  const sums = new Float64Array(HASH_INPUT * HASH_INPUT * 3);
  for (let y = 0; y < height; y++) {
    const row = Math.floor(y / bh) * HASH_INPUT * 3;
    let i = y * width * 3;
    for (let bx = 0; bx < HASH_INPUT; bx++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let x = 0; x < bw; x++, i += 3) {
        r += data[i] as number;
        g += data[i + 1] as number;
        b += data[i + 2] as number;
      }
      const o = row + bx * 3;
      sums[o] = (sums[o] as number) + r;
      sums[o + 1] = (sums[o + 1] as number) + g;
      sums[o + 2] = (sums[o + 2] as number) + b;
    }
  }
  return { sums, area: bw * bh };
}

function meanOfBoxes({ sums, area }: BoxSums): string {
  const n = area * HASH_INPUT * HASH_INPUT;
  let r = 0;
  let g = 0;
  let b = 0;
  for (let i = 0; i < sums.length; i += 3) {
    r += sums[i] as number;
    g += sums[i + 1] as number;
    b += sums[i + 2] as number;
  }
  return `#${[r, g, b].map((sum) => hex2(sum / n)).join('')}`;
}

/** Rec. 601 luma of each box's mean: luma is linear, so this is the mean of the pixels' luma. */
function greyOfBoxes({ sums, area }: BoxSums): Float64Array {
  const out = new Float64Array(HASH_INPUT * HASH_INPUT);
  for (let i = 0; i < out.length; i++) {
    out[i] =
      (0.299 * (sums[i * 3] as number) +
        0.587 * (sums[i * 3 + 1] as number) +
        0.114 * (sums[i * 3 + 2] as number)) /
      area;
  }
  return out;
}

/** The 32×32 box means as an RGB raster, rounded: a thumbnail that stands for the tile. */
export function boxThumbnail({ sums, area }: BoxSums): RawPixels {
  const data = new Uint8Array(sums.length);
  for (let i = 0; i < sums.length; i++) data[i] = Math.round((sums[i] as number) / area);
  return { data, width: HASH_INPUT, height: HASH_INPUT, channels: 3 };
}
