/**
 * A local stand-in for X API v2 (recent search and tweet lookup) plus the photo files its
 * media URLs point at. It answers in X's wire shapes — field selection by `tweet.fields`,
 * `media.fields`, `user.fields` and `expansions`, HTML-escaped text with the t.co photo link X
 * appends, `x-rate-limit-*` headers, problem+json errors — so the collector is tested against
 * what X really sends. Listens on 127.0.0.1 only.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';

export interface FakeXUser {
  id: string;
  username: string;
  name: string;
  /** Avatar URL; absent or null: X sends no profile_image_url. */
  avatar?: string | null;
}

export interface FakeXMedia {
  key: string;
  type: 'photo' | 'video' | 'animated_gif';
  alt?: string | null;
  width?: number;
  height?: number;
}

export interface FakeXTweet {
  id: string;
  /** Plain text as the author typed it; the fake escapes it and appends the photo link as X does. */
  text: string;
  createdAt: string;
  lang?: string;
  sensitive?: boolean;
  author: FakeXUser;
  media: FakeXMedia[];
  /** Fields merged over the served tweet object, to serve a malformed item. */
  raw?: Record<string, unknown>;
}

/** `malformed`: valid JSON that is not a search response; `drop`: the connection closes without an answer. */
export type FakeXFailureKind = '503' | 'truncated' | '429' | 'drop' | 'malformed';

export interface FakeXFailure {
  /** The n-th request (1-based) to this endpoint fails. */
  on: number;
  kind: FakeXFailureKind;
  endpoint?: 'search' | 'lookup';
}

export interface FakeXOptions {
  token?: string;
  tweets?: FakeXTweet[];
  /** Page size served, overriding `max_results` (tests get several pages from a few tweets). */
  pageSize?: number;
  /** Requests per window, per endpoint (X: 450 per 15 minutes for app-auth recent search). */
  rateLimit?: number;
  windowSeconds?: number;
  /** Reset delay of an injected 429, in seconds. */
  injected429ResetSeconds?: number;
  /** Clock for rate-limit windows, in ms (tests advance it from the collector's fake sleep). */
  now?: () => number;
  failures?: FakeXFailure[];
  /** Each next page starts with the previous page's last tweet again (as pagination races do). */
  repeatLastItem?: boolean;
  /** After these page ordinals (1-based, per pagination chain) an empty page with a next_token is served. */
  emptyPagesAfter?: number[];
  /** A since_id below this is refused as X refuses one older than its 7-day window. */
  minSinceId?: string;
}

export interface FakeXRequest {
  endpoint: 'search' | 'lookup' | 'media' | 'other';
  path: string;
  query: Record<string, string>;
  status: number;
  /** The request came while the served window had no requests left. */
  overLimit: boolean;
}

export interface FakeX {
  url: string;
  requests: FakeXRequest[];
  tweets: FakeXTweet[];
  /** Requests that arrived while the window had none left: a well-behaved client makes zero. */
  readonly overLimit: number;
  deleteTweet(id: string): void;
  protectTweet(id: string): void;
  fail(failure: FakeXFailure): void;
  /** URL of a photo served by the fake. */
  mediaUrl(key: string): string;
  close(): Promise<void>;
}

const X_EPOCH = 1288834974657n;

/** A snowflake id for a time, as X mints them (sequence bits make ids unique within a millisecond). */
export function snowflake(ms: number, sequence = 0): string {
  return ((BigInt(ms) - X_EPOCH) * 4194304n + BigInt(sequence % 4194304)).toString();
}

