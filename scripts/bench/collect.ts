/**
 * Collection benchmark: one pass of a real collector over N generated photo posts served by a
 * network fake on 127.0.0.1, into a fresh data directory, and where its time goes.
 *
 * For each network the same walk is done twice before the pass by a bare HTTP client that
 * only downloads the pages and the photos (no ingest): the first run makes the fake render
 * and cache its JPEGs (excluded), the second is the fake's own latency. The collector pass then
 * runs with timers around every await that leaves our code — API pages (fetch), photo
 * downloads (safe-fetch), media store() (sharp + fsync'd writes), the SQLite transaction — so
 * the rest is what ingest and the collector themselves cost.
 *
 *   npx tsx scripts/bench/collect.ts [posts=10000] [--networks bluesky,x,mastodon]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBlueskyCollector } from '../../src/collectors/bluesky.ts';
import { createMastodonCollector } from '../../src/collectors/mastodon.ts';
import type { Collector, CollectorDeps } from '../../src/collectors/types.ts';
import { createXCollector } from '../../src/collectors/x.ts';
import { buildQueries } from '../../src/collectors/x-query.ts';
import { type Campaign, parseCampaign } from '../../src/config/campaign.ts';
import { readSettings } from '../../src/config/env.ts';
import { closeDatabase, openDatabase } from '../../src/db/sqlite.ts';
import { createIngestService } from '../../src/ingest/ingest.ts';
import { log as appLog } from '../../src/log.ts';
import { createMediaRepository } from '../../src/media/media-repository.ts';
import type { MediaRepository } from '../../src/media/types.ts';
import { closeSafeFetchAgents, fetchBytes } from '../../src/net/safe-fetch.ts';
import {
  FAKE_BLUESKY_IDENTIFIER,
  FAKE_BLUESKY_PASSWORD,
  FAKE_HASHTAG,
  FAKE_X_TOKEN,
  type Fakes,
  startFakes,
} from '../../test/helpers/fakes.ts';

export type BenchNetwork = 'bluesky' | 'x' | 'mastodon';

export interface CollectBenchRow {
  name: string;
  seconds: number;
  postsPerSecond: number;
  note?: string;
}

export interface BenchCollectOptions {
  posts: number;
  /** Default: Bluesky (its fake generates 10,000 posts fastest) and X. */
  networks?: BenchNetwork[];
  /** Photos served by the Mastodon and Bluesky fakes (X's fake always serves 32×24). */
  imageSize?: { width: number; height: number };
  /** Progress lines on stderr. */
  log?: (line: string) => void;
}

/** Sums of the time spent awaiting each kind of work during one pass. */
class Timers {
  readonly totals = new Map<string, number>();

  async time<T>(name: string, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.add(name, performance.now() - started);
    }
  }

  add(name: string, ms: number): void {
    this.totals.set(name, (this.totals.get(name) ?? 0) + ms);
  }

  seconds(name: string): number {
    return (this.totals.get(name) ?? 0) / 1000;
  }
}

// ---------------------------------------------------------------------------------------------
// The bare client: the pages and photos a pass fetches, nothing else.

interface Walk {
  pages: number;
  photos: number;
  posts: number;
}

async function getJson(url: string, headers: Record<string, string>, timers: Timers): Promise<unknown> {
  return timers.time('pages', async () => {
    const response = await fetch(url, { headers });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response.json();
  });
}

async function download(urls: string[], timers: Timers): Promise<void> {
  for (const url of urls) {
    await timers.time('photos', () => fetchBytes(url, { allowPrivate: true }));
  }
}

type Walker = (fakes: Fakes, campaign: Campaign, timers: Timers) => Promise<Walk>;

