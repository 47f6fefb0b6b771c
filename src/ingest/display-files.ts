import { and, desc, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import { media, posts } from '../db/schema.ts';
import type { Db } from '../db/sqlite.ts';
import { log } from '../log.ts';
import type { MediaRepository } from '../media/types.ts';

export interface DisplayFillResult {
  checked: number;
  made: number;
  failed: number;
}

/**
 * Makes the wall, thumb and tile files that a bulk import left for later, approved photos first (the
 * wall may show them any moment), then the ones waiting for a moderator, newest first. Stops
 * early when `signal` aborts; what is left is picked up by the next run or on first request.
 */
export async function fillDisplayFiles(
  db: Db,
  repository: MediaRepository,
  options: { limit?: number; signal?: AbortSignal } = {},
): Promise<DisplayFillResult> {
  const rows = db
    .select({ sha256: media.sha256 })
    .from(media)
    .innerJoin(posts, eq(posts.id, media.postId))
    .where(
      and(eq(media.state, 'stored'), isNotNull(media.sha256), inArray(posts.status, ['approved', 'pending'])),
    )
    .orderBy(desc(sql`${posts.status} = 'approved'`), desc(media.id))
    .all();
  const result: DisplayFillResult = { checked: 0, made: 0, failed: 0 };
  const seen = new Set<string>();
  const limit = options.limit ?? 500;
  for (const { sha256 } of rows) {
    if (options.signal?.aborted || result.made + result.failed >= limit) break;
    if (!sha256 || seen.has(sha256)) continue;
    seen.add(sha256);
    result.checked++;
    if (await repository.hasDisplayFiles(sha256)) continue;
    try {
      await repository.ensureDisplayFiles(sha256);
      result.made++;
    } catch (error) {
      result.failed++;
      log.warn({ sha256, err: String(error) }, 'media: display files could not be made');
    }
  }
  return result;
}
