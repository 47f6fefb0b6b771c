import { type Campaign, loadCampaign } from './config/campaign.ts';
import { readSettings, type Settings } from './config/env.ts';
import { closeDatabase, type Db, openDatabase } from './db/sqlite.ts';
import { EventBus } from './events/bus.ts';
import { createIngestService, type IngestService } from './ingest/ingest.ts';
import { createPooledMediaRepository } from './media/media-pool.ts';
import { createMediaRepository } from './media/media-repository.ts';
import type { MediaRepository } from './media/types.ts';

/** Everything a command or the server needs, opened once: settings, campaign, store, media, ingest. */
export interface AppContext {
  settings: Settings;
  campaign: Campaign;
  db: Db;
  media: MediaRepository;
  bus: EventBus;
  ingest: IngestService;
  close(): void;
}

export function createContext(settings: Settings = readSettings()): AppContext {
  const campaign = loadCampaign(settings.campaignConfig);
  const db = openDatabase(settings.dbFile);
  const pool =
    settings.mediaWorkers > 0
      ? createPooledMediaRepository(settings.mediaDir, campaign.media, settings.mediaWorkers)
      : null;
  const media = pool ?? createMediaRepository(settings.mediaDir, campaign.media);
  const bus = new EventBus();
  const ingest = createIngestService({
    db,
    media,
    campaign,
    bus,
    // Loaded on first download: the HTTP client is a fifth of a second of start-up that the
    // import and mosaic commands never use.
    download: async (url) => {
      const { fetchBytes } = await import('./net/safe-fetch.ts');
      return (
        await fetchBytes(url, { maxBytes: campaign.media.maxBytes, allowPrivate: settings.allowPrivateMedia })
      ).bytes;
    },
  });
  const close = () => {
    closeDatabase(db);
    void pool?.close();
  };
  return { settings, campaign, db, media, bus, ingest, close };
}
