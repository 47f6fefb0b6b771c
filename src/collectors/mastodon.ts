/**
 * Mastodon: the campaign's hashtag timelines on every configured instance.
 *
 * Paging. Per (instance, request) a cursor remembers the newest status id committed. The very
 * first pass reads the newest page and then up to `backfillPages` − 1 older pages through
 * `max_id` (40 × 5 = the 200 newest photo posts by default), saving its progress after each
 * page so an interrupted backfill resumes instead of restarting. Every later pass pages
 * forward with `min_id` (Mastodon answers the statuses just newer than it, newest first)
 * until an empty page; the cursor moves only after a page's posts are all committed.
 *
 * The `Link` header is read for its cursor values only: Mastodon builds those URLs from
 * `local`, `limit` and `only_media` and drops `any[]`, so following them verbatim would
 * silently narrow the request to its first hashtag (and could point at another host).
 *
 * Identity. A status seen through two instances has one `uri`: it is both the post's
 * remoteId and its canonicalUri, so the second view is recognised as the same post.
 *
 * Re-checks need the status's id on an instance that served it; ids are per instance, so
 * the collector keeps `status:<uri>` → [{instance, id}] in its cursor table, written right
 * after each ingest and before the page's cursor moves (a crash in between re-reads the page
 * and writes it then). No search round trip, and no request to hosts nobody configured.
 */
import { and, asc, eq, exists, gt, inArray } from 'drizzle-orm';
import { z } from 'zod';
import { media, posts } from '../db/schema.ts';
import type { NormalizedMedia, NormalizedPost } from '../ingest/normalized-post.ts';
import { log } from '../log.ts';
import { removePost } from '../moderation/remove.ts';
import type { RunContext, RunCounts } from '../scheduler/scheduler.ts';
import { abortableSleep } from '../util/abortable-sleep.ts';
import { getCursor, setCursor } from './cursors.ts';
import { htmlToText } from './html-text.ts';
import type { Collector, CollectorDeps } from './types.ts';

export const MASTODON_SOURCE_ID = 'mastodon';
/** Mastodon's limit: a tag timeline request names one hashtag plus at most 4 in `any[]`. */
export const MASTODON_TAGS_PER_REQUEST = 5;
/** Largest `limit` the tag timeline honours. */
const PAGE_LIMIT = 40;
/** Largest number of ids `GET /api/v1/statuses?id[]=` accepts (Mastodon ≥ 4.3). */
const BATCH_LIMIT = 20;
/** Mastodon's `throttle_(un)authenticated_paging`: requests with a cursor, per address or user. */
const PAGING_WINDOW_MS = 15 * 60_000;

export interface MastodonCollectorOptions {
  fetch?: typeof fetch;
  /** Pages read on the very first pass of a request (newest first). Default 5. */
  backfillPages?: number;
  /** Statuses per page, 1–40. Default 40 (Mastodon's maximum). */
  pageLimit?: number;
  /** Paging requests allowed per instance and 15-minute window (Mastodon: 300). */
  pagingBudget?: number;
  /** Longest wait for a rate-limit reset inside a pass; a later reset ends the pass. Default 60 s. */
  maxRateLimitWaitMs?: number;
  /** An instance that demanded a token is left alone this long. Default 1 hour. */
  authRetryMs?: number;
  requestTimeoutMs?: number;
  /** Requests the re-check leaves unspent per instance window, for the collector. Default 60. */
  recheckReserve?: number;
}

// ---------- payloads ----------

const accountSchema = z.object({
  id: z.string(),
  username: z.string().min(1),
  acct: z.string().min(1),
  display_name: z.string().nullish(),
  url: z.string().nullish(),
  avatar: z.string().nullish(),
});

const attachmentSchema = z.object({
  id: z.string(),
  type: z.string(),
  url: z.string().nullish(),
  remote_url: z.string().nullish(),
  description: z.string().nullish(),
});

