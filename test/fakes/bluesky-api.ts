/**
 * A local Bluesky PDS + AppView stand-in on 127.0.0.1: the XRPC endpoints standwall calls, with
 * the lexicon shapes (app.bsky.feed.defs#postView, embed views, labels), app-password sessions
 * whose access tokens expire, ratelimit-* headers over a budget, failure injection, and the
 * image files the posts point to. Used by the collector tests, the CLI tests and the benchmark.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';

export type FakeEmbed =
  | { kind: 'images'; images: Array<{ alt: string }> }
  | { kind: 'recordWithMedia'; images: Array<{ alt: string }> }
  | { kind: 'video' }
  | { kind: 'external' };

export interface FakeBlueskyPost {
  rkey?: string;
  author: { did?: string; handle: string; displayName?: string; avatar?: boolean };
  /** Hashtags in the text become #tag facets, as the app writes them. */
  text: string;
  langs?: string[];
  createdAt: string;
  /** Defaults to createdAt + 2 s. */
  indexedAt?: string;
  embed?: FakeEmbed;
  /** Label values on the post (e.g. "nudity"). */
  labels?: string[];
  /** Served without author.did: a malformed item the collector must skip. */
  malformed?: boolean;
}

export interface FakeBlueskyOptions {
  identifier?: string;
  password?: string;
  posts?: FakeBlueskyPost[];
  /** Adds this many generated photo posts tagged `generatedTag` (benchmarks). */
  generate?: number;
  generatedTag?: string;
  /** An access token answers ExpiredToken after this many authenticated requests. */
  accessTokenUses?: number;
  /** The general budget (every endpoint but createSession). */
  apiLimit?: { limit: number; windowSeconds: number };
  /** createSession's own budget (30 per 5 minutes on bsky.social). */
  loginLimit?: { limit: number; windowSeconds: number };
  /** Clock for rate-limit windows (epoch ms); share it with the collector's `now`. */
  now?: () => number;
  /** Every page after the first starts with the last post of the previous page. */
  repeatLastItem?: boolean;
  /** The first time paging reaches one of these offsets it answers an empty page with a cursor. */
  emptyPageAtOffsets?: number[];
  imageSize?: { width: number; height: number };
}

export type FailureKind = '503' | 'truncated' | '429' | 'expired-token';

export interface FakeRequest {
  method: string;
  nsid: string | null;
  path: string;
  params: URLSearchParams;
  status: number;
  /** Which credential the request carried. */
  auth: 'access' | 'refresh' | 'none' | 'unknown';
}

export interface FakeBluesky {
  url: string;
  requests: FakeRequest[];
  /** Requests refused because the budget in the served headers was already spent. */
  readonly overLimit: number;
  count(nsid: string): number;
  failNext(nsid: string, kind: FailureKind, opts?: { skip?: number; resetInSeconds?: number }): void;
  addPost(post: FakeBlueskyPost): string;
  deletePost(uri: string): void;
  uriOf(rkey: string): string;
  uris(): string[];
  revokeRefreshTokens(): void;
  close(): Promise<void>;
}

interface Stored {
  spec: FakeBlueskyPost;
  uri: string;
  cid: string;
  did: string;
  sortAt: number;
  tags: string[];
  deleted: boolean;
}

interface Window {
  start: number;
  used: number;
}

const SENSITIVE_SRC = 'did:plc:ar7c4by46qjdydhdevvrndac'; // Bluesky's moderation service

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** A CIDv1 (dag-cbor, sha-256) look-alike: "bafyrei" + base32 of a digest. */
export function fakeCid(seed: string): string {
  const digest = createHash('sha256').update(seed).digest();
  let bits = '';
  for (const byte of digest) bits += byte.toString(2).padStart(8, '0');
  let out = '';
  for (let i = 0; i + 5 <= bits.length && out.length < 52; i += 5)
    out += BASE32[Number.parseInt(bits.slice(i, i + 5), 2)];
  return `bafyrei${out}`;
}

function fakeDid(handle: string): string {
  return `did:plc:${fakeCid(handle).slice(7, 31)}`;
}

