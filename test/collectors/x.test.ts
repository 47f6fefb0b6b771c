import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, inArray } from 'drizzle-orm';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { getCursor } from '../../src/collectors/cursors.ts';
import { createXCollector, decodeXText, type XCollectorOptions } from '../../src/collectors/x.ts';
import { buildQueries, sinceCursorKey, X_MAX_QUERY_LENGTH } from '../../src/collectors/x-query.ts';
import { type Campaign, parseCampaign } from '../../src/config/campaign.ts';
import { readSettings } from '../../src/config/env.ts';
import { authors, media, posts } from '../../src/db/schema.ts';
import { closeDatabase, type Db, openDatabase } from '../../src/db/sqlite.ts';
import { createIngestService } from '../../src/ingest/ingest.ts';
import { createMediaRepository } from '../../src/media/media-repository.ts';
import type { MediaRepository } from '../../src/media/types.ts';
import { closeSafeFetchAgents, fetchBytes } from '../../src/net/safe-fetch.ts';
import type { RunContext } from '../../src/scheduler/scheduler.ts';
import { type FakeX, type FakeXOptions, type FakeXTweet, snowflake, startFakeX } from '../fakes/x-api.ts';

const TOKEN = 'test-token';
const START = Date.parse('2026-03-10T12:00:00Z');
const EXTRA_A = `Second query phrase ${'a'.repeat(120)}`;
const EXTRA_B = `Another phrase that only fits a second query ${'b'.repeat(100)}`;

function tweet(n: number, fields: Partial<FakeXTweet> & Pick<FakeXTweet, 'text'>): FakeXTweet {
  const ms = Date.parse('2026-03-09T00:00:00Z') + n * 60_000;
  return {
    id: snowflake(ms, n),
    createdAt: new Date(ms).toISOString(),
    lang: 'en',
    author: {
      id: `u${n}`,
      username: `user${n}`,
      name: `User ${n}`,
      avatar: `https://pbs.twimg.com/profile_images/${n}.jpg`,
    },
    media: [{ key: `3_${n}`, type: 'photo', alt: `photo ${n}` }],
    ...fields,
  };
}

/** The edge cases every collector must meet, as X would send them. */
function fixtureTweets(): FakeXTweet[] {
  return [
    tweet(1, {
      text: `#IStandForPeace End the Korean War! <3 & peace ${EXTRA_A}`,
      author: {
        id: 'u1',
        username: 'dove',
        name: 'Peace 🕊️ Kim 🇰🇷',
        avatar: 'https://pbs.twimg.com/profile_images/1.jpg',
      },
    }),
    tweet(2, {
      text: '#IStandForPeace سلام',
      lang: 'ar',
      author: { id: 'u2', username: 'salam', name: 'سلام للجميع', avatar: null },
      media: [{ key: '3_2', type: 'photo', alt: null }],
    }),
    tweet(3, {
      text: '#EndTheKoreanWar שלום',
      lang: 'und',
      sensitive: true,
      author: { id: 'u3', username: 'shalom', name: 'שלום עכשיו' },
      media: [
        { key: '3_3a', type: 'photo', alt: '' },
        { key: '3_3b', type: 'photo', alt: 'second sign' },
      ],
    }),
    tweet(4, { text: '#IStandForPeace video only', media: [{ key: '7_4', type: 'video' }] }),
    tweet(5, {
      text: '#IStandForPeace photo and gif',
      media: [
        { key: '16_5', type: 'animated_gif' },
        { key: '3_5', type: 'photo', alt: 'sign' },
      ],
    }),
    tweet(6, {
      text: '#한반도평화 한반도에 평화를',
      lang: 'ko',
      author: { id: 'u1', username: 'dove', name: 'Peace 🕊️ Kim 🇰🇷' },
    }),
    tweet(7, { text: 'just my cat, no campaign here' }),
    tweet(8, { text: `Only the second query: ${EXTRA_B}` }),
    tweet(9, { text: '#IStandForPeace', media: [] }),
  ];
}

const EXPECTED = ['1', '2', '3', '5', '6', '8'].map((n) => fixtureTweets()[Number(n) - 1]?.id);

