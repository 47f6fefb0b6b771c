/**
 * Mailbox: supporters e-mail their photos to a campaign address; each message with photos
 * becomes one post (network `email`).
 *
 * State lives in the mailbox, not in a cursor. A pass searches the folder for messages this
 * collector has not marked, reads them by UID, ingests, and only then marks each one: with
 * `\Flagged` + `$StandwallImported` (or MOVE to `processedFolder` when configured). A crash
 * between ingest and mark leaves the message unmarked; the next pass reads it again and the
 * ingest, idempotent on the Message-ID, answers "already stored" before it is marked. UIDs
 * are never stored, so a changed UIDVALIDITY costs nothing but that re-read.
 *
 * A message that cannot become a post is marked `$StandwallSkipped` (too large, malformed, no
 * readable photo) or `$StandwallNoPhoto` (nothing attached) and left in the folder for the
 * organizers: it is never read again and never holds up the messages after it. Sizes come from
 * RFC822.SIZE before any body is downloaded, so an oversize message costs one FETCH line.
 */
import { createHash } from 'node:crypto';
import { ImapFlow, type ImapFlowOptions, type SearchObject } from 'imapflow';
import { type AddressObject, type Attachment, type ParsedMail, simpleParser } from 'mailparser';
import type { NormalizedMedia, NormalizedPost } from '../ingest/normalized-post.ts';
import { log } from '../log.ts';
import { sniffImageKind } from '../media/sniff.ts';
import type { RunContext, RunCounts } from '../scheduler/scheduler.ts';
import { getCursor, setCursor } from './cursors.ts';
import { htmlToText } from './html-text.ts';
import type { Collector, CollectorDeps } from './types.ts';

export const IMAP_SOURCE_ID = 'imap';
export const KEYWORD_IMPORTED = '$StandwallImported';
export const KEYWORD_SKIPPED = '$StandwallSkipped';
export const KEYWORD_NO_PHOTO = '$StandwallNoPhoto';
/** Longest post text kept from a message: a photo's caption, not a thread of quoted replies. */
const MAX_TEXT_CHARS = 5000;
/** A message whose ingest throws this many times (a bug, a full disk) is set aside. */
const MAX_ATTEMPTS = 3;

export interface ImapCollectorOptions {
  /** Messages read per pass; the rest wait for the next pass. Default 200. */
  maxMessagesPerPass?: number;
  connectionTimeoutMs?: number;
  socketTimeoutMs?: number;
  /**
   * Called after a message's ingest and before it is marked processed. Tests throw here to
   * simulate a crash in between; an exception ends the pass as a crash would.
   */
  afterIngest?: (info: { uid: number; remoteId: string; created: boolean }) => void | Promise<void>;
  /** Replaces the IMAP client factory (tests). */
  createClient?: (options: ImapFlowOptions) => ImapFlow;
}

// ---------- the IMAP_URL ----------

export interface ImapEndpoint {
  host: string;
  port: number;
  secure: boolean;
  user: string;
  pass: string;
}

/** `imap://user:pass@host[:port]` (STARTTLS when offered) or `imaps://…` (TLS), user and password URL-encoded. */
export function parseImapUrl(text: string): ImapEndpoint {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error('IMAP_URL is not a URL; expected imaps://user:password@host');
  }
  const scheme = url.protocol.replace(/:$/, '').toLowerCase();
  if (scheme !== 'imap' && scheme !== 'imaps') {
    throw new Error(`IMAP_URL must start with imap:// or imaps://, not ${scheme}://`);
  }
  if (!url.hostname) throw new Error('IMAP_URL has no host');
  if (!url.username || !url.password) {
    throw new Error('IMAP_URL needs the user and password: imaps://user:password@host (URL-encode @ and :)');
  }
  const secure = scheme === 'imaps';
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : secure ? 993 : 143,
    secure,
    user: decodeURIComponent(url.username),
    pass: decodeURIComponent(url.password),
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

