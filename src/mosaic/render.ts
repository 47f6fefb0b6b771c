import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { sharp } from '../media/sharp-loaders.ts';
import {
  areaResize,
  type CellSource,
  cropCellsWith,
  decodeCellWith,
  decodeSourceWith,
} from './cells-kernel.mjs';
import type { Crop } from './features.ts';
import type { Rgb } from './target.ts';

export { areaResize, type CellSource };

/** One photo at cell size, raw RGB (see decodeCellWith in cells-kernel.mjs). */
export const decodeCell = (bytes: Buffer, width: number, height: number): Promise<Buffer> =>
  decodeCellWith(sharp, bytes, width, height);

/** Below this many photos per thread, a decode worker's start-up costs more than it saves. */
const WORKER_MIN_TILES = 200;

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
  /** Where each photo's cell comes from, per photo index (absolute paths). */
  sources: CellSource[];
  /** Tiles already decoded at cell size (see decodeTiles); the others are decoded here. */
  tiles?: Map<number, Buffer>;
  /** Per cell, the view of its photo (0 whole, k + 1 a crop): see cropTiles, which gave `crops`. */
  views?: Uint8Array;
  crops?: Map<number, Buffer>;
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
 * are 38 MB. Many photos are decoded in worker threads (cells-worker.mjs), one per core, so the
 * scaling down runs beside the match rather than in this thread; a few in this thread, where
 * sharp runs each decode on the libuv pool. `onDecoded` sees every tile as it comes; with
 * `keep` false the tiles are not kept (the map comes back empty), for libraries too large to
 * hold at cell size.
 */
export async function decodeTiles(
  sources: CellSource[],
  used: Iterable<number>,
  width: number,
  height: number,
  onTile?: () => void,
  onDecoded?: (photo: number, data: Buffer) => void,
  keep = true,
): Promise<Map<number, Buffer>> {
  const tiles = new Map<number, Buffer>();
  const jobs = [...new Set(used)].sort((a, b) => a - b).map((photo) => ({ photo }));
  await decodeJobs(jobs, sources, width, height, null, (p, _view, data) => {
    onDecoded?.(p, data);
    if (keep) tiles.set(p, data);
    onTile?.();
  });
  return tiles;
}

/** The key of photo p's view in the map cropTiles returns (views are below 256). */
export const viewKey = (photo: number, view: number): number => photo * 256 + view;

/**
 * Square cells of the views that `views` lists per photo (0 the whole photo, k + 1 crops[k]:
 * see cropCellsWith in cells-kernel.mjs), keyed by viewKey; on worker threads like decodeTiles.
 */
export async function cropTiles(
  sources: CellSource[],
  views: Map<number, number[]>,
  crops: readonly Crop[],
  width: number,
  onTile?: () => void,
): Promise<Map<number, Buffer>> {
  const tiles = new Map<number, Buffer>();
  const jobs = [...views.keys()].sort((a, b) => a - b).map((photo) => ({ photo, views: views.get(photo) }));
  await decodeJobs(jobs, sources, width, width, crops, (p, view, data) => {
    tiles.set(viewKey(p, view), data);
    onTile?.();
  });
  return tiles;
}

interface DecodeJob {
  photo: number;
  /** Views to cut (see cropTiles); absent: the whole photo at width × height. */
  views?: number[] | undefined;
}

/** Runs decode jobs here or, when there are many, on worker threads; `take` sees each cell. */
async function decodeJobs(
  jobs: DecodeJob[],
  sources: CellSource[],
  width: number,
  height: number,
  crops: readonly Crop[] | null,
  take: (photo: number, view: number, data: Buffer) => void,
): Promise<void> {
  const threads = Math.min(availableParallelism(), Math.floor(jobs.length / WORKER_MIN_TILES));
  if (threads >= 2) {
    await decodeInWorkers(jobs, sources, width, height, crops, threads, take);
    return;
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const { photo, views } = jobs[next++] as DecodeJob;
      const source = sources[photo] as CellSource;
      // Files are read synchronously: a few KB from the page cache, where four round trips
      // through the libuv pool per file (open, stat, read, close) held up the decodes.
      if (!views) take(photo, 0, await decodeSourceWith(sharp, source, width, height));
      else {
        const cells = await cropCellsWith(sharp, source, crops ?? [], views, width);
        for (const [i, view] of views.entries()) take(photo, view, cells[i] as Buffer);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(2, availableParallelism()) * 2 }, worker));
}

const describe = (source: CellSource | undefined): string =>
  typeof source === 'object' ? source.tile : String(source);

/** decodeJobs' work on `threads` worker threads, each given its share of the photos at once. */
function decodeInWorkers(
  queue: DecodeJob[],
  sources: CellSource[],
  width: number,
  height: number,
  crops: readonly Crop[] | null,
  threads: number,
  take: (photo: number, view: number, data: Buffer) => void,
): Promise<void> {
  let expected = 0;
  for (const job of queue) expected += job.views?.length ?? 1;
  return new Promise((resolve, reject) => {
    const workers: Worker[] = [];
    let done = 0;
    let settled = false;
    const settle = (error?: Error): void => {
      if (settled) return;
      settled = true;
      for (const w of workers) void w.terminate();
      if (error) reject(error);
      else resolve();
    };
    if (expected === 0) settle();
    for (let i = 0; i < threads; i++) {
      const jobs = queue
        .filter((_, k) => k % threads === i)
        .map(({ photo, views }) => ({ photo, views, source: sources[photo] }));
      const share = jobs.reduce((n, job) => n + (job.views?.length ?? 1), 0);
      const w = new Worker(new URL('./cells-worker.mjs', import.meta.url), {
        workerData: { width, height, crops, jobs },
      });
      workers.push(w);
      let delivered = 0;
      w.on('message', (m: { photo: number; view?: number; data?: Uint8Array; error?: string }) => {
        if (settled) return;
        if (!m.data) {
          settle(new Error(`${describe(sources[m.photo])}: ${m.error ?? 'not decoded'}`));
          return;
        }
        delivered++;
        take(m.photo, m.view ?? 0, Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength));
        if (++done === expected) settle();
      });
      w.on('error', (error) => settle(error));
      // A worker ends when its share is done; before that, it died.
      w.on('exit', (code) => {
        if (delivered < share) settle(new Error(`a cell decoding worker stopped (exit code ${code})`));
      });
    }
  });
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
  assignment.forEach((p, c) => {
    if (p >= 0 && !input.views?.[c] && !tiles.has(p)) missing.add(p);
  });
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
      const view = input.views?.[row * cols + col] ?? 0;
      const tile =
        p < 0 ? blank : view > 0 ? (input.crops?.get(viewKey(p, view)) as Buffer) : (tiles.get(p) as Buffer);
      if (!tile) throw new Error(`no cell for photo ${p}, view ${view}`);
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