interface Harness {
  fake: FakeX;
  db: Db;
  mediaRepo: MediaRepository;
  campaign: Campaign;
  clock: { now: number };
  sleeps: number[];
  collector: ReturnType<typeof createXCollector>;
  pass(ctx?: Partial<RunContext>): ReturnType<ReturnType<typeof createXCollector>['collect']>;
  storedIds(): string[];
  apiRequests(): number;
}

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await closeSafeFetchAgents();
});

async function setup(
  fakeOptions: FakeXOptions = {},
  collectorOptions: XCollectorOptions = {},
  token: string | null = TOKEN,
): Promise<Harness> {
  const clock = { now: START };
  const sleeps: number[] = [];
  const fake = await startFakeX({
    tweets: fixtureTweets(),
    pageSize: 2,
    now: () => clock.now,
    ...fakeOptions,
  });
  const dir = mkdtempSync(join(tmpdir(), 'standwall-x-'));
  const db = openDatabase(join(dir, 'standwall.db'));
  cleanups.push(async () => {
    await fake.close();
    closeDatabase(db);
    rmSync(dir, { recursive: true, force: true });
  });
  const campaign = parseCampaign({
    sources: { x: { baseUrl: fake.url } },
    demands: [
      ...(parseCampaign({}).demands as unknown[]),
      { id: 'split-test', phrases: { en: [EXTRA_A, EXTRA_B] } },
    ],
  });
  const mediaRepo = createMediaRepository(join(dir, 'media'), campaign.media);
  const ingest = createIngestService({
    db,
    media: mediaRepo,
    campaign,
    download: (url) => fetchBytes(url, { allowPrivate: true }).then((r) => r.bytes),
  });
  const settings = { ...readSettings({ DATA_DIR: dir }), xBearerToken: token ?? undefined };
  const collector = createXCollector(
    {
      db,
      ingest,
      media: mediaRepo,
      campaign,
      settings,
      now: () => clock.now,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock.now += ms;
      },
    },
    collectorOptions,
  );
  return {
    fake,
    db,
    mediaRepo,
    campaign,
    clock,
    sleeps,
    collector,
    pass: (ctx = {}) => collector.collect({ signal: new AbortController().signal, ...ctx }),
    storedIds: () =>
      db
        .select({ remoteId: posts.remoteId })
        .from(posts)
        .all()
        .map((r) => r.remoteId)
        .sort(),
    apiRequests: () => fake.requests.filter((r) => r.endpoint === 'search' || r.endpoint === 'lookup').length,
  };
}

describe('X queries', () => {
  it('puts every hashtag and phrase in queries within X limit, each standing alone', () => {
    const campaign = parseCampaign({
      demands: Array.from({ length: 8 }, (_, i) => ({
        id: `d${i}`,
        phrases: { en: [`demand number ${i} ${'x'.repeat(150)}`], ko: [`요구 ${i}`] },
      })),
    });
    const queries = buildQueries(campaign);
    expect(queries.length).toBeGreaterThan(2);
    for (const q of queries) {
      expect(q.length).toBeLessThanOrEqual(X_MAX_QUERY_LENGTH);
      expect(q.endsWith(' has:images -is:retweet')).toBe(true);
    }
    const all = queries.join(' ');
    for (const tag of campaign.hashtags) expect(all).toContain(`#${tag}`);
    for (let i = 0; i < 8; i++) expect(all).toContain(`"요구 ${i}"`);
    expect(buildQueries(campaign)).toEqual(queries);
    expect(new Set(queries.map(sinceCursorKey)).size).toBe(queries.length);
  });

  it('decodes the three entities X escapes, &amp; last', () => {
    expect(decodeXText('a &lt;b&gt; &amp; &amp;lt;')).toBe('a <b> & &lt;');
  });
});

