import type { Campaign } from '../config/campaign.ts';
import type { Settings } from '../config/env.ts';
import type { Db } from '../db/sqlite.ts';
import type { EventBus } from '../events/bus.ts';
import type { IngestService } from '../ingest/ingest.ts';
import type { MediaRepository } from '../media/types.ts';
import type { RunContext, RunCounts } from '../scheduler/scheduler.ts';

export interface CollectorDeps {
  db: Db;
  ingest: IngestService;
  media: MediaRepository;
  campaign: Campaign;
  settings: Settings;
  bus?: EventBus;
  /** Waits for rate-limit resets; tests may pass a fake clock. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  now?: () => number;
}

/** One network: a collection pass (new posts) and a re-check of displayed posts (deletions). */
export interface Collector {
  readonly id: string;
  /** Why the collector cannot run (missing credentials), or null when it can. */
  readonly unavailableReason: string | null;
  collect(ctx: RunContext): Promise<RunCounts>;
  /** Marks removed the approved/pending posts that were deleted or made private at the source. */
  recheck(ctx: RunContext): Promise<RunCounts>;
}
