import { existsSync, readFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { detailedTile, readCacheFile, readCellRaster, readTileLuma } from '../media/cell-raster.mjs';
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
  /** Per cell, the view of its photo (0 whole, k + 1 a crop): see decodeCells' `cut`, which gave `crops`. */
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
export function decodeTiles(
  sources: CellSource[],
  used: Iterable<number>,
  width: number,
  height: number,
  onTile?: () => void,
  onDecoded?: (photo: number, data: Buffer) => void,
  keep = true,
): Promise<Map<number, Buffer>> {
  return decodeCells(sources, used, width, height, { onTile, onDecoded, keep }).whole;
}

/** The key of photo p's view in the map `cut` returns (views are below 256). */
export const viewKey = (photo: number, view: number): number => photo * 256 + view;

/** Decoded tiles the cell workers may hold, all together, while the match runs (see decodeCells). */
const TILES_AHEAD_BYTES = 512 * 1024 * 1024;

export interface CellDecoding {
  /** Each used photo whole at cell size (see decodeTiles). */
  whole: Promise<Map<number, Buffer>>;
  /**
   * Square cells of the views listed per photo (k + 1: crops[k], see cropCellsWith in
   * cells-kernel.mjs), keyed by viewKey. Called once, after `whole`, and only with `crops`.
   */
  cut(views: Map<number, number[]>): Promise<Map<number, Buffer>>;
  /** Stops any work left (the match failed: `cut` will not be called). */
  close(): void;
}

/**
 * decodeTiles, and with `crops` the cells of the crops the match will choose: on worker
 * threads (many photos), each one, once its whole photos are done, decodes the tiles of its
 * share ahead (up to TILES_AHEAD_BYTES in all; `tilesAhead` false: none), so that cutting the
 * crops after the match costs little. With few photos, everything runs in this thread.
 */
export function decodeCells(
  sources: CellSource[],
  used: Iterable<number>,
  width: number,
  height: number,
  opts: {
    onTile?: () => void;
    onDecoded?: (photo: number, data: Buffer) => void;
    keep?: boolean;
    crops?: readonly Crop[];
    tilesAhead?: boolean;
  } = {},
): CellDecoding {
  const { onTile, onDecoded, keep = true, crops } = opts;
  const tiles = new Map<number, Buffer>();
  const queue = [...new Set(used)].sort((a, b) => a - b);
  const take = (p: number, data: Buffer): void => {
    onDecoded?.(p, data);
    if (keep) tiles.set(p, data);
    onTile?.();
  };
  const threads = Math.min(availableParallelism(), Math.floor(queue.length / WORKER_MIN_TILES));
  if (threads >= 2) {
    return decodeInWorkers(
      queue,
      sources,
      width,
      height,
      threads,
      take,
      tiles,
      crops,
      opts.tilesAhead !== false,
    );
  }
  const whole = (async () => {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < queue.length) {
        const p = queue[next++] as number;
        // Files are read synchronously: a few KB from the page cache, where four round trips
        // through the libuv pool per file (open, stat, read, close) held up the decodes.
        take(p, await decodeSourceWith(sharp, sources[p] as CellSource, width, height));
      }
    };
    await Promise.all(Array.from({ length: Math.max(2, availableParallelism()) * 2 }, worker));
    return tiles;
  })();
  const cut = async (views: Map<number, number[]>): Promise<Map<number, Buffer>> => {
    const out = new Map<number, Buffer>();
    const jobs = [...views.entries()].sort((a, b) => a[0] - b[0]);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < jobs.length) {
        const [p, list] = jobs[next++] as [number, number[]];
        const cells = await cropCellsWith(sharp, sources[p] as CellSource, crops ?? [], list, width);
        for (const [i, view] of list.entries()) out.set(viewKey(p, view), cells[i] as Buffer);
      }
    };
    await Promise.all(Array.from({ length: Math.max(2, availableParallelism()) * 2 }, worker));
    return out;
  };
  return { whole, cut, close: () => undefined };
}

const describe = (source: CellSource | undefined): string =>
  typeof source === 'object' ? source.tile : String(source);

interface CellMessage {
  photo?: number;
  view?: number;
  data?: Uint8Array;
  error?: string;
  wholeDone?: boolean;
  cutDone?: boolean;
}