/** `n` tweets with one photo each (author i % 50), newest first by id, for big runs and benchmarks. */
export function generateTweets(n: number, options: { startMs?: number; text?: string } = {}): FakeXTweet[] {
  const start = options.startMs ?? Date.parse('2026-03-01T00:00:00Z');
  const tweets: FakeXTweet[] = [];
  for (let i = 0; i < n; i++) {
    const ms = start + i * 1000;
    const a = i % 50;
    tweets.push({
      id: snowflake(ms, i),
      text: options.text ?? `I stand for peace #IStandForPeace End the Korean War! (${i})`,
      createdAt: new Date(ms).toISOString(),
      lang: 'en',
      author: { id: String(9000 + a), username: `supporter${a}`, name: `Supporter ${a}`, avatar: null },
      media: [{ key: `3_${snowflake(ms, i)}`, type: 'photo', alt: null, width: 32, height: 24 }],
    });
  }
  return tweets;
}

/** Orders decimal ids without parsing them (no leading zeros: longer is larger). */
function compareIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function shortCode(id: string): string {
  return createHash('sha1').update(id).digest('base64url').slice(0, 10);
}

/** A small JPEG whose pattern depends on the key: distinct bytes and hashes per photo. */
async function jpegFor(key: string, width = 32, height = 24): Promise<Buffer> {
  const seed = createHash('sha256').update(key).digest();
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const a = seed[c] ?? 1;
        const b = seed[c + 3] ?? 1;
        pixels[o + c] =
          (x * (a % 13) + y * (b % 11) + (seed[c + 6] ?? 0) + ((x ^ y) & (a & 8 ? 16 : 0))) & 255;
      }
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 80 })
    .toBuffer();
}

function problem(status: number, title: string, detail = title) {
  return { title, detail, type: 'about:blank', status };
}

function invalidRequest(parameter: string, value: string, message: string) {
  return {
    errors: [{ parameters: { [parameter]: [value] }, message }],
    title: 'Invalid Request',
    detail: 'One or more parameters to your request was invalid.',
    type: 'https://api.twitter.com/2/problems/invalid-request',
  };
}

function fieldSet(query: Record<string, string>, name: string): Set<string> {
  return new Set((query[name] ?? '').split(',').filter(Boolean));
}

