/**
 * Instagram: the Graph API's hashtag search (Instagram API with Facebook Login; the app needs
 * the "Instagram Public Content Access" feature and a business or creator account).
 *
 * Per campaign hashtag: `GET /ig_hashtag_search?user_id&q` once (hashtag ids are static and
 * global, so the id is cached for good), then `GET /{hashtag-id}/recent_media` page by page.
 *
 * Limits that shape the pass:
 * - 30 unique hashtags per account per rolling 7 days: a hashtag's window starts at its first
 *   use and further uses inside it are free. The collector records a use before the request
 *   that makes it (so a crash cannot under-count) and never starts a 31st window.
 * - recent_media covers the last 24 hours only, returns up to 50 per page, in no particular
 *   order, with an `after` cursor Meta documents as the same on every page. So every pass walks
 *   all pages (following `paging.next`) to the end, dedupes by id, and a per-hashtag "seen up
 *   to" timestamp only tells new posts from re-reads in the counts. Nothing is lost by a pass
 *   that dies: the next one walks the same 24 hours again and ingest is idempotent.
 * - A gap of more than 24 hours between complete passes may have missed posts: the pass says
 *   so in its message and `instagramCoverageGap` exposes it.
 *
 * The API gives no username with hashtag media: the permalink is the attribution until a
 * moderator or the supporter adds a name.
 *
 * Cursor keys (source "instagram"): `hashtag-id:<tag>`, `hashtag-windows` (tag → first use,
 * epoch ms), `seen:<tag>` (newest timestamp seen), `last-complete-pass` (start of the last pass
 * that walked every hashtag to its end), `rate-limit-reset`, `token-refused`.
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

export const INSTAGRAM_SOURCE_ID = 'instagram';
export const INSTAGRAM_HASHTAG_LIMIT = 30;
const HASHTAG_WINDOW_MS = 7 * 24 * 3600_000;
const RECENT_WINDOW_MS = 24 * 3600_000;
const PAGE_LIMIT = 50;
/** Pages in a row that bring no id unseen in this walk: the end, whatever the cursor says. */
const MAX_STALE_PAGES = 3;
export const INSTAGRAM_MEDIA_FIELDS =
  'id,caption,media_type,media_url,permalink,timestamp,children{media_type,media_url}';

export interface InstagramCollectorOptions {
  /** recent_media `limit` (1–50). */
  pageLimit?: number;
  /** Safety cap on pages per hashtag and pass (50 × 400 = 20,000 posts a day per hashtag). */
  maxPagesPerHashtag?: number;
  maxRateLimitWaitMs?: number;
  rateLimitBackoffMs?: number;
  requestTimeoutMs?: number;
}

const key = {
  hashtagId: (tag: string) => `hashtag-id:${tag}`,
  seen: (tag: string) => `seen:${tag}`,
  windows: 'hashtag-windows',
  lastComplete: 'last-complete-pass',
};

// ---------------------------------------------------------------------------------------------
// Payloads
// ---------------------------------------------------------------------------------------------

const childSchema = z.object({
  id: z.string().optional(),
  media_type: z.string(),
  media_url: z.string().optional(),
});

const mediaSchema = z.object({
  id: z.string().min(1),
  caption: z.string().optional(),
  media_type: z.string(),
  media_url: z.string().optional(),
  permalink: z.string().optional(),
  timestamp: z.string().refine((s) => parseGraphTime(s) !== null, 'not a date'),
  children: z.object({ data: z.array(childSchema) }).optional(),
});
type InstagramMedia = z.infer<typeof mediaSchema>;

const hashtagSearchSchema = z.object({ data: z.array(z.object({ id: z.string().min(1) })) });

function isHttpUrl(value: string | undefined): value is string {
  return typeof value === 'string' && /^https?:\/\//i.test(value);
}

