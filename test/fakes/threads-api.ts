/**
 * A local stand-in for the Threads API on 127.0.0.1: `GET /v1.0/keyword_search` (q, search_type,
 * search_mode TAG|KEYWORD, media_type, since/until in Unix seconds, limit up to 100, `after`
 * cursors with `paging.next`), `GET /v1.0/{media-id}`, Meta's error objects, usage headers,
 * Meta's 2,200-queries-per-24-hours keyword budget (queries without results do not count), failure
 * injection, and the image files. Used by the collector tests, the CLI tests and the benchmark.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  doesNotExist,
  EXPIRED_TOKEN,
  failureQueue,
  hashtagsIn,
  INVALID_TOKEN,
  type MetaErrorSpec,
  type MetaFailure,
  metaError,
  parseFields,
  pick,
  RATE_LIMIT_ERRORS,
  serveJpeg,
  UsageMeter,
} from './instagram-api.ts';

export interface FakeThreadsPost {
  id?: string;
  username?: string;
  text?: string;
  /** ISO time. */
  timestamp: string;
  type: 'IMAGE' | 'VIDEO' | 'CAROUSEL_ALBUM' | 'TEXT_POST';
  children?: Array<{ type: 'IMAGE' | 'VIDEO'; alt?: string }>;
  alt?: string;
  /** The post's topic tag; defaults to the first #hashtag of the text. */
  tag?: string;
  spoiler?: boolean;
}

export interface FakeThreadsOptions {
  token?: string;
  posts?: FakeThreadsPost[];
  /** Adds this many generated photo posts tagged `generatedTag` (benchmarks), in the last days. */
  generate?: number;
  generatedTag?: string;
  now?: () => number;
  /** General call budget reported in the usage headers (default: plenty). */
  callLimit?: { limit: number; windowSeconds: number };
  /** Keyword queries per rolling 24 hours (Meta: 2,200). */
  queryBudget?: number;
  repeatLastItem?: boolean;
  emptyPageAtOffsets?: number[];
  imageSize?: { width: number; height: number };
}

export interface FakeThreadsRequest {
  kind: 'search' | 'lookup' | 'image' | 'other';
  path: string;
  params: URLSearchParams;
  status: number;
}

export interface FakeThreads {
  url: string;
  /** What sources.threads.baseUrl must be: origin + "/v1.0". */
  baseUrl: string;
  requests: FakeThreadsRequest[];
  readonly overLimit: number;
  /** Keyword queries sent after Meta's 24-hour budget was spent. */
  readonly overBudget: number;
  count(kind: FakeThreadsRequest['kind']): number;
  failNext(kind: 'search' | 'lookup', failure: MetaFailure, opts?: { skip?: number }): void;
  addPost(post: FakeThreadsPost): string;
  deletePost(id: string): void;
  expireToken(): void;
  close(): Promise<void>;
}

interface Stored {
  spec: FakeThreadsPost;
  id: string;
  username: string;
  time: number;
  tag: string | null;
  deleted: boolean;
}

const KIND_PATHS = { search: /\/keyword_search$/, lookup: /^\/v[\d.]+\/\d+$/ };

