import { createWorkerPool } from '../util/worker-pool.ts';
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
  const pool = createWorkerPool<Job, Reply>(
    'media',
    new URL('./media-worker.mjs', import.meta.url),
    workers,
    {
      workerData: { mediaDir: local.mediaDir, limits: local.limits },
    },
  );
  const displayInFlight = new Map<string, Promise<void>>();

  // A crash (out of memory on a hostile file) fails what was in flight; errors are retryable
  // for the ingest: the bytes are still in the caller's hands.
  const run = async (job: Job, transfer: ArrayBuffer[] = []): Promise<StoredImage | undefined> => {
    const reply = await pool.run(job, transfer);
    if ('rejected' in reply) throw new MediaRejectedError(reply.rejected.reason, reply.rejected.message);
    if ('error' in reply) throw errorFrom(reply.error);
    return reply.value;
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

    close: () => pool.close(),
  };
}
