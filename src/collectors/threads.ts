/**
 * Threads: `GET /keyword_search` (permissions threads_basic and threads_keyword_search), one
 * query per campaign hashtag (search_mode TAG, Threads' topic tags) and per demand phrase
 * (search_mode KEYWORD), newest first (search_type RECENT), photo posts only (media_type IMAGE).
 *
 * Each walk of a query has a fixed window [since, until] (Unix seconds, as the API takes them):
 * `since` is where the last finished walk ended minus a small overlap for late indexing, `until`
 * the time the walk started. Pages follow `paging.cursors.after` while `paging.next` is given;
 * an interrupted walk keeps its window and cursor in `page:<query>` and the next pass resumes it.
 *
 * Budget: Meta allows 2,200 keyword-search queries per user per rolling 24 hours, across apps.
 * The collector counts its own queries per minute in `query-log` (written before each request,
 * so a crash never under-counts), never sends one past the budget, and paces itself to a
 * 24th of it per rolling hour so one busy hour cannot starve the rest of the day. A pass cut
 * short by the budget records which query it stopped at (`next-query`), so the next pass does
 * not re-spend the budget on the same first queries.
 *
 * Cursor keys (source "threads"): `since:<query>`, `page:<query>`, `next-query`, `query-log`,
 * `rate-limit-reset`, `token-refused`.
 */
import { z } from 'zod';
import type { Db } from '../db/sqlite.ts';
import type { NormalizedMedia, NormalizedPost } from '../ingest/normalized-post.ts';
import type { RunContext, RunCounts } from '../scheduler/scheduler.ts';
import { getCursor, setCursor } from './cursors.ts';
import {
  finishWith,
  GraphClient,
  type GraphClientOptions,
  type GraphPassState,
  GraphStop,
  graphPageSchema,
  ingestOnce,
  parseGraphItem,
  parseGraphTime,
  recheckByLookup,
  skipReason,
} from './meta-graph.ts';
import type { Collector, CollectorDeps } from './types.ts';

export const THREADS_SOURCE_ID = 'threads';
export const THREADS_DAILY_QUERY_LIMIT = 2200;
/** The API refuses `since` before the launch of Threads' API (2023-07-05). */
const MIN_SINCE = 1_688_540_400;
const DAY_MS = 24 * 3600_000;
const HOUR_MS = 3600_000;
const MINUTE_MS = 60_000;
const MAX_EMPTY_PAGES = 3;
export const THREADS_FIELDS =
  'id,text,media_type,media_url,permalink,timestamp,username,alt_text,is_spoiler_media,children{id,media_type,media_url,alt_text}';

export interface ThreadsCollectorOptions {
  /** keyword_search `limit` (1–100). */
  pageLimit?: number;
  maxPagesPerQuery?: number;
  /** Queries per rolling 24 hours this collector may send (Meta: 2,200 per user, all apps). */
  dailyQueryBudget?: number;
  /** Queries per rolling hour; default a 24th of the daily budget. */
  hourlyQueryBudget?: number;
  /** How far back the first walk of a query reaches. Default 7 days. */
  initialLookbackMs?: number;
  /** Re-read this much before the last window's end: posts indexed late. Default 10 minutes. */
  overlapMs?: number;
  maxRateLimitWaitMs?: number;
  rateLimitBackoffMs?: number;
  requestTimeoutMs?: number;
}

// ---------------------------------------------------------------------------------------------
// Payloads and mapping
// ---------------------------------------------------------------------------------------------

const childSchema = z.object({
  id: z.string().optional(),
  media_type: z.string(),
  media_url: z.string().optional(),
  alt_text: z.string().optional(),
});

const threadSchema = z.object({
  id: z.string().min(1),
  text: z.string().optional(),
  media_type: z.string(),
  media_url: z.string().optional(),
  permalink: z.string().optional(),
  timestamp: z.string().refine((s) => parseGraphTime(s) !== null, 'not a date'),
  username: z.string().min(1),
  alt_text: z.string().optional(),
  is_spoiler_media: z.boolean().optional(),
  children: z.object({ data: z.array(childSchema) }).optional(),
});
type ThreadsMedia = z.infer<typeof threadSchema>;