export async function startFakeThreads(options: FakeThreadsOptions = {}): Promise<FakeThreads> {
  const token = options.token ?? 'THAAfake-threads-token';
  const now = options.now ?? Date.now;
  const imageSize = options.imageSize ?? { width: 120, height: 90 };
  const queryBudget = options.queryBudget ?? 2200;
  const meter = new UsageMeter(
    options.callLimit?.limit ?? 100_000,
    options.callLimit?.windowSeconds ?? 3600,
    now,
    '17841400000000000',
    'threads',
  );
  const failures = failureQueue();
  const store = new Map<string, Stored>();
  const servedEmpty = new Set<string>();
  const images = new Map<string, Promise<Buffer>>();
  const requests: FakeThreadsRequest[] = [];
  const queryTimes: number[] = [];
  let overBudget = 0;
  let tokenExpired = false;
  let counter = 0;
  let origin = '';

  function addPost(spec: FakeThreadsPost): string {
    counter++;
    const id = spec.id ?? String(18_000_000_000_000_000n + BigInt(counter * 7919));
    store.set(id, {
      spec,
      id,
      username: spec.username ?? `user${counter}`,
      time: Date.parse(spec.timestamp),
      tag: (spec.tag ?? hashtagsIn(spec.text ?? '')[0] ?? null)?.toLocaleLowerCase() ?? null,
      deleted: false,
    });
    return id;
  }
  for (const post of options.posts ?? []) addPost(post);
  for (let i = 0; i < (options.generate ?? 0); i++) {
    addPost({
      username: `supporter_${i % 500}`,
      text: `I stand for peace, photo ${i} #${options.generatedTag ?? 'IStandForPeace'}`,
      timestamp: new Date(now() - 60_000 - i * 5_000).toISOString(),
      type: 'IMAGE',
      alt: i % 2 === 0 ? `Sign ${i}` : undefined,
    });
  }

  const graphTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+0000');

  function mediaObject(post: Stored, fields: Map<string, string | null>) {
    const { spec } = post;
    const imageUrl = (n: number) =>
      `${origin}/t51.29350-15/${post.id}_${n}_n.jpg?_nc_ht=scontent.cdninstagram.com`;
    const videoUrl = (n: number) => `${origin}/o1/v/t2/${post.id}_${n}.mp4`;
    const full: Record<string, unknown> = {
      id: post.id,
      media_product_type: 'THREADS',
      media_type: spec.type,
      permalink: `https://www.threads.net/@${post.username}/post/C${post.id.slice(-8)}`,
      timestamp: graphTime(post.time),
      shortcode: `C${post.id.slice(-8)}`,
      is_quote_post: false,
      has_replies: false,
    };
    if (spec.username !== '') full.username = post.username;
    if (spec.text !== undefined) full.text = spec.text;
    if (spec.type === 'IMAGE') full.media_url = imageUrl(0);
    if (spec.type === 'VIDEO') full.media_url = videoUrl(0);
    if (spec.alt !== undefined) full.alt_text = spec.alt;
    if (spec.spoiler !== undefined) full.is_spoiler_media = spec.spoiler;
    if (post.tag) full.topic_tag = post.tag;
    if (spec.type === 'CAROUSEL_ALBUM') {
      const childFields = parseFields(fields.get('children') ?? 'id');
      full.children = {
        data: (spec.children ?? []).map((child, n) => {
          const object: Record<string, unknown> = {
            id: String(19_000_000_000_000_000n + BigInt(Number(post.id.slice(-6)) * 10 + n)),
            media_type: child.type,
            media_url: child.type === 'VIDEO' ? videoUrl(n + 1) : imageUrl(n + 1),
          };
          if (child.alt !== undefined) object.alt_text = child.alt;
          return pick(object, childFields);
        }),
      };
    }
    return pick(full, fields);
  }

  type Answer = { status: number; body: unknown };

  function bad(message: string): Answer {
    return { status: 400, body: metaError({ message, type: 'THApiException', code: 100 }) };
  }

  function matches(post: Stored, q: string, mode: string, mediaType: string | null): boolean {
    if (post.deleted) return false;
    if (mediaType === 'IMAGE' && post.spec.type !== 'IMAGE' && post.spec.type !== 'CAROUSEL_ALBUM')
      return false;
    if (mediaType === 'VIDEO' && post.spec.type !== 'VIDEO') return false;
    if (mediaType === 'TEXT' && post.spec.type !== 'TEXT_POST') return false;
    if (mode === 'TAG') return post.tag === q.replace(/^#/, '').toLocaleLowerCase();
    return (post.spec.text ?? '').toLocaleLowerCase().includes(q.toLocaleLowerCase());
  }

  /** Meta's keyword budget: a query counts for 24 hours, unless it found nothing. */
  function budgetSpent(): boolean {
    const t = now();
    while (queryTimes.length > 0 && (queryTimes[0] as number) <= t - 86_400_000) queryTimes.shift();
    return queryTimes.length >= queryBudget;
  }

  function search(params: URLSearchParams): Answer {
    const q = params.get('q');
    if (!q) return bad('The parameter q is required.');
    const mode = params.get('search_mode') ?? 'KEYWORD';
    if (!['KEYWORD', 'TAG'].includes(mode)) return bad('Invalid search_mode');
    if (!['TOP', 'RECENT'].includes(params.get('search_type') ?? 'TOP')) return bad('Invalid search_type');
    const since = params.has('since') ? Number(params.get('since')) : null;
    const until = params.has('until') ? Number(params.get('until')) : null;
    if (since !== null && (!Number.isInteger(since) || since < 1_688_540_400)) return bad('Invalid since');
    if (until !== null && !Number.isInteger(until)) return bad('Invalid until');
    const limit = Number(params.get('limit') ?? 25);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      return bad('The limit must be between 1 and 100');
    const hits = [...store.values()]
      .filter((p) => matches(p, q, mode, params.get('media_type')))
      .filter((p) => (since === null || p.time >= since * 1000) && (until === null || p.time <= until * 1000))
      .sort((a, b) => b.time - a.time || (a.id < b.id ? 1 : -1));
    if (budgetSpent()) {
      overBudget++;
      return { status: 400, body: metaError(RATE_LIMIT_ERRORS[613] as MetaErrorSpec) };
    }
    if (hits.length > 0) queryTimes.push(now());

    const offset = Number(Buffer.from(params.get('after') ?? '', 'base64url').toString() || 0);
    const fields = parseFields(params.get('fields') ?? 'id');
    const cursor = (o: number) => Buffer.from(String(o)).toString('base64url');
    const nextUrl = (o: number) => {
      const next = new URL(`${origin}/v1.0/keyword_search`);
      for (const [k, v] of params) if (k !== 'after') next.searchParams.set(k, v);
      next.searchParams.set('after', cursor(o));
      return next.toString();
    };
    const emptyKey = `${q}@${offset}@${since}`;
    if (offset > 0 && options.emptyPageAtOffsets?.includes(offset) && !servedEmpty.has(emptyKey)) {
      servedEmpty.add(emptyKey);
      const after = `${cursor(offset)}${'_'.repeat(servedEmpty.size)}`; // a new cursor for the same place
      return {
        status: 200,
        body: { data: [], paging: { cursors: { before: cursor(offset), after }, next: nextUrl(offset) } },
      };
    }
    const start = offset > 0 && options.repeatLastItem ? offset - 1 : offset;
    const page = hits.slice(start, start + limit);
    const body: Record<string, unknown> = { data: page.map((p) => mediaObject(p, fields)) };
    const next = start + limit;
    if (page.length > 0) {
      body.paging =
        next < hits.length
          ? { cursors: { before: cursor(start), after: cursor(next) }, next: nextUrl(next) }
          : { cursors: { before: cursor(start), after: cursor(next) } };
    }
    return { status: 200, body };
  }

  function lookup(id: string, params: URLSearchParams): Answer {
    const post = store.get(id);
    if (!post || post.deleted) return { status: 400, body: metaError(doesNotExist(id)) };
    return { status: 200, body: mediaObject(post, parseFields(params.get('fields') ?? 'id')) };
  }

  function classify(path: string): FakeThreadsRequest['kind'] {
    if (path.startsWith('/t51.') || path.startsWith('/o1/')) return 'image';
    if (KIND_PATHS.search.test(path)) return 'search';
    if (KIND_PATHS.lookup.test(path)) return 'lookup';
    return 'other';
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    const kind = classify(url.pathname);
    const entry: FakeThreadsRequest = { kind, path: url.pathname, params: url.searchParams, status: 0 };
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
    if (url.searchParams.get('access_token') !== token)
      return send(400, metaError(INVALID_TOKEN), meter.headers());
    if (tokenExpired) return send(400, metaError(EXPIRED_TOKEN), meter.headers());
    if (!meter.spend()) return send(400, metaError(RATE_LIMIT_ERRORS[4] as MetaErrorSpec), meter.headers());
    const failure = failures.take(url.pathname);
    if (failure?.kind === '503') {
      return send(
        503,
        metaError({
          message: 'An unknown error occurred',
          type: 'THApiException',
          code: 1,
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
    const parts = url.pathname.split('/').filter(Boolean);
    let answer: Answer;
    if (parts[0] !== 'v1.0') answer = bad(`Unknown path components: ${url.pathname}`);
    else if (kind === 'search') {
      // The fake's empty page hands out a padded cursor (new value, same place): unpad it.
      const after = url.searchParams.get('after');
      if (after) url.searchParams.set('after', after.replace(/_+$/, ''));
      answer = search(url.searchParams);
    } else if (kind === 'lookup') answer = lookup(parts[1] as string, url.searchParams);
    else answer = bad(`Unknown path components: ${url.pathname}`);
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
    baseUrl: `${origin}/v1.0`,
    requests,
    get overLimit() {
      return meter.overLimit;
    },
    get overBudget() {
      return overBudget;
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
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The edge cases, dated before `now`: emoji, Arabic and Hebrew text, image without alt text,
 * carousels (photos only, videos only, mixed), a video and a text post (which media_type=IMAGE
 * leaves out), a spoiler photo found by a demand phrase only, a malformed item (no username), an
 * unrelated tag, a post found by two queries, and one older than the first walk's reach.
 */
export function threadsEdgeCorpus(now: number): FakeThreadsPost[] {
  const ago = (minutes: number) => new Date(now - minutes * 60_000).toISOString();
  return [
    {
      id: '18000000000000001',
      username: 'peace.maker',
      text: '🕊️ Holding my sign 🇺🇸 End the Korean War #IStandForPeace',
      timestamp: ago(60),
      type: 'IMAGE',
      alt: 'A woman holding a peace sign',
    },
    {
      id: '18000000000000002',
      username: 'salam_123',
      text: 'من أجل السلام #IStandForPeace',
      timestamp: ago(120),
      type: 'IMAGE',
    },
    {
      id: '18000000000000003',
      username: 'shalom.now',
      text: 'שלום עכשיו 한반도에 평화를',
      tag: '한반도평화',
      timestamp: ago(180),
      type: 'CAROUSEL_ALBUM',
      children: [{ type: 'IMAGE', alt: 'Two signs' }, { type: 'IMAGE' }],
    },
    {
      id: '18000000000000004',
      username: 'videos.only',
      text: 'Clips #IStandForPeace',
      timestamp: ago(240),
      type: 'CAROUSEL_ALBUM',
      children: [{ type: 'VIDEO' }, { type: 'VIDEO' }],
    },
    {
      id: '18000000000000005',
      username: 'mixed.album',
      text: 'Mixed #IStandForPeace',
      timestamp: ago(300),
      type: 'CAROUSEL_ALBUM',
      children: [{ type: 'VIDEO' }, { type: 'IMAGE', alt: '' }],
    },
    {
      id: '18000000000000006',
      username: 'video.person',
      text: 'A video #IStandForPeace',
      timestamp: ago(360),
      type: 'VIDEO',
    },
    {
      id: '18000000000000007',
      username: 'words',
      text: 'Just words #IStandForPeace',
      timestamp: ago(420),
      type: 'TEXT_POST',
    },
    {
      id: '18000000000000008',
      username: 'phrase.only',
      text: 'Peace on the Korean Peninsula Now!',
      timestamp: ago(480),
      type: 'IMAGE',
      spoiler: true,
    },
    {
      id: '18000000000000009',
      username: '',
      text: 'broken #IStandForPeace',
      timestamp: ago(540),
      type: 'IMAGE',
    },
    {
      id: '18000000000000010',
      username: 'cat.lover',
      text: 'Unrelated #cats',
      timestamp: ago(30),
      type: 'IMAGE',
    },
    {
      id: '18000000000000011',
      username: 'peace.maker',
      text: 'End Sanctions Against North Korea #IStandForPeace',
      timestamp: ago(90),
      type: 'IMAGE',
    },
    {
      id: '18000000000000012',
      username: 'too.old',
      text: 'Last month #IStandForPeace',
      timestamp: ago(8 * 24 * 60),
      type: 'IMAGE',
    },
  ];
}
