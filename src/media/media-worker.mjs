// The media pipeline (src/media/media-repository.ts) in a worker thread, so that decoding,
// features and file writes of many photos at once use every core and never hold up the
// event loop that serves the wall. Plain JS so it starts the same under tsx, vitest and node.
import { parentPort, workerData } from 'node:worker_threads';

// Workers do not always inherit a TypeScript-aware loader (vitest's does not reach them), and a
// failed import of a .ts file stays failed: register tsx's loader before the first one.
const { register } = await import('tsx/esm/api');
register();

const { createMediaRepository } = await import('./media-repository.ts');
const { sharp } = await import('./sharp-loaders.ts');
// Photos run in parallel across the workers, so each pipeline gets one libvips thread: splitting
// a 256 px tile over threads costs more in hand-offs than it saves (about 15% of an import's
// CPU). libvips' setting is per process, which is what the pool is for anyway.
sharp.concurrency(1);
const { MediaRejectedError } = await import('./types.ts');
const repository = createMediaRepository(workerData.mediaDir, workerData.limits);

parentPort.on('message', async (job) => {
  try {
    const value =
      job.op === 'store'
        ? await repository.store(new Uint8Array(job.bytes), job.options)
        : await repository.ensureDisplayFiles(job.sha256);
    parentPort.postMessage({ id: job.id, value });
  } catch (error) {
    if (error instanceof MediaRejectedError) {
      parentPort.postMessage({ id: job.id, rejected: { reason: error.reason, message: error.message } });
    } else {
      parentPort.postMessage({
        id: job.id,
        error: { name: error?.name, message: error?.message ?? String(error), code: error?.code },
      });
    }
  }
});
