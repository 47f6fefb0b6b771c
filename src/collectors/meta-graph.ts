/**
 * What the Instagram and Threads collectors share: Meta's Graph API conventions.
 *
 * Errors come as `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}` whatever
 * the HTTP status, so the code decides what happened, not the status: 190 is a token that
 * expired or was revoked (asking again cannot help, so the token's fingerprint is remembered and
 * passes are skipped until it changes), 4/17/32/613 and the 8000x business-use-case codes are
 * rate limits, 100 with "does not exist" is a deleted object (what the re-check looks for).
 *
 * Budgets are sent as percentages in `x-app-usage` and `x-business-use-case-usage` (the latter
 * also says how many minutes until access is regained). At 95 % of any of them the client stops
 * spending: it waits if the reset is close, otherwise the pass ends and the reset is remembered.
 */
import { createHash } from 'node:crypto';
import { and, desc, eq, inArray, ne } from 'drizzle-orm';
import { z } from 'zod';
import { media, posts } from '../db/schema.ts';
import type { IngestService } from '../ingest/ingest.ts';
import type { Network, NormalizedPost } from '../ingest/normalized-post.ts';
import { log } from '../log.ts';
import { removePost } from '../moderation/remove.ts';
import type { RunContext, RunCounts } from '../scheduler/scheduler.ts';
import { abortableSleep } from '../util/abortable-sleep.ts';
import { getCursor, setCursor } from './cursors.ts';
import type { CollectorDeps } from './types.ts';

/** Usage (percent of any budget) at which the client stops spending. */
export const USAGE_CEILING = 95;
/** Graph API codes meaning "too many calls" (app, user, page, custom, Instagram/Threads BUC). */
const RATE_LIMIT_CODES = new Set([4, 17, 32, 613, 80001, 80002, 80004, 80006, 80008, 80014]);

export const graphErrorSchema = z.object({
  error: z
    .object({
      message: z.string().default(''),
      type: z.string().optional(),
      code: z.number().optional(),
      error_subcode: z.number().optional(),
      is_transient: z.boolean().optional(),
      fbtrace_id: z.string().optional(),
    })
    .loose(),
});
export type GraphError = z.infer<typeof graphErrorSchema>['error'];

export function isRateLimitError(error: GraphError): boolean {
  return error.code !== undefined && RATE_LIMIT_CODES.has(error.code);
}

export function isMissingObject(error: GraphError): boolean {
  return error.code === 100 && (error.error_subcode === 33 || /does not exist/i.test(error.message));
}

/** A short, non-reversible name for a token, so a refused one can be recognised without storing it. */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

