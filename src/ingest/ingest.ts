import { and, eq, inArray, isNotNull, lt, or, sql } from 'drizzle-orm';
import type { Campaign } from '../config/campaign.ts';
import { authors, media, moderationEvents, type PostStatus, posts } from '../db/schema.ts';
import type { Db } from '../db/sqlite.ts';
import type { EventBus } from '../events/bus.ts';
import { log } from '../log.ts';
import { MediaRejectedError, type MediaRepository, type StoredImage } from '../media/types.ts';
import { applyWaitingClaims } from '../moderation/claims.ts';
import { blockedWordFinder } from '../moderation/rules.ts';
import { createDemandMatcher } from './demands.ts';
import { createNearDuplicateIndex } from './near-duplicates.ts';
import type { NormalizedPost } from './normalized-post.ts';
import { regionFor } from './region.ts';

/** Downloads one remote photo. Errors with `retryable: false` are final; others are retried later. */
export type DownloadMedia = (url: string) => Promise<Uint8Array>;

export interface IngestOptions {
  /** Approve on arrival, naming the rule that did it (e.g. "import --approve"). */
  approveBy?: string;
  /** When the wall and thumb files are made (see `StoreOptions.display`): bulk imports say 'later'. */
  display?: 'now' | 'later';
}

export interface MediaProblem {
  position: number;
  reason: string;
  message: string;
  retryable: boolean;
}

export interface IngestResult {
  postId: number | null;
  created: boolean;
  status: PostStatus | null;
  mediaStored: number;
  mediaPending: number;
  problems: MediaProblem[];
}

export interface IngestService {
  ingest(post: NormalizedPost, options?: IngestOptions): Promise<IngestResult>;
  /** Downloads media left pending by earlier failures (at most `limit`, oldest first). */
  retryPendingMedia(limit?: number): Promise<{ stored: number; failed: number; stillPending: number }>;
}

export interface IngestDeps {
  db: Db;
  media: MediaRepository;
  campaign: Campaign;
  download?: DownloadMedia;
  bus?: EventBus;
  /** A remote photo that failed this many times is given up (state `failed`). */
  maxAttempts?: number;
}

type Outcome =
  | { kind: 'stored'; image: StoredImage }
  | { kind: 'pending'; error: string }
  | { kind: 'failed'; error: string };

function isRetryable(error: unknown): boolean {
  if (error instanceof MediaRejectedError) return false;
  const flag = (error as { retryable?: unknown } | null)?.retryable;
  return typeof flag === 'boolean' ? flag : true;
}

function describe(error: unknown): { reason: string; message: string } {
  if (error instanceof MediaRejectedError) return { reason: error.reason, message: error.message };
  const kind = (error as { kind?: unknown } | null)?.kind;
  return {
    reason: typeof kind === 'string' ? kind : 'download-failed',
    message: error instanceof Error ? error.message : String(error),
  };
}

/**
 * Every media column a new row sets, stored or not: one prepared insert serves both, so a photo
 * not stored yet names each column of a stored one (the type holds the two lists together).
 */
function mediaColumns(outcome: Outcome): Record<keyof ReturnType<typeof storedColumns>, unknown> {
  if (outcome.kind === 'stored') return storedColumns(outcome.image);
  return {
    state: outcome.kind,
    sha256: null,
    sourceType: null,
    originalPath: null,
    wallPath: null,
    thumbPath: null,
    tilePath: null,
    width: null,
    height: null,
    bytes: null,
    phash: null,
    meanColor: null,
    labGrid: null,
    mosaicGrid: null,
    lastError: outcome.error,
  };
}

function storedColumns(image: StoredImage) {
  return {
    state: 'stored' as const,
    sha256: image.sha256,
    sourceType: image.sourceType,
    originalPath: image.files.original,
    wallPath: image.files.wall,
    thumbPath: image.files.thumb,
    tilePath: image.files.tile,
    width: image.width,
    height: image.height,
    bytes: image.bytes,
    phash: image.phash,
    meanColor: image.meanColor,
    labGrid: image.labGrid,
    mosaicGrid: image.mosaicGrid,
    lastError: null,
  };
}

