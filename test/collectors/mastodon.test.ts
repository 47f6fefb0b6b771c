import { existsSync } from 'node:fs';
import { and, eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getCursor } from '../../src/collectors/cursors.ts';
import { htmlToText } from '../../src/collectors/html-text.ts';
import {
  compareIds,
  createMastodonCollector,
  type MastodonCollectorOptions,
  parseLinkHeader,
  tagGroups,
} from '../../src/collectors/mastodon.ts';
import type { CollectorDeps } from '../../src/collectors/types.ts';
import { authors, media, moderationEvents, posts } from '../../src/db/schema.ts';
import type { RunContext } from '../../src/scheduler/scheduler.ts';
import { type FakeMastodon, type FakeMastodonOptions, startFakeMastodon } from '../fakes/mastodon-api.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';

/** 10 s after a 5- and 15-minute boundary, so rate-limit windows are predictable. */
const START = Date.parse('2026-03-02T10:00:10Z');
const HASHTAGS = [
  'IStandForPeace',
  'PeaceOnKoreanPeninsula',
  'EndTheKoreanWar',
  'NoWar',
  'PeaceNow',
  '한반도평화',
];

let ctx: TestContext;
let clock: { t: number; sleeps: number[] };
const fakes: FakeMastodon[] = [];

beforeEach(() => {
  clock = { t: START, sleeps: [] };
});
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
  ctx?.dispose();
});

async function fake(options: FakeMastodonOptions = {}): Promise<FakeMastodon> {
  const f = await startFakeMastodon({ now: () => clock.t, ...options });
  fakes.push(f);
  return f;
}

function setup(
  instances: FakeMastodon[],
  extra: { tokens?: Record<string, string>; hashtags?: string[] } = {},
) {
  ctx = createTestContext(
    {
      hashtags: extra.hashtags ?? HASHTAGS,
      sources: { mastodon: { instances: instances.map((i) => i.url), tokens: extra.tokens ?? {} } },
    },
    { STANDWALL_ALLOW_PRIVATE_MEDIA: '1' },
  );
}

function collector(options: MastodonCollectorOptions = {}, campaign = ctx.campaign, ingest = ctx.ingest) {
  const deps: CollectorDeps = {
    db: ctx.db,
    ingest,
    media: ctx.media,
    campaign,
    settings: ctx.settings,
    now: () => clock.t,
    sleep: async (ms) => {
      clock.sleeps.push(ms);
      clock.t += ms;
    },
  };
  return createMastodonCollector(deps, options);
}

function run(onProgress?: (controller: AbortController) => void): RunContext {
  const controller = new AbortController();
  return { signal: controller.signal, progress: () => onProgress?.(controller) };
}

function storedUris(): string[] {
  return ctx.db
    .select({ uri: posts.canonicalUri })
    .from(posts)
    .all()
    .map((r) => r.uri)
    .sort();
}

const uris = (list: Array<{ uri: string }>) => list.map((s) => s.uri).sort();
const timelineRequests = (f: FakeMastodon) =>
  f.requests.filter((r) => r.path.startsWith('/api/v1/timelines/'));

describe('status HTML to text', () => {
  it('keeps hashtags, mentions and links as their text, with paragraphs and line breaks', () => {
    const html =
      '<p><span class="h-card" translate="no"><a href="https://a.example/@bob" class="u-url mention">@<span>bob</span></a></span> ' +
      'see <a href="https://example.com/a/long/path" rel="nofollow noopener" target="_blank"><span class="invisible">https://</span>' +
      '<span class="ellipsis">example.com/a/lo</span><span class="invisible">ng/path</span></a></p>' +
      '<p>line one<br>line two<br /><br>line four <a href="https://a.example/tags/한반도평화" class="mention hashtag" rel="tag">#<span>한반도평화</span></a></p>';
    expect(htmlToText(html)).toBe(
      '@bob see https://example.com/a/long/path\n\nline one\nline two\n\nline four #한반도평화',
    );
  });

  it('leaves no markup of an XSS payload and decodes entities once', () => {
    const html =
      '<p>Hi<script>alert(1)</script><img src=x onerror="alert(\'>\')"><iframe src="javascript:alert(3)">x</iframe>' +
      '<a href="javascript:alert(4)" onclick="alert(5)">click</a> <!-- <b>c</b> --><style>p{}</style>' +
      'I &lt;3 peace &amp;amp; &#x1F54A;&#xFE0F; &#0; AT&T</p>';
    const text = htmlToText(html);
    expect(text).toBe('Hiclick I <3 peace &amp; 🕊️ \ufffd AT&T');
    expect(text).not.toMatch(/<[a-z!/]|alert|onerror|javascript/i);
  });
});

