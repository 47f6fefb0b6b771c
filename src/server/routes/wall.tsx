import { type Context, Hono } from 'hono';
import { raw } from 'hono/html';
import QRCode from 'qrcode';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import { goalProgress } from '../../moderation/supporters.ts';
import { decodeCursor, encodeCursor, listPosts, toApiPost } from '../../posts/post-queries.ts';
import type { AppEnv } from '../env.ts';
import { securityHeaders } from '../middleware/security.ts';
import { zValidator } from '../validate.ts';
import { Page } from '../views/layout.tsx';
import type { WallHub } from '../wall-hub.ts';

const wallQuery = z.object({
  after: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1, 'limit must be 1–100').max(100, 'limit must be 1–100').default(30),
  network: z
    .string()
    .regex(/^[a-z]{1,20}$/)
    .optional(),
});

const pageQuery = z.object({
  layout: z.enum(['mixed', 'grid', 'spotlight']).optional(),
  pace: z.coerce.number().min(3, 'pace is 3–120 seconds').max(120, 'pace is 3–120 seconds').optional(),
  networks: z
    .string()
    .regex(/^[a-z]{1,20}(,[a-z]{1,20})*$/, 'networks is a comma-separated list like "x,mastodon"')
    .optional(),
  lang: z.enum(['en', 'ko']).optional(),
});

const streamQuery = z.object({ lastEventId: z.coerce.number().int().min(0).optional() });

const WORDS = {
  en: { send: 'Send your photo', supporters: 'supporters', live: 'live', reconnecting: 'reconnecting…' },
  ko: { send: '사진을 보내주세요', supporters: '명 참여', live: '실시간', reconnecting: '다시 연결 중…' },
} as const;

export function wallRoutes(ctx: AppContext, wall: WallHub) {
  const app = new Hono<AppEnv>();
  const config = ctx.campaign.wall;
  const qrCache = new Map<string, string>();

  async function qrSvg(url: string): Promise<string> {
    let svg = qrCache.get(url);
    if (!svg) {
      svg = await QRCode.toString(url, {
        type: 'svg',
        margin: 1,
        errorCorrectionLevel: 'M',
        color: { dark: '#000', light: '#fff' },
      });
      qrCache.set(url, svg);
    }
    return svg;
  }

  /**
   * The same page of the wall is asked for by every screen and every embed: the answer is
   * kept until the change feed moves, so a burst of requests costs one query.
   */
  const pageCache = new Map<string, { lastId: number; body: string; etag: string }>();
  app.get('/api/wall', zValidator('query', wallQuery), (c) => {
    const q = c.req.valid('query');
    const after = q.after ? decodeCursor(q.after) : null;
    if (q.after && !after) return c.json({ error: 'after: not a cursor this server gave out' }, 400);
    const lastEventId = wall.feed.lastId;
    const key = `${q.limit}|${q.after ?? ''}|${q.network ?? ''}`;
    let cached = pageCache.get(key);
    if (!cached || cached.lastId !== lastEventId) {
      const posts = listPosts(ctx.db, {
        status: 'approved',
        withMedia: true,
        network: q.network,
        after,
        limit: q.limit,
      });
      const last = posts.at(-1);
      const body = JSON.stringify({
        posts: posts.map(toApiPost),
        next: posts.length === q.limit && last ? encodeCursor(last) : null,
        lastEventId,
      });
      cached = { lastId: lastEventId, body, etag: `"w${lastEventId}-${body.length}"` };
      if (pageCache.size >= 200) pageCache.delete(pageCache.keys().next().value as string);
      pageCache.set(key, cached);
    }
    c.header('Cache-Control', 'public, max-age=2');
    c.header('Access-Control-Allow-Origin', '*');
    c.header('ETag', cached.etag);
    if (c.req.header('if-none-match') === cached.etag) return c.body(null, 304);
    return c.body(cached.body, 200, { 'Content-Type': 'application/json; charset=utf-8' });
  });

  app.get('/api/wall/stream', zValidator('query', streamQuery), (c) => {
    const header = c.req.header('last-event-id');
    const fromHeader = header && /^\d+$/.test(header) ? Number(header) : null;
    return wall.open(fromHeader ?? c.req.valid('query').lastEventId ?? null);
  });

  const page = (embed: boolean) => async (c: Context<AppEnv>) => {
    const parsed = pageQuery.safeParse(c.req.query());
    if (!parsed.success) {
      return c.text(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'), 400);
    }
    const q = parsed.data;
    const lang = q.lang ?? (config.language === 'ko' ? 'ko' : 'en');
    const words = WORDS[lang];
    const origin = config.publicUrl ?? new URL(c.req.url).origin;
    const submitUrl = `${origin}/submit${lang === 'ko' ? '?lang=ko' : ''}`;
    const title = ctx.campaign.title[lang] ?? ctx.campaign.title.en ?? '';
    const settings = {
      layout: q.layout ?? config.layout,
      pace: q.pace ?? config.paceSeconds,
      networks: q.networks ? q.networks.split(',') : config.networks,
      lang,
      embed,
      words,
    };
    const goals = goalProgress(ctx.db, ctx.campaign, lang);
    return c.html(
      <Page
        title={title}
        css="wall.css"
        scripts={['wall.js']}
        lang={lang}
        bodyClass={`wall layout-${settings.layout}${embed ? ' embed' : ''}`}
      >
        <div id="wall" data-settings={JSON.stringify(settings)}>
          <header class="wall-head">
            <h1>{title}</h1>
            <p class="tags">{ctx.campaign.hashtags.map((h) => `#${h}`).join('  ')}</p>
          </header>
          <section class="stage">
            <figure class="spotlight" id="spotlight" hidden>
              <div class="frame">
                <img alt="" />
              </div>
              <figcaption>
                <p class="who">
                  <img class="net" alt="" />
                  <span class="name" />
                  <span class="handle" />
                  <time />
                </p>
                <p class="text" />
              </figcaption>
            </figure>
            <ul class="grid" id="grid" />
            <p class="waiting" id="waiting">
              {words.send} · {ctx.campaign.hashtags.map((h) => `#${h}`).join(' ')}
            </p>
          </section>
          <footer class="wall-foot">
            <ul class="demands">
              {ctx.campaign.demands.map((d) => (
                <li>{(d.phrases[lang] ?? d.phrases.en ?? [d.id])[0]}</li>
              ))}
            </ul>
            <p class="goals" id="goals">
              {goals.map((g) => (
                <span class="goal" data-region={g.region}>
                  <strong>{g.supporters.toLocaleString('en-US')}</strong> / {g.target.toLocaleString('en-US')}{' '}
                  {g.label}
                </span>
              ))}
            </p>
            {embed ? null : (
              <div class="qr">
                {raw(await qrSvg(submitUrl))}
                <p>
                  {words.send}
                  <br />
                  <span class="url">{submitUrl.replace(/^https?:\/\//, '')}</span>
                </p>
              </div>
            )}
          </footer>
          <p class="offline" id="offline" hidden>
            {words.reconnecting}
          </p>
        </div>
      </Page>,
    );
  };

  app.use('/wall', securityHeaders());
  app.use(
    '/wall/embed',
    securityHeaders(config.embedAncestors.length > 0 ? config.embedAncestors : ["'self'"]),
  );
  app.get('/wall', page(false));
  app.get('/wall/embed', page(true));
  return app;
}
