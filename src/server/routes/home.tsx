import { Hono } from 'hono';
import type { AppContext } from '../../context.ts';
import type { AppEnv } from '../env.ts';
import { securityHeaders } from '../middleware/security.ts';
import { Page } from '../views/layout.tsx';

/** Where a newcomer lands after `npm start`: the three doors of the app. */
export function homeRoutes(ctx: AppContext) {
  const app = new Hono<AppEnv>();
  app.use('/', securityHeaders());
  app.get('/', (c) =>
    c.html(
      <Page title={ctx.campaign.title.en ?? 'standwall'} css="submit.css">
        <main class="submit">
          <h1>{ctx.campaign.title.en}</h1>
          <p>{ctx.campaign.title.ko}</p>
          <ul class="doors">
            <li>
              <a href="/wall">The live wall</a> — for the projector
            </li>
            <li>
              <a href="/submit">Send your photo</a> · <a href="/submit?lang=ko">사진 보내기</a>
            </li>
            <li>
              <a href="/admin">Organizers</a> — moderation, dashboard, mosaics
            </li>
          </ul>
        </main>
      </Page>,
    ),
  );
  return app;
}
