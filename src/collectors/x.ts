/**
 * X (Twitter) collector over twitter-api-v2: recent search for the campaign's hashtags and
 * demand phrases with photos, and a tweet lookup that finds deleted or protected posts.
 *
 * Cursor semantics: recent search pages backwards from the newest match, so a pass is only
 * complete when the last page of a query is read. The first page's `meta.newest_id` becomes
 * the query's next `since_id`, written only after every page of the pass is ingested; a pass
 * that dies anywhere re-reads from the old `since_id` and ingest's idempotence drops repeats.
 */
import http from 'node:http';
import https from 'node:https';
import { and, eq, inArray } from 'drizzle-orm';
import { type ITwitterApiClientPlugin, TwitterApi, type TwitterRateLimit } from 'twitter-api-v2';
import { z } from 'zod';
import { media, posts } from '../db/schema.ts';
import type { NormalizedMedia, NormalizedPost } from '../ingest/normalized-post.ts';
import { log } from '../log.ts';
import { removePost } from '../moderation/remove.ts';
import type { RunContext, RunCounts } from '../scheduler/scheduler.ts';
import { abortableSleep } from '../util/abortable-sleep.ts';
import { getCursor, setCursor } from './cursors.ts';
import type { Collector, CollectorDeps } from './types.ts';
import { buildQueries, sinceCursorKey } from './x-query.ts';

export interface XCollectorOptions {
  /** Source id for cursors and posts (default "x"). */
  sourceId?: string;
  /** How long one run may spend, waits included (default: the source's timeout less 30 s). */
  runBudgetMs?: number;
  /** Per-request timeout (default 30 s). */
  requestTimeoutMs?: number;
  /** Guard against a server that never stops paging (default 500 pages per query and pass). */
  maxPagesPerQuery?: number;
  /** `max_results`, 10–100 (default 100: fewest requests per post). */
  pageSize?: number;
}

const SEARCH_PATH = 'tweets/search/recent';
const LOOKUP_PATH = 'tweets';
const LOOKUP_BATCH = 100;
const MAX_RATE_LIMIT_RETRIES = 3;
/** X's rate-limit window, used when a 429 arrives without a reset header. */
const DEFAULT_WINDOW_MS = 15 * 60_000;
const RESET_KEYS = { search: 'rate-limit-reset', lookup: 'rate-limit-reset:lookup' } as const;

const SEARCH_PARAMS = {
  expansions: 'attachments.media_keys,author_id',
  'media.fields': 'url,width,height,alt_text,type,preview_image_url',
  'user.fields': 'name,username,profile_image_url',
  'tweet.fields': 'created_at,lang,entities,possibly_sensitive,attachments,author_id',
};

// ---------------------------------------------------------------------------------------------
// Payload schemas: a page is validated as a whole, each item on its own so one odd tweet
// cannot sink the page.

const pageSchema = z.object({
  data: z.array(z.unknown()).optional(),
  includes: z
    .object({ media: z.array(z.unknown()).optional(), users: z.array(z.unknown()).optional() })
    .optional(),
  meta: z.object({
    result_count: z.number().int().min(0),
    newest_id: z.string().optional(),
    oldest_id: z.string().optional(),
    next_token: z.string().min(1).optional(),
  }),
});

const tweetSchema = z.object({
  id: z.string().regex(/^\d{1,20}$/),
  text: z.string(),
  author_id: z.string().min(1),
  created_at: z.string().optional(),
  lang: z.string().optional(),
  possibly_sensitive: z.boolean().optional(),
  attachments: z.object({ media_keys: z.array(z.string()).optional() }).optional(),
  entities: z
    .object({
      urls: z
        .array(
          z.object({
            url: z.string(),
            expanded_url: z.string().optional(),
            display_url: z.string().optional(),
            media_key: z.string().optional(),
          }),
        )
        .optional(),
    })
    .optional(),
});

