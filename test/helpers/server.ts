import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createApp, type StandwallApp } from '../../src/server/app.ts';
import { createTestContext, type TestContext } from './context.ts';

export interface TestServer {
  url: string;
  ctx: TestContext;
  app: StandwallApp;
  close(): Promise<void>;
}

/** The real app on a real socket on 127.0.0.1, over a real temp data dir. */
export async function startTestServer(
  campaign: unknown = {},
  ctx = createTestContext(campaign),
): Promise<TestServer> {
  const app = createApp(ctx, { sourceIds: () => ['x', 'mastodon', 'bluesky'] });
  const server = serve({ fetch: app.app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    ctx,
    app,
    async close() {
      app.close();
      if ('closeAllConnections' in server) server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      ctx.dispose();
    },
  };
}

/** Logs in through the real form and returns the session cookie header. */
export async function login(url: string, username: string, password: string): Promise<string> {
  const response = await fetch(`${url}/admin/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url },
    body: new URLSearchParams({ username, password }),
  });
  if (response.status !== 303) throw new Error(`login failed: ${response.status}`);
  const cookie = response.headers.get('set-cookie') ?? '';
  return cookie.split(';')[0] as string;
}
