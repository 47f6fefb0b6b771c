import type { AppContext } from '../context.ts';
import { type ChangeFeed, type PostChange, wasApprovedBefore } from '../events/change-feed.ts';
import { goalProgress, supporterCounts } from '../moderation/supporters.ts';
import { getPost, toApiPost } from '../posts/post-queries.ts';
import { encodeEvent, type SseClient, SseHub } from './sse.ts';

/** How far back a reconnecting wall may ask to be replayed before it is told to reload. */
const MAX_REPLAY = 5000;

type WallEvent =
  | { event: 'post'; data: unknown; id: number }
  | { event: 'remove'; data: { id: number }; id: number };

/**
 * The public wall's live feed. Each change becomes at most one event carrying the change's
 * id, so a wall that reconnects with Last-Event-ID gets exactly what it missed, once.
 */
export class WallHub {
  readonly hub = new SseHub();
  #statsTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly ctx: AppContext,
    readonly feed: ChangeFeed,
  ) {
    feed.subscribe((changes) => this.#onChanges(changes));
  }

  /** Collapses a batch of changes to one event per post (its latest state). */
  eventsFor(changes: PostChange[], replay: boolean): WallEvent[] {
    const latest = new Map<number, PostChange>();
    for (const change of changes) {
      latest.delete(change.postId);
      latest.set(change.postId, change);
    }
    const events: WallEvent[] = [];
    for (const change of latest.values()) {
      if (change.status === 'approved') {
        const post = getPost(this.ctx.db, change.postId);
        if (post && post.status === 'approved' && post.media.length > 0) {
          events.push({ event: 'post', data: toApiPost(post), id: change.id });
          continue;
        }
      }
      // A wall only needs to hear of posts that may be on it.
      if (replay || change.status === 'approved' || wasApprovedBefore(this.ctx.db, change)) {
        events.push({ event: 'remove', data: { id: change.postId }, id: change.id });
      }
    }
    return events;
  }

  #onChanges(changes: PostChange[]): void {
    if (this.hub.clients.size === 0) return;
    for (const e of this.eventsFor(changes, false)) this.hub.broadcast(e.event, e.data, e.id);
    this.#scheduleStats();
  }

  #scheduleStats(): void {
    if (this.#statsTimer) return;
    this.#statsTimer = setTimeout(() => {
      this.#statsTimer = undefined;
      this.hub.broadcast('stats', this.stats(), this.feed.lastId);
    }, 1000);
    this.#statsTimer.unref();
  }

  stats() {
    return {
      goals: goalProgress(this.ctx.db, this.ctx.campaign),
      supporters: supporterCounts(this.ctx.db).total,
    };
  }

  open(lastEventId: number | null): Response {
    // Catch up with what is committed now, so the replay below covers it and live events
    // start right after it.
    this.feed.poll();
    return this.hub.open((client: SseClient) => {
      if (lastEventId !== null && lastEventId < this.feed.lastId) {
        const missed = this.feed.since(lastEventId, MAX_REPLAY + 1);
        if (missed.length > MAX_REPLAY) {
          client.send(encodeEvent('reset', { reason: 'too far behind' }, this.feed.lastId));
        } else {
          // Replay what the feed has already announced; anything newer arrives live.
          const upTo = missed.filter((c) => c.id <= this.feed.lastId);
          for (const e of this.eventsFor(upTo, true)) client.send(encodeEvent(e.event, e.data, e.id));
        }
      }
      client.send(encodeEvent('stats', this.stats(), this.feed.lastId));
    });
  }

  close(): void {
    clearTimeout(this.#statsTimer);
    this.hub.close();
  }
}