// ---------- one message → one post ----------

export function normalizeMessageId(raw: string | undefined | null): string | null {
  if (!raw) return null;
  const id = raw
    .trim()
    .replace(/^<+|>+$/g, '')
    .replace(/\s+/g, '');
  return id && id.length <= 500 ? id : null;
}

/** The header block as received: a message without Message-ID is still the same message when read again. */
function headerHash(source: Buffer): string {
  const crlf = source.indexOf('\r\n\r\n');
  const lf = source.indexOf('\n\n');
  const ends = [crlf, lf].filter((i) => i >= 0);
  const end = ends.length > 0 ? Math.min(...ends) : source.length;
  return createHash('sha256').update(source.subarray(0, end)).digest('hex');
}

function firstSender(from: AddressObject | undefined): { address: string; name: string } | null {
  for (const entry of from?.value ?? []) {
    const address = entry.address?.trim();
    if (address?.includes('@')) return { address, name: entry.name?.trim() ?? '' };
    for (const member of entry.group ?? []) {
      const inner = member.address?.trim();
      if (inner?.includes('@')) return { address: inner, name: member.name?.trim() ?? '' };
    }
  }
  return null;
}

function bodyText(mail: ParsedMail): string {
  const plain = mail.text?.trim();
  if (plain) return plain;
  return typeof mail.html === 'string' ? htmlToText(mail.html) : '';
}

export type MessageMapping =
  | { kind: 'post'; post: NormalizedPost }
  | { kind: 'no-photo' }
  | { kind: 'skip'; reason: string };

export interface MapMessageContext {
  consent: 'none' | 'display' | 'print';
  internalDate: Date | null;
  now: () => number;
}

/** Photos are the attachments whose bytes are an image the pipeline reads, whatever the sender labelled them. */
function photosOf(attachments: Attachment[]): { photos: NormalizedMedia[]; unreadable: string[] } {
  const photos: NormalizedMedia[] = [];
  const unreadable: string[] = [];
  for (const a of attachments) {
    const bytes = new Uint8Array(a.content.buffer, a.content.byteOffset, a.content.byteLength);
    if (sniffImageKind(bytes)) photos.push({ bytes, alt: null });
    else if (a.contentType?.toLowerCase().startsWith('image/')) unreadable.push(a.contentType);
  }
  return { photos, unreadable };
}

export function mapMessage(mail: ParsedMail, source: Buffer, ctx: MapMessageContext): MessageMapping {
  const sender = firstSender(mail.from);
  if (!sender) return { kind: 'skip', reason: 'no sender address in From' };
  const { photos, unreadable } = photosOf(mail.attachments ?? []);
  if (photos.length === 0) {
    return unreadable.length > 0
      ? { kind: 'skip', reason: `no readable photo (attached: ${unreadable.join(', ')})` }
      : { kind: 'no-photo' };
  }
  const messageId = normalizeMessageId(mail.messageId);
  const remoteId = messageId ?? `sha256:${headerHash(source)}`;
  const subject = mail.subject?.trim() ?? '';
  const text = [subject, bodyText(mail)].filter(Boolean).join('\n\n').slice(0, MAX_TEXT_CHARS);
  const dated = mail.date && !Number.isNaN(mail.date.getTime()) ? mail.date : null;
  const address = sender.address.toLowerCase();
  return {
    kind: 'post',
    post: {
      network: 'email',
      remoteId,
      canonicalUri: `email:${remoteId}`,
      url: null,
      text,
      language: null,
      postedAt: dated ?? ctx.internalDate ?? new Date(ctx.now()),
      author: {
        remoteId: address,
        handle: null,
        name: sender.name || (address.split('@')[0] ?? address),
        profileUrl: null,
        avatarUrl: null,
      },
      media: photos,
      sourceId: IMAP_SOURCE_ID,
      consent: { display: ctx.consent !== 'none', print: ctx.consent === 'print' },
    },
  };
}

