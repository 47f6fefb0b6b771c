import { Worker, type WorkerOptions } from 'node:worker_threads';
import { log } from '../log.ts';

interface Pending<Reply> {
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
}

interface Slot<Reply> {
  worker: Worker;
  pending: Map<number, Pending<Reply>>;
}

export interface WorkerPool<Job extends object, Reply extends { id: number }> {
  /** Posts `job` (with an `id` added) to the least busy worker; resolves with its reply. */
  run(job: Job, transfer?: ArrayBuffer[]): Promise<Reply>;
  /** Stops the workers; jobs in flight fail, later ones are refused. */
  close(): Promise<void>;
}

/**
 * `size` worker threads running `script`, each answering every job with one message carrying
 * the job's id. Workers start on first use and are unreferenced while idle, so a process that
 * no longer needs them exits. A crash fails the jobs in flight on that worker (their callers
 * still hold what they sent); the next job starts a fresh one.
 */
export function createWorkerPool<Job extends object, Reply extends { id: number }>(
  name: string,
  script: URL,
  size: number,
  options: WorkerOptions = {},
): WorkerPool<Job, Reply> {
  const slots: Array<Slot<Reply> | null> = Array.from({ length: Math.max(1, size) }, () => null);
  let nextId = 1;
  let closed = false;

  const start = (index: number): Slot<Reply> => {
    const worker = new Worker(script, options);
    const slot: Slot<Reply> = { worker, pending: new Map() };
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
      job.resolve(reply);
    });
    worker.on('error', (error) => {
      log.error({ err: String(error) }, `${name}: worker crashed`);
      failAll(error instanceof Error ? error : new Error(String(error)));
    });
    worker.on('exit', (code) => failAll(new Error(`${name} worker exited with code ${code}`)));
    slots[index] = slot;
    return slot;
  };

  return {
    run(job, transfer = []) {
      if (closed) return Promise.reject(new Error(`the ${name} workers are closed`));
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
    },
    async close() {
      closed = true;
      await Promise.all(slots.map((slot) => slot?.worker.terminate()));
    },
  };
}
