/**
 * The only way standwall downloads media and avatars whose URLs come from untrusted posts.
 *
 * A post author chooses the URL, so every fetch is a potential SSRF probe against the machine
 * running the wall (admin UI on localhost, cloud metadata at 169.254.169.254, the LAN). The
 * defences follow Mastodon's request.rb (see /work/shared/REFERENCE.md):
 *
 * - the address is checked at connect time, inside the socket's own DNS lookup, so a name cannot
 *   resolve to a public address for a check and to a private one for the connection (rebinding);
 * - literal IPs are checked before connecting, because Node skips `lookup` for them;
 * - redirects are followed by hand, each hop re-checked the same way;
 * - size and time are bounded on the stream, not trusted from headers.
 */
import dns, { type LookupAddress, type LookupAllOptions } from 'node:dns';
import net, { type LookupFunction } from 'node:net';
import { Agent, request } from 'undici';
import { log } from '../log.ts';

const MiB = 1024 * 1024;

/** Returns true when a connection to `address` (resolved for `hostname`) may be made. */
export type AddressPolicy = (address: string, hostname: string) => boolean;

export interface SafeFetchOptions {
  /** Largest body accepted, in bytes. Default 20 MiB. */
  maxBytes?: number;
  /** TCP (+TLS) connect, DNS included. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Longest silence while waiting for headers or between body chunks. Default 10000 ms. */
  readTimeoutMs?: number;
  /** Whole fetch, redirects and body included. Default 30000 ms. */
  totalTimeoutMs?: number;
  /** Default 3, as Mastodon. */
  maxRedirects?: number;
  /** Permit private/loopback/etc. addresses. Default: STANDWALL_ALLOW_PRIVATE_MEDIA === '1' (dev setups). */
  allowPrivate?: boolean;
  headers?: Record<string, string>;
  /** Aborting rejects with the signal's reason, not a SafeFetchError: the caller asked for it. */
  signal?: AbortSignal;
  /**
   * Replaces the private-address rule (and `allowPrivate`) with a custom decision. Exists so tests
   * can prove that each redirect hop is re-checked without sending traffic off the machine.
   * Pass a long-lived function: agents are cached per policy function.
   */
  addressPolicy?: AddressPolicy;
}

export type SafeFetchErrorKind =
  | 'blocked-address'
  | 'too-large'
  | 'timeout'
  | 'too-many-redirects'
  | 'http-status'
  | 'bad-url'
  | 'network';

export class SafeFetchError extends Error {
  override readonly name = 'SafeFetchError';
  readonly kind: SafeFetchErrorKind;
  readonly status?: number;
  readonly retryable: boolean;

  constructor(
    kind: SafeFetchErrorKind,
    message: string,
    opts: { status?: number; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.kind = kind;
    if (opts.status !== undefined) this.status = opts.status;
    this.retryable = opts.retryable ?? defaultRetryable(kind, opts.status);
  }
}

function defaultRetryable(kind: SafeFetchErrorKind, status: number | undefined): boolean {
  switch (kind) {
    case 'timeout':
    case 'network':
      return true;
    case 'http-status':
      // 408/425/429 and 5xx are the server saying "not now"; 403/404/410 and the rest will not change.
      return status !== undefined && (status === 408 || status === 425 || status === 429 || status >= 500);
    default:
      // blocked, too large, bad URL and redirect loops are properties of the post, not of the moment.
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Address classification
// ---------------------------------------------------------------------------------------------

/** [network, prefix length] pairs for IPv4 ranges that are not public unicast. */
const BLOCKED_V4: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8], // "this network"; 0.0.0.0 reaches localhost on Linux
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // CGNAT shared space
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata endpoints
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, includes 255.255.255.255 broadcast
];

function parseV4(ip: string): number | null {
  if (!net.isIPv4(ip)) return null;
  const parts = ip.split('.').map(Number);
  return (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
}

const BLOCKED_V4_MASKS = BLOCKED_V4.map(([base, bits]) => {
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { net: ((parseV4(base) ?? 0) & mask) >>> 0, mask };
});

function isBlockedV4(n: number): boolean {
  return BLOCKED_V4_MASKS.some(({ net: base, mask }) => (n & mask) >>> 0 === base);
}

/** Expands any valid IPv6 text form (::, embedded dotted quad, zone id) into 8 16-bit groups. */
function parseV6(input: string): number[] | null {
  const ip = input.replace(/%.*$/, ''); // zone id (fe80::1%eth0) does not change the class
  if (!net.isIPv6(ip)) return null;
  let text = ip;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseV4(tail);
    if (v4 === null) return null;
    text = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length > 2 || missing < 0 || (halves.length === 1 && missing !== 0)) return null;
  const groups = [...head, ...new Array<string>(missing).fill('0'), ...rest].map((g) =>
    Number.parseInt(g, 16),
  );
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff)
    ? groups
    : null;
}

