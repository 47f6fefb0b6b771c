import { availableParallelism } from 'node:os';
import { isMainThread, Worker } from 'node:worker_threads';
import { log } from '../log.ts';
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
   * sharp. Rejects with a JpegDecodeError when the file is damaged.
   */
  jpegTile(bytes: Uint8Array, side: number): Promise<JpegTile | null>;
  /**
   * Writes `files` into `staging` and renames it to `dir` (see folder-writer.mjs); false when
   * `dir` exists already.
   */
  writeFolder(dir: string, staging: string, files: FolderFile[]): Promise<boolean>;
}

/** In the calling thread: for code on a worker thread already (the media workers of media-pool.ts). */
export const inThreadMediaThreads: MediaThreads = {
  jpegTile: async (bytes, side) => jpegTile(bytes, side),
  writeFolder: async (dir, staging, files) => writeFolderSync(dir, staging, files),
};

type Reply =
  | { id: number; tile: ArrayBuffer | null }
  | { id: number; written: boolean }
  | { id: number; error: { decode: boolean; message: string; code?: number | string } };

type Job =
  | { op: 'tile'; bytes: ArrayBuffer; side: number }
  | { op: 'folder'; dir: string; staging: string; files: FolderFile[] };

interface Pending {
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

export interface MediaThreadPool extends MediaThreads {
  close(): Promise<void>;
}

function errorFrom({ decode, message, code }: { decode: boolean; message: string; code?: number | string }) {
  if (decode) return new JpegDecodeError(message, typeof code === 'number' ? code : 0);
  // A file system error keeps its code (ENOSPC…): the ingest tells passing failures by it.
  return Object.assign(new Error(message), code === undefined ? {} : { code });
}

/**
 * `workers` threads (one per core by default), started on first use and unreferenced while idle,
 * so a process that no longer needs them exits. A crash fails the jobs in flight on that thread;
 * the next job starts a fresh one.
 */
export function createMediaThreadPool(workers = availableParallelism()): MediaThreadPool {
  const slots: Array<Slot | null> = Array.from({ length: Math.max(1, workers) }, () => null);
  let nextId = 1;
  let closed = false;

  const start = (index: number): Slot => {
    const worker = new Worker(new URL('./media-thread-worker.mjs', import.meta.url));
    const slot: Slot = { worker, pending: new Map() };
    const failAll = (error: Error) => {
      if (slots[index] === slot) slots[index] = null;
      for (const job of slot.pending.values()) job.reject(error);
      slot.pending.clear();
    };
    worker.on('message', (reply: Reply) => {
      const job = slot.pending.get(reply.id);
      if (!job) return;
      slot.pending.delete(reply.id);
      if (slot.pending.size === 0) worker.unref();
      if ('error' in reply) job.reject(errorFrom(reply.error));
      else job.resolve(reply);
    });
    worker.on('error', (error) => {
      log.error({ err: String(error) }, 'media: a media thread crashed');
      failAll(error instanceof Error ? error : new Error(String(error)));
    });
    worker.on('exit', (code) => failAll(new Error(`a media thread exited with code ${code}`)));
    slots[index] = slot;
    return slot;
  };

  const run = (job: Job, transfer: ArrayBuffer[] = []): Promise<Reply> => {
    if (closed) return Promise.reject(new Error('the media threads are closed'));
    let best = 0;
    for (let i = 1; i < slots.length; i++) {
      if ((slots[i]?.pending.size ?? 0) < (slots[best]?.pending.size ?? 0)) best = i;
    }
    const slot = slots[best] ?? start(best);
    const id = nextId++;
    return new Promise<Reply>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.ref();
      slot.worker.postMessage({ id, ...job }, transfer);
    });
  };

  return {
    async jpegTile(bytes, side) {
      // A copy for the thread: the caller keeps its bytes (they are the stored original).
      const copy = new Uint8Array(bytes);
      const reply = await run({ op: 'tile', bytes: copy.buffer, side }, [copy.buffer]);
      const tile = 'tile' in reply ? reply.tile : null;
      return tile && { data: Buffer.from(tile), width: side, height: side, channels: 3 };
    },
    async writeFolder(dir, staging, files) {
      const reply = await run({ op: 'folder', dir, staging, files });
      return 'written' in reply && reply.written;
    },
    async close() {
      closed = true;
      await Promise.all(slots.map((slot) => slot?.worker.terminate()));
    },
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
