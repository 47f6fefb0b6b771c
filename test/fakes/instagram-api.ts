/**
 * A local stand-in for the Instagram Graph API (Instagram API with Facebook Login) on 127.0.0.1:
 * `ig_hashtag_search`, `/{hashtag-id}/recent_media` (last 24 hours, up to 50 per page, not in time
 * order, an `after` cursor that is the same on every page as Meta documents, `paging.next`
 * links), `/{media-id}?fields=id`, Meta's error objects (190 expired token, 4/17/32/613 rate
 * limits, 100 does-not-exist), `x-app-usage` / `x-business-use-case-usage` headers over a call
 * budget, failure injection, and the image files. Also the Meta helpers the Threads fake shares.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';

// ---------------------------------------------------------------------------------------------
// Shared with the Threads fake
// ---------------------------------------------------------------------------------------------

/** A small photo-like JPEG, different for every seed (so every photo has its own sha256). */
export async function jpegFor(seed: string, width: number, height: number): Promise<Buffer> {
  const digest = createHash('sha256').update(seed).digest();
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const cell = (Math.floor(x / 16) + Math.floor(y / 16) * 7) % digest.length;
      pixels[i] = ((digest[0] as number) + (x * 255) / width + (digest[cell] as number) / 4) % 256;
      pixels[i + 1] = ((digest[1] as number) + (y * 255) / height) % 256;
      pixels[i + 2] = ((digest[2] as number) + (digest[(cell + 5) % digest.length] as number)) % 256;
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 80 })
    .toBuffer();
}

export function fbtrace(): string {
  return createHash('sha256').update(String(Math.random())).digest('base64url').slice(0, 11);
}

export interface MetaErrorSpec {
  message: string;
  type?: string;
  code: number;
  error_subcode?: number;
  is_transient?: boolean;
}

/** Meta's error object, as every Graph host sends it. */
export function metaError(spec: MetaErrorSpec) {
  const error: Record<string, unknown> = {
    message: spec.message,
    type: spec.type ?? 'OAuthException',
    code: spec.code,
  };
  if (spec.error_subcode !== undefined) error.error_subcode = spec.error_subcode;
  if (spec.is_transient !== undefined) error.is_transient = spec.is_transient;
  error.fbtrace_id = fbtrace();
  return { error };
}

export const RATE_LIMIT_ERRORS: Record<number, MetaErrorSpec> = {
  4: { message: '(#4) Application request limit reached', code: 4, is_transient: true },
  17: { message: '(#17) User request limit reached', code: 17, error_subcode: 2207051, is_transient: true },
  32: { message: '(#32) Page request limit reached', code: 32, is_transient: true },
  613: { message: '(#613) Calls to this api have exceeded the rate limit.', code: 613, is_transient: true },
};

export const EXPIRED_TOKEN: MetaErrorSpec = {
  message: 'Error validating access token: Session has expired on Friday, 20-Nov-26 04:00:00 PST.',
  type: 'OAuthException',
  code: 190,
  error_subcode: 463,
};

export const INVALID_TOKEN: MetaErrorSpec = {
  message: 'Invalid OAuth access token - Cannot parse access token',
  type: 'OAuthException',
  code: 190,
};

export function doesNotExist(id: string): MetaErrorSpec {
  return {
    message: `Unsupported get request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api`,
    type: 'GraphMethodException',
    code: 100,
    error_subcode: 33,
  };
}

/** A call budget reported as Meta does: percentages in x-app-usage and x-business-use-case-usage. */
export class UsageMeter {
  #start = 0;
  #used = 0;
  overLimit = 0;

  constructor(
    private readonly limit: number,
    private readonly windowSeconds: number,
    private readonly now: () => number,
    private readonly businessId: string,
    private readonly type: string,
  ) {}