/** X's matching, reduced to what the collector's queries use: any hashtag or exact phrase of the OR group. */
function matches(queryText: string, text: string): boolean {
  const terms = queryText.match(/#[\p{L}\p{N}_]+|"[^"]+"/gu) ?? [];
  const haystack = text.toLocaleLowerCase();
  return terms.some((term) => {
    const needle = term.startsWith('"') ? term.slice(1, -1) : term;
    return haystack.includes(needle.toLocaleLowerCase());
  });
}

interface PageToken {
  before: string;
  page: number;
}

function encodeToken(token: PageToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeToken(text: string): PageToken | null {
  try {
    const value = JSON.parse(Buffer.from(text.replace(/\.e$/, ''), 'base64url').toString()) as PageToken;
    return typeof value.before === 'string' && typeof value.page === 'number' ? value : null;
  } catch {
    return null;
  }
}

export async function startFakeX(options: FakeXOptions = {}): Promise<FakeX> {
  const token = options.token ?? 'test-token';
  const now = options.now ?? Date.now;
  const limit = options.rateLimit ?? 450;
  const windowMs = (options.windowSeconds ?? 900) * 1000;
  const tweets = options.tweets ?? [];
  const failures = [...(options.failures ?? [])];
  const deleted = new Set<string>();
  const protectedIds = new Set<string>();
  const images = new Map<string, Promise<Buffer>>();
  const requests: FakeXRequest[] = [];
  const counters = { search: 0, lookup: 0 };
  const windows = {
    search: { remaining: limit, resetMs: 0 },
    lookup: { remaining: limit, resetMs: 0 },
  };
  let overLimit = 0;
  let base = '';

  const findTweet = (id: string) => tweets.find((t) => t.id === id);
  const mediaUrl = (key: string) => `${base}/media/${encodeURIComponent(key)}.jpg`;

  function serializeTweet(t: FakeXTweet, q: Record<string, string>) {
    const fields = fieldSet(q, 'tweet.fields');
    const expansions = fieldSet(q, 'expansions');
    const short = `https://t.co/${shortCode(t.id)}`;
    const escaped = escapeText(t.text);
    const text = t.media.length > 0 ? `${escaped} ${short}` : escaped;
    const out: Record<string, unknown> = { id: t.id, text, edit_history_tweet_ids: [t.id] };
    if (fields.has('author_id') || expansions.has('author_id')) out.author_id = t.author.id;
    if (fields.has('created_at')) out.created_at = t.createdAt;
    if (fields.has('lang')) out.lang = t.lang ?? 'und';
    if (fields.has('possibly_sensitive')) out.possibly_sensitive = t.sensitive ?? false;
    const keys = t.media.map((m) => m.key);
    if (keys.length > 0 && (fields.has('attachments') || expansions.has('attachments.media_keys'))) {
      out.attachments = { media_keys: keys };
    }
    if (fields.has('entities') && t.media.length > 0) {
      // X counts entity offsets in code points of the unescaped text.
      const start = [...t.text].length + 1;
      out.entities = {
        urls: t.media.map((m, i) => ({
          start,
          end: start + 23,
          url: short,
          expanded_url: `https://x.com/${t.author.username}/status/${t.id}/${m.type === 'photo' ? 'photo' : 'video'}/${i + 1}`,
          display_url: `pic.x.com/${shortCode(t.id)}`,
          media_key: m.key,
        })),
      };
    }
    return { ...out, ...t.raw };
  }

  function serializeMedia(m: FakeXMedia, q: Record<string, string>) {
    const fields = fieldSet(q, 'media.fields');
    const out: Record<string, unknown> = { media_key: m.key, type: m.type };
    if (fields.has('url') && m.type === 'photo') out.url = mediaUrl(m.key);
    if (fields.has('preview_image_url') && m.type !== 'photo')
      out.preview_image_url = mediaUrl(`${m.key}-preview`);
    if (fields.has('width')) out.width = m.width ?? 32;
    if (fields.has('height')) out.height = m.height ?? 24;
    if (fields.has('alt_text') && m.alt) out.alt_text = m.alt;
    return out;
  }

  function serializeUser(u: FakeXUser, q: Record<string, string>) {
    const fields = fieldSet(q, 'user.fields');
    const out: Record<string, unknown> = { id: u.id, name: u.name, username: u.username };
    if (fields.has('profile_image_url') && u.avatar) out.profile_image_url = u.avatar;
    return out;
  }

  function searchPage(q: Record<string, string>): { status: number; body: unknown } {
    const queryText = q.query ?? '';
    if (!queryText || queryText.length > 512) {
      return { status: 400, body: invalidRequest('query', queryText, 'query must be 1 to 512 characters') };
    }
    if (!queryText.includes('has:images') || !queryText.includes('-is:retweet')) {
      return {
        status: 400,
        body: invalidRequest('query', queryText, 'the fake expects has:images -is:retweet'),
      };
    }
    const maxResults = Number(q.max_results ?? 10);
    if (!Number.isInteger(maxResults) || maxResults < 10 || maxResults > 100) {
      return {
        status: 400,
        body: invalidRequest('max_results', String(q.max_results), 'max_results must be between 10 and 100'),
      };
    }
    const since = q.since_id ?? null;
    if (since !== null && options.minSinceId && compareIds(since, options.minSinceId) < 0) {
      return {
        status: 400,
        body: invalidRequest(
          'since_id',
          String(q.since_id),
          `Invalid 'since_id':'${q.since_id}'. 'since_id' must be a tweet id created after the start of the search window.`,
        ),
      };
    }
    let position: PageToken = { before: '', page: 0 };
    if (q.next_token) {
      const decoded = decodeToken(q.next_token);
      if (!decoded)
        return { status: 400, body: invalidRequest('next_token', q.next_token, 'invalid next_token') };
      position = decoded;
    }
    const pageNumber = position.page + 1;
    if (options.emptyPagesAfter?.includes(position.page) && !q.next_token?.endsWith('.e')) {
      const again = `${encodeToken(position)}.e`;
      return { status: 200, body: { meta: { result_count: 0, next_token: again } } };
    }
    const size = options.pageSize ?? maxResults;
    const before = position.before || null;
    const candidates = tweets
      // has:images, loosely as X: any attached media passes, so the collector's own photo filter is tested.
      .filter((t) => t.media.length > 0)
      .filter((t) => !deleted.has(t.id) && !protectedIds.has(t.id) && matches(queryText, t.text))
      .filter((t) => since === null || compareIds(t.id, since) > 0)
      .filter((t) => {
        if (before === null) return true;
        const order = compareIds(t.id, before);
        return options.repeatLastItem ? order <= 0 : order < 0;
      })
      .sort((a, b) => compareIds(b.id, a.id));
    const page = candidates.slice(0, size);
    const rest = candidates.length > page.length;
    const last = page[page.length - 1];
    const meta: Record<string, unknown> = { result_count: page.length };
    if (page[0] && last) {
      meta.newest_id = page[0].id;
      meta.oldest_id = last.id;
    }
    if (rest && last) meta.next_token = encodeToken({ before: last.id, page: pageNumber });
    if (page.length === 0) return { status: 200, body: { meta } };
    const expansions = fieldSet(q, 'expansions');
    const includes: Record<string, unknown[]> = {};
    if (expansions.has('attachments.media_keys')) {
      includes.media = page.flatMap((t) => t.media.map((m) => serializeMedia(m, q)));
    }
    if (expansions.has('author_id')) {
      const users = new Map(page.map((t) => [t.author.id, t.author]));
      includes.users = [...users.values()].map((u) => serializeUser(u, q));
    }
    return { status: 200, body: { data: page.map((t) => serializeTweet(t, q)), includes, meta } };
  }

  function lookup(q: Record<string, string>): { status: number; body: unknown } {
    const ids = (q.ids ?? '').split(',').filter(Boolean);
    if (ids.length === 0 || ids.length > 100) {
      return { status: 400, body: invalidRequest('ids', q.ids ?? '', 'ids must hold 1 to 100 tweet ids') };
    }
    const data: unknown[] = [];
    const errors: unknown[] = [];
    for (const id of ids) {
      const t = findTweet(id);
      if (t && protectedIds.has(id)) {
        errors.push({
          value: id,
          detail: `Sorry, you are not authorized to see the Tweet with ids: [${id}].`,
          title: 'Authorization Error',
          resource_type: 'tweet',
          parameter: 'ids',
          resource_id: id,
          type: 'https://api.twitter.com/2/problems/not-authorized-for-resource',
        });
      } else if (!t || deleted.has(id)) {
        errors.push({
          value: id,
          detail: `Could not find tweet with ids: [${id}].`,
          title: 'Not Found Error',
          resource_type: 'tweet',
          parameter: 'ids',
          resource_id: id,
          type: 'https://api.twitter.com/2/problems/resource-not-found',
        });
      } else {
        data.push(serializeTweet(t, q));
      }
    }
    const body: Record<string, unknown> = {};
    if (data.length > 0) body.data = data;
    if (errors.length > 0) body.errors = errors;
    return { status: 200, body };
  }

  function rateHeaders(endpoint: 'search' | 'lookup') {
    const w = windows[endpoint];
    return {
      'x-rate-limit-limit': String(limit),
      'x-rate-limit-remaining': String(w.remaining),
      'x-rate-limit-reset': String(Math.ceil(w.resetMs / 1000)),
    };
  }

  function sendJson(
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
    truncate = false,
  ) {
    let text = JSON.stringify(body);
    if (truncate) text = text.slice(0, Math.max(1, Math.floor(text.length / 2)));
    res.writeHead(status, {
      'content-type': status >= 400 ? 'application/problem+json' : 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  async function serveMedia(path: string, res: http.ServerResponse): Promise<number> {
    const key = decodeURIComponent(path.slice('/media/'.length).replace(/\.jpg$/, ''));
    let image = images.get(key);
    if (!image) {
      image = jpegFor(key);
      images.set(key, image);
    }
    const bytes = await image;
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': bytes.length });
    res.end(bytes);
    return 200;
  }

  function serveApi(
    endpoint: 'search' | 'lookup',
    q: Record<string, string>,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): { status: number; overLimit: boolean } {
    if (req.headers.authorization !== `Bearer ${token}`) {
      sendJson(res, 401, problem(401, 'Unauthorized'));
      return { status: 401, overLimit: false };
    }
    const w = windows[endpoint];
    if (now() >= w.resetMs) {
      w.remaining = limit;
      w.resetMs = now() + windowMs;
    }
    if (w.remaining <= 0) {
      overLimit++;
      sendJson(res, 429, problem(429, 'Too Many Requests'), rateHeaders(endpoint));
      return { status: 429, overLimit: true };
    }
    w.remaining--;
    counters[endpoint]++;
    const failure = failures.find(
      (f) => (f.endpoint ?? 'search') === endpoint && f.on === counters[endpoint],
    );
    if (failure) return { status: injectFailure(failure, endpoint, res), overLimit: false };
    const { status, body } = endpoint === 'search' ? searchPage(q) : lookup(q);
    sendJson(res, status, body, rateHeaders(endpoint));
    return { status, overLimit: false };
  }

  function injectFailure(
    failure: FakeXFailure,
    endpoint: 'search' | 'lookup',
    res: http.ServerResponse,
  ): number {
    if (failure.kind === 'drop') {
      res.socket?.destroy();
      return 0;
    }
    if (failure.kind === '503') {
      sendJson(res, 503, problem(503, 'Service Unavailable'), rateHeaders(endpoint));
      return 503;
    }
    if (failure.kind === '429') {
      const w = windows[endpoint];
      w.remaining = 0;
      w.resetMs = now() + (options.injected429ResetSeconds ?? 60) * 1000;
      sendJson(res, 429, problem(429, 'Too Many Requests'), rateHeaders(endpoint));
      return 429;
    }
    if (failure.kind === 'malformed') {
      sendJson(res, 200, { data: 'not a list', meta: { result_count: 'many' } }, rateHeaders(endpoint));
      return 200;
    }
    // A body cut in half, with a Content-Length that matches it: only the JSON parser notices.
    sendJson(
      res,
      200,
      { data: [{ id: '1', text: 'cut' }], meta: { result_count: 1 } },
      rateHeaders(endpoint),
      true,
    );
    return 200;
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query = Object.fromEntries(url.searchParams);
    const record = (endpoint: FakeXRequest['endpoint'], status: number, over = false) =>
      requests.push({ endpoint, path: url.pathname, query, status, overLimit: over });
    if (req.method === 'GET' && url.pathname.startsWith('/media/')) {
      serveMedia(url.pathname, res).then(
        (status) => record('media', status),
        () => {
          res.writeHead(500).end();
          record('media', 500);
        },
      );
      return;
    }
    const endpoint =
      url.pathname === '/2/tweets/search/recent' ? 'search' : url.pathname === '/2/tweets' ? 'lookup' : null;
    if (req.method !== 'GET' || !endpoint) {
      sendJson(res, 404, problem(404, 'Not Found'));
      record('other', 404);
      return;
    }
    const outcome = serveApi(endpoint, query, req, res);
    record(endpoint, outcome.status, outcome.overLimit);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    requests,
    tweets,
    get overLimit() {
      return overLimit;
    },
    deleteTweet: (id) => deleted.add(id),
    protectTweet: (id) => protectedIds.add(id),
    fail: (failure) => failures.push(failure),
    mediaUrl,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
