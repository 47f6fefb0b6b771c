import type { LookupAddress } from 'node:dns';
import http from 'node:http';
import net from 'node:net';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  type AddressPolicy,
  closeSafeFetchAgents,
  createGuardedLookup,
  fetchBytes,
  isPrivateAddress,
  type Resolver,
  SafeFetchError,
  screenAddresses,
} from '../../src/net/safe-fetch.ts';

// Every server binds 127.0.0.1 and every "public" case below is tested without connecting,
// so nothing in this file sends a packet off the machine.

interface Local {
  port: number;
  url: string;
  hits: number;
  connections: number;
  close: () => Promise<void>;
}

const opened: Local[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await closeSafeFetchAgents();
});

async function httpServer(handler: http.RequestListener): Promise<Local> {
  const server = http.createServer();
  const local: Local = { port: 0, url: '', hits: 0, connections: 0, close: async () => {} };
  server.on('request', (req, res) => {
    local.hits++;
    handler(req, res);
  });
  server.on('connection', () => {
    local.connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  local.port = (server.address() as net.AddressInfo).port;
  local.url = `http://127.0.0.1:${local.port}`;
  local.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  opened.push(local);
  return local;
}

/** A raw TCP server, for responses Node's http module refuses to produce (lying lengths, stalls). */
async function rawServer(onSocket: (socket: net.Socket) => void): Promise<Local> {
  const sockets = new Set<net.Socket>();
  const local: Local = { port: 0, url: '', hits: 0, connections: 0, close: async () => {} };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    local.connections++;
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    // Answer once the request head has arrived, like a real server would.
    let head = '';
    socket.on('data', (d) => {
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n') && local.hits === 0) {
        local.hits++;
        onSocket(socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  local.port = (server.address() as net.AddressInfo).port;
  local.url = `http://127.0.0.1:${local.port}`;
  local.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  opened.push(local);
  return local;
}

async function failure(p: Promise<unknown>): Promise<SafeFetchError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SafeFetchError) return err;
    throw err;
  }
  throw new Error('expected fetchBytes to fail, it succeeded');
}

const allowAll: AddressPolicy = () => true;

describe('isPrivateAddress', () => {
  const table: Array<[string, boolean]> = [
    // IPv4 blocked
    ['127.0.0.1', true],
    ['127.255.255.254', true],
    ['10.0.0.1', true],
    ['10.255.255.255', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['100.127.255.255', true],
    ['0.0.0.0', true],
    ['0.1.2.3', true],
    ['224.0.0.1', true],
    ['239.255.255.250', true],
    ['240.0.0.1', true],
    ['255.255.255.255', true],
    ['192.0.2.5', true],
    ['198.18.0.1', true],
    // IPv4 public, including the neighbours of blocked ranges
    ['8.8.8.8', false],
    ['1.1.1.1', false],
    ['172.15.255.255', false],
    ['172.32.0.0', false],
    ['100.63.255.255', false],
    ['100.128.0.0', false],
    ['11.0.0.1', false],
    ['192.169.0.1', false],
    ['223.255.255.255', false],
    // IPv6 blocked
    ['::1', true],
    ['::', true],
    ['[::1]', true],
    ['0:0:0:0:0:0:0:1', true],
    ['fe80::1', true],
    ['fe80::1%eth0', true],
    ['febf:ffff::1', true],
    ['fc00::1', true],
    ['fd12:3456:789a::1', true],
    ['ff02::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:7f00:1', true],
    ['::ffff:10.1.2.3', true],
    ['::ffff:169.254.169.254', true],
    ['::127.0.0.1', true],
    ['64:ff9b::127.0.0.1', true],
    ['64:ff9b::a9fe:a9fe', true],
    ['2002:7f00:1::1', true],
    ['2002:c0a8:101::', true],
    ['2001::1', true],
    ['2001:db8::1', true],
    ['100::1', true],
    // IPv6 public
    ['2606:4700:4700::1111', false],
    ['2001:4860:4860::8888', false],
    ['::ffff:8.8.8.8', false],
    ['64:ff9b::8.8.8.8', false],
    ['2002:808:808::1', false],
    // Not addresses at all: fail closed
    ['localhost', true],
    ['', true],
    ['999.1.1.1', true],
    ['1.2.3', true],
  ];

  it.each(table)('%s → %s', (ip, expected) => {
    expect(isPrivateAddress(ip)).toBe(expected);
  });
});

describe('connect-time lookup filter', () => {
  const fakeResolver =
    (answers: LookupAddress[]): Resolver =>
    (_host, _opts, cb) =>
      cb(null, answers);
  const publicOnly: AddressPolicy = (a) => !isPrivateAddress(a);

  it('passes hosts whose answers are all public', () => {
    const answers = [
      { address: '93.184.215.14', family: 4 },
      { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
    ];
    expect(screenAddresses('example.org', answers, publicOnly)).toEqual(answers);
  });

  it('refuses a host if any one answer is private', () => {
    const answers = [
      { address: '93.184.215.14', family: 4 },
      { address: '10.0.0.7', family: 4 },
    ];
    expect(() => screenAddresses('rebind.example', answers, publicOnly)).toThrow(SafeFetchError);
    try {
      screenAddresses('rebind.example', answers, publicOnly);
    } catch (err) {
      expect((err as SafeFetchError).kind).toBe('blocked-address');
      expect((err as SafeFetchError).retryable).toBe(false);
    }
  });

  it('answers single-address and all-addresses callers, and errors for private answers', async () => {
    const good = createGuardedLookup(publicOnly, fakeResolver([{ address: '1.1.1.1', family: 4 }]));
    const single = await new Promise<unknown[]>((resolve) =>
      good('cdn.example', { family: 0 }, (...args) => resolve(args)),
    );
    expect(single).toEqual([null, '1.1.1.1', 4]);
    const all = await new Promise<unknown[]>((resolve) =>
      good('cdn.example', { all: true }, (...args) => resolve(args)),
    );
    expect(all).toEqual([null, [{ address: '1.1.1.1', family: 4 }]]);

    const bad = createGuardedLookup(publicOnly, fakeResolver([{ address: '::ffff:127.0.0.1', family: 6 }]));
    const [err] = await new Promise<unknown[]>((resolve) =>
      bad('evil.example', { all: true }, (...args) => resolve(args)),
    );
    expect(err).toBeInstanceOf(SafeFetchError);
    expect((err as SafeFetchError).kind).toBe('blocked-address');
  });

  it('passes resolver errors through', async () => {
    const failing: Resolver = (_h, _o, cb) => cb(Object.assign(new Error('nope'), { code: 'ENOTFOUND' }), []);
    const lookup = createGuardedLookup(publicOnly, failing);
    const [err] = await new Promise<unknown[]>((resolve) =>
      lookup('missing.example', {}, (...args) => resolve(args)),
    );
    expect((err as NodeJS.ErrnoException).code).toBe('ENOTFOUND');
  });
});

describe('fetchBytes address checks', () => {
  it('refuses loopback by literal IPv4, by name and by literal IPv6 without contacting the server', async () => {
    const server = await httpServer((_req, res) => res.end('secret'));
    for (const url of [
      `http://127.0.0.1:${server.port}/x`,
      `http://localhost:${server.port}/x`,
      `http://[::1]:${server.port}/`,
      `http://[::ffff:127.0.0.1]:${server.port}/`,
      `http://2130706433:${server.port}/`, // 127.0.0.1 as a decimal host; WHATWG URL normalises it
    ]) {
      const err = await failure(fetchBytes(url, { allowPrivate: false }));
      expect(err.kind, url).toBe('blocked-address');
      expect(err.retryable).toBe(false);
    }
    expect(server.hits).toBe(0);
  });

  it('defaults allowPrivate from STANDWALL_ALLOW_PRIVATE_MEDIA', async () => {
    const server = await httpServer((_req, res) => res.end('ok'));
    vi.stubEnv('STANDWALL_ALLOW_PRIVATE_MEDIA', '');
    try {
      expect((await failure(fetchBytes(`${server.url}/`))).kind).toBe('blocked-address');
      vi.stubEnv('STANDWALL_ALLOW_PRIVATE_MEDIA', '1');
      expect((await fetchBytes(`${server.url}/`)).bytes.toString()).toBe('ok');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('re-checks a redirect target resolved by name (connect-time lookup)', async () => {
    const target = await httpServer((_req, res) => res.end('internal'));
    const entry = await httpServer((_req, res) => {
      res.writeHead(302, { location: `http://localhost:${target.port}/admin` }).end();
    });
    // Allows the first hop (a literal) but not anything reached through a name: if the redirect
    // hop were not checked, the fetch would succeed and `target` would see a request.
    const policy: AddressPolicy = (_address, hostname) => hostname !== 'localhost';
    const err = await failure(fetchBytes(`${entry.url}/start`, { addressPolicy: policy }));
    expect(err.kind).toBe('blocked-address');
    expect(entry.hits).toBe(1);
    expect(target.hits).toBe(0);
  });

  it('re-checks a redirect target given as a literal IP', async () => {
    const target = await httpServer((_req, res) => res.end('internal'));
    const entry = await httpServer((_req, res) => {
      res.writeHead(301, { location: `http://127.0.0.1:${target.port}/` }).end();
    });
    let checks = 0;
    const firstOnly: AddressPolicy = () => ++checks === 1;
    const err = await failure(fetchBytes(`${entry.url}/`, { addressPolicy: firstOnly }));
    expect(err.kind).toBe('blocked-address');
    expect(checks).toBe(2);
    expect(target.hits).toBe(0);
  });

  it('follows the same redirect when the policy allows it (control for the two tests above)', async () => {
    const target = await httpServer((_req, res) => res.end('internal'));
    const entry = await httpServer((_req, res) => {
      res.writeHead(302, { location: `http://localhost:${target.port}/admin` }).end();
    });
    const result = await fetchBytes(`${entry.url}/start`, { addressPolicy: allowAll });
    expect(result.bytes.toString()).toBe('internal');
    expect(result.finalUrl).toBe(`http://localhost:${target.port}/admin`);
  });
});

describe('fetchBytes downloads', () => {
  it('downloads bytes from a local server when allowPrivate is set', async () => {
    const payload = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
    const server = await httpServer((req, res) => {
      expect(req.headers['accept-encoding']).toBe('identity');
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': payload.length }).end(payload);
    });
    const result = await fetchBytes(`${server.url}/img.png#frag`, { allowPrivate: true });
    expect(result.bytes.equals(payload)).toBe(true);
    expect(result.contentType).toBe('image/png');
    expect(result.finalUrl).toBe(`${server.url}/img.png`);
  });

  it('reuses one keep-alive connection across fetches with the same options', async () => {
    const server = await httpServer((_req, res) => res.end('x'));
    for (let i = 0; i < 6; i++) await fetchBytes(`${server.url}/${i}`, { allowPrivate: true });
    expect(server.hits).toBe(6);
    // An agent per request would open 6. undici may open a second socket while the first response
    // is still being marked complete, so allow 2.
    expect(server.connections).toBeLessThanOrEqual(2);
  });

  it('accepts a body of exactly maxBytes', async () => {
    const server = await httpServer((_req, res) => res.end(Buffer.alloc(1000)));
    const result = await fetchBytes(`${server.url}/`, { allowPrivate: true, maxBytes: 1000 });
    expect(result.bytes.length).toBe(1000);
  });

  it('aborts an endless chunked body as soon as it passes maxBytes', async () => {
    let written = 0;
    const server = await httpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg' }); // no Content-Length → chunked
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer);
        res.write(Buffer.alloc(4096));
        written += 4096;
      }, 2);
      res.on('close', () => clearInterval(timer));
    });
    const started = Date.now();
    const err = await failure(
      fetchBytes(`${server.url}/`, { allowPrivate: true, maxBytes: 64 * 1024, totalTimeoutMs: 10_000 }),
    );
    expect(err.kind).toBe('too-large');
    expect(err.retryable).toBe(false);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(written).toBeGreaterThan(64 * 1024);
  });

  it('refuses an oversized Content-Length before reading the body', async () => {
    // Headers promise 1 GB then nothing comes: only an early refusal avoids a read timeout here.
    const server = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 1000000000\r\n\r\n');
    });
    const started = Date.now();
    const err = await failure(
      fetchBytes(`${server.url}/`, { allowPrivate: true, maxBytes: 1024, readTimeoutMs: 5000 }),
    );
    expect(err.kind).toBe('too-large');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('never returns more than a lying (small) Content-Length', async () => {
    const server = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 100\r\n\r\n');
      socket.write(Buffer.alloc(50_000, 0x41));
    });
    const result = await fetchBytes(`${server.url}/`, { allowPrivate: true, maxBytes: 1000 });
    expect(result.bytes.length).toBe(100);
  });

  it('reports a body shorter than its Content-Length as a retryable network error', async () => {
    const server = await rawServer((socket) => {
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\nonly-this');
    });
    const err = await failure(fetchBytes(`${server.url}/`, { allowPrivate: true }));
    expect(err.kind).toBe('network');
    expect(err.retryable).toBe(true);
  });
});

