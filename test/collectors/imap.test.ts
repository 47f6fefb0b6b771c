import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { ImapFlow } from 'imapflow';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createImapCollector,
  type ImapCollectorOptions,
  KEYWORD_IMPORTED,
  KEYWORD_NO_PHOTO,
  KEYWORD_SKIPPED,
  normalizeMessageId,
  parseImapUrl,
} from '../../src/collectors/imap.ts';
import type { CollectorDeps } from '../../src/collectors/types.ts';
import { authors, media, posts } from '../../src/db/schema.ts';
import type { RunContext } from '../../src/scheduler/scheduler.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { type Dovecot, startDovecot } from '../helpers/dovecot.ts';
import { flatJpeg, photoJpeg } from '../helpers/images.ts';

// ---------- MIME messages, written out as a mail client would ----------

const CRLF = '\r\n';
const HEIC = readFileSync(join(import.meta.dirname, '../fixtures/photo.heic'));

const base64Lines = (bytes: Buffer | string) =>
  Buffer.from(bytes).toString('base64').replace(/.{76}/g, `$&${CRLF}`);
const encodedWord = (text: string) => `=?UTF-8?B?${Buffer.from(text).toString('base64')}?=`;

/** One leaf entity: its headers, a blank line, the base64 body. */
function leaf(contentType: string, body: Buffer | string, headers: string[] = []): string {
  return [
    `Content-Type: ${contentType}`,
    'Content-Transfer-Encoding: base64',
    ...headers,
    '',
    base64Lines(body),
  ].join(CRLF);
}

function multipart(subtype: string, parts: string[]): string {
  const boundary = `=_standwall_${randomBytes(6).toString('hex')}`;
  const body = parts.map((p) => `--${boundary}${CRLF}${p}${CRLF}`).join('');
  return `Content-Type: multipart/${subtype}; boundary="${boundary}"${CRLF}${CRLF}${body}--${boundary}--${CRLF}`;
}

function attachment(contentType: string, filename: string, bytes: Buffer): string {
  return leaf(`${contentType}; name="${filename}"`, bytes, [
    `Content-Disposition: attachment; filename="${filename}"`,
  ]);
}

const text = (body: string) => leaf('text/plain; charset=UTF-8', body);

interface Mail {
  from?: string;
  subject?: string;
  messageId?: string | null;
  date?: string;
  entity: string;
}

let idCounter = 0;
function message(mail: Mail): string {
  const id =
    mail.messageId === undefined
      ? `<${++idCounter}.${randomBytes(4).toString('hex')}@mail.test>`
      : mail.messageId;
  const headers = [
    ...(mail.from ? [`From: ${mail.from}`] : []),
    'To: photos@campaign.test',
    `Subject: ${mail.subject ?? 'My photo'}`,
    `Date: ${mail.date ?? 'Mon, 02 Mar 2026 10:00:00 +0900'}`,
    ...(id ? [`Message-ID: ${id}`] : []),
    'MIME-Version: 1.0',
  ];
  return headers.join(CRLF) + CRLF + mail.entity;
}

const photoMail = async (seed: number, extra: Partial<Mail> = {}) =>
  message({
    from: `Supporter ${seed} <supporter${seed}@example.org>`,
    subject: `Photo ${seed}`,
    entity: multipart('mixed', [
      text(`I stand for peace, photo ${seed}`),
      attachment('image/jpeg', `p${seed}.jpg`, await photoJpeg(seed, 96, 72)),
    ]),
    ...extra,
  });

// ---------- the server and the app ----------

let dovecot: Dovecot;
let ctx: TestContext | undefined;

beforeAll(async () => {
  dovecot = await startDovecot();
});
afterAll(async () => {
  await dovecot?.stop();
});
afterEach(() => {
  ctx?.dispose();
  ctx = undefined;
});

async function mailbox<T>(use: (client: ImapFlow) => Promise<T>, url = dovecot.url()): Promise<T> {
  const { host, port, user, pass } = parseImapUrl(url);
  const client = new ImapFlow({ host, port, secure: false, auth: { user, pass }, logger: false });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.logout();
  }
}

/** APPENDs the messages in order and returns their UIDs. */
async function append(folder: string, messages: string[]): Promise<number[]> {
  return mailbox(async (client) => {
    if (folder !== 'INBOX') await client.mailboxCreate(folder).catch(() => undefined);
    const uids: number[] = [];
    for (const m of messages) {
      const reply = await client.append(folder, m);
      if (reply === false || !reply.uid) throw new Error('APPEND returned no UID');
      uids.push(reply.uid);
    }
    return uids;
  });
}

