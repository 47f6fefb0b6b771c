import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { MosaicProgress } from './build.ts';
import type { ChildMessage } from './job-child.ts';
import type { MosaicStore, StoredMosaicOptions } from './registry.ts';

export type JobStatus = 'running' | 'done' | 'failed';

export interface MosaicJob {
  /** The mosaic's id in the store. */
  id: string;
  status: JobStatus;
  progress: MosaicProgress | null;
  error: string | null;
}

export interface MosaicJobs {
  /** Records a new mosaic and starts building it in the background; resolves with its id at once. */
  start(
    options: Omit<StoredMosaicOptions, 'out'> & {
      format?: 'jpg' | 'png' | 'tif';
      /** The viewer's public address once the id is known (for the credits page's QR code). */
      viewerUrlFor?: (id: string) => string;
    },
  ): Promise<string>;
  /** Rebuilds a recorded (e.g. stale) mosaic with its own options. */
  rebuild(id: string): Promise<string>;
  get(id: string): MosaicJob | undefined;
  /** Every change of every job (for an SSE progress stream); returns the unsubscriber. */
  subscribe(listener: (job: MosaicJob) => void): () => void;
  /** Kills running builds (server shutdown). */
  stop(): void;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('./job-child.ts', import.meta.url));

/**
 * Background mosaic builds for the admin page: each in a child process at low priority, one at
 * a time (a second request waits its turn: two 8,000 px builds at once would only both be slow).
 */
export function createMosaicJobs(opts: { store: MosaicStore; env?: NodeJS.ProcessEnv }): MosaicJobs {
  const jobs = new Map<string, MosaicJob>();
  const listeners = new Set<(job: MosaicJob) => void>();
  const children = new Set<ChildProcess>();
  let queue: Promise<unknown> = Promise.resolve();

  const emit = (job: MosaicJob) => {
    for (const l of listeners) l({ ...job });
  };

  const runChild = (id: string, options: StoredMosaicOptions): Promise<void> =>
    new Promise((resolve) => {
      const job = jobs.get(id) as MosaicJob;
      const child = fork(CHILD, [], {
        cwd: ROOT,
        env: { ...process.env, ...opts.env },
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      children.add(child);
      let stderr = '';
      child.stderr?.on('data', (d) => {
        stderr = (stderr + d).slice(-2000);
      });
      child.on('message', (m: ChildMessage) => {
        if (m.type === 'progress') job.progress = m.progress;
        else if (m.type === 'done') job.status = 'done';
        else {
          job.status = 'failed';
          job.error = m.error;
        }
        emit(job);
      });
      child.on('exit', (code) => {
        children.delete(child);
        if (job.status === 'running') {
          job.status = 'failed';
          job.error = `the build stopped (exit code ${code}): ${stderr.trim().split('\n').pop() ?? ''}`;
          void opts.store.update(id, { status: 'failed', error: job.error }).catch(() => undefined);
          emit(job);
        }
        resolve();
      });
      child.send({ id, options });
    });

  const enqueue = (id: string, options: StoredMosaicOptions): string => {
    const job: MosaicJob = { id, status: 'running', progress: null, error: null };
    jobs.set(id, job);
    emit(job);
    queue = queue.then(() => runChild(id, options));
    return id;
  };

  return {
    async start(options) {
      const { format = 'jpg', viewerUrlFor, ...rest } = options;
      const record = await opts.store.create({ ...rest, out: '' });
      const out = `${opts.store.dir(record.id)}/mosaic.${format}`;
      const viewerUrl = rest.viewerUrl ?? viewerUrlFor?.(record.id);
      const full: StoredMosaicOptions = { deepZoom: true, ...rest, ...(viewerUrl ? { viewerUrl } : {}), out };
      await opts.store.update(record.id, { options: full });
      return enqueue(record.id, full);
    },
    async rebuild(id) {
      const record = await opts.store.get(id);
      if (!record) throw new Error(`no mosaic ${id}`);
      if (jobs.get(id)?.status === 'running') return id;
      return enqueue(id, record.options);
    },
    get: (id) => {
      const job = jobs.get(id);
      return job ? { ...job } : undefined;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop() {
      for (const child of children) child.kill();
    },
  };
}