describe('fetchBytes timeouts', () => {
  it('times out when the server stalls mid-body', async () => {
    const server = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n');
      socket.write(Buffer.alloc(200)); // then silence
    });
    const started = Date.now();
    const err = await failure(
      fetchBytes(`${server.url}/`, { allowPrivate: true, readTimeoutMs: 300, totalTimeoutMs: 20_000 }),
    );
    const elapsed = Date.now() - started;
    expect(err.kind).toBe('timeout');
    expect(err.retryable).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2000);
  });

  it('times out when the server never sends headers', async () => {
    const server = await rawServer(() => {});
    const started = Date.now();
    const err = await failure(fetchBytes(`${server.url}/`, { allowPrivate: true, readTimeoutMs: 300 }));
    expect(err.kind).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('enforces the total timeout against a server that trickles bytes', async () => {
    const server = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n');
      const timer = setInterval(() => socket.write('x'), 50);
      socket.on('close', () => clearInterval(timer));
    });
    const started = Date.now();
    const err = await failure(
      fetchBytes(`${server.url}/`, { allowPrivate: true, readTimeoutMs: 1000, totalTimeoutMs: 500 }),
    );
    const elapsed = Date.now() - started;
    expect(err.kind).toBe('timeout');
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(2500);
  });

  it("rejects with the caller's abort reason when the caller aborts", async () => {
    const server = await rawServer(() => {});
    const controller = new AbortController();
    const reason = new Error('shutting down');
    setTimeout(() => controller.abort(reason), 50);
    await expect(
      fetchBytes(`${server.url}/`, { allowPrivate: true, signal: controller.signal }),
    ).rejects.toBe(reason);
  });
});

