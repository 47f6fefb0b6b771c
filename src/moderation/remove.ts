import { and, eq, inArray, isNotNull, ne } from 'drizzle-orm';
import { media, moderationEvents, posts } from '../db/schema.ts';
import type { Db } from '../db/sqlite.ts';
import type { EventBus } from '../events/bus.ts';
import type { MediaRepository } from '../media/types.ts';

export interface RemoveOptions {
  /** Organizer who asked (takedown); null for automatic removal. */
  organizerId?: number | null;
  /** Why, e.g. "deleted at source", "takedown request". */
  rule?: string | null;
  note?: string | null;
}

/**
 * Takes a post off everything (wall, API, mosaics to come) and deletes its photo files,
 * keeping the row and an audit event so the decision is traceable and the collectors do
 * not bring the post back. Files shared with another live post (same bytes) stay.
 */
export async function removePost(
  deps: { db: Db; media: MediaRepository; bus?: EventBus },
  postId: number,
  options: RemoveOptions = {},
): Promise<boolean> {
  const { db } = deps;
  const result = db.transaction((tx) => {
    const post = tx.select({ status: posts.status }).from(posts).where(eq(posts.id, postId)).get();
    if (!post) return null;
    const shas = tx
      .select({ sha256: media.sha256 })
      .from(media)
      .where(and(eq(media.postId, postId), isNotNull(media.sha256)))
      .all()
      .map((r) => r.sha256 as string);
    tx.update(posts)
      .set({ status: 'removed', featured: false, statusChangedAt: new Date().toISOString() })
      .where(eq(posts.id, postId))
      .run();
    tx.update(media)
      .set({
        originalPath: null,
        wallPath: null,
        thumbPath: null,
        tilePath: null,
        state: 'failed',
        lastError: 'removed',
      })
      .where(eq(media.postId, postId))
      .run();
    tx.insert(moderationEvents)
      .values({
        postId,
        organizerId: options.organizerId ?? null,
        action: 'remove',
        fromStatus: post.status,
        toStatus: 'removed',
        rule: options.rule ?? null,
        note: options.note ?? null,
      })
      .run();
    const stillUsed = new Set(
      shas.length === 0
        ? []
        : tx
            .select({ sha256: media.sha256 })
            .from(media)
            .innerJoin(posts, eq(posts.id, media.postId))
            .where(
              and(inArray(media.sha256, shas), ne(posts.status, 'removed'), isNotNull(media.originalPath)),
            )
            .all()
            .map((r) => r.sha256),
    );
    return { from: post.status, orphaned: shas.filter((s) => !stillUsed.has(s)) };
  });
  if (!result) return false;
  for (const sha of result.orphaned) await deps.media.remove(sha);
  deps.bus?.emit('post.removed', { postId });
  return true;
}
