/**
 * Bluesky collector: app.bsky.feed.searchPosts through the account's PDS (the public AppView
 * refuses unauthenticated search), one query per campaign hashtag and per demand phrase.
 *
 * Cursor keys in source_cursors (source id "bluesky"):
 * - `session.refresh`   the refreshJwt, so a restart refreshes instead of logging in again
 *                       (createSession: 30 per 5 min, 300 per day);
 * - `since:<query>`     newest sort time seen by the last completed pass of that query;
 * - `page:<query>`      the pagination cursor of a pass cut short (rate limit, page cap), so the
 *                       next pass resumes the walk instead of re-reading pages already stored;
 * - `next-query`        index of the query a cut-short pass stopped at: the next pass starts there;
 * - `rate-limit-reset`  epoch ms before which no pass should call the service.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import { media, posts } from '../db/schema.ts';
import type { NormalizedMedia, NormalizedPost } from '../ingest/normalized-post.ts';
import { log } from '../log.ts';
import { removePost } from '../moderation/remove.ts';
import type { RunContext, RunCounts } from '../scheduler/scheduler.ts';
import { abortableSleep } from '../util/abortable-sleep.ts';
import { getCursor, setCursor } from './cursors.ts';
import type { Collector, CollectorDeps } from './types.ts';

export const BLUESKY_SOURCE_ID = 'bluesky';

export interface BlueskyCollectorOptions {
  /** searchPosts `limit` (1–100). */
  pageSize?: number;
  /** Pages of one query per pass; a longer walk resumes on the next pass. */
  maxPagesPerQuery?: number;
  /** Longest rate-limit wait done inside a pass; a later reset ends the pass instead. */
  maxRateLimitWaitMs?: number;
  /** Re-read this much before the stored watermark: posts indexed late sort a little in the past. */
  sinceOverlapMs?: number;
  requestTimeoutMs?: number;
}

const SENSITIVE_LABELS = new Set(['porn', 'sexual', 'nudity', 'graphic-media', 'gore']);
const TOKEN_ERRORS = new Set(['ExpiredToken', 'InvalidToken']);
const GET_POSTS_BATCH = 25;
const MAX_EMPTY_PAGES = 3;

// ---------------------------------------------------------------------------------------------
// Payload shapes (app.bsky.feed.defs#postView and friends): only what the mapping reads.
// ---------------------------------------------------------------------------------------------

const labelSchema = z.object({ val: z.string(), neg: z.boolean().optional() });

const authorSchema = z.object({
  did: z.string().startsWith('did:'),
  handle: z.string().min(1),
  displayName: z.string().optional(),
  avatar: z.string().optional(),
});

const recordSchema = z.object({
  text: z.string().default(''),
  createdAt: z.string().optional(),
  langs: z.array(z.string()).optional(),
  labels: z.object({ values: z.array(labelSchema) }).optional(),
});

const postViewSchema = z.object({
  uri: z.string().regex(/^at:\/\/[^/]+\/app\.bsky\.feed\.post\/[^/]+$/),
  cid: z.string().min(1),
  author: authorSchema,
  record: recordSchema,
  embed: z.unknown().optional(),
  indexedAt: z.string(),
  labels: z.array(labelSchema).optional(),
});
type PostView = z.infer<typeof postViewSchema>;

const imageViewSchema = z.object({ fullsize: z.string(), alt: z.string().default('') });
const imagesViewSchema = z.object({
  $type: z.literal('app.bsky.embed.images#view'),
  images: z.array(imageViewSchema),
});
const recordWithMediaSchema = z.object({
  $type: z.literal('app.bsky.embed.recordWithMedia#view'),
  media: z.object({ $type: z.string() }).loose(),
});

const searchPageSchema = z.object({
  posts: z.array(z.unknown()),
  cursor: z.string().optional(),
  hitsTotal: z.number().optional(),
});
const getPostsSchema = z.object({ posts: z.array(z.unknown()) });
const uriOnlySchema = z.object({ uri: z.string() });
const sessionSchema = z.object({
  accessJwt: z.string().min(1),
  refreshJwt: z.string().min(1),
  did: z.string(),
  handle: z.string(),
});
const xrpcErrorSchema = z.object({ error: z.string().optional(), message: z.string().optional() });

