import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { Db } from '../db/sqlite.ts';
import {
  CELL_FILE,
  CELL_SIDE,
  readCacheFile,
  readCellRaster,
  TILE_LUMA_FILE,
} from '../media/cell-raster.mjs';
import { collageOrder } from './collage.ts';
import { creditsHtml } from './credits.ts';
import { encodeImage, formatFromPath } from './encode.ts';
import { MosaicError } from './errors.ts';
import {
  type Crop,
  cellFeatures,
  cropFeatures,
  FEATURE_VALUES,
  LUMA_GRID,
  LUMA_RANGE,
  LUMA_VALUES,
  regionFeatures,
} from './features.ts';
import { type LibraryPhoto, loadLibrary } from './library.ts';
import { buildManifest, type Manifest, manifestCsv, supporters } from './manifest.ts';
import { DENSE_MAX_PAIRS, matchCells } from './matcher.ts';
import type { MosaicStore, StoredMosaicOptions } from './registry.ts';
import {
  type CellDecoding,
  type CellSource,
  decodeCell,
  decodeCells,
  type Layout,
  renderCanvas,
  writeTileFile,
} from './render.ts';
import { openTarget, type Rgb } from './target.ts';
import { writeViewer } from './viewer.ts';

export interface MosaicOptions {
  /** The image file to write: .jpg, .png or .tif. Manifest, credits and viewer go beside it. */
  out: string;
  /** A JPEG/PNG file, its bytes, or undefined / 'default' for the built-in peace symbol. */
  target?: string | Uint8Array;
  /** About this many cells (the grid follows the target's aspect). */
  cells?: number;
  /** Exactly this grid, instead of `cells`. */
  grid?: { cols: number; rows: number };
  /** Output width in pixels (cells are square; the width is rounded down to whole cells). */
  width?: number;
  /** 0–100: how far each pixel moves toward the target. */
  blend?: number;
  /** Use approved photos without print consent too (on-screen mosaics). */
  includeUnconsented?: boolean;
  /** A plain grid of every photo, without target, ordered by time or colour. */
  collage?: 'time' | 'colour';
  maxRepeats?: number;
  minDistance?: number;
  /**
   * A cell may show a square part of a photo, this many percent of its side (at nine places),
   * where that fits the target better; every photo shown is still shown whole at least once.
   * Default 35 (on 2,000 real photos, 4 uses each: SSIM 0.48 against 0.27 for whole photos
   * only, in two to three times the build time). 100: whole photos only.
   */
  crop?: number;
  /** Also write the deep-zoom viewer folder. */
  deepZoom?: boolean;
  /** Public URL of the viewer, for the QR code on the credits page. */
  viewerUrl?: string;
  /** Heading of the credits page. */
  title?: string;
  quality?: number;
  workers?: number;
  maxTargetPixels?: number;
  /** Refuse outputs larger than this (the canvas takes 3 bytes per pixel). Default 400 MP. */
  maxOutputPixels?: number;
}

export type MosaicPhase = 'prepare' | 'match' | 'tiles' | 'render' | 'encode' | 'viewer' | 'done';

export interface MosaicProgress {
  phase: MosaicPhase;
  done: number;
  total: number;
}

export interface MosaicFiles {
  image: string;
  manifestJson: string;
  manifestCsv: string;
  credits: string;
  viewer: string | null;
}

export interface MosaicStats {
  kind: 'mosaic' | 'collage';
  cols: number;
  rows: number;
  cells: number;
  width: number;
  height: number;
  /** Photos the mosaic could use. */
  photos: number;
  photosShown: number;
  supporters: number;
  maxRepeats: number;
  minDistance: number;
  /** Distance in cells between the two closest uses of one photo (-1 without repeats). */
  closestRepeat: number;
  meanCost: number;
  /** Cells that show a crop of their photo rather than the whole photo. */
  cropped: number;
  /** Per phase, in order; `match.*` are the match's own parts of them (not to be added again). */
  seconds: Record<string, number>;
}

export interface MosaicResult {
  id: string | null;
  files: MosaicFiles;
  stats: MosaicStats;
  manifest: Manifest;
}

export type MosaicDeps =
  | { db: Db; mediaDir: string; store?: MosaicStore }
  | { db: Db; settings: { mediaDir: string }; store?: MosaicStore };