/** Graph timestamps look like "2026-11-20T12:01:00+0000"; null when unparseable. */
export function parseGraphTime(value: string): Date | null {
  const date = new Date(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(date.getTime()) ? null : date;
}

export interface Usage {
  /** Highest percentage of any budget reported, or null when no header was sent. */
  percent: number | null;
  /** Meta's estimate of when access comes back (epoch ms), if it gave one. */
  regainAt: number | null;
}

function numbersIn(value: unknown): number[] {
  if (typeof value === 'number' && Number.isFinite(value)) return [value];
  return [];
}

/** Reads `x-app-usage`, `x-business-use-case-usage` (and `x-ad-account-usage`) into one figure. */
export function readUsage(headers: Headers, now: number): Usage {
  let percent: number | null = null;
  let regainMinutes = 0;
  const consider = (entry: unknown) => {
    if (typeof entry !== 'object' || entry === null) return;
    const e = entry as Record<string, unknown>;
    for (const key of ['call_count', 'total_cputime', 'total_time', 'acc_id_util_pct']) {
      for (const n of numbersIn(e[key])) percent = Math.max(percent ?? 0, n);
    }
    for (const n of numbersIn(e.estimated_time_to_regain_access)) regainMinutes = Math.max(regainMinutes, n);
  };
  for (const name of ['x-app-usage', 'x-ad-account-usage']) {
    const raw = headers.get(name);
    if (raw) consider(safeJson(raw));
  }
  const buc = headers.get('x-business-use-case-usage');
  if (buc) {
    const parsed = safeJson(buc);
    if (typeof parsed === 'object' && parsed !== null) {
      for (const list of Object.values(parsed)) if (Array.isArray(list)) list.forEach(consider);
    }
  }
  return { percent, regainAt: regainMinutes > 0 ? now + regainMinutes * 60_000 : null };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Ends (part of) a pass; the caller reports it and the next pass resumes. */
export class GraphStop extends Error {
  constructor(
    readonly kind:
      | 'token'
      | 'auth'
      | 'rate-limit'
      | 'server'
      | 'network'
      | 'malformed'
      | 'client'
      | 'aborted',
    message: string,
    readonly resetMs: number | null = null,
  ) {
    super(message);
  }
}

export interface GraphClientOptions {
  /** Longest rate-limit wait done inside a pass; a later reset ends the pass. */
  maxRateLimitWaitMs: number;
  /** Pause after a rate-limit answer or 95 % usage when Meta gives no estimate. */
  rateLimitBackoffMs: number;
  requestTimeoutMs: number;
}

export interface GraphClientConfig {
  deps: CollectorDeps;
  sourceId: string;
  /** Network name in messages ("Instagram"). */
  label: string;
  baseUrl: string;
  token: string;
  /** The environment variable holding the token, named in messages. */
  tokenEnv: string;
  signal: AbortSignal;
  options: GraphClientOptions;
}

export const cursorKeys = {
  rateLimitReset: 'rate-limit-reset',
  tokenRefused: 'token-refused',
};

/** One pass's HTTP client for a Graph API host. */
export class GraphClient {
  #blockedUntil = 0;
  /** What set the block: Meta's error, or the usage figure. */
  #blockedBy = '';
  requests = 0;

  constructor(private readonly config: GraphClientConfig) {}

  now(): number {
    return this.config.deps.now?.() ?? Date.now();
  }

  /** Keeps a back-off learnt from the last answers for the next pass (which starts a new client). */
  saveBlock(): void {
    if (this.#blockedUntil <= this.now()) return;
    const { deps, sourceId } = this.config;
    const stored = Number(getCursor(deps.db, sourceId, cursorKeys.rateLimitReset) ?? 0);
    if (!(stored >= this.#blockedUntil)) {
      setCursor(deps.db, sourceId, cursorKeys.rateLimitReset, String(this.#blockedUntil));
    }
  }

  /**
   * GET `path` (relative to the base URL) or a `paging.next` URL on the same origin. Returns the
   * parsed JSON; `missingAsNull` turns a "does not exist" answer into null (re-checks), and
   * `beforeSend` runs before every request sent (a retry included), to count it against a budget.
   */
  async get(
    pathOrUrl: string,
    params: Record<string, string> = {},
    call: { missingAsNull?: boolean; beforeSend?: () => void } = {},
  ): Promise<unknown> {
    const url = this.#url(pathOrUrl, params);
    for (let attempt = 0; ; attempt++) {
      await this.#gate();
      call.beforeSend?.();
      const { status, json, headers } = await this.#send(url);
      const usage = readUsage(headers, this.now());
      if (usage.percent !== null && usage.percent >= USAGE_CEILING) {
        this.#blockedUntil = usage.regainAt ?? this.now() + this.config.options.rateLimitBackoffMs;
        this.#blockedBy = `${usage.percent} % of the call budget used`;
      }
      const error = status === 200 ? null : graphErrorSchema.safeParse(json ?? {});
      if (!error) return json;
      const graph = error.success ? error.data.error : null;
      if (graph && isMissingObject(graph) && call.missingAsNull) return null;
      if (graph && isRateLimitError(graph) && attempt === 0) {
        this.#blockedUntil = usage.regainAt ?? this.now() + this.config.options.rateLimitBackoffMs;
        this.#blockedBy = `${status} (#${graph.code}) ${graph.message}`;
        continue; // the gate waits or ends the pass
      }
      throw this.#failure(status, graph);
    }
  }

  #url(pathOrUrl: string, params: Record<string, string>): URL {
    const base = new URL(this.config.baseUrl);
    let url: URL;
    if (/^https?:\/\//i.test(pathOrUrl)) {
      url = new URL(pathOrUrl);
      // A next link elsewhere would receive the token: build it on the configured host instead.
      if (url.origin !== base.origin)
        throw new GraphStop('client', `${this.config.label}: paging link to another host`);
    } else {
      url = new URL(`${this.config.baseUrl}${pathOrUrl}`);
    }
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    url.searchParams.set('access_token', this.config.token);
    return url;
  }

  /** Never spends past 95 % usage: waits for the reset inside the pass or ends it. */
  async #gate(): Promise<void> {
    const { signal, options, label } = this.config;
    if (signal.aborted) throw new GraphStop('aborted', 'stopped before the pass ended');
    const wait = this.#blockedUntil - this.now();
    if (wait <= 0) return;
    if (wait > options.maxRateLimitWaitMs) {
      throw new GraphStop(
        'rate-limit',
        `${label} rate limit reached (${this.#blockedBy})`,
        this.#blockedUntil,
      );
    }
    log.info({ source: this.config.sourceId, waitMs: wait }, 'meta rate limit: waiting for the reset');
    await (this.config.deps.sleep ?? abortableSleep)(wait, signal);
    if (signal.aborted) throw new GraphStop('aborted', 'stopped while waiting for the rate limit');
    this.#blockedUntil = 0;
  }

  async #send(url: URL): Promise<{ status: number; json: unknown; headers: Headers }> {
    const { signal, options, label, baseUrl } = this.config;
    const timeout = AbortSignal.timeout(options.requestTimeoutMs);
    let response: Response;
    let text: string;
    this.requests++;
    try {
      response = await fetch(url, {
        headers: { accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.any([signal, timeout]),
      });
      text = await response.text();
    } catch (error) {
      if (signal.aborted) throw new GraphStop('aborted', 'stopped before the pass ended');
      const why = timeout.aborted ? 'timed out' : (error as Error).message;
      // The URL carries the token: name the host and path only.
      throw new GraphStop(
        'network',
        `cannot reach ${label} at ${baseUrl} (${why}); the pass resumes next run`,
      );
    }
    let json: unknown = null;
    if (text !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        if (response.status === 200) {
          throw new GraphStop(
            'malformed',
            `${label} sent truncated or invalid JSON for ${url.pathname}; the pass stopped and resumes next run`,
          );
        }
      }
    }
    return { status: response.status, json, headers: response.headers };
  }

  #failure(status: number, error: GraphError | null): GraphStop {
    const { label, tokenEnv } = this.config;
    const what = error ? `${status} (#${error.code ?? '?'}) ${error.message}`.trim() : `HTTP ${status}`;
    if (error?.code === 190 || error?.code === 102) {
      const expired = error.error_subcode === 463 || /expired/i.test(error.message);
      const message = expired
        ? `${tokenEnv} expired: generate a new long-lived token`
        : `${tokenEnv} was refused (${what}): generate a new long-lived token`;
      this.#rememberRefusedToken(message);
      return new GraphStop('token', message);
    }
    if (error && isRateLimitError(error)) {
      return new GraphStop('rate-limit', `${label} rate limit (${what})`, this.#blockedUntil);
    }
    if (
      error &&
      (error.code === 10 || error.code === 3 || ((error.code ?? 0) >= 200 && (error.code ?? 0) < 300))
    ) {
      return new GraphStop(
        'auth',
        `${label} refused the request (${what}): check the app's permissions and review`,
      );
    }
    if (status >= 500 || error?.is_transient) {
      return new GraphStop('server', `${label} answered ${what}; the pass stopped and resumes next run`);
    }
    if (status === 401 || status === 403) {
      return new GraphStop('auth', `${label} refused the request (${what}): check ${tokenEnv}`);
    }
    return new GraphStop('client', `${label} rejected the request (${what})`);
  }

  #rememberRefusedToken(message: string): void {
    const { deps, sourceId, token } = this.config;
    setCursor(
      deps.db,
      sourceId,
      cursorKeys.tokenRefused,
      JSON.stringify({ fingerprint: tokenFingerprint(token), message }),
    );
  }
}

/** Why a pass must not call the API now (refused token, rate-limit reset ahead), or null. */
export function skipReason(
  deps: CollectorDeps,
  sourceId: string,
  token: string,
  label: string,
): RunCounts | null {
  const refused = safeJson(getCursor(deps.db, sourceId, cursorKeys.tokenRefused) ?? '') as {
    fingerprint?: unknown;
    message?: unknown;
  } | null;
  if (refused && refused.fingerprint === tokenFingerprint(token)) {
    return {
      found: 0,
      created: 0,
      errors: 1,
      message: `${String(refused.message)} (skipped until the token changes)`,
    };
  }
  const now = deps.now?.() ?? Date.now();
  const reset = Number(getCursor(deps.db, sourceId, cursorKeys.rateLimitReset) ?? '');
  if (Number.isFinite(reset) && reset > now) {
    return {
      found: 0,
      created: 0,
      errors: 0,
      message: `skipped: ${label} rate limit resets at ${new Date(reset).toISOString()}`,
    };
  }
  return null;
}

/** Turns a GraphStop into the pass's counts; anything else is a bug and is rethrown. */
export function finishWith(
  deps: CollectorDeps,
  sourceId: string,
  counts: RunCounts,
  error: unknown,
): RunCounts {
  if (!(error instanceof GraphStop)) throw error;
  const notes = counts.message ? [counts.message] : [];
  if (error.kind === 'aborted') return { ...counts, message: [...notes, error.message].join('; ') };
  if (error.kind === 'rate-limit') {
    const now = deps.now?.() ?? Date.now();
    const resetMs = error.resetMs && error.resetMs > now ? error.resetMs : now + 60_000;
    setCursor(deps.db, sourceId, cursorKeys.rateLimitReset, String(resetMs));
    notes.push(`${error.message}; next pass after ${new Date(resetMs).toISOString()}`);
    return { ...counts, message: notes.join('; ') };
  }
  log.warn({ source: sourceId, kind: error.kind }, error.message);
  notes.push(error.message);
  return { ...counts, errors: counts.errors + 1, message: notes.join('; ') };
}

// ---------------------------------------------------------------------------------------------
// Re-check: GET /{media-id}?fields=id per displayed post
// ---------------------------------------------------------------------------------------------

function displayedPosts(deps: CollectorDeps, network: Network) {
  return deps.db
    .selectDistinct({ id: posts.id, remoteId: posts.remoteId })
    .from(posts)
    .innerJoin(media, eq(media.postId, posts.id))
    .where(
      and(
        eq(posts.network, network),
        inArray(posts.status, ['approved', 'pending']),
        eq(media.state, 'stored'),
      ),
    )
    .orderBy(posts.id)
    .all();
}

/** The newest post of the network not among `checked`: a post the API just served, so it exists. */
function canary(deps: CollectorDeps, network: Network, checked: Set<string>): string | null {
  const rows = deps.db
    .select({ remoteId: posts.remoteId })
    .from(posts)
    .where(and(eq(posts.network, network), ne(posts.status, 'removed')))
    .orderBy(desc(posts.postedAt))
    .limit(20)
    .all();
  return rows.find((r) => !checked.has(r.remoteId))?.remoteId ?? null;
}

/**
 * Asks for each displayed post. Meta answers "does not exist, cannot be loaded due to missing
 * permissions" alike for a deleted post and for one the token may not read, so removals happen
 * only when at least one lookup in the round succeeded: a token that can read no foreign media
 * would otherwise take every post off the wall.
 */
export async function recheckByLookup(
  deps: CollectorDeps,
  network: Network,
  sourceId: string,
  client: GraphClient,
  ctx: RunContext,
): Promise<RunCounts> {
  const rows = displayedPosts(deps, network);
  const counts: RunCounts = { found: 0, created: 0, errors: 0 };
  const missing: Array<{ id: number; remoteId: string }> = [];
  let alive = 0;
  let removed = 0;
  const exists = async (remoteId: string) =>
    (await client.get(`/${encodeURIComponent(remoteId)}`, { fields: 'id' }, { missingAsNull: true })) !==
    null;
  try {
    for (const row of rows) {
      if (ctx.signal.aborted) throw new GraphStop('aborted', 'stopped before the re-check ended');
      if (await exists(row.remoteId)) alive++;
      else missing.push(row);
      counts.found++;
      ctx.progress?.(counts.found, rows.length);
    }
    if (missing.length > 0 && alive === 0) {
      const probe = canary(deps, network, new Set(rows.map((r) => r.remoteId)));
      if (probe && (await exists(probe))) alive++;
    }
  } catch (error) {
    const ended = finishWith(deps, sourceId, counts, error);
    return { ...ended, message: `${ended.message}; removed 0` };
  }
  if (missing.length > 0 && alive === 0) {
    return {
      ...counts,
      errors: 1,
      message: `checked ${counts.found}: every lookup answered "does not exist", which is also what Meta says when the token may not read other accounts' media; nothing removed`,
    };
  }
  for (const row of missing) {
    if (await removePost(deps, row.id, { rule: 'deleted at source' })) removed++;
  }
  return { ...counts, message: `checked ${counts.found}, removed ${removed}` };
}

/** A page of a Graph API edge: the items (validated one by one by the caller) and the cursors. */
export const graphPageSchema = z.object({
  data: z.array(z.unknown()),
  paging: z
    .object({
      cursors: z.object({ before: z.string().optional(), after: z.string().optional() }).optional(),
      next: z.string().optional(),
    })
    .optional(),
});

/** What one collection pass of a Graph API collector carries from page to page. */
export interface GraphPassState {
  client: GraphClient;
  counts: RunCounts;
  /** Posts handled in this pass (a post found by two queries comes up twice). */
  handled: Set<string>;
  /** Malformed items by id (a repeated page would count one twice) or position. */
  malformed: Set<string>;
  done: number;
  ctx: RunContext;
}

/** One item of a page, validated; a malformed one is logged and counted, never fatal. */
export function parseGraphItem<T>(
  schema: z.ZodType<T>,
  raw: unknown,
  state: GraphPassState,
  sourceId: string,
): T | null {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const id = (raw as { id?: unknown } | null)?.id;
  state.malformed.add(typeof id === 'string' ? id : `#${state.malformed.size}`);
  log.warn(
    { source: sourceId, issue: parsed.error.issues[0]?.message },
    `${sourceId} item skipped: malformed`,
  );
  return null;
}

/**
 * Stores a mapped post once per pass. It counts as found when it is new, or newer than the
 * watermark (a re-read overlap is not "found" again).
 */
export async function ingestOnce(
  ingest: IngestService,
  state: GraphPassState,
  id: string,
  post: NormalizedPost | null,
  newerThanWatermark: boolean,
): Promise<void> {
  if (state.handled.has(id)) return;
  state.handled.add(id);
  if (!post) return;
  const result = await ingest.ingest(post);
  if (result.created || newerThanWatermark) state.counts.found++;
  if (result.created) state.counts.created++;
  state.done++;
}
