import { existsSync } from 'node:fs';
import { asc, eq } from 'drizzle-orm';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type BlueskyCollectorOptions, createBlueskyCollector } from '../../src/collectors/bluesky.ts';
import { getCursor } from '../../src/collectors/cursors.ts';
import { authors, media, moderationEvents, posts } from '../../src/db/schema.ts';
import { closeSafeFetchAgents } from '../../src/net/safe-fetch.ts';
import type { RunContext } from '../../src/scheduler/scheduler.ts';
import { blueskyEdgeCorpus, type FakeBlueskyOptions, startFakeBluesky } from '../fakes/bluesky-api.ts';
import { collectorHarness } from '../helpers/collector-harness.ts';

const IDENTIFIER = 'standwall.test';
const PASSWORD = 'abcd-efgh-ijkl-mnop';
const SEARCH = 'app.bsky.feed.searchPosts';
const LOGIN = 'com.atproto.server.createSession';
const REFRESH = 'com.atproto.server.refreshSession';

/** What the edge corpus must yield: photo posts found by a campaign hashtag or demand phrase. */
const EXPECTED = [
  '3lboth0000011',
  '3lemoji000001',
  '3larabic00002',
  '3lhebrew00003',
  '3lphrase00007',
  '3lquote000005',
];

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => closeSafeFetchAgents());

interface SetupOptions {
  fake?: FakeBlueskyOptions;
  collector?: BlueskyCollectorOptions;
  password?: string | null;
}

async function setup(options: SetupOptions = {}) {
  const clock = { t: Date.UTC(2026, 10, 21, 9) };
  const fake = await startFakeBluesky({
    identifier: IDENTIFIER,
    password: PASSWORD,
    posts: blueskyEdgeCorpus(),
    now: () => clock.t,
    repeatLastItem: true,
    emptyPageAtOffsets: [3],
    imageSize: { width: 96, height: 72 },
    ...options.fake,
  });
  const h = collectorHarness({
    name: 'bluesky',
    campaign: { sources: { bluesky: { serviceUrl: fake.url } } },
    env:
      options.password === null
        ? { BLUESKY_IDENTIFIER: IDENTIFIER }
        : { BLUESKY_IDENTIFIER: IDENTIFIER, BLUESKY_APP_PASSWORD: options.password ?? PASSWORD },
    clock,
  });
  cleanups.push(() => fake.close());
  cleanups.push(h.cleanup);
  const { db, deps, sleeps, mediaRepo, run } = h;
  const makeCollector = () => createBlueskyCollector(deps, { pageSize: 3, ...options.collector });
  const storedRkeys = () =>
    h
      .remoteIds()
      .map((id) => id.slice(id.lastIndexOf('/') + 1))
      .sort();
  return { fake, db, deps, clock, sleeps, mediaRepo, makeCollector, run, storedRkeys };
}

