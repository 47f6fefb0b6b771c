import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { sharp } from '../media/sharp-loaders.ts';
import type { Rgb } from './target.ts';

export interface Layout {
  cols: number;
  rows: number;
  cellWidth: number;
  cellHeight: number;
}

export interface RenderInput {
  layout: Layout;
  /** Photo index per cell, row-major; -1 leaves the cell in the background colour. */
  assignment: Int32Array;
  /** Absolute path of the image to use per photo index. */
  sources: string[];
  /** Tiles already decoded at cell size (see decodeTiles); the others are decoded here. */
  tiles?: Map<number, Buffer>;
  /** 0–1: each output pixel moves this far toward the target at that point. */
  blend?: number;
  /** The target raster the blend moves toward (any size: sampled bilinearly). */
  blendTarget?: Rgb;
  background?: [number, number, number];
  onTile?: () => void;
  onStrip?: (row: number) => void;
}

/**
 * Decodes each used photo once, at cell size, into a raw RGB buffer: 2,000 photos at 80×80
 * are 38 MB. sharp runs each decode on the libuv pool, so a few in flight use every core.
 * `onDecoded` sees every tile as it comes; with `keep` false the tiles are not kept (the map
 * comes back empty), for libraries too large to hold at cell size.
 */
export async function decodeTiles(
  sources: string[],
  used: Iterable<number>,
  width: number,
  height: number,
  onTile?: () => void,
  onDecoded?: (photo: number, data: Buffer) => void,
  keep = true,
): Promise<Map<number, Buffer>> {
  const tiles = new Map<number, Buffer>();
  const queue = [...new Set(used)].sort((a, b) => a - b);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < queue.length) {
      const p = queue[next++] as number;
      const bytes = await readFile(sources[p] as string);
      const data = await decodeCell(bytes, width, height);
      onDecoded?.(p, data);
      if (keep) tiles.set(p, data);
      onTile?.();
    }
  };
  await Promise.all(Array.from({ length: Math.max(2, availableParallelism()) * 2 }, worker));
  return tiles;
}

/**
 * One photo at cell size, raw RGB, cropped to the cell's shape around the centre. A stored tile
 * (an RGB JPEG at least as large as the cell) is decoded whole and scaled down here by area: on
 * 256 px tiles and 80 px cells, sharp's resize cost as much as the decode itself (1.2 ms a tile,
 * most of it setting up the resample), the exact area average a third of that. Anything else —
 * a cell larger than the photo, grey or transparent sources — goes through sharp's resize.
 */
export async function decodeCell(bytes: Buffer, width: number, height: number): Promise<Buffer> {
  // Stored derivatives are our own JPEG/WebP output; buffers go through the allowed loaders.
  const whole = await sharp(bytes, { failOn: 'none' }).raw().toBuffer({ resolveWithObject: true });
  const { info } = whole;
  if (info.channels === 3 && info.width >= width && info.height >= height) {
    // The largest centred region of the cell's shape (what sharp's cover + centre keeps).
    const cropW = Math.min(info.width, Math.round((info.height * width) / height));
    const cropH = Math.min(info.height, Math.round((info.width * height) / width));
    return areaResize(
      whole.data,
      info.width,
      Math.floor((info.width - cropW) / 2),
      Math.floor((info.height - cropH) / 2),
      cropW,
      cropH,
      width,
      height,
    );
  }
  return sharp(bytes, { failOn: 'none' })
    .resize(width, height, { fit: 'cover', position: 'centre' })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer();
}

/** Per output pixel along one axis: the source pixels it covers and by how much (integers). */
interface Taps {
  first: Int32Array;
  count: Int32Array;
  /** `count[o]` weights from `o × span`, summing to the source size. */
  weight: Int32Array;
  span: number;
}