  #roll(): void {
    const t = this.now();
    if (t >= this.#start + this.windowSeconds * 1000) {
      this.#start = t;
      this.#used = 0;
    }
  }

  /** Spends one call; false (and counted) when the budget was already used up. */
  spend(): boolean {
    this.#roll();
    if (this.#used >= this.limit) {
      this.overLimit++;
      return false;
    }
    this.#used++;
    return true;
  }

  headers(extraRegainMinutes = 0): Record<string, string> {
    this.#roll();
    const pct = Math.min(100, Math.round((this.#used / this.limit) * 100));
    const regain =
      pct >= 100 ? Math.ceil((this.#start + this.windowSeconds * 1000 - this.now()) / 60_000) : 0;
    return {
      'x-app-usage': JSON.stringify({
        call_count: pct,
        total_cputime: Math.floor(pct / 2),
        total_time: Math.floor(pct / 2),
      }),
      'x-business-use-case-usage': JSON.stringify({
        [this.businessId]: [
          {
            type: this.type,
            call_count: pct,
            total_cputime: Math.floor(pct / 3),
            total_time: Math.floor(pct / 3),
            estimated_time_to_regain_access: Math.max(regain, extraRegainMinutes),
          },
        ],
      }),
    };
  }
}

export type MetaFailure =
  | { kind: '503' }
  | { kind: 'truncated' }
  | { kind: 'rate-limit'; code: 4 | 17 | 32 | 613; regainMinutes?: number }
  | { kind: 'expired-token' };

export interface FailureQueue {
  push(path: RegExp, failure: MetaFailure, skip?: number): void;
  take(path: string): MetaFailure | null;
}

export function failureQueue(): FailureQueue {
  const queue: Array<{ path: RegExp; failure: MetaFailure; skip: number }> = [];
  return {
    push(path, failure, skip = 0) {
      queue.push({ path, failure, skip });
    },
    take(path) {
      const index = queue.findIndex((f) => f.path.test(path));
      if (index < 0) return null;
      const entry = queue[index] as (typeof queue)[number];
      if (entry.skip > 0) {
        entry.skip--;
        return null;
      }
      queue.splice(index, 1);
      return entry.failure;
    },
  };
}

/** Graph field selection: "id,children{media_type,media_url}" → {id: null, children: [...]}. */
export function parseFields(fields: string | null): Map<string, string | null> {
  const out = new Map<string, string | null>();
  if (!fields) return out;
  let depth = 0;
  let current = '';
  const flush = () => {
    const m = /^([a-z_]+)(?:\{(.*)\})?$/.exec(current.trim());
    if (m) out.set(m[1] as string, m[2] ?? null);
    current = '';
  };
  for (const ch of fields) {
    if (ch === '{') depth++;
    if (ch === '}') depth--;
    if (ch === ',' && depth === 0) flush();
    else current += ch;
  }
  flush();
  return out;
}

export function pick(object: Record<string, unknown>, fields: Map<string, string | null>) {
  const out: Record<string, unknown> = {};
  for (const name of fields.keys()) if (object[name] !== undefined) out[name] = object[name];
  return out;
}

export function hashtagsIn(text: string): string[] {
  return [...text.matchAll(/#([\p{L}\p{N}_]+)/gu)].map((m) => (m[1] as string).toLocaleLowerCase());
}

/** A stable order that is not time order, as recent_media's. */
const ranks = new Map<string, number>();
export function scrambled<T extends { id: string }>(items: T[]): T[] {
  const rank = (id: string) => {
    let r = ranks.get(id);
    if (r === undefined) {
      r = createHash('sha256').update(id).digest().readUInt32BE(0);
      ranks.set(id, r);
    }
    return r;
  };
  return [...items].sort((a, b) => rank(a.id) - rank(b.id));
}

export async function serveJpeg(
  cache: Map<string, Promise<Buffer>>,
  path: string,
  size: { width: number; height: number },
  res: http.ServerResponse,
): Promise<void> {
  let bytes = cache.get(path);
  if (!bytes) {
    bytes = jpegFor(path, size.width, size.height);
    cache.set(path, bytes);
  }
  const body = await bytes;
  res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length });
  res.end(body);
}

// ---------------------------------------------------------------------------------------------
// The Instagram fake
// ---------------------------------------------------------------------------------------------

export interface FakeInstagramPost {
  id?: string;
  caption?: string;
  /** ISO time; recent_media serves only the last 24 hours of the fake clock. */
  timestamp: string;
  type: 'IMAGE' | 'VIDEO' | 'CAROUSEL_ALBUM';
  /** Carousel children. */
  children?: Array<'IMAGE' | 'VIDEO'>;
  /** Served without media_url (Meta omits it for copyrighted media). */
  noMediaUrl?: boolean;
  /** Served without a timestamp: a malformed item the collector must skip. */
  malformed?: boolean;
}

export interface FakeInstagramOptions {
  token?: string;
  userId?: string;
  apiVersion?: string;
  posts?: FakeInstagramPost[];
  /** Adds this many generated photo posts tagged `generatedTag`, within the last 24 hours. */
  generate?: number;
  generatedTag?: string;
  now?: () => number;
  /** Call budget reported in the usage headers (default: plenty). */
  callLimit?: { limit: number; windowSeconds: number };
  /** Every page after the first starts with the last item of the previous page. */
  repeatLastItem?: boolean;
  /** The first time paging reaches one of these offsets it answers an empty page with a next link. */
  emptyPageAtOffsets?: number[];
  /** false: `/{media-id}` answers "does not exist" for every post (a token that may not read them). */
  foreignMediaReadable?: boolean;
  imageSize?: { width: number; height: number };
}

export interface FakeInstagramRequest {
  kind: 'hashtag-search' | 'recent-media' | 'lookup' | 'image' | 'other';
  path: string;
  params: URLSearchParams;
  status: number;
}

export interface FakeInstagram {
  /** The origin (images are served here too). */
  url: string;
  /** What sources.instagram.baseUrl must be: origin + "/v23.0". */
  baseUrl: string;
  requests: FakeInstagramRequest[];
  /** Requests made when the call budget in the served headers was already spent. */
  readonly overLimit: number;
  /** Unique hashtags queried in the rolling 7 days (Instagram allows 30). */
  readonly uniqueHashtags: number;
  count(kind: FakeInstagramRequest['kind']): number;
  failNext(
    kind: 'hashtag-search' | 'recent-media' | 'lookup',
    failure: MetaFailure,
    opts?: { skip?: number },
  ): void;
  addPost(post: FakeInstagramPost): string;
  deletePost(id: string): void;
  expireToken(): void;
  setToken(token: string): void;
  hashtagId(tag: string): string;
  close(): Promise<void>;
}

interface Stored {
  spec: FakeInstagramPost;
  id: string;
  time: number;
  tags: string[];
  deleted: boolean;
}

const KIND_PATHS: Record<'hashtag-search' | 'recent-media' | 'lookup', RegExp> = {
  'hashtag-search': /\/ig_hashtag_search$/,
  'recent-media': /\/recent_media$/,
  lookup: /^\/v[\d.]+\/\d+$/,
};

function digits(seed: string, length: number): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return BigInt(`0x${hex}`).toString().slice(0, length);
}

export async function startFakeInstagram(options: FakeInstagramOptions = {}): Promise<FakeInstagram> {
  let token = options.token ?? 'IGQVJ-fake-long-lived-token';
  const userId = options.userId ?? '17841405309211844';
  const version = options.apiVersion ?? 'v23.0';
  const now = options.now ?? Date.now;
  const imageSize = options.imageSize ?? { width: 120, height: 90 };
  const meter = new UsageMeter(
    options.callLimit?.limit ?? 100_000,
    options.callLimit?.windowSeconds ?? 3600,
    now,
    userId,
    'instagram',
  );
  const failures = failureQueue();
  const store = new Map<string, Stored>();
  const hashtagWindows = new Map<string, number>();
  const servedEmpty = new Set<string>();
  const images = new Map<string, Promise<Buffer>>();
  const requests: FakeInstagramRequest[] = [];
  let tokenExpired = false;
  let counter = 0;
  let origin = '';

  function addPost(spec: FakeInstagramPost): string {
    counter++;
    const id = spec.id ?? `179${digits(`post-${counter}`, 14)}`;
    store.set(id, {
      spec,
      id,
      time: Date.parse(spec.timestamp),
      tags: hashtagsIn(spec.caption ?? ''),
      deleted: false,
    });
    return id;
  }
  for (const post of options.posts ?? []) addPost(post);
  const generatedTag = options.generatedTag ?? 'IStandForPeace';
  for (let i = 0; i < (options.generate ?? 0); i++) {
    addPost({
      caption: `I stand for peace, photo ${i} #${generatedTag}`,
      timestamp: new Date(now() - 60_000 - ((i * 7_000) % (23 * 3600_000))).toISOString(),
      type: 'IMAGE',
    });
  }

  const hashtagId = (tag: string) => `178${digits(`tag-${tag.toLocaleLowerCase()}`, 14)}`;
  const graphTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+0000');

  function mediaObject(post: Stored, fields: Map<string, string | null>) {
    const { spec } = post;
    const mediaUrl = (n: number) =>
      `${origin}/v/t51.29350-15/${post.id}_${n}_n.jpg?stp=dst-jpg&_nc_ht=scontent.cdninstagram.com`;
    const videoUrl = (n: number) => `${origin}/o1/v/t16/${post.id}_${n}.mp4`;
    const full: Record<string, unknown> = {
      id: post.id,
      media_type: spec.type,
      permalink: `https://www.instagram.com/p/C${digits(post.id, 9)}/`,
      timestamp: spec.malformed ? undefined : graphTime(post.time),
      like_count: 3,
      comments_count: 0,
    };
    if (spec.caption !== undefined) full.caption = spec.caption;
    if (!spec.noMediaUrl && spec.type !== 'CAROUSEL_ALBUM') {
      full.media_url = spec.type === 'VIDEO' ? videoUrl(0) : mediaUrl(0);
    }
    if (spec.type === 'CAROUSEL_ALBUM') {
      const childFields = parseFields(fields.get('children') ?? 'id');
      full.children = {
        data: (spec.children ?? []).map((type, n) =>
          pick(
            {
              id: `180${digits(`${post.id}#${n}`, 14)}`,
              media_type: type,
              media_url: type === 'VIDEO' ? videoUrl(n + 1) : mediaUrl(n + 1),
            },
            childFields,
          ),
        ),
      };
    }
    return pick(full, fields);
  }

  type Answer = { status: number; body: unknown; headers?: Record<string, string> };

  function hashtagSearch(params: URLSearchParams): Answer {
    const q = params.get('q');
    if (!q || params.get('user_id') !== userId) {
      return {
        status: 400,
        body: metaError({ message: '(#100) The parameter user_id and q are required', code: 100 }),
      };
    }
    return { status: 200, body: { data: [{ id: hashtagId(q) }] } };
  }

  /** Instagram's 30 unique hashtags per 7 days, counted on every use of a hashtag. */
  function useHashtag(tag: string): Answer | null {
    const t = now();
    for (const [name, start] of hashtagWindows) if (start + 7 * 86_400_000 <= t) hashtagWindows.delete(name);
    if (hashtagWindows.has(tag)) return null;
    if (hashtagWindows.size >= 30) {
      return {
        status: 400,
        body: metaError({
          message:
            '(#24) You have reached the maximum number of hashtags you can query within a 7 day period',
          code: 24,
          error_subcode: 2207034,
        }),
      };
    }
    hashtagWindows.set(tag, t);
    return null;
  }

  function recentMedia(tagId: string, params: URLSearchParams): Answer {
    if (params.get('user_id') !== userId) {
      return {
        status: 400,
        body: metaError({ message: '(#100) The parameter user_id is required', code: 100 }),
      };
    }
    const limit = Number(params.get('limit') ?? 25);
    if (!Number.isInteger(limit) || limit < 1 || limit > 50) {
      return {
        status: 400,
        body: metaError({ message: '(#100) The limit must be between 1 and 50', code: 100 }),
      };
    }
    const tag = [...new Set([...store.values()].flatMap((p) => p.tags))].find((t) => hashtagId(t) === tagId);
    const t = now();
    const hits = scrambled(
      [...store.values()].filter(
        (p) =>
          !p.deleted && tag !== undefined && p.tags.includes(tag) && p.time > t - 86_400_000 && p.time <= t,
      ),
    );
    const offset = Number(Buffer.from(params.get('page_token') ?? '', 'base64url').toString() || 0);
    const fields = parseFields(params.get('fields') ?? 'id');
    const after = `QVFIU${digits(`after-${tagId}`, 20)}`; // the same on every page, as Meta documents
    const nextUrl = (o: number) => {
      const next = new URL(`${origin}/${version}/${tagId}/recent_media`);
      for (const name of ['user_id', 'fields', 'limit']) {
        const v = params.get(name);
        if (v !== null) next.searchParams.set(name, v);
      }
      next.searchParams.set('access_token', params.get('access_token') ?? '');
      next.searchParams.set('after', after);
      next.searchParams.set('page_token', Buffer.from(String(o)).toString('base64url'));
      return next.toString();
    };
    const emptyKey = `${tagId}@${offset}`;
    if (offset > 0 && options.emptyPageAtOffsets?.includes(offset) && !servedEmpty.has(emptyKey)) {
      servedEmpty.add(emptyKey);
      return { status: 200, body: { data: [], paging: { cursors: { after }, next: nextUrl(offset) } } };
    }
    const start = offset > 0 && options.repeatLastItem ? offset - 1 : offset;
    const page = hits.slice(start, start + limit);
    const body: Record<string, unknown> = { data: page.map((p) => mediaObject(p, fields)) };
    const nextOffset = start + limit;
    body.paging =
      nextOffset < hits.length ? { cursors: { after }, next: nextUrl(nextOffset) } : { cursors: { after } };
    return { status: 200, body };
  }

  function lookup(id: string, params: URLSearchParams): Answer {
    const post = store.get(id);
    if (!post || post.deleted || options.foreignMediaReadable === false) {
      return { status: 400, body: metaError(doesNotExist(id)) };
    }
    return { status: 200, body: mediaObject(post, parseFields(params.get('fields') ?? 'id')) };
  }

  function classify(path: string): FakeInstagramRequest['kind'] {
    if (path.startsWith('/v/') || path.startsWith('/o1/')) return 'image';
    if (KIND_PATHS['hashtag-search'].test(path)) return 'hashtag-search';
    if (KIND_PATHS['recent-media'].test(path)) return 'recent-media';
    if (KIND_PATHS.lookup.test(path)) return 'lookup';
    return 'other';
  }

  function route(kind: FakeInstagramRequest['kind'], path: string, params: URLSearchParams): Answer {
    const parts = path.split('/').filter(Boolean); // [version, ...]
    if (parts[0] !== version) {
      return { status: 400, body: metaError({ message: `Unknown path components: ${path}`, code: 2500 }) };
    }
    switch (kind) {
      case 'hashtag-search': {
        const q = (params.get('q') ?? '').toLocaleLowerCase();
        return (q && useHashtag(q)) || hashtagSearch(params);
      }
      case 'recent-media': {
        const tagId = parts[1] as string;
        const tag = [...hashtagWindows.keys(), ...new Set([...store.values()].flatMap((p) => p.tags))].find(
          (t) => hashtagId(t) === tagId,
        );
        return (tag && useHashtag(tag)) || recentMedia(tagId, params);
      }
      case 'lookup':
        return lookup(parts[1] as string, params);
      default:
        return { status: 400, body: metaError({ message: `Unknown path components: ${path}`, code: 2500 }) };
    }
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    const kind = classify(url.pathname);
    const entry: FakeInstagramRequest = { kind, path: url.pathname, params: url.searchParams, status: 0 };
    requests.push(entry);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}, raw?: string) => {
      entry.status = status;
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
      res.end(raw ?? JSON.stringify(body));
    };
    if (kind === 'image') {
      if (url.pathname.endsWith('.mp4')) return send(415, { error: 'not served' });
      entry.status = 200;
      return serveJpeg(images, url.pathname, imageSize, res);
    }
    const presented = url.searchParams.get('access_token');
    if (presented !== token) return send(400, metaError(INVALID_TOKEN), meter.headers());
    if (tokenExpired) return send(400, metaError(EXPIRED_TOKEN), meter.headers());
    if (!meter.spend()) return send(400, metaError(RATE_LIMIT_ERRORS[4] as MetaErrorSpec), meter.headers());
    const failure = failures.take(url.pathname);
    if (failure?.kind === '503') {
      return send(
        503,
        metaError({
          message: 'An unexpected error has occurred. Please retry your request later.',
          code: 2,
          is_transient: true,
        }),
        meter.headers(),
      );
    }
    if (failure?.kind === 'rate-limit') {
      return send(
        400,
        metaError(RATE_LIMIT_ERRORS[failure.code] as MetaErrorSpec),
        meter.headers(failure.regainMinutes ?? 0),
      );
    }
    if (failure?.kind === 'expired-token') return send(400, metaError(EXPIRED_TOKEN), meter.headers());
    const answer = route(kind, url.pathname, url.searchParams);
    if (failure?.kind === 'truncated' && answer.status === 200) {
      const text = JSON.stringify(answer.body);
      return send(200, null, meter.headers(), text.slice(0, Math.floor(text.length / 2)));
    }
    return send(answer.status, answer.body, meter.headers());
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify(metaError({ message: String(error), code: 1 })));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: origin,
    baseUrl: `${origin}/${version}`,
    requests,
    get overLimit() {
      return meter.overLimit;
    },
    get uniqueHashtags() {
      return hashtagWindows.size;
    },
    count: (kind) => requests.filter((r) => r.kind === kind).length,
    failNext(kind, failure, opts = {}) {
      failures.push(KIND_PATHS[kind], failure, opts.skip ?? 0);
    },
    addPost,
    deletePost(id) {
      const post = store.get(id);
      if (post) post.deleted = true;
    },
    expireToken() {
      tokenExpired = true;
    },
    setToken(next) {
      token = next;
      tokenExpired = false;
    },
    hashtagId,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The edge cases, dated within the 24 hours before `now`: emoji and right-to-left captions, a
 * carousel of three photos, a carousel with a video, a video, a photo without media_url, a
 * malformed item, a post older than 24 hours, an unrelated hashtag, a post with two campaign tags.
 */
export function instagramEdgeCorpus(now: number): FakeInstagramPost[] {
  const ago = (minutes: number) => new Date(now - minutes * 60_000).toISOString();
  return [
    {
      id: '17900000000000001',
      caption: 'Holding my sign 🕊️🇺🇸 End the Korean War #IStandForPeace',
      timestamp: ago(60),
      type: 'IMAGE',
    },
    {
      id: '17900000000000002',
      caption: 'من أجل السلام 🌿 #IStandForPeace',
      timestamp: ago(120),
      type: 'IMAGE',
    },
    {
      id: '17900000000000003',
      caption: 'שלום עכשיו #한반도평화 한반도에 평화를',
      timestamp: ago(180),
      type: 'CAROUSEL_ALBUM',
      children: ['IMAGE', 'IMAGE', 'IMAGE'],
    },
    {
      id: '17900000000000004',
      caption: 'Mixed album #IStandForPeace',
      timestamp: ago(240),
      type: 'CAROUSEL_ALBUM',
      children: ['VIDEO', 'IMAGE'],
    },
    {
      id: '17900000000000005',
      caption: 'A video for peace #IStandForPeace',
      timestamp: ago(300),
      type: 'VIDEO',
    },
    {
      id: '17900000000000006',
      caption: 'Copyrighted #IStandForPeace',
      timestamp: ago(360),
      type: 'IMAGE',
      noMediaUrl: true,
    },
    {
      id: '17900000000000007',
      caption: 'broken #IStandForPeace',
      timestamp: ago(420),
      type: 'IMAGE',
      malformed: true,
    },
    { id: '17900000000000008', caption: 'Too old #IStandForPeace', timestamp: ago(25 * 60), type: 'IMAGE' },
    { id: '17900000000000009', caption: 'Unrelated #cats', timestamp: ago(30), type: 'IMAGE' },
    {
      id: '17900000000000010',
      caption: 'Both #IStandForPeace #PeaceOnKoreanPeninsula End Sanctions Against North Korea',
      timestamp: ago(90),
      type: 'IMAGE',
    },
    {
      id: '17900000000000011',
      timestamp: ago(100),
      type: 'IMAGE',
      caption: 'Only the second tag #EndTheKoreanWar',
    },
    { id: '17900000000000012', timestamp: ago(110), type: 'IMAGE', caption: '#IStandForPeace' },
  ];
}
