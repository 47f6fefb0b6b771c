/**
 * Scores a mosaic against its target, the way a viewer sees the whole picture:
 *   ssim     SSIM of the luma (Y = .299R + .587G + .114B), Wang et al.: Gaussian window σ 1.5
 *            (11×11), population covariance, data range 255, border of 5 px left out. 1 = same.
 *   deltaE   mean CIEDE2000 between the two (sRGB → CIELAB D65). 0 = same.
 * Both images are first reduced to the same size (1000×750 by default) with an exact area
 * average (box filter with fractional edges); the target is centre-cropped to the mosaic's aspect.
 * `flatCells` scores the reference "one average colour per cell" picture.
 *
 * Standalone: npx tsx scripts/bench/score.ts TARGET IMAGE... [--size 1000x750] [--grid 100x75]
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { srgbToLab } from '../../src/media/features.ts';

export interface Raster {
  /** RGB as floats 0–255. */
  data: Float64Array;
  width: number;
  height: number;
}

export interface Score {
  ssim: number;
  deltaE: number;
}

/** Full-resolution RGB of a file (read into a buffer: the engine blocks sharp's file loaders). */
export async function loadRgb(file: string): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(await readFile(file), { limitInputPixels: false })
    .autoOrient()
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Centre crop of (x, y, w, h) with the aspect of outW×outH. */
function coverCrop(width: number, height: number, outW: number, outH: number) {
  const aspect = outW / outH;
  if (width / height > aspect) {
    const w = height * aspect;
    return { x: (width - w) / 2, y: 0, w, h: height };
  }
  const h = width / aspect;
  return { x: 0, y: (height - h) / 2, w: width, h };
}

/** Exact area average of a (possibly fractional) source rectangle into outW×outH. */
export function boxReduce(
  img: { data: Uint8Array | Float64Array; width: number; height: number },
  outW: number,
  outH: number,
): Raster {
  const crop = coverCrop(img.width, img.height, outW, outH);
  // Per output column/row: the source pixels it covers and by how much (separable weights).
  const spans = (start: number, length: number, n: number, limit: number) =>
    Array.from({ length: n }, (_, i) => {
      const a = start + (i * length) / n;
      const b = start + ((i + 1) * length) / n;
      const idx: number[] = [];
      const w: number[] = [];
      for (let s = Math.floor(a); s < Math.min(limit, Math.ceil(b)); s++) {
        const weight = Math.min(b, s + 1) - Math.max(a, s);
        if (weight > 0) {
          idx.push(s);
          w.push(weight / (b - a));
        }
      }
      return { idx, w };
    });
  const xs = spans(crop.x, crop.w, outW, img.width);
  const ys = spans(crop.y, crop.h, outH, img.height);
  // Horizontal pass over the rows the crop needs, then vertical.
  const tmp = new Float64Array(img.height * outW * 3);
  for (let y = Math.floor(crop.y); y < Math.min(img.height, Math.ceil(crop.y + crop.h)); y++) {
    for (let x = 0; x < outW; x++) {
      const { idx, w } = xs[x] as { idx: number[]; w: number[] };
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < idx.length; k++) {
        const i = (y * img.width + (idx[k] as number)) * 3;
        const wk = w[k] as number;
        r += (img.data[i] as number) * wk;
        g += (img.data[i + 1] as number) * wk;
        b += (img.data[i + 2] as number) * wk;
      }
      const o = (y * outW + x) * 3;
      tmp[o] = r;
      tmp[o + 1] = g;
      tmp[o + 2] = b;
    }
  }
  const out = new Float64Array(outW * outH * 3);
  for (let y = 0; y < outH; y++) {
    const { idx, w } = ys[y] as { idx: number[]; w: number[] };
    for (let x = 0; x < outW; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < idx.length; k++) {
        const i = ((idx[k] as number) * outW + x) * 3;
        const wk = w[k] as number;
        r += (tmp[i] as number) * wk;
        g += (tmp[i + 1] as number) * wk;
        b += (tmp[i + 2] as number) * wk;
      }
      const o = (y * outW + x) * 3;
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
    }
  }
  return { data: out, width: outW, height: outH };
}

function gaussianKernel(sigma = 1.5, radius = 5): Float64Array {
  const k = Float64Array.from({ length: radius * 2 + 1 }, (_, i) =>
    Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)),
  );
  const sum = k.reduce((a, b) => a + b, 0);
  return k.map((v) => v / sum);
}

