import { existsSync } from 'node:fs';
import { asc, eq } from 'drizzle-orm';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { getCursor, setCursor } from '../../src/collectors/cursors.ts';
import {
  createInstagramCollector,
  INSTAGRAM_MEDIA_FIELDS,
  type InstagramCollectorOptions,
  instagramCoverageGap,
  instagramHashtagBudget,
} from '../../src/collectors/instagram.ts';
import type { CollectorDeps } from '../../src/collectors/types.ts';
import { authors, media, moderationEvents, posts } from '../../src/db/schema.ts';
import { closeSafeFetchAgents } from '../../src/net/safe-fetch.ts';
import type { RunContext } from '../../src/scheduler/scheduler.ts';
import {
  type FakeInstagramOptions,
  instagramEdgeCorpus,
  startFakeInstagram,
} from '../fakes/instagram-api.ts';
import { collectorHarness } from '../helpers/collector-harness.ts';

const TOKEN = 'IGQVJ-fake-long-lived-token';
const USER_ID = '17841405309211844';
const START = Date.UTC(2026, 10, 21, 9);
const HOUR = 3600_000;

/** The photo posts of the edge corpus: by a campaign hashtag, within 24 h, with at least one photo. */
const EXPECTED = ['01', '02', '03', '04', '10', '11', '12'].map((n) => `179000000000000${n}`);

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => closeSafeFetchAgents());

interface SetupOptions {
  fake?: FakeInstagramOptions;
  collector?: InstagramCollectorOptions;
  token?: string | null;
  hashtags?: string[];
}

async function setup(options: SetupOptions = {}) {
  const clock = { t: START };
  const fake = await startFakeInstagram({
    token: TOKEN,
    userId: USER_ID,
    posts: instagramEdgeCorpus(START),
    now: () => clock.t,
    repeatLastItem: true,
    emptyPageAtOffsets: [3],
    imageSize: { width: 96, height: 72 },
    ...options.fake,
  });
  const h = collectorHarness({
    name: 'instagram',
    campaign: {
      ...(options.hashtags ? { hashtags: options.hashtags } : {}),
      sources: { instagram: { baseUrl: fake.baseUrl } },
    },
    env:
      options.token === null
        ? { INSTAGRAM_USER_ID: USER_ID }
        : { INSTAGRAM_USER_ID: USER_ID, INSTAGRAM_ACCESS_TOKEN: options.token ?? TOKEN },
    clock,
  });
  cleanups.push(() => fake.close());
  cleanups.push(h.cleanup);
  const { db, deps, sleeps, mediaRepo, run } = h;
  const makeCollector = (over: Partial<CollectorDeps> = {}) =>
    createInstagramCollector({ ...deps, ...over }, { pageLimit: 3, ...options.collector });
  const stored = h.remoteIds;
  return { fake, db, deps, clock, sleeps, mediaRepo, makeCollector, run, stored };
}

