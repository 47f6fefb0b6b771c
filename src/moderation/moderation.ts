import { desc, eq } from 'drizzle-orm';
import { moderationEvents, organizers, type PostStatus, posts } from '../db/schema.ts';
import type { Db } from '../db/sqlite.ts';
import type { EventBus } from '../events/bus.ts';
import type { MediaRepository } from '../media/types.ts';
import { removePost } from './remove.ts';

export const ACTIONS = ['approve', 'reject', 'feature', 'unfeature', 'pending', 'remove'] as const;
export type Action = (typeof ACTIONS)[number];

const TARGET: Record<Exclude<Action, 'remove'>, { status: PostStatus; featured: boolean | null }> = {
  approve: { status: 'approved', featured: null },
  reject: { status: 'rejected', featured: false },
  feature: { status: 'approved', featured: true },
  unfeature: { status: 'approved', featured: false },
  pending: { status: 'pending', featured: false },
};

export type DecisionResult =
  | { ok: true; changed: boolean; status: PostStatus; featured: boolean; eventId: number | null }
  | { ok: false; error: 'not-found' }
  | { ok: false; error: 'conflict'; status: PostStatus; featured: boolean }
  | { ok: false; error: 'final'; status: PostStatus };

export interface DecideOptions {
  organizerId: number;
  /**
   * The status the moderator saw. When another moderator changed the post meanwhile, the
   * decision is refused (conflict) and the moderator is shown the post as it is now.
   */
  expectedStatus?: PostStatus;
  note?: string | null;
}

export function createModeration(deps: { db: Db; media: MediaRepository; bus?: EventBus }) {
  const { db } = deps;

  function announce(postId: number, from: PostStatus, to: PostStatus, featuredChanged: boolean): void {
    if (to === 'approved' && (from !== 'approved' || featuredChanged))
      deps.bus?.emit('post.approved', { postId });
    if (from === 'approved' && to !== 'approved') deps.bus?.emit('post.removed', { postId });
    deps.bus?.emit('post.changed', { postId, from, to });
  }

  async function decide(postId: number, action: Action, options: DecideOptions): Promise<DecisionResult> {
    const current = db
      .select({ status: posts.status, featured: posts.featured })
      .from(posts)
      .where(eq(posts.id, postId))
      .get();
    if (!current) return { ok: false, error: 'not-found' };
    if (current.status === 'removed') return { ok: false, error: 'final', status: current.status };
    if (options.expectedStatus && options.expectedStatus !== current.status) {
      return { ok: false, error: 'conflict', ...current };
    }
    if (action === 'remove') {
      await removePost(deps, postId, {
        organizerId: options.organizerId,
        rule: null,
        note: options.note ?? 'takedown',
      });
      return { ok: true, changed: true, status: 'removed', featured: false, eventId: null };
    }
    const target = TARGET[action];
    const featured = target.featured ?? current.featured;
    if (current.status === target.status && current.featured === featured) {
      // Already so (a second moderator pressed the same key): nothing is applied twice.
      return { ok: true, changed: false, status: current.status, featured, eventId: null };
    }
    const eventId = db.transaction((tx) => {
      // Re-read inside the write transaction: two requests racing still apply once.
      const now = tx
        .select({ status: posts.status, featured: posts.featured })
        .from(posts)
        .where(eq(posts.id, postId))
        .get();
      if (!now || now.status !== current.status || now.featured !== current.featured) return null;
      tx.update(posts)
        .set({ status: target.status, featured, statusChangedAt: new Date().toISOString() })
        .where(eq(posts.id, postId))
        .run();
      return tx
        .insert(moderationEvents)
        .values({
          postId,
          organizerId: options.organizerId,
          action,
          fromStatus: current.featured ? `${current.status}+featured` : current.status,
          toStatus: featured ? `${target.status}+featured` : target.status,
          note: options.note ?? null,
        })
        .returning({ id: moderationEvents.id })
        .get().id;
    });
    if (eventId === null) {
      const now = db
        .select({ status: posts.status, featured: posts.featured })
        .from(posts)
        .where(eq(posts.id, postId))
        .get();
      return {
        ok: false,
        error: 'conflict',
        status: now?.status ?? current.status,
        featured: now?.featured ?? false,
      };
    }
    announce(postId, current.status, target.status, current.featured !== featured);
    return { ok: true, changed: true, status: target.status, featured, eventId };
  }

  /** Undo is a new event that restores the state before `eventId`, never a deletion. */
  async function undo(eventId: number, organizerId: number): Promise<DecisionResult> {
    const event = db.select().from(moderationEvents).where(eq(moderationEvents.id, eventId)).get();
    if (!event?.fromStatus || !event.toStatus) return { ok: false, error: 'not-found' };
    const [fromStatus, fromFeatured] = event.fromStatus.split('+') as [PostStatus, string | undefined];
    const [toStatus, toFeatured] = event.toStatus.split('+') as [PostStatus, string | undefined];
    const current = db
      .select({ status: posts.status, featured: posts.featured })
      .from(posts)
      .where(eq(posts.id, event.postId))
      .get();
    if (!current) return { ok: false, error: 'not-found' };
    if (current.status === 'removed') return { ok: false, error: 'final', status: 'removed' };
    if (current.status !== toStatus || current.featured !== Boolean(toFeatured)) {
      return { ok: false, error: 'conflict', ...current };
    }
    const featured = Boolean(fromFeatured);
    const id = db.transaction((tx) => {
      tx.update(posts)
        .set({ status: fromStatus, featured, statusChangedAt: new Date().toISOString() })
        .where(eq(posts.id, event.postId))
        .run();
      return tx
        .insert(moderationEvents)
        .values({
          postId: event.postId,
          organizerId,
          action: 'undo',
          fromStatus: event.toStatus,
          toStatus: event.fromStatus,
          note: `undo of event ${event.id}`,
        })
        .returning({ id: moderationEvents.id })
        .get().id;
    });
    announce(event.postId, toStatus, fromStatus, Boolean(toFeatured) !== featured);
    return { ok: true, changed: true, status: fromStatus, featured, eventId: id };
  }

  function events() {
    return db
      .select({
        id: moderationEvents.id,
        postId: moderationEvents.postId,
        action: moderationEvents.action,
        fromStatus: moderationEvents.fromStatus,
        toStatus: moderationEvents.toStatus,
        rule: moderationEvents.rule,
        note: moderationEvents.note,
        createdAt: moderationEvents.createdAt,
        organizer: organizers.username,
      })
      .from(moderationEvents)
      .leftJoin(organizers, eq(organizers.id, moderationEvents.organizerId))
      .$dynamic();
  }

  /** One post's decisions, newest first. */
  const history = (postId: number) =>
    events().where(eq(moderationEvents.postId, postId)).orderBy(desc(moderationEvents.id)).all();

  /** The audit log, newest first. */
  const recentEvents = (limit = 100) => events().orderBy(desc(moderationEvents.id)).limit(limit).all();

  return { decide, undo, history, recentEvents };
}

export type Moderation = ReturnType<typeof createModeration>;
