// Runs topCandidates for a range of cells off the main thread (see candidates.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { topCandidates } from './candidates-kernel.mjs';

const { target, library, photos, values, lightness, from, to, k, weightL } = workerData;
const outIdx = new Int32Array((to - from) * k);
const outCost = new Float32Array((to - from) * k);
topCandidates(target, library, photos, values, lightness, from, to, k, weightL, outIdx, outCost);
parentPort.postMessage({ outIdx, outCost }, [outIdx.buffer, outCost.buffer]);