/** Separable 'valid' filtering: the output is (w - 2r)×(h - 2r). */
function filterValid(src: Float64Array, w: number, h: number, k: Float64Array): Float64Array {
  const r = (k.length - 1) / 2;
  const ow = w - 2 * r;
  const oh = h - 2 * r;
  const tmp = new Float64Array(ow * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let j = 0; j < k.length; j++) s += (src[y * w + x + j] as number) * (k[j] as number);
      tmp[y * ow + x] = s;
    }
  }
  const out = new Float64Array(ow * oh);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let j = 0; j < k.length; j++) s += (tmp[(y + j) * ow + x] as number) * (k[j] as number);
      out[y * ow + x] = s;
    }
  }
  return out;
}

function luma(img: Raster): Float64Array {
  const out = new Float64Array(img.width * img.height);
  for (let i = 0; i < out.length; i++) {
    out[i] =
      0.299 * (img.data[i * 3] as number) +
      0.587 * (img.data[i * 3 + 1] as number) +
      0.114 * (img.data[i * 3 + 2] as number);
  }
  return out;
}

export function ssim(a: Raster, b: Raster): number {
  const { width: w, height: h } = a;
  const x = luma(a);
  const y = luma(b);
  const k = gaussianKernel();
  const xx = x.map((v) => v * v);
  const yy = y.map((v) => v * v);
  const xy = x.map((v, i) => v * (y[i] as number));
  const [mx, my, sxx, syy, sxy] = [x, y, xx, yy, xy].map((m) => filterValid(m, w, h, k)) as Float64Array[];
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  let sum = 0;
  const n = (mx as Float64Array).length;
  for (let i = 0; i < n; i++) {
    const ux = mx?.[i] as number;
    const uy = my?.[i] as number;
    const vx = (sxx?.[i] as number) - ux * ux;
    const vy = (syy?.[i] as number) - uy * uy;
    const cxy = (sxy?.[i] as number) - ux * uy;
    sum += ((2 * ux * uy + c1) * (2 * cxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
  }
  return sum / n;
}

/** CIEDE2000 (Sharma, Wu, Dalal 2005), kL = kC = kH = 1. */
export function ciede2000(l1: number, a1: number, b1: number, l2: number, a2: number, b2: number): number {
  const rad = Math.PI / 180;
  const c1 = Math.hypot(a1, b1);
  const c2 = Math.hypot(a2, b2);
  const cm = (c1 + c2) / 2;
  const g = 0.5 * (1 - Math.sqrt(cm ** 7 / (cm ** 7 + 25 ** 7)));
  const ap1 = (1 + g) * a1;
  const ap2 = (1 + g) * a2;
  const cp1 = Math.hypot(ap1, b1);
  const cp2 = Math.hypot(ap2, b2);
  const hp = (b: number, ap: number) => {
    if (b === 0 && ap === 0) return 0;
    const h = Math.atan2(b, ap) / rad;
    return h < 0 ? h + 360 : h;
  };
  const h1 = hp(b1, ap1);
  const h2 = hp(b2, ap2);
  const dL = l2 - l1;
  const dC = cp2 - cp1;
  let dh = 0;
  if (cp1 * cp2 !== 0) {
    dh = h2 - h1;
    if (dh > 180) dh -= 360;
    else if (dh < -180) dh += 360;
  }
  const dH = 2 * Math.sqrt(cp1 * cp2) * Math.sin((dh / 2) * rad);
  const lm = (l1 + l2) / 2;
  const cpm = (cp1 + cp2) / 2;
  let hm = h1 + h2;
  if (cp1 * cp2 !== 0) {
    if (Math.abs(h1 - h2) <= 180) hm = (h1 + h2) / 2;
    else hm = h1 + h2 < 360 ? (h1 + h2 + 360) / 2 : (h1 + h2 - 360) / 2;
  }
  const t =
    1 -
    0.17 * Math.cos((hm - 30) * rad) +
    0.24 * Math.cos(2 * hm * rad) +
    0.32 * Math.cos((3 * hm + 6) * rad) -
    0.2 * Math.cos((4 * hm - 63) * rad);
  const dTheta = 30 * Math.exp(-(((hm - 275) / 25) ** 2));
  const rc = 2 * Math.sqrt(cpm ** 7 / (cpm ** 7 + 25 ** 7));
  const sl = 1 + (0.015 * (lm - 50) ** 2) / Math.sqrt(20 + (lm - 50) ** 2);
  const sc = 1 + 0.045 * cpm;
  const sh = 1 + 0.015 * cpm * t;
  const rt = -Math.sin(2 * dTheta * rad) * rc;
  return Math.sqrt((dL / sl) ** 2 + (dC / sc) ** 2 + (dH / sh) ** 2 + rt * (dC / sc) * (dH / sh));
}

/** sRGB floats → Lab, interpolating the 8-bit conversion (exact at whole values). */
function lab(r: number, g: number, b: number): [number, number, number] {
  // Reduced pixels are fractional; the 8-bit table of features.ts rounds, well below ΔE 0.5.
  const c = (v: number) => Math.min(255, Math.max(0, Math.round(v)));
  return srgbToLab(c(r), c(g), c(b));
}

export function meanDeltaE(a: Raster, b: Raster): number {
  let sum = 0;
  const n = a.width * a.height;
  for (let i = 0; i < n; i++) {
    const [l1, a1, b1] = lab(
      a.data[i * 3] as number,
      a.data[i * 3 + 1] as number,
      a.data[i * 3 + 2] as number,
    );
    const [l2, a2, b2] = lab(
      b.data[i * 3] as number,
      b.data[i * 3 + 1] as number,
      b.data[i * 3 + 2] as number,
    );
    sum += ciede2000(l1, a1, b1, l2, a2, b2);
  }
  return sum / n;
}

export function compare(a: Raster, b: Raster): Score {
  return { ssim: ssim(a, b), deltaE: meanDeltaE(a, b) };
}

/** The target with one average colour per cell, blown back up (nearest) to the scoring size. */
export function flatCells(target: Raster, cols: number, rows: number, outW: number, outH: number): Raster {
  const small = boxReduce(target, cols, rows);
  const out = new Float64Array(outW * outH * 3);
  for (let y = 0; y < outH; y++) {
    const sy = Math.min(rows - 1, Math.floor((y * rows) / outH));
    for (let x = 0; x < outW; x++) {
      const sx = Math.min(cols - 1, Math.floor((x * cols) / outW));
      for (let c = 0; c < 3; c++)
        out[(y * outW + x) * 3 + c] = small.data[(sy * cols + sx) * 3 + c] as number;
    }
  }
  return { data: out, width: outW, height: outH };
}

/** Scores image files against a target file at one size; `grid` adds the flat-cells reference. */
export async function scoreFiles(
  targetFile: string,
  images: string[],
  size: [number, number] = [1000, 750],
  grid?: [number, number],
): Promise<Array<{ name: string } & Score>> {
  const [w, h] = size;
  const targetFull = await loadRgb(targetFile);
  const target = boxReduce(targetFull, w, h);
  const rows: Array<{ name: string } & Score> = [];
  if (grid) {
    // The reference uses the target at the scoring size's aspect, like the mosaic does.
    rows.push({
      name: `flat-cells-${grid[0]}x${grid[1]}`,
      ...compare(flatCells(target, grid[0], grid[1], w, h), target),
    });
  }
  for (const file of images)
    rows.push({ name: basename(file), ...compare(boxReduce(await loadRgb(file), w, h), target) });
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { size: { type: 'string', default: '1000x750' }, grid: { type: 'string' } },
  });
  const [target, ...images] = positionals;
  if (!target) {
    process.stderr.write(
      'usage: npx tsx scripts/bench/score.ts TARGET IMAGE... [--size 1000x750] [--grid 100x75]\n',
    );
    process.exit(2);
  }
  const parse = (s: string) => s.split('x').map(Number) as [number, number];
  const rows = await scoreFiles(
    target,
    images,
    parse(values.size),
    values.grid ? parse(values.grid) : undefined,
  );
  process.stdout.write(`${'image'.padEnd(40)} ${'ssim'.padStart(7)} ${'ΔE2000'.padStart(7)}\n`);
  for (const r of rows)
    process.stdout.write(
      `${r.name.padEnd(40)} ${r.ssim.toFixed(4).padStart(7)} ${r.deltaE.toFixed(2).padStart(7)}\n`,
    );
}