// ---------------------------------------------------------------------------------------------
// Mapping
// ---------------------------------------------------------------------------------------------

function isHttpUrl(value: string | undefined): value is string {
  return typeof value === 'string' && /^https?:\/\//i.test(value);
}

function validDate(value: string | undefined): Date | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** The AppView's sort time: the earlier of createdAt and indexedAt (future-dated posts don't jump ahead). */
export function sortTime(post: PostView): string {
  const indexed = validDate(post.indexedAt);
  const created = validDate(post.record.createdAt);
  const times = [indexed, created].filter((d): d is Date => d !== null);
  if (times.length === 0) return post.indexedAt;
  return new Date(Math.min(...times.map((d) => d.getTime()))).toISOString();
}

function isSensitive(post: PostView): boolean {
  const labels = [...(post.labels ?? []), ...(post.record.labels?.values ?? [])];
  const negated = new Set(labels.filter((l) => l.neg).map((l) => l.val));
  return labels.some((l) => !l.neg && SENSITIVE_LABELS.has(l.val) && !negated.has(l.val));
}

/** Photos only: images and the media half of recordWithMedia; videos and link cards are skipped. */
function photosOf(embed: unknown): Array<{ fullsize: string; alt: string }> {
  const withMedia = recordWithMediaSchema.safeParse(embed);
  const candidate = withMedia.success ? withMedia.data.media : embed;
  const images = imagesViewSchema.safeParse(candidate);
  if (!images.success) return [];
  return images.data.images.filter((image) => isHttpUrl(image.fullsize));
}

function profileUrl(post: PostView): string {
  // A handle that failed verification is shown as "handle.invalid"; the DID always resolves.
  const who = post.author.handle === 'handle.invalid' ? post.author.did : post.author.handle;
  return `https://bsky.app/profile/${encodeURIComponent(who)}`;
}

export function mapBlueskyPost(post: PostView, sourceId = BLUESKY_SOURCE_ID): NormalizedPost | null {
  const photos = photosOf(post.embed);
  if (photos.length === 0) return null;
  const sensitive = isSensitive(post);
  const rkey = post.uri.slice(post.uri.lastIndexOf('/') + 1);
  const mediaItems: NormalizedMedia[] = photos.map((photo) => ({
    remoteUrl: photo.fullsize,
    alt: photo.alt.trim() === '' ? null : photo.alt,
    sensitive,
  }));
  const postedAt = validDate(post.record.createdAt) ?? validDate(post.indexedAt) ?? new Date(0);
  return {
    network: 'bluesky',
    remoteId: post.uri,
    url: `${profileUrl(post)}/post/${encodeURIComponent(rkey)}`,
    text: post.record.text,
    language: post.record.langs?.[0] ?? null,
    postedAt,
    author: {
      remoteId: post.author.did,
      handle: post.author.handle,
      name: post.author.displayName?.trim() || post.author.handle,
      profileUrl: profileUrl(post),
      avatarUrl: isHttpUrl(post.author.avatar) ? post.author.avatar : null,
    },
    media: mediaItems,
    sensitive,
    sourceId,
  };
}

// ---------------------------------------------------------------------------------------------
// XRPC client: session, rate-limit budget, errors
// ---------------------------------------------------------------------------------------------

/** Ends the pass without losing anything: the caller reports it and the next pass resumes. */
class PassStop extends Error {
  constructor(
    readonly kind: 'auth' | 'rate-limit' | 'server' | 'network' | 'malformed' | 'client' | 'aborted',
    message: string,
    readonly details: { status?: number; error?: string; resetMs?: number } = {},
  ) {
    super(message);
  }
}

type Bucket = 'login' | 'api';

/** Per run: collect and recheck may run at once on one collector, each with its own signal. */
interface Pass {
  signal: AbortSignal;
  /** createSession at most once per pass: a token that expires right after login must not loop. */
  loggedIn: boolean;
}

interface Budget {
  remaining: number | null;
  resetMs: number | null;
}

interface CallOptions {
  method: 'GET' | 'POST';
  params?: Array<[string, string]>;
  body?: unknown;
  /** Which token to send: none for createSession, the refresh token for refreshSession. */
  auth: 'none' | 'access' | 'refresh';
}

