import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { topCandidates } from './candidates-kernel.mjs';

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

export async function findCandidates(
  target: Float32Array,
  library: Float32Array,
  cells: number,
  photos: number,
  values: number,
  lightness: number,
  k: number,
  weightL: number,
  workers = availableParallelism(),
): Promise<Candidates> {
  const idx = new Int32Array(cells * k);
  const cost = new Float32Array(cells * k);
  const threads = Math.max(1, Math.min(workers, Math.floor((cells * photos) / WORKER_MIN_PAIRS) || 1, cells));
  if (threads === 1) {
    topCandidates(target, library, photos, values, lightness, 0, cells, k, weightL, idx, cost);
    return { k, idx, cost };
  }
  const bounds = Array.from({ length: threads + 1 }, (_, i) => Math.round((i * cells) / threads));
  await Promise.all(
    Array.from({ length: threads }, (_, i) => {
      const from = bounds[i] as number;
      const to = bounds[i + 1] as number;
      return new Promise<void>((resolve, reject) => {
        const worker = new Worker(new URL('./candidates-worker.mjs', import.meta.url), {
          workerData: { target, library, photos, values, lightness, from, to, k, weightL },
        });
        worker.once('message', (reply: { outIdx: Int32Array; outCost: Float32Array }) => {
          idx.set(reply.outIdx, from * k);
          cost.set(reply.outCost, from * k);
          resolve();
        });
        worker.once('error', reject);
        worker.once('exit', (code) => {
          if (code !== 0) reject(new Error(`candidate worker exited with code ${code}`));
        });
      });
    }),
  );
  return { k, idx, cost };
}
