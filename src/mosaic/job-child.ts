/**
 * One mosaic build in its own process, started by jobs.ts: the server's event loop (the wall,
 * its event streams) never waits on the matcher, and the low priority leaves the CPU to it.
 * Reads {id, options} from the IPC channel, reports progress and the outcome the same way.
 */
import { setPriority } from 'node:os';
import { readSettings } from '../config/env.ts';
import { createContext } from '../context.ts';
import { sharp } from '../media/sharp-loaders.ts';
import { buildAndRecord, type MosaicProgress } from './build.ts';
import { fileMosaicStore, type StoredMosaicOptions } from './registry.ts';

export type ChildMessage =
  | { type: 'progress'; progress: MosaicProgress }
  | { type: 'done'; id: string; stats: unknown }
  | { type: 'failed'; error: string };

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) resolve();
    else process.send(message, undefined, undefined, () => resolve());
  });
}

try {
  setPriority(0, 15);
} catch {
  // Not permitted here (some containers): the job still runs, only without the nice level.
}
// One libvips thread and no matcher workers: the wall keeps a core of its own.
sharp.concurrency(1);

process.once('message', async (msg: { id: string; options: StoredMosaicOptions }) => {
  const ctx = createContext(readSettings());
  let last = 0;
  try {
    const result = await buildAndRecord(
      { db: ctx.db, mediaDir: ctx.settings.mediaDir, store: fileMosaicStore(ctx.settings.dataDir) },
      { ...msg.options },
      (progress) => {
        // Enough for a smooth bar; thousands of IPC messages per second would be noise.
        const now = Date.now();
        if (now - last < 100 && progress.done !== progress.total) return;
        last = now;
        void send({ type: 'progress', progress });
      },
      msg.id,
      { workers: 1 },
    );
    await send({ type: 'done', id: msg.id, stats: result.stats });
  } catch (error) {
    await send({ type: 'failed', error: (error as Error).message });
    process.exitCode = 1;
  } finally {
    ctx.close();
    process.disconnect?.();
  }
});