describe('X collector', () => {
  it('stores exactly the photo posts with their authors and files, then nothing new', async () => {
    const h = await setup();
    const progress: number[] = [];
    const first = await h.pass({ progress: (done) => progress.push(done) });
    expect(first).toEqual({ found: 6, created: 6, errors: 0 });
    expect(progress.at(-1)).toBe(6);
    expect(h.storedIds()).toEqual([...EXPECTED].sort());

    const rows = h.db.select().from(posts).all();
    const byId = new Map(rows.map((r) => [r.remoteId, r]));
    const t = fixtureTweets();
    const p1 = byId.get(t[0]?.id ?? '');
    expect(p1?.text).toBe(`#IStandForPeace End the Korean War! <3 & peace ${EXTRA_A}`);
    expect(p1?.url).toBe(`https://x.com/dove/status/${t[0]?.id}`);
    expect(p1?.language).toBe('en');
    expect(p1?.postedAt).toBe(t[0]?.createdAt);
    expect(p1?.demands).toContain('end-war');
    const p3 = byId.get(t[2]?.id ?? '');
    expect(p3?.language).toBeNull();
    expect(p3?.sensitive).toBe(true);
    expect(byId.get(t[1]?.id ?? '')?.language).toBe('ar');

    const people = h.db.select().from(authors).all();
    expect(people.map((a) => a.name).sort()).toEqual(
      ['Peace 🕊️ Kim 🇰🇷', 'User 5', 'User 8', 'سلام للجميع', 'שלום עכשיו'].sort(),
    );
    const salam = people.find((a) => a.handle === 'salam');
    expect(salam).toMatchObject({ remoteId: 'u2', profileUrl: 'https://x.com/salam', avatarUrl: null });

    const files = h.db.select().from(media).all();
    expect(files).toHaveLength(7); // 1 + 1 + 2 + 1 (gif skipped) + 1 + 1
    expect(files.every((m) => m.state === 'stored')).toBe(true);
    for (const m of files) expect(existsSync(h.mediaRepo.absolutePath(m.originalPath ?? ''))).toBe(true);
    const p3Media = files.filter((m) => m.postId === p3?.id).sort((a, b) => a.position - b.position);
    expect(p3Media.map((m) => m.alt)).toEqual([null, 'second sign']);
    expect(files.find((m) => m.postId === byId.get(t[1]?.id ?? '')?.id)?.alt).toBeNull();
    expect(h.fake.requests.some((r) => r.path.includes('preview'))).toBe(false);

    const queries = buildQueries(h.campaign);
    expect(queries).toHaveLength(2);
    for (const q of queries) expect(getCursor(h.db, 'x', sinceCursorKey(q))).not.toBeNull();
    const searches = h.fake.requests.filter((r) => r.endpoint === 'search');
    expect(searches[0]?.query).toMatchObject({
      max_results: '100',
      expansions: 'attachments.media_keys,author_id',
      'media.fields': 'url,width,height,alt_text,type,preview_image_url',
      'user.fields': 'name,username,profile_image_url',
    });

    const before = h.apiRequests();
    const second = await h.pass();
    expect(second).toEqual({ found: 0, created: 0, errors: 0 });
    const again = h.fake.requests.filter((r) => r.endpoint === 'search').slice(-2);
    expect(h.apiRequests() - before).toBe(2);
    expect(again.every((r) => r.query.since_id && !r.query.next_token)).toBe(true);
    expect(again[0]?.query.since_id).toBe(t[5]?.id); // newest match of query 1: tweet 8 is query 2's
    expect(h.storedIds()).toEqual([...EXPECTED].sort());
    expect(h.fake.overLimit).toBe(0);
  });

  it('copes with a page repeating the previous last item and an empty page with a cursor', async () => {
    const h = await setup({ repeatLastItem: true, emptyPagesAfter: [1, 2] });
    const counts = await h.pass();
    expect(counts).toEqual({ found: 6, created: 6, errors: 0 });
    expect(h.storedIds()).toEqual([...EXPECTED].sort());
    const empties = h.fake.requests.filter((r) => r.query.next_token?.endsWith('.e'));
    expect(empties.length).toBeGreaterThan(0);
  });

  it.each([
    ['503', /X answered 503/],
    ['truncated', /truncated or invalid/],
    ['drop', /request to X failed/],
    ['malformed', /not a recent-search response/],
  ] as const)(
    'a %s mid-pass loses nothing and the next pass ends with the same posts',
    async (kind, message) => {
      const h = await setup({ failures: [{ on: 2, kind }] });
      const broken = await h.pass();
      expect(broken.errors).toBe(1);
      expect(broken.message).toMatch(message);
      expect(broken.created).toBe(2); // the first page only
      for (const q of buildQueries(h.campaign)) expect(getCursor(h.db, 'x', sinceCursorKey(q))).toBeNull();
      const resumed = await h.pass();
      expect(resumed.errors).toBe(0);
      expect(resumed.created).toBe(4);
      expect(h.storedIds()).toEqual([...EXPECTED].sort());
      expect(await h.pass()).toEqual({ found: 0, created: 0, errors: 0 });
    },
  );

  it('stops between pages when aborted, without advancing, and resumes', async () => {
    const h = await setup();
    const controller = new AbortController();
    let requestsAtAbort = 0;
    const counts = await h.pass({
      signal: controller.signal,
      progress: (done) => {
        if (done !== 3) return;
        controller.abort();
        requestsAtAbort = h.apiRequests();
      },
    });
    expect(counts.message).toMatch(/interrupted/);
    expect(h.storedIds().length).toBeLessThan(EXPECTED.length);
    expect(h.apiRequests()).toBe(requestsAtAbort);
    for (const q of buildQueries(h.campaign)) expect(getCursor(h.db, 'x', sinceCursorKey(q))).toBeNull();
    await h.pass();
    expect(h.storedIds()).toEqual([...EXPECTED].sort());
  });

  it('waits out a 429 whose reset fits the run, never exceeding the limit', async () => {
    const h = await setup({ failures: [{ on: 2, kind: '429' }], injected429ResetSeconds: 60 });
    const counts = await h.pass();
    expect(counts).toEqual({ found: 6, created: 6, errors: 0 });
    expect(h.sleeps).toHaveLength(1);
    expect(h.sleeps[0]).toBeGreaterThanOrEqual(60_000);
    expect(h.fake.overLimit).toBe(0);
  });

  it('ends the pass on a 429 whose reset is beyond the run, and skips until the reset', async () => {
    const h = await setup(
      { failures: [{ on: 2, kind: '429' }], injected429ResetSeconds: 600 },
      { runBudgetMs: 60_000 },
    );
    const counts = await h.pass();
    expect(counts.errors).toBe(0);
    expect(counts.message).toMatch(/rate limit reached/);
    expect(h.sleeps).toHaveLength(0);
    expect(Number(getCursor(h.db, 'x', 'rate-limit-reset'))).toBe(Math.ceil((START + 600_000) / 1000));
    const requests = h.apiRequests();
    const skipped = await h.pass();
    expect(skipped.created).toBe(0);
    expect(h.apiRequests()).toBe(requests);
    h.clock.now += 601_000;
    await h.pass();
    expect(h.storedIds()).toEqual([...EXPECTED].sort());
    expect(h.fake.overLimit).toBe(0);
  });

  it('never spends past x-rate-limit-remaining: it waits for the window instead', async () => {
    const h = await setup({ rateLimit: 2, windowSeconds: 60 });
    const counts = await h.pass();
    expect(counts).toEqual({ found: 6, created: 6, errors: 0 });
    expect(h.fake.overLimit).toBe(0);
    // Two requests per window: one wait between each pair.
    expect(h.apiRequests()).toBe(4);
    expect(h.sleeps).toHaveLength(1);
  });

  it('reports a refused token once, without retrying', async () => {
    const h = await setup({ token: 'another-token' });
    const counts = await h.pass();
    expect(counts.errors).toBe(1);
    expect(counts.message).toMatch(/X_BEARER_TOKEN is missing or invalid/);
    expect(counts.message).not.toContain(TOKEN);
    expect(h.apiRequests()).toBe(1);
    expect(h.fake.requests[0]?.status).toBe(401);
  });

  it('is unavailable without a token and makes no request', async () => {
    const h = await setup({}, {}, null);
    expect(h.collector.unavailableReason).toMatch(/X_BEARER_TOKEN/);
    expect(await h.pass()).toMatchObject({ errors: 1, found: 0, created: 0 });
    expect((await h.collector.recheck({ signal: new AbortController().signal })).errors).toBe(1);
    expect(h.fake.requests).toHaveLength(0);
  });

  it('searches afresh when X refuses a since_id older than its window', async () => {
    // Every fixture tweet is older than the fake's window start, so the cursors the first pass
    // writes are refused by the second.
    const h = await setup({ minSinceId: snowflake(Date.parse('2026-03-10T00:00:00Z')) });
    await h.pass();
    const counts = await h.pass();
    expect(counts).toEqual({ found: 6, created: 0, errors: 0 });
    expect(h.fake.requests.filter((r) => r.status === 400)).toHaveLength(2);
    expect(h.storedIds()).toEqual([...EXPECTED].sort());
  });

  it('skips and counts a malformed tweet without losing the rest of its page', async () => {
    const tweets = fixtureTweets();
    const broken = tweets[1];
    if (broken) broken.raw = { text: 42 };
    const h = await setup({ tweets });
    const counts = await h.pass();
    expect(counts).toMatchObject({ found: 5, created: 5, errors: 1 });
    expect(h.storedIds()).not.toContain(broken?.id);
  });
});

