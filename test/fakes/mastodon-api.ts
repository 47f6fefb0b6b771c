/**
 * A Mastodon instance on 127.0.0.1 for tests and benchmarks: the hashtag timeline, status
 * look-ups (one and batch), and the media files, answering with Mastodon's shapes, `Link`
 * headers and rack-attack rate limiting (fixed windows aligned to the epoch; normal responses
 * carry only the API throttle's X-RateLimit-* headers, as Mastodon's do, so the paging throttle
 * shows itself only as a 429).
 *
 * Two fakes make two instances: `federate(status)` copies a status of another fake in, with a
 * new local id and the same `uri`, as federation does.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';

export interface FakeAccount {
  id: string;
  username: string;
  /** Without a domain for local accounts, `user@domain` for remote ones (as the instance shows it). */
  acct: string;
  display_name: string;
  url: string;
  /** `null` gives Mastodon's default avatar (…/avatars/original/missing.png). */
  avatar: string | null;
}

export interface FakeAttachment {
  id: string;
  type: 'image' | 'gifv' | 'video' | 'audio' | 'unknown';
  /** File name served under /system/media_attachments/files/. */
  file: string;
  description: string | null;
}

export interface FakeStatus {
  id: string;
  uri: string;
  url: string;
  created_at: string;
  content: string;
  spoiler_text: string;
  language: string | null;
  sensitive: boolean;
  tags: string[];
  account: FakeAccount;
  media: FakeAttachment[];
  reblog: FakeStatus | null;
  deleted: boolean;
}

export interface AddStatusInput {
  username?: string;
  displayName?: string;
  /** `false` for the default avatar. */
  avatar?: boolean;
  content?: string;
  spoilerText?: string;
  language?: string | null;
  sensitive?: boolean;
  tags?: string[];
  /** One entry per attachment; images get a generated JPEG. */
  media?: Array<{ type?: FakeAttachment['type']; description?: string | null }>;
  createdAt?: Date;
}

export type FailureKind =
  | 'status-503'
  | 'status-500'
  | 'status-429'
  | 'truncated'
  | 'not-a-list'
  | 'malformed-item'
  | 'reset';

export interface FakeMastodonOptions {
  /** Shared clock with the collector under test (rate-limit windows). */
  now?: () => number;
  /** API throttle: requests per window (Mastodon: 300 per 5 minutes). */
  rateLimit?: number;
  rateWindowMs?: number;
  /** Unauthenticated paging throttle (Mastodon: 300 per 15 minutes). */
  pagingLimit?: number;
  pagingWindowMs?: number;
  /** Public preview disabled: timelines and statuses answer 401 without one of `tokens`. */
  requireAuth?: boolean;
  tokens?: string[];
  /** Since 4.5 an instance may restrict tag feeds: a 200 with an empty array. */
  restrictTagFeeds?: boolean;
  /** Pages include the status at the cursor again (an overlap some servers and proxies produce). */
  overlapCursor?: boolean;
  /** An empty page still carries a Link header (Mastodon omits it; other servers do not). */
  linkOnEmptyPage?: boolean;
  /** Pre-4.3 instance: no `GET /api/v1/statuses?id[]=`. */
  noBatchEndpoint?: boolean;
  /** Image size in pixels (default 64×48: small and fast). */
  imageSize?: { width: number; height: number };
}

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  authorized: boolean;
  status: number;
  paging: boolean;
  at: number;
}

export interface FakeMastodon {
  url: string;
  host: string;
  requests: FakeRequest[];
  statuses: FakeStatus[];
  /** 429s the budgets caused (not injected ones). */
  throttled: number;
  /** Highest request count seen in one API window and one paging window. */
  peak: { api: number; paging: number };
  addStatus(input?: AddStatusInput): FakeStatus;
  /** Boost of an existing status by another local account. */
  addReblog(of: FakeStatus, username?: string): FakeStatus;
  /** The copy of another instance's status as this instance stores it. */
  federate(status: FakeStatus, from: FakeMastodon): FakeStatus;
  /** Adds `n` generated photo statuses (benchmarks). */
  generate(n: number, input?: AddStatusInput): FakeStatus[];
  deleteStatus(uri: string): void;
  /** The next `times` matching API requests fail this way. */
  fail(
    kind: FailureKind,
    options?: { times?: number; match?: (path: string, query: URLSearchParams) => boolean },
  ): void;
  options: FakeMastodonOptions;
  close(): Promise<void>;
}

