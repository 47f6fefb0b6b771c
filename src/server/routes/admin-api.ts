import { eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import { authors, POST_STATUSES, posts } from '../../db/schema.ts';
import type { ChangeFeed } from '../../events/change-feed.ts';
import { ACTIONS, type Moderation } from '../../moderation/moderation.ts';
import {
  addBlockedWord,
  blockedWordSchema,
  deleteRule,
  listBlockedWords,
  setAuthorFlag,
} from '../../moderation/rules.ts';
import { goalProgress, statusCounts } from '../../moderation/supporters.ts';
import { decodeCursor, encodeCursor, getPost, listPosts } from '../../posts/post-queries.ts';
import type { AppEnv } from '../env.ts';
import { requireRole } from '../middleware/session.ts';
import { encodeEvent, SseHub } from '../sse.ts';
import { zValidator } from '../validate.ts';

const listQuery = z.object({
  status: z.enum(POST_STATUSES).optional(),
  network: z
    .string()
    .regex(/^[a-z]{1,20}$/, 'must be a network name like "mastodon"')
    .optional(),
  demand: z.string().max(40).optional(),
  region: z
    .string()
    .regex(/^[A-Z]{2}$/, 'must be a two-letter region code')
    .optional(),
  q: z.string().trim().max(200).optional(),
  author: z.coerce.number().int().positive().optional(),
  after: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const idParam = z.object({ id: z.coerce.number().int().positive('must be a post id') });
const actionParam = idParam.extend({
  action: z.enum(ACTIONS, { message: `must be one of ${ACTIONS.join(', ')}` }),
});
const decisionBody = z
  .object({
    expectedStatus: z.enum(POST_STATUSES).optional(),
    note: z.string().trim().max(500).optional(),
  })
  .default({});

export function adminApiRoutes(ctx: AppContext, moderation: Moderation, feed: ChangeFeed, hub: SseHub) {
  const app = new Hono<AppEnv>();
  app.use('*', requireRole('admin', 'moderator'));

  app.get('/posts', zValidator('query', listQuery), (c) => {
    const q = c.req.valid('query');
    const after = q.after ? decodeCursor(q.after) : null;
    if (q.after && !after) return c.json({ error: 'after: not a cursor this server gave out' }, 400);
    const posts = listPosts(ctx.db, {
      status: q.status,
      network: q.network,
      demand: q.demand,
      region: q.region,
      text: q.q,
      authorId: q.author,
      after,
      limit: q.limit,
    });
    const last = posts.at(-1);
    c.header('Cache-Control', 'no-store');
    return c.json({ posts, next: posts.length === q.limit && last ? encodeCursor(last) : null });
  });

  app.get('/posts/:id', zValidator('param', idParam), (c) => {
    const post = getPost(ctx.db, c.req.valid('param').id);
    if (!post) return c.json({ error: 'no such post' }, 404);
    return c.json({ post, history: moderation.history(post.id) });
  });

  app.post(
    '/posts/:id{[0-9]+}/:action{approve|reject|feature|unfeature|pending|remove}',
    zValidator('param', actionParam),
    zValidator('json', decisionBody, { optional: true }),
    async (c) => {
      const { id, action } = c.req.valid('param');
      const body = c.req.valid('json') ?? {};
      const organizer = c.get('organizer');
      if (!organizer) return c.json({ error: 'login required' }, 401);
      const result = await moderation.decide(id, action, {
        organizerId: organizer.id,
        expectedStatus: body.expectedStatus,
        note: body.note,
      });
      if (!result.ok) {
        if (result.error === 'not-found') return c.json({ error: 'no such post' }, 404);
        const post = getPost(ctx.db, id);
        const message =
          result.error === 'final'
            ? 'this post was removed; removal is final'
            : `another moderator changed this post meanwhile: it is ${result.status} now`;
        return c.json({ error: message, post }, 409);
      }
      return c.json({ changed: result.changed, eventId: result.eventId, post: getPost(ctx.db, id) });
    },
  );

  app.post('/events/:id/undo', zValidator('param', idParam), async (c) => {
    const organizer = c.get('organizer');
    if (!organizer) return c.json({ error: 'login required' }, 401);
    const result = await moderation.undo(c.req.valid('param').id, organizer.id);
    if (!result.ok) {
      if (result.error === 'not-found') return c.json({ error: 'no such decision to undo' }, 404);
      return c.json({ error: `the post changed since (it is ${result.status} now): nothing undone` }, 409);
    }
    return c.json({ changed: true, eventId: result.eventId });
  });

  app.get('/events', (c) => c.json({ events: moderation.recentEvents(200) }));

  app.post('/posts/:id/region', zValidator('param', idParam), zValidator('json', regionBody), (c) => {
    const id = c.req.valid('param').id;
    const changed = ctx.db
      .update(posts)
      .set({ region: c.req.valid('json').region })
      .where(eq(posts.id, id))
      .run().changes;
    if (!changed) return c.json({ error: 'no such post' }, 404);
    return c.json({ post: getPost(ctx.db, id) });
  });

  app.post(
    '/authors/:id{[0-9]+}/name',
    zValidator('param', idParam),
    zValidator('json', authorNameBody),
    (c) => {
      const { name, handle } = c.req.valid('json');
      const changed = ctx.db
        .update(authors)
        .set({ name, ...(handle !== undefined ? { handle } : {}), updatedAt: new Date().toISOString() })
        .where(eq(authors.id, c.req.valid('param').id))
        .run().changes;
      return changed ? c.json({ ok: true }) : c.json({ error: 'no such author' }, 404);
    },
  );

  app.post('/authors/:id/:flag{trust|untrust|block|unblock}', zValidator('param', authorFlagParam), (c) => {
    const { id, flag } = c.req.valid('param');
    const [name, value] = AUTHOR_FLAGS[flag];
    if (!setAuthorFlag(ctx.db, id, name, value)) return c.json({ error: 'no such author' }, 404);
    return c.json({ ok: true });
  });

  app.get('/rules', requireRole('admin'), (c) => c.json({ rules: listBlockedWords(ctx.db) }));
  app.post(
    '/rules',
    requireRole('admin'),
    zValidator('json', z.object({ value: blockedWordSchema })),
    (c) => {
      const rule = addBlockedWord(ctx.db, c.req.valid('json').value, c.get('organizer')?.id ?? null);
      return c.json({ rule: rule ?? null }, rule ? 201 : 200);
    },
  );
  app.delete('/rules/:id', requireRole('admin'), zValidator('param', idParam), (c) =>
    deleteRule(ctx.db, c.req.valid('param').id)
      ? c.json({ ok: true })
      : c.json({ error: 'no such rule' }, 404),
  );

  app.get('/stats', (c) =>
    c.json({ goals: goalProgress(ctx.db, ctx.campaign), statuses: statusCounts(ctx.db) }),
  );

  /** The queue's live feed: every change of any post, in the organizers' shape. */
  app.get('/stream', () =>
    hub.open((client) => {
      client.send(encodeEvent('hello', { lastId: feed.lastId }));
    }),
  );

  return app;
}

const AUTHOR_FLAGS = {
  trust: ['trusted', true],
  untrust: ['trusted', false],
  block: ['blocked', true],
  unblock: ['blocked', false],
} as const;
const authorFlagParam = z.object({
  id: z.coerce.number().int().positive('must be an author id'),
  flag: z.enum(['trust', 'untrust', 'block', 'unblock']),
});
const authorNameBody = z.object({
  name: z.string().trim().min(1, 'name is required').max(100, 'name is at most 100 characters'),
  handle: z.string().trim().max(100).nullable().optional(),
});
const regionBody = z.object({
  region: z
    .string()
    .regex(/^[A-Z]{2}$/, 'must be a two-letter region code like KR')
    .nullable(),
});

/** Fans post changes out to every open moderation page. */
export function createAdminHub(ctx: AppContext, feed: ChangeFeed) {
  const hub = new SseHub();
  feed.subscribe((changes) => {
    if (hub.clients.size === 0) return;
    const latest = new Map<number, number>();
    for (const change of changes) latest.set(change.postId, change.id);
    for (const [postId, changeId] of latest) {
      const post = getPost(ctx.db, postId);
      if (post) hub.broadcast('post', post, changeId);
    }
  });
  return hub;
}