export const DEFAULT_WIDTH = 6000;
const MAX_OUTPUT_PIXELS = 400_000_000;
/**
 * The match's cost per cell (see `distance` in candidates-kernel.mjs): STRUCTURE_WEIGHT × 100 ×
 * (1 − SSIM of the photo's 10×10 luma against the cell's) + LUMA_WEIGHT × 100 × (Δ mean luma)²
 * + the squared a*b* differences of the 4×4 grids. On 2,000 real photos (100×75 cells, 4 uses
 * each): SSIM 0.268 at ΔE00 24.4, where squared differences alone (an L* grid weighted 4, and
 * the greedy) gave 0.201 at 24.7. More structure trades colour for SSIM: 2,600 gives 0.263 at
 * ΔE 24.1, 4,500 0.269 at 24.9. A mean luma weight of 4 or 10 gives a lower SSIM than 6 at the
 * same ΔE.
 */
const STRUCTURE_WEIGHT = 3300;
const LUMA_WEIGHT = 6;
/**
 * The cost matrix's first pass compares the 21 lowest DCT frequencies of the 10×10 L grids, not
 * all 100 values; each cell's 256 best photos are then costed exactly, as before. On 2,000 real
 * photos: SSIM 0.2683 at ΔE00 24.35 against 0.2675 at 24.34 with every value, and the matrix in
 * 1.2 s instead of 1.6 s.
 */
const COARSE_FREQUENCIES = 21;
/**
 * Crops a cell may show (see MosaicOptions.crop) are squares at 3×3 places (corners, edges,
 * centre). On 2,000 real photos (100×75 cells, 4 uses each, every photo whole at least once),
 * SSIM with crops of 35 % of the side: 0.477 (2×2 places: 0.451, 4×4: 0.477, 5×5: 0.478);
 * with 70, 50 and 35 % all offered: 0.467, as the search keeps fewer of the small crops that fit
 * best; 50 and 35 %: 0.470.
 */
const CROP_PLACES = 3;
/**
 * With crops, the whole photos' costs refined per cell (see MatchInput.refine): they decide
 * only where each photo is shown whole. 128 gives the same SSIM as 256 (0.477) in less time; 64
 * gives 0.475.
 */
const CROP_REFINE = 128;
export const DEFAULT_CROP = 35;
/** Target pixels per cell side for the blend. */
const BLEND_ANALYSIS = 16;
/**
 * Tiles decoded for matching are kept for the render up to this many bytes (2,000 photos at
 * 80×80 take 38 MB); a larger library is decoded twice rather than held.
 */
const KEEP_TILE_BYTES = 512 * 1024 * 1024;

/** The side files of a mosaic, named after the image: `x.jpg` → `x.manifest.json`, … */
export function sideFiles(out: string, withViewer: boolean): MosaicFiles {
  const stem = join(dirname(out), basename(out, extname(out)));
  return {
    image: out,
    manifestJson: `${stem}.manifest.json`,
    manifestCsv: `${stem}.manifest.csv`,
    credits: `${stem}.credits.html`,
    viewer: withViewer ? `${stem}.viewer` : null,
  };
}

function checkOptions(o: MosaicOptions): void {
  const bad = (m: string) => new MosaicError('bad-options', m);
  formatFromPath(o.out);
  if (o.blend !== undefined && !(o.blend >= 0 && o.blend <= 100))
    throw bad('blend must be between 0 and 100');
  if (o.crop !== undefined && !(o.crop >= 1 && o.crop <= 100))
    throw bad('crop must be between 1 and 100 (percent)');
  if (o.cells !== undefined && !(Number.isInteger(o.cells) && o.cells >= 1 && o.cells <= 1_000_000)) {
    throw bad('cells must be a whole number between 1 and 1,000,000');
  }
  if (o.width !== undefined && !(Number.isInteger(o.width) && o.width >= 16 && o.width <= 100_000)) {
    throw bad('width must be a whole number of pixels between 16 and 100,000');
  }
  if (
    o.grid &&
    !(Number.isInteger(o.grid.cols) && Number.isInteger(o.grid.rows) && o.grid.cols >= 1 && o.grid.rows >= 1)
  ) {
    throw bad('grid must be whole numbers of columns and rows');
  }
}

/**
 * Builds a photo mosaic (or a plain collage) from the approved photos: the image, a manifest
 * (JSON and CSV: which post is in which cell), a credits page, and optionally the deep-zoom
 * viewer. Same database, options and target give the same image, byte for byte.
 */
