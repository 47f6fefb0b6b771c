import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CollectorDeps } from '../../src/collectors/types.ts';
import { parseCampaign } from '../../src/config/campaign.ts';
import { readSettings } from '../../src/config/env.ts';
import { posts } from '../../src/db/schema.ts';
import { closeDatabase, openDatabase } from '../../src/db/sqlite.ts';
import { createIngestService } from '../../src/ingest/ingest.ts';
import { createMediaRepository } from '../../src/media/media-repository.ts';
import { fetchBytes } from '../../src/net/safe-fetch.ts';
import type { RunContext } from '../../src/scheduler/scheduler.ts';

/**
 * What every collector test stands on: a real SQLite file and media folder in a temp dir, the
 * real ingest service downloading from the local fake, and a fake clock that rate-limit waits
 * advance instead of taking time. `cleanup` removes it all.
 */
export function collectorHarness(opts: {
  name: string;
  campaign: unknown;
  env: Record<string, string>;
  clock: { t: number };
}) {
  const dir = mkdtempSync(join(tmpdir(), `standwall-${opts.name}-`));
  const db = openDatabase(join(dir, 'standwall.db'));
  const campaign = parseCampaign(opts.campaign);
  const mediaRepo = createMediaRepository(join(dir, 'media'), campaign.media);
  const ingest = createIngestService({
    db,
    media: mediaRepo,
    campaign,
    download: (url) => fetchBytes(url, { allowPrivate: true }).then((r) => r.bytes),
  });
  const sleeps: number[] = [];
  const deps: CollectorDeps = {
    db,
    ingest,
    media: mediaRepo,
    campaign,
    settings: readSettings({ DATA_DIR: dir, ...opts.env }),
    now: () => opts.clock.t,
    sleep: async (ms) => {
      sleeps.push(ms);
      opts.clock.t += ms;
    },
  };
  const run = (): RunContext => ({ signal: new AbortController().signal });
  const remoteIds = () =>
    db
      .select({ remoteId: posts.remoteId })
      .from(posts)
      .all()
      .map((p) => p.remoteId)
      .sort();
  const cleanup = () => {
    closeDatabase(db);
    rmSync(dir, { recursive: true, force: true });
  };
  return { dir, db, mediaRepo, ingest, deps, sleeps, run, remoteIds, cleanup };
}
