// Runs a kernel job for a range of cells off the main thread (see candidates.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { costRows, topCandidates } from './candidates-kernel.mjs';
import { cropRows } from './crops-kernel.mjs';

const { job, target, library, photos, metric, from, to } = workerData;
if (job === 'rows') {
  // `out` is shared: this worker writes its own rows of it.
  const { out, refine } = workerData;
  costRows(target, library, photos, metric, from, to, refine, out.subarray(from * photos, to * photos));
  parentPort.postMessage({});
} else if (job === 'crops') {
  // `best` and `viewOf` are shared, like `out` above.
  const { views, crops, nearest, best, viewOf } = workerData;
  const rows = (array) => array.subarray(from * photos, to * photos);
  cropRows(target, views, crops, photos, metric, from, to, nearest, rows(best), rows(viewOf));
  parentPort.postMessage({});
} else {
  const { k } = workerData;
  const outIdx = new Int32Array((to - from) * k);
  const outCost = new Float32Array((to - from) * k);
  topCandidates(target, library, photos, metric, from, to, k, outIdx, outCost);
  parentPort.postMessage({ outIdx, outCost }, [outIdx.buffer, outCost.buffer]);
}
