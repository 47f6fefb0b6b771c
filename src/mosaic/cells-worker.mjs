// Decodes photos at mosaic cell size off the main thread (see decodeCells in render.ts): the
// area resize is JavaScript, and on the main thread it held up the match and every decode.
import { existsSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { cropCellsWith, decodeSourceWith, decodeTileWith } from './cells-kernel.mjs';

// The loaders sharp may use are restricted once per process (media/sharp-loaders.ts), and this
// thread shares the process of the build that started it: refuse to decode if they are not.
if (process.env.STANDWALL_SHARP_LOADERS_PID !== String(process.pid)) {
  throw new Error('cells worker started before the image loaders were restricted');
}
const { width, height, crops, jobs, tileBudget } = workerData;
const failed = (photo, error) =>
  parentPort.postMessage({ photo, error: error instanceof Error ? error.message : String(error) });

// Its whole share comes at once, so it keeps decoding while the main thread is busy (the build
// runs the match's auction there); two at a time, so that one is scaled down while sharp decodes
// the next.
let next = 0;
const decodeShare = async () => {
  while (next < jobs.length) {
    const { photo, source } = jobs[next++];
    try {
      const data = await decodeSourceWith(sharp, source, width, height);
      // The cell owns its memory (see decodeCellWith): handed over, not copied.
      parentPort.postMessage({ photo, data }, [data.buffer]);
    } catch (error) {
      failed(photo, error);
    }
  }
};
await Promise.all([decodeShare(), decodeShare()]);
parentPort.postMessage({ wholeDone: true });

if (crops) {
  // Until the match says which crops it shows, the tiles they are cut from are decoded ahead,
  // within the budget: the match's auction holds the main thread meanwhile, and decoding them
  // afterwards took longer than the auction.
  const tiles = new Map();
  let held = 0;
  let cutting = false;
  const ahead = (async () => {
    for (const { photo, source } of jobs) {
      if (cutting || held >= tileBudget) return;
      // Its tile comes back from the raster and luma stored beside it, at a tenth of the cost.
      if (source.luma && existsSync(source.luma)) continue;
      try {
        const tile = await decodeTileWith(sharp, source);
        tiles.set(photo, tile);
        held += tile.data.length;
      } catch {
        // A tile that does not decode fails its cut, with its name, if the match shows it.
      }
    }
  })();
  parentPort.once('message', async ({ cut }) => {
    cutting = true;
    await ahead;
    // Two at a time, as the whole photos: a tile not decoded ahead is decoded by sharp while the
    // crops of another are cut here.
    let at = 0;
    const cutShare = async () => {
      while (at < cut.length) {
        const { photo, source, views } = cut[at++];
        try {
          const cells = await cropCellsWith(sharp, source, crops, views, width, tiles.get(photo));
          tiles.delete(photo);
          for (const [i, view] of views.entries()) {
            parentPort.postMessage({ photo, view, data: cells[i] }, [cells[i].buffer]);
          }
        } catch (error) {
          failed(photo, error);
        }
      }
    };
    await Promise.all([cutShare(), cutShare()]);
    parentPort.postMessage({ cutDone: true });
    parentPort.close();
  });
}