const statusFields = {
  id: z.string().min(1),
  uri: z.string().min(1),
  url: z.string().nullish(),
  created_at: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not a date'),
  content: z.string().nullish(),
  spoiler_text: z.string().nullish(),
  language: z.string().nullish(),
  sensitive: z.boolean().nullish(),
  account: accountSchema,
  media_attachments: z.array(attachmentSchema).nullish(),
};
const innerStatusSchema = z.object(statusFields);
const statusSchema = z.object({ ...statusFields, reblog: innerStatusSchema.nullish() });
type Status = z.infer<typeof innerStatusSchema>;

// ---------- small pure helpers (exported for tests) ----------

/** Mastodon ids are decimal snowflakes: compare by magnitude, not as text. */
export function compareIds(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) {
    const x = a.replace(/^0+(?=\d)/, '');
    const y = b.replace(/^0+(?=\d)/, '');
    if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `<url>; rel="next", <url>; rel="prev"` → rel → the URL's query parameters. */
export function parseLinkHeader(header: string | null): Map<string, URLSearchParams> {
  const links = new Map<string, URLSearchParams>();
  if (!header) return links;
  for (const m of header.matchAll(/<([^>]*)>\s*((?:;\s*[^;,]+)*)/g)) {
    const rel = /rel="?([^";,]+)"?/i.exec(m[2] ?? '')?.[1];
    if (!rel) continue;
    try {
      links.set(rel.toLowerCase(), new URL(m[1] as string, 'http://link.invalid').searchParams);
    } catch {
      // an unparseable link is no cursor
    }
  }
  return links;
}

/** The campaign's hashtags as requests: one primary tag and up to 4 in `any[]` each. */
export function tagGroups(hashtags: string[]): string[][] {
  const unique = [...new Map(hashtags.map((t) => [t.toLocaleLowerCase(), t])).values()];
  const groups: string[][] = [];
  for (let i = 0; i < unique.length; i += MASTODON_TAGS_PER_REQUEST) {
    groups.push(unique.slice(i, i + MASTODON_TAGS_PER_REQUEST));
  }
  return groups;
}

function hostOf(base: string): string {
  return new URL(base).host.toLowerCase();
}

/** Mastodon serves this file to accounts that never uploaded an avatar. */
function realAvatar(url: string | null | undefined): string | null {
  if (!url) return null;
  return /\/missing\.png(\?.*)?$/i.test(url) ? null : url;
}

/** Maps one timeline status (a boost counts as the status boosted) to a post, or null without photos. */
export function mapStatus(raw: z.infer<typeof statusSchema>, instanceBase: string): NormalizedPost | null {
  const status: Status = raw.reblog ?? raw;
  const sensitive = Boolean(status.sensitive);
  const photos: NormalizedMedia[] = (status.media_attachments ?? []).flatMap((a) => {
    const url = a.url || a.remote_url;
    return a.type === 'image' && url
      ? [{ remoteUrl: url, alt: a.description?.trim() || null, sensitive }]
      : [];
  });
  if (photos.length === 0) return null;
  const account = status.account;
  const acct = account.acct.includes('@') ? account.acct : `${account.acct}@${hostOf(instanceBase)}`;
  const text = [status.spoiler_text?.trim() ?? '', htmlToText(status.content ?? '')]
    .filter(Boolean)
    .join('\n\n');
  return {
    network: 'mastodon',
    remoteId: status.uri,
    canonicalUri: status.uri,
    url: status.url || status.uri,
    text,
    language: status.language || null,
    postedAt: new Date(status.created_at),
    author: {
      remoteId: acct.toLowerCase(),
      handle: acct,
      name: account.display_name?.trim() || account.username,
      profileUrl: account.url || null,
      avatarUrl: realAvatar(account.avatar),
    },
    media: photos,
    sensitive,
    sourceId: MASTODON_SOURCE_ID,
  };
}

// ---------- errors that end part of a pass ----------

/** Ends the work on one instance for this pass; `error` says whether it counts as a failure. */
class InstanceStop extends Error {
  constructor(
    message: string,
    readonly error: boolean,
  ) {
    super(message);
  }
}
class Aborted extends Error {}

// ---------- one instance's HTTP client: rate limits, auth, timeouts ----------

interface Reply {
  status: number;
  body: unknown;
  headers: Headers;
}

interface ClientEnv {
  deps: CollectorDeps;
  fetch: typeof fetch;
  signal: AbortSignal;
  now: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  opts: Required<Omit<MastodonCollectorOptions, 'fetch'>>;
}

