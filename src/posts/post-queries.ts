import { and, desc, eq, inArray, isNotNull, lt, or, type SQL, sql } from 'drizzle-orm';
import { authors, media, type PostStatus, posts } from '../db/schema.ts';
import type { Db } from '../db/sqlite.ts';

/** A post as the public API and the stream show it (see DESIGN.md, "A post in the API"). */
export interface ApiPost {
  id: number;
  network: string;
  url: string | null;
  text: string;
  postedAt: string;
  demands: string[];
  author: { name: string; handle: string | null; url: string | null; avatarUrl: string | null };
  media: Array<{ url: string; thumbUrl: string; width: number; height: number; alt: string | null }>;
  status: PostStatus;
  featured: boolean;
  region: string | null;
}

/** What organizers see beyond the public shape. */
export interface AdminPost extends ApiPost {
  authorId: number;
  authorTrusted: boolean;
  authorBlocked: boolean;
  sensitive: boolean;
  nearDuplicateOf: number | null;
  consentDisplay: boolean;
  consentPrint: boolean;
  collectedAt: string;
  statusChangedAt: string;
  mediaPending: number;
}

export const mediaUrl = (relativePath: string) => `/media/${relativePath}`;

/** Opaque cursor over (postedAt, id): stable while posts arrive, no offset drift. */
export function encodeCursor(post: { postedAt: string; id: number }): string {
  return Buffer.from(`${post.postedAt}|${post.id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { postedAt: string; id: number } | null {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^(\d{4}-\d\d-\d\dT[\d:.]+Z)\|(\d+)$/.exec(text);
  return m ? { postedAt: m[1] as string, id: Number(m[2]) } : null;
}

export interface PostFilter {
  status?: PostStatus | PostStatus[];
  network?: string;
  demand?: string;
  region?: string;
  text?: string;
  authorId?: number;
  featured?: boolean;
  /** Only posts with at least one stored photo (the wall never shows an empty frame). */
  withMedia?: boolean;
  after?: { postedAt: string; id: number } | null;
  limit: number;
}

export function listPosts(db: Db, filter: PostFilter): AdminPost[] {
  const where: SQL[] = [];
  if (filter.status) {
    where.push(
      Array.isArray(filter.status) ? inArray(posts.status, filter.status) : eq(posts.status, filter.status),
    );
  }
  if (filter.network) where.push(eq(posts.network, filter.network));
  if (filter.region) where.push(eq(posts.region, filter.region));
  if (filter.authorId) where.push(eq(posts.authorId, filter.authorId));
  if (filter.featured !== undefined) where.push(eq(posts.featured, filter.featured));
  if (filter.demand) {
    where.push(
      sql`exists (select 1 from json_each(${posts.demands}) where json_each.value = ${filter.demand})`,
    );
  }
  if (filter.text) {
    const pattern = `%${filter.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    where.push(
      or(
        sql`${posts.text} like ${pattern} escape '\\'`,
        sql`${authors.name} like ${pattern} escape '\\'`,
        sql`${authors.handle} like ${pattern} escape '\\'`,
      ) as SQL,
    );
  }
  if (filter.withMedia) {
    where.push(
      sql`exists (select 1 from media m where m.post_id = ${posts.id} and m.state = 'stored' and m.wall_path is not null)`,
    );
  }
  if (filter.after) {
    where.push(
      or(
        lt(posts.postedAt, filter.after.postedAt),
        and(eq(posts.postedAt, filter.after.postedAt), lt(posts.id, filter.after.id)),
      ) as SQL,
    );
  }
  const rows = db
    .select({ post: posts, author: authors })
    .from(posts)
    .innerJoin(authors, eq(authors.id, posts.authorId))
    .where(and(...where))
    .orderBy(desc(posts.postedAt), desc(posts.id))
    .limit(filter.limit)
    .all();
  return attachMedia(db, rows);
}

export function getPost(db: Db, id: number): AdminPost | null {
  const rows = db
    .select({ post: posts, author: authors })
    .from(posts)
    .innerJoin(authors, eq(authors.id, posts.authorId))
    .where(eq(posts.id, id))
    .all();
  return attachMedia(db, rows)[0] ?? null;
}

function attachMedia(
  db: Db,
  rows: Array<{ post: typeof posts.$inferSelect; author: typeof authors.$inferSelect }>,
): AdminPost[] {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.post.id);
  const files = db
    .select()
    .from(media)
    .where(and(inArray(media.postId, ids)))
    .orderBy(media.postId, media.position)
    .all();
  const byPost = new Map<number, typeof files>();
  for (const file of files) byPost.set(file.postId, [...(byPost.get(file.postId) ?? []), file]);
  return rows.map(({ post, author }) => {
    const items = byPost.get(post.id) ?? [];
    return {
      id: post.id,
      network: post.network,
      url: post.url,
      text: post.text,
      postedAt: post.postedAt,
      demands: post.demands,
      author: {
        name: author.name,
        handle: author.handle,
        url: author.profileUrl,
        avatarUrl: author.avatarUrl,
      },
      media: items
        .filter((m) => m.state === 'stored' && m.wallPath && m.thumbPath)
        .map((m) => ({
          url: mediaUrl(m.wallPath as string),
          thumbUrl: mediaUrl(m.thumbPath as string),
          width: m.width ?? 0,
          height: m.height ?? 0,
          alt: m.alt,
        })),
      status: post.status,
      featured: post.featured,
      region: post.region,
      authorId: author.id,
      authorTrusted: author.trusted,
      authorBlocked: author.blocked,
      sensitive: post.sensitive,
      nearDuplicateOf: post.nearDuplicateOf,
      consentDisplay: post.consentDisplay,
      consentPrint: post.consentPrint,
      collectedAt: post.collectedAt,
      statusChangedAt: post.statusChangedAt,
      mediaPending: items.filter((m) => m.state === 'pending').length,
    };
  });
}

/** The public projection: nothing organizers-only leaks to the wall. */
export function toApiPost(post: AdminPost): ApiPost {
  const { id, network, url, text, postedAt, demands, author, media: items, status, featured, region } = post;
  return { id, network, url, text, postedAt, demands, author, media: items, status, featured, region };
}

/** Is this content address a photo of an approved post? (Public media access.) */
export function isPublicMedia(db: Db, sha256: string): boolean {
  const row = db
    .select({ id: media.id })
    .from(media)
    .innerJoin(posts, eq(posts.id, media.postId))
    .where(and(eq(media.sha256, sha256), eq(posts.status, 'approved'), isNotNull(media.wallPath)))
    .limit(1)
    .get();
  return Boolean(row);
}
