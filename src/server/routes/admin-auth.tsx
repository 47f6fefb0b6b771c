import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono } from 'hono';
import { z } from 'zod';
import type { AuthService } from '../../auth/auth.ts';
import type { AppEnv } from '../env.ts';
import { clearSessionCookie, sessionToken, setSessionCookie } from '../middleware/session.ts';
import { Page } from '../views/layout.tsx';

const loginForm = z.object({
  username: z.string().trim().min(1, 'username is required').max(100),
  password: z.string().min(1, 'password is required').max(500),
  next: z.string().optional(),
});

/** Only a path of this server: a login link cannot send the organizer elsewhere. */
const safeNext = (next: string | undefined) =>
  next && /^\/(admin|api\/admin)(\/[\w\-/?=&%.]*)?$/.test(next) ? next : '/admin';

function clientIp(c: Parameters<typeof getConnInfo>[0]): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function LoginPage(props: { error?: string; next?: string; username?: string }) {
  return (
    <Page title="Organizer login" css="admin.css">
      <main class="login">
        <h1>standwall — organizers</h1>
        <form method="post" action="/admin/login">
          {props.error ? (
            <p class="error" role="alert">
              {props.error}
            </p>
          ) : null}
          <input type="hidden" name="next" value={props.next ?? '/admin'} />
          <label>
            Username
            <input name="username" autocomplete="username" required value={props.username ?? ''} />
          </label>
          <label>
            Password
            <input name="password" type="password" autocomplete="current-password" required />
          </label>
          <button type="submit">Log in</button>
        </form>
      </main>
    </Page>
  );
}

export function adminAuthRoutes(auth: AuthService) {
  const app = new Hono<AppEnv>();

  app.get('/login', (c) => c.html(<LoginPage next={safeNext(c.req.query('next'))} />));

  app.post('/login', async (c) => {
    const form = loginForm.safeParse(await c.req.parseBody().catch(() => ({})));
    if (!form.success) {
      const message = form.error.issues.map((i) => i.message).join('; ');
      return c.html(<LoginPage error={message} />, 400);
    }
    const { username, password, next } = form.data;
    const result = await auth.login(username, password, {
      ip: clientIp(c),
      userAgent: c.req.header('user-agent'),
    });
    if (!result.ok) {
      if (result.reason === 'rate-limited') {
        c.header('Retry-After', String(result.retryAfterSeconds));
        return c.html(
          <LoginPage
            error={`Too many failed logins. Try again in ${Math.ceil(result.retryAfterSeconds / 60)} minutes.`}
            username={username}
          />,
          429,
        );
      }
      return c.html(
        <LoginPage error="Wrong username or password." username={username} next={safeNext(next)} />,
        401,
      );
    }
    setSessionCookie(c, result.token, result.expiresAt);
    return c.redirect(safeNext(next), 303);
  });

  app.post('/logout', (c) => {
    auth.logout(sessionToken(c));
    clearSessionCookie(c);
    return c.redirect('/admin/login', 303);
  });

  return app;
}