describe('Mastodon helpers', () => {
  it('compares snowflake ids by magnitude', () => {
    expect(compareIds('99', '100')).toBe(-1);
    expect(compareIds('113000000000000100', '113000000000000099')).toBe(1);
    expect(compareIds('5', '5')).toBe(0);
  });

  it("reads the cursors of Mastodon's Link header", () => {
    const links = parseLinkHeader(
      '<https://mastodon.social/api/v1/timelines/tag/x?limit=40&max_id=113>; rel="next", ' +
        '<https://mastodon.social/api/v1/timelines/tag/x?limit=40&min_id=120>; rel="prev"',
    );
    expect(links.get('next')?.get('max_id')).toBe('113');
    expect(links.get('prev')?.get('min_id')).toBe('120');
    expect(parseLinkHeader(null).size).toBe(0);
  });

  it('splits hashtags into requests of one tag plus at most 4 any[]', () => {
    expect(tagGroups(HASHTAGS)).toEqual([HASHTAGS.slice(0, 5), ['한반도평화']]);
    expect(tagGroups(['a', 'A', 'b'])).toEqual([['A', 'b']]);
  });
});

describe('Mastodon collection', () => {
  async function twoInstances(betaOptions: FakeMastodonOptions = {}) {
    const alpha = await fake();
    const beta = await fake(betaOptions);
    const s = {
      arabic: alpha.addStatus({
        username: 'salma',
        displayName: 'سلمى الأحمد',
        language: 'ar',
        content: '<p>سلام <a href="x" class="mention hashtag" rel="tag">#<span>IStandForPeace</span></a></p>',
        media: [{ description: 'Salma holding the sign' }],
      }),
      emoji: alpha.addStatus({
        username: 'kim',
        displayName: '🕊️ Peace 🇰🇷',
        avatar: false,
        tags: ['EndTheKoreanWar'],
        media: [{ description: null }, { type: 'video' }],
      }),
      videoOnly: alpha.addStatus({ username: 'vid', media: [{ type: 'video' }, { type: 'gifv' }] }),
      korean: alpha.addStatus({
        username: 'jisoo',
        displayName: '',
        language: 'ko',
        tags: ['한반도평화'],
        sensitive: true,
        spoilerText: '시위 사진',
        content:
          '<p>한반도에 평화를 <a href="x" class="mention hashtag" rel="tag">#<span>한반도평화</span></a></p>',
        media: [{}, {}],
      }),
      xss: alpha.addStatus({
        username: 'mallory',
        displayName: '<img src=x onerror=alert(1)>',
        content: '<p>peace<script>alert(1)</script><img src=x onerror=alert(2)></p>',
      }),
      noTag: alpha.addStatus({ username: 'ana', tags: ['SomethingElse'] }),
    };
    const boost = alpha.addReblog(s.arabic);
    const copy = beta.federate(s.arabic, alpha);
    const b1 = beta.addStatus({ username: 'bo', tags: ['IStandForPeace'] });
    const b2 = beta.addStatus({ username: 'bo', tags: ['PeaceNow'] });
    setup([alpha, beta]);
    return { alpha, beta, s, boost, copy, b1, b2 };
  }

  it('stores each photo post once, across instances and boosts, with authors, media rows and files', async () => {
    const { alpha, beta, s, copy, b1, b2 } = await twoInstances();
    expect(copy.uri).toBe(s.arabic.uri);
    const c = collector();

    const first = await c.collect(run());
    expect(first).toEqual({ found: 6, created: 6, errors: 0 });
    const expected = [s.arabic, s.emoji, s.korean, s.xss, b1, b2].map((x) => x.uri).sort();
    expect(storedUris()).toEqual(expected);

    const rows = ctx.db.select().from(posts).all();
    const byUri = new Map(rows.map((r) => [r.canonicalUri, r]));
    const arabic = byUri.get(s.arabic.uri);
    expect(arabic).toMatchObject({
      network: 'mastodon',
      remoteId: s.arabic.uri,
      url: s.arabic.url,
      language: 'ar',
    });
    expect(arabic?.text).toBe('سلام #IStandForPeace');
    const korean = byUri.get(s.korean.uri);
    expect(korean).toMatchObject({ sensitive: true, language: 'ko', region: 'KR' });
    expect(korean?.text).toBe('시위 사진\n\n한반도에 평화를 #한반도평화');
    expect(byUri.get(s.xss.uri)?.text).toBe('peace');

    const people = ctx.db.select().from(authors).all();
    expect(people).toHaveLength(5);
    const who = (u: string) => people.find((p) => p.handle?.startsWith(`${u}@`));
    expect(who('salma')).toMatchObject({
      remoteId: `salma@${alpha.host}`,
      handle: `salma@${alpha.host}`,
      name: 'سلمى الأحمد',
      profileUrl: `${alpha.url}/@salma`,
      avatarUrl: `${alpha.url}/system/accounts/avatars/salma.jpg`,
    });
    expect(who('kim')).toMatchObject({ name: '🕊️ Peace 🇰🇷', avatarUrl: null });
    expect(who('jisoo')?.name).toBe('jisoo');
    expect(who('mallory')?.name).toBe('<img src=x onerror=alert(1)>'); // a name is text; the page escapes it
    expect(who('bo')?.remoteId).toBe(`bo@${beta.host}`);

    const files = ctx.db.select().from(media).all();
    expect(files).toHaveLength(7); // arabic 1, emoji 1 (video skipped), korean 2, xss 1, b1 1, b2 1
    expect(files.every((m) => m.state === 'stored' && m.originalPath)).toBe(true);
    for (const m of files) expect(existsSync(ctx.media.absolutePath(m.originalPath as string))).toBe(true);
    const emojiPost = byUri.get(s.emoji.uri);
    expect(files.filter((m) => m.postId === emojiPost?.id).map((m) => m.alt)).toEqual([null]);
    expect(files.filter((m) => m.postId === arabic?.id).map((m) => m.alt)).toEqual([
      'Salma holding the sign',
    ]);
    expect(files.filter((m) => m.postId === korean?.id).every((m) => m.sensitive)).toBe(true);

    // Every timeline request: one tag plus ≤ 4 any[], photos only, 40 per page; the Korean tag encoded.
    for (const f of [alpha, beta]) {
      for (const r of timelineRequests(f)) {
        expect(r.query.getAll('any[]').length).toBeLessThanOrEqual(4);
        expect(r.query.get('only_media')).toBe('true');
        expect(r.query.get('limit')).toBe('40');
      }
      expect(timelineRequests(f).map((r) => decodeURIComponent(r.path.split('/').pop() ?? ''))).toEqual([
        'IStandForPeace',
        '한반도평화',
      ]);
      expect(f.throttled).toBe(0);
    }
    expect(timelineRequests(alpha)[0]?.query.getAll('any[]')).toEqual(HASHTAGS.slice(1, 5));
    const [alphaFirst, betaFirst] = [alpha.requests.length, beta.requests.length];
    expect(alphaFirst + betaFirst).toBe(4); // newest page per (instance, request); 한반도평화 unknown on beta: 404

    const second = await c.collect(run());
    expect(second).toEqual({ found: 0, created: 0, errors: 0 });
    expect(ctx.db.select().from(posts).all()).toHaveLength(6);
    expect(ctx.db.select().from(media).all()).toHaveLength(7);
    const secondPass = [...alpha.requests.slice(alphaFirst), ...beta.requests.slice(betaFirst)];
    // One empty min_id page per known timeline, and the unknown tag asked again (404).
    expect(secondPass).toHaveLength(4);
    expect(secondPass.filter((r) => r.query.has('min_id'))).toHaveLength(3);
  });

  it('reports an instance that disabled public preview, leaves it alone, and uses a configured token', async () => {
    const closed = await fake({ requireAuth: true, tokens: ['secret-token'] });
    closed.addStatus({ username: 'ana' });
    setup([closed]);

    const first = await collector().collect(run());
    expect(first.errors).toBe(1);
    expect(first.message).toBe(
      `instance ${closed.url} requires an access token: set sources.mastodon.tokens`,
    );
    expect(closed.requests).toHaveLength(1);

    const again = await collector().collect(run());
    expect(again.errors).toBe(0);
    expect(again.message).toContain('requires an access token');
    expect(closed.requests).toHaveLength(1); // not retried in a loop

    const mastodon = { ...ctx.campaign.sources.mastodon, tokens: { [`${closed.url}/`]: 'secret-token' } };
    const withToken = { ...ctx.campaign, sources: { ...ctx.campaign.sources, mastodon } };
    const third = await collector({}, withToken).collect(run());
    expect(third).toEqual({ found: 1, created: 1, errors: 0 });
    expect(closed.requests.at(-1)?.authorized).toBe(true);
  });

  it('treats a restricted tag feed (empty list) and an unknown tag (404) as nothing new', async () => {
    const restricted = await fake({ restrictTagFeeds: true });
    restricted.addStatus();
    const other = await fake();
    other.addStatus({ tags: ['Unrelated'] });
    setup([restricted, other]);
    expect(await collector().collect(run())).toEqual({ found: 0, created: 0, errors: 0 });
    expect(storedUris()).toEqual([]);
  });
});