function v4From(hi: number, lo: number): number {
  return ((hi << 16) | lo) >>> 0;
}

function isBlockedV6(g: number[]): boolean {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const zeroTo4 = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  // ::ffff:a.b.c.d (IPv4-mapped): the kernel connects to the IPv4 address, so judge that.
  if (zeroTo4 && g5 === 0xffff) return isBlockedV4(v4From(g6, g7));
  // 64:ff9b::/96 (NAT64 well-known prefix): the translator connects to the embedded IPv4.
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    return isBlockedV4(v4From(g6, g7));
  }
  // 2002::/16 (6to4): the embedded IPv4 is the relay endpoint that ends up being contacted.
  if (g0 === 0x2002) return isBlockedV4(v4From(g1, g2));
  // Everything else outside 2000::/3 is not global unicast: ::, ::1, IPv4-compatible ::/96,
  // 64:ff9b:1::/48, 100::/64 discard, fc00::/7 unique-local, fe80::/10 link-local, fec0::/10,
  // ff00::/8 multicast. An allow-range is safer than listing them one by one.
  if ((g0 & 0xe000) !== 0x2000) return true;
  if (g0 === 0x2001) {
    if (g1 === 0) return true; // 2001::/32 Teredo: tunnels to an arbitrary IPv4
    if (g1 === 0xdb8) return true; // documentation
    if ((g1 & 0xfff0) === 0x10 || (g1 & 0xfff0) === 0x20) return true; // ORCHID, ORCHIDv2
  }
  return false;
}

/**
 * True when `ip` must not be contacted for untrusted content: loopback, private, link-local,
 * CGNAT, unique-local, unspecified, multicast, broadcast, reserved, documentation ranges, and
 * IPv6 forms that embed one of those (IPv4-mapped, NAT64, 6to4) or tunnel anywhere (Teredo).
 * Accepts bracketed IPv6 and zone ids. Anything that is not an IP address counts as private, so a
 * caller that passes the wrong thing fails closed.
 */
export function isPrivateAddress(ip: string): boolean {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  const v4 = parseV4(bare);
  if (v4 !== null) return isBlockedV4(v4);
  const v6 = parseV6(bare);
  if (v6 !== null) return isBlockedV6(v6);
  return true;
}

const publicOnly: AddressPolicy = (address) => !isPrivateAddress(address);
const allowAll: AddressPolicy = () => true;

// ---------------------------------------------------------------------------------------------
// Connect-time lookup
// ---------------------------------------------------------------------------------------------

/**
 * Checks DNS answers for one host. Refuses the host if ANY answer is disallowed (as Mastodon
 * does) rather than quietly dropping the bad ones: a public name that also points inside the
 * network is hostile or misconfigured, and connecting anyway would hide that.
 */
export function screenAddresses(
  hostname: string,
  addresses: readonly LookupAddress[],
  policy: AddressPolicy,
): LookupAddress[] {
  if (addresses.length === 0) {
    throw Object.assign(new Error(`no addresses for ${hostname}`), { code: 'ENOTFOUND', hostname });
  }
  for (const { address } of addresses) {
    if (!policy(address, hostname)) {
      throw new SafeFetchError(
        'blocked-address',
        `refusing ${hostname}: resolves to blocked address ${address}`,
      );
    }
  }
  return [...addresses];
}