/** Photos only: a carousel gives each of its photos, videos (alone or in a carousel) are skipped. */
export function mapInstagramMedia(item: InstagramMedia): NormalizedPost | null {
  const urls =
    item.media_type === 'IMAGE'
      ? [item.media_url]
      : item.media_type === 'CAROUSEL_ALBUM'
        ? (item.children?.data ?? []).filter((c) => c.media_type === 'IMAGE').map((c) => c.media_url)
        : [];
  const photos: NormalizedMedia[] = urls.filter(isHttpUrl).map((remoteUrl) => ({ remoteUrl, alt: null }));
  if (photos.length === 0) return null;
  return {
    network: 'instagram',
    remoteId: item.id,
    url: isHttpUrl(item.permalink) ? item.permalink : null,
    text: item.caption ?? '',
    language: null,
    postedAt: parseGraphTime(item.timestamp) as Date,
    author: {
      remoteId: `instagram:unknown:${item.id}`,
      handle: null,
      name: 'Instagram supporter',
      profileUrl: null,
      avatarUrl: null,
    },
    media: photos,
    sourceId: INSTAGRAM_SOURCE_ID,
  };
}

// ---------------------------------------------------------------------------------------------
// The 30-hashtags-a-week budget and the 24-hour coverage
// ---------------------------------------------------------------------------------------------

function toMs(now: number | Date): number {
  return typeof now === 'number' ? now : now.getTime();
}

function readWindows(db: Db): Record<string, number> {
  try {
    const value: unknown = JSON.parse(getCursor(db, INSTAGRAM_SOURCE_ID, key.windows) ?? '{}');
    if (typeof value !== 'object' || value === null) return {};
    return Object.fromEntries(
      Object.entries(value).filter((e): e is [string, number] => typeof e[1] === 'number'),
    );
  } catch {
    return {};
  }
}

function activeWindows(db: Db, now: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(readWindows(db)).filter(([, start]) => start + HASHTAG_WINDOW_MS > now),
  );
}

/** Unique hashtags used in the rolling 7 days, of Instagram's 30, and when the first frees up. */
export function instagramHashtagBudget(
  db: Db,
  now: number | Date,
): { used: number; limit: number; oldestExpiresAt: string | null } {
  const starts = Object.values(activeWindows(db, toMs(now)));
  const oldest = starts.length > 0 ? Math.min(...starts) + HASHTAG_WINDOW_MS : null;
  return {
    used: starts.length,
    limit: INSTAGRAM_HASHTAG_LIMIT,
    oldestExpiresAt: oldest === null ? null : new Date(oldest).toISOString(),
  };
}

/** Records a use of `tag` before the request that makes it; false when it would be a 31st hashtag. */
function useHashtag(db: Db, tag: string, now: number): boolean {
  const active = activeWindows(db, now);
  if (active[tag] !== undefined) return true;
  if (Object.keys(active).length >= INSTAGRAM_HASHTAG_LIMIT) return false;
  setCursor(db, INSTAGRAM_SOURCE_ID, key.windows, JSON.stringify({ ...active, [tag]: now }));
  return true;
}

/** When the last complete pass started, and whether more than 24 h (recent_media's reach) has passed. */
export function instagramCoverageGap(
  db: Db,
  now: number | Date,
): { lastSuccessfulPassAt: string | null; gapMs: number | null; exceeds24h: boolean } {
  const last = Date.parse(getCursor(db, INSTAGRAM_SOURCE_ID, key.lastComplete) ?? '');
  if (Number.isNaN(last)) return { lastSuccessfulPassAt: null, gapMs: null, exceeds24h: false };
  const gapMs = toMs(now) - last;
  return { lastSuccessfulPassAt: new Date(last).toISOString(), gapMs, exceeds24h: gapMs > RECENT_WINDOW_MS };
}

function coverageWarning(db: Db, now: number): string | null {
  const gap = instagramCoverageGap(db, now);
  if (!gap.exceeds24h || !gap.lastSuccessfulPassAt) return null;
  const hours = Math.floor((gap.gapMs ?? 0) / 3600_000);
  return `warning: ${hours} h since the last complete Instagram pass (${gap.lastSuccessfulPassAt}) and recent_media only reaches back 24 h: posts published between then and ${new Date(now - RECENT_WINDOW_MS).toISOString()} may have been missed`;
}