export async function buildMosaic(
  deps: MosaicDeps,
  options: MosaicOptions,
  onProgress: (p: MosaicProgress) => void = () => undefined,
): Promise<MosaicResult> {
  checkOptions(options);
  const mediaDir = 'settings' in deps ? deps.settings.mediaDir : deps.mediaDir;
  const seconds: Record<string, number> = {};
  let t0 = performance.now();
  const lap = (name: string) => {
    const t = performance.now();
    seconds[name] = Math.round(t - t0) / 1000;
    t0 = t;
  };
  const abs = (rel: string) => join(mediaDir, rel);
  // The caches stored beside each tile (media/cell-raster.mjs).
  const caches = (p: LibraryPhoto) => {
    const dir = dirname(abs(p.tilePath));
    return { raster: join(dir, CELL_FILE), luma: join(dir, TILE_LUMA_FILE) };
  };
  const tileOrOriginal = (p: LibraryPhoto): string => {
    const tile = abs(p.tilePath);
    return p.originalPath && !existsSync(tile) ? abs(p.originalPath) : tile;
  };

  onProgress({ phase: 'prepare', done: 0, total: 1 });
  const photos = loadLibrary(deps.db, { includeUnconsented: options.includeUnconsented });
  if (photos.length === 0) {
    throw new MosaicError(
      'no-photos',
      options.includeUnconsented
        ? 'no approved photos to build from'
        : 'no approved photos with print consent (use --include-unconsented for an on-screen mosaic)',
    );
  }
  const kind = options.collage ? 'collage' : 'mosaic';
  const width = options.width ?? DEFAULT_WIDTH;
  let layout: Layout;
  let assignment: Int32Array;
  let blendTarget: Rgb | undefined;
  let targetName: string | null = null;
  let maxRepeats = 1;
  let minDistance = 0;
  let closestRepeat = Number.POSITIVE_INFINITY;
  let meanCost = 0;
  let decodedTiles: Map<number, Buffer> | undefined;
  let views: Uint8Array | undefined;
  let cropCells: Map<number, Buffer> | undefined;
  let crops: Crop[] = [];
  // The 128 px cell raster stored beside the tile serves cells up to its size with no decoding,
  // and with the tile's luma cells and crops up to the tile's 256 px (the tile when either is
  // missing or damaged); bigger cells take the wall-size derivative. A bulk import leaves the
  // tile and wall files for later: the original (always there) serves then.
  const source =
    (cellWidth: number) =>
    (p: LibraryPhoto): CellSource => {
      if (cellWidth <= 256) return { ...caches(p), tile: tileOrOriginal(p) };
      const wall = p.wallPath ? abs(p.wallPath) : null;
      if (wall && existsSync(wall)) return wall;
      return abs(p.originalPath ?? p.tilePath);
    };

  if (options.collage) {
    const cells = photos.length;
    const cols = options.grid?.cols ?? Math.max(1, Math.ceil(Math.sqrt((cells * 4) / 3)));
    const rows = options.grid?.rows ?? Math.ceil(cells / cols);
    layout = squareLayout(cols, rows, width, options.maxOutputPixels);
    assignment = new Int32Array(cols * rows).fill(-1);
    collageOrder(photos, options.collage)
      .slice(0, cols * rows)
      .forEach((p, i) => {
        assignment[i] = p;
      });
    lap('prepare');
  } else {
    const target = await openTarget(options.target, options.maxTargetPixels);
    targetName = target.name;
    const wanted = options.cells ?? Math.min(7500, Math.max(100, photos.length * 4));
    const cols =
      options.grid?.cols ?? Math.max(1, Math.round(Math.sqrt((wanted * target.width) / target.height)));
    const rows = options.grid?.rows ?? Math.max(1, Math.round(wanted / cols));
    layout = squareLayout(cols, rows, width, options.maxOutputPixels);
    const analysis = await target.render(cols * LUMA_GRID, rows * LUMA_GRID);
    const targetFeatures = cellFeatures(analysis, cols, rows);
    if (options.blend) blendTarget = await target.render(cols * BLEND_ANALYSIS, rows * BLEND_ANALYSIS);
    lap('prepare');
    const { cellWidth: cw, cellHeight: ch } = layout;
    const library = new Float32Array(photos.length * FEATURE_VALUES);
    // The features ingest measured on each tile: matching needs no photo decoded, so it runs
    // while the render's tiles are decoded. Photos stored before those were kept are measured
    // on their decoded cells first, as every photo once was.
    const unmeasured = new Set<number>();
    photos.forEach((p, i) => {
      if (p.mosaicGrid?.length === FEATURE_VALUES) library.set(p.mosaicGrid, i * FEATURE_VALUES);
      else unmeasured.add(i);
    });
    let decoded = 0;
    // Crops need the auction's cost matrix: larger problems show whole photos.
    crops = cols * rows * photos.length <= DENSE_MAX_PAIRS ? cropList(options.crop ?? DEFAULT_CROP, cw) : [];
    let cells: CellDecoding | undefined;
    // The whole photos, and with crops the cells to cut them from once the match has chosen.
    const decodeAll = () => {
      cells = decodeCells(photos.map(source(cw)), photos.keys(), cw, ch, {
        onTile: () => onProgress({ phase: 'tiles', done: ++decoded, total: photos.length }),
        onDecoded: (p, data) => {
          if (unmeasured.has(p)) regionFeatures(data, cw, 0, 0, cw, ch, library, p * FEATURE_VALUES);
        },
        keep: photos.length * cw * ch * 3 <= KEEP_TILE_BYTES,
        crops: crops.length > 0 ? crops : undefined,
        // A library too large to keep at cell size is not decoded ahead at tile size either.
        tilesAhead: photos.length * cw * ch * 3 <= KEEP_TILE_BYTES,
      });
      return cells.whole;
    };
    if (unmeasured.size > 0) {
      decodedTiles = await decodeAll();
      lap('tiles');
    }
    // The cost matrix takes every core; the tiles are decoded once it is done, on worker threads
    // beside the auction, which runs on this thread (2,000 photos: the match and the tiles done
    // in 2.3–2.4 s, against 2.8–2.9 s decoding at the same time as the matrix).
    let decoding: Promise<Map<number, Buffer>> | undefined;
    let measured: (views: Float32Array) => void = () => undefined;
    let unmeasurable: (error: unknown) => void = () => undefined;
    const cropViews = new Promise<Float32Array>((resolve, reject) => {
      measured = resolve;
      unmeasurable = reject;
    });
    // The match awaits it once its cost matrix is done; a failure reaches the build through the
    // match, and must not go unhandled before that.
    cropViews.catch(() => undefined);
    const matching = matchCells({
      cols,
      rows,
      target: targetFeatures,
      library,
      photos: photos.length,
      values: FEATURE_VALUES,
      lightness: LUMA_VALUES,
      lightnessRange: LUMA_RANGE,
      weightL: LUMA_WEIGHT,
      weightS: 0,
      structure: STRUCTURE_WEIGHT,
      coarse: COARSE_FREQUENCIES,
      refine: crops.length > 0 ? CROP_REFINE : undefined,
      maxRepeats: options.maxRepeats,
      minDistance: options.minDistance,
      workers: options.workers,
      crops: crops.length > 0 ? { views: cropViews, count: crops.length } : undefined,
      onCosts: () => {
        if (decodedTiles) return;
        decoding ??= decodeAll();
        // Awaited below once the match is done; a failed match must not leave it unhandled.
        decoding.catch(() => undefined);
      },
    });
    const matched = matching.catch((error: unknown) => {
      cells?.close();
      throw error;
    });
    // Awaited below; a match that fails meanwhile must not go unhandled.
    matched.catch(() => undefined);
    // The cell workers wait for the crops to cut: whatever fails before, they are stopped.
    let cutting = false;
    try {
      // The crops are measured here while the cost matrix takes the worker threads.
      if (crops.length > 0) {
        await measureCrops(
          photos.map((p) => ({ raster: caches(p).raster, tile: tileOrOriginal(p) })),
          crops,
        ).then(measured, (error) => {
          unmeasurable(error);
          throw error;
        });
      }
      if (!decodedTiles) {
        // A match that fails fails the build here, before any tile is decoded if it failed early.
        await matched;
        decoding ??= decodeAll();
        decodedTiles = await decoding;
        lap('tiles');
      }
      // Progress reads in order: every tile, then the match.
      onProgress({ phase: 'match', done: 0, total: 1 });
      const match = await matched;
      assignment = match.assignment;
      views = match.view;
      const shownCropped = new Map<number, number[]>();
      assignment.forEach((p, c) => {
        const view = match.view[c] as number;
        if (p < 0 || view === 0) return;
        const list = shownCropped.get(p) ?? [];
        if (!list.includes(view)) list.push(view);
        shownCropped.set(p, list);
      });
      for (const [phase, time] of Object.entries(match.timings)) seconds[`match.${phase}`] = time;
      lap('match');
      if (crops.length > 0 && cells) {
        // Also when no cell shows a crop: the workers wait for it.
        cutting = true;
        cropCells = await cells.cut(shownCropped);
        lap('crops');
      }
      // Only the tiles the render pastes stay in memory.
      const pasted = new Set<number>();
      assignment.forEach((p, c) => {
        if (p >= 0 && match.view[c] === 0) pasted.add(p);
      });
      for (const p of decodedTiles.keys()) if (!pasted.has(p)) decodedTiles.delete(p);
      maxRepeats = match.maxRepeats;
      minDistance = match.minDistance;
      closestRepeat = match.closestRepeat;
      // Per sixteenth of a cell, as the old 4×4 grid reported it.
      meanCost = match.meanCost / 16;
      onProgress({ phase: 'match', done: 1, total: 1 });
    } finally {
      if (!cutting) cells?.close();
    }
  }

  const { cols, rows, cellWidth } = layout;
  const used = new Set<number>();
  for (const p of assignment) if (p >= 0) used.add(p);
  let tilesDone = 0;
  let rowsDone = 0;
  const canvas = await renderCanvas({
    layout,
    assignment,
    sources: photos.map(source(cellWidth)),
    tiles: decodedTiles,
    views,
    crops: cropCells,
    blend: (options.blend ?? 0) / 100,
    blendTarget,
    onTile: () => onProgress({ phase: 'tiles', done: ++tilesDone, total: used.size }),
    onStrip: () => onProgress({ phase: 'render', done: ++rowsDone, total: rows }),
  });
  lap('render');

  const files = sideFiles(options.out, Boolean(options.deepZoom));
  onProgress({ phase: 'encode', done: 0, total: 1 });
  await encodeImage(canvas, files.image, options.quality);
  onProgress({ phase: 'encode', done: 1, total: 1 });
  lap('encode');

  const manifest = buildManifest({
    kind,
    image: basename(files.image),
    target: targetName,
    layout,
    blend: options.blend ?? 0,
    assignment,
    photos,
    crops: views
      ? Array.from(views, (view) => {
          const crop = crops[view - 1];
          if (view === 0 || !crop) return undefined;
          const part = (v: number) => Math.round((v / CELL_SIDE) * 1000) / 1000;
          return { x: part(crop[0]), y: part(crop[1]), size: part(crop[2]) };
        })
      : undefined,
  });
  await mkdir(dirname(files.manifestJson), { recursive: true });
  await writeFile(files.manifestJson, `${JSON.stringify(manifest)}\n`);
  await writeFile(files.manifestCsv, manifestCsv(manifest));
  await writeFile(
    files.credits,
    creditsHtml(manifest, { title: options.title, viewerUrl: options.viewerUrl }),
  );
  if (files.viewer) {
    onProgress({ phase: 'viewer', done: 0, total: 1 });
    await writeViewer({
      dir: files.viewer,
      canvas,
      image: files.image,
      manifest,
      photos,
      writePhoto: (p, out) =>
        writeTileFile(
          {
            ...caches(p),
            tile: abs(p.tilePath),
            original: p.originalPath ? abs(p.originalPath) : null,
          },
          out,
        ),
    });
    onProgress({ phase: 'viewer', done: 1, total: 1 });
    lap('viewer');
  }

  let maxUses = 0;
  for (const p of manifest.posts) maxUses = Math.max(maxUses, p.cells.length);
  const stats: MosaicStats = {
    kind,
    cols,
    rows,
    cells: cols * rows,
    width: canvas.width,
    height: canvas.height,
    photos: photos.length,
    photosShown: manifest.posts.length,
    supporters: supporters(manifest).length,
    maxRepeats: kind === 'collage' ? 1 : Math.min(maxRepeats, maxUses),
    minDistance,
    closestRepeat: Number.isFinite(closestRepeat) ? Math.round(closestRepeat * 100) / 100 : -1,
    meanCost: Math.round(meanCost * 100) / 100,
    cropped: views ? views.reduce((n, v) => n + (v > 0 ? 1 : 0), 0) : 0,
    seconds,
  };
  onProgress({ phase: 'done', done: 1, total: 1 });
  return { id: null, files, stats, manifest };
}