/** A TID-shaped record key (13 base32-sortable characters), increasing with `n`. */
function fakeRkey(n: number): string {
  const alphabet = '234567abcdefghijklmnopqrstuvwxyz';
  let value = BigInt(1_750_000_000_000_000 + n) << 10n;
  let out = '';
  for (let i = 0; i < 13; i++) {
    out = alphabet[Number(value & 31n)] + out;
    value >>= 5n;
  }
  return out;
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function fakeJwt(kind: 'access' | 'refresh', did: string): string {
  const scope = kind === 'access' ? 'com.atproto.appPass' : 'com.atproto.refresh';
  const header = base64url({ typ: kind === 'access' ? 'at+jwt' : 'refresh+jwt', alg: 'ES256K' });
  const payload = base64url({ scope, sub: did, jti: randomBytes(8).toString('hex') });
  return `${header}.${payload}.${randomBytes(32).toString('base64url')}`;
}

function hashtagsOf(text: string): Array<{ tag: string; byteStart: number; byteEnd: number }> {
  const out: Array<{ tag: string; byteStart: number; byteEnd: number }> = [];
  for (const match of text.matchAll(/#([\p{L}\p{N}_]+)/gu)) {
    const byteStart = Buffer.byteLength(text.slice(0, match.index));
    out.push({ tag: match[1] as string, byteStart, byteEnd: byteStart + Buffer.byteLength(match[0]) });
  }
  return out;
}

/** A small photo-like JPEG, different for every seed (so every post has its own sha256). */
async function jpegFor(seed: string, width: number, height: number): Promise<Buffer> {
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

export async function startFakeBluesky(options: FakeBlueskyOptions = {}): Promise<FakeBluesky> {
  const identifier = options.identifier ?? 'standwall.test';
  const password = options.password ?? 'abcd-efgh-ijkl-mnop';
  const accountDid = fakeDid(identifier);
  const now = options.now ?? Date.now;
  const apiLimit = options.apiLimit ?? { limit: 3000, windowSeconds: 300 };
  const loginLimit = options.loginLimit ?? { limit: 30, windowSeconds: 300 };
  const accessUses = options.accessTokenUses ?? Number.POSITIVE_INFINITY;
  const imageSize = options.imageSize ?? { width: 160, height: 120 };

  const store = new Map<string, Stored>();
  const accessTokens = new Map<string, number>();
  const refreshTokens = new Set<string>();
  const windows: Record<'api' | 'login', Window | null> = { api: null, login: null };
  const failures: Array<{ nsid: string; kind: FailureKind; skip: number; resetInSeconds: number }> = [];
  const servedEmpty = new Set<number>();
  const images = new Map<string, Promise<Buffer>>();
  const requests: FakeRequest[] = [];
  let overLimit = 0;
  let counter = 0;
  let base = '';

  function addPost(spec: FakeBlueskyPost): string {
    counter++;
    const did = spec.author.did ?? fakeDid(spec.author.handle);
    const rkey = spec.rkey ?? fakeRkey(counter);
    const uri = `at://${did}/app.bsky.feed.post/${rkey}`;
    const indexedAt = spec.indexedAt ?? new Date(new Date(spec.createdAt).getTime() + 2000).toISOString();
    const sortAt = Math.min(new Date(spec.createdAt).getTime(), new Date(indexedAt).getTime());
    const tags = hashtagsOf(spec.text).map((h) => h.tag.toLowerCase());
    store.set(uri, {
      spec: { ...spec, indexedAt },
      uri,
      cid: fakeCid(uri),
      did,
      sortAt,
      tags,
      deleted: false,
    });
    return uri;
  }

  for (const post of options.posts ?? []) addPost(post);
  const generatedTag = options.generatedTag ?? 'IStandForPeace';
  for (let i = 0; i < (options.generate ?? 0); i++) {
    addPost({
      author: {
        handle: `supporter${i % 500}.bsky.social`,
        displayName: `Supporter ${i % 500}`,
        avatar: i % 3 !== 0,
      },
      text: `I stand for peace, photo ${i} #${generatedTag}`,
      langs: ['en'],
      createdAt: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(),
      embed: { kind: 'images', images: [{ alt: i % 2 === 0 ? `Sign ${i}` : '' }] },
    });
  }

  // --- views ---------------------------------------------------------------------------------

  const imageUrl = (kind: string, did: string, cid: string) => `${base}/img/${kind}/plain/${did}/${cid}@jpeg`;

  function imagesView(post: Stored, specs: Array<{ alt: string }>) {
    return {
      $type: 'app.bsky.embed.images#view',
      images: specs.map((image, i) => {
        const cid = fakeCid(`${post.uri}#${i}`);
        return {
          thumb: imageUrl('feed_thumbnail', post.did, cid),
          fullsize: imageUrl('feed_fullsize', post.did, cid),
          alt: image.alt,
          aspectRatio: { width: imageSize.width, height: imageSize.height },
        };
      }),
    };
  }

  function imagesRecord(post: Stored, specs: Array<{ alt: string }>) {
    return {
      $type: 'app.bsky.embed.images',
      images: specs.map((image, i) => ({
        alt: image.alt,
        image: {
          $type: 'blob',
          ref: { $link: fakeCid(`${post.uri}#${i}`) },
          mimeType: 'image/jpeg',
          size: 5000,
        },
        aspectRatio: { width: imageSize.width, height: imageSize.height },
      })),
    };
  }

  function quotedRecord() {
    const did = fakeDid('quoted.bsky.social');
    return {
      $type: 'app.bsky.embed.record#view',
      record: {
        $type: 'app.bsky.embed.record#viewRecord',
        uri: `at://${did}/app.bsky.feed.post/3kquoted22222`,
        cid: fakeCid('quoted'),
        author: { did, handle: 'quoted.bsky.social', labels: [] },
        value: { $type: 'app.bsky.feed.post', text: 'quoted', createdAt: '2026-10-01T00:00:00.000Z' },
        indexedAt: '2026-10-01T00:00:01.000Z',
        labels: [],
      },
    };
  }

  function embedViews(post: Stored): { view?: unknown; record?: unknown } {
    const embed = post.spec.embed;
    if (!embed) return {};
    switch (embed.kind) {
      case 'images':
        return { view: imagesView(post, embed.images), record: imagesRecord(post, embed.images) };
      case 'recordWithMedia':
        return {
          view: {
            $type: 'app.bsky.embed.recordWithMedia#view',
            record: quotedRecord(),
            media: imagesView(post, embed.images),
          },
          record: {
            $type: 'app.bsky.embed.recordWithMedia',
            record: { record: { uri: 'at://quoted', cid: fakeCid('quoted') } },
            media: imagesRecord(post, embed.images),
          },
        };
      case 'video': {
        const cid = fakeCid(`${post.uri}#video`);
        return {
          view: {
            $type: 'app.bsky.embed.video#view',
            cid,
            playlist: `${base}/video/${post.did}/${cid}/playlist.m3u8`,
            thumbnail: `${base}/video/${post.did}/${cid}/thumbnail.jpg`,
            aspectRatio: { width: 1080, height: 1920 },
          },
          record: {
            $type: 'app.bsky.embed.video',
            video: { $type: 'blob', ref: { $link: cid }, mimeType: 'video/mp4', size: 1 },
          },
        };
      }
      case 'external':
        return {
          view: {
            $type: 'app.bsky.embed.external#view',
            external: { uri: 'https://example.org/', title: 'A link', description: '' },
          },
        };
    }
  }

  function postView(post: Stored) {
    const { spec } = post;
    const { view, record: embedRecord } = embedViews(post);
    const author: Record<string, unknown> = {
      did: post.did,
      handle: spec.author.handle,
      associated: { chat: { allowIncoming: 'following' } },
      labels: [],
      createdAt: '2024-01-01T00:00:00.000Z',
    };
    if (spec.author.displayName !== undefined) author.displayName = spec.author.displayName;
    if (spec.author.avatar) author.avatar = imageUrl('avatar', post.did, fakeCid(`${post.did}#avatar`));
    if (spec.malformed) delete author.did;
    const facets = hashtagsOf(spec.text).map((h) => ({
      $type: 'app.bsky.richtext.facet',
      index: { byteStart: h.byteStart, byteEnd: h.byteEnd },
      features: [{ $type: 'app.bsky.richtext.facet#tag', tag: h.tag }],
    }));
    const record: Record<string, unknown> = {
      $type: 'app.bsky.feed.post',
      text: spec.text,
      createdAt: spec.createdAt,
      langs: spec.langs ?? ['en'],
      facets,
    };
    if (embedRecord) record.embed = embedRecord;
    const out: Record<string, unknown> = {
      uri: post.uri,
      cid: post.cid,
      author,
      record,
      bookmarkCount: 0,
      replyCount: 0,
      repostCount: 1,
      likeCount: 3,
      quoteCount: 0,
      indexedAt: spec.indexedAt,
      labels: (spec.labels ?? []).map((val) => ({
        src: SENSITIVE_SRC,
        uri: post.uri,
        cid: post.cid,
        val,
        cts: spec.indexedAt,
      })),
    };
    if (view) out.embed = view;
    return out;
  }

  // --- search --------------------------------------------------------------------------------

  function matches(post: Stored, q: string, tags: string[]): boolean {
    if (post.deleted) return false;
    if (!tags.every((t) => post.tags.includes(t.toLowerCase()))) return false;
    const query = q.trim();
    if (query.startsWith('#')) return post.tags.includes(query.slice(1).toLowerCase());
    const text = post.spec.text.toLowerCase();
    if (query.startsWith('"') && query.endsWith('"') && query.length > 1) {
      return text.includes(query.slice(1, -1).toLowerCase());
    }
    if (query === '*' || query === '') return true;
    return query
      .toLowerCase()
      .split(/\s+/)
      .every((word) => text.includes(word));
  }

  function encodeCursor(offset: number, empty = false): string {
    return Buffer.from(`${offset}${empty ? ':e' : ''}`).toString('base64url');
  }

  function decodeCursor(cursor: string | null): { offset: number; empty: boolean } | null {
    if (cursor === null) return { offset: 0, empty: false };
    const [n, flag] = Buffer.from(cursor, 'base64url').toString().split(':');
    const offset = Number(n);
    return Number.isInteger(offset) && offset >= 0 ? { offset, empty: flag === 'e' } : null;
  }

  function search(params: URLSearchParams): { status: number; body: unknown } {
    const q = params.get('q');
    if (q === null)
      return {
        status: 400,
        body: { error: 'InvalidRequest', message: 'Error: Params must have the property "q"' },
      };
    const limit = Number(params.get('limit') ?? 25);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      return {
        status: 400,
        body: { error: 'InvalidRequest', message: 'Error: limit must be between 1 and 100' },
      };
    }
    const position = decodeCursor(params.get('cursor'));
    if (!position) return { status: 400, body: { error: 'InvalidRequest', message: 'malformed cursor' } };
    const since = params.get('since') ? new Date(params.get('since') as string).getTime() : null;
    const until = params.get('until') ? new Date(params.get('until') as string).getTime() : null;
    const hits = [...store.values()]
      .filter((p) => matches(p, q, params.getAll('tag')))
      .filter((p) => (since === null || p.sortAt >= since) && (until === null || p.sortAt < until))
      .sort((a, b) => b.sortAt - a.sortAt || (a.uri < b.uri ? 1 : -1));

    const { offset } = position;
    if (
      offset > 0 &&
      !position.empty &&
      options.emptyPageAtOffsets?.includes(offset) &&
      !servedEmpty.has(offset)
    ) {
      servedEmpty.add(offset);
      return { status: 200, body: { posts: [], cursor: encodeCursor(offset, true), hitsTotal: hits.length } };
    }
    const start = offset > 0 && options.repeatLastItem ? offset - 1 : offset;
    const page = hits.slice(start, start + limit);
    const next = start + limit;
    const body: Record<string, unknown> = { posts: page.map(postView), hitsTotal: hits.length };
    if (next < hits.length) body.cursor = encodeCursor(next);
    return { status: 200, body };
  }

  function getPosts(params: URLSearchParams): { status: number; body: unknown } {
    const uris = params.getAll('uris');
    if (uris.length > 25) {
      return {
        status: 400,
        body: { error: 'InvalidRequest', message: 'Error: uris must not have more than 25 elements' },
      };
    }
    const found = uris.flatMap((uri) => {
      const post = store.get(uri);
      return post && !post.deleted ? [postView(post)] : [];
    });
    return { status: 200, body: { posts: found } };
  }

  // --- sessions ------------------------------------------------------------------------------

  function issueSession() {
    const accessJwt = fakeJwt('access', accountDid);
    const refreshJwt = fakeJwt('refresh', accountDid);
    accessTokens.set(accessJwt, 0);
    refreshTokens.add(refreshJwt);
    return {
      did: accountDid,
      handle: identifier,
      accessJwt,
      refreshJwt,
      active: true,
      email: 'org@example.test',
    };
  }

  function bearer(req: http.IncomingMessage): string | null {
    const header = req.headers.authorization;
    return header?.startsWith('Bearer ') ? header.slice(7) : null;
  }

  function checkAccess(token: string | null): { status: number; body: unknown } | null {
    if (token === null)
      return { status: 401, body: { error: 'AuthMissing', message: 'Authentication Required' } };
    const uses = accessTokens.get(token);
    if (uses === undefined)
      return { status: 400, body: { error: 'InvalidToken', message: 'Token could not be verified' } };
    if (uses >= accessUses)
      return { status: 400, body: { error: 'ExpiredToken', message: 'Token has expired' } };
    accessTokens.set(token, uses + 1);
    return null;
  }

  // --- rate limits ---------------------------------------------------------------------------

  function spend(bucket: 'api' | 'login'): { headers: Record<string, string>; allowed: boolean } {
    const { limit, windowSeconds } = bucket === 'login' ? loginLimit : apiLimit;
    const t = now();
    let window = windows[bucket];
    if (!window || t >= window.start + windowSeconds * 1000) {
      window = { start: t, used: 0 };
      windows[bucket] = window;
    }
    const allowed = window.used < limit;
    if (allowed) window.used++;
    const headers = {
      'ratelimit-limit': String(limit),
      'ratelimit-remaining': String(limit - window.used),
      'ratelimit-reset': String(Math.ceil((window.start + windowSeconds * 1000) / 1000)),
      'ratelimit-policy': `${limit};w=${windowSeconds}`,
    };
    return { headers, allowed };
  }

  function takeFailure(nsid: string) {
    const index = failures.findIndex((f) => f.nsid === nsid);
    if (index < 0) return null;
    const failure = failures[index] as (typeof failures)[number];
    if (failure.skip > 0) {
      failure.skip--;
      return null;
    }
    failures.splice(index, 1);
    return failure;
  }

  // --- HTTP ----------------------------------------------------------------------------------

  async function readBody(req: http.IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  async function serveImage(path: string, res: http.ServerResponse): Promise<void> {
    let bytes = images.get(path);
    if (!bytes) {
      bytes = jpegFor(path, imageSize.width, imageSize.height);
      images.set(path, bytes);
    }
    const body = await bytes;
    res.writeHead(200, {
      'content-type': 'image/jpeg',
      'content-length': body.length,
      'cache-control': 'public, max-age=604800',
    });
    res.end(body);
  }

  async function route(
    req: http.IncomingMessage,
    nsid: string,
    params: URLSearchParams,
  ): Promise<{ status: number; body: unknown }> {
    switch (nsid) {
      case 'com.atproto.server.createSession': {
        if (req.method !== 'POST')
          return { status: 405, body: { error: 'InvalidRequest', message: 'Method Not Allowed' } };
        let input: { identifier?: unknown; password?: unknown };
        try {
          input = JSON.parse(await readBody(req));
        } catch {
          return { status: 400, body: { error: 'InvalidRequest', message: 'Invalid JSON' } };
        }
        if (input.identifier !== identifier || input.password !== password) {
          return {
            status: 401,
            body: { error: 'AuthenticationRequired', message: 'Invalid identifier or password' },
          };
        }
        return { status: 200, body: issueSession() };
      }
      case 'com.atproto.server.refreshSession': {
        if (req.method !== 'POST')
          return { status: 405, body: { error: 'InvalidRequest', message: 'Method Not Allowed' } };
        const token = bearer(req);
        if (token === null)
          return { status: 401, body: { error: 'AuthMissing', message: 'Authentication Required' } };
        if (!refreshTokens.has(token)) {
          return { status: 400, body: { error: 'ExpiredToken', message: 'Token has been revoked' } };
        }
        refreshTokens.delete(token); // rotation: the old refresh token is spent
        return { status: 200, body: issueSession() };
      }
      case 'app.bsky.feed.searchPosts':
      case 'app.bsky.feed.getPosts': {
        const denied = checkAccess(bearer(req));
        if (denied) return denied;
        return nsid === 'app.bsky.feed.searchPosts' ? search(params) : getPosts(params);
      }
      default:
        return { status: 501, body: { error: 'MethodNotImplemented', message: 'Method Not Implemented' } };
    }
  }

  function authKind(req: http.IncomingMessage): FakeRequest['auth'] {
    const token = bearer(req);
    if (token === null) return 'none';
    if (accessTokens.has(token)) return 'access';
    if (refreshTokens.has(token)) return 'refresh';
    return 'unknown';
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', base);
    const nsid = url.pathname.startsWith('/xrpc/') ? url.pathname.slice(6) : null;
    const entry: FakeRequest = {
      method: req.method ?? 'GET',
      nsid,
      path: url.pathname,
      params: url.searchParams,
      status: 0,
      auth: authKind(req),
    };
    requests.push(entry);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}, raw?: string) => {
      entry.status = status;
      const text = raw ?? JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(text);
    };

    if (nsid === null) {
      if (url.pathname.startsWith('/img/')) {
        entry.status = 200;
        return serveImage(url.pathname, res);
      }
      return send(404, { error: 'NotFound', message: 'Not Found' });
    }

    const { headers, allowed } = spend(nsid === 'com.atproto.server.createSession' ? 'login' : 'api');
    if (!allowed) {
      overLimit++;
      return send(429, { error: 'RateLimitExceeded', message: 'Rate Limit Exceeded' }, headers);
    }
    const failure = takeFailure(nsid);
    if (failure?.kind === '503') {
      return send(503, { error: 'InternalServerError', message: 'Service Unavailable' }, headers);
    }
    if (failure?.kind === '429') {
      const reset = Math.ceil(now() / 1000) + failure.resetInSeconds;
      return send(
        429,
        { error: 'RateLimitExceeded', message: 'Rate Limit Exceeded' },
        { ...headers, 'ratelimit-remaining': '0', 'ratelimit-reset': String(reset) },
      );
    }
    if (failure?.kind === 'expired-token') {
      return send(400, { error: 'ExpiredToken', message: 'Token has expired' }, headers);
    }
    const answer = await route(req, nsid, url.searchParams);
    if (failure?.kind === 'truncated' && answer.status === 200) {
      const text = JSON.stringify(answer.body);
      return send(200, null, headers, text.slice(0, Math.floor(text.length / 2)));
    }
    return send(answer.status, answer.body, headers);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'InternalServerError', message: String(error) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    requests,
    get overLimit() {
      return overLimit;
    },
    count: (nsid) => requests.filter((r) => r.nsid === nsid).length,
    failNext(nsid, kind, opts = {}) {
      failures.push({ nsid, kind, skip: opts.skip ?? 0, resetInSeconds: opts.resetInSeconds ?? 30 });
    },
    addPost,
    deletePost(uri) {
      const post = store.get(uri);
      if (post) post.deleted = true;
    },
    uriOf(rkey) {
      const post = [...store.values()].find((p) => p.uri.endsWith(`/${rkey}`));
      if (!post) throw new Error(`no fake post with rkey ${rkey}`);
      return post.uri;
    },
    uris: () => [...store.values()].filter((p) => !p.deleted).map((p) => p.uri),
    revokeRefreshTokens() {
      refreshTokens.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The edge cases every Bluesky test needs, dated around `base`: emoji and right-to-left names, no
 * avatar, an image without alt, a video-only post, recordWithMedia, a labelled post, a post found
 * by a demand phrase only, a text-only post, a malformed item and an unrelated hashtag.
 */
export function blueskyEdgeCorpus(base = Date.UTC(2026, 10, 20, 12)): FakeBlueskyPost[] {
  const at = (minutes: number) => new Date(base + minutes * 60_000).toISOString();
  return [
    {
      rkey: '3lemoji000001',
      author: { handle: 'peace.bsky.social', displayName: 'Peace 🕊️ Maker 🇺🇸', avatar: true },
      text: 'Holding my sign! End the Korean War #IStandForPeace',
      langs: ['en'],
      createdAt: at(1),
      embed: { kind: 'images', images: [{ alt: 'A woman holding a peace sign' }] },
    },
    {
      rkey: '3larabic00002',
      author: { handle: 'salam.bsky.social', displayName: 'سلام للجميع' },
      text: 'من أجل السلام #IStandForPeace',
      langs: ['ar'],
      createdAt: at(2),
      embed: { kind: 'images', images: [{ alt: '' }] },
    },
    {
      rkey: '3lhebrew00003',
      author: { handle: 'shalom.bsky.social', displayName: 'שלום עכשיו 🌿', avatar: true },
      text: '한반도에 평화를 #한반도평화',
      langs: ['ko', 'he'],
      createdAt: at(3),
      embed: { kind: 'images', images: [{ alt: 'Two signs' }, { alt: '' }] },
    },
    {
      rkey: '3lvideo000004',
      author: { handle: 'video.bsky.social', displayName: 'Video Person' },
      text: 'A video for peace #IStandForPeace',
      createdAt: at(4),
      embed: { kind: 'video' },
    },
    {
      rkey: '3lquote000005',
      author: { handle: 'quoter.bsky.social' },
      text: 'Me too! #EndTheKoreanWar',
      createdAt: at(5),
      embed: { kind: 'recordWithMedia', images: [{ alt: 'Quote with photo' }] },
    },
    {
      rkey: '3ltextonly006',
      author: { handle: 'words.bsky.social', displayName: 'Words' },
      text: 'No photo, just words #IStandForPeace',
      createdAt: at(6),
    },
    {
      rkey: '3lphrase00007',
      author: { handle: 'phrase.bsky.social', displayName: 'Phrase Only' },
      text: 'Peace on the Korean Peninsula Now! (no hashtag)',
      createdAt: at(7),
      embed: { kind: 'images', images: [{ alt: 'Sign' }] },
      labels: ['nudity'],
    },
    {
      rkey: '3lmalform0008',
      author: { handle: 'broken.bsky.social' },
      text: 'broken item #IStandForPeace',
      createdAt: at(8),
      embed: { kind: 'images', images: [{ alt: '' }] },
      malformed: true,
    },
    {
      rkey: '3lother000009',
      author: { handle: 'other.bsky.social' },
      text: 'Unrelated #cats',
      createdAt: at(9),
      embed: { kind: 'images', images: [{ alt: 'cat' }] },
    },
    {
      rkey: '3lexternal010',
      author: { handle: 'link.bsky.social' },
      text: 'Read this #PeaceOnKoreanPeninsula',
      createdAt: at(10),
      embed: { kind: 'external' },
    },
    {
      rkey: '3lboth0000011',
      author: { handle: 'peace.bsky.social', displayName: 'Peace 🕊️ Maker 🇺🇸', avatar: true },
      text: 'Second photo #IStandForPeace #PeaceOnKoreanPeninsula End Sanctions Against North Korea',
      createdAt: at(11),
      embed: { kind: 'images', images: [{ alt: 'Another sign' }] },
    },
  ];
}