interface RawResponse {
  status: number;
  /** The token the request carried, so a late ExpiredToken does not discard a newer session. */
  token: string | null;
  json: unknown;
  error: string | undefined;
  message: string | undefined;
}

class XrpcClient {
  readonly #budgets: Record<Bucket, Budget> = {
    login: { remaining: null, resetMs: null },
    api: { remaining: null, resetMs: null },
  };
  #access: string | null = null;
  #refresh: string | null = null;
  /** One renewal at a time: a concurrent one would present a refresh token the first just rotated. */
  #renewing: Promise<void> | null = null;

  constructor(
    private readonly deps: CollectorDeps,
    private readonly opts: Required<BlueskyCollectorOptions>,
    private readonly sourceId: string,
  ) {}

  get serviceUrl(): string {
    return this.deps.campaign.sources.bluesky.serviceUrl;
  }

  now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /** One authenticated call with token renewal and rate-limit waits; throws PassStop. */
  async call<T>(
    pass: Pass,
    nsid: string,
    options: Omit<CallOptions, 'auth'>,
    schema: z.ZodType<T>,
  ): Promise<T> {
    let renewed = false;
    for (let attempt = 0; ; attempt++) {
      if (!this.#access) await this.#renew(pass);
      const response = await this.#send(pass, nsid, { ...options, auth: 'access' }, 'api');
      if (response.status === 200) return this.#parse(nsid, response.json, schema);
      if (this.#isTokenError(response) && !renewed) {
        renewed = true;
        if (this.#access === response.token) this.#access = null;
        if (!this.#access) await this.#renew(pass); // else a concurrent run already renewed it
        continue;
      }
      if (response.status === 429 && attempt < 3) {
        await this.#waitOrStop(pass, 'api', nsid);
        continue;
      }
      throw this.#failure(nsid, response);
    }
  }

  #isTokenError(response: RawResponse): boolean {
    return (response.status === 400 || response.status === 401) && TOKEN_ERRORS.has(response.error ?? '');
  }

  #parse<T>(nsid: string, json: unknown, schema: z.ZodType<T>): T {
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new PassStop(
        'malformed',
        `Bluesky sent a malformed ${nsid} answer (${issue?.path.join('.') || 'body'}: ${issue?.message}); the pass stopped and resumes next run`,
      );
    }
    return parsed.data;
  }

  #failure(nsid: string, response: RawResponse): PassStop {
    const what = `${response.status}${response.error ? ` ${response.error}` : ''}`;
    const details = { status: response.status, error: response.error };
    if (response.status === 429) {
      return new PassStop('rate-limit', `Bluesky rate limit on ${nsid} (${what})`, {
        ...details,
        resetMs: this.#budgets.api.resetMs ?? undefined,
      });
    }
    if (response.status >= 500) {
      return new PassStop(
        'server',
        `Bluesky answered ${what} on ${nsid}; the pass stopped and resumes next run`,
        details,
      );
    }
    if (response.status === 401 || response.status === 403) {
      return new PassStop(
        'auth',
        `Bluesky refused ${nsid} (${what}: ${response.message ?? ''}): check BLUESKY_IDENTIFIER and BLUESKY_APP_PASSWORD`,
        details,
      );
    }
    return new PassStop(
      'client',
      `Bluesky rejected ${nsid} (${what}: ${response.message ?? 'no message'})`,
      details,
    );
  }

  // --- session -------------------------------------------------------------------------------

  /** Refreshes (the stored token after a restart), and logs in again only when that is refused. */
  async #renew(pass: Pass): Promise<void> {
    if (!this.#renewing) {
      this.#renewing = (async () => {
        this.#refresh ??= getCursor(this.deps.db, this.sourceId, 'session.refresh') || null;
        if (this.#refresh && (await this.#tryRefresh(pass))) return;
        await this.#login(pass);
      })().finally(() => {
        this.#renewing = null;
      });
    }
    await this.#renewing;
  }

  async #tryRefresh(pass: Pass): Promise<boolean> {
    const response = await this.#send(
      pass,
      'com.atproto.server.refreshSession',
      { method: 'POST', auth: 'refresh' },
      'api',
    );
    if (response.status === 200) {
      this.#adopt(this.#parse('com.atproto.server.refreshSession', response.json, sessionSchema));
      return true;
    }
    if (response.status === 400 || response.status === 401) {
      log.info({ source: this.sourceId, error: response.error }, 'bluesky refresh token refused: logging in');
      this.#refresh = null;
      setCursor(this.deps.db, this.sourceId, 'session.refresh', '');
      return false;
    }
    throw this.#failure('com.atproto.server.refreshSession', response);
  }

  async #login(pass: Pass): Promise<void> {
    if (pass.loggedIn) {
      throw new PassStop('auth', 'Bluesky keeps refusing fresh sessions (token expired right after login)');
    }
    pass.loggedIn = true;
    const { blueskyIdentifier: identifier, blueskyAppPassword: password } = this.deps.settings;
    const nsid = 'com.atproto.server.createSession';
    const response = await this.#send(
      pass,
      nsid,
      { method: 'POST', auth: 'none', body: { identifier, password } },
      'login',
    );
    if (response.status === 200) {
      this.#adopt(this.#parse(nsid, response.json, sessionSchema));
      log.info({ source: this.sourceId }, 'bluesky session created');
      return;
    }
    if (response.status === 401 || response.status === 400) {
      throw new PassStop(
        'auth',
        `Bluesky login failed (${response.status} ${response.error ?? ''}: ${response.message ?? ''}): ` +
          'check BLUESKY_IDENTIFIER (handle or e-mail) and BLUESKY_APP_PASSWORD (an app password from Settings → Privacy and security → App passwords)',
        { status: response.status, error: response.error },
      );
    }
    if (response.status === 429) {
      const resetMs = this.#budgets.login.resetMs ?? this.now() + 5 * 60_000;
      throw new PassStop('rate-limit', 'Bluesky login rate limit reached (30 per 5 minutes, 300 per day)', {
        status: 429,
        resetMs,
      });
    }
    throw this.#failure(nsid, response);
  }

  #adopt(session: z.infer<typeof sessionSchema>): void {
    this.#access = session.accessJwt;
    this.#refresh = session.refreshJwt;
    // refreshSession rotates the refresh token: the stored one must follow or a restart logs in.
    setCursor(this.deps.db, this.sourceId, 'session.refresh', session.refreshJwt);
  }

  // --- transport and rate limits ---------------------------------------------------------------

  async #send(pass: Pass, nsid: string, options: CallOptions, bucket: Bucket): Promise<RawResponse> {
    await this.#spendBudget(pass, bucket, nsid);
    const url = new URL(`${this.serviceUrl}/xrpc/${nsid}`);
    for (const [key, value] of options.params ?? []) url.searchParams.append(key, value);
    const headers: Record<string, string> = { accept: 'application/json' };
    const token =
      options.auth === 'access' ? this.#access : options.auth === 'refresh' ? this.#refresh : null;
    if (token) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';

    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method: options.method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.any([pass.signal, AbortSignal.timeout(this.opts.requestTimeoutMs)]),
      });
      this.#recordBudget(bucket, response.headers);
      text = await response.text();
    } catch (error) {
      if (pass.signal.aborted) throw new PassStop('aborted', 'stopped before the pass ended');
      throw new PassStop(
        'network',
        `cannot reach Bluesky at ${this.serviceUrl} (${nsid}: ${(error as Error).message}); the pass resumes next run`,
      );
    }
    let json: unknown;
    try {
      json = text === '' ? null : JSON.parse(text);
    } catch {
      if (response.status === 200) {
        throw new PassStop(
          'malformed',
          `Bluesky sent truncated or invalid JSON for ${nsid}; the pass stopped and resumes next run`,
        );
      }
      json = null;
    }
    const err = response.status === 200 ? null : xrpcErrorSchema.safeParse(json ?? {});
    return {
      status: response.status,
      token,
      json,
      error: err?.success ? err.data.error : undefined,
      message: err?.success ? err.data.message : undefined,
    };
  }

  #recordBudget(bucket: Bucket, headers: Headers): void {
    const remaining = Number(headers.get('ratelimit-remaining'));
    const reset = Number(headers.get('ratelimit-reset'));
    if (!headers.has('ratelimit-remaining') || !Number.isFinite(remaining)) return;
    this.#budgets[bucket] = {
      remaining,
      resetMs: Number.isFinite(reset) && reset > 0 ? reset * 1000 : null,
    };
  }

  /** Never spends past `remaining`: waits for the window to reset, or ends the pass. */
  async #spendBudget(pass: Pass, bucket: Bucket, nsid: string): Promise<void> {
    if (pass.signal.aborted) throw new PassStop('aborted', 'stopped before the pass ended');
    const budget = this.#budgets[bucket];
    if (budget.remaining === null || budget.remaining > 0) {
      if (budget.remaining !== null) budget.remaining--;
      return;
    }
    if (budget.resetMs !== null && budget.resetMs <= this.now()) {
      budget.remaining = null; // a new window: the next answer's headers say how much it holds
      return;
    }
    await this.#waitOrStop(pass, bucket, nsid);
    budget.remaining = null;
  }

  async #waitOrStop(pass: Pass, bucket: Bucket, nsid: string): Promise<void> {
    const known = this.#budgets[bucket].resetMs;
    // A 429 without a usable reset header: assume a minute, as a polite client would.
    const resetMs = known !== null && known > this.now() ? known : this.now() + 60_000;
    const wait = resetMs - this.now();
    if (wait > this.opts.maxRateLimitWaitMs) {
      throw new PassStop('rate-limit', `Bluesky rate limit reached on ${nsid}`, { resetMs });
    }
    log.info({ source: this.sourceId, nsid, waitMs: wait }, 'bluesky rate limit: waiting for reset');
    await (this.deps.sleep ?? abortableSleep)(Math.max(0, wait), pass.signal);
    if (pass.signal.aborted) throw new PassStop('aborted', 'stopped while waiting for the rate limit');
  }
}