describe('Bluesky collector', () => {
  it('needs credentials and makes no request without them', async () => {
    const t = await setup({ password: null });
    const collector = t.makeCollector();
    expect(collector.unavailableReason).toMatch(/BLUESKY_APP_PASSWORD/);
    const counts = await collector.collect(t.run());
    expect(counts).toMatchObject({ found: 0, created: 0, errors: 1 });
    expect(counts.message).toMatch(/BLUESKY_IDENTIFIER and BLUESKY_APP_PASSWORD/);
    expect(t.fake.requests).toHaveLength(0);
  });

  it('stores exactly the photo posts, their authors and media, and nothing new on a second pass', async () => {
    const t = await setup();
    const collector = t.makeCollector();
    const first = await collector.collect(t.run());
    expect(first).toMatchObject({ found: 6, created: 6, errors: 1 }); // the malformed item
    expect(t.storedRkeys()).toEqual([...EXPECTED].sort());

    const byRkey = (rkey: string) => {
      const row = t.db
        .select()
        .from(posts)
        .innerJoin(authors, eq(authors.id, posts.authorId))
        .where(eq(posts.remoteId, t.fake.uriOf(rkey)))
        .get();
      if (!row) throw new Error(`${rkey} not stored`);
      const files = t.db
        .select()
        .from(media)
        .where(eq(media.postId, row.posts.id))
        .orderBy(asc(media.position))
        .all();
      return { ...row, files };
    };

    const emoji = byRkey('3lemoji000001');
    expect(emoji.posts.url).toBe('https://bsky.app/profile/peace.bsky.social/post/3lemoji000001');
    expect(emoji.posts.postedAt).toBe('2026-11-20T12:01:00.000Z');
    expect(emoji.posts.demands).toEqual(['end-war']);
    expect(emoji.authors).toMatchObject({
      name: 'Peace 🕊️ Maker 🇺🇸',
      handle: 'peace.bsky.social',
      profileUrl: 'https://bsky.app/profile/peace.bsky.social',
    });
    expect(emoji.authors.remoteId).toMatch(/^did:plc:/);
    expect(emoji.authors.avatarUrl).toMatch(/\/img\/avatar\/plain\/did:plc:/);
    expect(emoji.files.map((f) => f.alt)).toEqual(['A woman holding a peace sign']);

    const arabic = byRkey('3larabic00002');
    expect(arabic.authors).toMatchObject({ name: 'سلام للجميع', avatarUrl: null });
    expect(arabic.posts.language).toBe('ar');
    expect(arabic.files.map((f) => f.alt)).toEqual([null]);

    const hebrew = byRkey('3lhebrew00003');
    expect(hebrew.authors.name).toBe('שלום עכשיו 🌿');
    expect(hebrew.posts.language).toBe('ko');
    expect(hebrew.files.map((f) => f.alt)).toEqual(['Two signs', null]);

    const quote = byRkey('3lquote000005');
    expect(quote.authors.name).toBe('quoter.bsky.social'); // no display name
    expect(quote.files.map((f) => f.alt)).toEqual(['Quote with photo']);

    const labelled = byRkey('3lphrase00007');
    expect(labelled.posts.sensitive).toBe(true);
    expect(labelled.files[0]?.sensitive).toBe(true);
    expect(emoji.posts.sensitive).toBe(false);

    expect(t.db.select().from(authors).all()).toHaveLength(5);
    const allMedia = t.db.select().from(media).all();
    expect(allMedia).toHaveLength(7);
    for (const row of allMedia) {
      expect(row.state).toBe('stored');
      for (const path of [row.originalPath, row.wallPath, row.thumbPath, row.tilePath]) {
        expect(path).toBeTruthy();
        expect(existsSync(t.mediaRepo.absolutePath(path as string))).toBe(true);
      }
    }

    // The repeated item and the empty page with a cursor did not stop or duplicate anything.
    const firstPassSearches = t.fake.count(SEARCH);
    expect(t.fake.requests.some((r) => r.nsid === SEARCH && r.params.has('cursor'))).toBe(true);

    const second = await collector.collect(t.run());
    expect(second).toMatchObject({ found: 0, created: 0, errors: 0 });
    expect(t.db.select().from(posts).all()).toHaveLength(6);
    expect(t.db.select().from(media).all()).toHaveLength(7);
    const secondSearches = t.fake.requests.filter((r) => r.nsid === SEARCH).slice(firstPassSearches);
    // Hashtag queries that found something now send their watermark.
    expect(secondSearches.find((r) => r.params.get('tag') === 'IStandForPeace')?.params.get('since')).toBe(
      '2026-11-20T12:09:00.000Z',
    );
    expect(t.fake.count(LOGIN)).toBe(1);
    expect(t.fake.overLimit).toBe(0);
  });

  it('sends one query per hashtag (tag + "#tag") and per demand phrase, quoted', async () => {
    const t = await setup({ collector: { pageSize: 100 } });
    await t.makeCollector().collect(t.run());
    const searches = t.fake.requests.filter((r) => r.nsid === SEARCH);
    const campaign = t.deps.campaign;
    const phraseCount = new Set(campaign.demands.flatMap((d) => Object.values(d.phrases).flat())).size;
    expect(searches).toHaveLength(campaign.hashtags.length + phraseCount);
    const tagged = searches.filter((r) => r.params.has('tag'));
    expect(tagged.map((r) => [r.params.get('q'), r.params.getAll('tag')])).toEqual(
      campaign.hashtags.map((h) => [`#${h}`, [h]]),
    );
    expect(searches.map((r) => r.params.get('q'))).toContain('"End the Korean War"');
    for (const r of searches) {
      expect(r.params.get('sort')).toBe('latest');
      expect(r.params.get('limit')).toBe('100');
      expect(r.auth).toBe('access');
    }
  });

  it('picks up a new post after the watermark', async () => {
    const t = await setup();
    const collector = t.makeCollector();
    await collector.collect(t.run());
    t.fake.addPost({
      rkey: '3lnewpost0012',
      author: { handle: 'late.bsky.social', displayName: 'Late 🌅' },
      text: 'Late but here #IStandForPeace',
      createdAt: '2026-11-21T08:00:00.000Z',
      embed: { kind: 'images', images: [{ alt: '' }] },
    });
    const second = await collector.collect(t.run());
    expect(second).toMatchObject({ found: 1, created: 1 });
    expect(t.storedRkeys()).toEqual([...EXPECTED, '3lnewpost0012'].sort());
  });

  it('caps the pages of one query per pass and goes on from there next pass', async () => {
    const t = await setup({ collector: { maxPagesPerQuery: 1 } });
    const collector = t.makeCollector();
    await collector.collect(t.run());
    expect(t.storedRkeys().length).toBeLessThan(EXPECTED.length);
    for (let pass = 0; pass < 5; pass++) await collector.collect(t.run());
    expect(t.storedRkeys()).toEqual([...EXPECTED].sort());
  });

  describe('interrupted passes lose nothing and duplicate nothing', () => {
    const interruptions: Array<[string, RegExp, (t: Awaited<ReturnType<typeof setup>>) => RunContext]> = [
      [
        'a 503 mid-way',
        /answered 503 InternalServerError.*resumes next run/,
        (t) => {
          t.fake.failNext(SEARCH, '503', { skip: 2 });
          return t.run();
        },
      ],
      [
        'truncated JSON on a later page',
        /truncated or invalid JSON.*resumes next run/,
        (t) => {
          t.fake.failNext(SEARCH, 'truncated', { skip: 1 });
          return t.run();
        },
      ],
      [
        'an abort between pages',
        /^stopped before the pass ended$/,
        () => {
          const controller = new AbortController();
          return { signal: controller.signal, progress: () => controller.abort(new Error('timeout')) };
        },
      ],
    ];

    it.each(interruptions)('%s', async (_name, message, interrupt) => {
      const t = await setup();
      const collector = t.makeCollector();
      const cut = await collector.collect(interrupt(t));
      expect(t.storedRkeys().length).toBeLessThan(EXPECTED.length);
      expect(cut.message).toMatch(message);

      const resumed = await collector.collect(t.run());
      expect(resumed.errors).toBeLessThanOrEqual(1); // the malformed item, if not already seen
      expect(t.storedRkeys()).toEqual([...EXPECTED].sort());
      expect(t.db.select().from(media).all()).toHaveLength(7);
      expect(t.fake.overLimit).toBe(0);
    });
  });

  describe('rate limits', () => {
    it('never spends past the served budget: waits for a reset within the run', async () => {
      const t = await setup({ fake: { apiLimit: { limit: 7, windowSeconds: 60 } } });
      const counts = await t.makeCollector().collect(t.run());
      expect(counts).toMatchObject({ created: 6, errors: 1 });
      expect(t.fake.overLimit).toBe(0);
      expect(t.sleeps.length).toBeGreaterThan(0);
      expect(Math.max(...t.sleeps)).toBeLessThanOrEqual(60_000);
    });

    it('ends the pass when the reset is far, skips until then, and resumes after', async () => {
      const t = await setup({ fake: { apiLimit: { limit: 7, windowSeconds: 3600 } } });
      const collector = t.makeCollector();
      const first = await collector.collect(t.run());
      expect(first.errors).toBe(1); // the malformed item only: a rate limit is not an error
      expect(first.message).toMatch(/rate limit/);
      expect(t.fake.count(SEARCH)).toBe(7);
      const reset = Number(getCursor(t.db, 'bluesky', 'rate-limit-reset'));
      expect(reset).toBe(t.clock.t + 3600_000);

      const before = t.fake.requests.length;
      const skipped = await collector.collect(t.run());
      expect(skipped.message).toMatch(/skipped/);
      expect(t.fake.requests.length).toBe(before);

      // Each later pass spends at most the window's budget and goes on where the last one stopped.
      for (let pass = 0; pass < 6 && t.storedRkeys().length < EXPECTED.length; pass++) {
        t.clock.t = Number(getCursor(t.db, 'bluesky', 'rate-limit-reset')) + 1000;
        const searchesBefore = t.fake.count(SEARCH);
        await collector.collect(t.run());
        expect(t.fake.count(SEARCH) - searchesBefore).toBeLessThanOrEqual(7);
      }
      expect(t.storedRkeys()).toEqual([...EXPECTED].sort());
      expect(t.fake.overLimit).toBe(0);
      expect(t.sleeps).toEqual([]);
    });

    it('resumes a walk longer than the budget from its stored page cursor, never re-reading a page', async () => {
      const t = await setup({ fake: { apiLimit: { limit: 7, windowSeconds: 3600 }, generate: 20 } });
      const collector = t.makeCollector();
      for (let pass = 0; pass < 12 && t.db.select().from(posts).all().length < 26; pass++) {
        const reset = Number(getCursor(t.db, 'bluesky', 'rate-limit-reset') ?? 0);
        if (reset > t.clock.t) t.clock.t = reset + 1000;
        await collector.collect(t.run());
      }
      expect(t.db.select().from(posts).all()).toHaveLength(26);
      const pages = t.fake.requests
        .filter((r) => r.nsid === SEARCH && r.params.get('tag') === 'IStandForPeace')
        .map((r) => `${r.params.get('since')}|${r.params.get('cursor')}`);
      expect(pages.length).toBeGreaterThan(7); // the walk needed several passes
      expect(new Set(pages).size).toBe(pages.length);
      expect(t.fake.overLimit).toBe(0);
    });

    it('waits out a 429 whose reset is near', async () => {
      const t = await setup();
      t.fake.failNext(SEARCH, '429', { skip: 1, resetInSeconds: 30 });
      const counts = await t.makeCollector().collect(t.run());
      expect(t.sleeps).toEqual([30_000]);
      expect(counts.created).toBe(6);
    });

    it('ends the pass cleanly on a 429 whose reset is far', async () => {
      const t = await setup();
      t.fake.failNext(SEARCH, '429', { resetInSeconds: 3600 });
      const collector = t.makeCollector();
      const counts = await collector.collect(t.run());
      expect(counts).toMatchObject({ created: 0, errors: 0 });
      expect(counts.message).toMatch(/rate limit/i);
      expect(t.sleeps).toEqual([]);
      expect(Number(getCursor(t.db, 'bluesky', 'rate-limit-reset'))).toBe(t.clock.t + 3600_000);
    });
  });

  describe('session', () => {
    it('refreshes an expired access token instead of logging in again, and a restart reuses the stored refresh token', async () => {
      const t = await setup({ fake: { accessTokenUses: 4 } });
      const counts = await t.makeCollector().collect(t.run());
      expect(counts.created).toBe(6);
      expect(t.fake.count(LOGIN)).toBe(1);
      expect(t.fake.count(REFRESH)).toBeGreaterThan(2);
      expect(t.fake.requests.filter((r) => r.nsid === REFRESH).every((r) => r.auth === 'refresh')).toBe(true);
      const stored = getCursor(t.db, 'bluesky', 'session.refresh');
      expect(stored).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);

      const restarted = t.makeCollector(); // a new process: no access token in memory
      const before = t.fake.requests.length;
      await restarted.collect(t.run());
      expect(t.fake.count(LOGIN)).toBe(1);
      const firstCall = t.fake.requests[before];
      expect([firstCall?.nsid, firstCall?.status, firstCall?.auth]).toEqual([REFRESH, 200, 'refresh']);
    });

    it('lets collect and recheck run at once on one collector: own abort signals, one shared session', async () => {
      const t = await setup({ fake: { accessTokenUses: 2 } });
      const collector = t.makeCollector();
      await collector.collect(t.run());
      t.fake.addPost({
        rkey: '3lconcurrent1',
        author: { handle: 'late.bsky.social' },
        text: 'Concurrent #IStandForPeace',
        createdAt: '2026-11-21T08:00:00.000Z',
        embed: { kind: 'images', images: [{ alt: '' }] },
      });
      const [collected, rechecked] = await Promise.all([
        collector.collect(t.run()),
        collector.recheck(t.run()),
      ]);
      expect(collected).toMatchObject({ created: 1, errors: 0 });
      expect(rechecked).toMatchObject({ found: 6, errors: 0 });
      expect(t.fake.count(LOGIN)).toBe(1);
      expect(t.fake.requests.filter((r) => r.nsid === REFRESH).every((r) => r.status === 200)).toBe(true);

      // Aborting the re-check must not stop the collection running beside it.
      t.fake.deletePost(t.fake.uriOf('3lconcurrent1'));
      t.fake.addPost({
        rkey: '3lconcurrent2',
        author: { handle: 'late.bsky.social' },
        text: 'Concurrent again #IStandForPeace',
        createdAt: '2026-11-21T08:30:00.000Z',
        embed: { kind: 'images', images: [{ alt: '' }] },
      });
      const collecting = collector.collect(t.run());
      const controller = new AbortController();
      const checking = collector.recheck({ signal: controller.signal });
      controller.abort(new Error('stop'));
      const [again, stopped] = await Promise.all([collecting, checking]);
      expect(again).toMatchObject({ created: 1, errors: 0 });
      expect(stopped.message).toMatch(/stopped/);
    });

    it('logs in again only when the refresh token is refused', async () => {
      const t = await setup();
      await t.makeCollector().collect(t.run());
      t.fake.revokeRefreshTokens();
      const counts = await t.makeCollector().collect(t.run());
      expect(counts.errors).toBe(0);
      const sessionCalls = t.fake.requests.filter((r) => r.nsid === LOGIN || r.nsid === REFRESH);
      expect(sessionCalls.map((r) => [r.nsid, r.status])).toEqual([
        [LOGIN, 200],
        [REFRESH, 400],
        [LOGIN, 200],
      ]);
    });

    it('reports a wrong app password once per pass without retrying', async () => {
      const t = await setup({ password: 'wrong-password' });
      const collector = t.makeCollector();
      const counts = await collector.collect(t.run());
      expect(counts).toMatchObject({ found: 0, created: 0, errors: 1 });
      expect(counts.message).toMatch(/Invalid identifier or password/);
      expect(counts.message).toMatch(/BLUESKY_APP_PASSWORD/);
      expect(t.fake.requests.map((r) => r.nsid)).toEqual([LOGIN]);
      await collector.collect(t.run());
      expect(t.fake.requests.map((r) => r.nsid)).toEqual([LOGIN, LOGIN]);
    });
  });

  it('recheck removes posts deleted at the source, in batches of 25, and deletes their files', async () => {
    const t = await setup({ fake: { generate: 24 }, collector: { pageSize: 100 } });
    const collector = t.makeCollector();
    const counts = await collector.collect(t.run());
    expect(counts.created).toBe(30);

    const gone = t.fake.uriOf('3larabic00002');
    const goneRow = t.db.select().from(posts).where(eq(posts.remoteId, gone)).get();
    const goneFiles = t.db
      .select()
      .from(media)
      .where(eq(media.postId, goneRow?.id ?? -1))
      .all();
    t.fake.deletePost(gone);

    const checked = await collector.recheck(t.run());
    expect(checked).toMatchObject({ found: 30, errors: 0 });
    expect(checked.message).toMatch(/removed 1/);
    const getPosts = t.fake.requests.filter((r) => r.nsid === 'app.bsky.feed.getPosts');
    expect(getPosts.map((r) => r.params.getAll('uris').length)).toEqual([25, 5]);

    const statuses = t.db.select({ uri: posts.remoteId, status: posts.status }).from(posts).all();
    expect(statuses.filter((p) => p.status === 'removed').map((p) => p.uri)).toEqual([gone]);
    const event = t.db
      .select()
      .from(moderationEvents)
      .where(eq(moderationEvents.postId, goneRow?.id ?? -1))
      .get();
    expect(event).toMatchObject({ action: 'remove', rule: 'deleted at source' });
    for (const file of goneFiles) {
      expect(existsSync(t.mediaRepo.absolutePath(file.originalPath as string))).toBe(false);
    }

    // Removed posts are not asked about again.
    await collector.recheck(t.run());
    expect(
      t.fake.requests
        .filter((r) => r.nsid === 'app.bsky.feed.getPosts')
        .at(-1)
        ?.params.getAll('uris'),
    ).toHaveLength(4);
  });
});
