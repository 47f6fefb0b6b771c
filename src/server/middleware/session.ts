import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { AuthService, Role } from '../../auth/auth.ts';
import type { AppEnv } from '../env.ts';

const isHttps = (c: Context) =>
  new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';

/** `__Host-` needs Secure, which plain-HTTP laptops at a venue cannot have. */
export const cookieName = (c: Context) => (isHttps(c) ? '__Host-standwall_session' : 'standwall_session');

export function setSessionCookie(c: Context, token: string, expires: Date): void {
  setCookie(c, cookieName(c), token, {
    httpOnly: true,
    sameSite: 'Lax',
    secure: isHttps(c),
    path: '/',
    expires,
  });
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, cookieName(c), { path: '/', secure: isHttps(c) });
}

export const sessionToken = (c: Context) => getCookie(c, cookieName(c));

export function loadOrganizer(auth: AuthService): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('organizer', auth.organizerForToken(sessionToken(c)));
    await next();
  };
}

const wantsJson = (c: Context) => c.req.path.startsWith('/api/');

/** 401 (API) or a redirect to the login page (pages) without a session; 403 without the role. */
export function requireRole(...roles: Role[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const organizer = c.get('organizer');
    if (!organizer) {
      if (wantsJson(c)) return c.json({ error: 'login required' }, 401);
      const back = encodeURIComponent(c.req.path);
      return c.redirect(`/admin/login?next=${back}`, 303);
    }
    if (roles.length > 0 && !roles.includes(organizer.role)) {
      return c.json({ error: `this needs the ${roles.join(' or ')} role` }, 403);
    }
    await next();
  };
}