function isHttpUrl(value: string | undefined): value is string {
  return typeof value === 'string' && /^https?:\/\//i.test(value);
}

/** Photos only: an image post, or the images of a carousel; videos, text and audio are skipped. */
export function mapThreadsMedia(item: ThreadsMedia): NormalizedPost | null {
  const sensitive = Boolean(item.is_spoiler_media);
  const sources =
    item.media_type === 'IMAGE'
      ? [{ url: item.media_url, alt: item.alt_text }]
      : item.media_type === 'CAROUSEL_ALBUM'
        ? (item.children?.data ?? [])
            .filter((c) => c.media_type === 'IMAGE')
            .map((c) => ({ url: c.media_url, alt: c.alt_text }))
        : [];
  const photos: NormalizedMedia[] = sources.flatMap((s) =>
    isHttpUrl(s.url) ? [{ remoteUrl: s.url, alt: s.alt?.trim() || null, sensitive }] : [],
  );
  if (photos.length === 0) return null;
  const profileUrl = `https://www.threads.net/@${encodeURIComponent(item.username)}`;
  return {
    network: 'threads',
    remoteId: item.id,
    url: isHttpUrl(item.permalink) ? item.permalink : null,
    text: item.text ?? '',
    language: null,
    postedAt: parseGraphTime(item.timestamp) as Date,
    author: {
      remoteId: `threads:${item.username}`,
      handle: item.username,
      name: item.username,
      profileUrl,
      avatarUrl: null,
    },
    media: photos,
    sensitive,
    sourceId: THREADS_SOURCE_ID,
  };
}

// ---------------------------------------------------------------------------------------------
// Queries and the query budget
// ---------------------------------------------------------------------------------------------

interface Query {
  key: string;
  q: string;
  mode: 'TAG' | 'KEYWORD';
}

export function threadsQueries(deps: Pick<CollectorDeps, 'campaign'>): Query[] {
  const queries = new Map<string, Query>();
  for (const tag of deps.campaign.hashtags) {
    const key = `tag:${tag.toLocaleLowerCase()}`;
    if (!queries.has(key)) queries.set(key, { key, q: tag, mode: 'TAG' });
  }
  for (const demand of deps.campaign.demands) {
    for (const list of Object.values(demand.phrases)) {
      for (const phrase of list) {
        const key = `q:${phrase.toLocaleLowerCase()}`;
        if (!queries.has(key)) queries.set(key, { key, q: phrase, mode: 'KEYWORD' });
      }
    }
  }
  return [...queries.values()];
}

type QueryLog = Array<[minute: number, count: number]>;

/** A minute's queries count until a day after the minute ends: never earlier than Meta frees them. */
function readLog(db: Db, now: number): QueryLog {
  try {
    const value: unknown = JSON.parse(getCursor(db, THREADS_SOURCE_ID, 'query-log') ?? '[]');
    if (!Array.isArray(value)) return [];
    return value.filter(
      (e): e is [number, number] =>
        Array.isArray(e) &&
        typeof e[0] === 'number' &&
        typeof e[1] === 'number' &&
        (e[0] + 1) * MINUTE_MS + DAY_MS > now,
    );
  } catch {
    return [];
  }
}

function usedSince(entries: QueryLog, from: number): number {
  return entries.reduce((sum, [minute, count]) => ((minute + 1) * MINUTE_MS > from ? sum + count : sum), 0);
}

/** Keyword-search queries this collector sent in the rolling 24 hours, and when the oldest frees up. */
export function threadsQueryBudget(
  db: Db,
  now: number | Date,
  limit = THREADS_DAILY_QUERY_LIMIT,
): { used: number; limit: number; oldestExpiresAt: string | null } {
  const t = typeof now === 'number' ? now : now.getTime();
  const entries = readLog(db, t);
  const oldest = entries.length > 0 ? Math.min(...entries.map(([m]) => m)) : null;
  return {
    used: usedSince(entries, t - DAY_MS),
    limit,
    oldestExpiresAt: oldest === null ? null : new Date((oldest + 1) * MINUTE_MS + DAY_MS).toISOString(),
  };
}

