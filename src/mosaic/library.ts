import { and, asc, eq, isNotNull } from 'drizzle-orm';
import { authors, media, posts } from '../db/schema.ts';
import type { Db } from '../db/sqlite.ts';

/** One photo a mosaic may use, with what the manifest and credits need to name its author. */
export interface LibraryPhoto {
  mediaId: number;
  postId: number;
  /** Relative to the media directory. */
  tilePath: string;
  /** Larger derivatives, for cells bigger than the 256 px tile. */
  wallPath: string | null;
  originalPath: string | null;
  labGrid: number[];
  /** The matcher's features measured at ingest (null for photos stored before they were kept). */
  mosaicGrid: number[] | null;
  meanColor: string | null;
  postedAt: string;
  network: string;
  url: string | null;
  authorName: string;
  authorHandle: string | null;
  authorUrl: string | null;
  consentPrint: boolean;
}

export interface LibraryOptions {
  /**
   * Also use approved photos whose authors did not consent to print: for an on-screen mosaic
   * only. Without it, only posts with `consent_print`.
   */
  includeUnconsented?: boolean;
}

/**
 * Approved, stored, non-sensitive photos with a Lab grid, one per post (the first), in media id
 * order: a stable order keeps the same database giving the same mosaic.
 */
export function loadLibrary(db: Db, options: LibraryOptions = {}): LibraryPhoto[] {
  const rows = db
    .select({
      mediaId: media.id,
      postId: media.postId,
      position: media.position,
      tilePath: media.tilePath,
      wallPath: media.wallPath,
      originalPath: media.originalPath,
      labGrid: media.labGrid,
      mosaicGrid: media.mosaicGrid,
      meanColor: media.meanColor,
      mediaSensitive: media.sensitive,
      postSensitive: posts.sensitive,
      postedAt: posts.postedAt,
      network: posts.network,
      url: posts.url,
      consentPrint: posts.consentPrint,
      authorName: authors.name,
      authorHandle: authors.handle,
      authorUrl: authors.profileUrl,
    })
    .from(media)
    .innerJoin(posts, eq(posts.id, media.postId))
    .innerJoin(authors, eq(authors.id, posts.authorId))
    .where(
      and(
        eq(posts.status, 'approved'),
        eq(media.state, 'stored'),
        isNotNull(media.tilePath),
        isNotNull(media.labGrid),
        options.includeUnconsented ? undefined : eq(posts.consentPrint, true),
      ),
    )
    .orderBy(asc(media.postId), asc(media.position), asc(media.id))
    .all();
  const seen = new Set<number>();
  const out: LibraryPhoto[] = [];
  for (const r of rows) {
    // One photo per post: a supporter who posted three pictures is one supporter.
    if (seen.has(r.postId)) continue;
    seen.add(r.postId);
    // Sensitive media never go into a picture shown to a crowd or printed.
    if (r.mediaSensitive || r.postSensitive) continue;
    if (!Array.isArray(r.labGrid) || r.labGrid.length !== 48 || !r.tilePath) continue;
    out.push({
      mediaId: r.mediaId,
      postId: r.postId,
      tilePath: r.tilePath,
      wallPath: r.wallPath,
      originalPath: r.originalPath,
      labGrid: r.labGrid,
      mosaicGrid: Array.isArray(r.mosaicGrid) ? r.mosaicGrid : null,
      meanColor: r.meanColor,
      postedAt: r.postedAt,
      network: r.network,
      url: r.url,
      authorName: r.authorName,
      authorHandle: r.authorHandle,
      authorUrl: r.authorUrl,
      consentPrint: r.consentPrint,
    });
  }
  return out.sort((a, b) => a.mediaId - b.mediaId);
}
