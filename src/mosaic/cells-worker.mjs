// Decodes photos at mosaic cell size off the main thread (see decodeTiles in render.ts): the
// area resize is JavaScript, and on the main thread it held up the match and every decode.
import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { cropCellsWith, decodeSourceWith } from './cells-kernel.mjs';

// The loaders sharp may use are restricted once per process (media/sharp-loaders.ts), and this
// thread shares the process of the build that started it: refuse to decode if they are not.
if (process.env.STANDWALL_SHARP_LOADERS_PID !== String(process.pid)) {
  throw new Error('cells worker started before the image loaders were restricted');
}
const { width, height, crops, jobs } = workerData;

// Its whole share comes at once, so it keeps decoding while the main thread is busy (the build
// runs the match's auction there); two at a time, so that one is scaled down while sharp decodes
// the next.
let next = 0;
const decodeShare = async () => {
  while (next < jobs.length) {
    const { photo, source, views } = jobs[next++];
    try {
      if (views) {
        const cells = await cropCellsWith(sharp, source, crops, views, width);
        for (const [i, view] of views.entries()) {
          parentPort.postMessage({ photo, view, data: cells[i] }, [cells[i].buffer]);
        }
        continue;
      }
      const data = await decodeSourceWith(sharp, source, width, height);
      // The cell owns its memory (see decodeCellWith): handed over, not copied.
      parentPort.postMessage({ photo, data }, [data.buffer]);
    } catch (error) {
      parentPort.postMessage({ photo, error: error instanceof Error ? error.message : String(error) });
    }
  }
};
await Promise.all([decodeShare(), decodeShare()]);