/** Ends the pass without an error: the budget itself remembers when the next query may go. */
class BudgetStop extends Error {}

// ---------------------------------------------------------------------------------------------
// The collector
// ---------------------------------------------------------------------------------------------

interface Progress {
  after: string;
  since: number;
  until: number;
}

type PassState = GraphPassState;

export function createThreadsCollector(
  deps: CollectorDeps,
  options: ThreadsCollectorOptions = {},
): Collector {
  const { db } = deps;
  const sourceId = THREADS_SOURCE_ID;
  const dailyBudget = options.dailyQueryBudget ?? THREADS_DAILY_QUERY_LIMIT;
  const opts = {
    pageLimit: Math.min(100, Math.max(1, options.pageLimit ?? 100)),
    maxPagesPerQuery: options.maxPagesPerQuery ?? 20,
    hourlyBudget: options.hourlyQueryBudget ?? Math.ceil(dailyBudget / 24),
    initialLookbackMs: options.initialLookbackMs ?? 7 * DAY_MS,
    overlapMs: options.overlapMs ?? 10 * MINUTE_MS,
  };
  const clientOptions: GraphClientOptions = {
    maxRateLimitWaitMs: options.maxRateLimitWaitMs ?? 120_000,
    rateLimitBackoffMs: options.rateLimitBackoffMs ?? 15 * MINUTE_MS,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
  };
  const token = deps.settings.threadsAccessToken;
  const unavailableReason = token
    ? null
    : 'THREADS_ACCESS_TOKEN is not set: give a long-lived Threads user token with the threads_basic and threads_keyword_search permissions';
  const now = () => deps.now?.() ?? Date.now();

  function newClient(ctx: RunContext): GraphClient {
    return new GraphClient({
      deps,
      sourceId,
      label: 'Threads',
      baseUrl: deps.campaign.sources.threads.baseUrl,
      token: token as string,
      tokenEnv: 'THREADS_ACCESS_TOKEN',
      signal: ctx.signal,
      options: clientOptions,
    });
  }

  /** Counts one query before it is sent, or ends the pass when the day's or hour's share is spent. */
  function spendQuery(): void {
    const t = now();
    const entries = readLog(db, t);
    if (usedSince(entries, t - DAY_MS) >= dailyBudget) {
      const { oldestExpiresAt } = threadsQueryBudget(db, t, dailyBudget);
      throw new BudgetStop(
        `Threads query budget spent (${dailyBudget} in 24 h); next query at ${oldestExpiresAt}`,
      );
    }
    if (usedSince(entries, t - HOUR_MS) >= opts.hourlyBudget) {
      throw new BudgetStop(
        `Threads hourly query pace reached (${opts.hourlyBudget} per hour); the next pass goes on`,
      );
    }
    const minute = Math.floor(t / MINUTE_MS);
    const last = entries.at(-1);
    if (last && last[0] === minute) last[1]++;
    else entries.push([minute, 1]);
    setCursor(db, sourceId, 'query-log', JSON.stringify(entries));
  }

  function readProgress(key: string): Progress | null {
    try {
      const value = JSON.parse(getCursor(db, sourceId, `page:${key}`) || 'null') as Progress | null;
      return value && typeof value.after === 'string' && typeof value.since === 'number' ? value : null;
    } catch {
      return null;
    }
  }

  async function ingestPage(state: PassState, items: unknown[], watermark: number) {
    for (const raw of items) {
      const item = parseGraphItem(threadSchema, raw, state, sourceId);
      if (!item) continue;
      const post = mapThreadsMedia(item);
      await ingestOnce(deps.ingest, state, item.id, post, (post?.postedAt.getTime() ?? 0) > watermark);
    }
    state.ctx.progress?.(state.done, null);
  }

  /** One query's walk over its window; commits the page cursor after each page's posts. */
  async function runQuery(state: PassState, query: Query): Promise<void> {
    const resumed = readProgress(query.key);
    const watermark = Date.parse(getCursor(db, sourceId, `since:${query.key}`) ?? '');
    const start = Number.isNaN(watermark) ? now() - opts.initialLookbackMs : watermark - opts.overlapMs;
    const since = resumed?.since ?? Math.max(MIN_SINCE, Math.floor(start / 1000));
    const until = resumed?.until ?? Math.floor(now() / 1000);
    let after = resumed?.after;
    let emptyPages = 0;
    for (let page = 0; ; page++) {
      if (state.ctx.signal.aborted) throw new GraphStop('aborted', 'stopped before the pass ended');
      if (page >= opts.maxPagesPerQuery) return; // the saved cursor resumes here next pass
      const params: Record<string, string> = {
        q: query.q,
        search_type: 'RECENT',
        search_mode: query.mode,
        media_type: 'IMAGE',
        since: String(since),
        until: String(until),
        limit: String(opts.pageLimit),
        fields: THREADS_FIELDS,
      };
      if (after) params.after = after;
      const answer = await state.client.get('/keyword_search', params, { beforeSend: spendQuery });
      const parsed = graphPageSchema.safeParse(answer);
      if (!parsed.success) {
        throw new GraphStop('malformed', `Threads sent a malformed keyword_search page for "${query.q}"`);
      }
      await ingestPage(state, parsed.data.data, Number.isNaN(watermark) ? 0 : watermark);
      emptyPages = parsed.data.data.length === 0 ? emptyPages + 1 : 0;
      const next = parsed.data.paging?.next ? parsed.data.paging.cursors?.after : undefined;
      if (!next || next === after || emptyPages >= MAX_EMPTY_PAGES) {
        // Everything up to the window's end has been seen; never move the watermark back.
        const end = until * 1000;
        if (Number.isNaN(watermark) || end > watermark) {
          setCursor(db, sourceId, `since:${query.key}`, new Date(end).toISOString());
        }
        setCursor(db, sourceId, `page:${query.key}`, '');
        return;
      }
      setCursor(db, sourceId, `page:${query.key}`, JSON.stringify({ after: next, since, until }));
      after = next;
    }
  }

  function finish(state: PassState, error: unknown): RunCounts {
    state.client.saveBlock();
    const notes: string[] = [];
    let counts = state.counts;
    if (error instanceof BudgetStop) notes.push(error.message);
    else if (error !== null) counts = finishWith(deps, sourceId, counts, error);
    if (state.malformed.size > 0) notes.push(`${state.malformed.size} malformed items skipped`);
    if (counts.message) notes.push(counts.message);
    return notes.length > 0 ? { ...counts, message: notes.join('; ') } : counts;
  }

  async function collect(ctx: RunContext): Promise<RunCounts> {
    if (unavailableReason) return { found: 0, created: 0, errors: 1, message: unavailableReason };
    const skipped = skipReason(deps, sourceId, token as string, 'Threads');
    if (skipped) return skipped;
    const state: PassState = {
      client: newClient(ctx),
      counts: { found: 0, created: 0, errors: 0 },
      handled: new Set(),
      malformed: new Set(),
      done: 0,
      ctx,
    };
    const queries = threadsQueries(deps);
    // Start where the last pass stopped: a budget smaller than the query list must not always
    // spend itself on the first queries.
    const first = Number(getCursor(db, sourceId, 'next-query') ?? 0) % queries.length || 0;
    let current = first;
    try {
      for (let k = 0; k < queries.length; k++) {
        current = (first + k) % queries.length;
        await runQuery(state, queries[current] as Query);
      }
    } catch (error) {
      setCursor(db, sourceId, 'next-query', String(current));
      return finish(state, error);
    }
    setCursor(db, sourceId, 'next-query', '0');
    return finish(state, null);
  }

  async function recheck(ctx: RunContext): Promise<RunCounts> {
    if (unavailableReason) return { found: 0, created: 0, errors: 1, message: unavailableReason };
    const skipped = skipReason(deps, sourceId, token as string, 'Threads');
    if (skipped) return skipped;
    const client = newClient(ctx);
    const counts = await recheckByLookup(deps, 'threads', sourceId, client, ctx);
    client.saveBlock();
    return counts;
  }

  return { id: sourceId, unavailableReason, collect, recheck };
}