/** UID → flags and keywords, for every message in the folder. */
async function flagsIn(folder: string): Promise<Map<number, string[]>> {
  return mailbox(async (client) => {
    const lock = await client.getMailboxLock(folder);
    try {
      const all = await client.fetchAll('1:*', { uid: true, flags: true }, { uid: true }).catch(() => []);
      return new Map(all.map((m) => [m.uid, [...(m.flags ?? [])].sort()]));
    } finally {
      lock.release();
    }
  });
}

function setup(imap: Record<string, unknown>, env: Record<string, string> = { IMAP_URL: dovecot.url() }) {
  ctx = createTestContext({ sources: { imap } }, env);
  return ctx;
}

function collector(c: TestContext, options: ImapCollectorOptions = {}) {
  const deps: CollectorDeps = {
    db: c.db,
    ingest: c.ingest,
    media: c.media,
    campaign: c.campaign,
    settings: c.settings,
  };
  return createImapCollector(deps, options);
}

const run = (signal = new AbortController().signal, progress?: RunContext['progress']): RunContext => ({
  signal,
  progress,
});

function storedPosts(c: TestContext) {
  return c.db
    .select({
      id: posts.id,
      remoteId: posts.remoteId,
      canonicalUri: posts.canonicalUri,
      text: posts.text,
      postedAt: posts.postedAt,
      demands: posts.demands,
      consentDisplay: posts.consentDisplay,
      consentPrint: posts.consentPrint,
      network: posts.network,
      sourceId: posts.sourceId,
      author: authors.remoteId,
      name: authors.name,
      handle: authors.handle,
      profileUrl: authors.profileUrl,
    })
    .from(posts)
    .innerJoin(authors, eq(posts.authorId, authors.id))
    .all();
}

function mediaOf(c: TestContext, postId: number) {
  return c.db.select().from(media).where(eq(media.postId, postId)).orderBy(media.position).all();
}

// ---------- tests ----------