describe('fetchBytes redirects and statuses', () => {
  async function chain(length: number): Promise<Local> {
    const server = await httpServer((req, res) => {
      const step = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('step') ?? '0');
      if (step < length) res.writeHead(302, { location: `/hop?step=${step + 1}` }).end();
      else res.end(`arrived after ${step}`);
    });
    return server;
  }

  it('follows 3 redirects', async () => {
    const server = await chain(3);
    const result = await fetchBytes(`${server.url}/hop?step=0`, { allowPrivate: true });
    expect(result.bytes.toString()).toBe('arrived after 3');
    expect(result.finalUrl).toBe(`${server.url}/hop?step=3`);
  });

  it('refuses a 4th redirect', async () => {
    const server = await chain(4);
    const err = await failure(fetchBytes(`${server.url}/hop?step=0`, { allowPrivate: true }));
    expect(err.kind).toBe('too-many-redirects');
    expect(err.retryable).toBe(false);
    expect(server.hits).toBe(4);
  });

  it('refuses a redirect to a non-http scheme', async () => {
    const server = await httpServer((_req, res) =>
      res.writeHead(302, { location: 'file:///etc/passwd' }).end(),
    );
    const err = await failure(fetchBytes(`${server.url}/`, { allowPrivate: true }));
    expect(err.kind).toBe('bad-url');
  });

  it('drops credentials on a cross-origin redirect but keeps other headers', async () => {
    let seen: http.IncomingHttpHeaders = {};
    const target = await httpServer((req, res) => {
      seen = req.headers;
      res.end('ok');
    });
    const entry = await httpServer((_req, res) => res.writeHead(307, { location: `${target.url}/` }).end());
    await fetchBytes(`${entry.url}/`, {
      allowPrivate: true,
      headers: { Authorization: 'Bearer secret', 'X-Trace': 't1' },
    });
    expect(seen.authorization).toBeUndefined();
    expect(seen['x-trace']).toBe('t1');
  });

  it.each([
    [404, false],
    [410, false],
    [403, false],
    [408, true],
    [429, true],
    [500, true],
    [503, true],
  ])('HTTP %i → http-status, retryable %s', async (status, retryable) => {
    const server = await httpServer((_req, res) => res.writeHead(status).end('nope'));
    const err = await failure(fetchBytes(`${server.url}/`, { allowPrivate: true }));
    expect(err.kind).toBe('http-status');
    expect(err.status).toBe(status);
    expect(err.retryable).toBe(retryable);
  });

  it.each([
    'ftp://example.org/a.png',
    'javascript:alert(1)',
    'data:image/png;base64,AAAA',
    'not a url',
    'http://user:pass@127.0.0.1/',
  ])('refuses %s as bad-url', async (url) => {
    const err = await failure(fetchBytes(url, { allowPrivate: true }));
    expect(err.kind).toBe('bad-url');
    expect(err.retryable).toBe(false);
  });
});