const walkers: Record<BenchNetwork, Walker> = {
  async bluesky(fakes, _campaign, timers) {
    const base = `${fakes.bluesky.url}/xrpc`;
    const login = await fetch(`${base}/com.atproto.server.createSession`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identifier: FAKE_BLUESKY_IDENTIFIER, password: FAKE_BLUESKY_PASSWORD }),
    });
    const { accessJwt } = (await login.json()) as { accessJwt: string };
    const walk: Walk = { pages: 0, photos: 0, posts: 0 };
    let cursor: string | undefined;
    do {
      const params = new URLSearchParams({
        q: `#${FAKE_HASHTAG}`,
        tag: FAKE_HASHTAG,
        sort: 'latest',
        limit: '100',
      });
      if (cursor) params.set('cursor', cursor);
      const page = (await getJson(
        `${base}/app.bsky.feed.searchPosts?${params}`,
        { authorization: `Bearer ${accessJwt}` },
        timers,
      )) as { posts: Array<{ embed?: { images?: Array<{ fullsize: string }> } }>; cursor?: string };
      walk.pages++;
      walk.posts += page.posts.length;
      const urls = page.posts.flatMap((p) => (p.embed?.images ?? []).map((i) => i.fullsize));
      walk.photos += urls.length;
      await download(urls, timers);
      cursor = page.cursor;
    } while (cursor);
    return walk;
  },

  async x(fakes, campaign, timers) {
    const walk: Walk = { pages: 0, photos: 0, posts: 0 };
    for (const query of buildQueries(campaign)) {
      let next: string | undefined;
      do {
        const params = new URLSearchParams({
          query,
          max_results: '100',
          expansions: 'attachments.media_keys,author_id',
          'media.fields': 'url,width,height,alt_text,type,preview_image_url',
          'user.fields': 'name,username,profile_image_url',
          'tweet.fields': 'created_at,lang,entities,possibly_sensitive,attachments,author_id',
        });
        if (next) params.set('next_token', next);
        const page = (await getJson(
          `${fakes.x.url}/2/tweets/search/recent?${params}`,
          { authorization: `Bearer ${FAKE_X_TOKEN}` },
          timers,
        )) as {
          data?: unknown[];
          includes?: { media?: Array<{ url?: string }> };
          meta: { next_token?: string };
        };
        walk.pages++;
        walk.posts += page.data?.length ?? 0;
        const urls = (page.includes?.media ?? []).flatMap((m) => (m.url ? [m.url] : []));
        walk.photos += urls.length;
        await download(urls, timers);
        next = page.meta.next_token;
      } while (next);
    }
    return walk;
  },

  async mastodon(fakes, _campaign, timers) {
    const walk: Walk = { pages: 0, photos: 0, posts: 0 };
    let maxId: string | undefined;
    for (;;) {
      const params = new URLSearchParams({ only_media: 'true', limit: '40' });
      if (maxId) params.set('max_id', maxId);
      const page = (await getJson(
        `${fakes.mastodon.url}/api/v1/timelines/tag/${FAKE_HASHTAG}?${params}`,
        {},
        timers,
      )) as Array<{ id: string; media_attachments: Array<{ type: string; url: string }> }>;
      walk.pages++;
      walk.posts += page.length;
      const urls = page.flatMap((s) =>
        s.media_attachments.filter((m) => m.type === 'image').map((m) => m.url),
      );
      walk.photos += urls.length;
      await download(urls, timers);
      if (page.length < 40) break;
      maxId = page[page.length - 1]?.id;
    }
    return walk;
  },
};

// ---------------------------------------------------------------------------------------------
// The instrumented collector pass.

function timedMedia(repo: MediaRepository, timers: Timers): MediaRepository {
  return { ...repo, store: (bytes) => timers.time('media', () => repo.store(bytes)) };
}

function createCollector(
  network: BenchNetwork,
  deps: CollectorDeps,
  posts: number,
  timers: Timers,
): Collector {
  const timedFetch: typeof fetch = (input, init) => timers.time('pages', () => fetch(input, init));
  if (network === 'bluesky')
    return createBlueskyCollector(deps, { maxPagesPerQuery: Math.ceil(posts / 100) + 5 });
  if (network === 'mastodon')
    return createMastodonCollector(deps, { fetch: timedFetch, backfillPages: Math.ceil(posts / 40) + 1 });
  return createXCollector(deps, { maxPagesPerQuery: Math.ceil(posts / 100) + 5 });
}