export type Resolver = (
  hostname: string,
  options: LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

/**
 * A `net.connect` lookup that resolves, screens every answer, and hands the socket only screened
 * addresses. Because the socket connects to exactly what this returns, there is no window between
 * check and use. Handles both the single-answer and the `all: true` (happy eyeballs) calling forms.
 * `resolve` is injectable so tests can feed public and private answers without real DNS.
 */
export function createGuardedLookup(policy: AddressPolicy, resolve: Resolver = dns.lookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) {
        callback(err, '', 0);
        return;
      }
      let allowed: LookupAddress[];
      try {
        allowed = screenAddresses(hostname, addresses, policy);
      } catch (e) {
        callback(e as NodeJS.ErrnoException, '', 0);
        return;
      }
      if (options.all) {
        callback(null, allowed);
      } else {
        const first = allowed[0] as LookupAddress;
        callback(null, first.address, first.family);
      }
    });
  };
}

// ---------------------------------------------------------------------------------------------
// Agents: one per (connect timeout, read timeout, policy), reused for keep-alive
// ---------------------------------------------------------------------------------------------

const agentsByPolicy = new Map<AddressPolicy, Map<string, Agent>>();

function agentFor(policy: AddressPolicy, connectTimeoutMs: number, readTimeoutMs: number): Agent {
  let byTimeouts = agentsByPolicy.get(policy);
  if (!byTimeouts) {
    byTimeouts = new Map();
    agentsByPolicy.set(policy, byTimeouts);
  }
  const key = `${connectTimeoutMs}/${readTimeoutMs}`;
  let agent = byTimeouts.get(key);
  if (!agent) {
    agent = new Agent({
      connect: { timeout: connectTimeoutMs, lookup: createGuardedLookup(policy) },
      // undici's headersTimeout/bodyTimeout are idle timers, i.e. Mastodon's read timeout.
      headersTimeout: readTimeoutMs,
      bodyTimeout: readTimeoutMs,
    });
    byTimeouts.set(key, agent);
  }
  return agent;
}

/** Closes every cached agent (graceful shutdown, test teardown). Later fetches make new ones. */
export async function closeSafeFetchAgents(): Promise<void> {
  const agents = [...agentsByPolicy.values()].flatMap((m) => [...m.values()]);
  agentsByPolicy.clear();
  await Promise.allSettled(agents.map((a) => a.close()));
}

// ---------------------------------------------------------------------------------------------
// Fetch
// ---------------------------------------------------------------------------------------------

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
// Credentials the caller meant for the first origin must not follow a redirect elsewhere.
const ORIGIN_BOUND_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

function parseTarget(raw: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch (cause) {
    throw new SafeFetchError('bad-url', `invalid URL: ${raw.slice(0, 200)}`, { cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SafeFetchError('bad-url', `unsupported scheme ${url.protocol}`);
  }
  // Userinfo has no business in a media URL and is a classic trick to disguise the real host.
  if (url.username || url.password) throw new SafeFetchError('bad-url', 'URL carries credentials');
  if (!url.hostname) throw new SafeFetchError('bad-url', 'URL has no host');
  url.hash = '';
  return url;
}

/** Node does not call `lookup` for IP literals, so they are judged here instead. */
function checkLiteralHost(url: URL, policy: AddressPolicy): void {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (net.isIP(host) && !policy(host, host)) {
    throw new SafeFetchError('blocked-address', `refusing blocked address ${host}`);
  }
}

function headerValue(value: string | string[] | undefined): string | null {
  if (Array.isArray(value)) return value[0] ?? null;
  return value ?? null;
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function toSafeFetchError(err: unknown, totalSignal: AbortSignal, url: URL): SafeFetchError {
  // The guarded lookup's error travels through net and undici; find it wherever it ended up.
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof SafeFetchError) return e;
  }
  if (totalSignal.aborted) {
    return new SafeFetchError('timeout', `total timeout fetching ${url.host}`, { cause: err });
  }
  const code = errorCode(err);
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new SafeFetchError('timeout', `connect timeout to ${url.host}`, { cause: err });
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return new SafeFetchError('timeout', `read timeout from ${url.host}`, { cause: err });
    case 'ENOTFOUND':
      // NXDOMAIN will not fix itself on a retry; EAI_AGAIN (temporary) falls through as retryable.
      return new SafeFetchError('network', `cannot resolve ${url.hostname}`, {
        cause: err,
        retryable: false,
      });
  }
  const message = err instanceof Error ? err.message : String(err);
  // A broken certificate is a configuration fact, not a transient fault.
  const tlsFailure = code !== undefined && /CERT|SELF_SIGNED|ERR_TLS|UNABLE_TO_VERIFY/.test(code);
  return new SafeFetchError('network', `fetching ${url.host}: ${message}`, {
    cause: err,
    retryable: !tlsFailure,
  });
}

