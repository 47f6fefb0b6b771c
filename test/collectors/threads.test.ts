import { existsSync } from 'node:fs';
import { asc, eq } from 'drizzle-orm';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { getCursor } from '../../src/collectors/cursors.ts';
import {
  createThreadsCollector,
  THREADS_FIELDS,
  type ThreadsCollectorOptions,
  threadsQueries,
  threadsQueryBudget,
} from '../../src/collectors/threads.ts';
import { authors, media, moderationEvents, posts } from '../../src/db/schema.ts';
import { closeSafeFetchAgents } from '../../src/net/safe-fetch.ts';
import type { RunContext } from '../../src/scheduler/scheduler.ts';
import { type FakeThreadsOptions, startFakeThreads, threadsEdgeCorpus } from '../fakes/threads-api.ts';
import { collectorHarness } from '../helpers/collector-harness.ts';

const TOKEN = 'THAAfake-threads-token';
const START = Date.UTC(2026, 10, 21, 9);
const HOUR = 3600_000;
const EXPECTED = ['01', '02', '03', '05', '08', '11'].map((n) => `180000000000000${n}`);

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => closeSafeFetchAgents());

interface SetupOptions {
  fake?: FakeThreadsOptions;
  collector?: ThreadsCollectorOptions;
  token?: string | null;
}

async function setup(options: SetupOptions = {}) {
  const clock = { t: START };
  const fake = await startFakeThreads({
    token: TOKEN,
    posts: threadsEdgeCorpus(START),
    now: () => clock.t,
    repeatLastItem: true,
    emptyPageAtOffsets: [3],
    imageSize: { width: 96, height: 72 },
    ...options.fake,
  });
  const h = collectorHarness({
    name: 'threads',
    campaign: { sources: { threads: { baseUrl: fake.baseUrl } } },
    env: options.token === null ? {} : { THREADS_ACCESS_TOKEN: options.token ?? TOKEN },
    clock,
  });
  cleanups.push(() => fake.close());
  cleanups.push(h.cleanup);
  const { db, deps, sleeps, mediaRepo, run } = h;
  const makeCollector = () => createThreadsCollector(deps, { pageLimit: 3, ...options.collector });
  const stored = h.remoteIds;
  const searches = () => fake.requests.filter((r) => r.kind === 'search');
  const queryCount = threadsQueries(deps).length;
  return { fake, db, deps, clock, sleeps, mediaRepo, makeCollector, run, stored, searches, queryCount };
}