const key = {
  rateLimitReset: (base: string) => `rate-limit-reset:${base}`,
  paging: (base: string) => `paging:${base}`,
  auth: (base: string) => `auth-required:${base}`,
  timeline: (base: string, group: string[]) => `timeline:${base}#${group.join('+')}`,
  status: (uri: string) => `status:${uri}`,
  recheckAfter: 'recheck-after',
};

class InstanceClient {
  #remaining: number | null = null;
  #resetAt = 0;
  #paging: { window: number; count: number };

  constructor(
    readonly base: string,
    readonly token: string | null,
    private readonly env: ClientEnv,
  ) {
    const saved = parseJson(getCursor(env.deps.db, MASTODON_SOURCE_ID, key.paging(base)));
    const window = Math.floor(env.now() / PAGING_WINDOW_MS);
    this.#paging =
      typeof saved?.window === 'number' && saved.window === window && typeof saved.count === 'number'
        ? { window, count: saved.count }
        : { window, count: 0 };
  }

  get remaining(): number | null {
    return this.#remaining !== null && this.#resetAt > this.env.now() ? this.#remaining : null;
  }

  /** A message if this instance is to be left alone for now (rate limit or missing token), else null. */
  static blocked(env: ClientEnv, base: string, hasToken: boolean): string | null {
    const db = env.deps.db;
    const reset = Date.parse(getCursor(db, MASTODON_SOURCE_ID, key.rateLimitReset(base)) ?? '');
    if (reset > env.now()) return `${base} is rate limited until ${new Date(reset).toISOString()}`;
    const auth = parseJson(getCursor(db, MASTODON_SOURCE_ID, key.auth(base)));
    if (auth && Number(auth.until) > env.now() && auth.withToken === hasToken)
      return authMessage(base, hasToken);
    return null;
  }

  async get(path: string, paging: boolean): Promise<Reply> {
    for (let attempt = 0; ; attempt++) {
      await this.#spend(paging);
      const reply = await this.#send(path);
      if (reply.status !== 429) return reply;
      this.#remaining = 0;
      this.#resetAt = resetTime(reply.headers) ?? this.env.now() + 5 * 60_000;
      if (attempt > 0) this.#stopUntil(this.#resetAt, 'answered 429 again after waiting');
    }
  }

  /** Waits for (or gives up at) an exhausted budget before a request is spent. */
  async #spend(paging: boolean): Promise<void> {
    if (this.#remaining !== null && this.#remaining <= 0 && this.#resetAt > this.env.now()) {
      await this.#waitUntil(this.#resetAt);
      this.#remaining = null;
    }
    if (!paging) return;
    let window = Math.floor(this.env.now() / PAGING_WINDOW_MS);
    if (window === this.#paging.window && this.#paging.count >= this.env.opts.pagingBudget) {
      await this.#waitUntil((window + 1) * PAGING_WINDOW_MS);
      window = Math.floor(this.env.now() / PAGING_WINDOW_MS);
    }
    this.#paging =
      window === this.#paging.window ? { window, count: this.#paging.count + 1 } : { window, count: 1 };
    setCursor(this.env.deps.db, MASTODON_SOURCE_ID, key.paging(this.base), JSON.stringify(this.#paging));
  }

  async #waitUntil(at: number): Promise<void> {
    const wait = at - this.env.now();
    if (wait > this.env.opts.maxRateLimitWaitMs) this.#stopUntil(at, 'request budget spent');
    log.info({ instance: this.base, waitMs: wait }, 'mastodon rate limit: waiting for the reset');
    await this.env.sleep(Math.max(0, wait), this.env.signal);
    if (this.env.signal.aborted) throw new Aborted();
  }

