import { Hono } from 'hono';
import type { AppContext } from '../context.ts';
import { log } from '../log.ts';
import { healthRoutes } from './routes/health.ts';

export function createApp(ctx: AppContext) {
  const app = new Hono();
  app.onError((error, c) => {
    log.error({ err: error, path: c.req.path }, 'request failed');
    return c.json({ error: 'internal error' }, 500);
  });
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));
  app.route('/', healthRoutes(ctx));
  return app;
}