describe('Threads collector', () => {
  it('needs a token and makes no request without it', async () => {
    const t = await setup({ token: null });
    const collector = t.makeCollector();
    expect(collector.unavailableReason).toMatch(/THREADS_ACCESS_TOKEN is not set/);
    expect(await collector.collect(t.run())).toMatchObject({ found: 0, created: 0, errors: 1 });
    expect(t.fake.requests).toHaveLength(0);
  });

  it('stores exactly the photo posts with their authors and media; a second pass adds nothing', async () => {
    const t = await setup();
    const collector = t.makeCollector();
    const first = await collector.collect(t.run());
    expect(first).toMatchObject({ found: 6, created: 6, errors: 0 });
    expect(first.message).toBe('1 malformed items skipped');
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
    const emoji = row('18000000000000001');
    expect(emoji.posts.text).toBe('🕊️ Holding my sign 🇺🇸 End the Korean War #IStandForPeace');
    expect(emoji.posts.url).toBe('https://www.threads.net/@peace.maker/post/C00000001');
    expect(emoji.posts.postedAt).toBe(new Date(START - HOUR).toISOString());
    expect(emoji.authors).toMatchObject({
      remoteId: 'threads:peace.maker',
      handle: 'peace.maker',
      name: 'peace.maker',
      profileUrl: 'https://www.threads.net/@peace.maker',
      avatarUrl: null,
    });
    expect(emoji.files.map((f) => f.alt)).toEqual(['A woman holding a peace sign']);
    expect(row('18000000000000002').posts.text).toBe('من أجل السلام #IStandForPeace');
    expect(row('18000000000000002').files.map((f) => f.alt)).toEqual([null]);
    const hebrew = row('18000000000000003');
    expect(hebrew.posts.text).toBe('שלום עכשיו 한반도에 평화를');
    expect(hebrew.files.map((f) => f.alt)).toEqual(['Two signs', null]);
    expect(row('18000000000000005').files.map((f) => f.alt)).toEqual([null]); // the album's video skipped
    const spoiler = row('18000000000000008');
    expect(spoiler.posts.sensitive).toBe(true);
    expect(spoiler.files[0]?.sensitive).toBe(true);
    expect(spoiler.posts.demands).toEqual(['peace-now']);
    expect(row('18000000000000011').authors.id).toBe(emoji.authors.id);

    expect(t.db.select().from(authors).all()).toHaveLength(5);
    const files = t.db.select().from(media).all();
    expect(files).toHaveLength(7);
    for (const file of files) {
      expect(file.state).toBe('stored');
      for (const path of [file.originalPath, file.wallPath, file.thumbPath, file.tilePath]) {
        expect(existsSync(t.mediaRepo.absolutePath(path as string))).toBe(true);
      }
    }

    // One walk per hashtag (TAG) and per demand phrase (KEYWORD), recent photo posts, one window.
    const firstPass = t.searches();
    const walks = firstPass.filter((r) => !r.params.has('after'));
    expect(walks.map((r) => [r.params.get('q'), r.params.get('search_mode')])).toEqual(
      threadsQueries(t.deps).map((q) => [q.q, q.mode]),
    );
    expect(walks.filter((r) => r.params.get('search_mode') === 'TAG').map((r) => r.params.get('q'))).toEqual(
      t.deps.campaign.hashtags,
    );
    for (const r of firstPass) {
      expect(r.params.get('search_type')).toBe('RECENT');
      expect(r.params.get('media_type')).toBe('IMAGE');
      expect(r.params.get('fields')).toBe(THREADS_FIELDS);
      expect(r.params.get('since')).toBe(String((START - 7 * 24 * HOUR) / 1000));
      expect(r.params.get('until')).toBe(String(START / 1000));
    }
    expect(firstPass.length).toBeGreaterThan(t.queryCount); // the tag with 6 hits took several pages
    expect(threadsQueryBudget(t.db, START)).toMatchObject({ used: firstPass.length, limit: 2200 });

    t.clock.t = START + HOUR;
    const second = await collector.collect(t.run());
    expect(second).toMatchObject({ found: 0, created: 0, errors: 0 });
    expect(t.stored()).toEqual(EXPECTED);
    const secondPass = t.searches().slice(firstPass.length);
    expect(secondPass).toHaveLength(t.queryCount);
    // The next window starts where the last ended, less 10 minutes for late indexing.
    expect(secondPass.every((r) => r.params.get('since') === String((START - 10 * 60_000) / 1000))).toBe(
      true,
    );
    expect(t.fake.overLimit + t.fake.overBudget).toBe(0);
  });

  it('picks up a post published after the last walk', async () => {
    const t = await setup();
    const collector = t.makeCollector();
    await collector.collect(t.run());
    t.clock.t = START + HOUR;
    t.fake.addPost({
      id: '18000000000000099',
      username: 'late.one',
      text: 'Late 🌅 #IStandForPeace',
      timestamp: new Date(START + 30 * 60_000).toISOString(),
      type: 'IMAGE',
    });
    expect(await collector.collect(t.run())).toMatchObject({ found: 1, created: 1 });
    expect(t.stored()).toEqual([...EXPECTED, '18000000000000099']);
  });

  describe('an interrupted pass followed by another ends with the same posts as an uninterrupted one', () => {
    const cases: Array<[string, RegExp, (t: Awaited<ReturnType<typeof setup>>) => RunContext]> = [
      [
        'a 503 mid-walk',
        /Threads answered 503 \(#1\).*resumes next run/,
        (t) => {
          t.fake.failNext('search', { kind: '503' }, { skip: 2 });
          return t.run();
        },
      ],
      [
        'truncated JSON on a later page',
        /truncated or invalid JSON.*resumes next run/,
        (t) => {
          t.fake.failNext('search', { kind: 'truncated' }, { skip: 1 });
          return t.run();
        },
      ],
      [
        'an abort between pages',
        /stopped before the pass ended/,
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
      const resumed = await collector.collect(t.run());
      expect(resumed.errors).toBe(0);
      expect(t.stored()).toEqual(EXPECTED);
      expect(t.db.select().from(media).all()).toHaveLength(7);
      // The interrupted walk resumed from its saved cursor instead of starting over.
      const tagWalk = t.searches().filter((r) => r.params.get('q') === 'IStandForPeace');
      expect(tagWalk.filter((r) => !r.params.has('after'))).toHaveLength(1);
    });
  });

  describe('query budget (2,200 a day at Meta)', () => {
    it('never sends a query past the daily budget, skips until queries free up, and goes on where it stopped', async () => {
      const t = await setup({
        collector: { dailyQueryBudget: 10, hourlyQueryBudget: 10 },
        fake: { queryBudget: 10 },
      });
      const collector = t.makeCollector();
      const first = await collector.collect(t.run());
      expect(first.errors).toBe(0);
      expect(first.message).toMatch(
        /Threads query budget spent \(10 in 24 h\); next query at 2026-11-22T09:01:00.000Z/,
      );
      expect(t.searches()).toHaveLength(10);
      expect(threadsQueryBudget(t.db, t.clock.t, 10)).toEqual({
        used: 10,
        limit: 10,
        oldestExpiresAt: '2026-11-22T09:01:00.000Z',
      });

      t.clock.t = START + 12 * HOUR;
      expect((await collector.collect(t.run())).message).toMatch(/budget spent/);
      expect(t.searches()).toHaveLength(10);

      for (let day = 1; day <= 4 && t.stored().length < EXPECTED.length; day++) {
        t.clock.t = START + day * 24 * HOUR + 2 * 60_000;
        const before = t.searches().length;
        await collector.collect(t.run());
        expect(t.searches().length - before).toBeLessThanOrEqual(10);
      }
      expect(t.stored()).toEqual(EXPECTED);
      expect(t.fake.overBudget).toBe(0);
    });

    it('paces itself to the hourly share of the budget', async () => {
      const t = await setup({ collector: { hourlyQueryBudget: 5 } });
      const collector = t.makeCollector();
      expect((await collector.collect(t.run())).message).toMatch(/hourly query pace reached \(5 per hour\)/);
      expect(t.searches()).toHaveLength(5);
      t.clock.t += 30 * 60_000;
      await collector.collect(t.run());
      expect(t.searches()).toHaveLength(5);
      for (let hour = 1; hour <= 8 && t.stored().length < EXPECTED.length; hour++) {
        t.clock.t = START + hour * HOUR + 60_000;
        await collector.collect(t.run());
      }
      expect(t.stored()).toEqual(EXPECTED);
      expect(t.searches().length).toBeLessThanOrEqual(5 * 9);
    });
  });

  describe('rate limits', () => {
    it('stops at 95 % of the call budget in the usage headers and finishes after the reset', async () => {
      const t = await setup({ fake: { callLimit: { limit: 10, windowSeconds: 3600 } } });
      const collector = t.makeCollector();
      const first = await collector.collect(t.run());
      expect(first.message).toMatch(
        /Threads rate limit reached \(100 % of the call budget used\); next pass after/,
      );
      expect(t.searches()).toHaveLength(10);
      const reset = Number(getCursor(t.db, 'threads', 'rate-limit-reset'));
      expect((await collector.collect(t.run())).message).toMatch(/^skipped: Threads rate limit resets at/);
      expect(t.searches()).toHaveLength(10);
      for (let pass = 0; pass < 4 && t.stored().length < EXPECTED.length; pass++) {
        t.clock.t = Math.max(t.clock.t, Number(getCursor(t.db, 'threads', 'rate-limit-reset'))) + 1000;
        await collector.collect(t.run());
      }
      expect(reset).toBeGreaterThan(START);
      expect(t.stored()).toEqual(EXPECTED);
      expect(t.fake.overLimit).toBe(0);
    });

    it('error codes 4, 17, 32 and 613 end the pass cleanly and are retried only after the reset', async () => {
      const t = await setup();
      const collector = t.makeCollector();
      for (const code of [4, 17, 32, 613] as const) {
        t.fake.failNext('search', { kind: 'rate-limit', code, regainMinutes: 30 });
        const counts = await collector.collect(t.run());
        expect(counts.errors).toBe(0);
        expect(counts.message).toMatch(new RegExp(`Threads rate limit reached \\(400 \\(#${code}\\)`));
        expect(Number(getCursor(t.db, 'threads', 'rate-limit-reset'))).toBe(t.clock.t + 30 * 60_000);
        t.clock.t += 31 * 60_000;
      }
      expect(t.sleeps).toEqual([]);
      await collector.collect(t.run());
      expect(t.stored()).toEqual(EXPECTED);
    });

    it('waits for a reset Meta announces within the run', async () => {
      const t = await setup();
      t.fake.failNext('search', { kind: 'rate-limit', code: 613, regainMinutes: 1 }, { skip: 3 });
      expect(await t.makeCollector().collect(t.run())).toMatchObject({ created: 6, errors: 0 });
      expect(t.sleeps).toEqual([60_000]);
    });
  });

  it('reports an expired token once and makes no request until the token changes', async () => {
    const t = await setup();
    t.fake.expireToken();
    const collector = t.makeCollector();
    const counts = await collector.collect(t.run());
    expect(counts).toMatchObject({
      errors: 1,
      message: 'THREADS_ACCESS_TOKEN expired: generate a new long-lived token',
    });
    expect(t.fake.requests).toHaveLength(1);
    expect((await collector.collect(t.run())).message).toMatch(/skipped until the token changes/);
    expect(t.fake.requests).toHaveLength(1);
    const other = createThreadsCollector(
      { ...t.deps, settings: { ...t.deps.settings, threadsAccessToken: 'THAAanother' } },
      { pageLimit: 3 },
    );
    await other.collect(t.run());
    expect(t.fake.requests).toHaveLength(2); // a new token is tried (and refused by this fake)
  });

  it('recheck removes a post deleted on Threads and its files', async () => {
    const t = await setup();
    const collector = t.makeCollector();
    await collector.collect(t.run());
    const gone = t.db.select().from(posts).where(eq(posts.remoteId, '18000000000000003')).get();
    const goneFiles = t.db
      .select()
      .from(media)
      .where(eq(media.postId, gone?.id ?? -1))
      .all();
    t.fake.deletePost('18000000000000003');
    const checked = await collector.recheck(t.run());
    expect(checked).toMatchObject({ found: 6, errors: 0, message: 'checked 6, removed 1' });
    expect(
      t.fake.requests.filter((r) => r.kind === 'lookup').every((r) => r.params.get('fields') === 'id'),
    ).toBe(true);
    expect(
      t.db
        .select()
        .from(posts)
        .where(eq(posts.status, 'removed'))
        .all()
        .map((p) => p.remoteId),
    ).toEqual(['18000000000000003']);
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
  });
});
