import { and, asc, desc, eq, gt, lt } from 'drizzle-orm';
import { postChanges } from '../db/schema.ts';
import type { Db } from '../db/sqlite.ts';
import type { EventBus } from './bus.ts';

export interface PostChange {
  id: number;
  postId: number;
  status: string;
  featured: boolean;
}

type Listener = (changes: PostChange[]) => void;

/**
 * Reads the `post_changes` log (filled by triggers) and fans new rows out to listeners:
 * one query per tick per process, however many walls and moderators are connected. Polling
 * the log instead of trusting in-process events means an approval made by another process
 * (an import, a second server, sqlite3) reaches every screen too.
 */
export class ChangeFeed {
  readonly #listeners = new Set<Listener>();
  #lastId: number;
  #timer: NodeJS.Timeout | undefined;

  #soon = false;

  constructor(
    readonly db: Db,
    readonly intervalMs = 100,
    bus?: EventBus,
  ) {
    // Writes made in this process are announced at once rather than at the next tick.
    for (const event of ['post.created', 'post.changed', 'post.removed', 'post.approved'] as const) {
      bus?.on(event, () => this.pollSoon());
    }
    this.#lastId =
      db.select({ id: postChanges.id }).from(postChanges).orderBy(desc(postChanges.id)).limit(1).get()?.id ??
      0;
  }

  get lastId(): number {
    return this.#lastId;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.poll(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  pollSoon(): void {
    if (this.#soon) return;
    this.#soon = true;
    setImmediate(() => {
      this.#soon = false;
      this.poll();
    });
  }

  /** Reads what is new now (also called right after an in-process write, for speed). */
  poll(): void {
    if (!this.db.$client.open) return;
    for (;;) {
      const rows = this.since(this.#lastId, 500);
      if (rows.length === 0) return;
      this.#lastId = (rows.at(-1) as PostChange).id;
      for (const listener of this.#listeners) {
        try {
          listener(rows);
        } catch {
          // one broken client must not stop the others
        }
      }
      if (rows.length < 500) return;
    }
  }

  since(afterId: number, limit: number): PostChange[] {
    return this.db
      .select({
        id: postChanges.id,
        postId: postChanges.postId,
        status: postChanges.status,
        featured: postChanges.featured,
      })
      .from(postChanges)
      .where(gt(postChanges.id, afterId))
      .orderBy(asc(postChanges.id))
      .limit(limit)
      .all();
  }
}

/** Was the post approved just before this change? (A change away from approved takes it off screens.) */
export function wasApprovedBefore(db: Db, change: PostChange): boolean {
  const previous = db
    .select({ status: postChanges.status })
    .from(postChanges)
    .where(and(eq(postChanges.postId, change.postId), lt(postChanges.id, change.id)))
    .orderBy(desc(postChanges.id))
    .limit(1)
    .get();
  return previous?.status === 'approved';
}
