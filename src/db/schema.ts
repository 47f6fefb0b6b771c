/**
 * The single source of truth for the database. Change it, run `npm run db:generate`,
 * commit the new migration; never edit a committed one.
 *
 * Table and column names stay plain (snake_case, no prefixes) so organizers can write
 * their own reports with `sqlite3 data/standwall.db`. Times are ISO 8601 UTC text, which
 * sorts correctly and reads well in a terminal.
 */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

export const POST_STATUSES = ['pending', 'approved', 'rejected', 'removed'] as const;
export type PostStatus = (typeof POST_STATUSES)[number];

const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

export const authors = sqliteTable(
  'authors',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    network: text().notNull(),
    remoteId: text().notNull(),
    handle: text(),
    name: text().notNull(),
    profileUrl: text(),
    avatarUrl: text(),
    trusted: integer({ mode: 'boolean' }).notNull().default(false),
    blocked: integer({ mode: 'boolean' }).notNull().default(false),
    createdAt: text().notNull().default(now),
    updatedAt: text().notNull().default(now),
  },
  (t) => [uniqueIndex('authors_network_remote_id').on(t.network, t.remoteId)],
);

export const posts = sqliteTable(
  'posts',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    network: text().notNull(),
    remoteId: text().notNull(),
    /** The same post seen through two views (Mastodon instances) shares this. */
    canonicalUri: text().notNull(),
    sourceId: text().notNull(),
    url: text(),
    text: text().notNull().default(''),
    language: text(),
    postedAt: text().notNull(),
    collectedAt: text().notNull().default(now),
    status: text({ enum: POST_STATUSES }).notNull().default('pending'),
    statusChangedAt: text().notNull().default(now),
    /** JSON array of matched demand ids. */
    demands: text({ mode: 'json' }).$type<string[]>().notNull().default(sql`'[]'`),
    region: text(),
    featured: integer({ mode: 'boolean' }).notNull().default(false),
    sensitive: integer({ mode: 'boolean' }).notNull().default(false),
    consentDisplay: integer({ mode: 'boolean' }).notNull().default(false),
    consentPrint: integer({ mode: 'boolean' }).notNull().default(false),
    /** A near-duplicate (perceptual hash) of an earlier post: a hint for moderators, never a drop. */
    nearDuplicateOf: integer(),
    authorId: integer()
      .notNull()
      .references(() => authors.id),
  },
  (t) => [
    uniqueIndex('posts_network_remote_id').on(t.network, t.remoteId),
    uniqueIndex('posts_canonical_uri').on(t.canonicalUri),
    index('posts_status_posted_at').on(t.status, t.postedAt),
    index('posts_author_id').on(t.authorId),
  ],
);

export const MEDIA_STATES = ['stored', 'pending', 'failed'] as const;
export type MediaState = (typeof MEDIA_STATES)[number];

export const media = sqliteTable(
  'media',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    postId: integer()
      .notNull()
      .references(() => posts.id, { onDelete: 'cascade' }),
    position: integer().notNull(),
    /** `pending`: not downloaded yet (or failed and will be retried); `stored`: files on disk. */
    state: text({ enum: MEDIA_STATES }).notNull().default('pending'),
    remoteUrl: text(),
    attempts: integer().notNull().default(0),
    lastError: text(),
    /** Content address: sha256 of the photo as received. */
    sha256: text(),
    sourceType: text(),
    originalPath: text(),
    wallPath: text(),
    thumbPath: text(),
    tilePath: text(),
    width: integer(),
    height: integer(),
    bytes: integer(),
    /** 64-bit perceptual hash (DCT) as 16 hex digits. */
    phash: text(),
    /** sRGB mean colour as #rrggbb. */
    meanColor: text(),
    /** CIELAB colour grid of the square tile: JSON array of [L, a, b] per cell, row-major. */
    labGrid: text({ mode: 'json' }).$type<number[]>(),
    /**
     * What the mosaic matcher compares, measured on the tile at ingest so a mosaic starts matching
     * without decoding a photo: 10×10 luma (Rec. 601 Y′, 0–40) then 4×4 (a*, b*) pairs; JSON
     * array of 132 numbers (see src/mosaic/features.ts).
     */
    mosaicGrid: text({ mode: 'json' }).$type<number[]>(),
    alt: text(),
    sensitive: integer({ mode: 'boolean' }).notNull().default(false),
    createdAt: text().notNull().default(now),
  },
  (t) => [
    uniqueIndex('media_post_position').on(t.postId, t.position),
    index('media_sha256').on(t.sha256),
    index('media_state').on(t.state),
  ],
);

