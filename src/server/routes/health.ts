import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import type { AppContext } from '../../context.ts';

export function healthRoutes(ctx: AppContext, streams: () => { wall: number; admin: number }) {
  const started = Date.now();
  return new Hono().get('/healthz', (c) => {
    const row = ctx.db.get<{ posts: number }>(sql`select count(*) as posts from posts`);
    const memory = process.memoryUsage();
    c.header('Cache-Control', 'no-store');
    return c.json({
      ok: true,
      campaign: ctx.campaign.id,
      posts: row?.posts ?? 0,
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      streams: streams(),
      memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed },
    });
  });
}
