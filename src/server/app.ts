import { Hono } from 'hono';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import { type AuthService, createAuthService } from '../auth/auth.ts';
import type { AppContext } from '../context.ts';
import { ChangeFeed, wasApprovedBefore } from '../events/change-feed.ts';
import { log } from '../log.ts';
import { createModeration } from '../moderation/moderation.ts';
import { createMosaicJobs } from '../mosaic/jobs.ts';
import { fileMosaicStore } from '../mosaic/registry.ts';
import type { AppEnv } from './env.ts';
import { sameOriginOnly, securityHeaders } from './middleware/security.ts';
import { loadOrganizer } from './middleware/session.ts';
import { adminApiRoutes, createAdminHub } from './routes/admin-api.ts';
import { adminAuthRoutes } from './routes/admin-auth.tsx';
import { adminPageRoutes } from './routes/admin-pages.tsx';
import { assetRoutes, faviconRoute, mediaRoutes } from './routes/files.ts';
import { healthRoutes } from './routes/health.ts';
import { homeRoutes } from './routes/home.tsx';
import { mosaicRoutes } from './routes/mosaics.tsx';
import { submitRoutes } from './routes/submit.tsx';
import { wallRoutes } from './routes/wall.tsx';
import { WallHub } from './wall-hub.ts';

export interface AppOptions {
  /** The scheduled sources, for the dashboard's health table. */
  sourceIds?: () => string[];
  auth?: AuthService;
}

export function createApp(ctx: AppContext, options: AppOptions = {}) {
  const auth = options.auth ?? createAuthService(ctx.db);
  const moderation = createModeration({ db: ctx.db, media: ctx.media, bus: ctx.bus });
  const feed = new ChangeFeed(ctx.db, 100, ctx.bus);
  const adminHub = createAdminHub(ctx, feed);
  const wallHub = new WallHub(ctx, feed);
  const mosaicStore = fileMosaicStore(ctx.settings.dataDir);
  // The build process must open this server's data, whatever its own environment says.
  const mosaicJobs = createMosaicJobs({
    store: mosaicStore,
    env: {
      DATA_DIR: ctx.settings.dataDir,
      ...(ctx.settings.campaignConfig ? { CAMPAIGN_CONFIG: ctx.settings.campaignConfig } : {}),
    },
  });
  const mosaics = mosaicRoutes(ctx, mosaicStore, mosaicJobs);
  // Any process may take a post off (a takedown, a re-check finding it deleted): the change
  // log tells this one, which marks the mosaics showing it stale.
  feed.subscribe((changes) => {
    const gone = changes
      .filter((c) => c.status !== 'approved' && wasApprovedBefore(ctx.db, c))
      .map((c) => c.postId);
    if (gone.length === 0) return;
    mosaicStore
      .markStale(
        gone,
        gone.length === 1 ? `post ${gone[0]} left the wall` : `posts ${gone.join(', ')} left the wall`,
      )
      .catch((error: unknown) => log.warn({ err: error }, 'marking mosaics stale failed'));
  });
  feed.start();

  const app = new Hono<AppEnv>();
  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    log.error({ err: error, path: c.req.path }, 'request failed');
    return c.json({ error: 'internal error' }, 500);
  });
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));

  app.use('*', loadOrganizer(auth));
  app.use('/admin/*', securityHeaders(), csrf(), sameOriginOnly);
  app.use('/api/admin/*', securityHeaders(), sameOriginOnly);

  app.route(
    '/',
    healthRoutes(ctx, () => ({ wall: wallHub.hub.clients.size, admin: adminHub.clients.size })),
  );
  app.route('/', homeRoutes(ctx));
  app.route('/', wallRoutes(ctx, wallHub));
  app.route('/', submitRoutes(ctx));
  app.route('/assets', assetRoutes());
  app.route('/', faviconRoute());
  app.route('/media', mediaRoutes(ctx));
  app.route('/admin', adminAuthRoutes(auth));
  app.route('/admin', adminPageRoutes(ctx, moderation, options.sourceIds ?? (() => [])));
  app.route('/api/admin', adminApiRoutes(ctx, moderation, feed, adminHub));
  app.route('/', mosaics.app);

  return {
    app,
    auth,
    feed,
    wallHub,
    close() {
      feed.stop();
      adminHub.close();
      wallHub.close();
      mosaics.close();
      mosaicJobs.stop();
    },
  };
}

export type StandwallApp = ReturnType<typeof createApp>;
