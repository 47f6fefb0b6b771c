import { isNotNull } from 'drizzle-orm';
import type { AppContext } from './context.ts';
import { media } from './db/schema.ts';
import type { SourceTask } from './scheduler/scheduler.ts';

/**
 * Every scheduled task of the app. Collectors of the networks join this list; the
 * housekeeping tasks keep the promise that no photo is lost (retries) and no file leaks (sweep).
 */
export function buildSourceTasks(ctx: AppContext): SourceTask[] {
  const tasks: SourceTask[] = [
    {
      id: 'media-retry',
      schedule: '*/5 * * * *',
      jitterSeconds: 30,
      timeoutSeconds: 600,
      async run() {
        const result = await ctx.ingest.retryPendingMedia(100);
        return {
          found: result.stored + result.failed + result.stillPending,
          created: result.stored,
          errors: result.failed,
        };
      },
    },
    {
      id: 'media-sweep',
      schedule: '41 * * * *',
      jitterSeconds: 60,
      timeoutSeconds: 600,
      async run() {
        const referenced = new Set(
          ctx.db
            .selectDistinct({ sha256: media.sha256 })
            .from(media)
            .where(isNotNull(media.sha256))
            .all()
            .map((r) => r.sha256),
        );
        const { removed } = await ctx.media.sweep((sha) => referenced.has(sha));
        return {
          found: removed.length,
          created: 0,
          errors: 0,
          message: `removed ${removed.length} unreferenced files`,
        };
      },
    },
  ];
  return tasks;
}
