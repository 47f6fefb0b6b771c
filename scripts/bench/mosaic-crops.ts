/**
 * The exact reference for the build's crops (MosaicOptions.crop, which searches each cell's
 * nearest crops instead): how much likeness a mosaic gains when each use of a photo may show a
 * crop of it (a zoom on part of its tile) instead of the whole tile, under the same rules (at
 * most --cap uses of a photo, every photo at least once, uses spread apart), with every crop
 * costed in every cell.
 *
 *   npm run import -- CORPUS/tiles --approve --consent        (with DATA_DIR=DIR)
 *   npx tsx scripts/bench/mosaic-crops.ts DIR/ [--zooms 1,0.8,0.6] [--cap 4] [--target FILE]
 *     [--full-once]   every photo also shown whole at least once (where that costs least)
 *     [--whole-first] the same, decided in the auction (each photo's first place is the whole
 *                     photo), as the build does
 *
 * Crops come from each photo's stored 128 px cell raster: zoom 1 is the whole tile, any other
 * zoom z a square z of its side at 3×3 positions (corners, edges, centre). Every crop of every
 * photo is costed in every cell (the build's metric), each cell keeps each photo's cheapest crop,
 * the build's auction assigns photos, and the result (100×75 cells at 8,000×6,000) is scored
 * like the mosaic bench. It computes one full cost matrix per crop: minutes, not the seconds a
 * build may take.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { openDatabase } from '../../src/db/sqlite.ts';
import { CELL_FILE, CELL_SIDE, readCellRaster } from '../../src/media/cell-raster.mjs';
import { costMatrix } from '../../src/mosaic/candidates.ts';
import { areaResize } from '../../src/mosaic/cells-kernel.mjs';
import {
  cellFeatures,
  FEATURE_VALUES,
  LUMA_GRID,
  LUMA_RANGE,
  LUMA_VALUES,
  regionFeatures,
} from '../../src/mosaic/features.ts';
import { loadLibrary } from '../../src/mosaic/library.ts';
import { auction, defaultMinDistance } from '../../src/mosaic/matcher.ts';
import { openTarget } from '../../src/mosaic/target.ts';
import { scoreFiles } from './score.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    zooms: { type: 'string', default: '1,0.8,0.6' },
    cap: { type: 'string', default: '4' },
    target: { type: 'string', default: '/tmp/corpus/target.jpg' },
    out: { type: 'string', default: '/tmp/standwall-mosaic-crops.jpg' },
    // Each photo shown whole at least once: in the cell where that costs least, the crop gives way.
    'full-once': { type: 'boolean', default: false },
    'whole-first': { type: 'boolean', default: false },
  },
});
const dataDir = positionals[0];
if (!dataDir) {
  process.stderr.write(
    'usage: npx tsx scripts/bench/mosaic-crops.ts DATA_DIR [--zooms 1,0.8,0.6] [--cap 4]\n',
  );
  process.exit(2);
}

const mediaDir = join(dataDir, 'media');
const photos = loadLibrary(openDatabase(join(dataDir, 'standwall.db')), {});
const count = photos.length;
const rasters = photos.map((p) => {
  const raster = readCellRaster(readFileSync(join(dirname(join(mediaDir, p.tilePath)), CELL_FILE)));
  if (!raster || raster.side !== CELL_SIDE) throw new Error(`${p.tilePath}: no cell raster (import again)`);
  return raster.data;
});

/** [x0, y0, side] in the 128 px raster. */
const crops: Array<[number, number, number]> = [];
for (const zoom of values.zooms.split(',').map(Number)) {
  const side = Math.round(CELL_SIDE * zoom);
  const steps = side === CELL_SIDE ? [0] : [0, 0.5, 1];
  for (const fy of steps) {
    for (const fx of steps) {
      crops.push([Math.round((CELL_SIDE - side) * fx), Math.round((CELL_SIDE - side) * fy), side]);
    }
  }
}