const tapsCache = new Map<string, Taps>();
function areaTaps(src: number, dst: number): Taps {
  const key = `${src}/${dst}`;
  const cached = tapsCache.get(key);
  if (cached) return cached;
  // In units where a source pixel is `dst` long and an output pixel `src` long.
  const span = Math.ceil(src / dst) + 1;
  const taps: Taps = {
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

/**
 * The region (x0, y0, w, h) of an RGB raster `stride` pixels wide, scaled down to dw × dh by
 * area: every output pixel is the exact mean of the source area it covers, rounded.
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
): Buffer {
  const tx = areaTaps(w, dw);
  const ty = areaTaps(h, dh);
  // Horizontal pass: each source row of the region to dw sums (at most 255 × w each).
  const rows = new Int32Array(h * dw * 3);
  for (let y = 0; y < h; y++) {
    const rowStart = ((y0 + y) * stride + x0) * 3;
    let o = y * dw * 3;
    for (let x = 0; x < dw; x++, o += 3) {
      let i = rowStart + (tx.first[x] as number) * 3;
      let r = 0;
      let g = 0;
      let b = 0;
      for (let t = x * tx.span, end = t + (tx.count[x] as number); t < end; t++, i += 3) {
        const wt = tx.weight[t] as number;
        r += wt * (src[i] as number);
        g += wt * (src[i + 1] as number);
        b += wt * (src[i + 2] as number);
      }
      rows[o] = r;
      rows[o + 1] = g;
      rows[o + 2] = b;
    }
  }
  // Vertical pass, then the division by the whole weight (w × h), rounded half up.
  const out = Buffer.allocUnsafe(dw * dh * 3);
  const area = w * h;
  const half = Math.floor(area / 2);
  const line = dw * 3;
  const sums = new Float64Array(line);
  for (let y = 0; y < dh; y++) {
    sums.fill(half);
    const firstRow = ty.first[y] as number;
    for (let t = 0, count = ty.count[y] as number; t < count; t++) {
      const wt = ty.weight[y * ty.span + t] as number;
      const from = (firstRow + t) * line;
      for (let x = 0; x < line; x++) sums[x] = (sums[x] as number) + wt * (rows[from + x] as number);
    }
    const o = y * line;
    for (let x = 0; x < line; x++) out[o + x] = Math.floor((sums[x] as number) / area);
  }
  return out;
}

/**
 * Pastes the tiles into one raw RGB canvas, one strip (row of cells) at a time, blending toward
 * the target when asked. The canvas is the only full-size buffer: width × height × 3 bytes
 * (288 MB at 12,000×8,000), handed to the encoder without a copy.
 */
export async function renderCanvas(input: RenderInput): Promise<Rgb> {
  const { layout, assignment, sources } = input;
  const { cols, rows, cellWidth: cw, cellHeight: ch } = layout;
  const width = cols * cw;
  const height = rows * ch;
  const tiles = new Map(input.tiles);
  const missing = new Set<number>();
  for (const p of assignment) if (p >= 0 && !tiles.has(p)) missing.add(p);
  for (const [p, data] of await decodeTiles(sources, missing, cw, ch, input.onTile)) tiles.set(p, data);

  const canvas = Buffer.allocUnsafe(width * height * 3);
  const bg = input.background ?? [255, 255, 255];
  const blank = Buffer.alloc(cw * ch * 3);
  for (let i = 0; i < cw * ch; i++) blank.set(bg, i * 3);
  const rowBytes = cw * 3;
  const blend = Math.min(1, Math.max(0, input.blend ?? 0));
  for (let row = 0; row < rows; row++) {
    for (let col = 0; col < cols; col++) {
      const p = assignment[row * cols + col] as number;
      const tile = p >= 0 ? (tiles.get(p) as Buffer) : blank;
      let o = (row * ch * width + col * cw) * 3;
      for (let y = 0; y < ch; y++) {
        tile.copy(canvas, o, y * rowBytes, (y + 1) * rowBytes);
        o += width * 3;
      }
    }
    if (blend > 0 && input.blendTarget)
      blendStrip(canvas, width, row * ch, (row + 1) * ch, input.blendTarget, blend);
    input.onStrip?.(row);
    // Yield between strips so progress events reach listeners during a long render.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { data: canvas, width, height };
}

/** Moves rows [y0, y1) of the canvas toward the target, sampled bilinearly at each pixel. */
function blendStrip(canvas: Buffer, width: number, y0: number, y1: number, target: Rgb, alpha: number): void {
  const height = Math.round(canvas.length / 3 / width);
  const sx = target.width / width;
  const sy = target.height / height;
  const a = Math.round(alpha * 256);
  const keep = 256 - a;
  const td = target.data;
  const tw = target.width;
  // Horizontal sample positions are the same on every row: compute them once per strip.
  const x0s = new Int32Array(width);
  const fxs = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), tw - 1);
    const ix = Math.min(Math.floor(fx), Math.max(0, tw - 2));
    x0s[x] = ix;
    fxs[x] = tw > 1 ? fx - ix : 0;
  }
  for (let y = y0; y < y1; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), target.height - 1);
    const iy = Math.min(Math.floor(fy), Math.max(0, target.height - 2));
    const wy = target.height > 1 ? fy - iy : 0;
    const r0 = iy * tw * 3;
    const r1 = Math.min(iy + 1, target.height - 1) * tw * 3;
    let o = y * width * 3;
    for (let x = 0; x < width; x++) {
      const ix = x0s[x] as number;
      const wx = fxs[x] as number;
      const i0 = ix * 3;
      const i1 = Math.min(ix + 1, tw - 1) * 3;
      for (let c = 0; c < 3; c++) {
        const top = (td[r0 + i0 + c] as number) * (1 - wx) + (td[r0 + i1 + c] as number) * wx;
        const bottom = (td[r1 + i0 + c] as number) * (1 - wx) + (td[r1 + i1 + c] as number) * wx;
        const t = top * (1 - wy) + bottom * wy;
        canvas[o + c] = ((canvas[o + c] as number) * keep + t * a + 128) >> 8;
      }
      o += 3;
    }
  }
}
