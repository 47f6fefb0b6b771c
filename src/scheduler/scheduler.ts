import { desc, eq } from 'drizzle-orm';
import cron, { type ScheduledTask } from 'node-cron';
import { sourceRuns } from '../db/schema.ts';
import type { Db } from '../db/sqlite.ts';
import type { EventBus } from '../events/bus.ts';
import { log } from '../log.ts';
import { abortableSleep } from '../util/abortable-sleep.ts';

export interface RunCounts {
  found: number;
  created: number;
  errors: number;
  message?: string;
}

export interface RunContext {
  /** Aborted when the run times out or the process stops: stop between pages, commit nothing half-done. */
  signal: AbortSignal;
  /** Optional progress for long passes (CLI bar, admin page). */
  progress?: (done: number, total: number | null) => void;
}

export interface SourceTask {
  id: string;
  schedule: string;
  jitterSeconds: number;
  timeoutSeconds: number;
  /** Why this source cannot run here (disabled in the config, credentials missing), or null. */
  disabledReason?: string | null;
  run(ctx: RunContext): Promise<RunCounts>;
}

export interface RunRecord extends RunCounts {
  sourceId: string;
  status: 'ok' | 'failed' | 'timeout' | 'skipped';
  seconds: number;
}

export interface SchedulerOptions {
  db: Db;
  bus?: EventBus;
  /** Backoff after consecutive failures: base × 2^(failures−1), capped. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  random?: () => number;
}

/**
 * One node-cron task per source. A source never runs twice at once (a tick that finds it
 * still running is skipped), each run has a timeout, and failures back off exponentially so
 * a broken source does not hammer its API. Every run is recorded in `source_runs`.
 */
export class Scheduler {
  readonly #tasks = new Map<string, SourceTask>();
  readonly #running = new Map<string, Promise<RunRecord>>();
  readonly #failures = new Map<string, { count: number; notBefore: number }>();
  readonly #cron: ScheduledTask[] = [];
  readonly #stopping = new AbortController();
  readonly #options: Required<Omit<SchedulerOptions, 'bus'>> & { bus?: EventBus };

  constructor(tasks: SourceTask[], options: SchedulerOptions) {
    for (const task of tasks) this.#tasks.set(task.id, task);
    this.#options = {
      backoffBaseMs: 60_000,
      backoffMaxMs: 60 * 60_000,
      random: Math.random,
      ...options,
    };
  }

  get sourceIds(): string[] {
    return [...this.#tasks.keys()];
  }

  start(): void {
    for (const task of this.#tasks.values()) {
      if (task.disabledReason) {
        log.info({ source: task.id, reason: task.disabledReason }, 'source not scheduled');
        continue;
      }
      const handle = cron.schedule(task.schedule, () => this.#onTick(task), { name: task.id });
      this.#cron.push(handle);
      log.info({ source: task.id, schedule: task.schedule }, 'source scheduled');
    }
  }

  async #onTick(task: SourceTask): Promise<void> {
    if (this.#stopping.signal.aborted) return;
    if (this.#running.has(task.id)) {
      log.info({ source: task.id }, 'previous run still going: tick skipped');
      return;
    }
    const failure = this.#failures.get(task.id);
    if (failure && Date.now() < failure.notBefore) {
      log.info({ source: task.id, retryAt: new Date(failure.notBefore).toISOString() }, 'backing off');
      return;
    }
    await abortableSleep(
      Math.floor(this.#options.random() * task.jitterSeconds * 1000),
      this.#stopping.signal,
    );
    if (this.#stopping.signal.aborted) return;
    await this.runNow(task.id).catch(() => undefined);
  }

  /** Runs one source now (or joins its run in progress) and records the outcome. */
  runNow(sourceId: string, progress?: RunContext['progress']): Promise<RunRecord> {
    const task = this.#tasks.get(sourceId);
    if (!task) return Promise.reject(new Error(`unknown source "${sourceId}"`));
    const inFlight = this.#running.get(sourceId);
    if (inFlight) return inFlight;
    const promise = this.#execute(task, progress).finally(() => this.#running.delete(sourceId));
    this.#running.set(sourceId, promise);
    return promise;
  }

  async #execute(task: SourceTask, progress?: RunContext['progress']): Promise<RunRecord> {
    const { db } = this.#options;
    if (task.disabledReason) {
      return {
        sourceId: task.id,
        status: 'skipped',
        found: 0,
        created: 0,
        errors: 0,
        seconds: 0,
        message: task.disabledReason,
      };
    }
    const started = Date.now();
    const row = db.insert(sourceRuns).values({ sourceId: task.id }).returning({ id: sourceRuns.id }).get();
    const controller = new AbortController();
    const onStop = () => controller.abort(new Error('stopping'));
    this.#stopping.signal.addEventListener('abort', onStop);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => {
        controller.abort(new Error(`run timed out after ${task.timeoutSeconds}s`));
        resolve('timeout');
      }, task.timeoutSeconds * 1000);
    });

    let record: RunRecord;
    const work = task.run({ signal: controller.signal, progress });
    try {
      const outcome = await Promise.race([work, timeout]);
      if (outcome === 'timeout') {
        // Let the run wind down before the next may start: never two runs of one source.
        await work.catch(() => undefined);
        record = { sourceId: task.id, status: 'timeout', found: 0, created: 0, errors: 1, seconds: 0 };
        record.message = `timed out after ${task.timeoutSeconds}s`;
      } else {
        record = {
          sourceId: task.id,
          status: outcome.errors > 0 && outcome.found === 0 ? 'failed' : 'ok',
          seconds: 0,
          ...outcome,
        };
      }
    } catch (error) {
      record = {
        sourceId: task.id,
        status: 'failed',
        found: 0,
        created: 0,
        errors: 1,
        seconds: 0,
        message: (error as Error).message,
      };
    } finally {
      clearTimeout(timer);
      this.#stopping.signal.removeEventListener('abort', onStop);
    }
    record.seconds = (Date.now() - started) / 1000;

    if (record.status === 'ok') this.#failures.delete(task.id);
    else {
      const count = (this.#failures.get(task.id)?.count ?? 0) + 1;
      const wait = Math.min(this.#options.backoffMaxMs, this.#options.backoffBaseMs * 2 ** (count - 1));
      this.#failures.set(task.id, { count, notBefore: Date.now() + wait });
    }

    db.update(sourceRuns)
      .set({
        finishedAt: new Date().toISOString(),
        status: record.status,
        found: record.found,
        created: record.created,
        errors: record.errors,
        message: record.message ?? null,
      })
      .where(eq(sourceRuns.id, row.id))
      .run();
    const level = record.status === 'ok' ? 'info' : 'warn';
    log[level](
      {
        source: task.id,
        status: record.status,
        found: record.found,
        created: record.created,
        errors: record.errors,
        seconds: record.seconds,
        message: record.message,
      },
      'source run finished',
    );
    this.#options.bus?.emit('source.run', { sourceId: task.id, status: record.status });
    return record;
  }

  /** Stops scheduling and waits for runs in progress to wind down (they see the abort signal). */
  async stop(): Promise<void> {
    this.#stopping.abort();
    for (const handle of this.#cron) await handle.destroy();
    await Promise.allSettled([...this.#running.values()]);
  }
}

export function lastRuns(db: Db, sourceId: string, limit = 10) {
  return db
    .select()
    .from(sourceRuns)
    .where(eq(sourceRuns.sourceId, sourceId))
    .orderBy(desc(sourceRuns.id))
    .limit(limit)
    .all();
}
