import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { costRows, type Metric, topCandidates } from './candidates-kernel.mjs';
import { cropRows } from './crops-kernel.mjs';

export interface Candidates {
  k: number;
  /** cells × k photo indices, nearest first; -1 past the end when there are fewer photos. */
  idx: Int32Array;
  cost: Float32Array;
}

/**
 * Below this many cell×photo pairs a worker's start-up (~40 ms) costs more than it saves.
 * 100×75 cells against 2,000 photos is 15 M pairs.
 */
const WORKER_MIN_PAIRS = 2_000_000;

/** Splits cells [0, cells) into ranges and runs `job` on each in a worker (or here, for one). */
async function inRanges(
  cells: number,
  photos: number,
  workers: number,
  here: () => void,
  data: Record<string, unknown>,
  done: (from: number, reply: Record<string, unknown>) => void,
): Promise<void> {
  const threads = Math.max(1, Math.min(workers, Math.floor((cells * photos) / WORKER_MIN_PAIRS) || 1, cells));
  if (threads === 1) {
    here();
    return;
  }
  const bounds = Array.from({ length: threads + 1 }, (_, i) => Math.round((i * cells) / threads));
  await Promise.all(
    Array.from({ length: threads }, (_, i) => {
      const from = bounds[i] as number;
      const to = bounds[i + 1] as number;
      return new Promise<void>((resolve, reject) => {
        const worker = new Worker(new URL('./candidates-worker.mjs', import.meta.url), {
          workerData: { ...data, from, to },
        });
        worker.once('message', (reply: Record<string, unknown>) => {
          done(from, reply);
          resolve();
        });
        worker.once('error', reject);
        worker.once('exit', (code) => {
          if (code !== 0) reject(new Error(`candidate worker exited with code ${code}`));
        });
      });
    }),
  );
}

/** The k cheapest photos of every cell (see `nearest` in candidates-kernel.mjs). */
export async function findCandidates(
  target: Float32Array,
  library: Float32Array,
  cells: number,
  photos: number,
  metric: Metric,
  k: number,
  workers = availableParallelism(),
): Promise<Candidates> {
  const idx = new Int32Array(cells * k);
  const cost = new Float32Array(cells * k);
  await inRanges(
    cells,
    photos,
    workers,
    () => topCandidates(target, library, photos, metric, 0, cells, k, idx, cost),
    { job: 'top', target, library, photos, metric, k },
    (from, reply) => {
      idx.set(reply.outIdx as Int32Array, from * k);
      cost.set(reply.outCost as Float32Array, from * k);
    },
  );
  return { k, idx, cost };
}

/**
 * The cost of every photo in every cell, cells × photos (row-major), computed on `workers`
 * threads straight into shared memory; each cell's `refine` cheapest photos at the fine cost
 * (see costRows in candidates-kernel.mjs). The numbers do not depend on the split.
 */
export async function costMatrix(
  target: Float32Array,
  library: Float32Array,
  cells: number,
  photos: number,
  metric: Metric,
  refine: number,
  workers = availableParallelism(),
): Promise<Float32Array> {
  const out = new Float32Array(new SharedArrayBuffer(cells * photos * 4));
  await inRanges(
    cells,
    photos,
    workers,
    () => costRows(target, library, photos, metric, 0, cells, refine, out),
    { job: 'rows', target, library, photos, metric, refine, out },
    () => undefined,
  );
  return out;
}

export interface CropCosts {
  /** cells × photos: the cost of each photo's best view in each cell (the whole photo or a crop). */
  best: Float32Array;
  /** cells × photos: which view that is, 0 for the whole photo and k + 1 for crop k. */
  viewOf: Uint8Array;
}

/**
 * Each photo's best view in each cell, starting from the whole photos' cost matrix `whole`:
 * every cell's `nearest` crops (of `views`, photos × crops feature vectors; see cropRows in
 * crops-kernel.mjs) are costed, on `workers` threads, and beat the whole photo where they fit
 * better. The numbers do not depend on the split. `onDispatched` runs once the threads have
 * their share (with one thread, once it is done).
 */
export async function cropCosts(
  target: Float32Array,
  views: Float32Array,
  crops: number,
  cells: number,
  photos: number,
  metric: Metric,
  nearest: number,
  whole: Float32Array,
  workers = availableParallelism(),
  onDispatched?: () => void,
): Promise<CropCosts> {
  const best = new Float32Array(new SharedArrayBuffer(cells * photos * 4));
  best.set(whole);
  const viewOf = new Uint8Array(new SharedArrayBuffer(cells * photos));
  const running = inRanges(
    cells,
    photos * crops,
    workers,
    () => cropRows(target, views, crops, photos, metric, 0, cells, nearest, best, viewOf),
    { job: 'crops', target, views, crops, photos, metric, nearest, best, viewOf },
    () => undefined,
  );
  onDispatched?.();
  await running;
  return { best, viewOf };
}