const mediaSchema = z.object({
  media_key: z.string(),
  type: z.string(),
  url: z.string().url().optional(),
  alt_text: z.string().optional(),
});

const userSchema = z.object({
  id: z.string().min(1),
  username: z.string().min(1),
  name: z.string(),
  profile_image_url: z.string().optional(),
});

const lookupSchema = z.object({
  data: z.array(z.object({ id: z.string() })).optional(),
  errors: z
    .array(
      z.object({
        resource_id: z.string().optional(),
        value: z.string().optional(),
        title: z.string().optional(),
        type: z.string().optional(),
      }),
    )
    .optional(),
});

type Tweet = z.infer<typeof tweetSchema>;
type XMedia = z.infer<typeof mediaSchema>;
type XUser = z.infer<typeof userSchema>;

// ---------------------------------------------------------------------------------------------
// Mapping

/** X escapes exactly these three in tweet text; &amp; last so "&amp;lt;" stays "&lt;". */
export function decodeXText(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** X's pseudo-languages (undetermined, media only, hashtags only, …) say nothing about the author. */
function languageOf(lang: string | undefined): string | null {
  if (!lang || lang === 'und' || lang === 'zxx' || /^q[a-z]{2}$/.test(lang)) return null;
  return lang;
}

/** Tweet ids are snowflakes: their top bits are milliseconds since X's epoch. */
function snowflakeTime(id: string): Date {
  return new Date(Number((BigInt(id) >> 22n) + 1288834974657n));
}

/** The photo links (pic.x.com) go; other t.co links become the address they stand for. */
function plainText(tweet: Tweet): string {
  let text = tweet.text;
  for (const entity of tweet.entities?.urls ?? []) {
    const isMedia =
      entity.media_key !== undefined || /^pic\.(x|twitter)\.com\//.test(entity.display_url ?? '');
    text = text.split(entity.url).join(isMedia ? '' : (entity.expanded_url ?? entity.url));
  }
  return decodeXText(text)
    .replace(/[ \t]+\n/g, '\n')
    .trim();
}

function photosOf(tweet: Tweet, mediaByKey: Map<string, XMedia>): NormalizedMedia[] {
  const photos: NormalizedMedia[] = [];
  for (const key of tweet.attachments?.media_keys ?? []) {
    const item = mediaByKey.get(key);
    // Videos and GIFs have only a preview still, which is not the supporter's photo.
    if (item?.type !== 'photo' || !item.url) continue;
    photos.push({
      remoteUrl: item.url,
      alt: item.alt_text?.trim() ? item.alt_text : null,
      sensitive: tweet.possibly_sensitive === true,
    });
  }
  return photos;
}

export function mapTweet(
  tweet: Tweet,
  user: XUser,
  photos: NormalizedMedia[],
  sourceId: string,
): NormalizedPost {
  const created = tweet.created_at ? new Date(tweet.created_at) : null;
  return {
    network: 'x',
    remoteId: tweet.id,
    url: `https://x.com/${user.username}/status/${tweet.id}`,
    text: plainText(tweet),
    language: languageOf(tweet.lang),
    postedAt: created && !Number.isNaN(created.getTime()) ? created : snowflakeTime(tweet.id),
    author: {
      remoteId: user.id,
      handle: user.username,
      name: user.name.trim() || user.username,
      profileUrl: `https://x.com/${user.username}`,
      avatarUrl: user.profile_image_url ?? null,
    },
    media: photos,
    sensitive: tweet.possibly_sensitive === true,
    sourceId,
  };
}

function indexBy<T>(items: unknown[] | undefined, schema: z.ZodType<T>, key: (item: T) => string) {
  const map = new Map<string, T>();
  for (const raw of items ?? []) {
    const parsed = schema.safeParse(raw);
    if (parsed.success) map.set(key(parsed.data), parsed.data);
  }
  return map;
}

// ---------------------------------------------------------------------------------------------
// HTTP through twitter-api-v2

type ApiFailure =
  | { kind: 'auth'; status: number; message: string }
  | { kind: 'rate-limited'; resetMs: number }
  | { kind: 'bad-since-id'; message: string }
  | { kind: 'transient'; message: string };

interface LibError {
  type?: string;
  code?: number;
  data?: unknown;
  rateLimit?: TwitterRateLimit;
  requestError?: Error;
  message?: string;
}

/** Reads the library's error without ever touching its request (which holds the token). */
function classify(error: unknown, hadSinceId: boolean, nowMs: number): ApiFailure {
  const e = (error ?? {}) as LibError;
  if (e.type === 'response' && typeof e.code === 'number') {
    if (e.code === 429) {
      const reset = e.rateLimit?.reset;
      return { kind: 'rate-limited', resetMs: reset ? reset * 1000 : nowMs + DEFAULT_WINDOW_MS };
    }
    if (e.code === 401) {
      return {
        kind: 'auth',
        status: 401,
        message:
          'X_BEARER_TOKEN is missing or invalid (X answered 401): set the app bearer token from the X developer portal',
      };
    }
    if (e.code === 403) {
      return {
        kind: 'auth',
        status: 403,
        message:
          'X refused the request (403): check that the app in the X developer portal has access to recent search',
      };
    }
    const detail = describeErrorData(e.data);
    if (e.code === 400 && hadSinceId && /since_id/i.test(detail)) {
      return { kind: 'bad-since-id', message: detail };
    }
    return { kind: 'transient', message: `X answered ${e.code}${detail ? `: ${detail}` : ''}` };
  }
  if (e.type === 'partial-response')
    return { kind: 'transient', message: 'X sent a truncated or invalid body' };
  if (e.type === 'request') {
    return {
      kind: 'transient',
      message: `request to X failed: ${e.requestError?.message ?? 'network error'}`,
    };
  }
  throw error;
}

function describeErrorData(data: unknown): string {
  const d = (data ?? {}) as { detail?: unknown; title?: unknown; errors?: Array<{ message?: unknown }> };
  const first = Array.isArray(d.errors) ? d.errors[0]?.message : undefined;
  const parts = [d.title, d.detail, first].filter((p): p is string => typeof p === 'string' && p.length > 0);
  return parts.join(' — ').slice(0, 300);
}

function createClient(token: string, baseUrl: string, timeoutMs: number) {
  // twitter-api-v2 builds every URL on https://api.x.com and has no base-URL option: the hook
  // moves each request to the configured host (a proxy, a self-hosted mirror, the test fake).
  const redirect: ITwitterApiClientPlugin = {
    onBeforeRequestConfig({ params }) {
      const target = new URL(params.url);
      params.url = `${baseUrl}${target.pathname}${target.search}`;
      params.timeout ??= timeoutMs;
    },
  };
  // The library always calls https.request; an http.Agent makes Node speak plain HTTP instead.
  const agent = baseUrl.startsWith('http:')
    ? new http.Agent({ keepAlive: true })
    : new https.Agent({ keepAlive: true });
  const client = new TwitterApi(token, { plugins: [redirect], httpAgent: agent });
  return { client, close: () => agent.destroy() };
}

// ---------------------------------------------------------------------------------------------
// Rate-limit gate: one per endpoint, fed by every response's x-rate-limit-* headers.

interface Gate {
  remaining: number | null;
  resetMs: number;
}

type Endpoint = keyof typeof RESET_KEYS;

// ---------------------------------------------------------------------------------------------

interface Tally {
  found: number;
  created: number;
  errors: number;
  messages: string[];
  seen: Set<string>;
}

/** Any outcome but 'complete' ends the pass: the other queries share the endpoint and its limits. */
type QueryOutcome = 'complete' | 'ended';

export function createXCollector(deps: CollectorDeps, options: XCollectorOptions = {}): Collector {
  const sourceId = options.sourceId ?? 'x';
  const config = deps.campaign.sources.x;
  const token = deps.settings.xBearerToken;
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? abortableSleep;
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const maxPages = options.maxPagesPerQuery ?? 500;
  const pageSize = Math.min(100, Math.max(10, options.pageSize ?? 100));
  const budgetMs = options.runBudgetMs ?? Math.max(0, config.timeoutSeconds * 1000 - 30_000);
  const unavailableReason = token
    ? null
    : 'X_BEARER_TOKEN is not set: create an app in the X developer portal and set its bearer token';

  /** State of one run: its deadline, its gates and its client. */
  function startRun(ctx: RunContext) {
    const deadline = now() + budgetMs;
    const gates: Record<Endpoint, Gate> = {
      search: { remaining: null, resetMs: 0 },
      lookup: { remaining: null, resetMs: 0 },
    };
    for (const endpoint of Object.keys(RESET_KEYS) as Endpoint[]) {
      const stored = Number(getCursor(deps.db, sourceId, RESET_KEYS[endpoint]) ?? 0);
      if (stored * 1000 > now()) gates[endpoint] = { remaining: 0, resetMs: stored * 1000 };
    }
    const { client, close } = createClient(token as string, config.baseUrl, requestTimeoutMs);

    /** Waits for the window to reopen if the run has time for it; otherwise records when it does. */
    async function admit(endpoint: Endpoint, tally: Tally): Promise<boolean> {
      const gate = gates[endpoint];
      if (gate.remaining === null || gate.remaining > 0 || now() >= gate.resetMs) return true;
      const wait = gate.resetMs - now() + 1000;
      if (now() + wait > deadline) {
        setCursor(deps.db, sourceId, RESET_KEYS[endpoint], String(Math.ceil(gate.resetMs / 1000)));
        const until = new Date(gate.resetMs).toISOString();
        tally.messages.push(`X rate limit reached: next requests after ${until}`);
        log.info({ source: sourceId, endpoint, until }, 'x rate limit reached: pass ends early');
        return false;
      }
      log.info({ source: sourceId, endpoint, waitMs: wait }, 'x rate limit reached: waiting for reset');
      await sleep(wait, ctx.signal);
      if (ctx.signal.aborted) return false;
      gate.remaining = null;
      return true;
    }

    function observe(endpoint: Endpoint, rateLimit: TwitterRateLimit | undefined) {
      if (!rateLimit || !Number.isFinite(rateLimit.remaining)) return;
      gates[endpoint] = { remaining: rateLimit.remaining, resetMs: rateLimit.reset * 1000 };
    }

    /** One GET, retried only after a 429 whose reset the run can wait for. */
    async function get(
      endpoint: Endpoint,
      path: string,
      query: Record<string, string>,
      tally: Tally,
    ): Promise<{ ok: true; data: unknown } | { ok: false; failure?: ApiFailure }> {
      for (let attempt = 0; attempt <= MAX_RATE_LIMIT_RETRIES; attempt++) {
        if (ctx.signal.aborted || !(await admit(endpoint, tally))) return { ok: false };
        try {
          const response = await client.v2.get(path, query, { fullResponse: true });
          observe(endpoint, response.rateLimit);
          return { ok: true, data: response.data };
        } catch (error) {
          const failure = classify(error, 'since_id' in query, now());
          observe(endpoint, (error as LibError).rateLimit);
          if (failure.kind !== 'rate-limited') return { ok: false, failure };
          gates[endpoint] = { remaining: 0, resetMs: failure.resetMs };
        }
      }
      return { ok: false, failure: { kind: 'transient', message: 'X kept answering 429' } };
    }

    return { get, close };
  }

  type Run = ReturnType<typeof startRun>;

  async function ingestPage(page: z.infer<typeof pageSchema>, tally: Tally, ctx: RunContext) {
    const mediaByKey = indexBy(page.includes?.media, mediaSchema, (m) => m.media_key);
    const usersById = indexBy(page.includes?.users, userSchema, (u) => u.id);
    for (const raw of page.data ?? []) {
      const parsed = tweetSchema.safeParse(raw);
      const user = parsed.success ? usersById.get(parsed.data.author_id) : undefined;
      if (!parsed.success || !user) {
        tally.errors++;
        log.warn({ source: sourceId, id: (raw as { id?: unknown })?.id }, 'x: malformed tweet skipped');
        continue;
      }
      const photos = photosOf(parsed.data, mediaByKey);
      if (photos.length === 0) continue;
      if (!tally.seen.has(parsed.data.id)) {
        tally.seen.add(parsed.data.id);
        tally.found++;
      }
      const result = await deps.ingest.ingest(mapTweet(parsed.data, user, photos, sourceId));
      if (result.created) tally.created++;
      ctx.progress?.(tally.found, null);
    }
  }

  async function collectQuery(run: Run, query: string, tally: Tally, ctx: RunContext): Promise<QueryOutcome> {
    const key = sinceCursorKey(query);
    let sinceId = getCursor(deps.db, sourceId, key);
    let newestId: string | null = null;
    let nextToken: string | undefined;
    const tokensSeen = new Set<string>();
    for (let page = 0; page < maxPages; page++) {
      const params: Record<string, string> = { query, max_results: String(pageSize), ...SEARCH_PARAMS };
      if (sinceId) params.since_id = sinceId;
      if (nextToken) params.next_token = nextToken;
      const response = await run.get('search', SEARCH_PATH, params, tally);
      if (!response.ok) {
        const failure = response.failure;
        if (failure?.kind === 'bad-since-id' && page === 0) {
          // since_id older than the 7-day window: start the query afresh (ingest dedupes).
          log.warn(
            { source: sourceId, detail: failure.message },
            'x: since_id refused, searching without it',
          );
          sinceId = null;
          page = -1;
          continue;
        }
        return reportFailure(failure, tally);
      }
      const parsed = pageSchema.safeParse(response.data);
      if (!parsed.success) {
        tally.errors++;
        tally.messages.push('X sent a page that is not a recent-search response');
        log.warn({ source: sourceId, issues: parsed.error.issues.slice(0, 3) }, 'x: malformed page');
        return 'ended';
      }
      // Pages run newest to oldest, so the first page with tweets holds the pass's newest id.
      newestId ??= parsed.data.meta.newest_id ?? null;
      try {
        await ingestPage(parsed.data, tally, ctx);
      } catch (error) {
        tally.errors++;
        tally.messages.push(`storing X posts failed: ${(error as Error).message}`);
        log.error({ source: sourceId, err: (error as Error).message }, 'x: ingest failed');
        return 'ended';
      }
      nextToken = parsed.data.meta.next_token;
      if (!nextToken) {
        const cursor = newestId ?? sinceId;
        if (cursor) setCursor(deps.db, sourceId, key, cursor);
        return 'complete';
      }
      if (tokensSeen.has(nextToken)) break;
      tokensSeen.add(nextToken);
    }
    tally.errors++;
    tally.messages.push(
      'X kept paging (page limit or a repeated next_token): the pass stopped without advancing',
    );
    return 'ended';
  }

  function reportFailure(failure: ApiFailure | undefined, tally: Tally): QueryOutcome {
    if (!failure) return 'ended'; // aborted or rate-limited: already reported
    tally.errors++;
    if (failure.kind === 'auth') {
      tally.messages.push(failure.message);
      log.error({ source: sourceId, status: failure.status }, 'x: credentials refused');
      return 'ended';
    }
    const message = 'message' in failure ? failure.message : 'X request failed';
    tally.messages.push(message);
    log.warn({ source: sourceId, error: message }, 'x: request failed, pass ends');
    return 'ended';
  }

  function finish(tally: Tally, ctx: RunContext): RunCounts {
    if (ctx.signal.aborted)
      tally.messages.push('interrupted: the pass resumes from the last complete cursor');
    const counts: RunCounts = { found: tally.found, created: tally.created, errors: tally.errors };
    if (tally.messages.length > 0) counts.message = [...new Set(tally.messages)].join('; ');
    return counts;
  }

  function newTally(): Tally {
    return { found: 0, created: 0, errors: 0, messages: [], seen: new Set() };
  }

  async function collect(ctx: RunContext): Promise<RunCounts> {
    if (unavailableReason) return { found: 0, created: 0, errors: 1, message: unavailableReason };
    const tally = newTally();
    let queries: string[];
    try {
      queries = buildQueries(deps.campaign);
    } catch (error) {
      return { found: 0, created: 0, errors: 1, message: (error as Error).message };
    }
    const run = startRun(ctx);
    try {
      for (const query of queries) {
        if (ctx.signal.aborted) break;
        if ((await collectQuery(run, query, tally, ctx)) === 'ended') break;
      }
    } finally {
      run.close();
    }
    return finish(tally, ctx);
  }

  /** Displayed or queued X posts whose photos are on disk: the ones a deletion must reach. */
  function postsToCheck() {
    const withFiles = deps.db
      .selectDistinct({ postId: media.postId })
      .from(media)
      .where(eq(media.state, 'stored'));
    return deps.db
      .select({ id: posts.id, remoteId: posts.remoteId })
      .from(posts)
      .where(
        and(
          eq(posts.network, 'x'),
          inArray(posts.status, ['approved', 'pending']),
          inArray(posts.id, withFiles),
        ),
      )
      .orderBy(posts.id)
      .all();
  }

  function goneIds(data: unknown): Set<string> | null {
    const parsed = lookupSchema.safeParse(data);
    if (!parsed.success) return null;
    const gone = new Set<string>();
    for (const problem of parsed.data.errors ?? []) {
      const type = problem.type ?? '';
      const isGone =
        type.endsWith('/problems/resource-not-found') ||
        type.endsWith('/problems/not-authorized-for-resource') ||
        problem.title === 'Authorization Error';
      const id = problem.resource_id ?? problem.value;
      if (isGone && id) gone.add(id);
    }
    return gone;
  }

  async function recheck(ctx: RunContext): Promise<RunCounts> {
    if (unavailableReason) return { found: 0, created: 0, errors: 1, message: unavailableReason };
    const tally = newTally();
    const rows = postsToCheck();
    let removed = 0;
    let checked = 0;
    const run = startRun(ctx);
    try {
      for (let i = 0; i < rows.length; i += LOOKUP_BATCH) {
        const batch = rows.slice(i, i + LOOKUP_BATCH);
        const response = await run.get(
          'lookup',
          LOOKUP_PATH,
          { ids: batch.map((r) => r.remoteId).join(',') },
          tally,
        );
        if (!response.ok) {
          reportFailure(response.failure, tally);
          break;
        }
        const gone = goneIds(response.data);
        if (!gone) {
          tally.errors++;
          tally.messages.push('X sent a lookup response of an unexpected shape');
          break;
        }
        for (const row of batch) {
          if (!gone.has(row.remoteId)) continue;
          if (await removePost(deps, row.id, { rule: 'deleted at source' })) removed++;
          log.info(
            { source: sourceId, postId: row.id, remoteId: row.remoteId },
            'x: post gone at source, removed',
          );
        }
        checked += batch.length;
        ctx.progress?.(checked, rows.length);
      }
    } finally {
      run.close();
    }
    tally.found = checked;
    tally.messages.unshift(`checked ${checked} of ${rows.length}, removed ${removed}`);
    return finish(tally, ctx);
  }

  return { id: sourceId, unavailableReason, collect, recheck };
}