export async function fetchBytes(
  url: string,
  opts: SafeFetchOptions = {},
): Promise<{ bytes: Buffer; contentType: string | null; finalUrl: string }> {
  const maxBytes = opts.maxBytes ?? 20 * MiB;
  const maxRedirects = opts.maxRedirects ?? 3;
  const allowPrivate = opts.allowPrivate ?? process.env.STANDWALL_ALLOW_PRIVATE_MEDIA === '1';
  const policy = opts.addressPolicy ?? (allowPrivate ? allowAll : publicOnly);
  const agent = agentFor(policy, opts.connectTimeoutMs ?? 5000, opts.readTimeoutMs ?? 10_000);

  const totalSignal = AbortSignal.timeout(opts.totalTimeoutMs ?? 30_000);
  const signal = opts.signal ? AbortSignal.any([totalSignal, opts.signal]) : totalSignal;

  let current = parseTarget(url);
  let headers: Record<string, string> = {
    'user-agent': 'standwall (+campaign photo wall)',
    // Raw bytes only: no decompression, so no decompression bombs and maxBytes means what it says.
    'accept-encoding': 'identity',
    ...Object.fromEntries(Object.entries(opts.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };

  for (let redirects = 0; ; redirects++) {
    checkLiteralHost(current, policy);

    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(current, { method: 'GET', headers, dispatcher: agent, signal });
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      const error = toSafeFetchError(err, totalSignal, current);
      if (error.kind === 'blocked-address') log.warn({ url: current.href }, 'safe-fetch refused address');
      throw error;
    }
    const { statusCode, body } = response;

    if (REDIRECT_STATUSES.has(statusCode)) {
      // Drain a little for keep-alive, but never let a redirect body cost us time or memory.
      body.dump({ limit: 16 * 1024, signal }).catch(() => {});
      const location = headerValue(response.headers.location);
      if (!location) {
        throw new SafeFetchError('http-status', `redirect ${statusCode} without Location`, {
          status: statusCode,
          retryable: false,
        });
      }
      if (redirects >= maxRedirects) {
        throw new SafeFetchError('too-many-redirects', `more than ${maxRedirects} redirects from ${url}`);
      }
      const next = parseTarget(location, current);
      if (next.origin !== current.origin) {
        headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !ORIGIN_BOUND_HEADERS.has(k)));
      }
      current = next;
      continue;
    }

    if (statusCode < 200 || statusCode > 299) {
      body.dump({ limit: 16 * 1024, signal }).catch(() => {});
      throw new SafeFetchError('http-status', `HTTP ${statusCode} from ${current.host}`, {
        status: statusCode,
      });
    }

    // Refuse early when the server admits the body is too big; the stream count below catches liars.
    const declared = Number(headerValue(response.headers['content-length']) ?? Number.NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      body.destroy();
      throw new SafeFetchError('too-large', `Content-Length ${declared} exceeds ${maxBytes} bytes`);
    }

    const chunks: Buffer[] = [];
    let received = 0;
    try {
      for await (const chunk of body) {
        received += (chunk as Buffer).length;
        if (received > maxBytes) {
          body.destroy();
          throw new SafeFetchError('too-large', `body exceeds ${maxBytes} bytes`);
        }
        chunks.push(chunk as Buffer);
      }
    } catch (err) {
      if (err instanceof SafeFetchError) throw err;
      if (opts.signal?.aborted) throw opts.signal.reason;
      throw toSafeFetchError(err, totalSignal, current);
    }

    return {
      bytes: Buffer.concat(chunks, received),
      contentType: headerValue(response.headers['content-type']),
      finalUrl: current.href,
    };
  }
}