describe('Mastodon paging', () => {
  it('backfills a bounded number of pages, then pages forward with min_id until an empty page', async () => {
    const f = await fake();
    const old = f.generate(10, { tags: ['PeaceNow'] });
    setup([f], { hashtags: ['PeaceNow'] });
    const c = collector({ backfillPages: 2, pageLimit: 4 });

    expect(await c.collect(run())).toMatchObject({ found: 8, created: 8, errors: 0 });
    expect(timelineRequests(f).map((r) => r.query.get('max_id'))).toEqual([null, old[6]?.id]);
    expect(storedUris()).toEqual(uris(old.slice(2)));

    const fresh = f.generate(6, { tags: ['PeaceNow'] });
    const before = f.requests.length;
    expect(await c.collect(run())).toMatchObject({ found: 6, created: 6, errors: 0 });
    const forward = f.requests.slice(before);
    expect(forward.map((r) => r.query.get('min_id'))).toEqual([old[9]?.id, fresh[3]?.id, fresh[5]?.id]);
    expect(storedUris()).toEqual(uris([...old.slice(2), ...fresh]));
    expect(getCursor(ctx.db, 'mastodon', `timeline:${f.url}#PeaceNow`)).toBe(
      JSON.stringify({ minId: fresh[5]?.id }),
    );
    expect(f.throttled).toBe(0);
  });

  it('survives pages that repeat the cursor and empty pages that still carry a Link', async () => {
    const f = await fake({ overlapCursor: true, linkOnEmptyPage: true });
    const first = f.generate(6, { tags: ['PeaceNow'] });
    setup([f], { hashtags: ['PeaceNow'] });
    const c = collector({ backfillPages: 3, pageLimit: 4 });
    expect(await c.collect(run())).toMatchObject({ created: 6, errors: 0 });
    const more = f.generate(5, { tags: ['PeaceNow'] });
    expect(await c.collect(run())).toMatchObject({ created: 5, errors: 0 });
    expect(await c.collect(run())).toMatchObject({ created: 0, errors: 0 });
    expect(storedUris()).toEqual(uris([...first, ...more]));
    expect(f.requests).toHaveLength(6); // 2 backfill pages, 3 forward pages, 1 page holding only the cursor
  });

  it('skips a malformed status and keeps the rest of its page', async () => {
    const f = await fake();
    const all = f.generate(5, { tags: ['PeaceNow'] });
    setup([f], { hashtags: ['PeaceNow'] });
    f.fail('malformed-item');
    const result = await collector().collect(run());
    expect(result).toMatchObject({ found: 4, created: 4, errors: 0 });
    expect(result.message).toContain('1 malformed statuses skipped');
    expect(storedUris()).toEqual(uris(all.slice(0, 4))); // the newest was the broken one
  });

  const interruptions = ['status-503', 'status-500', 'truncated', 'not-a-list', 'reset', 'abort'] as const;
  for (const how of interruptions) {
    it(`loses nothing and duplicates nothing when a pass ends early (${how})`, async () => {
      const f = await fake();
      const seed = f.generate(3, { tags: ['PeaceNow'] });
      setup([f], { hashtags: ['PeaceNow'] });
      const c = collector({ pageLimit: 4 });
      await c.collect(run());
      const burst = f.generate(10, { tags: ['PeaceNow'] });

      // The second forward page fails (or the run is aborted after the first page).
      let pages = 0;
      if (how !== 'abort') f.fail(how, { match: (_p, q) => q.has('min_id') && ++pages === 2 });
      const cut = await c.collect(
        run((controller) => {
          if (how === 'abort') controller.abort();
        }),
      );
      expect(cut.created).toBe(4);
      expect(cut.errors).toBe(how === 'abort' ? 0 : 1);
      expect(cut.message).toBeTruthy();

      const rest = await c.collect(run());
      expect(rest).toMatchObject({ created: 6, errors: 0 });
      expect(storedUris()).toEqual(uris([...seed, ...burst]));
      expect(ctx.db.select().from(media).all()).toHaveLength(13);
    });
  }

  it('re-reads a page when the process dies in the middle of it', async () => {
    const f = await fake();
    const seed = f.generate(2, { tags: ['PeaceNow'] });
    setup([f], { hashtags: ['PeaceNow'] });
    await collector({ pageLimit: 4 }).collect(run());
    const burst = f.generate(4, { tags: ['PeaceNow'] });
    let calls = 0;
    const dying = {
      ...ctx.ingest,
      ingest: (post: Parameters<typeof ctx.ingest.ingest>[0]) => {
        if (++calls === 3) throw new Error('killed');
        return ctx.ingest.ingest(post);
      },
    };
    await expect(collector({ pageLimit: 4 }, ctx.campaign, dying).collect(run())).rejects.toThrow('killed');
    expect(storedUris()).toHaveLength(4);
    expect(await collector({ pageLimit: 4 }).collect(run())).toMatchObject({ found: 4, created: 2 });
    expect(storedUris()).toEqual(uris([...seed, ...burst]));
  });

  it('resumes an interrupted first pass where it stopped instead of starting over', async () => {
    const f = await fake();
    const all = f.generate(10, { tags: ['PeaceNow'] });
    setup([f], { hashtags: ['PeaceNow'] });
    const c = collector({ backfillPages: 3, pageLimit: 4 });
    f.fail('status-503', { match: (_p, q) => q.has('max_id') });
    expect(await c.collect(run())).toMatchObject({ created: 4, errors: 1 });
    const before = f.requests.length;
    expect(await c.collect(run())).toMatchObject({ created: 6, errors: 0 });
    expect(f.requests[before]?.query.get('max_id')).toBe(all[6]?.id);
    expect(storedUris()).toEqual(uris(all));
  });
});

