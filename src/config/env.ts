import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './campaign.ts';

const emptyAsUndefined = (v: unknown) => (v === '' ? undefined : v);

const envSchema = z.object({
  PORT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(65535).default(3000)),
  HOST: z.preprocess(emptyAsUndefined, z.string().min(1).default('127.0.0.1')),
  DATA_DIR: z.preprocess(emptyAsUndefined, z.string().min(1).default('./data')),
  CAMPAIGN_CONFIG: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  X_BEARER_TOKEN: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  BLUESKY_IDENTIFIER: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  BLUESKY_APP_PASSWORD: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  INSTAGRAM_ACCESS_TOKEN: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  INSTAGRAM_USER_ID: z.preprocess(
    emptyAsUndefined,
    z.string().regex(/^\d+$/, 'must be the numeric id of the Instagram business account').optional(),
  ),
  THREADS_ACCESS_TOKEN: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  IMAP_URL: z.preprocess(
    emptyAsUndefined,
    z.string().url('must be a URL like imaps://user:pass@host').optional(),
  ),
  STANDWALL_ALLOW_PRIVATE_MEDIA: z.preprocess(emptyAsUndefined, z.enum(['0', '1']).default('0')),
  MEDIA_WORKERS: z.preprocess(
    emptyAsUndefined,
    z.coerce
      .number()
      .int()
      .min(0, 'must be 0 (photos processed in the main thread) or more')
      .max(16)
      .default(Math.min(4, availableParallelism())),
  ),
});

export interface Settings {
  port: number;
  host: string;
  dataDir: string;
  dbFile: string;
  mediaDir: string;
  campaignConfig: string | undefined;
  xBearerToken: string | undefined;
  blueskyIdentifier: string | undefined;
  blueskyAppPassword: string | undefined;
  instagramAccessToken: string | undefined;
  instagramUserId: string | undefined;
  threadsAccessToken: string | undefined;
  imapUrl: string | undefined;
  allowPrivateMedia: boolean;
  /** Worker threads for the media pipeline; 0 runs it in the main thread. */
  mediaWorkers: number;
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid environment:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const dataDir = resolve(e.DATA_DIR);
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    dbFile: resolve(dataDir, 'standwall.db'),
    mediaDir: resolve(dataDir, 'media'),
    campaignConfig: e.CAMPAIGN_CONFIG,
    xBearerToken: e.X_BEARER_TOKEN,
    blueskyIdentifier: e.BLUESKY_IDENTIFIER,
    blueskyAppPassword: e.BLUESKY_APP_PASSWORD,
    instagramAccessToken: e.INSTAGRAM_ACCESS_TOKEN,
    instagramUserId: e.INSTAGRAM_USER_ID,
    threadsAccessToken: e.THREADS_ACCESS_TOKEN,
    imapUrl: e.IMAP_URL,
    allowPrivateMedia: e.STANDWALL_ALLOW_PRIVATE_MEDIA === '1',
    mediaWorkers: e.MEDIA_WORKERS,
  };
}