async function collectorPass(network: BenchNetwork, fakes: Fakes, campaign: Campaign, posts: number) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `standwall-bench-collect-${network}-`));
  const timers = new Timers();
  const db = openDatabase(path.join(dir, 'standwall.db'));
  // The one write transaction of an ingest (author, post, media rows) is the DB cost that grows.
  const transaction = db.transaction.bind(db);
  db.transaction = ((fn: Parameters<typeof transaction>[0], config?: Parameters<typeof transaction>[1]) => {
    const started = performance.now();
    try {
      return transaction(fn, config);
    } finally {
      timers.add('db', performance.now() - started);
    }
  }) as typeof db.transaction;
  const media = timedMedia(createMediaRepository(path.join(dir, 'media'), campaign.media), timers);
  const ingest = createIngestService({
    db,
    media,
    campaign,
    download: (url) =>
      timers.time('photos', async () => (await fetchBytes(url, { allowPrivate: true })).bytes),
  });
  const timedIngest = {
    ...ingest,
    ingest: (...args: Parameters<typeof ingest.ingest>) =>
      timers.time('ingest', () => ingest.ingest(...args)),
  };
  const env = fakes.env(dir, path.join(dir, 'unused.json'));
  const deps: CollectorDeps = { db, ingest: timedIngest, media, campaign, settings: readSettings(env) };
  const collector = createCollector(network, deps, posts, timers);

  // Bluesky's client calls the global fetch: time it for the duration of the pass.
  const globalFetch = globalThis.fetch;
  if (network === 'bluesky')
    globalThis.fetch = (input, init) => timers.time('pages', () => globalFetch(input, init));
  const started = performance.now();
  try {
    const counts = await collector.collect({ signal: new AbortController().signal });
    return { seconds: (performance.now() - started) / 1000, counts, timers };
  } finally {
    globalThis.fetch = globalFetch;
    closeDatabase(db);
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

function row(name: string, seconds: number, posts: number, note?: string): CollectBenchRow {
  return {
    name,
    seconds: round(seconds, 2),
    postsPerSecond: seconds > 0 ? round(posts / seconds, 1) : 0,
    ...(note ? { note } : {}),
  };
}

async function benchNetwork(network: BenchNetwork, opts: BenchCollectOptions): Promise<CollectBenchRow[]> {
  const log = opts.log ?? (() => {});
  const n = opts.posts;
  const fakes = await startFakes({ [network]: n, imageSize: opts.imageSize ?? { width: 128, height: 96 } });
  const campaign = parseCampaign(fakes.campaign);
  try {
    log(`${network}: warming the fake (renders and caches ${n} JPEGs)`);
    const warm = new Timers();
    const warmStart = performance.now();
    const walk = await walkers[network](fakes, campaign, warm);
    const warmSeconds = (performance.now() - warmStart) / 1000;
    if (walk.posts !== n) throw new Error(`${network}: the fake served ${walk.posts} posts, not ${n}`);

    log(`${network}: bare HTTP walk (${walk.pages} pages, ${walk.photos} photos)`);
    const bare = new Timers();
    const bareStart = performance.now();
    await walkers[network](fakes, campaign, bare);
    const bareSeconds = (performance.now() - bareStart) / 1000;

    log(`${network}: collector pass`);
    const pass = await collectorPass(network, fakes, campaign, n);
    if (pass.counts.created !== n) {
      throw new Error(
        `${network}: the pass stored ${pass.counts.created} of ${n} posts (${pass.counts.message ?? ''})`,
      );
    }
    const t = pass.timers;
    const share = (s: number) => `${round((s / pass.seconds) * 100, 1)}% of the pass`;
    const ingest = t.seconds('ingest');
    const outside = pass.seconds - ingest;
    const inIngest = ingest - t.seconds('photos') - t.seconds('media') - t.seconds('db');
    const pagesMeasured = network !== 'x';
    const fakeWait = t.seconds('photos') + (pagesMeasured ? t.seconds('pages') : bare.seconds('pages'));
    const ours = pass.seconds - fakeWait;
    const rows = [
      row(
        `${network}: collector pass, end to end`,
        pass.seconds,
        n,
        `${walk.pages} pages, ${walk.photos} photos`,
      ),
      row(
        `${network}: bare HTTP walk (pages + photos, no ingest)`,
        bareSeconds,
        n,
        'the fake and loopback HTTP alone',
      ),
      row(`${network}:   bare: API pages`, bare.seconds('pages'), n),
      row(`${network}:   bare: photo downloads`, bare.seconds('photos'), n),
      row(
        `${network}: pass: awaiting API pages`,
        pagesMeasured ? t.seconds('pages') : outside,
        n,
        pagesMeasured
          ? share(t.seconds('pages'))
          : `${share(outside)}; not separable for X (twitter-api-v2): includes page parsing and cursors`,
      ),
      row(`${network}: pass: awaiting photo downloads`, t.seconds('photos'), n, share(t.seconds('photos'))),
      row(
        `${network}: pass: media store() (sharp, files, flushes)`,
        t.seconds('media'),
        n,
        share(t.seconds('media')),
      ),
      row(`${network}: pass: SQLite ingest transaction`, t.seconds('db'), n, share(t.seconds('db'))),
      row(
        `${network}: pass: rest of ingest (look-up, demands, near-duplicates)`,
        inIngest,
        n,
        share(inIngest),
      ),
      ...(pagesMeasured
        ? [
            row(
              `${network}: pass: collector outside ingest and pages`,
              outside - t.seconds('pages'),
              n,
              share(outside - t.seconds('pages')),
            ),
          ]
        : []),
      row(`${network}: pass: our own work (pass − fake/network wait)`, ours, n, share(ours)),
      row(`${network}: fake warm-up (renders the JPEGs; excluded)`, warmSeconds, n),
    ];
    return rows;
  } finally {
    await fakes.close();
  }
}

export async function benchCollect(opts: BenchCollectOptions): Promise<CollectBenchRow[]> {
  const rows: CollectBenchRow[] = [];
  try {
    for (const network of opts.networks ?? ['bluesky', 'x'])
      rows.push(...(await benchNetwork(network, opts)));
  } finally {
    await closeSafeFetchAgents();
  }
  return rows;
}

export function formatRows(rows: CollectBenchRow[]): string {
  const head = `${'step'.padEnd(66)} ${'seconds'.padStart(8)} ${'posts/s'.padStart(8)}  note`;
  return [
    head,
    ...rows.map(
      (r) =>
        `${r.name.padEnd(66)} ${r.seconds.toFixed(2).padStart(8)} ${r.postsPerSecond.toFixed(1).padStart(8)}  ${r.note ?? ''}`,
    ),
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  const posts = Number(args.find((a) => /^\d+$/.test(a)) ?? 10_000);
  const at = args.indexOf('--networks');
  const networks = at >= 0 ? ((args[at + 1] ?? '').split(',') as BenchNetwork[]) : undefined;
  if (!Number.isInteger(posts) || posts < 1 || networks?.some((n) => !(n in walkers))) {
    process.stderr.write('usage: npx tsx scripts/bench/collect.ts [posts] [--networks bluesky,x,mastodon]\n');
    process.exit(2);
  }
  // Info lines would interleave with the table; LOG_LEVEL=info measures with them.
  appLog.level = process.env.LOG_LEVEL ?? 'warn';
  const rows = await benchCollect({ posts, networks, log: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(`${formatRows(rows)}\n`);
}