describe('Instagram collector', () => {
  it('needs a token and a user id and makes no request without them', async () => {
    const t = await setup({ token: null });
    const collector = t.makeCollector();
    expect(collector.unavailableReason).toMatch(/INSTAGRAM_ACCESS_TOKEN and INSTAGRAM_USER_ID/);
    const counts = await collector.collect(t.run());
    expect(counts).toMatchObject({ found: 0, created: 0, errors: 1 });
    expect(t.fake.requests).toHaveLength(0);
  });

  it('stores exactly the photo posts (every carousel photo, no video), attributed by permalink; a second pass adds nothing', async () => {
    const t = await setup();
    const collector = t.makeCollector();
    const first = await collector.collect(t.run());
    expect(first).toMatchObject({ found: 7, created: 7, errors: 0 });
    expect(first.message).toMatch(/1 malformed items skipped/);
    expect(t.stored()).toEqual(EXPECTED);

    const row = (id: string) => {
      const r = t.db
        .select()
        .from(posts)
        .innerJoin(authors, eq(authors.id, posts.authorId))
        .where(eq(posts.remoteId, id))
        .get();
      if (!r) throw new Error(`${id} not stored`);
      const files = t.db
        .select()
        .from(media)
        .where(eq(media.postId, r.posts.id))
        .orderBy(asc(media.position))
        .all();
      return { ...r, files };
    };
    const emoji = row('17900000000000001');
    expect(emoji.posts.text).toBe('Holding my sign 🕊️🇺🇸 End the Korean War #IStandForPeace');
    expect(emoji.posts.url).toMatch(/^https:\/\/www\.instagram\.com\/p\/C\d+\/$/);
    expect(emoji.posts.postedAt).toBe(new Date(START - HOUR).toISOString());
    expect(emoji.posts.demands).toEqual(['end-war']);
    expect(emoji.authors).toMatchObject({
      remoteId: 'instagram:unknown:17900000000000001',
      name: 'Instagram supporter',
      handle: null,
      profileUrl: null,
      avatarUrl: null,
    });
    expect(row('17900000000000002').posts.text).toBe('من أجل السلام 🌿 #IStandForPeace');
    const album = row('17900000000000003');
    expect(album.files).toHaveLength(3);
    expect(album.files.map((f) => f.alt)).toEqual([null, null, null]);
    expect(row('17900000000000004').files).toHaveLength(1); // the video of the album is skipped

    expect(t.db.select().from(authors).all()).toHaveLength(7);
    const allMedia = t.db.select().from(media).all();
    expect(allMedia).toHaveLength(9);
    for (const file of allMedia) {
      expect(file.state).toBe('stored');
      for (const path of [file.originalPath, file.wallPath, file.thumbPath, file.tilePath]) {
        expect(existsSync(t.mediaRepo.absolutePath(path as string))).toBe(true);
      }
    }

    // One search per hashtag, then every page: the documented fields, 3 per page, next links followed.
    expect(t.fake.count('hashtag-search')).toBe(4);
    const pages = t.fake.requests.filter((r) => r.kind === 'recent-media');
    for (const page of pages) {
      expect(page.params.get('fields')).toBe(INSTAGRAM_MEDIA_FIELDS);
      expect(page.params.get('user_id')).toBe(USER_ID);
      expect(page.params.get('limit')).toBe('3');
    }
    expect(new Set(pages.filter((p) => p.params.has('after')).map((p) => p.params.get('after'))).size).toBe(
      1,
    );
    const firstPassPages = pages.length;

    const second = await collector.collect(t.run());
    expect(second).toMatchObject({ found: 0, created: 0, errors: 0 });
    expect(t.stored()).toEqual(EXPECTED);
    expect(t.db.select().from(media).all()).toHaveLength(9);
    // Hashtag ids are cached; the 24 hours are walked again in full, and no further.
    expect(t.fake.count('hashtag-search')).toBe(4);
    expect(t.fake.count('recent-media')).toBeLessThanOrEqual(2 * firstPassPages);
    expect(t.fake.overLimit).toBe(0);
  });

  it('tracks the 30-hashtags-a-week budget and never starts a 31st', async () => {
    const t = await setup();
    await t.makeCollector().collect(t.run());
    expect(instagramHashtagBudget(t.db, START)).toEqual({
      used: 4,
      limit: 30,
      oldestExpiresAt: new Date(START + 7 * 24 * HOUR).toISOString(),
    });

    // 27 other hashtags used this week by earlier campaigns: 3 left for 4 new ones.
    const windows = Object.fromEntries(
      Array.from({ length: 27 }, (_, i) => [`older${i}`, START - 24 * HOUR]),
    );
    const u = await setup({ hashtags: ['Alpha', 'Beta', 'Gamma', 'Delta'] });
    setCursor(u.db, 'instagram', 'hashtag-windows', JSON.stringify(windows));
    const counts = await u.makeCollector().collect(u.run());
    expect(counts.message).toMatch(/#delta skipped: 30 of 30 hashtags used this week/);
    expect(u.fake.count('hashtag-search')).toBe(3);
    expect(u.fake.uniqueHashtags).toBe(3);
    expect(instagramHashtagBudget(u.db, START).used).toBe(30);
    // An incomplete pass is not a complete one.
    expect(instagramCoverageGap(u.db, START).lastSuccessfulPassAt).toBeNull();

    // When the older windows expire, the fourth hashtag gets its turn.
    u.clock.t = START + 6 * 24 * HOUR + 1;
    await u.makeCollector().collect(u.run());
    expect(u.fake.requests.filter((r) => r.kind === 'hashtag-search').map((r) => r.params.get('q'))).toEqual([
      'alpha',
      'beta',
      'gamma',
      'delta',
    ]);
    expect(instagramHashtagBudget(u.db, u.clock.t).used).toBe(4);
  });

  it('reports a gap longer than 24 hours between complete passes', async () => {
    const t = await setup();
    const collector = t.makeCollector();
    expect(instagramCoverageGap(t.db, START)).toEqual({
      lastSuccessfulPassAt: null,
      gapMs: null,
      exceeds24h: false,
    });
    await collector.collect(t.run());
    expect(instagramCoverageGap(t.db, START + 23 * HOUR)).toMatchObject({
      lastSuccessfulPassAt: new Date(START).toISOString(),
      exceeds24h: false,
    });
    t.clock.t = START + 30 * HOUR;
    expect(instagramCoverageGap(t.db, t.clock.t)).toMatchObject({ exceeds24h: true, gapMs: 30 * HOUR });
    const late = await collector.collect(t.run());
    expect(late.message).toMatch(
      /warning: 30 h since the last complete Instagram pass .* may have been missed/,
    );
    expect(instagramCoverageGap(t.db, t.clock.t).exceeds24h).toBe(false);
    const next = await collector.collect(t.run());
    expect(next.message ?? '').not.toMatch(/warning/);
  });

  describe('an interrupted pass followed by another ends with the same posts as an uninterrupted one', () => {
    const cases: Array<[string, RegExp, (t: Awaited<ReturnType<typeof setup>>) => RunContext]> = [
      [
        'a 503 mid-walk',
        /answered 503 \(#2\) An unexpected error.*resumes next run/,
        (t) => {
          t.fake.failNext('recent-media', { kind: '503' }, { skip: 1 });
          return t.run();
        },
      ],
      [
        'truncated JSON on a later page',
        /truncated or invalid JSON.*resumes next run/,
        (t) => {
          t.fake.failNext('recent-media', { kind: 'truncated' }, { skip: 2 });
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
    it.each(cases)('%s', async (_name, message, interrupt) => {
      const t = await setup();
      const collector = t.makeCollector();
      const cut = await collector.collect(interrupt(t));
      expect(cut.message).toMatch(message);
      expect(t.stored().length).toBeLessThan(EXPECTED.length);
      expect(instagramCoverageGap(t.db, START).lastSuccessfulPassAt).toBeNull();

      const resumed = await collector.collect(t.run());
      expect(resumed.errors).toBe(0);
      expect(t.stored()).toEqual(EXPECTED);
      expect(t.db.select().from(media).all()).toHaveLength(9);
      expect(instagramCoverageGap(t.db, START).lastSuccessfulPassAt).not.toBeNull();
    });
  });

  describe('rate limits', () => {
    it('stops at 95 % of the call budget in the usage headers, skips until the reset, then finishes', async () => {
      const t = await setup({ fake: { callLimit: { limit: 10, windowSeconds: 3600 } } });
      const collector = t.makeCollector();
      const first = await collector.collect(t.run());
      expect(first.errors).toBe(0);
      expect(first.message).toMatch(
        /Instagram rate limit reached \(100 % of the call budget used\); next pass after/,
      );
      expect(t.fake.requests.filter((r) => r.kind !== 'image')).toHaveLength(10); // the 10th answer says 100 %
      const reset = Number(getCursor(t.db, 'instagram', 'rate-limit-reset'));
      expect(reset).toBeGreaterThan(t.clock.t);

      const before = t.fake.requests.length;
      expect((await collector.collect(t.run())).message).toMatch(/^skipped: Instagram rate limit resets at/);
      expect(t.fake.requests.length).toBe(before);

      t.clock.t = reset + 1000;
      await collector.collect(t.run());
      expect(t.stored()).toEqual(EXPECTED);
      expect(t.fake.overLimit).toBe(0);
      expect(t.sleeps).toEqual([]);
    });

    it('error codes 4, 17, 32 and 613: waits when Meta says access returns within the run', async () => {
      const t = await setup();
      const collector = t.makeCollector();
      for (const code of [4, 17, 32, 613] as const) {
        t.fake.failNext('recent-media', { kind: 'rate-limit', code, regainMinutes: 1 }, { skip: 1 });
        expect(await collector.collect(t.run())).toMatchObject({ errors: 0 });
      }
      expect(t.sleeps).toEqual([60_000, 60_000, 60_000, 60_000]);
      expect(t.stored()).toEqual(EXPECTED);
      expect(getCursor(t.db, 'instagram', 'rate-limit-reset')).toBeNull();
    });

    it('error codes 4, 17, 32 and 613: end the pass cleanly and skip until the reset', async () => {
      const t = await setup();
      const collector = t.makeCollector();
      for (const code of [4, 17, 32, 613] as const) {
        t.fake.failNext('recent-media', { kind: 'rate-limit', code, regainMinutes: 50 });
        const counts = await collector.collect(t.run());
        expect(counts).toMatchObject({ created: 0, errors: 0 });
        expect(counts.message).toMatch(new RegExp(`Instagram rate limit reached \\(400 \\(#${code}\\)`));
        expect(Number(getCursor(t.db, 'instagram', 'rate-limit-reset'))).toBe(t.clock.t + 50 * 60_000);
        const before = t.fake.requests.length;
        expect((await collector.collect(t.run())).message).toMatch(/^skipped/);
        expect(t.fake.requests.length).toBe(before);
        t.clock.t += 51 * 60_000;
      }
      expect(t.sleeps).toEqual([]);
      await collector.collect(t.run());
      expect(t.stored()).toEqual(EXPECTED);
    });
  });

  it('reports an expired token once and makes no request until the token changes', async () => {
    const t = await setup();
    t.fake.expireToken();
    const collector = t.makeCollector();
    const counts = await collector.collect(t.run());
    expect(counts).toMatchObject({ found: 0, created: 0, errors: 1 });
    expect(counts.message).toBe('INSTAGRAM_ACCESS_TOKEN expired: generate a new long-lived token');
    expect(t.fake.requests).toHaveLength(1);
    expect(JSON.stringify(t.db.select().from(posts).all())).not.toContain(TOKEN);
    expect(getCursor(t.db, 'instagram', 'token-refused')).not.toContain(TOKEN);

    const again = await collector.collect(t.run());
    expect(again.errors).toBe(1);
    expect(again.message).toMatch(/expired.*skipped until the token changes/);
    expect((await collector.recheck(t.run())).message).toMatch(/skipped until the token changes/);
    expect(t.fake.requests).toHaveLength(1);

    t.fake.setToken('IGQVJ-renewed-token');
    const renewed = createInstagramCollector(
      { ...t.deps, settings: { ...t.deps.settings, instagramAccessToken: 'IGQVJ-renewed-token' } },
      { pageLimit: 3 },
    );
    expect(await renewed.collect(t.run())).toMatchObject({ created: 7, errors: 0 });
  });

  it('recheck removes a post deleted on Instagram and its files', async () => {
    const t = await setup();
    const collector = t.makeCollector();
    await collector.collect(t.run());
    const gone = t.db.select().from(posts).where(eq(posts.remoteId, '17900000000000003')).get();
    const goneFiles = t.db
      .select()
      .from(media)
      .where(eq(media.postId, gone?.id ?? -1))
      .all();
    expect(goneFiles).toHaveLength(3);
    t.fake.deletePost('17900000000000003');

    const checked = await collector.recheck(t.run());
    expect(checked).toMatchObject({ found: 7, errors: 0, message: 'checked 7, removed 1' });
    const lookups = t.fake.requests.filter((r) => r.kind === 'lookup');
    expect(lookups).toHaveLength(7);
    expect(lookups.every((r) => r.params.get('fields') === 'id')).toBe(true);
    const removed = t.db.select().from(posts).where(eq(posts.status, 'removed')).all();
    expect(removed.map((p) => p.remoteId)).toEqual(['17900000000000003']);
    expect(
      t.db
        .select()
        .from(moderationEvents)
        .where(eq(moderationEvents.postId, gone?.id ?? -1))
        .get(),
    ).toMatchObject({
      action: 'remove',
      rule: 'deleted at source',
    });
    for (const file of goneFiles)
      expect(existsSync(t.mediaRepo.absolutePath(file.originalPath as string))).toBe(false);
    await collector.collect(t.run());
    expect(t.db.select().from(posts).where(eq(posts.status, 'removed')).all()).toHaveLength(1);
  });

  it('removes nothing when every lookup says "does not exist" (a token that may not read foreign media)', async () => {
    const t = await setup({ fake: { foreignMediaReadable: false } });
    const collector = t.makeCollector();
    await collector.collect(t.run());
    const checked = await collector.recheck(t.run());
    expect(checked.errors).toBe(1);
    expect(checked.message).toMatch(/nothing removed/);
    expect(t.db.select().from(posts).where(eq(posts.status, 'removed')).all()).toHaveLength(0);
  });
});
