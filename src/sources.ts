import { isNotNull } from 'drizzle-orm';
import { createBlueskyCollector } from './collectors/bluesky.ts';
import { createImapCollector } from './collectors/imap.ts';
import { createInstagramCollector } from './collectors/instagram.ts';
import { createMastodonCollector } from './collectors/mastodon.ts';
import { createThreadsCollector } from './collectors/threads.ts';
import type { Collector, CollectorDeps } from './collectors/types.ts';
import { createXCollector } from './collectors/x.ts';
import type { AppContext } from './context.ts';
import { media } from './db/schema.ts';
import { fillDisplayFiles } from './ingest/display-files.ts';
import type { RunContext, SourceTask } from './scheduler/scheduler.ts';

export function buildCollectors(ctx: AppContext): Collector[] {
  const deps: CollectorDeps = {
    db: ctx.db,
    ingest: ctx.ingest,
    media: ctx.media,
    campaign: ctx.campaign,
    settings: ctx.settings,
    bus: ctx.bus,
  };
  return [
    createXCollector(deps),
    createMastodonCollector(deps),
    createBlueskyCollector(deps),
    createInstagramCollector(deps),
    createThreadsCollector(deps),
    createImapCollector(deps),
  ];
}

/**
 * Every scheduled task of the app: one per network, the re-check of displayed posts
 * (deletions at the source), and the housekeeping that keeps the promise that no photo is
 * lost (download retries) and no file leaks (sweep).
 */
export function buildSourceTasks(ctx: AppContext, collectors = buildCollectors(ctx)): SourceTask[] {
  const { sources } = ctx.campaign;
  const tasks: SourceTask[] = collectors.map((collector) => {
    const config = sources[collector.id as 'x' | 'mastodon' | 'bluesky' | 'instagram' | 'threads' | 'imap'];
    return {
      id: collector.id,
      schedule: config.schedule,
      jitterSeconds: config.jitterSeconds,
      timeoutSeconds: config.timeoutSeconds,
      disabledReason: config.enabled ? collector.unavailableReason : 'disabled in the campaign config',
      run: (rc: RunContext) => collector.collect(rc),
    };
  });

  // Mail has no deletion at the source: only the networks are re-checked.
  const active = collectors.filter((c, i) => !tasks[i]?.disabledReason && c.id !== 'imap');
  tasks.push({
    id: 'recheck',
    schedule: sources.recheck.schedule,
    jitterSeconds: sources.recheck.jitterSeconds,
    timeoutSeconds: sources.recheck.timeoutSeconds,
    disabledReason: !sources.recheck.enabled
      ? 'disabled in the campaign config'
      : active.length === 0
        ? 'no network collector is active'
        : null,
    async run(rc) {
      const total = { found: 0, created: 0, errors: 0 };
      const messages: string[] = [];
      for (const collector of active) {
        if (rc.signal.aborted) break;
        const result = await collector.recheck(rc).catch((error: Error) => ({
          found: 0,
          created: 0,
          errors: 1,
          message: error.message,
        }));
        total.found += result.found;
        total.created += result.created;
        total.errors += result.errors;
        if (result.message) messages.push(`${collector.id}: ${result.message}`);
      }
      return { ...total, message: messages.join('; ') || undefined };
    },
  });

  tasks.push(
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
      // Display files a bulk import left for later; the media route also makes them on demand.
      id: 'media-display',
      schedule: '* * * * *',
      jitterSeconds: 10,
      timeoutSeconds: 300,
      async run(rc) {
        const result = await fillDisplayFiles(ctx.db, ctx.media, { limit: 500, signal: rc.signal });
        return { found: result.checked, created: result.made, errors: result.failed };
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
  );
  return tasks;
}