  #stopUntil(at: number, why: string): never {
    const iso = new Date(at).toISOString();
    setCursor(this.env.deps.db, MASTODON_SOURCE_ID, key.rateLimitReset(this.base), iso);
    throw new InstanceStop(`${this.base}: ${why}, rate limited until ${iso}`, false);
  }

  async #send(path: string): Promise<Reply> {
    if (this.env.signal.aborted) throw new Aborted();
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const timeout = AbortSignal.timeout(this.env.opts.requestTimeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await this.env.fetch(`${this.base}${path}`, {
        headers,
        // A configured instance that moved should be reconfigured, not followed with its token.
        redirect: 'manual',
        signal: AbortSignal.any([this.env.signal, timeout]),
      });
      text = await response.text();
    } catch (error) {
      if (this.env.signal.aborted) throw new Aborted();
      const why = timeout.aborted ? 'timed out' : `unreachable (${(error as Error).message})`;
      throw new InstanceStop(`${this.base}: ${why}`, true);
    }
    this.#readBudget(response.headers);
    if (response.status >= 300 && response.status < 400) {
      const to = response.headers.get('location') ?? 'elsewhere';
      throw new InstanceStop(
        `${this.base} redirects to ${to}: put that address in sources.mastodon.instances`,
        true,
      );
    }
    if (response.status === 401 || response.status === 403) this.#authFailed(response.status);
    if (response.status >= 500) throw new InstanceStop(`${this.base}: HTTP ${response.status}`, true);
    let body: unknown = null;
    if (response.ok) {
      try {
        body = JSON.parse(text);
      } catch {
        throw new InstanceStop(`${this.base}: malformed JSON from ${path.split('?')[0]}`, true);
      }
    }
    return { status: response.status, body, headers: response.headers };
  }

  #readBudget(headers: Headers): void {
    const remaining = Number.parseInt(headers.get('x-ratelimit-remaining') ?? '', 10);
    const reset = resetTime(headers);
    if (Number.isFinite(remaining) && reset !== null) {
      this.#remaining = remaining;
      this.#resetAt = reset;
    }
  }

  #authFailed(status: number): never {
    const until = this.env.now() + this.env.opts.authRetryMs;
    const record = { until, withToken: Boolean(this.token), status };
    setCursor(this.env.deps.db, MASTODON_SOURCE_ID, key.auth(this.base), JSON.stringify(record));
    throw new InstanceStop(authMessage(this.base, Boolean(this.token)), true);
  }
}

function authMessage(base: string, withToken: boolean): string {
  return withToken
    ? `instance ${base} refused the access token in sources.mastodon.tokens: replace it`
    : `instance ${base} requires an access token: set sources.mastodon.tokens`;
}

function resetTime(headers: Headers): number | null {
  const at = Date.parse(headers.get('x-ratelimit-reset') ?? '');
  return Number.isNaN(at) ? null : at;
}