describe('Mastodon rate limits', () => {
  it('never spends past X-RateLimit-Remaining: stops, records the reset, and resumes after it', async () => {
    const f = await fake({ rateLimit: 3 });
    const all = f.generate(20, { tags: ['PeaceNow'] });
    setup([f], { hashtags: ['PeaceNow'] });
    const c = collector({ backfillPages: 5, pageLimit: 4 });

    const first = await c.collect(run());
    expect(first).toMatchObject({ created: 12, errors: 0 });
    expect(first.message).toContain('rate limited until 2026-03-02T10:05:00.000Z');
    expect(f.requests).toHaveLength(3);
    expect(getCursor(ctx.db, 'mastodon', `rate-limit-reset:${f.url}`)).toBe('2026-03-02T10:05:00.000Z');

    clock.t += 60_000; // still before the reset: no request at all
    expect((await c.collect(run())).message).toContain('rate limited until');
    expect(f.requests).toHaveLength(3);

    clock.t = Date.parse('2026-03-02T10:05:01Z');
    expect(await c.collect(run())).toMatchObject({ created: 8, errors: 0 });
    expect(storedUris()).toEqual(uris(all));
    expect(f.throttled).toBe(0);
    expect(f.peak.api).toBeLessThanOrEqual(3);
    expect(clock.sleeps).toEqual([]);
  });

  it('waits for a 429 reset that falls within the run (deps.sleep), then carries on', async () => {
    clock.t = Date.parse('2026-03-02T10:04:30Z'); // the window resets in 30 s
    const f = await fake();
    const all = f.generate(3, { tags: ['PeaceNow'] });
    setup([f], { hashtags: ['PeaceNow'] });
    f.fail('status-429');
    expect(await collector().collect(run())).toMatchObject({ created: 3, errors: 0 });
    expect(clock.sleeps).toEqual([30_000]);
    expect(f.requests.map((r) => r.status)).toEqual([429, 200]);
    expect(storedUris()).toEqual(uris(all));
  });

  it('ends the pass on a 429 whose reset is too far (the paging throttle) without retrying', async () => {
    const f = await fake({ pagingLimit: 1 });
    f.generate(2, { tags: ['PeaceNow'] });
    setup([f], { hashtags: ['PeaceNow'] });
    const c = collector();
    await c.collect(run()); // the newest page: no cursor, not a paging request
    f.generate(1, { tags: ['PeaceNow'] });
    const before = f.requests.length;
    const second = await c.collect(run());
    expect(second).toMatchObject({ created: 1, errors: 0 });
    expect(second.message).toContain('rate limited until 2026-03-02T10:15:00.000Z');
    expect(f.requests.slice(before).map((r) => r.status)).toEqual([200, 429]);
    expect(clock.sleeps).toEqual([]);
    await c.collect(run());
    expect(f.requests).toHaveLength(before + 2); // left alone until the reset
    expect(storedUris()).toHaveLength(3);
  });

  it('keeps its own count of paging requests per 15-minute window', async () => {
    const f = await fake();
    f.generate(10, { tags: ['PeaceNow'] });
    setup([f], { hashtags: ['PeaceNow'] });
    const c = collector({ pagingBudget: 2 });
    await c.collect(run()); // the newest page: not a paging request
    await c.collect(run()); // min_id: 1
    await c.collect(run()); // min_id: 2
    const fourth = await c.collect(run());
    expect(fourth.message).toContain('request budget spent, rate limited until 2026-03-02T10:15:00.000Z');
    expect(f.requests.filter((r) => r.paging)).toHaveLength(2);
    expect(f.requests).toHaveLength(3);
  });
});