/** decodeCells' work on `threads` worker threads, each given its share of the photos at once. */
function decodeInWorkers(
  queue: number[],
  sources: CellSource[],
  width: number,
  height: number,
  threads: number,
  take: (photo: number, data: Buffer) => void,
  tiles: Map<number, Buffer>,
  crops: readonly Crop[] | undefined,
  tilesAhead: boolean,
): CellDecoding {
  const workers: Worker[] = [];
  const shareOf = new Map<number, number>();
  let settled = false;
  let stage: { resolve: () => void; reject: (error: Error) => void } | null = null;
  let failure: Error | null = null;
  let pending = threads;
  const fail = (error: Error): void => {
    if (settled) return;
    settled = true;
    failure = error;
    for (const w of workers) void w.terminate();
    stage?.reject(error);
  };
  const stageDone = (): void => {
    if (--pending === 0) stage?.resolve();
  };
  const cutCells = new Map<number, Buffer>();
  // Crops are cut from the tile when the raster is too small for the cell: decode those ahead.
  const needTiles = tilesAhead && (crops?.some(([, , side]) => side < width) ?? false);
  const whole = new Promise<Map<number, Buffer>>((resolve, reject) => {
    stage = { resolve: () => resolve(tiles), reject };
  });
  for (let i = 0; i < threads; i++) {
    const jobs = queue
      .filter((_, k) => k % threads === i)
      .map((photo) => {
        shareOf.set(photo, i);
        return { photo, source: sources[photo] };
      });
    const w = new Worker(new URL('./cells-worker.mjs', import.meta.url), {
      workerData: {
        width,
        height,
        crops: crops ?? null,
        jobs,
        tileBudget: needTiles ? TILES_AHEAD_BYTES / threads : 0,
      },
    });
    workers.push(w);
    let finished = false;
    w.on('message', (m: CellMessage) => {
      if (settled) return;
      if (m.error !== undefined || (m.photo !== undefined && !m.data)) {
        fail(new Error(`${describe(sources[m.photo as number])}: ${m.error ?? 'not decoded'}`));
      } else if (m.wholeDone) {
        if (!crops) finished = true;
        stageDone();
      } else if (m.cutDone) {
        finished = true;
        stageDone();
      } else if (m.data && m.photo !== undefined) {
        const data = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
        if (m.view === undefined) take(m.photo, data);
        else cutCells.set(viewKey(m.photo, m.view), data);
      }
    });
    w.on('error', (error) => fail(error));
    // A worker ends when its work is done; before that, it died.
    w.on('exit', (code) => {
      if (!finished) fail(new Error(`a cell decoding worker stopped (exit code ${code})`));
    });
  }
  const cut = (views: Map<number, number[]>): Promise<Map<number, Buffer>> => {
    if (failure) return Promise.reject(failure);
    const stranger = [...views.keys()].find((photo) => !shareOf.has(photo));
    if (stranger !== undefined) {
      fail(new Error(`photo ${stranger} was not among the decoded`));
      return Promise.reject(failure);
    }
    const shares = Array.from(
      { length: threads },
      () => [] as Array<{ photo: number; source: CellSource | undefined; views: number[] }>,
    );
    for (const [photo, list] of [...views.entries()].sort((a, b) => a[0] - b[0])) {
      shares[shareOf.get(photo) as number]?.push({ photo, source: sources[photo], views: list });
    }
    pending = threads;
    const done = new Promise<Map<number, Buffer>>((resolve, reject) => {
      stage = { resolve: () => resolve(cutCells), reject };
    });
    workers.forEach((w, i) => {
      w.postMessage({ cut: shares[i] });
    });
    return done;
  };
  const close = (): void => fail(new Error('cell decoding stopped'));
  return { whole, cut, close };
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

/** The viewer's photos: as tile.jpg is stored (see media-repository.ts). */
const TILE_JPEG = { quality: 90, chromaSubsampling: '4:2:0' } as const;

/**
 * A photo's 256 px tile as a JPEG file at `out`: a copy of tile.jpg, or, while a bulk import has
 * left it for later, encoded from the cell raster and luma, or from the original where those are
 * missing or damaged.
 */
export async function writeTileFile(
  files: { raster: string; luma: string; tile: string; original: string | null },
  out: string,
): Promise<void> {
  if (existsSync(files.tile) || !files.original) {
    await copyFile(files.tile, out);
    return;
  }
  const detailed = detailedTile(
    readCacheFile(files.raster, readCellRaster),
    readCacheFile(files.luma, readTileLuma),
  );
  const pipeline = detailed
    ? sharp(detailed.data, { raw: detailed.info })
    : sharp(readFileSync(files.original), { failOn: 'none' })
        .resize({ width: 256, height: 256, fit: 'cover', position: 'centre' })
        .flatten({ background: '#ffffff' })
        .toColourspace('srgb');
  await pipeline.jpeg(TILE_JPEG).toFile(out);
}