// ---------------------------------------------------------------------------------------------
// Queries and the collection pass
// ---------------------------------------------------------------------------------------------

interface Query {
  key: string;
  params: Array<[string, string]>;
}

export function blueskyQueries(deps: Pick<CollectorDeps, 'campaign'>): Query[] {
  const queries: Query[] = [];
  for (const tag of deps.campaign.hashtags) {
    // `tag` needs a `q` beside it (required); "#tag" is what bsky.app's hashtag page sends.
    queries.push({
      key: `tag:${tag.toLowerCase()}`,
      params: [
        ['q', `#${tag}`],
        ['tag', tag],
      ],
    });
  }
  const phrases = new Set<string>();
  for (const demand of deps.campaign.demands) {
    for (const list of Object.values(demand.phrases)) for (const p of list) phrases.add(p);
  }
  for (const phrase of phrases) {
    queries.push({ key: `q:${phrase.toLowerCase()}`, params: [['q', `"${phrase.replaceAll('"', '')}"`]] });
  }
  return queries;
}

interface Progress {
  cursor: string;
  since: string | null;
  newest: string | null;
}

interface PassState {
  counts: RunCounts;
  seen: Set<string>;
  done: number;
  ctx: RunContext;
  pass: Pass;
}

function readProgress(deps: CollectorDeps, sourceId: string, key: string): Progress | null {
  const raw = getCursor(deps.db, sourceId, `page:${key}`);
  if (!raw) return null;
  try {
    const value = JSON.parse(raw) as Progress;
    return typeof value.cursor === 'string' ? value : null;
  } catch {
    return null;
  }
}