/**
 * The crops of `percent` of a photo's side at this cell size, in the cell raster's pixels: none
 * at 100, and never smaller than the part of the 256 px tile that holds a cell's pixels, so that
 * no crop is enlarged in the print (cells wider than 256 px get none).
 */
export function cropList(percent: number, cellWidth: number): Crop[] {
  const side = Math.max(Math.round((CELL_SIDE * percent) / 100), Math.ceil(cellWidth / 2));
  if (side >= CELL_SIDE) return [];
  const crops: Crop[] = [];
  for (let y = 0; y < CROP_PLACES; y++) {
    for (let x = 0; x < CROP_PLACES; x++) {
      const at = (i: number) => Math.round(((CELL_SIDE - side) * i) / (CROP_PLACES - 1));
      crops.push([at(x), at(y), side]);
    }
  }
  return crops;
}

/**
 * The features of every crop of every photo (photos × crops vectors, in shared memory for the
 * match's threads), from each photo's cell raster, or its tile scaled to the raster's size
 * where the raster is missing or damaged.
 */
async function measureCrops(
  sources: Array<{ raster: string; tile: string }>,
  crops: Crop[],
): Promise<Float32Array> {
  const per = crops.length * FEATURE_VALUES;
  const out = new Float32Array(new SharedArrayBuffer(sources.length * per * 4));
  for (const [p, source] of sources.entries()) {
    const stored = readCacheFile(source.raster, readCellRaster);
    const raster =
      stored?.side === CELL_SIDE
        ? stored.data
        : await decodeCell(readFileSync(source.tile), CELL_SIDE, CELL_SIDE);
    cropFeatures(raster, CELL_SIDE, crops, out, p * per);
  }
  return out;
}