// ---------- the pass ----------

class PassEnd extends Error {}
/** The test hook's error, carried out of the pass untouched as a crash would be. */
class HookCrash extends Error {}

/** Words for the organizers; never the server's raw text, which may echo the login line. */
function describeConnectError(error: unknown, endpoint: ImapEndpoint): string {
  const e = error as { authenticationFailed?: boolean; code?: string; message?: string };
  const where = `${endpoint.host}:${endpoint.port}`;
  if (e.authenticationFailed) {
    return `the IMAP server ${where} refused the login: check the user and password in IMAP_URL`;
  }
  if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'EHOSTUNREACH') {
    return `cannot reach the IMAP server ${where} (${e.code}): check the host and port in IMAP_URL`;
  }
  if (/tls|certificate|ssl/i.test(`${e.code ?? ''} ${e.message ?? ''}`)) {
    return `TLS with the IMAP server ${where} failed (${e.code ?? e.message}): imaps:// needs a valid certificate`;
  }
  return `IMAP connection to ${where} failed: ${e.code ?? e.message ?? 'unknown error'}`;
}

function searchQuery(moving: boolean): SearchObject {
  const keywords = [KEYWORD_SKIPPED, KEYWORD_NO_PHOTO, ...(moving ? [] : [KEYWORD_IMPORTED])];
  return { not: { or: keywords.map((keyword) => ({ keyword })) } };
}