export function createIngestService(deps: IngestDeps): IngestService {
  const { db, campaign } = deps;
  const matcher = createDemandMatcher(campaign);
  const maxAttempts = deps.maxAttempts ?? 5;
  const nearDuplicates = createNearDuplicateIndex(() =>
    db
      .select({ postId: media.postId, phash: media.phash })
      .from(media)
      .where(isNotNull(media.phash))
      .all()
      .flatMap((row) => (row.phash ? [{ postId: row.postId, phash: row.phash }] : [])),
  );

  async function obtain(
    item: NormalizedPost['media'][number],
    display: 'now' | 'later' = 'now',
  ): Promise<Outcome> {
    try {
      let bytes = item.bytes;
      if (!bytes) {
        if (!item.remoteUrl) return { kind: 'failed', error: 'no bytes and no URL' };
        if (!deps.download) return { kind: 'pending', error: 'downloads are not enabled here' };
        bytes = await deps.download(item.remoteUrl);
      }
      return {
        kind: 'stored',
        image: await deps.media.store(bytes, { display, sha256: item.bytes ? item.sha256 : undefined }),
      };
    } catch (error) {
      // Bytes in hand that could not be stored for a passing reason (a full disk) cannot be
      // fetched again later: the caller must keep them (unflagged mail, the import folder).
      if (item.bytes && isRetryable(error)) throw error;
      const { reason, message } = describe(error);
      const text = `${reason}: ${message}`;
      return isRetryable(error) ? { kind: 'pending', error: text } : { kind: 'failed', error: text };
    }
  }

  // Prepared once: building a Drizzle query costs more than SQLite takes to run it, and a bulk
  // import or a collection pass runs these for every post.
  const placeholder = (name: string) => sql.placeholder(name);
  const existingPost = db
    .select({ id: posts.id, status: posts.status })
    .from(posts)
    .where(
      or(
        and(eq(posts.network, placeholder('network')), eq(posts.remoteId, placeholder('remoteId'))),
        eq(posts.canonicalUri, placeholder('canonicalUri')),
      ),
    )
    .prepare();
  const upsertAuthor = db
    .insert(authors)
    .values({
      network: placeholder('network'),
      remoteId: placeholder('remoteId'),
      handle: placeholder('handle'),
      name: placeholder('name'),
      profileUrl: placeholder('profileUrl'),
      avatarUrl: placeholder('avatarUrl'),
    })
    .onConflictDoUpdate({
      target: [authors.network, authors.remoteId],
      // The profile as the network shows it now: `excluded` is the row this insert proposed.
      set: {
        handle: sql`excluded.handle`,
        name: sql`excluded.name`,
        profileUrl: sql`excluded.profile_url`,
        avatarUrl: sql`excluded.avatar_url`,
        updatedAt: sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`,
      },
    })
    .returning({ id: authors.id, trusted: authors.trusted, blocked: authors.blocked })
    .prepare();
  const postColumns = [
    'network',
    'remoteId',
    'canonicalUri',
    'sourceId',
    'url',
    'text',
    'language',
    'postedAt',
    'status',
    'demands',
    'region',
    'sensitive',
    'consentDisplay',
    'consentPrint',
    'nearDuplicateOf',
    'authorId',
  ] as const;
  const insertPost = db
    .insert(posts)
    // Drizzle's insert types have no room for placeholders; the values are filled per run.
    .values(
      Object.fromEntries(postColumns.map((c) => [c, placeholder(c)])) as unknown as typeof posts.$inferInsert,
    )
    .onConflictDoNothing()
    .returning({ id: posts.id })
    .prepare();
  const mediaRowColumns = [
    'postId',
    'position',
    'remoteUrl',
    'alt',
    'sensitive',
    'attempts',
    ...(Object.keys(mediaColumns({ kind: 'pending', error: '' })) as Array<
      keyof ReturnType<typeof mediaColumns>
    >),
  ];
  const insertMedia = db
    .insert(media)
    .values(
      Object.fromEntries(
        mediaRowColumns.map((c) => [c, placeholder(c)]),
      ) as unknown as typeof media.$inferInsert,
    )
    .prepare();
  const insertModerationEvent = db
    .insert(moderationEvents)
    .values({
      postId: placeholder('postId'),
      action: placeholder('action'),
      fromStatus: null,
      toStatus: placeholder('toStatus'),
      rule: placeholder('rule'),
    })
    .prepare();
  const blockedWordIn = blockedWordFinder(db);

  function findExisting(post: NormalizedPost, canonicalUri: string) {
    return existingPost.get({ network: post.network, remoteId: post.remoteId, canonicalUri });
  }

  async function ingest(post: NormalizedPost, options: IngestOptions = {}): Promise<IngestResult> {
    const canonicalUri = post.canonicalUri ?? `${post.network}:${post.remoteId}`;
    const existing = findExisting(post, canonicalUri);
    if (existing) {
      return {
        postId: existing.id,
        created: false,
        status: existing.status,
        mediaStored: 0,
        mediaPending: 0,
        problems: [],
      };
    }

    // Files first, rows after: a crash in between leaves only files that the same bytes
    // will reuse on the next run (and that the sweep removes if they never come back).
    const outcomes: Outcome[] = [];
    for (const item of post.media) outcomes.push(await obtain(item, options.display));
    const problems: MediaProblem[] = outcomes.flatMap((o, position) =>
      o.kind === 'stored' ? [] : [{ position, retryable: o.kind === 'pending', ...splitError(o.error) }],
    );
    const keep = outcomes.some((o) => o.kind !== 'failed');
    if (!keep) {
      return { postId: null, created: false, status: null, mediaStored: 0, mediaPending: 0, problems };
    }

    const demands = matcher.match(post.text);
    const region = post.region ?? regionFor(campaign, post.language, matcher.hashtagsIn(post.text));
    const nearDuplicateOf = firstNearDuplicate(outcomes);

    const created = db.transaction(() => {
      const author = upsertAuthor.get({
        network: post.network,
        remoteId: post.author.remoteId,
        handle: post.author.handle,
        name: post.author.name,
        profileUrl: post.author.profileUrl,
        avatarUrl: post.author.avatarUrl,
      });
      if (!author) throw new Error('the author upsert returned no row');

      let status: PostStatus = 'pending';
      let rule: string | null = null;
      const blockedWord = author.blocked ? null : blockedWordIn(`${post.text} ${post.author.name}`);
      if (author.blocked) [status, rule] = ['rejected', 'blocked author'];
      else if (blockedWord) [status, rule] = ['rejected', `blocked word "${blockedWord}"`];
      else if (options.approveBy) [status, rule] = ['approved', options.approveBy];
      else if (author.trusted) [status, rule] = ['approved', 'trusted author'];

      const row: Record<(typeof postColumns)[number], unknown> = {
        network: post.network,
        remoteId: post.remoteId,
        canonicalUri,
        sourceId: post.sourceId,
        url: post.url,
        text: post.text,
        language: post.language,
        postedAt: post.postedAt.toISOString(),
        status,
        demands,
        region,
        sensitive: Boolean(post.sensitive) || post.media.some((m) => m.sensitive),
        consentDisplay: post.consent?.display ?? false,
        consentPrint: post.consent?.print ?? false,
        nearDuplicateOf,
        authorId: author.id,
      };
      const inserted = insertPost.get(row);
      if (!inserted) return null; // another process stored it meanwhile

      outcomes.forEach((outcome, position) => {
        const item = post.media[position];
        insertMedia.run({
          postId: inserted.id,
          position,
          remoteUrl: item?.remoteUrl ?? null,
          alt: item?.alt ?? null,
          sensitive: Boolean(item?.sensitive),
          attempts: outcome.kind === 'stored' ? 0 : 1,
          ...mediaColumns(outcome),
        });
      });
      if (rule) insertModerationEvent.run({ postId: inserted.id, action: status, toStatus: status, rule });
      return { id: inserted.id, status };
    });

    if (!created) {
      const again = findExisting(post, canonicalUri);
      return {
        postId: again?.id ?? null,
        created: false,
        status: again?.status ?? null,
        mediaStored: 0,
        mediaPending: 0,
        problems: [],
      };
    }

    for (const outcome of outcomes) {
      if (outcome.kind === 'stored') nearDuplicates.add(created.id, outcome.image.phash);
    }
    if (post.network === 'instagram') applyWaitingClaims(db, created.id, post.url);
    deps.bus?.emit('post.created', { postId: created.id, status: created.status });
    if (created.status === 'approved') deps.bus?.emit('post.approved', { postId: created.id });
    return {
      postId: created.id,
      created: true,
      status: created.status,
      mediaStored: outcomes.filter((o) => o.kind === 'stored').length,
      mediaPending: outcomes.filter((o) => o.kind === 'pending').length,
      problems,
    };
  }

  function firstNearDuplicate(outcomes: Outcome[]): number | null {
    for (const outcome of outcomes) {
      if (outcome.kind !== 'stored') continue;
      const hit = nearDuplicates.find(outcome.image.phash);
      if (hit !== null) return hit;
    }
    return null;
  }

  async function retryPendingMedia(limit = 50) {
    const rows = db
      .select({ id: media.id, postId: media.postId, remoteUrl: media.remoteUrl, attempts: media.attempts })
      .from(media)
      .where(and(eq(media.state, 'pending'), isNotNull(media.remoteUrl), lt(media.attempts, maxAttempts)))
      .orderBy(media.id)
      .limit(limit)
      .all();
    let stored = 0;
    let failed = 0;
    for (const row of rows) {
      const outcome = await obtain({ remoteUrl: row.remoteUrl ?? undefined, alt: null });
      const attempts = row.attempts + 1;
      if (outcome.kind === 'stored') {
        db.update(media).set(storedColumns(outcome.image)).where(eq(media.id, row.id)).run();
        nearDuplicates.add(row.postId, outcome.image.phash);
        stored++;
        const post = db.select({ status: posts.status }).from(posts).where(eq(posts.id, row.postId)).get();
        if (post?.status === 'approved') deps.bus?.emit('post.approved', { postId: row.postId });
      } else {
        const giveUp = outcome.kind === 'failed' || attempts >= maxAttempts;
        db.update(media)
          .set({ attempts, lastError: outcome.error, state: giveUp ? 'failed' : 'pending' })
          .where(eq(media.id, row.id))
          .run();
        if (giveUp) failed++;
        log.warn({ mediaId: row.id, attempts, error: outcome.error }, 'media download failed');
      }
    }
    const stillPending = db
      .select({ n: sql<number>`count(*)` })
      .from(media)
      .where(
        and(
          eq(media.state, 'pending'),
          inArray(
            media.id,
            rows.map((r) => r.id),
          ),
        ),
      )
      .get();
    return { stored, failed, stillPending: stillPending?.n ?? 0 };
  }

  return { ingest, retryPendingMedia };
}

function splitError(text: string): { reason: string; message: string } {
  const at = text.indexOf(': ');
  return at < 0
    ? { reason: 'error', message: text }
    : { reason: text.slice(0, at), message: text.slice(at + 2) };
}
