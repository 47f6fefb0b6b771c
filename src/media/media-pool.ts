import { Worker } from 'node:worker_threads';
import { log } from '../log.ts';
import { createMediaRepository } from './media-repository.ts';
import {
  type MediaLimits,
  MediaRejectedError,
  type MediaRejectionReason,
  type MediaRepository,
  type StoredImage,
  type StoreOptions,
} from './types.ts';

type Reply =
  | { id: number; value: StoredImage | undefined }
  | { id: number; rejected: { reason: MediaRejectionReason; message: string } }
  | { id: number; error: { name?: string; message: string; code?: string } };

type Job = { op: 'store'; bytes: ArrayBuffer; options: StoreOptions } | { op: 'display'; sha256: string };

interface Pending {
  resolve: (value: StoredImage | undefined) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

export interface PooledMediaRepository extends MediaRepository {
  /** Stops the workers; stores in flight fail. */
  close(): Promise<void>;
}

function errorFrom(reply: Extract<Reply, { error: unknown }>['error']): Error {
  const error = new Error(reply.message) as NodeJS.ErrnoException;
  if (reply.name) error.name = reply.name;
  if (reply.code) error.code = reply.code;
  return error;
}

/**
 * The media repository with `store` and `ensureDisplayFiles` run in `workers` worker threads
 * (./media-worker.mjs), each with its own sharp pipeline: a bulk import or a busy collection
 * pass uses every core, and the event loop that serves the wall only passes bytes along. The
 * files and answers are the same as the in-process repository's; the cheap file operations
 * (remove, sweep, paths) stay in this thread. Workers start on first use and do not keep an
 * idle process alive.
 */
export function createPooledMediaRepository(
  mediaDir: string,
  limits: Partial<MediaLimits> | undefined,
  workers: number,
): PooledMediaRepository {
  const local = createMediaRepository(mediaDir, limits);
  const slots: Array<Slot | null> = Array.from({ length: Math.max(1, workers) }, () => null);
  const displayInFlight = new Map<string, Promise<void>>();
  let nextId = 1;
  let closed = false;

  const startSlot = (index: number): Slot => {
    const worker = new Worker(new URL('./media-worker.mjs', import.meta.url), {
      workerData: { mediaDir: local.mediaDir, limits: local.limits },
    });
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
      if ('rejected' in reply)
        job.reject(new MediaRejectedError(reply.rejected.reason, reply.rejected.message));
      else if ('error' in reply) job.reject(errorFrom(reply.error));
      else job.resolve(reply.value);
      if (slot.pending.size === 0) worker.unref();
    });
    // A crash (out of memory on a hostile file) fails what was in flight; the next job starts a
    // fresh worker. Errors are retryable for the ingest: the bytes are still in the caller's hands.
    worker.on('error', (error) => {
      log.error({ err: String(error) }, 'media: worker crashed');
      failAll(error instanceof Error ? error : new Error(String(error)));
    });
    worker.on('exit', (code) => failAll(new Error(`media worker exited with code ${code}`)));
    slots[index] = slot;
    return slot;
  };

  const run = (job: Job, transfer: ArrayBuffer[] = []): Promise<StoredImage | undefined> => {
    if (closed) return Promise.reject(new Error('the media repository is closed'));
    // The least busy worker; an empty slot starts one.
    let best = 0;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (let i = 0; i < slots.length; i++) {
      const load = slots[i]?.pending.size ?? 0;
      if (load < bestLoad) [best, bestLoad] = [i, load];
    }
    const slot = slots[best] ?? startSlot(best);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.ref();
      slot.worker.postMessage({ id, ...job }, transfer);
    });
  };

  return {
    mediaDir: local.mediaDir,
    limits: local.limits,

    async store(input: Uint8Array, options: StoreOptions = {}): Promise<StoredImage> {
      // A copy the worker can own: the caller keeps its bytes (it may need them again on failure).
      const bytes = input.buffer.slice(input.byteOffset, input.byteOffset + input.byteLength) as ArrayBuffer;
      const image = await run({ op: 'store', bytes, options }, [bytes]);
      if (!image) throw new Error('media worker answered a store without an image');
      return image;
    },

    ensureDisplayFiles(sha256: string): Promise<void> {
      const running = displayInFlight.get(sha256);
      if (running) return running;
      const job = run({ op: 'display', sha256 })
        .then(() => undefined)
        .finally(() => displayInFlight.delete(sha256));
      displayInFlight.set(sha256, job);
      return job;
    },

    hasDisplayFiles: (sha256) => local.hasDisplayFiles(sha256),
    remove: (sha256) => local.remove(sha256),
    sweep: (isReferenced, minAgeMs) => local.sweep(isReferenced, minAgeMs),
    absolutePath: (relativePath) => local.absolutePath(relativePath),

    async close(): Promise<void> {
      closed = true;
      await Promise.all(slots.map((slot) => slot?.worker.terminate()));
    },
  };
}