function later(a: string | null, b: string): string {
  return a === null || b > a ? b : a;
}

export function createBlueskyCollector(
  deps: CollectorDeps,
  options: BlueskyCollectorOptions = {},
): Collector {
  const sourceId = BLUESKY_SOURCE_ID;
  const opts: Required<BlueskyCollectorOptions> = {
    pageSize: Math.min(100, Math.max(1, options.pageSize ?? 100)),
    maxPagesPerQuery: options.maxPagesPerQuery ?? 100,
    maxRateLimitWaitMs: options.maxRateLimitWaitMs ?? 120_000,
    sinceOverlapMs: options.sinceOverlapMs ?? 2 * 60_000,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
  };
  const client = new XrpcClient(deps, opts, sourceId);
  const { blueskyIdentifier, blueskyAppPassword } = deps.settings;
  const unavailableReason =
    blueskyIdentifier && blueskyAppPassword
      ? null
      : 'BLUESKY_IDENTIFIER and BLUESKY_APP_PASSWORD are not set: create an app password in Bluesky (Settings → Privacy and security → App passwords) and set both';

  /** `since` bounds the walk; posts at or before `watermark` were handled by the last pass (overlap). */
  async function ingestPage(
    state: PassState,
    items: unknown[],
    since: string | null,
    watermark: string | null,
  ) {
    let newest: string | null = null;
    let reachedWatermark = false;
    for (const item of items) {
      const parsed = postViewSchema.safeParse(item);
      if (!parsed.success) {
        state.counts.errors++;
        const uri = (item as { uri?: unknown } | null)?.uri;
        log.warn(
          {
            source: sourceId,
            uri: typeof uri === 'string' ? uri : null,
            issue: parsed.error.issues[0]?.message,
          },
          'bluesky post skipped: malformed',
        );
        continue;
      }
      const post = parsed.data;
      const sortAt = sortTime(post);
      if (since !== null && sortAt < since) {
        reachedWatermark = true;
        continue;
      }
      newest = later(newest, sortAt);
      if (state.seen.has(post.uri)) continue;
      state.seen.add(post.uri);
      const normalized = mapBlueskyPost(post, sourceId);
      if (!normalized) continue;
      const result = await deps.ingest.ingest(normalized);
      // Re-read overlap posts count only when they are new (indexed late), not on every pass.
      if (result.created || watermark === null || sortAt > watermark) state.counts.found++;
      if (result.created) state.counts.created++;
      state.done++;
    }
    state.ctx.progress?.(state.done, null);
    return { newest, reachedWatermark };
  }

  function effectiveSince(key: string): string | null {
    const watermark = getCursor(deps.db, sourceId, `since:${key}`);
    if (!watermark) return null;
    const time = new Date(watermark).getTime();
    return Number.isNaN(time) ? null : new Date(time - opts.sinceOverlapMs).toISOString();
  }

  /** Walks one query newest-first down to the watermark; commits its cursors only after each page. */
  async function runQuery(state: PassState, query: Query): Promise<void> {
    const resumed = readProgress(deps, sourceId, query.key);
    const watermark = getCursor(deps.db, sourceId, `since:${query.key}`) || null;
    const since = resumed ? resumed.since : effectiveSince(query.key);
    let cursor = resumed?.cursor;
    let newest = resumed?.newest ?? null;
    let emptyPages = 0;

    for (let page = 0; ; page++) {
      if (state.ctx.signal.aborted) throw new PassStop('aborted', 'stopped before the pass ended');
      if (page >= opts.maxPagesPerQuery) return; // progress is saved: the next pass goes on from here
      const params: Array<[string, string]> = [
        ...query.params,
        ['sort', 'latest'],
        ['limit', `${opts.pageSize}`],
      ];
      if (since) params.push(['since', since]);
      if (cursor) params.push(['cursor', cursor]);
      let answer: z.infer<typeof searchPageSchema>;
      try {
        answer = await client.call(
          state.pass,
          'app.bsky.feed.searchPosts',
          { method: 'GET', params },
          searchPageSchema,
        );
      } catch (error) {
        if (error instanceof PassStop && error.kind === 'client' && resumed && cursor === resumed.cursor) {
          // A stale stored cursor: forget it so the next pass walks this query from the top.
          setCursor(deps.db, sourceId, `page:${query.key}`, '');
        }
        throw error;
      }
      const { newest: pageNewest, reachedWatermark } = await ingestPage(
        state,
        answer.posts,
        since,
        watermark,
      );
      if (pageNewest) newest = later(newest, pageNewest);
      emptyPages = answer.posts.length === 0 ? emptyPages + 1 : 0;

      const next = answer.cursor;
      const finished = !next || next === cursor || reachedWatermark || emptyPages >= MAX_EMPTY_PAGES;
      if (finished) {
        // Never move the watermark back (the newest post of last time may have been deleted).
        const mark = newest === null ? watermark : later(watermark, newest);
        if (mark) setCursor(deps.db, sourceId, `since:${query.key}`, mark);
        setCursor(deps.db, sourceId, `page:${query.key}`, '');
        return;
      }
      setCursor(deps.db, sourceId, `page:${query.key}`, JSON.stringify({ cursor: next, since, newest }));
      cursor = next;
    }
  }

  function rateLimitedUntil(): number | null {
    const raw = getCursor(deps.db, sourceId, 'rate-limit-reset');
    const reset = raw ? Number(raw) : Number.NaN;
    return Number.isFinite(reset) && reset > client.now() ? reset : null;
  }

  function finish(counts: RunCounts, error: unknown): RunCounts {
    if (!(error instanceof PassStop)) throw error;
    if (error.kind === 'aborted') return { ...counts, message: error.message };
    if (error.kind === 'rate-limit') {
      const resetMs = error.details.resetMs ?? client.now() + 60_000;
      setCursor(deps.db, sourceId, 'rate-limit-reset', String(resetMs));
      return { ...counts, message: `${error.message}; next pass after ${new Date(resetMs).toISOString()}` };
    }
    log.warn({ source: sourceId, kind: error.kind, ...error.details }, error.message);
    return { ...counts, errors: counts.errors + 1, message: error.message };
  }

  function guard(): RunCounts | null {
    if (unavailableReason) return { found: 0, created: 0, errors: 1, message: unavailableReason };
    const until = rateLimitedUntil();
    if (until !== null) {
      return {
        found: 0,
        created: 0,
        errors: 0,
        message: `skipped: Bluesky rate limit resets at ${new Date(until).toISOString()}`,
      };
    }
    return null;
  }

  async function collect(ctx: RunContext): Promise<RunCounts> {
    const skipped = guard();
    if (skipped) return skipped;
    const state: PassState = {
      counts: { found: 0, created: 0, errors: 0 },
      seen: new Set(),
      done: 0,
      ctx,
      pass: { signal: ctx.signal, loggedIn: false },
    };
    const queries = blueskyQueries(deps);
    // Start where the last pass stopped: with a budget smaller than the query list, starting
    // from the first query every time would re-read the same queries and never reach the rest.
    const start = Number(getCursor(deps.db, sourceId, 'next-query') ?? 0) % queries.length || 0;
    let current = start;
    try {
      for (let k = 0; k < queries.length; k++) {
        current = (start + k) % queries.length;
        await runQuery(state, queries[current] as Query);
      }
    } catch (error) {
      setCursor(deps.db, sourceId, 'next-query', String(current));
      return finish(state.counts, error);
    }
    setCursor(deps.db, sourceId, 'next-query', '0');
    return state.counts;
  }

  function displayedPosts(): Array<{ id: number; uri: string }> {
    return deps.db
      .selectDistinct({ id: posts.id, uri: posts.remoteId })
      .from(posts)
      .innerJoin(media, eq(media.postId, posts.id))
      .where(
        and(
          eq(posts.network, 'bluesky'),
          inArray(posts.status, ['approved', 'pending']),
          eq(media.state, 'stored'),
        ),
      )
      .orderBy(posts.id)
      .all();
  }

  async function recheck(ctx: RunContext): Promise<RunCounts> {
    const skipped = guard();
    if (skipped) return skipped;
    const pass: Pass = { signal: ctx.signal, loggedIn: false };
    const counts: RunCounts = { found: 0, created: 0, errors: 0 };
    const rows = displayedPosts();
    let removed = 0;
    try {
      for (let i = 0; i < rows.length; i += GET_POSTS_BATCH) {
        if (ctx.signal.aborted) throw new PassStop('aborted', 'stopped before the re-check ended');
        const batch = rows.slice(i, i + GET_POSTS_BATCH);
        const params = batch.map((row): [string, string] => ['uris', row.uri]);
        const answer = await client.call(
          pass,
          'app.bsky.feed.getPosts',
          { method: 'GET', params },
          getPostsSchema,
        );
        const alive = new Set(
          answer.posts.flatMap((p) => {
            const parsed = uriOnlySchema.safeParse(p);
            return parsed.success ? [parsed.data.uri] : [];
          }),
        );
        for (const row of batch) {
          counts.found++;
          if (alive.has(row.uri)) continue;
          // Deleted, or its author went private or was taken down: either way it leaves the wall.
          if (await removePost(deps, row.id, { rule: 'deleted at source' })) removed++;
        }
        ctx.progress?.(counts.found, rows.length);
      }
    } catch (error) {
      const ended = finish(counts, error);
      return { ...ended, message: `${ended.message}; removed ${removed}` };
    }
    return { ...counts, message: `checked ${counts.found}, removed ${removed}` };
  }

  return { id: sourceId, unavailableReason, collect, recheck };
}