describe('X recheck', () => {
  it('removes posts deleted or protected at X and deletes their files', async () => {
    const h = await setup();
    await h.pass();
    const t = fixtureTweets();
    const [gone, hidden, kept] = [t[0]?.id ?? '', t[2]?.id ?? '', t[4]?.id ?? ''];
    h.db
      .update(posts)
      .set({ status: 'approved' })
      .where(inArray(posts.remoteId, [gone, kept]))
      .run();
    h.fake.deleteTweet(gone);
    h.fake.protectTweet(hidden);
    const filesOf = (remoteId: string) =>
      h.db
        .select({ path: media.originalPath, sha: media.sha256 })
        .from(media)
        .innerJoin(posts, eq(posts.id, media.postId))
        .where(eq(posts.remoteId, remoteId))
        .all();
    const goneFiles = filesOf(gone).map((f) => h.mediaRepo.absolutePath(f.path ?? ''));
    expect(goneFiles.every((f) => existsSync(f))).toBe(true);

    const counts = await h.collector.recheck({ signal: new AbortController().signal });
    expect(counts).toMatchObject({ found: 6, errors: 0 });
    expect(counts.message).toMatch(/removed 2/);
    const status = (id: string) => h.db.select().from(posts).where(eq(posts.remoteId, id)).get()?.status;
    expect(status(gone)).toBe('removed');
    expect(status(hidden)).toBe('removed');
    expect(status(kept)).toBe('approved');
    expect(goneFiles.every((f) => !existsSync(f))).toBe(true);
    expect(filesOf(gone).every((f) => f.path === null)).toBe(true);
    const lookups = h.fake.requests.filter((r) => r.endpoint === 'lookup');
    expect(lookups).toHaveLength(1);
    expect(lookups[0]?.query.ids?.split(',')).toHaveLength(6);

    // A removed post is not asked about again, nor brought back by a new pass.
    await h.collector.recheck({ signal: new AbortController().signal });
    expect(
      h.fake.requests
        .filter((r) => r.endpoint === 'lookup')
        .at(-1)
        ?.query.ids?.split(','),
    ).toHaveLength(4);
    expect((await h.pass()).created).toBe(0);
  });

  it('asks in batches of 100 ids', async () => {
    const h = await setup({ tweets: [] });
    const author = h.db
      .insert(authors)
      .values({ network: 'x', remoteId: 'u', handle: 'u', name: 'U' })
      .returning({ id: authors.id })
      .get();
    for (let i = 0; i < 150; i++) {
      const post = h.db
        .insert(posts)
        .values({
          network: 'x',
          remoteId: String(1000 + i),
          canonicalUri: `x:${1000 + i}`,
          sourceId: 'x',
          postedAt: new Date(START).toISOString(),
          status: i % 3 === 0 ? 'approved' : 'pending',
          authorId: author.id,
        })
        .returning({ id: posts.id })
        .get();
      h.db
        .insert(media)
        .values({ postId: post.id, position: 0, state: 'stored', sha256: `${i}`.padStart(64, '0') })
        .run();
    }
    const counts = await h.collector.recheck({ signal: new AbortController().signal });
    expect(counts.message).toMatch(/checked 150 of 150, removed 150/);
    const lookups = h.fake.requests.filter((r) => r.endpoint === 'lookup');
    expect(lookups.map((r) => r.query.ids?.split(',').length)).toEqual([100, 50]);
  });
});
