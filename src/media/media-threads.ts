import { availableParallelism } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { createWorkerPool } from '../util/worker-pool.ts';
import { writeFolderSync } from './folder-writer.mjs';
import { JpegDecodeError, type JpegTile, jpegTile } from './libjpeg-turbo.mjs';

/** A file of a new photo's folder: name, bytes, and whether it is flushed to disk (see writeFolder). */
export type FolderFile = [name: string, data: Buffer, durable: boolean];

/**
 * The blocking parts of a bulk store, run where they hold nothing up: plain JPEGs' tiles
 * (libjpeg-turbo.mjs) and new photos' folders (folder-writer.mjs).
 */
export interface MediaThreads {
  /**
   * The side×side RGB centre of a three-component JPEG, or null for one this decoder leaves to
   * sharp. Rejects with a JpegDecodeError when the file is damaged, and when its header claims
   * more than `maxPixels` pixels with an error saying "over the pixel limit".
   */
  jpegTile(bytes: Uint8Array, side: number, maxPixels: number): Promise<JpegTile | null>;
  /**
   * Writes `files` into `staging` and renames it to `dir` (see folder-writer.mjs); false when
   * `dir` exists already.
   */
  writeFolder(dir: string, staging: string, files: FolderFile[]): Promise<boolean>;
}

/** In the calling thread: for code on a worker thread already (the media workers of media-pool.ts). */
export const inThreadMediaThreads: MediaThreads = {
  jpegTile: async (bytes, side, maxPixels) => jpegTile(bytes, side, maxPixels),
  writeFolder: async (dir, staging, files) => writeFolderSync(dir, staging, files),
};

type Reply =
  | { id: number; tile: ArrayBuffer | null }
  | { id: number; written: boolean }
  | { id: number; error: { decode: boolean; message: string; code?: number | string } };

type Job =
  | { op: 'tile'; bytes: ArrayBuffer; side: number; maxPixels: number }
  | { op: 'folder'; dir: string; staging: string; files: FolderFile[] };

export interface MediaThreadPool extends MediaThreads {
  close(): Promise<void>;
}

function errorFrom({ decode, message, code }: { decode: boolean; message: string; code?: number | string }) {
  if (decode) return new JpegDecodeError(message, typeof code === 'number' ? code : 0);
  // A file system error keeps its code (ENOSPC…): the ingest tells passing failures by it.
  return Object.assign(new Error(message), code === undefined ? {} : { code });
}

/** `workers` media threads (./media-thread-worker.mjs), one per core by default. */
export function createMediaThreadPool(workers = availableParallelism()): MediaThreadPool {
  const pool = createWorkerPool<Job, Reply>(
    'media thread',
    new URL('./media-thread-worker.mjs', import.meta.url),
    workers,
  );
  const run = async (job: Job, transfer?: ArrayBuffer[]) => {
    const reply = await pool.run(job, transfer);
    if ('error' in reply) throw errorFrom(reply.error);
    return reply;
  };
  return {
    async jpegTile(bytes, side, maxPixels) {
      // A copy for the thread: the caller keeps its bytes (they are the stored original).
      const copy = new Uint8Array(bytes);
      const reply = await run({ op: 'tile', bytes: copy.buffer, side, maxPixels }, [copy.buffer]);
      const tile = 'tile' in reply ? reply.tile : null;
      return tile && { data: Buffer.from(tile), width: side, height: side, channels: 3 };
    },
    async writeFolder(dir, staging, files) {
      const reply = await run({ op: 'folder', dir, staging, files });
      return 'written' in reply && reply.written;
    },
    close: () => pool.close(),
  };
}

let shared: MediaThreadPool | null = null;

/**
 * What a media repository uses unless told otherwise: the shared pool on the main thread; on a
 * worker thread (a media worker, one of a pool sized to the cores already) the calling thread.
 */
export function defaultMediaThreads(): MediaThreads {
  if (!isMainThread) return inThreadMediaThreads;
  shared ??= createMediaThreadPool();
  return shared;
}