describe('IMAP_URL and Message-ID', () => {
  it('reads imap:// and imaps:// URLs with encoded credentials', () => {
    expect(parseImapUrl('imaps://photos%40campaign.org:p%3Ass%40w@imap.example.org')).toEqual({
      host: 'imap.example.org',
      port: 993,
      secure: true,
      user: 'photos@campaign.org',
      pass: 'p:ss@w',
    });
    expect(parseImapUrl('imap://u:p@127.0.0.1:1143')).toMatchObject({ port: 1143, secure: false });
    expect(() => parseImapUrl('https://u:p@example.org')).toThrow(/imap:\/\/ or imaps:\/\//);
    expect(() => parseImapUrl('imaps://example.org')).toThrow(/user and password/);
  });

  it('normalizes Message-IDs and refuses empty ones', () => {
    expect(normalizeMessageId(' <abc.123@mail.example> ')).toBe('abc.123@mail.example');
    expect(normalizeMessageId('<>')).toBeNull();
    expect(normalizeMessageId(undefined)).toBeNull();
  });
});

describe('mailbox collector against Dovecot', () => {
  it('is unavailable without IMAP_URL and connects to nothing', async () => {
    const c = setup({}, {});
    const imap = collector(c, {
      createClient: () => {
        throw new Error('must not connect');
      },
    });
    expect(imap.unavailableReason).toMatch(/IMAP_URL/);
    const counts = await imap.collect(run());
    expect(counts).toMatchObject({ found: 0, created: 0, errors: 1 });
    expect(counts.message).toMatch(/IMAP_URL is not set/);
    expect(await imap.recheck(run())).toEqual({ found: 0, created: 0, errors: 0 });
  });

  it('reports refused credentials without throwing or repeating the password', async () => {
    // A server of its own: Dovecot's auth penalty would slow every later login from 127.0.0.1.
    const other = await startDovecot();
    try {
      const wrong = other.url().replace(/:[^:@/]+@/, ':wrong-password@');
      const counts = await collector(setup({}, { IMAP_URL: wrong })).collect(run());
      expect(counts).toMatchObject({ found: 0, created: 0, errors: 1 });
      expect(counts.message).toMatch(/refused the login: check the user and password in IMAP_URL/);
      expect(counts.message).not.toContain('wrong-password');
    } finally {
      await other.stop();
    }
  });

  it('reports a folder it cannot open', async () => {
    const counts = await collector(setup({ folder: 'No Such Folder' })).collect(run());
    expect(counts).toMatchObject({ found: 0, created: 0, errors: 1 });
    expect(counts.message).toMatch(/cannot open the folder "No Such Folder" \(sources\.imap\.folder\)/);
  });

  it('imports each message with photos once, skips the rest without blocking, and marks every message', async () => {
    const [a, b] = [await photoJpeg(11, 120, 90), await photoJpeg(12, 120, 90)];
    const inline = await flatJpeg({ r: 200, g: 40, b: 40 }, 80, 60);
    const twoPhotos = message({
      from: 'Alice Park <Alice.Park@Example.org>',
      subject: 'End the Korean War!',
      messageId: '<two-photos@mail.test>',
      entity: multipart('mixed', [
        text('Two photos from our rally.'),
        attachment('image/jpeg', 'a.jpg', a),
        attachment('image/jpeg', 'b.jpg', b),
        attachment('application/pdf', 'flyer.pdf', Buffer.from('%PDF-1.4\n% a flyer, not a photo\n')),
      ]),
    });
    // The oversize message first: it must not hold up any message after it.
    const huge = Buffer.alloc(30 * 1024 * 1024, 0x41);
    huge.set([0xff, 0xd8, 0xff, 0xe0]);
    const messages = {
      oversize: message({
        from: 'big@example.org',
        entity: multipart('mixed', [text('huge'), attachment('image/jpeg', 'huge.jpg', huge)]),
      }),
      noSender: message({
        entity: multipart('mixed', [text('who am I?'), attachment('image/jpeg', 'x.jpg', a)]),
      }),
      truncated: message({
        from: 'cut@example.org',
        entity: multipart('mixed', [attachment('image/jpeg', 'cut.jpg', a.subarray(0, 600))]),
      }),
      twoPhotos,
      inline: message({
        from: 'bob@example.com',
        subject: 'Inline',
        entity: multipart('related', [
          leaf(
            'text/html; charset=UTF-8',
            '<html><body><p>Peace on the Korean Peninsula Now!</p><p><img src="cid:photo1@mail.test"></p></body></html>',
          ),
          leaf('image/jpeg', inline, ['Content-ID: <photo1@mail.test>', 'Content-Disposition: inline']),
        ]),
      }),
      heic: message({
        from: 'Carol <carol@example.net>',
        subject: 'From my iPhone',
        entity: multipart('mixed', [
          text('HEIC straight from the phone'),
          attachment('application/octet-stream', 'IMG_0001.HEIC', HEIC),
        ]),
      }),
      noAttachment: message({
        from: 'dave@example.org',
        subject: 'Question',
        entity: text('Where do I send it?'),
      }),
      korean: message({
        from: `${encodedWord('김철수')} <Chulsoo@Example.KR>`,
        subject: encodedWord('한반도에 평화를'),
        date: 'Tue, 03 Mar 2026 09:30:00 +0900',
        entity: multipart('mixed', [
          text('종전선언! 한미연합훈련 중단'),
          attachment('image/png', 'sign.png', await sharp(a).png().toBuffer()),
        ]),
      }),
      noMessageId: await photoMail(13, { messageId: null }),
      resent: twoPhotos, // the same Message-ID again: the same post
    };
    const names = Object.keys(messages) as Array<keyof typeof messages>;
    const uids = await append('INBOX', Object.values(messages));
    const uidOf = Object.fromEntries(names.map((n, i) => [n, uids[i] as number])) as Record<
      keyof typeof messages,
      number
    >;

    const c = setup({ consent: 'print' });
    // Which messages' bodies were downloaded: the oversize one must be judged by RFC822.SIZE alone.
    const downloaded: number[] = [];
    const imap = collector(c, {
      createClient: (options) => {
        const client = new ImapFlow(options);
        const fetchOne = client.fetchOne.bind(client);
        client.fetchOne = (range, query, opts) => {
          if (query.source) downloaded.push(Number(range));
          return fetchOne(range, query, opts);
        };
        return client;
      },
    });
    const progress: number[] = [];
    const first = await imap.collect(run(undefined, (done) => progress.push(done)));
    expect(first).toMatchObject({ found: 6, created: 5, errors: 3 });
    expect(progress).toEqual(names.map((_, i) => i + 1));
    expect(downloaded).toEqual(uids.filter((uid) => uid !== uidOf.oversize));

    const stored = storedPosts(c).sort((x, y) => x.remoteId.localeCompare(y.remoteId));
    expect(stored).toHaveLength(5);
    const byAuthor = new Map(stored.map((p) => [p.author, p]));
    expect([...byAuthor.keys()].sort()).toEqual([
      'alice.park@example.org',
      'bob@example.com',
      'carol@example.net',
      'chulsoo@example.kr',
      'supporter13@example.org',
    ]);
    for (const p of stored) {
      expect(p).toMatchObject({
        network: 'email',
        sourceId: 'imap',
        handle: null,
        profileUrl: null,
        consentDisplay: true,
        consentPrint: true,
      });
      expect(p.canonicalUri).toBe(`email:${p.remoteId}`);
    }

    const alice = byAuthor.get('alice.park@example.org');
    expect(alice).toMatchObject({
      remoteId: 'two-photos@mail.test',
      name: 'Alice Park',
      text: 'End the Korean War!\n\nTwo photos from our rally.',
      demands: ['end-war'],
      postedAt: '2026-03-02T01:00:00.000Z',
    });
    const aliceMedia = mediaOf(c, alice?.id ?? -1);
    expect(aliceMedia.map((m) => [m.position, m.state, m.sourceType, m.width])).toEqual([
      [0, 'stored', 'jpeg', 120],
      [1, 'stored', 'jpeg', 120],
    ]);
    for (const m of aliceMedia) {
      for (const file of [m.originalPath, m.wallPath, m.thumbPath, m.tilePath]) {
        expect(existsSync(c.media.absolutePath(file ?? 'missing'))).toBe(true);
      }
    }

    const bob = byAuthor.get('bob@example.com');
    expect(bob).toMatchObject({ name: 'bob', text: 'Inline\n\nPeace on the Korean Peninsula Now!' });
    expect(mediaOf(c, bob?.id ?? -1).map((m) => [m.state, m.width, m.height])).toEqual([['stored', 80, 60]]);

    const carol = byAuthor.get('carol@example.net');
    expect(mediaOf(c, carol?.id ?? -1).map((m) => [m.state, m.sourceType])).toEqual([['stored', 'heic']]);

    const chulsoo = byAuthor.get('chulsoo@example.kr');
    expect(chulsoo).toMatchObject({
      name: '김철수',
      text: '한반도에 평화를\n\n종전선언! 한미연합훈련 중단',
      postedAt: '2026-03-03T00:30:00.000Z',
    });
    expect(chulsoo?.demands.sort()).toEqual(['end-war', 'peace-now', 'stop-drills']);
    expect(mediaOf(c, chulsoo?.id ?? -1).map((m) => [m.state, m.sourceType])).toEqual([['stored', 'png']]);

    expect(byAuthor.get('supporter13@example.org')?.remoteId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(c.db.select().from(media).all()).toHaveLength(6);

    const flags = await flagsIn('INBOX');
    const imported = ['\\Flagged', KEYWORD_IMPORTED].sort();
    const expected: Record<keyof typeof messages, string[]> = {
      oversize: [KEYWORD_SKIPPED],
      noSender: [KEYWORD_SKIPPED],
      truncated: [KEYWORD_SKIPPED],
      twoPhotos: imported,
      inline: imported,
      heic: imported,
      noAttachment: [KEYWORD_NO_PHOTO],
      korean: imported,
      noMessageId: imported,
      resent: imported,
    };
    for (const name of names) {
      // Dovecot sets \Recent for the first session that sees a message; not \Seen: bodies are PEEKed.
      expect([name, flags.get(uidOf[name])?.filter((f) => f !== '\\Recent')]).toEqual([name, expected[name]]);
    }

    // Everything is marked: the next pass reads nothing and stores nothing.
    const second = await imap.collect(run());
    expect(second).toMatchObject({ found: 0, created: 0, errors: 0, message: 'no new messages' });
    expect(storedPosts(c)).toHaveLength(5);
  });

  it('imports each photo once when a pass crashes between ingest and flag, then runs again', async () => {
    const folder = 'Crash';
    const uids = await append(folder, [
      await photoMail(21),
      await photoMail(22, { messageId: null }), // identity from the header hash, stable across passes
      await photoMail(23),
    ]);
    const c = setup({ folder });
    const crashAt = uids[1];
    const crash = collector(c, {
      afterIngest: ({ uid }) => {
        if (uid === crashAt) throw new Error('killed between ingest and flag');
      },
    });
    await expect(crash.collect(run())).rejects.toThrow('killed between ingest and flag');
    expect(storedPosts(c)).toHaveLength(2);
    let flags = await flagsIn(folder);
    expect(flags.get(uids[0] as number)).toContain(KEYWORD_IMPORTED);
    expect(flags.get(uids[1] as number)).not.toContain(KEYWORD_IMPORTED);

    const rerun = await collector(c).collect(run());
    expect(rerun).toMatchObject({ found: 2, created: 1, errors: 0 });
    const stored = storedPosts(c);
    expect(stored.map((p) => p.author).sort()).toEqual([
      'supporter21@example.org',
      'supporter22@example.org',
      'supporter23@example.org',
    ]);
    expect(c.db.select().from(media).all()).toHaveLength(3);
    flags = await flagsIn(folder);
    for (const uid of uids) expect(flags.get(uid)).toContain(KEYWORD_IMPORTED);
    expect(await collector(c).collect(run())).toMatchObject({ found: 0, created: 0, errors: 0 });
  });

  it('stops between messages when aborted and the next pass ends with the same posts', async () => {
    const folder = 'Abort';
    const uids = await append(folder, [await photoMail(31), await photoMail(32), await photoMail(33)]);
    const c = setup({ folder });
    const controller = new AbortController();
    const first = await collector(c).collect(run(controller.signal, () => controller.abort()));
    expect(first).toMatchObject({ found: 1, created: 1, errors: 0 });
    expect(first.message).toMatch(/aborted/);
    const flags = await flagsIn(folder);
    expect(uids.map((u) => flags.get(u)?.includes(KEYWORD_IMPORTED))).toEqual([true, false, false]);

    expect(await collector(c).collect(run())).toMatchObject({ found: 2, created: 2, errors: 0 });
    expect(
      storedPosts(c)
        .map((p) => p.author)
        .sort(),
    ).toEqual(['supporter31@example.org', 'supporter32@example.org', 'supporter33@example.org']);
  });

  it('retries a message whose ingest fails and sets it aside after three failures', async () => {
    const folder = 'Failing';
    const [uid] = await append(folder, [await photoMail(51)]);
    const c = setup({ folder });
    let calls = 0;
    const failing = createImapCollector({
      db: c.db,
      media: c.media,
      campaign: c.campaign,
      settings: c.settings,
      ingest: {
        ingest: async () => {
          calls++;
          throw new Error('database is locked');
        },
        retryPendingMedia: c.ingest.retryPendingMedia,
      },
    });
    for (let pass = 1; pass <= 3; pass++) {
      expect(await failing.collect(run())).toMatchObject({ found: 0, created: 0, errors: 1 });
    }
    expect(calls).toBe(3);
    expect((await flagsIn(folder)).get(uid as number)).toContain(KEYWORD_SKIPPED);
    expect(await failing.collect(run())).toMatchObject({ found: 0, errors: 0, message: 'no new messages' });
    expect(calls).toBe(3);
  });

  it('moves imported messages to processedFolder and leaves the others marked in place', async () => {
    const folder = 'Moving';
    await append(folder, [
      await photoMail(41),
      message({ from: 'eve@example.org', entity: text('no photo, just hello') }),
    ]);
    const c = setup({ folder, processedFolder: 'Standwall Imported', consent: 'none' });
    expect(await collector(c).collect(run())).toMatchObject({ found: 1, created: 1, errors: 0 });
    expect(storedPosts(c)).toEqual([
      expect.objectContaining({
        author: 'supporter41@example.org',
        consentDisplay: false,
        consentPrint: false,
      }),
    ]);

    const left = [...(await flagsIn(folder)).values()];
    expect(left).toHaveLength(1);
    expect(left[0]).toContain(KEYWORD_NO_PHOTO);
    const moved = await mailbox(async (client) => {
      const lock = await client.getMailboxLock('Standwall Imported');
      try {
        return await client.fetchAll('1:*', { envelope: true });
      } finally {
        lock.release();
      }
    });
    expect(moved.map((m) => m.envelope?.subject)).toEqual(['Photo 41']);

    expect(await collector(c).collect(run())).toMatchObject({ found: 0, created: 0, errors: 0 });
  });
});
