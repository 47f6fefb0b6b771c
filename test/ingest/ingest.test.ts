import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authors, media, moderationEvents, posts } from '../../src/db/schema.ts';
import { openDatabase } from '../../src/db/sqlite.ts';
import { createIngestService } from '../../src/ingest/ingest.ts';
import type { NormalizedPost } from '../../src/ingest/normalized-post.ts';
import { addBlockedWord } from '../../src/moderation/rules.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { photoJpeg } from '../helpers/images.ts';

function post(overrides: Partial<NormalizedPost> = {}): NormalizedPost {
  return {
    network: 'mastodon',
    remoteId: '1001',
    url: 'https://mastodon.example/@ana/1001',
    text: 'I stand for peace! End the Korean War #IStandForPeace',
    language: 'en',
    postedAt: new Date('2026-11-20T10:00:00Z'),
    author: {
      remoteId: 'ana@mastodon.example',
      handle: 'ana@mastodon.example',
      name: 'Ana',
      profileUrl: null,
      avatarUrl: null,
    },
    media: [],
    sourceId: 'mastodon',
    ...overrides,
  };
}

let ctx: TestContext;
beforeEach(() => {
  ctx = createTestContext();
});
afterEach(() => ctx.dispose());

describe('the database', () => {
  it('is created from empty with every table, WAL and foreign keys', () => {
    const tables = ctx.db.$client
      .prepare(
        "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name",
      )
      .pluck()
      .all();
    expect(tables).toEqual(
      expect.arrayContaining([
        'authors',
        'media',
        'moderation_events',
        'organizers',
        'posts',
        'sessions',
        'source_cursors',
        'source_runs',
      ]),
    );
    expect(ctx.db.$client.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(ctx.db.$client.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(ctx.db.$client.pragma('busy_timeout', { simple: true })).toBeGreaterThan(0);
  });

  it('applies migrations once: opening the file again changes nothing', () => {
    const file = ctx.settings.dbFile;
    const count = () =>
      openDatabase(file).$client.prepare('select count(*) from __drizzle_migrations').pluck().get();
    expect(count()).toBe(count());
  });
});

describe('ingest', () => {
  it('stores a post, its author, its photo files and the demands it names', async () => {
    const bytes = await photoJpeg(1);
    const result = await ctx.ingest.ingest(post({ media: [{ bytes, alt: 'Ana with her sign' }] }));
    expect(result).toMatchObject({ created: true, status: 'pending', mediaStored: 1, mediaPending: 0 });
    const stored = ctx.db.select().from(posts).get();
    expect(stored?.demands).toEqual(['end-war']);
    const row = ctx.db.select().from(media).get();
    expect(row).toMatchObject({ state: 'stored', alt: 'Ana with her sign', width: 640, height: 480 });
    expect(row?.labGrid).toHaveLength(48);
    for (const path of [row?.originalPath, row?.wallPath, row?.thumbPath, row?.tilePath]) {
      expect(existsSync(join(ctx.settings.mediaDir, path as string))).toBe(true);
    }
  });

  it('is idempotent: the same (network, remote id) twice is one post', async () => {
    const bytes = await photoJpeg(2);
    const first = await ctx.ingest.ingest(post({ media: [{ bytes, alt: null }] }));
    const second = await ctx.ingest.ingest(post({ media: [{ bytes, alt: null }], text: 'edited' }));
    expect(second).toMatchObject({ created: false, postId: first.postId });
    expect(ctx.db.select().from(posts).all()).toHaveLength(1);
    expect(ctx.db.select().from(media).all()).toHaveLength(1);
    expect(ctx.db.select().from(authors).all()).toHaveLength(1);
  });

  it('treats the same canonical URI seen through two instances as one post', async () => {
    const bytes = await photoJpeg(3);
    const uri = 'https://origin.example/users/ana/statuses/1';
    await ctx.ingest.ingest(post({ remoteId: 'a-1', canonicalUri: uri, media: [{ bytes, alt: null }] }));
    const again = await ctx.ingest.ingest(
      post({ remoteId: 'b-77', canonicalUri: uri, media: [{ bytes, alt: null }] }),
    );
    expect(again.created).toBe(false);
    expect(ctx.db.select().from(posts).all()).toHaveLength(1);
  });

  it('keeps one row per author and updates their profile as the network shows it now', async () => {
    await ctx.ingest.ingest(post({ remoteId: '1', media: [{ bytes: await photoJpeg(20), alt: null }] }));
    const renamed = {
      remoteId: 'ana@mastodon.example',
      handle: 'ana.kim@mastodon.example',
      name: '김아나 🕊',
      profileUrl: 'https://mastodon.example/@ana.kim',
      avatarUrl: 'https://mastodon.example/avatars/ana.png',
    };
    await ctx.ingest.ingest(
      post({ remoteId: '2', author: renamed, media: [{ bytes: await photoJpeg(21), alt: null }] }),
    );
    const rows = ctx.db.select().from(authors).all();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ network: 'mastodon', ...renamed });
    expect((rows[0]?.updatedAt ?? '') >= (rows[0]?.createdAt ?? '')).toBe(true);
    const owners = ctx.db.select({ authorId: posts.authorId }).from(posts).all();
    expect(owners).toEqual([{ authorId: rows[0]?.id }, { authorId: rows[0]?.id }]);
  });

  it('applies a word blocked between two posts to the second one', async () => {
    const first = await ctx.ingest.ingest(
      post({
        remoteId: '1',
        text: 'peace now spam-link',
        media: [{ bytes: await photoJpeg(22), alt: null }],
      }),
    );
    expect(first.status).toBe('pending');
    addBlockedWord(ctx.db, 'spam link', null);
    const second = await ctx.ingest.ingest(
      post({
        remoteId: '2',
        text: 'peace now SPAM LINK',
        media: [{ bytes: await photoJpeg(23), alt: null }],
      }),
    );
    expect(second.status).toBe('rejected');
    const events = ctx.db.select({ rule: moderationEvents.rule }).from(moderationEvents).all();
    expect(events).toEqual([{ rule: 'blocked word "spam link"' }]);
  });

  it('approves on arrival only by a named rule, recorded in the audit log', async () => {
    const result = await ctx.ingest.ingest(post({ media: [{ bytes: await photoJpeg(4), alt: null }] }), {
      approveBy: 'import --approve',
    });
    expect(result.status).toBe('approved');
    const events = ctx.db.select().from(moderationEvents).all();
    expect(events).toMatchObject([
      { action: 'approved', toStatus: 'approved', rule: 'import --approve', organizerId: null },
    ]);
  });

  it('rejects posts of a blocked author and approves those of a trusted one, naming the rule', async () => {
    await ctx.ingest.ingest(post({ remoteId: '1', media: [{ bytes: await photoJpeg(5), alt: null }] }));
    ctx.db.update(authors).set({ blocked: true }).run();
    const blocked = await ctx.ingest.ingest(
      post({ remoteId: '2', media: [{ bytes: await photoJpeg(6), alt: null }] }),
    );
    expect(blocked.status).toBe('rejected');
    ctx.db.update(authors).set({ blocked: false, trusted: true }).run();
    const trusted = await ctx.ingest.ingest(
      post({ remoteId: '3', media: [{ bytes: await photoJpeg(7), alt: null }] }),
    );
    expect(trusted.status).toBe('approved');
    const rules = ctx.db
      .select({ rule: moderationEvents.rule })
      .from(moderationEvents)
      .all()
      .map((r) => r.rule);
    expect(rules).toEqual(['blocked author', 'trusted author']);
  });

  it('flags a near-duplicate photo for moderators without dropping it', async () => {
    const original = await photoJpeg(8, 800, 600);
    const recompressed = await sharp(original).resize(720).jpeg({ quality: 70 }).toBuffer();
    const first = await ctx.ingest.ingest(post({ remoteId: 'p1', media: [{ bytes: original, alt: null }] }));
    const copy = await ctx.ingest.ingest(
      post({ remoteId: 'p2', media: [{ bytes: recompressed, alt: null }] }),
    );
    const other = await ctx.ingest.ingest(
      post({ remoteId: 'p3', media: [{ bytes: await photoJpeg(9), alt: null }] }),
    );
    const rows = ctx.db.select({ id: posts.id, dup: posts.nearDuplicateOf }).from(posts).all();
    expect(rows.find((r) => r.id === copy.postId)?.dup).toBe(first.postId);
    expect(rows.find((r) => r.id === other.postId)?.dup).toBeNull();
    expect(rows).toHaveLength(3);
  });

  it('does not store a post whose only photo is refused, and says why', async () => {
    const result = await ctx.ingest.ingest(
      post({ media: [{ bytes: Buffer.from('not a photo at all'), alt: null }] }),
    );
    expect(result).toMatchObject({ created: false, postId: null });
    expect(result.problems[0]).toMatchObject({ reason: 'unsupported-type', retryable: false });
    expect(ctx.db.select().from(posts).all()).toHaveLength(0);
  });

  it('keeps a photo whose download failed for a later run, and stores it then', async () => {
    const bytes = await photoJpeg(10);
    let online = false;
    const ingest = createIngestService({
      db: ctx.db,
      media: ctx.media,
      campaign: ctx.campaign,
      download: async () => {
        if (!online) throw Object.assign(new Error('connect ECONNREFUSED'), { retryable: true });
        return bytes;
      },
    });
    const result = await ingest.ingest(
      post({ media: [{ remoteUrl: 'https://cdn.example/p.jpg', alt: null }] }),
    );
    expect(result).toMatchObject({ created: true, mediaStored: 0, mediaPending: 1 });
    expect(ctx.db.select({ state: media.state }).from(media).get()?.state).toBe('pending');
    online = true;
    expect(await ingest.retryPendingMedia()).toMatchObject({ stored: 1, failed: 0, stillPending: 0 });
    const row = ctx.db
      .select()
      .from(media)
      .where(eq(media.postId, result.postId as number))
      .get();
    expect(row).toMatchObject({ state: 'stored', attempts: 1 });
  });
});