const cols = 100;
const rows = 75;
const cells = cols * rows;
const started = performance.now();
const target = await openTarget(values.target);
const targetFeatures = cellFeatures(await target.render(cols * LUMA_GRID, rows * LUMA_GRID), cols, rows);
// The build's metric (see build.ts).
const metric = {
  values: FEATURE_VALUES,
  lightness: LUMA_VALUES,
  weightL: 6,
  weightS: 0,
  structure: 3300,
  c1: (0.01 * LUMA_RANGE) ** 2,
  c2: (0.03 * LUMA_RANGE) ** 2,
  coarse: 21,
};
let cheapest: Float32Array | null = null;
let whole: Float32Array | null = null;
const cropOf = new Uint8Array(cells * count);
const library = new Float32Array(count * FEATURE_VALUES);
for (const [k, [x0, y0, side]] of crops.entries()) {
  for (let p = 0; p < count; p++) {
    regionFeatures(rasters[p] as Buffer, CELL_SIDE, x0, y0, side, side, library, p * FEATURE_VALUES);
  }
  const costs = await costMatrix(targetFeatures, library, cells, count, metric, 256);
  if (crops[k]?.[2] === CELL_SIDE) whole = Float32Array.from(costs);
  if (!cheapest) cheapest = Float32Array.from(costs);
  else {
    for (let i = 0; i < costs.length; i++) {
      if ((costs[i] as number) < (cheapest[i] as number)) {
        cheapest[i] = costs[i] as number;
        cropOf[i] = k;
      }
    }
  }
  process.stderr.write(`crop ${k + 1}/${crops.length}\n`);
}

const cap = Number(values.cap);
const firstHeld = new Uint8Array(cells);
const won = auction(
  cheapest as Float32Array,
  cells,
  count,
  cap,
  cols,
  defaultMinDistance(cells, cap) ** 2,
  cells >= count,
  values['whole-first'] ? (whole as Float32Array) : undefined,
  firstHeld,
);
if (values['whole-first']) {
  const wholeCrop = crops.findIndex(([, , side]) => side === CELL_SIDE);
  for (let c = 0; c < cells; c++) if (firstHeld[c] === 1) cropOf[c * count + (won[c] as number)] = wholeCrop;
}
if (values['full-once']) {
  if (!whole) throw new Error('--full-once needs zoom 1 among --zooms');
  // For each photo never shown whole, the one of its cells where showing it whole costs least.
  const bestCell = new Int32Array(count).fill(-1);
  const bestExtra = new Float64Array(count).fill(Number.POSITIVE_INFINITY);
  const shownWhole = new Uint8Array(count);
  for (let c = 0; c < cells; c++) {
    const p = won[c] as number;
    if (p < 0) continue;
    const k = cropOf[c * count + p] as number;
    if ((crops[k] as [number, number, number])[2] === CELL_SIDE) shownWhole[p] = 1;
    const extra = (whole[c * count + p] as number) - ((cheapest as Float32Array)[c * count + p] as number);
    if (extra < (bestExtra[p] as number)) {
      bestExtra[p] = extra;
      bestCell[p] = c;
    }
  }
  const wholeCrop = crops.findIndex(([, , side]) => side === CELL_SIDE);
  for (let p = 0; p < count; p++) {
    const c = bestCell[p] as number;
    if (!shownWhole[p] && c >= 0) cropOf[c * count + p] = wholeCrop;
  }
}
const cell = 80;
const canvas = Buffer.alloc(cols * cell * rows * cell * 3);
const uses = new Int32Array(count);
let cropped = 0;
for (let c = 0; c < cells; c++) {
  const p = won[c] as number;
  if (p < 0) continue;
  uses[p] = (uses[p] as number) + 1;
  const k = cropOf[c * count + p] as number;
  if (k > 0) cropped++;
  const [x0, y0, side] = crops[k] as [number, number, number];
  const tile = areaResize(rasters[p] as Buffer, CELL_SIDE, x0, y0, side, side, cell, cell);
  const col = c % cols;
  const row = Math.floor(c / cols);
  for (let y = 0; y < cell; y++) {
    tile.copy(canvas, ((row * cell + y) * cols * cell + col * cell) * 3, y * cell * 3, (y + 1) * cell * 3);
  }
}
await sharp(canvas, { raw: { width: cols * cell, height: rows * cell, channels: 3 } })
  .jpeg({ quality: 90 })
  .toFile(values.out);
const [score] = await scoreFiles(values.target, [values.out]);
const shown = uses.filter((u) => u > 0).length;
process.stdout.write(
  `zooms ${values.zooms} (${crops.length} crops)${values['full-once'] ? ', each photo whole once' : ''}, cap ${cap}: SSIM ${score?.ssim.toFixed(4)}, ` +
    `ΔE00 ${score?.deltaE.toFixed(2)}, photos shown ${shown} of ${count}, most uses ${Math.max(...uses)}, ` +
    `cells showing a crop ${cropped} of ${cells}, ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
);
