/**
 * The three network fakes started together on 127.0.0.1, with the campaign config and the
 * environment that point the app at them: what an end-to-end CLI test or a benchmark needs to
 * run `collect` with nothing leaving the machine.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FakeBluesky, startFakeBluesky } from '../fakes/bluesky-api.ts';
import { type FakeMastodon, startFakeMastodon } from '../fakes/mastodon-api.ts';
import { type FakeX, generateTweets, startFakeX } from '../fakes/x-api.ts';

export const FAKE_X_TOKEN = 'cli-test-bearer';
export const FAKE_BLUESKY_IDENTIFIER = 'standwall.test';
export const FAKE_BLUESKY_PASSWORD = 'abcd-efgh-ijkl-mnop';
/** The tag every generated post carries (and the only hashtag of the campaign below). */
export const FAKE_HASHTAG = 'IStandForPeace';

export interface StartFakesOptions {
  /** Generated photo posts per network (0: that fake serves nothing). */
  x?: number;
  mastodon?: number;
  bluesky?: number;
  /** Photo size served by the Mastodon and Bluesky fakes (X's generator makes 32×24). */
  imageSize?: { width: number; height: number };
}

export interface Fakes {
  x: FakeX;
  mastodon: FakeMastodon;
  bluesky: FakeBluesky;
  /** Campaign config (JSON) with every network's base URL on the fakes. */
  campaign: Record<string, unknown>;
  /** Environment for the CLI: credentials the fakes accept, loopback media allowed. */
  env(dataDir: string, configFile: string): Record<string, string>;
  close(): Promise<void>;
}

/**
 * One hashtag and one demand phrase: one X query, one Mastodon tag group and two Bluesky
 * searches, so request counts stay small and every generated post is found by the hashtag.
 * The networks without a fake here are disabled.
 */
export function fakeCampaign(urls: { x: string; mastodon: string; bluesky: string }) {
  return {
    hashtags: [FAKE_HASHTAG],
    demands: [{ id: 'end-war', phrases: { en: ['End the Korean War'] } }],
    goals: [],
    regionRules: [],
    sources: {
      x: { baseUrl: urls.x },
      mastodon: { instances: [urls.mastodon] },
      bluesky: { serviceUrl: urls.bluesky },
      // No fake for these: off, so a credential in the developer's environment sends nothing out.
      instagram: { enabled: false },
      threads: { enabled: false },
      imap: { enabled: false },
    },
  };
}

export async function startFakes(opts: StartFakesOptions = {}): Promise<Fakes> {
  const imageSize = opts.imageSize ?? { width: 64, height: 48 };
  const [x, mastodon, bluesky] = await Promise.all([
    startFakeX({ token: FAKE_X_TOKEN, tweets: generateTweets(opts.x ?? 0) }),
    startFakeMastodon({ imageSize }),
    startFakeBluesky({
      identifier: FAKE_BLUESKY_IDENTIFIER,
      password: FAKE_BLUESKY_PASSWORD,
      generate: opts.bluesky ?? 0,
      generatedTag: FAKE_HASHTAG,
      imageSize,
    }),
  ]);
  mastodon.generate(opts.mastodon ?? 0, { tags: [FAKE_HASHTAG] });
  return {
    x,
    mastodon,
    bluesky,
    campaign: fakeCampaign({ x: x.url, mastodon: mastodon.url, bluesky: bluesky.url }),
    env: (dataDir, configFile) => ({
      DATA_DIR: dataDir,
      CAMPAIGN_CONFIG: configFile,
      X_BEARER_TOKEN: FAKE_X_TOKEN,
      BLUESKY_IDENTIFIER: FAKE_BLUESKY_IDENTIFIER,
      BLUESKY_APP_PASSWORD: FAKE_BLUESKY_PASSWORD,
      STANDWALL_ALLOW_PRIVATE_MEDIA: '1',
      INSTAGRAM_ACCESS_TOKEN: '',
      INSTAGRAM_USER_ID: '',
      THREADS_ACCESS_TOKEN: '',
      IMAP_URL: '',
    }),
    close: async () => {
      await Promise.all([x.close(), mastodon.close(), bluesky.close()]);
    },
  };
}

/** Writes the fakes' campaign config into `dir` and returns its path. */
export function writeCampaign(dir: string, campaign: Record<string, unknown>): string {
  const file = join(dir, 'campaign.json');
  writeFileSync(file, JSON.stringify(campaign, null, 2));
  return file;
}
