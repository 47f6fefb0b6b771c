import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../../src/auth/auth.ts';
import { login, startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let adminCookie: string;
let moderatorCookie: string;

const PUBLIC_ADMIN_ROUTES = new Set(['GET /admin/login', 'POST /admin/login', 'POST /admin/logout']);
const ADMIN_ONLY = [/^\/admin\/rules/, /^\/api\/admin\/rules/];

const SAMPLE_PARAMS: Record<string, string> = { id: '1', action: 'approve', flag: 'trust' };

function concrete(path: string): string {
  return path
    .replace(/:(\w+)\{[^}]*\}/g, (_, name: string) => SAMPLE_PARAMS[name] ?? '1')
    .replace(/:(\w+)/g, (_, name: string) => SAMPLE_PARAMS[name] ?? '1');
}

function protectedRoutes(): Array<{ method: string; path: string }> {
  const seen = new Set<string>();
  return server.app.app.routes
    .filter((r) => r.method !== 'ALL' && /^\/(admin|api\/admin)(\/|$)/.test(r.path))
    .map((r) => ({ method: r.method, path: concrete(r.path) }))
    .filter((r) => {
      const key = `${r.method} ${r.path}`;
      if (seen.has(key) || PUBLIC_ADMIN_ROUTES.has(key)) return false;
      seen.add(key);
      return true;
    });
}

beforeAll(async () => {
  server = await startTestServer();
  const auth = createAuthService(server.ctx.db);
  await auth.addOrganizer('alice', 'correct horse battery', 'admin');
  await auth.addOrganizer('bob', 'bob has a long password', 'moderator');
  adminCookie = await login(server.url, 'alice', 'correct horse battery');
  moderatorCookie = await login(server.url, 'bob', 'bob has a long password');
});
afterAll(() => server.close());

describe('the admin routes', () => {
  it('are many enough that this test means something', () => {
    expect(protectedRoutes().length).toBeGreaterThanOrEqual(15);
  });

  it('answer 401 (API) or a redirect to the login page (pages) without a session', async () => {
    for (const route of protectedRoutes()) {
      const response = await fetch(`${server.url}${route.path}`, {
        method: route.method,
        redirect: 'manual',
        headers: { origin: server.url, 'content-type': 'application/json' },
        body: route.method === 'GET' ? undefined : '{}',
      });
      if (route.path.startsWith('/api/')) expect([route, response.status]).toEqual([route, 401]);
      else {
        expect([route, response.status]).toEqual([route, 303]);
        expect(response.headers.get('location')).toMatch(/^\/admin\/login\?next=/);
      }
    }
  });

  it('answer 403 to a moderator on the admin-only routes', async () => {
    const adminOnly = protectedRoutes().filter((r) => ADMIN_ONLY.some((re) => re.test(r.path)));
    expect(adminOnly.length).toBeGreaterThanOrEqual(3);
    for (const route of adminOnly) {
      const response = await fetch(`${server.url}${route.path}`, {
        method: route.method,
        redirect: 'manual',
        headers: { cookie: moderatorCookie, origin: server.url, 'content-type': 'application/json' },
        body: route.method === 'GET' ? undefined : '{"value":"spam"}',
      });
      expect([route, response.status]).toEqual([route, 403]);
    }
    const asAdmin = await fetch(`${server.url}/api/admin/rules`, { headers: { cookie: adminCookie } });
    expect(asAdmin.status).toBe(200);
  });

  it('refuse every cross-origin state change, even with a valid session', async () => {
    const changes = protectedRoutes().filter((r) => r.method !== 'GET');
    expect(changes.length).toBeGreaterThanOrEqual(5);
    for (const route of changes) {
      for (const headers of [
        { origin: 'http://evil.example' },
        { 'sec-fetch-site': 'cross-site' },
        {},
      ] as Array<Record<string, string>>) {
        const response = await fetch(`${server.url}${route.path}`, {
          method: route.method,
          redirect: 'manual',
          headers: { cookie: adminCookie, 'content-type': 'application/json', ...headers },
          body: '{}',
        });
        expect([route, headers, response.status]).toEqual([route, headers, 403]);
      }
    }
  });

  it('send a CSP without inline script and an HttpOnly, SameSite=Lax session cookie', async () => {
    const page = await fetch(`${server.url}/admin/login`);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const response = await fetch(`${server.url}/admin/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
      body: new URLSearchParams({ username: 'alice', password: 'correct horse battery' }),
    });
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
  });

  it('ends the session at logout: the cookie no longer opens anything', async () => {
    const cookie = await login(server.url, 'bob', 'bob has a long password');
    expect((await fetch(`${server.url}/api/admin/posts`, { headers: { cookie } })).status).toBe(200);
    await fetch(`${server.url}/admin/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, origin: server.url },
    });
    expect((await fetch(`${server.url}/api/admin/posts`, { headers: { cookie } })).status).toBe(401);
  });
});

describe('logging in', () => {
  it('is rate-limited per account after repeated failures, even with the right password', async () => {
    const auth = createAuthService(server.ctx.db);
    await auth.addOrganizer('carol', 'carol password is long', 'moderator');
    const attempt = (password: string) =>
      fetch(`${server.url}/admin/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
        body: new URLSearchParams({ username: 'carol', password }),
      });
    const statuses = [];
    for (let i = 0; i < 10; i++) statuses.push((await attempt(`wrong ${i}`)).status);
    expect(statuses.every((s) => s === 401)).toBe(true);
    const blocked = await attempt('carol password is long');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('refuses a wrong password with the same answer as an unknown user', async () => {
    const post = (username: string) =>
      fetch(`${server.url}/admin/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
        body: new URLSearchParams({ username, password: 'not the password' }),
      });
    const [known, unknown] = await Promise.all([post('alice'), post('nobody-here')]);
    expect(known.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(await known.text()).toContain('Wrong username or password');
  });
});