describe('Mastodon re-check', () => {
  it('removes posts deleted at the source (batch and single look-ups) and deletes their files', async () => {
    const alpha = await fake();
    const beta = await fake({ noBatchEndpoint: true });
    const gone = alpha.addStatus({ username: 'salma' });
    const stays = alpha.addStatus({ username: 'kim' });
    beta.federate(gone, alpha);
    const goneOnBeta = beta.addStatus({ username: 'bo' });
    const staysOnBeta = beta.addStatus({ username: 'bo' });
    setup([alpha, beta], { hashtags: ['IStandForPeace'] });
    const c = collector();
    expect(await c.collect(run())).toMatchObject({ created: 4, errors: 0 });

    const idOf = (uri: string) =>
      ctx.db.select({ id: posts.id }).from(posts).where(eq(posts.canonicalUri, uri)).get()?.id as number;
    const filesOf = (uri: string) =>
      ctx.db
        .select({ path: media.originalPath })
        .from(media)
        .where(eq(media.postId, idOf(uri)))
        .all();
    const goneFiles = filesOf(gone.uri).map((r) => ctx.media.absolutePath(r.path as string));
    expect(goneFiles.every((p) => existsSync(p))).toBe(true);

    alpha.deleteStatus(gone.uri);
    beta.deleteStatus(gone.uri);
    beta.deleteStatus(goneOnBeta.uri);
    const result = await c.recheck(run());
    expect(result).toMatchObject({ found: 4, created: 0, errors: 0 });
    expect(result.message).toContain('2 deleted at source');

    const status = (uri: string) =>
      ctx.db.select({ s: posts.status }).from(posts).where(eq(posts.canonicalUri, uri)).get()?.s;
    expect(status(gone.uri)).toBe('removed');
    expect(status(goneOnBeta.uri)).toBe('removed');
    expect(status(stays.uri)).toBe('pending');
    expect(status(staysOnBeta.uri)).toBe('pending');
    expect(goneFiles.some((p) => existsSync(p))).toBe(false);
    const events = ctx.db
      .select()
      .from(moderationEvents)
      .where(and(eq(moderationEvents.postId, idOf(gone.uri)), eq(moderationEvents.rule, 'deleted at source')))
      .all();
    expect(events).toHaveLength(1);

    // Alpha answered one batch request; beta (no batch endpoint) a 404, then one request per status.
    const lookups = (f: FakeMastodon) => f.requests.filter((r) => r.path.startsWith('/api/v1/statuses'));
    expect(lookups(alpha).map((r) => r.path)).toEqual(['/api/v1/statuses']);
    expect(lookups(beta).map((r) => `${r.path} ${r.status}`)).toEqual([
      '/api/v1/statuses 404',
      `/api/v1/statuses/${staysOnBeta.id} 200`, // stored first: newest first on the page
      `/api/v1/statuses/${goneOnBeta.id} 404`,
    ]);

    // Removed posts are not asked about again, nor brought back by the collector.
    const again = await c.recheck(run());
    expect(again.found).toBe(2);
    await c.collect(run());
    expect(status(gone.uri)).toBe('removed');
  });
});