export function createImapCollector(deps: CollectorDeps, options: ImapCollectorOptions = {}): Collector {
  const { db, campaign, settings } = deps;
  const config = campaign.sources.imap;
  const now = deps.now ?? Date.now;
  const maxMessages = options.maxMessagesPerPass ?? 200;
  const maxMessageBytes = campaign.media.maxBytes * 2;
  const createClient = options.createClient ?? ((o: ImapFlowOptions) => new ImapFlow(o));

  const unavailableReason = settings.imapUrl
    ? null
    : 'IMAP_URL is not set (e.g. imaps://photos%40campaign.org:password@imap.example.org)';

  async function collect(ctx: RunContext): Promise<RunCounts> {
    if (!settings.imapUrl) return { found: 0, created: 0, errors: 1, message: unavailableReason ?? '' };
    let endpoint: ImapEndpoint;
    try {
      endpoint = parseImapUrl(settings.imapUrl);
    } catch (error) {
      return { found: 0, created: 0, errors: 1, message: (error as Error).message };
    }
    if (ctx.signal.aborted) return { found: 0, created: 0, errors: 0, message: 'aborted before start' };

    const client = createClient({
      host: endpoint.host,
      port: endpoint.port,
      secure: endpoint.secure,
      // Credentials never cross the network in clear: off loopback, imap:// must upgrade to TLS.
      doSTARTTLS: endpoint.secure ? undefined : !isLoopback(endpoint.host),
      auth: { user: endpoint.user, pass: endpoint.pass },
      logger: false,
      disableAutoIdle: true,
      connectionTimeout: options.connectionTimeoutMs ?? 20_000,
      greetingTimeout: options.connectionTimeoutMs ?? 20_000,
      socketTimeout: options.socketTimeoutMs ?? 120_000,
    });
    client.on('error', (error: Error) =>
      log.warn({ source: IMAP_SOURCE_ID, err: error.message }, 'imap error'),
    );
    const onAbort = () => client.close();
    ctx.signal.addEventListener('abort', onAbort);

    try {
      await client.connect();
    } catch (error) {
      ctx.signal.removeEventListener('abort', onAbort);
      const message = ctx.signal.aborted ? 'aborted' : describeConnectError(error, endpoint);
      log.warn({ source: IMAP_SOURCE_ID, host: endpoint.host, port: endpoint.port }, message);
      return { found: 0, created: 0, errors: ctx.signal.aborted ? 0 : 1, message };
    }

    const counts = { found: 0, created: 0, errors: 0 };
    try {
      const message = await pass(client, ctx, counts);
      return { ...counts, message };
    } catch (error) {
      if (error instanceof HookCrash) throw error.cause;
      if (ctx.signal.aborted) return { ...counts, message: 'aborted; the rest waits for the next pass' };
      if (error instanceof PassEnd) return { ...counts, errors: counts.errors + 1, message: error.message };
      // The connection broke mid-pass: what was marked stays done, the rest is read next pass.
      const e = error as { code?: string; responseText?: string; message?: string };
      const message = `IMAP pass ended early: ${e.responseText ?? e.code ?? e.message ?? 'unknown error'}`;
      log.warn({ source: IMAP_SOURCE_ID, ...counts }, message);
      return { ...counts, errors: counts.errors + 1, message };
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      await client.logout().catch(() => client.close());
    }
  }

  /** Counts into `counts` as it goes (so a broken pass still reports them); returns the run's message. */
  async function pass(client: ImapFlow, ctx: RunContext, counts: RunCounts): Promise<string | undefined> {
    const moving = config.processedFolder !== null;
    if (config.processedFolder) await ensureFolder(client, config.processedFolder);

    const lock = await client.getMailboxLock(config.folder).catch((error: { responseText?: string }) => {
      throw new PassEnd(
        `cannot open the folder "${config.folder}" (sources.imap.folder): ${error.responseText ?? 'no such folder'}`,
      );
    });
    try {
      const mailbox = client.mailbox;
      if (!mailbox) throw new PassEnd(`cannot open the folder "${config.folder}"`);
      const keywordsKept = mailbox.permanentFlags?.has('\\*') ?? false;
      if (!moving && !keywordsKept) {
        throw new PassEnd(
          `the IMAP server does not keep custom keywords in "${config.folder}": set sources.imap.processedFolder so processed mail is moved`,
        );
      }
      const found = (await client.search(searchQuery(moving), { uid: true })) || [];
      const uids = found.sort((a, b) => a - b).slice(0, maxMessages);
      if (uids.length === 0) return 'no new messages';

      const meta = await client.fetchAll(uids, { uid: true, size: true, internalDate: true }, { uid: true });
      const byUid = new Map(meta.map((m) => [m.uid, m]));
      const mark = async (uid: number, keyword: string) => {
        if (keywordsKept) await client.messageFlagsAdd(String(uid), [keyword], { uid: true });
      };

      let done = 0;
      for (const uid of uids) {
        if (ctx.signal.aborted) break;
        const info = byUid.get(uid);
        if (!info) continue; // expunged by someone else meanwhile
        const outcome = await processOne(client, uid, info, ctx);
        if (outcome.kind === 'post') {
          counts.found++;
          if (outcome.created) counts.created++;
          // A crash from here to the mark re-reads the message next pass; the ingest finds it stored.
          try {
            await options.afterIngest?.({ uid, remoteId: outcome.remoteId, created: outcome.created });
          } catch (error) {
            throw new HookCrash('afterIngest', { cause: error });
          }
          if (moving && config.processedFolder) {
            await client.messageMove(String(uid), config.processedFolder, { uid: true });
          } else {
            await client.messageFlagsAdd(String(uid), ['\\Flagged', KEYWORD_IMPORTED], { uid: true });
          }
        } else if (outcome.kind === 'no-photo') {
          await mark(uid, KEYWORD_NO_PHOTO);
        } else if (outcome.kind === 'skip') {
          counts.errors++;
          await mark(uid, KEYWORD_SKIPPED);
        } else if (outcome.kind === 'failed') {
          counts.errors++; // retried next pass, set aside after MAX_ATTEMPTS
          if (outcome.giveUp) await mark(uid, KEYWORD_SKIPPED);
        }
        ctx.progress?.(++done, uids.length);
      }
      if (ctx.signal.aborted) return 'aborted; the rest waits for the next pass';
      const rest = found.length - uids.length;
      return rest > 0 ? `${rest} more messages wait for the next pass` : undefined;
    } finally {
      lock.release();
    }
  }

  type Outcome =
    | { kind: 'post'; remoteId: string; created: boolean }
    | { kind: 'no-photo' }
    | { kind: 'skip' }
    | { kind: 'gone' }
    | { kind: 'failed'; giveUp: boolean };

  async function processOne(
    client: ImapFlow,
    uid: number,
    info: { size?: number; internalDate?: Date | string },
    ctx: RunContext,
  ): Promise<Outcome> {
    const where = { source: IMAP_SOURCE_ID, folder: config.folder, uid };
    const size = info.size ?? 0;
    if (size > maxMessageBytes) {
      log.warn({ ...where, bytes: size, limit: maxMessageBytes }, 'message too large: skipped');
      return { kind: 'skip' };
    }
    const message = await client.fetchOne(String(uid), { uid: true, source: true }, { uid: true });
    // fetchOne answers false for a message expunged by another client meanwhile.
    if (message === false || !message.source) return { kind: 'gone' };
    if (ctx.signal.aborted) throw new Error('aborted');

    let mapping: MessageMapping;
    try {
      const mail = await simpleParser(message.source, {
        skipHtmlToText: true,
        skipTextToHtml: true,
        skipImageLinks: true,
        skipTextLinks: true,
        maxHtmlLengthToParse: 2_000_000,
      });
      const internalDate = info.internalDate ? new Date(info.internalDate) : null;
      mapping = mapMessage(mail, message.source, { consent: config.consent, internalDate, now });
    } catch (error) {
      log.warn({ ...where, err: (error as Error).message }, 'malformed message: skipped');
      return { kind: 'skip' };
    }
    if (mapping.kind === 'skip') {
      log.warn({ ...where, reason: mapping.reason }, 'message skipped');
      return { kind: 'skip' };
    }
    if (mapping.kind === 'no-photo') {
      log.info(where, 'message without photos');
      return { kind: 'no-photo' };
    }

    const post = mapping.post;
    try {
      const result = await deps.ingest.ingest(post);
      if (result.postId === null) {
        const reasons = result.problems.map((p) => `${p.reason}: ${p.message}`);
        log.warn(
          { ...where, remoteId: post.remoteId, reasons },
          'no photo of the message was accepted: skipped',
        );
        return { kind: 'skip' };
      }
      if (result.problems.length > 0) {
        log.warn({ ...where, postId: result.postId, problems: result.problems }, 'some photos were refused');
      }
      return { kind: 'post', remoteId: post.remoteId, created: result.created };
    } catch (error) {
      const key = `attempts:${post.remoteId}`;
      const attempts = Number(getCursor(db, IMAP_SOURCE_ID, key) ?? 0) + 1;
      setCursor(db, IMAP_SOURCE_ID, key, String(attempts));
      log.error(
        { ...where, remoteId: post.remoteId, attempts, err: (error as Error).message },
        'ingest failed',
      );
      return { kind: 'failed', giveUp: attempts >= MAX_ATTEMPTS };
    }
  }

  async function ensureFolder(client: ImapFlow, path: string): Promise<void> {
    const folders = await client.list();
    if (folders.some((f) => f.path === path)) return;
    await client.mailboxCreate(path).catch((error: { responseText?: string }) => {
      throw new PassEnd(
        `cannot create the folder "${path}" (sources.imap.processedFolder): ${error.responseText ?? 'refused'}`,
      );
    });
  }

  async function recheck(): Promise<RunCounts> {
    // Mail cannot be deleted at its source once received: there is nothing to re-check.
    return { found: 0, created: 0, errors: 0 };
  }

  return { id: IMAP_SOURCE_ID, unavailableReason, collect, recheck };
}