function parseJson(text: string | null): Record<string, unknown> | null {
  if (!text) return null;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function tokenFor(tokens: Record<string, string>, base: string): string | null {
  for (const [url, token] of Object.entries(tokens)) if (url.replace(/\/+$/, '') === base) return token;
  return null;
}

// ---------- a pass ----------

interface Tally {
  found: Set<string>;
  created: number;
  errors: number;
  skipped: number;
  done: number;
  messages: string[];
}

type TimelineState = { minId: string } | { backfill: { top: string; maxId: string; pages: number } };

function readState(text: string | null): TimelineState | null {
  const value = parseJson(text);
  if (typeof value?.minId === 'string') return { minId: value.minId };
  const b = value?.backfill as Record<string, unknown> | undefined;
  if (b && typeof b.top === 'string' && typeof b.maxId === 'string' && typeof b.pages === 'number') {
    return { backfill: { top: b.top, maxId: b.maxId, pages: b.pages } };
  }
  return null;
}

interface Page {
  items: unknown[];
  ids: string[];
  links: Map<string, URLSearchParams>;
}

export function createMastodonCollector(
  deps: CollectorDeps,
  options: MastodonCollectorOptions = {},
): Collector {
  const { db, campaign } = deps;
  const config = campaign.sources.mastodon;
  const opts: ClientEnv['opts'] = {
    backfillPages: options.backfillPages ?? 5,
    pageLimit: Math.min(PAGE_LIMIT, Math.max(1, options.pageLimit ?? PAGE_LIMIT)),
    pagingBudget: options.pagingBudget ?? 300,
    maxRateLimitWaitMs: options.maxRateLimitWaitMs ?? 60_000,
    authRetryMs: options.authRetryMs ?? 60 * 60_000,
    requestTimeoutMs: options.requestTimeoutMs ?? 20_000,
    recheckReserve: options.recheckReserve ?? 60,
  };

  function environment(ctx: RunContext): ClientEnv {
    return {
      deps,
      fetch: options.fetch ?? globalThis.fetch,
      signal: ctx.signal,
      now: deps.now ?? Date.now,
      sleep: deps.sleep ?? abortableSleep,
      opts,
    };
  }

  function clientFor(env: ClientEnv, base: string, tally: { messages: string[] }): InstanceClient | null {
    const token = tokenFor(config.tokens, base);
    const blocked = InstanceClient.blocked(env, base, token !== null);
    if (blocked) {
      tally.messages.push(blocked);
      return null;
    }
    return new InstanceClient(base, token, env);
  }

  async function fetchPage(client: InstanceClient, group: string[], cursor: Record<string, string>) {
    const params = new URLSearchParams();
    for (const tag of group.slice(1)) params.append('any[]', tag);
    params.set('only_media', 'true');
    params.set('limit', String(opts.pageLimit));
    for (const [name, value] of Object.entries(cursor)) params.set(name, value);
    const path = `/api/v1/timelines/tag/${encodeURIComponent(group[0] as string)}?${params}`;
    const reply = await client.get(path, Object.keys(cursor).length > 0);
    if (reply.status === 404) return null; // the instance has never seen the tag
    if (reply.status !== 200) throw new InstanceStop(`${client.base}: HTTP ${reply.status}`, true);
    const items = z.array(z.unknown()).safeParse(reply.body);
    if (!items.success) throw new InstanceStop(`${client.base}: the tag timeline is not a list`, true);
    const ids = items.data.flatMap((item) => {
      const id = (item as { id?: unknown } | null)?.id;
      return typeof id === 'string' && id ? [id] : [];
    });
    return { items: items.data, ids, links: parseLinkHeader(reply.headers.get('link')) } satisfies Page;
  }

  function rememberStatus(uri: string, instance: string, id: string): void {
    const k = key.status(uri);
    const known = parseJsonArray(getCursor(db, MASTODON_SOURCE_ID, k));
    if (known.some((e) => e.instance === instance && e.id === id)) return;
    setCursor(
      db,
      MASTODON_SOURCE_ID,
      k,
      JSON.stringify([...known.filter((e) => e.instance !== instance), { instance, id }]),
    );
  }

  async function ingestPage(page: Page, client: InstanceClient, tally: Tally, ctx: RunContext) {
    for (const item of page.items) {
      const parsed = statusSchema.safeParse(item);
      if (!parsed.success) {
        tally.skipped++;
        log.warn(
          { instance: client.base, issues: parsed.error.issues.slice(0, 3) },
          'malformed mastodon status skipped',
        );
        continue;
      }
      const post = mapStatus(parsed.data, client.base);
      if (!post) continue;
      tally.found.add(post.remoteId);
      const result = await deps.ingest.ingest(post);
      if (result.created) tally.created++;
      if (result.postId !== null)
        rememberStatus(post.remoteId, client.base, (parsed.data.reblog ?? parsed.data).id);
    }
    tally.done += page.items.length;
    ctx.progress?.(tally.done, null);
  }

  function newest(page: Page): string | null {
    return page.ids.reduce<string | null>((a, b) => (a === null || compareIds(b, a) > 0 ? b : a), null);
  }
  function oldest(page: Page): string | null {
    return page.ids.reduce<string | null>((a, b) => (a === null || compareIds(b, a) < 0 ? b : a), null);
  }

  /** First pass of a request: the newest pages, resumable; returns the forward cursor or null. */
  async function backfill(
    client: InstanceClient,
    group: string[],
    k: string,
    from: TimelineState | null,
    tally: Tally,
    ctx: RunContext,
  ) {
    let state = from && 'backfill' in from ? from.backfill : null;
    while (!state || state.pages < opts.backfillPages) {
      if (ctx.signal.aborted) throw new Aborted();
      const page = await fetchPage(client, group, state ? { max_id: state.maxId } : {});
      if (!page || page.items.length === 0) break;
      await ingestPage(page, client, tally, ctx);
      const top = state?.top ?? newest(page) ?? page.links.get('prev')?.get('min_id') ?? null;
      const bottom = oldest(page) ?? page.links.get('next')?.get('max_id') ?? null;
      if (!top || !bottom) break;
      const moved = !state || compareIds(bottom, state.maxId) < 0;
      state = { top, maxId: bottom, pages: (state?.pages ?? 0) + 1 };
      setCursor(db, MASTODON_SOURCE_ID, k, JSON.stringify({ backfill: state }));
      // A short page is the end of the timeline: saves an empty request on every small tag.
      if (!moved || !page.links.has('next') || page.items.length < opts.pageLimit) break;
    }
    if (!state) return null; // nothing tagged yet: the next pass starts from the top again
    setCursor(db, MASTODON_SOURCE_ID, k, JSON.stringify({ minId: state.top }));
    return state.top;
  }

  /** Later passes: pages newer than the cursor, oldest page first, until an empty page. */
  async function forward(
    client: InstanceClient,
    group: string[],
    k: string,
    minId: string,
    tally: Tally,
    ctx: RunContext,
  ) {
    let cursor = minId;
    for (;;) {
      if (ctx.signal.aborted) throw new Aborted();
      const page = await fetchPage(client, group, { min_id: cursor });
      if (!page || page.items.length === 0) return;
      await ingestPage(page, client, tally, ctx);
      const next = newest(page) ?? page.links.get('prev')?.get('min_id') ?? null;
      if (!next || compareIds(next, cursor) <= 0) return; // a page that only repeats the cursor
      cursor = next;
      setCursor(db, MASTODON_SOURCE_ID, k, JSON.stringify({ minId: cursor }));
    }
  }

  async function collectInstance(env: ClientEnv, base: string, tally: Tally, ctx: RunContext) {
    const client = clientFor(env, base, tally);
    if (!client) return;
    try {
      for (const group of tagGroups(campaign.hashtags)) {
        const k = key.timeline(base, group);
        const state = readState(getCursor(db, MASTODON_SOURCE_ID, k));
        // A finished backfill waits for the next pass to look forward: one request less per pass.
        if (state && 'minId' in state) await forward(client, group, k, state.minId, tally, ctx);
        else await backfill(client, group, k, state, tally, ctx);
      }
    } catch (error) {
      if (!(error instanceof InstanceStop)) throw error;
      if (error.error) tally.errors++;
      tally.messages.push(error.message);
      log.warn({ instance: base, message: error.message }, 'mastodon instance pass ended early');
    }
  }

  async function collect(ctx: RunContext): Promise<RunCounts> {
    const env = environment(ctx);
    const tally: Tally = { found: new Set(), created: 0, errors: 0, skipped: 0, done: 0, messages: [] };
    try {
      for (const base of config.instances) {
        if (ctx.signal.aborted) throw new Aborted();
        await collectInstance(env, base, tally, ctx);
      }
    } catch (error) {
      if (!(error instanceof Aborted)) throw error;
      tally.messages.push('stopped before the end of the pass');
    }
    if (tally.skipped > 0) tally.messages.push(`${tally.skipped} malformed statuses skipped`);
    const counts: RunCounts = { found: tally.found.size, created: tally.created, errors: tally.errors };
    if (tally.messages.length > 0) counts.message = tally.messages.join('; ');
    return counts;
  }

  // ---------- re-check ----------

  function displayedPosts(afterId: number) {
    return db
      .select({ id: posts.id, uri: posts.canonicalUri })
      .from(posts)
      .where(
        and(
          eq(posts.network, 'mastodon'),
          inArray(posts.status, ['approved', 'pending']),
          gt(posts.id, afterId),
          exists(
            db
              .select({ one: media.id })
              .from(media)
              .where(and(eq(media.postId, posts.id), eq(media.state, 'stored'))),
          ),
        ),
      )
      .orderBy(asc(posts.id))
      .all();
  }

  /** Which posts (by local status id) the instance no longer shows; null where it could not say. */
  async function missingOn(client: InstanceClient, ids: string[]): Promise<Set<string> | null> {
    const query = ids.map((id) => `id[]=${encodeURIComponent(id)}`).join('&');
    const reply = await client.get(`/api/v1/statuses?${query}`, false);
    if (reply.status === 200 && Array.isArray(reply.body)) {
      const present = new Set(
        reply.body.map((s) => (s as { id?: unknown })?.id).filter((id) => typeof id === 'string'),
      );
      return new Set(ids.filter((id) => !present.has(id)));
    }
    if (reply.status !== 404 && reply.status !== 422) return null;
    // Instances before 4.3 have no batch endpoint: one request per status.
    const missing = new Set<string>();
    for (const id of ids) {
      if (!hasBudget(client)) return missing.size > 0 ? missing : null;
      const one = await client.get(`/api/v1/statuses/${encodeURIComponent(id)}`, false);
      if (one.status === 404 || one.status === 410) missing.add(id);
    }
    return missing;
  }

  function hasBudget(client: InstanceClient): boolean {
    const remaining = client.remaining;
    return remaining === null || remaining > opts.recheckReserve;
  }

  async function recheck(ctx: RunContext): Promise<RunCounts> {
    const env = environment(ctx);
    const after = Number(getCursor(db, MASTODON_SOURCE_ID, key.recheckAfter) ?? 0) || 0;
    let rows = displayedPosts(after);
    if (rows.length === 0 && after > 0) rows = displayedPosts(0);
    const byInstance = new Map<string, Array<{ postId: number; id: string }>>();
    let unknown = 0;
    for (const row of rows) {
      const where = parseJsonArray(getCursor(db, MASTODON_SOURCE_ID, key.status(row.uri)));
      const entry = where.find((e) => config.instances.includes(e.instance)) ?? where[0];
      if (!entry) {
        unknown++;
        continue;
      }
      const list = byInstance.get(entry.instance) ?? [];
      list.push({ postId: row.id, id: entry.id });
      byInstance.set(entry.instance, list);
    }

    const tally = { checked: 0, removed: 0, errors: 0, messages: [] as string[] };
    const reached = new Map<string, number>();
    try {
      for (const [base, list] of byInstance) {
        reached.set(base, 0);
        const client = clientFor(env, base, tally);
        if (!client) continue;
        try {
          for (let i = 0; i < list.length; i += BATCH_LIMIT) {
            if (ctx.signal.aborted) throw new Aborted();
            if (!hasBudget(client)) {
              tally.messages.push(`${base}: re-check paused to keep requests for collection`);
              break;
            }
            const batch = list.slice(i, i + BATCH_LIMIT);
            const missing = await missingOn(
              client,
              batch.map((b) => b.id),
            );
            if (!missing) break;
            for (const b of batch) {
              if (!missing.has(b.id)) continue;
              if (await removePost(deps, b.postId, { rule: 'deleted at source' })) tally.removed++;
            }
            tally.checked += batch.length;
            reached.set(base, i + batch.length);
          }
        } catch (error) {
          if (!(error instanceof InstanceStop)) throw error;
          if (error.error) tally.errors++;
          tally.messages.push(error.message);
        }
      }
    } catch (error) {
      if (!(error instanceof Aborted)) throw error;
    }
    // A partial round resumes before the first post left unchecked; a complete one starts over.
    const firstLeft = [...byInstance].flatMap(([base, list]) =>
      list.slice(reached.get(base) ?? 0, (reached.get(base) ?? 0) + 1),
    );
    const resume = firstLeft.length > 0 ? Math.min(...firstLeft.map((b) => b.postId)) - 1 : 0;
    setCursor(db, MASTODON_SOURCE_ID, key.recheckAfter, String(resume));
    if (unknown > 0) tally.messages.push(`${unknown} posts have no known instance to ask`);
    tally.messages.unshift(`${tally.removed} deleted at source`);
    return { found: tally.checked, created: 0, errors: tally.errors, message: tally.messages.join('; ') };
  }

  return { id: MASTODON_SOURCE_ID, unavailableReason: null, collect, recheck };
}

function parseJsonArray(text: string | null): Array<{ instance: string; id: string }> {
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value)
      ? value.filter(
          (e): e is { instance: string; id: string } =>
            typeof e?.instance === 'string' && typeof e?.id === 'string',
        )
      : [];
  } catch {
    return [];
  }
}