// ---------------------------------------------------------------------------------------------
// The collector
// ---------------------------------------------------------------------------------------------

interface PassState extends GraphPassState {
  notes: string[];
}

export function createInstagramCollector(
  deps: CollectorDeps,
  options: InstagramCollectorOptions = {},
): Collector {
  const { db } = deps;
  const sourceId = INSTAGRAM_SOURCE_ID;
  const pageLimit = Math.min(PAGE_LIMIT, Math.max(1, options.pageLimit ?? PAGE_LIMIT));
  const maxPages = options.maxPagesPerHashtag ?? 400;
  const clientOptions: GraphClientOptions = {
    maxRateLimitWaitMs: options.maxRateLimitWaitMs ?? 120_000,
    rateLimitBackoffMs: options.rateLimitBackoffMs ?? 15 * 60_000,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
  };
  const token = deps.settings.instagramAccessToken;
  const userId = deps.settings.instagramUserId;
  const unavailableReason =
    token && userId
      ? null
      : 'INSTAGRAM_ACCESS_TOKEN and INSTAGRAM_USER_ID are not set: give a long-lived token of a Facebook user with the Instagram Public Content Access feature and the numeric id of the Instagram business account';
  const now = () => deps.now?.() ?? Date.now();

  function newClient(ctx: RunContext): GraphClient {
    return new GraphClient({
      deps,
      sourceId,
      label: 'Instagram',
      baseUrl: deps.campaign.sources.instagram.baseUrl,
      token: token as string,
      tokenEnv: 'INSTAGRAM_ACCESS_TOKEN',
      signal: ctx.signal,
      options: clientOptions,
    });
  }

  function hashtags(): string[] {
    return [...new Set(deps.campaign.hashtags.map((t) => t.toLocaleLowerCase()))];
  }

  /** The hashtag's id, from the cache or one search; null when it cannot be had this pass. */
  async function hashtagId(state: PassState, tag: string): Promise<string | null> {
    const cached = getCursor(db, sourceId, key.hashtagId(tag));
    if (cached) return cached;
    if (!useHashtag(db, tag, now())) return null;
    const json = await state.client.get('/ig_hashtag_search', { user_id: userId as string, q: tag });
    const parsed = hashtagSearchSchema.safeParse(json);
    if (!parsed.success)
      throw new GraphStop('malformed', 'Instagram sent a malformed ig_hashtag_search answer');
    const id = parsed.data.data[0]?.id;
    if (!id) {
      state.notes.push(`#${tag} is unknown to Instagram`);
      return '';
    }
    setCursor(db, sourceId, key.hashtagId(tag), id);
    return id;
  }

  async function ingestPage(state: PassState, items: unknown[], walkSeen: Set<string>, seenUpTo: number) {
    let fresh = 0;
    let newest = 0;
    for (const raw of items) {
      const item = parseGraphItem(mediaSchema, raw, state, sourceId);
      if (!item || walkSeen.has(item.id)) continue;
      walkSeen.add(item.id);
      fresh++;
      const time = (parseGraphTime(item.timestamp) as Date).getTime();
      newest = Math.max(newest, time);
      await ingestOnce(deps.ingest, state, item.id, mapInstagramMedia(item), time > seenUpTo);
    }
    state.ctx.progress?.(state.done, null);
    return { fresh, newest };
  }

  /** Walks all of a hashtag's recent_media pages; true when it reached the end. */
  async function walk(state: PassState, tag: string, id: string): Promise<boolean> {
    const seenUpTo = Date.parse(getCursor(db, sourceId, key.seen(tag)) ?? '') || 0;
    const params = { user_id: userId as string, fields: INSTAGRAM_MEDIA_FIELDS, limit: String(pageLimit) };
    const walkSeen = new Set<string>();
    let newest = seenUpTo;
    const path = `/${encodeURIComponent(id)}/recent_media`;
    let request: { url: string; params: Record<string, string> } = { url: path, params };
    let stale = 0;
    for (let page = 0; ; page++) {
      if (state.ctx.signal.aborted) throw new GraphStop('aborted', 'stopped before the pass ended');
      if (page >= maxPages) {
        state.notes.push(`#${tag}: stopped after ${maxPages} pages`);
        return false;
      }
      const parsed = graphPageSchema.safeParse(await state.client.get(request.url, request.params));
      if (!parsed.success) {
        throw new GraphStop('malformed', `Instagram sent a malformed recent_media page for #${tag}`);
      }
      const { fresh, newest: pageNewest } = await ingestPage(state, parsed.data.data, walkSeen, seenUpTo);
      newest = Math.max(newest, pageNewest);
      stale = fresh === 0 ? stale + 1 : 0;
      const next = nextRequest(parsed.data.paging, path, params);
      if (!next || stale >= MAX_STALE_PAGES) break;
      request = next;
    }
    if (newest > seenUpTo) setCursor(db, sourceId, key.seen(tag), new Date(newest).toISOString());
    return true;
  }

  /** Follows `paging.next` on the configured host; elsewhere, the same request with `after`. */
  function nextRequest(
    paging: z.infer<typeof graphPageSchema>['paging'],
    path: string,
    params: Record<string, string>,
  ): { url: string; params: Record<string, string> } | null {
    if (!paging?.next) return null;
    const base = new URL(deps.campaign.sources.instagram.baseUrl);
    try {
      if (new URL(paging.next).origin === base.origin) return { url: paging.next, params: {} };
    } catch {
      // not a URL: use the cursor
    }
    const after = paging.cursors?.after;
    if (!after) return null;
    return { url: path, params: { ...params, after } };
  }

  async function collect(ctx: RunContext): Promise<RunCounts> {
    if (unavailableReason) return { found: 0, created: 0, errors: 1, message: unavailableReason };
    const startedAt = now();
    const warning = coverageWarning(db, startedAt);
    const skipped = skipReason(deps, sourceId, token as string, 'Instagram');
    if (skipped) return withNotes(skipped, warning ? [warning] : []);

    const state: PassState = {
      client: newClient(ctx),
      counts: { found: 0, created: 0, errors: 0 },
      notes: warning ? [warning] : [],
      handled: new Set(),
      malformed: new Set(),
      done: 0,
      ctx,
    };
    let complete = true;
    try {
      for (const tag of hashtags()) {
        const id = await hashtagId(state, tag);
        if (id === '') continue; // unknown hashtag: nothing to miss
        if (id === null || !useHashtag(db, tag, now())) {
          complete = false;
          const budget = instagramHashtagBudget(db, now());
          state.notes.push(
            `#${tag} skipped: ${budget.used} of ${budget.limit} hashtags used this week, next frees up at ${budget.oldestExpiresAt}`,
          );
          continue;
        }
        if (!(await walk(state, tag, id))) complete = false;
      }
    } catch (error) {
      state.client.saveBlock();
      return withNotes(finishWith(deps, sourceId, state.counts, error), state.notes, state.malformed.size);
    }
    state.client.saveBlock();
    if (complete) setCursor(db, sourceId, key.lastComplete, new Date(startedAt).toISOString());
    return withNotes(state.counts, state.notes, state.malformed.size);
  }

  async function recheck(ctx: RunContext): Promise<RunCounts> {
    if (unavailableReason) return { found: 0, created: 0, errors: 1, message: unavailableReason };
    const skipped = skipReason(deps, sourceId, token as string, 'Instagram');
    if (skipped) return skipped;
    const client = newClient(ctx);
    const counts = await recheckByLookup(deps, 'instagram', sourceId, client, ctx);
    client.saveBlock();
    return counts;
  }

  return { id: sourceId, unavailableReason, collect, recheck };
}

function withNotes(counts: RunCounts, notes: string[], malformed = 0): RunCounts {
  const all = [...notes];
  if (malformed > 0) all.push(`${malformed} malformed items skipped`);
  if (counts.message) all.push(counts.message);
  return all.length > 0 ? { ...counts, message: all.join('; ') } : { ...counts };
}
