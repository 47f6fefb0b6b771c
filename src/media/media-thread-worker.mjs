// A media thread (src/media/media-threads.ts): plain JPEGs' tiles decoded by libjpeg-turbo.mjs and
// new photos' folders written by folder-writer.mjs, off the thread that imports, which keeps the
// features and rows going meanwhile.
import { parentPort } from 'node:worker_threads';
import { writeFolderSync } from './folder-writer.mjs';
import { JpegDecodeError, jpegTile } from './libjpeg-turbo.mjs';

parentPort.on('message', (job) => {
  try {
    if (job.op === 'folder') {
      parentPort.postMessage({ id: job.id, written: writeFolderSync(job.dir, job.staging, job.files) });
      return;
    }
    const tile = jpegTile(new Uint8Array(job.bytes), job.side, job.maxPixels);
    if (!tile) parentPort.postMessage({ id: job.id, tile: null });
    else parentPort.postMessage({ id: job.id, tile: tile.data.buffer }, [tile.data.buffer]);
  } catch (error) {
    parentPort.postMessage({
      id: job.id,
      error: {
        decode: error instanceof JpegDecodeError,
        message: error?.message ?? String(error),
        code: error?.code,
      },
    });
  }
});