function squareLayout(cols: number, rows: number, width: number, maxPixels = MAX_OUTPUT_PIXELS): Layout {
  const cell = Math.floor(width / cols);
  if (cell < 1) throw new MosaicError('bad-options', `${width} px cannot hold ${cols} columns of cells`);
  const pixels = cols * cell * rows * cell;
  if (pixels > maxPixels) {
    throw new MosaicError(
      'bad-options',
      `${cols * cell}×${rows * cell} is ${Math.round(pixels / 1e6)} MP, more than the ${Math.round(maxPixels / 1e6)} MP limit (${Math.round((maxPixels * 3) / 1e6)} MB of memory)`,
    );
  }
  return { cols, rows, cellWidth: cell, cellHeight: cell };
}

/** Builds and records a mosaic in the store: stale marking and one-click rebuilds rely on it. */
export async function buildAndRecord(
  deps: MosaicDeps & { store: MosaicStore },
  options: StoredMosaicOptions,
  onProgress?: (p: MosaicProgress) => void,
  existingId?: string,
  tuning: Pick<MosaicOptions, 'workers'> = {},
): Promise<MosaicResult> {
  const record = existingId
    ? await deps.store.update(existingId, { status: 'building', error: null, options })
    : await deps.store.create(options);
  try {
    const result = await buildMosaic(deps, { ...options, ...tuning }, onProgress);
    await deps.store.update(record.id, {
      status: 'ready',
      finishedAt: new Date().toISOString(),
      stale: false,
      staleReason: null,
      files: result.files,
      postIds: result.manifest.posts.map((p) => p.postId),
      stats: { ...result.stats, seconds: JSON.stringify(result.stats.seconds) },
      error: null,
    });
    return { ...result, id: record.id };
  } catch (error) {
    await deps.store.update(record.id, {
      status: 'failed',
      finishedAt: new Date().toISOString(),
      error: (error as Error).message,
    });
    throw error;
  }
}

/** Rebuilds a recorded mosaic with the options it was made with (the admin's one click). */
export async function rebuildMosaic(
  deps: MosaicDeps & { store: MosaicStore },
  id: string,
  onProgress?: (p: MosaicProgress) => void,
): Promise<MosaicResult> {
  const record = await deps.store.get(id);
  if (!record) throw new MosaicError('bad-options', `no mosaic ${id}`);
  return buildAndRecord(deps, record.options, onProgress, id);
}