export const sourceCursors = sqliteTable(
  'source_cursors',
  {
    sourceId: text().notNull(),
    /** A source may keep several cursors: one per query, per instance, per hashtag. */
    key: text().notNull(),
    value: text().notNull(),
    updatedAt: text().notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.sourceId, t.key] })],
);

export const RUN_STATUSES = ['running', 'ok', 'failed', 'timeout', 'skipped'] as const;

export const sourceRuns = sqliteTable(
  'source_runs',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    sourceId: text().notNull(),
    startedAt: text().notNull().default(now),
    finishedAt: text(),
    status: text({ enum: RUN_STATUSES }).notNull().default('running'),
    found: integer().notNull().default(0),
    created: integer().notNull().default(0),
    errors: integer().notNull().default(0),
    message: text(),
  },
  (t) => [index('source_runs_source_started').on(t.sourceId, t.startedAt)],
);

export const organizers = sqliteTable('organizers', {
  id: integer().primaryKey({ autoIncrement: true }),
  username: text().notNull().unique(),
  passwordHash: text().notNull(),
  role: text({ enum: ['admin', 'moderator'] }).notNull(),
  disabled: integer({ mode: 'boolean' }).notNull().default(false),
  createdAt: text().notNull().default(now),
});

export const sessions = sqliteTable(
  'sessions',
  {
    /** sha256 of the cookie's token: a leaked database does not leak live sessions. */
    tokenHash: text().primaryKey(),
    organizerId: integer()
      .notNull()
      .references(() => organizers.id, { onDelete: 'cascade' }),
    createdAt: text().notNull().default(now),
    expiresAt: text().notNull(),
    revokedAt: text(),
    ip: text(),
    userAgent: text(),
  },
  (t) => [index('sessions_organizer').on(t.organizerId)],
);

export const moderationEvents = sqliteTable(
  'moderation_events',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    postId: integer()
      .notNull()
      .references(() => posts.id, { onDelete: 'cascade' }),
    /** null for automatic decisions (see `rule`). */
    organizerId: integer().references(() => organizers.id, { onDelete: 'set null' }),
    action: text().notNull(),
    fromStatus: text(),
    toStatus: text(),
    /** The rule behind an automatic decision, e.g. "import --approve", "trusted author". */
    rule: text(),
    note: text(),
    createdAt: text().notNull().default(now),
  },
  (t) => [index('moderation_events_post').on(t.postId)],
);

export type Post = typeof posts.$inferSelect;
export type Author = typeof authors.$inferSelect;
export type Media = typeof media.$inferSelect;

/**
 * Every change of a post's visibility, written by SQLite triggers (migrations/0002) so that no
 * writer — the server, a CLI in another process, an organizer's sqlite3 session — can change a
 * post without the wall and the moderation queue hearing of it. The id is the SSE event id.
 */
export const postChanges = sqliteTable(
  'post_changes',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    postId: integer().notNull(),
    status: text().notNull(),
    featured: integer({ mode: 'boolean' }).notNull(),
    createdAt: text().notNull().default(now),
  },
  (t) => [index('post_changes_post').on(t.postId)],
);

export const RULE_KINDS = ['blocked-word'] as const;

/** Moderation rules applied at ingest (trusted and blocked authors are flags on `authors`). */
export const rules = sqliteTable(
  'rules',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    kind: text({ enum: RULE_KINDS }).notNull(),
    value: text().notNull(),
    organizerId: integer().references(() => organizers.id, { onDelete: 'set null' }),
    createdAt: text().notNull().default(now),
  },
  (t) => [uniqueIndex('rules_kind_value').on(t.kind, t.value)],
);

/**
 * "This Instagram post is mine": Instagram's hashtag search gives no username, so supporters
 * name themselves through the upload page. A claim made before the post is collected waits
 * here and is applied when the post arrives.
 */
export const claims = sqliteTable(
  'claims',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    network: text().notNull(),
    /** The post's short code (Instagram: the part after /p/ or /reel/). */
    code: text().notNull(),
    name: text().notNull(),
    handle: text(),
    region: text(),
    consent: integer({ mode: 'boolean' }).notNull().default(false),
    postId: integer().references(() => posts.id, { onDelete: 'set null' }),
    createdAt: text().notNull().default(now),
    appliedAt: text(),
  },
  (t) => [index('claims_network_code').on(t.network, t.code)],
);