/** Failures that only make sense for a page of statuses. */
const TIMELINE_ONLY = new Set<FailureKind>(['truncated', 'not-a-list', 'malformed-item']);

const DEFAULT_FIRST_ID = 113_000_000_000_000_000n;

export async function startFakeMastodon(opts: FakeMastodonOptions = {}): Promise<FakeMastodon> {
  const options = opts;
  const now = () => (options.now ?? Date.now)();
  const statuses: FakeStatus[] = [];
  const accounts = new Map<string, FakeAccount>();
  const images = new Map<string, Promise<Buffer>>();
  const copies = new Map<string, string>();
  const failures: Array<{
    kind: FailureKind;
    times: number;
    match?: (p: string, q: URLSearchParams) => boolean;
  }> = [];
  const budgets = { api: new Map<number, number>(), paging: new Map<number, number>() };
  let nextId = 0n;
  let imageSeed = 0;

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      res.statusCode = 500;
      res.end(JSON.stringify({ error: String(error) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const host = `127.0.0.1:${port}`;
  // Ids are per instance: two fakes never hand out the same ones, as two real servers would not.
  nextId = DEFAULT_FIRST_ID + BigInt(port) * 1_000_000n;

  function newId(): string {
    // Snowflake-like: grows with time, same width as real ids.
    nextId += 1000n + BigInt(statuses.length % 7);
    return nextId.toString();
  }

  function account(username: string, displayName?: string, avatar = true): FakeAccount {
    let a = accounts.get(username);
    if (!a) {
      a = {
        id: String(100_000 + accounts.size),
        username,
        acct: username,
        display_name: displayName ?? username,
        url: `${url}/@${username}`,
        avatar: avatar ? `${url}/system/accounts/avatars/${username}.jpg` : null,
      };
      accounts.set(username, a);
    }
    return a;
  }

  function imageFor(file: string): Promise<Buffer> {
    let image = images.get(file);
    const copyOf = copies.get(file);
    if (!image && copyOf) {
      image = fetch(copyOf).then(async (r) => Buffer.from(await r.arrayBuffer()));
      images.set(file, image);
    }
    if (!image) {
      const seed = imageSeed++;
      const { width, height } = options.imageSize ?? { width: 64, height: 48 };
      // Distinct colours per file, and a noise layer so perceptual hashes differ too.
      const noise = Buffer.alloc(width * height * 3);
      let s = seed * 2654435761 + 7;
      for (let i = 0; i < noise.length; i++) {
        s = (s * 1103515245 + 12345) >>> 0;
        noise[i] = ((s >>> 16) & 0xff) ^ ((seed * 37 + (i % (width * 3))) & 0xff);
      }
      image = sharp(noise, { raw: { width, height, channels: 3 } })
        .jpeg({ quality: 80 })
        .toBuffer();
      images.set(file, image);
    }
    return image;
  }

  function addStatus(input: AddStatusInput = {}): FakeStatus {
    const id = newId();
    const who = account(input.username ?? 'ana', input.displayName, input.avatar ?? true);
    const media = (input.media ?? [{}]).map((m, i) => ({
      id: `${id}${i}`,
      type: m.type ?? 'image',
      file: `${id}-${i}.jpg`,
      description: m.description === undefined ? `photo ${i} of ${id}` : m.description,
    }));
    const tags = input.tags ?? ['IStandForPeace'];
    const status: FakeStatus = {
      id,
      uri: `${url}/users/${who.username}/statuses/${id}`,
      url: `${url}/@${who.username}/${id}`,
      created_at: (input.createdAt ?? new Date(now())).toISOString(),
      content:
        input.content ??
        `<p>I stand for peace ${tags.map((t) => `<a href="${url}/tags/${encodeURIComponent(t)}" class="mention hashtag" rel="tag">#<span>${t}</span></a>`).join(' ')}</p>`,
      spoiler_text: input.spoilerText ?? '',
      language: input.language === undefined ? 'en' : input.language,
      sensitive: input.sensitive ?? false,
      tags,
      account: who,
      media,
      reblog: null,
      deleted: false,
    };
    statuses.push(status);
    return status;
  }

  function addReblog(of: FakeStatus, username = 'booster'): FakeStatus {
    const id = newId();
    const who = account(username);
    const status: FakeStatus = {
      ...of,
      id,
      uri: `${url}/users/${username}/statuses/${id}/activity`,
      url: `${url}/users/${username}/statuses/${id}/activity`,
      created_at: new Date(now()).toISOString(),
      content: '',
      account: who,
      media: [],
      reblog: of,
      tags: of.tags,
    };
    statuses.push(status);
    return status;
  }

  function federate(original: FakeStatus, from: FakeMastodon): FakeStatus {
    const id = newId();
    const remote: FakeAccount = {
      ...original.account,
      id: String(900_000 + accounts.size),
      acct: original.account.acct.includes('@')
        ? original.account.acct
        : `${original.account.username}@${from.host}`,
    };
    accounts.set(`${remote.acct}`, remote);
    const copy: FakeStatus = {
      ...original,
      id,
      account: remote,
      media: original.media.map((m, i) => ({ ...m, id: `${id}${i}`, file: `${id}-${i}.jpg` })),
      reblog: null,
    };
    // The cached copy of a remote file has the same bytes as the original (fetched when asked).
    original.media.forEach((m, i) => {
      copies.set(`${id}-${i}.jpg`, `${from.url}/system/media_attachments/files/${m.file}`);
    });
    statuses.push(copy);
    return copy;
  }

  function serializeAccount(a: FakeAccount) {
    const avatar = a.avatar ?? `${url}/avatars/original/missing.png`;
    return {
      id: a.id,
      username: a.username,
      acct: a.acct,
      display_name: a.display_name,
      locked: false,
      bot: false,
      discoverable: true,
      group: false,
      created_at: '2023-01-01T00:00:00.000Z',
      note: '',
      url: a.url,
      uri: a.url.replace('/@', '/users/'),
      avatar,
      avatar_static: avatar,
      header: `${url}/headers/original/missing.png`,
      header_static: `${url}/headers/original/missing.png`,
      followers_count: 3,
      following_count: 4,
      statuses_count: 5,
      last_status_at: '2026-01-01',
      emojis: [],
      fields: [],
    };
  }

  function serialize(s: FakeStatus): Record<string, unknown> {
    const { width, height } = options.imageSize ?? { width: 64, height: 48 };
    return {
      id: s.id,
      created_at: s.created_at,
      in_reply_to_id: null,
      in_reply_to_account_id: null,
      sensitive: s.sensitive,
      spoiler_text: s.spoiler_text,
      visibility: 'public',
      language: s.language,
      uri: s.uri,
      url: s.reblog ? null : s.url,
      replies_count: 0,
      reblogs_count: 0,
      favourites_count: 0,
      edited_at: null,
      content: s.content,
      reblog: s.reblog ? serialize(s.reblog) : null,
      application: null,
      account: serializeAccount(s.account),
      media_attachments: s.media.map((m) => ({
        id: m.id,
        type: m.type,
        url: `${url}/system/media_attachments/files/${m.file}`,
        preview_url: `${url}/system/media_attachments/files/small-${m.file}`,
        remote_url: null,
        preview_remote_url: null,
        text_url: null,
        meta: {
          original: { width, height, size: `${width}x${height}`, aspect: width / height },
          small: { width, height, size: `${width}x${height}`, aspect: width / height },
          focus: { x: 0, y: 0 },
        },
        description: m.description,
        blurhash: 'UFBWY:8_0Jxv%M%MM{WB00%M-;IU~qRj%MM{',
      })),
      mentions: [],
      tags: s.tags.map((t) => ({ name: t.toLowerCase(), url: `${url}/tags/${encodeURIComponent(t)}` })),
      emojis: [],
      card: null,
      poll: null,
    };
  }

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  }

  /** rack-attack: count in fixed windows aligned to the epoch; returns the headers or a 429. */
  function throttle(paging: boolean, authorized: boolean) {
    const t = now();
    const check = (kind: 'api' | 'paging', limit: number, windowMs: number) => {
      const window = Math.floor(t / windowMs);
      const count = (budgets[kind].get(window) ?? 0) + 1;
      budgets[kind].set(window, count);
      fake.peak[kind] = Math.max(fake.peak[kind], count);
      const headers = {
        'X-RateLimit-Limit': String(limit),
        'X-RateLimit-Remaining': String(Math.max(0, limit - count)),
        'X-RateLimit-Reset': new Date((window + 1) * windowMs).toISOString(),
      };
      return { over: count > limit, headers };
    };
    const api = check('api', options.rateLimit ?? 300, options.rateWindowMs ?? 5 * 60_000);
    const page =
      paging && !authorized
        ? check('paging', options.pagingLimit ?? 300, options.pagingWindowMs ?? 15 * 60_000)
        : null;
    if (page?.over) return { over: true, headers: { ...page.headers, 'X-RateLimit-Remaining': '0' } };
    if (api.over) return { over: true, headers: { ...api.headers, 'X-RateLimit-Remaining': '0' } };
    return { over: false, headers: api.headers };
  }

  function takeFailure(path: string, query: URLSearchParams): FailureKind | null {
    const timeline = path.startsWith('/api/v1/timelines/');
    const i = failures.findIndex((f) =>
      f.match ? f.match(path, query) : timeline || !TIMELINE_ONLY.has(f.kind),
    );
    if (i < 0) return null;
    const f = failures[i] as (typeof failures)[number];
    if (--f.times <= 0) failures.splice(i, 1);
    return f.kind;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const u = new URL(req.url ?? '/', url);
    const path = u.pathname;
    if (path.startsWith('/system/') || path.startsWith('/avatars/')) {
      const file = decodeURIComponent(path.split('/').pop() ?? '');
      const bytes = await imageFor(file);
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': String(bytes.length) });
      res.end(bytes);
      return;
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const authorized = token !== undefined && (options.tokens ?? []).includes(token);
    const paging = ['max_id', 'min_id', 'since_id', 'page'].some((p) => u.searchParams.has(p));
    const record: FakeRequest = {
      method: req.method ?? 'GET',
      path,
      query: u.searchParams,
      authorized,
      status: 0,
      paging,
      at: now(),
    };
    fake.requests.push(record);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      send(res, status, body, headers);
    };

    const limit = throttle(paging, authorized);
    if (limit.over) {
      fake.throttled++;
      return reply(429, { error: 'Too many requests' }, limit.headers);
    }
    const failure = takeFailure(path, u.searchParams);
    if (failure === 'reset') {
      record.status = -1;
      req.socket.destroy();
      return;
    }
    if (failure === 'status-429') {
      const reset = new Date(Math.floor(now() / 300_000 + 1) * 300_000).toISOString();
      return reply(
        429,
        { error: 'Too many requests' },
        { 'X-RateLimit-Limit': '300', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': reset },
      );
    }
    if (failure === 'status-503')
      return reply(503, '<html><body>503 Service Unavailable</body></html>', limit.headers);
    if (failure === 'status-500') return reply(500, { error: 'Internal server error' }, limit.headers);
    if (options.requireAuth && !authorized) {
      return reply(401, { error: 'This API requires an authenticated user' }, limit.headers);
    }

    const tagMatch = /^\/api\/v1\/timelines\/tag\/([^/]+)$/.exec(path);
    if (tagMatch)
      return tagTimeline(decodeURIComponent(tagMatch[1] as string), u, failure, limit.headers, reply);
    const one = /^\/api\/v1\/statuses\/(\d+)$/.exec(path);
    if (one) {
      const s = statuses.find((x) => x.id === one[1] && !x.deleted);
      return s
        ? reply(200, serialize(s), limit.headers)
        : reply(404, { error: 'Record not found' }, limit.headers);
    }
    if (path === '/api/v1/statuses' && !options.noBatchEndpoint) {
      const ids = u.searchParams.getAll('id[]');
      if (ids.length > 20) return reply(422, { error: 'Too many IDs' }, limit.headers);
      const found = statuses.filter((x) => ids.includes(x.id) && !x.deleted);
      return reply(200, found.map(serialize), limit.headers);
    }
    return reply(404, { error: 'Record not found' }, limit.headers);
  }

  function tagTimeline(
    tag: string,
    u: URL,
    failure: FailureKind | null,
    headers: Record<string, string>,
    reply: (status: number, body: unknown, headers?: Record<string, string>) => void,
  ) {
    const wanted = [tag, ...u.searchParams.getAll('any[]')].map((t) => t.toLowerCase());
    const known = statuses.some((s) => s.tags.some((t) => t.toLowerCase() === tag.toLowerCase()));
    if (!known) return reply(404, { error: 'Record not found' }, headers);
    if (options.restrictTagFeeds) return reply(200, [], headers);
    const onlyMedia = ['true', '1'].includes(u.searchParams.get('only_media') ?? '');
    const limit = Math.min(40, Math.max(1, Number(u.searchParams.get('limit') ?? 20) || 20));
    const q = (name: string) => {
      const v = u.searchParams.get(name);
      return v ? BigInt(v) : null;
    };
    const [maxId, sinceId, minId] = [q('max_id'), q('since_id'), q('min_id')];
    const incl = options.overlapCursor === true;
    let list = statuses
      .filter((s) => !s.deleted && !s.reblog?.deleted && s.tags.some((t) => wanted.includes(t.toLowerCase())))
      .filter((s) => !onlyMedia || (s.reblog ?? s).media.length > 0)
      .filter((s) => {
        const id = BigInt(s.id);
        if (maxId !== null && (incl ? id > maxId : id >= maxId)) return false;
        if (sinceId !== null && id <= sinceId) return false;
        if (minId !== null && (incl ? id < minId : id <= minId)) return false;
        return true;
      })
      // Every status gets a larger id than the ones before it, so insertion order is id order.
      .reverse();
    // min_id: the `limit` statuses just above the cursor, still answered newest first.
    list = minId !== null && maxId === null ? list.slice(-limit) : list.slice(0, limit);

    const base = `${url}/api/v1/timelines/tag/${encodeURIComponent(tag)}`;
    // Mastodon keeps only local, limit and only_media in its links (any[] is dropped).
    const keep = new URLSearchParams();
    for (const p of ['local', 'limit', 'only_media']) {
      const v = u.searchParams.get(p);
      if (v !== null) keep.set(p, v);
    }
    const link = (name: string, value: string) => {
      const params = new URLSearchParams(keep);
      params.set(name, value);
      return `${base}?${params}`;
    };
    const out = { ...headers };
    const first = list[0];
    const last = list[list.length - 1];
    if (first && last) {
      out.Link = `<${link('max_id', last.id)}>; rel="next", <${link('min_id', first.id)}>; rel="prev"`;
    } else if (options.linkOnEmptyPage) {
      const at = u.searchParams.get('min_id') ?? u.searchParams.get('max_id') ?? '0';
      out.Link = `<${link('max_id', at)}>; rel="next", <${link('min_id', at)}>; rel="prev"`;
    }
    let body: unknown = list.map(serialize);
    if (failure === 'malformed-item' && Array.isArray(body) && body.length > 0) {
      body = [{ ...(body[0] as object), account: null, created_at: 'yesterday' }, ...body.slice(1)];
    }
    if (failure === 'not-a-list') body = { error: 'oops', statuses: body };
    if (failure === 'truncated') {
      const text = JSON.stringify(body);
      return reply(200, text.slice(0, Math.max(1, Math.floor(text.length / 2))), out);
    }
    return reply(200, body, out);
  }

  const fake: FakeMastodon = {
    url,
    host,
    requests: [],
    statuses,
    throttled: 0,
    peak: { api: 0, paging: 0 },
    addStatus,
    addReblog,
    federate,
    generate(n, input = {}) {
      return Array.from({ length: n }, (_, i) => addStatus({ username: `supporter${i % 997}`, ...input }));
    },
    deleteStatus(uri) {
      for (const s of statuses) if (s.uri === uri) s.deleted = true;
    },
    fail(kind, { times = 1, match } = {}) {
      failures.push({ kind, times, match });
    },
    options,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}
